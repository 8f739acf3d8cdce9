"""The ``amodp`` Typer app: usage and core errors as one ``Error:`` line and an
exit code (:class:`amodp.errors.ExitCode`), ``--version``, ``--color``, and the
helpers every command uses to read input and print.
"""

import functools
import sys
from collections.abc import Callable
from typing import Annotated, Any, BinaryIO, TypeVar

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import AmodpError, ExitCode, InputError

__all__ = ["ExitCode", "app"]

F = TypeVar("F", bound=Callable[..., Any])


# typer exports BadParameter from the click it runs on (its own copy since typer
# 0.23): its bases are that click's UsageError and ClickException.
_CLICK_ERRORS = {c.__name__: c for c in typer.BadParameter.__mro__}
_ClickUsageError: type[Exception] = _CLICK_ERRORS["UsageError"]
_ClickException: type[Exception] = _CLICK_ERRORS["ClickException"]

#: Every command, in the order help lists them, and the module of
#: ``amodp.cli`` that declares it. A module is imported when one of its
#: commands runs (or help lists them all), as click's lazily loading groups
#: do: ``amodp decode`` neither imports nor builds the other commands at
#: every start.
COMMANDS = {
    "check": "check",
    "decode": "decode",
    "encode": "decode",
    "events": "events",
    "generate": "generate",
    "inspect": "inspect",
    "listen": "listen",
    "demo": "listen",
    "schema": "schema",
    "send": "send",
    "verify": "verify",
}

#: Commands that colour their output, and so take ``--color`` too.
COLOURED_COMMANDS = ("check", "decode", "events", "generate", "listen", "send", "demo")

#: Command -> {parameter: its option}, to name the option an error is about.
_OPTIONS: dict[str, dict[str, str]] = {}


def _option_name(param: Any) -> str:
    """``--format`` for ``--format/-f``: the first long name, as help shows it."""
    return next((o for o in param.opts if o.startswith("--")), param.opts[0])


def _usage_message(exc: Exception) -> str:
    """click's message; a bad value of an option as ``--repeat: 'x' is not a valid int.``,
    the way the core's errors about one value read."""
    param = getattr(exc, "param", None)
    if type(exc) is typer.BadParameter and getattr(param, "param_type_name", "") == "option":
        return f"{_option_name(param)}: {exc.message}"
    return exc.format_message()  # type: ignore[attr-defined,no-any-return]


class _Group(TyperGroup):
    """What every command shares: ``--color``, and command-line mistakes as one
    ``Error:`` line and a hint.

    click's own way is four lines (usage, hint, a blank, the error); here it is
    ``Error: No such option: --nope`` and ``Try 'amodp send --help'.``, exit 2.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        (self.colour,) = (p for p in self.params if p.name == "colour")

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, name: str) -> Any:
        if name not in self.commands and name in COMMANDS:
            self._load(COMMANDS[name])
        return self.commands.get(name)

    def _load(self, module_name: str) -> None:
        """Import a command module and add its commands, with ``--color``
        where they colour, and their options named for errors."""
        import importlib

        module = importlib.import_module(f"{__package__}.{module_name}")
        built = typer.main.get_command(module.app)
        found = built.commands if isinstance(built, TyperGroup) else {str(built.name): built}
        for name, command in found.items():
            if name in COLOURED_COMMANDS:
                command.params.append(self.colour)
            _OPTIONS[name] = {p.name: _option_name(p) for p in command.params if p.name}
            self.add_command(command, name)

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        from ..render import choose_colour

        choose_colour("auto")
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _ClickUsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # plain `amodp`: the help
                exc.show()  # type: ignore[attr-defined]
            else:
                message = _usage_message(exc)
                sys.stderr.write(f"Error: {message}\n{self._hint(exc, args, prog_name)}\n")
            code = ExitCode.USAGE
        except _ClickException as exc:
            sys.stderr.write(f"Error: {exc.format_message()}\n")  # type: ignore[attr-defined]
            code = exc.exit_code  # type: ignore[attr-defined]
        except typer.Abort:
            sys.stderr.write("Interrupted.\n")
            code = ExitCode.INTERRUPTED
        if not isinstance(code, int):
            code = ExitCode.OK
        if standalone_mode:
            sys.exit(code)
        return code

    def _hint(self, exc: Exception, args: Any, prog_name: str | None) -> str:
        """``Try 'amodp send --help'.``: the command the mistake was made in."""
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            return f"Try '{ctx.command_path} --help'."
        words = list(sys.argv[1:] if args is None else args)
        path = prog_name or self.name or "amodp"
        command = next((w for w in words if w in COMMANDS), None)
        return f"Try '{path} {command} --help'." if command else f"Try '{path} --help'."


app = typer.Typer(
    name="amodp",
    cls=_Group,
    help="Decode, generate, send and receive amoCRM (Kommo) webhooks.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def commands() -> typer.Typer:
    """The Typer a command module declares its commands on (see :data:`COMMANDS`)."""
    return typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False, add_completion=False)


def fail(message: str, code: int = ExitCode.USAGE) -> typer.Exit:
    sys.stderr.write(f"Error: {message}\n")
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """Turn the core's errors into ``Error: ...`` and an exit code; an error
    about one parameter names the command's option for it (``Error: --url: ...``)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AmodpError as exc:
            option = _OPTIONS.get(func.__name__, {}).get(exc.param or "")
            message = f"{option}: {exc}" if option else str(exc)
            raise fail(message, exc.exit_code) from None
        except BrokenPipeError:
            # `amodp generate --all | head`: the reader left; that is fine.
            sys.stderr.close()
            raise typer.Exit(ExitCode.OK) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"amodp {__version__}\n")
        raise typer.Exit()


def _set_colour(value: str | None) -> None:
    if value is not None:
        from ..render import COLOUR_CHOICES, choose_colour

        if value not in COLOUR_CHOICES:
            choices = ", ".join(COLOUR_CHOICES)
            raise typer.BadParameter(f"unknown colour {value!r}; choose from: {choices}")
        choose_colour(value)


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    colour: Annotated[
        str | None,
        typer.Option(
            "--color",
            "--colour",
            metavar="auto|always|never",
            callback=_set_colour,
            is_eager=True,
            expose_value=False,
            show_default=False,
            help="auto (on a terminal, unless NO_COLOR; FORCE_COLOR forces it), always or never.",
        ),
    ] = None,
) -> None:
    """Decode, generate, send and receive amoCRM (Kommo) webhooks."""


# -- input helpers --------------------------------------------------------------

#: What ``decode`` and ``encode`` read, for the hints of read_input.
_WHAT = {"decode": "a body", "encode": "JSON"}


def read_input(name: str, command: str | None = None) -> bytes:
    """Bytes of a file, or of stdin for ``-``. For ``command`` (decode,
    encode), say that stdin is read when it is a terminal, and that data
    given as the argument goes through a pipe."""
    if name == "-":
        if command and sys.stdin.isatty():
            stderr_line(
                f"Reading {_WHAT[command]} from stdin: paste it, then press Ctrl-D "
                "(Ctrl-Z, Enter on Windows)."
            )
        return sys.stdin.buffer.read()
    with open_input(name, command) as file:
        try:
            return file.read()
        except OSError as exc:
            raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None


def open_input(name: str, command: str | None = None) -> BinaryIO:
    """A file opened to read bytes (stdin for ``-``); what stops it is an
    InputError naming the file."""
    if name == "-":
        return sys.stdin.buffer
    try:
        return open(name, "rb")  # noqa: SIM115  # the caller closes it
    except FileNotFoundError:
        if command and _looks_inline(name):
            import shlex

            raise InputError(
                f"{name}: no such file; to {command} {_WHAT[command]} given as text, "
                f"pipe it: echo {shlex.quote(name)} | amodp {command}"
            ) from None
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None


def _looks_inline(name: str) -> bool:
    """Whether a name that is no file is data typed as the argument."""
    return "=" in name or name.lstrip()[:1] in ("{", "[") or name.startswith("curl ")


def stderr_line(text: str) -> None:
    sys.stderr.write(text + "\n")
