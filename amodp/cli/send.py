"""``amodp generate`` and ``amodp send``: realistic webhooks, printed or delivered."""

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import InputError, UsageError
from .app import _stderr_line, app, fail, handle_errors, read_input
from .decode import _write_json
from .options import (
    AllOption,
    BadSignatureOption,
    ClientUuidOption,
    CountOption,
    CustomerOption,
    EntityOption,
    EventArgument,
    EventOption,
    ExpiredOption,
    FlawOption,
    IndexOption,
    JsonOption,
    JsonStyleOption,
    KindOption,
    LeadOption,
    LocaleOption,
    NowOption,
    RedactOption,
    RequestIdOption,
    SecretOption,
    SeedOption,
    SetOption,
    UrlOption,
    _record_choice,
)

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
    signing: dict[str, Any],
    other_ways: str = "or --all",
) -> list[Any]:
    """The webhooks generate and send make: one EVENT, or --all of them;
    for a callback kind, the callbacks (see _make_callbacks)."""
    from .. import catalog
    from ..generator import generate as make_one
    from ..generator import generate_all, parse_override

    if kind in catalog.CALLBACK_KINDS:
        webhook_only = [
            ("--lead", lead),
            ("--customer", customer),
            ("--entity", entity),
            ("--set", overrides),
            ("--count", count != 1),
        ]
        for name, given in webhook_only:
            if given:
                raise UsageError(f"{name} is for dp and account webhooks, not {kind} callbacks")
        signing.pop("given")
        return _make_callbacks(
            event,
            kind=kind,
            all_events=all_events,
            seed=seed,
            url=url,
            locale=locale,
            other_ways=other_ways,
            **signing,
        )
    given = signing.pop("given")  # not --secret: AMODP_SECRET may be set for everything
    if given:
        raise UsageError(f"{given[0]} is for the callbacks (--kind chat, salesbot, oauth)")
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
    secret: SecretOption = None,
    bad_signature: BadSignatureOption = False,
    expired: ExpiredOption = False,
    flaw: FlawOption = None,
    now: NowOption = None,
    client_uuid: ClientUuidOption = None,
    json_style: JsonStyleOption = "compact",
) -> None:
    """Print a realistic webhook body, exactly as amoCRM sends it.

    --url is what --format http and curl show (default http://localhost:8000/).
    With --redact, as 'amodp decode --redact' would show it: the personal
    values replaced by placeholders in every format (Content-Length follows).

    Callbacks (--kind chat, salesbot, oauth) come signed with --secret (or
    AMODP_SECRET); form and json print a JSON body as sent, a GET as its
    request line. A Salesbot token is valid from now on: --now pins it.

    Example: amodp generate status --lead --seed 7 --set status_id=142
    """
    from ..generator import DEFAULT_URL

    signing = _signing(secret, bad_signature, expired, flaw, now, client_uuid, json_style)
    if redact and kind in _callback_kinds():
        raise UsageError(f"--redact is for dp and account webhooks, not {kind} callbacks")
    if fmt not in FORMAT_CHOICES:
        choices = ", ".join(FORMAT_CHOICES)
        raise UsageError(f"unknown format {fmt!r}; choose from: {choices}", param="fmt")
    if url is not None:
        from ..sender import check_url

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
        signing=signing,
    )
    if redact:
        from dataclasses import replace

        from ..redact import Redactor

        redactor = Redactor()
        redacted = []
        for hook in hooks:
            body = redactor.redact_body(hook.body)
            redacted.append(replace(hook, body=body, data=redactor.redact(hook.data)))
        hooks = redacted
    out = sys.stdout
    for hook in hooks:
        if fmt in ("form", "json") and hasattr(hook, "method"):
            _write_callback(hook)
        elif fmt == "form":
            out.write(hook.body.decode("ascii") + "\n")
        elif fmt == "json":
            from ..codec import to_json

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
    retries: Annotated[
        str,
        typer.Option(
            "--retries",
            metavar="none|amocrm",
            help="amocrm: after a failed delivery, send again on amoCRM's retry ladder.",
        ),
    ] = "none",
    time_scale: Annotated[
        float,
        typer.Option("--time-scale", help="amoCRM's clock for --retries: 0.001 makes 5 min 0.3 s."),
    ] = 1.0,
    secret: SecretOption = None,
    bad_signature: BadSignatureOption = False,
    expired: ExpiredOption = False,
    flaw: FlawOption = None,
    now: NowOption = None,
    client_uuid: ClientUuidOption = None,
    json_style: JsonStyleOption = "compact",
) -> None:
    """Send webhooks to URL byte for byte as amoCRM does; the exit code says if all were delivered.

    One line per delivery on stdout (--json: one JSON object); with --repeat N,
    a table on stderr instead. Each answer is judged by amoCRM's rules for
    --kind: a 2xx later than amoCRM waits (2 s) is a failure it would retry.
    --retries amocrm sends a failed delivery again as amoCRM would (5 min,
    15 min...; each attempt on stderr). Ctrl-C stops the sending, shows what
    was sent and exits 130. Callbacks (--kind chat, salesbot, oauth) go signed
    with --secret (or AMODP_SECRET), a GET with its query.

    Example: amodp send status --lead --url http://127.0.0.1:8000/hook
    """
    from ..sender import Request, check_load, check_url, run

    signing = _signing(secret, bad_signature, expired, flaw, now, client_uuid, json_style)
    if not url and replay is None:
        raise UsageError("--url is required")
    if url:
        check_url(url)
    check_load(repeat=repeat, concurrency=concurrency, timeout=timeout)
    ladder = _retries(retries, time_scale, kind)
    extra = [_header(h) for h in header or []]
    choose = _record_choice(index, only_event, request_id)
    if replay is not None:
        if event is not None or all_events or signing["given"]:
            extra_option = signing["given"][0] if signing["given"] else "EVENT or --all"
            raise UsageError(f"--replay sends a capture file: no {extra_option} with it")
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
            signing=signing,
            other_ways="--all or --replay FILE",
        )
        requests = []
        for hook in hooks:
            hook.extra_headers = extra
            # A callback's URL is where it goes: its query, its :scope_id filled in.
            method, target = getattr(hook, "method", "POST"), getattr(hook, "url", url)
            requests.append(Request(hook.event.name, method, target, hook.headers, hook.body))
    if dry_run:
        _print_requests(requests)
        return
    _warn_max_input_vars(requests)
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
            kind=_judged_kind(kind),
            retries=ladder,
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
    if ladder is not None and outcome.recovered:
        _stderr_line(
            f"{outcome.recovered} of {outcome.failed} failed deliveries got through on a retry"
        )
    if outcome.exit_code and outcome.disabled:
        raise fail("amoCRM would have disabled this hook", outcome.exit_code)
    if outcome.exit_code and outcome.sent == outcome.ok and outcome.late:
        raise fail(
            f"{outcome.late} of {outcome.sent} deliveries took longer than amoCRM waits: "
            f"{outcome.first_late}",
            outcome.exit_code,
        )
    if outcome.exit_code:
        bad = outcome.sent - outcome.ok
        kinds = sorted(outcome.errors.items())
        counts = ", ".join(f"{n} {kind}" for kind, n in kinds)
        reasons = "; ".join(outcome.first_error[kind] for kind, _ in kinds)
        detail = f" ({counts}): {reasons}" if kinds else ""
        raise fail(f"{bad} of {outcome.sent} deliveries got no 2xx{detail}", outcome.exit_code)


# -- send: amoCRM's rules ------------------------------------------------------------


def _judged_kind(kind: str) -> str | None:
    """The kind whose delivery rules judge the answers (None: a kind without rules)."""
    from ..rules import RULES

    return kind if kind in RULES else None


def _retries(choice: str, time_scale: float, kind: str) -> Any:
    """--retries and --time-scale as a :class:`amodp.sender.Retries`, or None."""
    from ..rules import duration, rules_for
    from ..sender import Retries

    if choice not in ("none", "amocrm"):
        raise UsageError(f"unknown retries {choice!r}; choose from: none, amocrm", param="retries")
    if not time_scale > 0:
        raise UsageError(f"must be more than 0, got {time_scale:g}", param="time_scale")
    if choice == "none":
        if time_scale != 1:
            raise UsageError("sets the clock of --retries amocrm", param="time_scale")
        return None
    if not rules_for(kind).ladder:
        _stderr_line(f"Note: amoCRM does not retry {rules_for(kind).label}: each is sent once.")

    def scaled(seconds: float) -> str:
        if time_scale == 1:
            return duration(seconds)
        return f"{duration(seconds)} ({seconds * time_scale:.3g} s scaled)"

    def on_attempt(delivery: Any, delay: float) -> None:
        reason = delivery.verdict.reason if delivery.verdict else delivery.error
        _stderr_line(
            f"{delivery.event}  attempt {delivery.attempt} after {scaled(delay)}: {reason}"
        )

    def on_disabled(tracker: Any) -> None:
        _stderr_line(
            f"amoCRM would have disabled this hook: {tracker.recent_invalid} invalid answers "
            f"within {scaled(tracker.rule.window_s)}, more than {tracker.rule.limit}, "
            "the latest invalid"
        )

    return Retries(kind, time_scale, on_attempt=on_attempt, on_disabled=on_disabled)


def _warn_max_input_vars(requests: list[Any]) -> None:
    """A urlencoded body past PHP's default max_input_vars: a default PHP
    receiver keeps only the first 1000 variables, silently."""
    from ..check import PHP_MAX_INPUT_VARS

    warned = set()
    for request in requests:
        form = any(
            k.lower() == "content-type" and "x-www-form-urlencoded" in v for k, v in request.headers
        )
        variables = request.body.count(b"&") + 1 if request.body else 0
        if form and variables > PHP_MAX_INPUT_VARS and request.label not in warned:
            warned.add(request.label)
            _stderr_line(
                f"Warning: {request.label}: {variables} variables in the body; a PHP receiver "
                f"with the default max_input_vars keeps only the first {PHP_MAX_INPUT_VARS}"
            )


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


def _callback_kinds() -> tuple[str, ...]:
    from .. import catalog

    return catalog.CALLBACK_KINDS


def _signing(
    secret: str | None,
    bad_signature: bool,
    expired: bool,
    flaw: str | None,
    now: float | None,
    client_uuid: str | None,
    style: str,
) -> dict[str, Any]:
    """What --secret and the options about signatures ask of amodp.callbacks;
    each None unless given."""
    from ..callbacks import STYLES

    flaws = [f for f, on in (("wrong-secret", bad_signature), ("expired", expired)) if on]
    if flaw is not None:
        flaws.append(flaw)
    if len(flaws) > 1:
        raise UsageError("choose one of --bad-signature, --expired and --flaw NAME")
    if style not in STYLES:
        raise UsageError(f"--json-style must be one of: {', '.join(STYLES)}")
    if secret == "":
        raise UsageError("--secret is empty (is AMODP_SECRET set to nothing?)")
    options = (
        ("--bad-signature", bad_signature),
        ("--expired", expired),
        ("--flaw", flaw is not None),
        ("--now", now is not None),
        ("--client-uuid", client_uuid is not None),
        ("--json-style", style != "compact"),
    )
    return {
        "secret": secret,
        "flaw": flaws[0] if flaws else None,
        "now": now,
        "client_uuid": client_uuid,
        "style": None if style == "compact" else style,
        "given": [name for name, on in options if on],
    }


def _make_callbacks(
    event: str | None,
    *,
    kind: str,
    all_events: bool,
    seed: int | None,
    url: str,
    locale: str,
    other_ways: str,
    secret: str | None,
    flaw: str | None,
    now: float | None,
    client_uuid: str | None,
    style: str | None,
) -> list[Any]:
    """The callbacks generate and send make, and one line on stderr when they
    cannot be signed for real (no secret)."""
    from .. import callbacks

    options: dict[str, Any] = {
        "seed": seed,
        "secret": secret,
        "flaw": flaw,
        "url": url,
        "now": now,
        "client_uuid": client_uuid,
        "style": style or "compact",
        "locale": locale,
    }
    if all_events:
        if event is not None:
            raise UsageError("give an EVENT or --all, not both")
        hooks = callbacks.generate_all(kind, **options)
    elif event is None:
        raise UsageError(f"name an EVENT (see 'amodp events --kind {kind}') {other_ways}")
    else:
        hooks = [callbacks.generate(event, kind=kind, **options)]
    if secret and kind == "salesbot" and len(secret.encode()) < 64:
        _stderr_line(
            f"Warning: the secret is {len(secret.encode())} bytes; amoCRM's client secrets "
            "are 64 characters (HS512 wants a key of 64 bytes or more)"
        )
    signed = [h.event.name for h in hooks if h.event.details.get("signature")]
    if secret is None and signed:
        _stderr_line(
            f"Note: no --secret (or AMODP_SECRET): {', '.join(signed)} signed with a throwaway "
            "key, which no receiver accepts"
        )
    return hooks


def _write_callback(hook: Any) -> None:
    """A callback in --format form or json: a JSON body as sent; a GET, which
    has no body, as its request line."""
    if hook.method == "GET":
        sys.stdout.write(f"GET {hook.target}\n")
        return
    sys.stdout.flush()
    sys.stdout.buffer.write(hook.body + b"\n")
    sys.stdout.buffer.flush()


def _replay_requests(
    path: Path, url: str, extra: list[tuple[str, str]], choose: Any = None
) -> list[Any]:
    """The requests of a capture file, to ``url`` or, without it, each to the
    loopback host it was received on."""
    from ..records import read_records

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
    from ..generator import _merge_headers
    from ..sender import Request, join_url

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
    line = f"{delivery.event}  {result}  {delivery.latency_ms:.1f} ms"
    if delivery.verdict is not None and not delivery.ok:
        line += f"  {delivery.verdict.reason}"
    return line + "\n"


def _print_load_table(outcome: Any) -> None:
    from ..render import table

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

        from ..render import console

        self.bar = Progress(console=console(sys.stderr), transient=True)
        self.task = self.bar.add_task("sending", total=total)
        self.bar.start()

    def advance(self) -> None:
        self.bar.advance(self.task)

    def close(self) -> None:
        self.bar.stop()


def _default_entity(event: str, chosen: str | None, kind: str) -> str | None:
    """An event both entities have (call_in, chat...) means leads unless told."""
    if chosen is not None:
        return chosen
    from .. import catalog

    owners = [e.entity for e in catalog.events(kind) if e.event == event]
    if len(owners) > 1 and "leads" in owners:
        return "leads"
    return None
