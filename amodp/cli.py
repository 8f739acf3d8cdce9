"""The ``amodp`` command line: thin commands over the core.

Each command parses its options, calls the core and prints: data on stdout,
talk on stderr. Errors from the core (:class:`amodp.errors.AmodpError`) become
one line ``Error: ...`` on stderr and the exit code of :class:`ExitCode`; a
mistake on the command line (unknown option, missing argument, bad value) is
one ``Error: ...`` line and a ``Try 'amodp CMD --help'.`` line, exit 2, for
every command (:class:`_Group`). An option several commands share is declared
once, below, as an ``Annotated`` alias.
"""

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

from . import __version__
from .errors import AmodpError, ExitCode, InputError, UsageError

__all__ = ["ExitCode", "app"]

F = TypeVar("F", bound=Callable[..., Any])


# typer exports BadParameter from the click it runs on (its own copy since typer
# 0.23): its bases are that click's UsageError and ClickException.
_CLICK_ERRORS = {c.__name__: c for c in typer.BadParameter.__mro__}
_ClickUsageError: type[Exception] = _CLICK_ERRORS["UsageError"]
_ClickException: type[Exception] = _CLICK_ERRORS["ClickException"]

#: Commands that colour their output, and so take ``--color`` too.
COLOURED_COMMANDS = ("decode", "events", "generate", "listen", "send", "demo")

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
        (colour,) = (p for p in self.params if p.name == "colour")
        for name, command in self.commands.items():
            if name in COLOURED_COMMANDS:
                command.params.append(colour)
            _OPTIONS[name] = {p.name: _option_name(p) for p in command.params if p.name}

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        from .render import choose_colour

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
        command = next((w for w in words if w in self.commands), None)
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
        from .render import COLOUR_CHOICES, choose_colour

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


# -- options shared by several commands, each declared once ----------------------


def _complete_event(incomplete: str) -> list[str]:
    from . import catalog

    names = {e.event for kind in catalog.KINDS for e in catalog.events(kind)}
    return sorted(n for n in names if n.startswith(incomplete))


#: ``--redact`` on decode, generate and listen.
RedactOption = Annotated[
    bool,
    typer.Option(
        "--redact",
        help="Names, phones, e-mails and texts as placeholders (<name:1>...), ids kept.",
    ),
]
#: ``--json`` on events, send, listen and demo: JSON Lines on stdout.
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="JSON Lines on stdout, one object each (schema in the README)."),
]
#: ``--url`` on generate (shown in the request) and send (where it goes).
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        metavar="URL",
        help="The receiver: http(s)://host[:port]/path.",
        show_default=False,
    ),
]
#: ``--kind`` on events, generate and send.
KindOption = Annotated[str, typer.Option("--kind", help="dp (digital pipeline) or account.")]

# What to generate: generate and send.
EventArgument = Annotated[
    str | None,
    typer.Argument(
        help="The event, e.g. status, call_in, period (see 'amodp events').",
        autocompletion=_complete_event,
        show_default=False,
    ),
]
LeadOption = Annotated[bool, typer.Option("--lead", help="A leads event.")]
CustomerOption = Annotated[bool, typer.Option("--customer", help="A customers event.")]
EntityOption = Annotated[
    str | None, typer.Option("--entity", help="Any entity by name.", show_default=False)
]
AllOption = Annotated[bool, typer.Option("--all", help="Every entity/event combination.")]
SeedOption = Annotated[
    int | None,
    typer.Option("--seed", help="Same seed (0 or more), same bytes.", show_default=False),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="FIELD=VALUE on every item, or a bracket path: 'account[subdomain]=acme'.",
        show_default=False,
    ),
]
CountOption = Annotated[int, typer.Option("--count", help="Items in one body.")]
LocaleOption = Annotated[str, typer.Option("--locale", help="Names and texts: ru or en.")]


#: ``--index``, ``--event``, ``--request-id`` on decode and send --replay.
IndexOption = Annotated[
    int | None,
    typer.Option(
        "--index", help="Only the Nth record of a capture file (from 1).", min=1, show_default=False
    ),
]
EventOption = Annotated[
    str | None,
    typer.Option(
        "--event",
        help="Only the records with this event (status, leads.status...).",
        show_default=False,
    ),
]
RequestIdOption = Annotated[
    str | None,
    typer.Option(
        "--request-id",
        help="Only the record with this X-Amocrm-Requestid header.",
        show_default=False,
    ),
]


def _record_choice(index: int | None, event: str | None, request_id: str | None) -> Any:
    """What the record options ask for, as a function of the records; None: all."""
    if index is None and event is None and request_id is None:
        return None
    from .records import select_records

    return functools.partial(select_records, index=index, event=event, request_id=request_id)


# -- input helpers --------------------------------------------------------------

#: What ``decode`` and ``encode`` read, for the hints of read_input.
_WHAT = {"decode": "a body", "encode": "JSON"}


def read_input(name: str, command: str | None = None) -> bytes:
    """Bytes of a file, or of stdin for ``-``. For ``command`` (decode,
    encode), say that stdin is read when it is a terminal, and that data
    given as the argument goes through a pipe."""
    if name == "-":
        if command and sys.stdin.isatty():
            _stderr_line(
                f"Reading {_WHAT[command]} from stdin: paste it, then press Ctrl-D "
                "(Ctrl-Z, Enter on Windows)."
            )
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
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


def _stderr_line(text: str) -> None:
    sys.stderr.write(text + "\n")


# -- decode ------------------------------------------------------------------------

FORM_CHOICES = ("auto", "body", "http", "curl", "json", "python", "capture")


@app.command()
@handle_errors
def decode(
    files: Annotated[
        list[str] | None,
        typer.Argument(help="Files to read; '-' or nothing reads stdin.", show_default=False),
    ] = None,
    form: Annotated[
        str,
        typer.Option(
            "--from",
            help="What the input is: auto, body, http, curl, json, python or capture.",
        ),
    ] = "auto",
    compact: Annotated[bool, typer.Option("--compact", help="One line of JSON each.")] = False,
    summary: Annotated[
        bool, typer.Option("--summary", help="One human line per event item, on stderr.")
    ] = False,
    redact: RedactOption = False,
    index: IndexOption = None,
    only_event: EventOption = None,
    request_id: RequestIdOption = None,
) -> None:
    """Decode a captured webhook into JSON, exactly as PHP's $_POST sees it.

    Reads a urlencoded body, a raw HTTP request, a curl command, a JSON object
    of bracket keys, a logged Python dict or amodp capture records (all of
    them, or those --index, --event and --request-id choose); gzip is undone.
    A body typed on the command line goes through a pipe. With --redact,
    personal data is replaced by placeholders, the same value by the same
    placeholder across all the inputs, so the output can go in a bug report.

    Example: amodp decode payload.txt --summary
    """
    from .codec import parse, to_json
    from .inputs import NotTextError, read_sources

    if form not in FORM_CHOICES:
        raise UsageError(f"--from must be one of: {', '.join(FORM_CHOICES)}")
    choose = _record_choice(index, only_event, request_id)
    redactor = None
    if redact:
        from .redact import Redactor

        redactor = Redactor()
    names = files or ["-"]
    for name in names:
        label = "stdin" if name == "-" else name
        data = read_input(name, "decode")
        try:
            sources = read_sources(data, form, choose)
        except NotTextError as exc:
            raise InputError(f"{label} {exc}") from None
        except InputError as exc:
            raise InputError(f"{label}: {exc}") from None
        for source in sources:
            where = f"{label} ({source.label})" if source.label else label
            for warning in source.warnings:
                _stderr_line(f"Warning: {where}: {warning}")
            decoded = parse(source.body)
            for warning in decoded.warnings:
                _stderr_line(f"Warning: {where}: {warning}")
            value = decoded.value if redactor is None else redactor.redact(decoded.value)
            text = to_json(value, indent=None if compact else 4)
            _write_json(text)
            if summary:
                _print_summary(value)


#: Output longer than this is printed without colour: highlighting builds it
#: all in memory, many times its size.
COLOUR_LIMIT = 1 << 20


def _write_json(text: str) -> None:
    from .render import use_colour, write_json

    if len(text) <= COLOUR_LIMIT and use_colour(sys.stdout):
        write_json(text)
    else:
        sys.stdout.write(text + "\n")


def _print_summary(value: Any) -> None:
    from .catalog import detect, summary_line

    found = detect(value)
    if not found:
        _stderr_line("(no amoCRM webhook event recognised)")
    for item_group in found:
        for item in item_group.items:
            _stderr_line(summary_line(item_group, item))


# -- encode ------------------------------------------------------------------------


@app.command()
@handle_errors
def encode(
    file: Annotated[
        str, typer.Argument(help="A JSON file; '-' or nothing reads stdin.", show_default=False)
    ] = "-",
) -> None:
    """Encode a JSON object as the urlencoded body PHP's http_build_query makes.

    Example: echo '{"leads":{"status":[{"id":"1"}]}}' | amodp encode
    """
    from .codec import encode as encode_body
    from .records import looks_like_records

    label = "stdin" if file == "-" else file
    data = read_input(file, "encode")
    if not data.strip():
        raise InputError(f"{label}: empty input")
    if looks_like_records(data):
        raise InputError(f"{label} looks like capture records; to read them use amodp decode")
    try:
        value = json.loads(data, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{label}: not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InputError(f"{label}: the JSON is a {type(value).__name__}, not an object")
    sys.stdout.write(encode_body(value) + "\n")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# -- events ------------------------------------------------------------------------


@app.command()
@handle_errors
def events(kind: KindOption = "dp", as_json: JsonOption = False) -> None:
    """List the webhook events amodp knows, with their fields.

    Example: amodp events --json | jq -r .event
    """
    from . import catalog
    from .render import table

    found = catalog.events(kind)
    if as_json:
        for e in found:
            sys.stdout.write(json.dumps(e.as_dict(), ensure_ascii=False) + "\n")
        return

    def wire(e: catalog.Event) -> str:
        return e.wire_key + (f" type={e.item_type}" if e.item_type else "")

    rows = [[e.name, wire(e), e.description, ", ".join(e.field_names)] for e in found]
    acct = catalog.account_block(kind)
    carried = ", ".join(f"account[{f.name}]" for f in acct.fields)
    title = f"{kind} callbacks"
    if carried:
        title = f"{kind} webhooks (every body also carries {carried})"
    table(["event", "wire key", "description", "fields"], rows, sys.stdout, title=title)


# -- generate ----------------------------------------------------------------------

FORMAT_CHOICES = ("form", "json", "http", "curl")


def _entity_choice(lead: bool, customer: bool, entity: str | None) -> str | None:
    chosen = [name for name, on in (("leads", lead), ("customers", customer)) if on]
    if entity:
        chosen.append(entity)
    if len(chosen) > 1:
        raise UsageError("choose one entity: --lead, --customer or --entity NAME")
    return chosen[0] if chosen else None


def _make_hooks(
    event: str | None,
    *,
    lead: bool,
    customer: bool,
    entity: str | None,
    kind: str,
    all_events: bool,
    seed: int | None,
    overrides: list[str] | None,
    count: int,
    url: str,
    locale: str,
    other_ways: str = "or --all",
) -> list[Any]:
    """The webhooks generate and send make: one EVENT, or --all of them."""
    from .generator import generate as make_one
    from .generator import generate_all, parse_override

    _webhook_kind(kind)
    chosen = _entity_choice(lead, customer, entity)
    pairs = [parse_override(s) for s in overrides or []]
    if all_events:
        if event is not None:
            raise UsageError("give an EVENT or --all, not both")
        skipped: dict[tuple[str, ...], list[str]] = {}
        hooks = generate_all(
            kind=kind,
            seed=seed,
            count=count,
            overrides=pairs,
            url=url,
            entity=chosen,
            locale=locale,
            on_skip=lambda spec, missing: skipped.setdefault(tuple(missing), []).append(spec.name),
        )
        for missing, names in skipped.items():
            _stderr_line(f"Warning: skipped {', '.join(names)}: no field {', '.join(missing)}")
        return hooks
    if event is None:
        raise UsageError(f"name an EVENT (see 'amodp events') {other_ways}")
    hook = make_one(
        event,
        _default_entity(event, chosen, kind),
        kind=kind,
        seed=seed,
        count=count,
        overrides=pairs,
        url=url,
        locale=locale,
    )
    return [hook]


@app.command()
@handle_errors
def generate(
    event: EventArgument = None,
    lead: LeadOption = False,
    customer: CustomerOption = False,
    entity: EntityOption = None,
    kind: KindOption = "dp",
    all_events: AllOption = False,
    seed: SeedOption = None,
    overrides: SetOption = None,
    count: CountOption = 1,
    fmt: Annotated[str, typer.Option("--format", "-f", help="form, json, http or curl.")] = "form",
    url: UrlOption = None,
    locale: LocaleOption = "ru",
    redact: RedactOption = False,
) -> None:
    """Print a realistic webhook body, exactly as amoCRM sends it.

    --url is what --format http and curl show (default http://localhost:8000/).
    With --redact, as 'amodp decode --redact' would show it: the personal
    values replaced by placeholders in every format (Content-Length follows).

    Example: amodp generate status --lead --seed 7 --set status_id=142
    """
    from .generator import DEFAULT_URL

    if fmt not in FORMAT_CHOICES:
        choices = ", ".join(FORMAT_CHOICES)
        raise UsageError(f"unknown format {fmt!r}; choose from: {choices}", param="fmt")
    if url is not None:
        from .sender import check_url

        check_url(url)
    hooks = _make_hooks(
        event,
        lead=lead,
        customer=customer,
        entity=entity,
        kind=kind,
        all_events=all_events,
        seed=seed,
        overrides=overrides,
        count=count,
        url=url or DEFAULT_URL,
        locale=locale,
    )
    if redact:
        from dataclasses import replace

        from .redact import Redactor

        redactor = Redactor()
        redacted = []
        for hook in hooks:
            body = redactor.redact_body(hook.body)
            redacted.append(replace(hook, body=body, data=redactor.redact(hook.data)))
        hooks = redacted
    out = sys.stdout
    for hook in hooks:
        if fmt == "form":
            out.write(hook.body.decode("ascii") + "\n")
        elif fmt == "json":
            from .codec import to_json

            if all_events:
                out.write(to_json(hook.json, indent=None) + "\n")
            else:
                _write_json(to_json(hook.json))
        elif fmt == "http":
            if len(hooks) > 1:
                out.write(f"### {hook.event.name}\n")
            out.flush()
            sys.stdout.buffer.write(hook.http() + b"\n")
            sys.stdout.buffer.flush()
        else:
            out.write(hook.curl() + "\n")


# -- listen ------------------------------------------------------------------------


@app.command()
@handle_errors
def listen(
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="Port; 0 picks a free one.")] = 8000,
    status: Annotated[int, typer.Option("--status", help="HTTP status to answer.")] = 200,
    delay: Annotated[
        float, typer.Option("--delay", help="Seconds to wait before answering.", min=0)
    ] = 0.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="One capture record per request on stdout.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Show nothing per request.")] = False,
    save: Annotated[
        Path | None,
        typer.Option(
            "--save", help="Append capture records (JSON Lines) here.", show_default=False
        ),
    ] = None,
    max_body: Annotated[
        int, typer.Option("--max-body", help="Largest body accepted; larger gets 413.", min=0)
    ] = 1 << 20,
    forward_to: Annotated[
        str | None,
        typer.Option("--forward-to", help="Relay each request to this app.", show_default=False),
    ] = None,
    events: Annotated[
        list[str] | None,
        typer.Option(
            "--event", help="Show only this event (status, leads.status...).", show_default=False
        ),
    ] = None,
    entities: Annotated[
        list[str] | None,
        typer.Option(
            "--entity", help="Show only this entity (leads, customers...).", show_default=False
        ),
    ] = None,
    expect: Annotated[
        int | None,
        typer.Option(
            "--expect", help="Exit 0 once N matching webhooks arrived.", min=1, show_default=False
        ),
    ] = None,
    read_timeout: Annotated[
        float,
        typer.Option(
            "--read-timeout",
            help="Seconds for a request's headers and body to arrive; then 408 or drop.",
            min=0.01,
        ),
    ] = 10.0,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            help="Stop after this many seconds (exit 1 if --expect is unmet).",
            show_default=False,
        ),
    ] = None,
    redact: RedactOption = False,
) -> None:
    """Receive webhooks on a local port, show each one decoded and keep them all.

    Example: amodp listen --port 8000 --save hooks.jsonl
    """
    from . import listener
    from .catalog import canonical_entity
    from .render import show_record, summary_table

    if status < 100 or status > 599:
        raise UsageError("--status must be an HTTP status (100-599)")
    if forward_to is not None:
        from .sender import check_url

        check_url(forward_to)
    options = listener.Options(
        host=host,
        port=port,
        status=status,
        delay=delay,
        max_body=max_body,
        save=save,
        forward_to=forward_to,
        events=frozenset(events or ()),
        entities=frozenset(canonical_entity(e) for e in entities or ()),
        expect=expect,
        timeout=timeout,
        read_timeout=read_timeout,
        redact=redact,
    )
    sock = listener.bind(host, port)
    real_host, real_port = sock.getsockname()[:2]
    shown_host = f"[{real_host}]" if ":" in real_host else real_host

    out = {"gone": False}

    def reader_left() -> None:
        # `amodp listen --json | head -3`: the reader has left; go on saving.
        out["gone"] = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)

    def show(record: dict[str, Any], wanted: bool) -> None:
        if quiet or not wanted or out["gone"]:
            return
        try:
            if as_json:
                sys.stdout.buffer.write(record["_line"])  # flushed once per turn
            else:
                show_record(record, sys.stdout)
        except BrokenPipeError:
            reader_left()

    def flush() -> None:
        if not out["gone"]:
            try:
                sys.stdout.buffer.flush()
            except BrokenPipeError:
                reader_left()

    def started() -> None:
        _stderr_line(f"Listening on http://{shown_host}:{real_port}")
        if not listener.is_loopback(real_host):
            _stderr_line(
                f"Warning: {real_host} is not a loopback address: other machines can send "
                "here, and captures hold customers' personal data"
            )
        if save is not None:
            _stderr_line(f"Saving every request to {save}")
        sys.stderr.flush()

    app_ = listener.Listener(options, show, flush if as_json and not quiet else None)
    code = listener.run(app_, sock, on_started=started)
    stats = app_.stats
    rows = [
        [name, str(code_), str(count)] for (name, code_), count in sorted(stats.by_event.items())
    ]
    summary_table(rows, sys.stderr, title=f"{stats.total} request(s) received")
    if app_.batch.lost:
        _stderr_line(
            f"{app_.batch.lost} of them not saved (the save file could not be written): "
            "their connections were reset, not answered"
        )
    if code != 0:
        got = stats.matched
        raise fail(
            f"expected {expect} matching webhook(s), got {got} within {timeout:g} s",
            ExitCode.FAILED,
        )


# -- send --------------------------------------------------------------------------


@app.command()
@handle_errors
def send(
    event: EventArgument = None,
    url: UrlOption = None,
    lead: LeadOption = False,
    customer: CustomerOption = False,
    entity: EntityOption = None,
    kind: KindOption = "dp",
    all_events: AllOption = False,
    seed: SeedOption = None,
    overrides: SetOption = None,
    count: CountOption = 1,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header", "-H", help="'Name: value' to add or override.", show_default=False
        ),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per delivery.")] = 10.0,
    insecure: Annotated[bool, typer.Option("--insecure", "-k", help="Do not verify TLS.")] = False,
    as_json: JsonOption = False,
    replay: Annotated[
        Path | None,
        typer.Option("--replay", help="Resend the requests of a capture file.", show_default=False),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the requests, send nothing.")
    ] = False,
    repeat: Annotated[int, typer.Option("--repeat", help="Send everything N times.", min=1)] = 1,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", help="Deliveries at once.", min=1)
    ] = 1,
    locale: LocaleOption = "ru",
    index: IndexOption = None,
    only_event: EventOption = None,
    request_id: RequestIdOption = None,
) -> None:
    """Send webhooks to URL byte for byte as amoCRM does; the exit code says if all got a 2xx.

    One line per delivery on stdout (--json: one JSON object); with --repeat N,
    a table on stderr instead. Ctrl-C stops the sending, shows what was sent
    and exits 130.

    Example: amodp send status --lead --url http://127.0.0.1:8000/hook
    """
    from .sender import Request, check_load, check_url, run

    if not url and replay is None:
        raise UsageError("--url is required")
    if url:
        check_url(url)
    check_load(repeat=repeat, concurrency=concurrency, timeout=timeout)
    extra = [_header(h) for h in header or []]
    choose = _record_choice(index, only_event, request_id)
    if replay is not None:
        if event is not None or all_events:
            raise UsageError("--replay sends a capture file: no EVENT or --all with it")
        requests = _replay_requests(replay, url or "", extra, choose)
    elif choose is not None:
        raise UsageError("--index, --event and --request-id choose records of --replay FILE")
    else:
        assert url is not None  # required above without --replay
        hooks = _make_hooks(
            event,
            lead=lead,
            customer=customer,
            entity=entity,
            kind=kind,
            all_events=all_events,
            seed=seed,
            overrides=overrides,
            count=count,
            url=url,
            locale=locale,
            other_ways="--all or --replay FILE",
        )
        requests = []
        for hook in hooks:
            hook.extra_headers = extra
            requests.append(Request(hook.event.name, "POST", url, hook.headers, hook.body))
    if dry_run:
        _print_requests(requests)
        return
    load = repeat > 1
    progress = _progress(len(requests) * repeat) if load and sys.stderr.isatty() else None
    out = _Stdout(flush_each=not load)

    def on_delivery(delivery: Any) -> None:
        if as_json:
            out.write(json.dumps(delivery.as_dict(), ensure_ascii=False) + "\n")
        elif not load:
            out.write(_delivery_line(delivery))
        if progress is not None:
            progress.advance()

    try:
        outcome = run(
            requests,
            repeat=repeat,
            concurrency=concurrency,
            timeout=timeout,
            insecure=insecure,
            on_delivery=on_delivery,
        )
    finally:
        if progress is not None:
            progress.close()
    out.flush()
    if load or outcome.interrupted:
        _print_load_table(outcome)
    if outcome.interrupted:
        planned = len(requests) * repeat
        raise fail(f"interrupted after {outcome.sent} of {planned} deliveries", outcome.exit_code)
    if outcome.exit_code:
        bad = outcome.sent - outcome.ok
        kinds = sorted(outcome.errors.items())
        counts = ", ".join(f"{n} {kind}" for kind, n in kinds)
        reasons = "; ".join(outcome.first_error[kind] for kind, _ in kinds)
        detail = f" ({counts}): {reasons}" if kinds else ""
        raise fail(f"{bad} of {outcome.sent} deliveries got no 2xx{detail}", outcome.exit_code)


class _Stdout:
    """stdout for delivery lines: once the reader has gone (``| head -2``),
    the lines go nowhere and the sending goes on."""

    def __init__(self, flush_each: bool) -> None:
        self.flush_each = flush_each
        self.gone = False

    def write(self, text: str) -> None:
        if self.gone:
            return
        try:
            sys.stdout.write(text)
            if self.flush_each:
                sys.stdout.flush()
        except BrokenPipeError:
            self._reader_left()

    def flush(self) -> None:
        if not self.gone:
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                self._reader_left()

    def _reader_left(self) -> None:
        self.gone = True
        # What is still buffered goes to /dev/null, also at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise UsageError(f"-H wants 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def _webhook_kind(kind: str) -> None:
    """Chat, Salesbot and OAuth callbacks are listed by 'events' but made by
    amodp.callbacks, not by the webhook generator."""
    from . import catalog

    if kind in catalog.CALLBACK_KINDS:
        raise UsageError(f"--kind {kind}: {kind} callbacks are made by amodp.callbacks.generate")


def _replay_requests(
    path: Path, url: str, extra: list[tuple[str, str]], choose: Any = None
) -> list[Any]:
    """The requests of a capture file, to ``url`` or, without it, each to the
    loopback host it was received on."""
    from .records import read_records

    name = str(path)
    label = "stdin" if name == "-" else name
    data = read_input(name)
    try:
        records = read_records(data)
        if choose is not None:
            records = choose(records)
        requests = [_replay_request(record, url, extra) for record in records]
    except InputError as exc:
        raise InputError(f"{label}: {exc}") from None
    if not url:
        for base in dict.fromkeys(_origin(r.target) for r in requests):
            _stderr_line(f"No --url: the requests go to {base}, where the records were received")
    return requests


def _origin(target: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(target)
    return f"{parts.scheme}://{parts.netloc}"


_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _replay_request(record: Any, url: str, extra: list[tuple[str, str]]) -> Any:
    """One record as a request; InputError (``record N: why``) when it cannot be sent."""
    from .generator import _merge_headers
    from .sender import Request, join_url

    where = f"record {record.number}"
    method, path, query = record.request_line()
    if not set(method) <= _TOKEN:
        raise InputError(f"{where}: {method!r} is not an HTTP method")
    for name, value in record.headers:
        if not name or not set(name) <= _TOKEN:
            raise InputError(f"{where}: {name!r} is not a header name")
        if "\r" in value or "\n" in value or not _latin1(value):
            raise InputError(
                f"{where}: the {name} header cannot be sent (line breaks or non-latin-1)"
            )
    base = url or _received_on(record)
    return Request(
        ", ".join(record.event_names()) or "-",
        method,
        join_url(base, path, query),
        _merge_headers(record.headers, extra),
        record.body,
    )


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _received_on(record: Any) -> str:
    """``http://HOST`` of the record's Host header when it is a loopback address."""
    import ipaddress
    from urllib.parse import urlsplit

    host = record.header("host")
    where = f"record {record.number}"
    if not host:
        raise InputError(f"{where} has no Host header: say where to send it with --url")
    try:
        name = urlsplit(f"http://{host}").hostname or ""
        loopback = name == "localhost" or ipaddress.ip_address(name).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise InputError(
            f"{where} was received on {host}, not a loopback address: "
            "say where to send it with --url"
        )
    return f"http://{host}"


def _http_text(request: Any) -> bytes:
    from urllib.parse import urlsplit

    parts = urlsplit(request.target)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{request.method} {target} HTTP/1.1"]
    names = {k.lower() for k, _ in request.headers}
    if "host" not in names:
        lines.append(f"Host: {parts.netloc}")
    for k, v in request.headers:
        if k.lower() == "host":
            v = parts.netloc
        if k.lower() == "content-length":
            v = str(len(request.body))
        lines.append(f"{k}: {v}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.body


def _print_requests(requests: list[Any]) -> None:
    """--dry-run: each request as it goes over the wire, then a newline; when
    there are several, each after a ``### EVENT`` line (as .http files separate them)."""
    out = sys.stdout.buffer
    for request in requests:
        if len(requests) > 1:
            out.write(f"### {request.label}\n".encode())
        out.write(_http_text(request) + b"\n")
    out.flush()


def _delivery_line(delivery: Any) -> str:
    if delivery.error:
        result = delivery.error
    else:
        result = f"{delivery.status}  {delivery.response[:60].strip()!r}"
    return f"{delivery.event}  {result}  {delivery.latency_ms:.1f} ms\n"


def _print_load_table(outcome: Any) -> None:
    from .render import table

    other = sum(n for s, n in outcome.statuses.items() if not 200 <= s < 300)
    rate = outcome.sent / outcome.seconds if outcome.seconds else 0.0
    rows = [
        ["sent", str(outcome.sent)],
        ["2xx", str(outcome.ok)],
        ["other statuses", str(other)],
        ["errors", str(sum(outcome.errors.values()))],
        ["rate", f"{rate:.0f}/s"],
        ["latency p50", f"{outcome.percentile(50):.1f} ms"],
        ["latency p95", f"{outcome.percentile(95):.1f} ms"],
        ["latency p99", f"{outcome.percentile(99):.1f} ms"],
    ]
    stopped = " (interrupted)" if outcome.interrupted else ""
    table(
        ["measure", "value"],
        rows,
        sys.stderr,
        title=f"{outcome.sent} deliveries in {outcome.seconds:.2f} s{stopped}",
    )


class _progress:
    """A progress bar on stderr (only used when stderr is a terminal)."""

    def __init__(self, total: int) -> None:
        from rich.progress import Progress

        from .render import console

        self.bar = Progress(console=console(sys.stderr), transient=True)
        self.task = self.bar.add_task("sending", total=total)
        self.bar.start()

    def advance(self) -> None:
        self.bar.advance(self.task)

    def close(self) -> None:
        self.bar.stop()


# -- demo --------------------------------------------------------------------------


@app.command()
@handle_errors
def demo(
    seed: Annotated[
        int | None, typer.Option("--seed", help="Same seed, same webhooks.", show_default=False)
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One capture record per webhook.")
    ] = False,
) -> None:
    """Start a listener, send it every digital-pipeline webhook, check each arrived intact.

    Example: amodp demo
    """
    import asyncio

    from . import listener
    from .generator import generate_all
    from .render import show_record
    from .sender import Request, deliver

    received: list[dict[str, Any]] = []

    def show(record: dict[str, Any], wanted: bool) -> None:
        received.append(record)
        if as_json:
            sys.stdout.flush()
            sys.stdout.buffer.write(record["_line"])
            sys.stdout.buffer.flush()
        else:
            show_record(record, sys.stdout)

    options = listener.Options(host="127.0.0.1", port=0)
    with listener.Background(options, show) as running:
        _stderr_line(f"Listening on {running.url}")
        hooks = generate_all(seed=seed, url=running.url + "/amo/webhook")
        requests = [Request(h.event.name, "POST", h.url, h.headers, h.body) for h in hooks]
        outcome = asyncio.run(deliver(requests, timeout=10))
    by_id: dict[str, dict[str, Any]] = {}
    for record in received:
        for name, value in record["headers"]:
            if name.lower() == "x-amocrm-requestid":
                by_id[value] = record
    broken = []
    for hook in hooks:
        got = by_id.get(hook.request_id)
        if got is None:
            broken.append(f"{hook.event.name}: never arrived")
        elif got.get("decoded") != json.loads(json.dumps(hook.json)):
            broken.append(f"{hook.event.name}: arrived changed")
    if outcome.exit_code or broken:
        raise fail(
            "; ".join(broken) or f"{outcome.sent - outcome.ok} deliveries failed",
            ExitCode.FAILED,
        )
    _stderr_line(f"All {len(hooks)} digital-pipeline webhooks arrived intact.")


def _default_entity(event: str, chosen: str | None, kind: str) -> str | None:
    """An event both entities have (call_in, chat...) means leads unless told."""
    if chosen is not None:
        return chosen
    from . import catalog

    owners = [e.entity for e in catalog.events(kind) if e.event == event]
    if len(owners) > 1 and "leads" in owners:
        return "leads"
    return None


if __name__ == "__main__":  # pragma: no cover
    app()
