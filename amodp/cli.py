"""The ``amodp`` command line: thin commands over the core.

Each command parses its options, calls the core and prints: data on stdout,
talk on stderr. Errors from the core (:class:`amodp.errors.AmodpError`) become
one line ``Error: ...`` on stderr and the exit code of :class:`ExitCode`.
"""

import enum
import functools
import json
import os
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


#: ``--redact`` on decode, generate and listen.
RedactOption = Annotated[
    bool,
    typer.Option(
        "--redact",
        help="Names, phones, e-mails and texts as placeholders (<name:1>...), ids kept.",
    ),
]


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
    redact: RedactOption = False,
) -> None:
    """Decode a captured webhook into JSON, exactly as PHP's $_POST sees it.

    Reads a urlencoded body, a raw HTTP request, a curl command, a JSON object
    of bracket keys, a logged Python dict or amodp capture records. With
    --redact, personal data is replaced by placeholders, the same value by the
    same placeholder across all the inputs, so the output can go in a bug report.

    Example: amodp decode payload.txt --summary
    """
    from .codec import parse, to_json
    from .inputs import read_sources

    if form not in FORM_CHOICES:
        raise UsageError(f"--from must be one of: {', '.join(FORM_CHOICES)}")
    redactor = None
    if redact:
        from .redact import Redactor

        redactor = Redactor()
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
            value = decoded.value if redactor is None else redactor.redact(decoded.value)
            text = to_json(value, indent=None if compact else 4)
            _write_json(text)
            if summary:
                _print_summary(value)


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
    locale: Annotated[str, typer.Option("--locale", help="Names and texts: ru or en.")] = "ru",
    redact: RedactOption = False,
) -> None:
    """Print a realistic webhook body, exactly as amoCRM sends it.

    With --redact, as 'amodp decode --redact' would show it: the personal
    values replaced by placeholders in every format (Content-Length follows).

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
            kind=kind,
            seed=seed,
            count=count,
            overrides=overrides,
            url=url,
            entity=chosen,
            locale=locale,
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
                locale=locale,
            )
        ]
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
    lines: Annotated[
        bool, typer.Option("--lines", help="One line per request: time, path, status, events.")
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
            help="Seconds for a body to arrive once its headers are in; then 408.",
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

    Ctrl-C (or SIGTERM) stops accepting, answers and saves what is in flight,
    prints a count per event and status and exits; a second one stops at once.

    Example: amodp listen --port 8000 --save hooks.jsonl
    """
    import signal

    from . import listener
    from .catalog import canonical_entity
    from .render import summary_table

    listener.check_port(port)
    if status < 100 or status > 599:
        raise UsageError("--status must be an HTTP status (100-599)")
    if as_json + lines + quiet > 1:
        raise UsageError("choose one of --json, --lines and --quiet")
    if forward_to is not None:
        listener.check_forward_url(forward_to)
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
    local = real_host if real_host not in ("0.0.0.0", "::") else "127.0.0.1"
    local = f"[{local}]" if ":" in local else local
    mode = "json" if as_json else "lines" if lines else "quiet" if quiet else "pretty"
    display = _Display(mode)

    def save_failed(error: OSError) -> None:
        _stderr_line(
            f"Error: cannot save to {save}: {error.strerror or error}; "
            "requests that cannot be saved are answered 503"
        )
        sys.stderr.flush()

    def started() -> None:
        _stderr_line(f"Listening on http://{shown_host}:{real_port}")
        if not listener.is_loopback(real_host):
            _stderr_line(
                f"Warning: {real_host} is not a loopback address: other machines can send "
                "here, and captures hold customers' personal data"
            )
        if save is not None:
            _stderr_line(f"Saving every request to {save}")
        if forward_to is not None:
            _stderr_line(f"Forwarding to {forward_to}")
        _stderr_line(f"Try: amodp send status --lead --url http://{local}:{real_port}/")
        sys.stderr.flush()

    stopped = {"by_signal": False}

    def stopping(signum: int, in_flight: int) -> None:
        stopped["by_signal"] = True
        if signum == signal.SIGINT and sys.stderr.isatty():
            _stderr_line("")  # after the terminal's ^C
        if in_flight:
            s = "s" if in_flight != 1 else ""
            _stderr_line(
                f"Stopping: waiting for {in_flight} request{s} in flight (Ctrl-C again to stop now)"
            )
        sys.stderr.flush()

    app_ = listener.Listener(options, display.show, on_save_error=save_failed)
    code = listener.run(app_, sock, on_started=started, on_stopping=stopping)
    stats = app_.stats
    rows = [
        [name, str(code_), str(count)] for (name, code_), count in sorted(stats.by_event.items())
    ]
    noun = "request" if stats.total == 1 else "requests"
    summary_table(rows, sys.stderr, title=f"{stats.total} {noun} received")
    if stats.unsaved:
        _stderr_line(f"{stats.unsaved} not saved: answered 503")
    if code != 0:
        got = f"expected {expect} matching webhook(s), got {stats.matched}"
        if stopped["by_signal"] or timeout is None:
            raise fail(f"{got} before the listener was stopped", ExitCode.FAILED)
        raise fail(f"{got} within {timeout:g} s", ExitCode.FAILED)


class _Display:
    """What ``listen`` and ``demo`` show on stdout per request: the record
    readably ("pretty"), one line ("lines"), its JSON line ("json") or nothing
    ("quiet"). When the reader leaves (``| head -3``), nothing more is shown;
    the listener goes on answering and saving."""

    def __init__(self, mode: str) -> None:
        from .render import show_line, show_record

        self.mode = mode
        self.gone = False
        self.readable = show_line if mode == "lines" else show_record

    def show(self, record: dict[str, Any], line: bytes, wanted: bool) -> None:
        if self.mode == "quiet" or not wanted or self.gone:
            return
        try:
            if self.mode == "json":
                sys.stdout.buffer.write(line)
                sys.stdout.buffer.flush()
            else:
                self.readable(record, sys.stdout)
        except BrokenPipeError:
            self.reader_left()

    def reader_left(self) -> None:
        self.gone = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # what is still buffered goes nowhere
        os.close(devnull)


# -- send --------------------------------------------------------------------------


@app.command()
@handle_errors
def send(
    event: Annotated[
        str | None,
        typer.Argument(
            help="The event (see 'amodp events').",
            autocompletion=_complete_event,
            show_default=False,
        ),
    ] = None,
    url: Annotated[str, typer.Option("--url", help="Where to send.", show_default=False)] = "",
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
        int | None, typer.Option("--seed", help="Same seed, same bytes.", show_default=False)
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="FIELD=VALUE on every item, or a bracket path.", show_default=False
        ),
    ] = None,
    count: Annotated[int, typer.Option("--count", help="Items in one body.", min=1)] = 1,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header", "-H", help="'Name: value' to add or override.", show_default=False
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds per delivery.", min=0.001)
    ] = 10.0,
    insecure: Annotated[bool, typer.Option("--insecure", "-k", help="Do not verify TLS.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per delivery.")] = False,
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
    locale: Annotated[str, typer.Option("--locale", help="Names and texts: ru or en.")] = "ru",
) -> None:
    """Send webhooks to URL byte for byte as amoCRM does; the exit code says if all got a 2xx.

    Example: amodp send status --lead --url http://127.0.0.1:8000/hook
    """
    import asyncio

    from .sender import Request, check_url, deliver

    if not url:
        raise UsageError("--url is required")
    check_url(url)
    extra = [_header(h) for h in header or []]
    if replay is not None:
        if event is not None or all_events:
            raise UsageError("--replay sends a capture file: no EVENT or --all with it")
        requests = _replay_requests(replay, url, extra)
    else:
        hooks = _make_hooks(
            event, lead, customer, entity, kind, all_events, seed, sets, count, url, locale
        )
        requests = []
        for hook in hooks:
            hook.extra_headers = extra
            requests.append(Request(hook.event.name, "POST", url, hook.headers, hook.body))
    if dry_run:
        for request in requests:
            sys.stdout.buffer.write(_http_text(request) + b"\n")
        sys.stdout.flush()
        return
    load = repeat > 1 or concurrency > 1
    progress = _progress(len(requests) * repeat) if load and sys.stderr.isatty() else None

    def on_delivery(delivery: Any) -> None:
        if as_json:
            sys.stdout.write(json.dumps(delivery.as_dict(), ensure_ascii=False) + "\n")
        elif not load:
            _print_delivery(delivery)
        if progress is not None:
            progress.advance()

    try:
        outcome = asyncio.run(
            deliver(
                requests,
                repeat=repeat,
                concurrency=concurrency,
                timeout=timeout,
                insecure=insecure,
                on_delivery=on_delivery,
            )
        )
    finally:
        if progress is not None:
            progress.close()
    sys.stdout.flush()
    if load:
        _print_load_table(outcome)
    if outcome.exit_code:
        bad = outcome.sent - outcome.ok
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(outcome.errors.items()))
        detail = f" ({kinds})" if kinds else ""
        raise fail(f"{bad} of {outcome.sent} deliveries got no 2xx{detail}", outcome.exit_code)


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise UsageError(f"-H wants 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def _make_hooks(
    event: str | None,
    lead: bool,
    customer: bool,
    entity: str | None,
    kind: str,
    all_events: bool,
    seed: int | None,
    sets: list[str] | None,
    count: int,
    url: str,
    locale: str,
) -> list[Any]:
    from .generator import generate as make_one
    from .generator import generate_all, parse_override

    chosen = _entity_choice(lead, customer, entity)
    overrides = [parse_override(s) for s in sets or []]
    if all_events:
        if event is not None:
            raise UsageError("give an EVENT or --all, not both")
        return generate_all(
            kind=kind,
            seed=seed,
            count=count,
            overrides=overrides,
            url=url,
            entity=chosen,
            locale=locale,
        )
    if event is None:
        raise UsageError("name an EVENT (see 'amodp events'), --all or --replay FILE")
    return [
        make_one(
            event,
            _default_entity(event, chosen, kind),
            kind=kind,
            seed=seed,
            count=count,
            overrides=overrides,
            url=url,
            locale=locale,
        )
    ]


def _replay_requests(path: Path, url: str, extra: list[tuple[str, str]]) -> list[Any]:
    from .generator import _merge_headers
    from .inputs import read_sources
    from .records import body_of
    from .sender import Request, join_url

    data = read_input(str(path))
    records = []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise InputError(f"{path}: line {number} is not a capture record") from None
        if not isinstance(record, dict) or "method" not in record or "path" not in record:
            raise InputError(f"{path}: line {number} is not a capture record")
        records.append(record)
    if not records:
        read_sources(data, "capture")  # raises the reason, e.g. empty input
        raise InputError(f"{path}: no capture records")
    requests = []
    for record in records:
        headers = [(str(k), str(v)) for k, v in record.get("headers", [])]
        names = [f"{e['entity']}.{e['event']}" for e in record.get("events", [])]
        requests.append(
            Request(
                ", ".join(names) or "-",
                str(record["method"]),
                join_url(url, str(record["path"]), str(record.get("query") or "")),
                _merge_headers(headers, extra),
                body_of(record),
            )
        )
    return requests


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


def _print_delivery(delivery: Any) -> None:
    if delivery.error:
        result = delivery.error
    else:
        result = f"{delivery.status}  {delivery.response[:60].strip()!r}"
    sys.stdout.write(f"{delivery.event}  {result}  {delivery.latency_ms:.1f} ms\n")


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
    table(
        ["", "value"],
        rows,
        sys.stderr,
        title=f"{outcome.sent} deliveries in {outcome.seconds:.2f} s",
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
    from .sender import Request, deliver

    received: list[dict[str, Any]] = []  # what arrived, whatever could be shown
    display = _Display("json" if as_json else "pretty")

    def keep(record: dict[str, Any], line: bytes, wanted: bool) -> None:
        received.append(record)
        display.show(record, line, wanted)

    options = listener.Options(host="127.0.0.1", port=0)
    with listener.Background(options, keep) as running:
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
