"""The ``amodp`` command line: thin commands over the core.

Each command parses its options, calls the core and prints: data on stdout,
talk on stderr. Errors from the core (:class:`amodp.errors.AmodpError`) become
one line ``Error: ...`` on stderr and the exit code of :class:`ExitCode`.
"""

import enum
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from . import __version__
from .errors import AmodpError, InputError, UsageError


class ExitCode(enum.IntEnum):
    """Exit codes, the same for every command (see the README)."""

    OK = 0
    #: ``send``: a delivery got a non-2xx answer; ``listen --expect``: timed out.
    FAILED = 1
    #: bad usage or input: unknown option or event, unreadable or malformed input.
    USAGE = 2
    #: network: connection refused, timeout, DNS; ``listen``: port in use.
    NETWORK = 3


app = typer.Typer(
    name="amodp",
    help="Decode, generate, send and receive amoCRM (Kommo) webhooks.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = ExitCode.USAGE) -> typer.Exit:
    sys.stderr.write(f"Error: {message}\n")
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """Turn the core's errors into ``Error: ...`` and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AmodpError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except BrokenPipeError:
            # `amodp generate --all | head`: the reader left; that is fine.
            sys.stderr.close()
            raise typer.Exit(0) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"amodp {__version__}\n")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Decode, generate, send and receive amoCRM (Kommo) webhooks."""


# -- input helpers --------------------------------------------------------------


def read_input(name: str) -> bytes:
    """Bytes of a file, or of stdin for ``-``."""
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None


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
) -> None:
    """Decode a captured webhook into JSON, exactly as PHP's $_POST sees it.

    Reads a urlencoded body, a raw HTTP request, a curl command, a JSON object
    of bracket keys, a logged Python dict or amodp capture records.

    Example: amodp decode payload.txt --summary
    """
    from .codec import parse, to_json
    from .inputs import read_sources

    if form not in FORM_CHOICES:
        raise UsageError(f"--from must be one of: {', '.join(FORM_CHOICES)}")
    names = files or ["-"]
    for name in names:
        label = "stdin" if name == "-" else name
        data = read_input(name)
        try:
            sources = read_sources(data, form)
        except InputError as exc:
            raise InputError(f"{label}: {exc}") from None
        for source in sources:
            where = f"{label} ({source.label})" if source.label else label
            decoded = parse(source.body)
            for warning in decoded.warnings:
                _stderr_line(f"Warning: {where}: {warning}")
            text = to_json(decoded.value, indent=None if compact else 4)
            _write_json(text)
            if summary:
                _print_summary(decoded.value)


def _write_json(text: str) -> None:
    from .render import use_colour, write_json

    if use_colour(sys.stdout):
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

    label = "stdin" if file == "-" else file
    data = read_input(file)
    if not data.strip():
        raise InputError(f"{label}: empty input")
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
def events(
    kind: Annotated[str, typer.Option("--kind", help="dp (digital pipeline) or account.")] = "dp",
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines, one event each.")] = False,
) -> None:
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
    rows = [[e.name, e.description, ", ".join(e.field_names)] for e in found]
    acct = catalog.account_block(kind)
    carried = ", ".join(f"account[{f.name}]" for f in acct.fields)
    title = f"{kind} webhooks (every body also carries {carried})"
    table(["event", "description", "fields"], rows, sys.stdout, title=title)


# -- generate ----------------------------------------------------------------------

FORMAT_CHOICES = ("form", "json", "http", "curl")


def _complete_event(incomplete: str) -> list[str]:
    from . import catalog

    names = {e.event for kind in catalog.KINDS for e in catalog.events(kind)}
    return sorted(n for n in names if n.startswith(incomplete))


def _entity_choice(lead: bool, customer: bool, entity: str | None) -> str | None:
    chosen = [name for name, on in (("leads", lead), ("customers", customer)) if on]
    if entity:
        chosen.append(entity)
    if len(chosen) > 1:
        raise UsageError("choose one entity: --lead, --customer or --entity NAME")
    return chosen[0] if chosen else None


@app.command()
@handle_errors
def generate(
    event: Annotated[
        str | None,
        typer.Argument(
            help="The event, e.g. status, call_in, period (see 'amodp events').",
            autocompletion=_complete_event,
            show_default=False,
        ),
    ] = None,
    lead: Annotated[bool, typer.Option("--lead", help="A leads event.")] = False,
    customer: Annotated[bool, typer.Option("--customer", help="A customers event.")] = False,
    entity: Annotated[
        str | None, typer.Option("--entity", help="Any entity by name.", show_default=False)
    ] = None,
    kind: Annotated[str, typer.Option("--kind", help="dp or account.")] = "dp",
    all_events: Annotated[
        bool, typer.Option("--all", help="Every entity/event combination.")
    ] = False,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Same seed, same bytes.", show_default=False),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="FIELD=VALUE on every item, or a bracket path: 'account[subdomain]=acme'.",
            show_default=False,
        ),
    ] = None,
    count: Annotated[int, typer.Option("--count", help="Items in one body.", min=1)] = 1,
    fmt: Annotated[str, typer.Option("--format", "-f", help="form, json, http or curl.")] = "form",
    url: Annotated[
        str, typer.Option("--url", help="Target shown by --format http and curl.")
    ] = "http://localhost:8000/",
) -> None:
    """Print a realistic webhook body, exactly as amoCRM sends it.

    Example: amodp generate status --lead --seed 7 --set status_id=142
    """
    from .generator import generate as make_one
    from .generator import generate_all, parse_override

    if fmt not in FORMAT_CHOICES:
        raise UsageError(f"--format must be one of: {', '.join(FORMAT_CHOICES)}")
    chosen = _entity_choice(lead, customer, entity)
    overrides = [parse_override(s) for s in sets or []]
    if all_events:
        if event is not None:
            raise UsageError("give an EVENT or --all, not both")
        hooks = generate_all(
            kind=kind, seed=seed, count=count, overrides=overrides, url=url, entity=chosen
        )
    else:
        if event is None:
            raise UsageError("name an EVENT (see 'amodp events') or use --all")
        hooks = [
            make_one(
                event,
                _default_entity(event, chosen, kind),
                kind=kind,
                seed=seed,
                count=count,
                overrides=overrides,
                url=url,
            )
        ]
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
            out.flush()
            sys.stdout.buffer.write(hook.http() + b"\n")
            sys.stdout.buffer.flush()
        else:
            out.write(hook.curl() + "\n")


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
