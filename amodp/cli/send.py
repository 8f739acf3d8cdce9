"""``amodp send``: requests delivered byte for byte as amoCRM does, judged by its rules."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import InputError, UsageError
from .app import commands, fail, handle_errors, read_input, stderr_line
from .generate import is_form, make_requests, signing_options
from .options import (
    EventOption,
    IndexOption,
    JsonOption,
    Making,
    PlatformOption,
    RequestIdOption,
    UrlOption,
    making_options,
    record_choice,
)
from .output import Stdout

if TYPE_CHECKING:
    from ..outcome import Delivery
    from ..request import Request
    from ..sender import Retries, Summary


# -- send --------------------------------------------------------------------------

#: this module's commands (amodp.cli.app.COMMANDS)
app = commands()


@app.command()
@handle_errors
@making_options
def send(
    making: Making,
    url: UrlOption = None,
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
    repeat: Annotated[
        int,
        typer.Option(
            "--repeat",
            help="Send everything N times, each time with a request id and values of its own.",
            min=1,
        ),
    ] = 1,
    exact: Annotated[
        bool, typer.Option("--exact", help="With --repeat: the same bytes every time.")
    ] = False,
    body: Annotated[
        str | None,
        typer.Option(
            "--body",
            metavar="FILE",
            help="Send what decode reads (a raw body, an .http request, a curl command, "
            "$_POST as JSON, a callback's JSON), as amoCRM's bytes with its headers "
            "(a callback signed again with --secret); - for stdin.",
            show_default=False,
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", help="Deliveries at once.", min=1)
    ] = 1,
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
    platform: PlatformOption = "amocrm",
) -> None:
    """Send webhooks to URL byte for byte as amoCRM does; the exit code says if all were delivered.

    One line per delivery on stdout (--json: one JSON object); with --repeat N,
    a table on stderr instead. Each answer is judged by amoCRM's rules for
    its kind (--kind; a replayed record: the kind of its event): a 2xx later
    than amoCRM waits (2 s) is a failure it would retry.
    --retries amocrm sends a failed delivery again as amoCRM would (5 min,
    15 min...; each attempt on stderr). Ctrl-C stops the sending, shows what
    was sent and exits 130. Callbacks (--kind chat, salesbot, oauth) go signed
    with --secret (or AMODP_SECRET), a GET with its query.

    Example: amodp send status --lead --url http://127.0.0.1:8000/hook
    """
    from .. import rules
    from ..render import ProgressBar, delivery_line, load_table
    from ..sender import check_load, check_url, run

    signing = signing_options(making)
    if not url and replay is None:
        raise UsageError("--url is required")
    if exact and repeat == 1:
        raise UsageError("--exact keeps the bytes of --repeat N", param="exact")
    if url:
        check_url(url)
    check_load(repeat=repeat, concurrency=concurrency, timeout=timeout)
    rules.check_platform(platform)
    ladder = _retries(retries, time_scale)
    extra = [_header(h) for h in header or []]
    choose = record_choice(index, only_event, request_id)
    if replay is not None:
        if making.event is not None or making.all_events or signing["given"]:
            extra_option = signing["given"][0] if signing["given"] else "EVENT or --all"
            raise UsageError(f"--replay sends a capture file: no {extra_option} with it")
        requests = _replay(replay, url or "", extra, choose)
    elif choose is not None:
        raise UsageError("--index, --event and --request-id choose records of --replay FILE")
    elif body is not None:
        if making.event is not None or making.all_events or signing["given"]:
            extra_option = signing["given"][0] if signing["given"] else "EVENT or --all"
            raise UsageError(f"--body sends what FILE holds: no {extra_option} with it")
        assert url is not None  # required above without --replay
        requests = _bodies(body, url, extra, making.secret)
    else:
        assert url is not None  # required above without --replay
        made = make_requests(making, url, other_ways="--all, --body FILE or --replay FILE")
        requests = [r.with_headers(extra) for r in made]
    if dry_run:
        out = sys.stdout.buffer
        for request in requests:
            if len(requests) > 1:
                out.write(f"### {request.name}\n".encode())
            out.write(request.http() + b"\n")
        out.flush()
        return
    _warn_max_input_vars(requests)
    if ladder is not None:
        kinds = {r.kind or "dp" for r in requests}
        once = {rules.rules_for(k, platform=platform) for k in kinds}
        for label in sorted(r.label for r in once if not r.ladder):
            stderr_line(f"Note: amoCRM does not retry {label}: each is sent once.")
    load = repeat > 1
    progress = (
        ProgressBar(len(requests) * repeat, sys.stderr) if load and sys.stderr.isatty() else None
    )
    out_lines = Stdout(flush_each=not load)

    def on_delivery(delivery: Delivery) -> None:
        if as_json:
            out_lines.write(json.dumps(delivery.as_dict(), ensure_ascii=False) + "\n")
        elif not load:
            out_lines.write(delivery_line(delivery))
        if progress is not None:
            progress.advance()

    try:
        summary = run(
            requests,
            repeat=repeat,
            concurrency=concurrency,
            timeout=timeout,
            insecure=insecure,
            on_delivery=on_delivery,
            retries=ladder,
            platform=platform,
            again=None
            if exact
            else _again(
                requests, making, url, extra, made=replay is None and body is None, repeat=repeat
            ),
        )
    finally:
        if progress is not None:
            progress.close()
    out_lines.flush()
    if load or summary.interrupted:
        load_table(summary, sys.stderr)
    _finish(summary, len(requests) * repeat, ladder is not None)


def _finish(summary: Summary, planned: int, retried: bool) -> None:
    """The closing line on stderr and the exit code."""
    if summary.interrupted:
        raise fail(f"interrupted after {summary.sent} of {planned} deliveries", summary.exit_code)
    if retried and summary.recovered:
        stderr_line(
            f"{summary.recovered} of {summary.failed} failed deliveries got through on a retry"
        )
    code = summary.exit_code
    if not code:
        return
    if summary.disabled:
        raise fail("amoCRM would have disabled this hook", code)
    two = sum(n for status, n in summary.statuses.items() if 200 <= status < 300)
    if summary.failed == summary.late:
        raise fail(
            f"{summary.late} of {summary.sent} deliveries took longer than amoCRM waits: "
            f"{summary.first_refused}",
            code,
        )
    if two == summary.sent - sum(summary.failures.values()) and not summary.failures:
        raise fail(
            f"{summary.failed} of {summary.sent} deliveries were not delivered by amoCRM's "
            f"rules: {summary.first_refused}",
            code,
        )
    kinds = sorted(summary.failures.items(), key=lambda kv: kv[0].value)
    counts = ", ".join(f"{n} {failure.value}" for failure, n in kinds)
    reasons = "; ".join(summary.first_failure[failure] for failure, _ in kinds)
    detail = f" ({counts}): {reasons}" if kinds else ""
    raise fail(f"{summary.sent - two} of {summary.sent} deliveries got no 2xx{detail}", code)


# -- send: amoCRM's rules ------------------------------------------------------------


def _retries(choice: str, time_scale: float) -> Retries | None:
    """--retries and --time-scale as a :class:`amodp.sender.Retries`, or None."""
    from ..rules import duration
    from ..sender import Retries

    if choice not in ("none", "amocrm"):
        raise UsageError(f"unknown retries {choice!r}; choose from: none, amocrm", param="retries")
    if not time_scale > 0:
        raise UsageError(f"must be more than 0, got {time_scale:g}", param="time_scale")
    if choice == "none":
        if time_scale != 1:
            raise UsageError("sets the clock of --retries amocrm", param="time_scale")
        return None

    def scaled(seconds: float) -> str:
        if time_scale == 1:
            return duration(seconds)
        return f"{duration(seconds)} ({seconds * time_scale:.3g} s scaled)"

    def on_attempt(delivery: Delivery, delay: float) -> None:
        reason = delivery.verdict.reason if delivery.verdict else delivery.error
        stderr_line(f"{delivery.name}  attempt {delivery.attempt} after {scaled(delay)}: {reason}")

    def on_disabled(tracker: Any) -> None:
        rule = tracker.rule
        what = "disabled this hook"
        if rule.pause_s is not None:
            what = f"paused the retries to this address for {scaled(rule.pause_s)}"
        stderr_line(
            f"amoCRM would have {what}: {tracker.recent_invalid} invalid answers "
            f"within {scaled(rule.window_s)}, more than {rule.limit}, the latest invalid"
        )

    return Retries(time_scale, on_attempt=on_attempt, on_disabled=on_disabled)


def _warn_max_input_vars(requests: list[Request]) -> None:
    """A urlencoded body past PHP's default max_input_vars: a default PHP
    receiver keeps only the first 1000 variables, silently."""
    from ..codec import PHP_MAX_INPUT_VARS

    warned = set()
    for request in requests:
        variables = request.body.count(b"&") + 1 if request.body else 0
        if is_form(request) and variables > PHP_MAX_INPUT_VARS and request.name not in warned:
            warned.add(request.name)
            stderr_line(
                f"Warning: {request.name}: {variables} variables in the body; a PHP receiver "
                f"with the default max_input_vars keeps only the first {PHP_MAX_INPUT_VARS}"
            )


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise UsageError(f"-H wants 'Name: value', got {text!r}")
    return name.strip(), value.strip()


#: how many bodies of each request ``--repeat`` sends: values of their own
#: without generating one per delivery (which would cost a load test its speed)
VARIANTS = 64


def _again(
    requests: list[Request],
    making: Making,
    url: str | None,
    extra: list[tuple[str, str]],
    *,
    made: bool,
    repeat: int,
) -> Any:
    """What ``--repeat`` sends the n-th time a request goes again: a request
    id of its own, and (made ones) values of its own, from a pool of up to
    :data:`VARIANTS` bodies of the same event."""
    from ..replay import fresh

    if repeat == 1:
        return None
    if not made or url is None:
        return lambda request, n: fresh(request)
    import random

    seeds = random.Random(making.seed).sample(range(1 << 30), min(repeat - 1, VARIANTS))
    pool = [
        make_requests(Making(**{**vars(making), "seed": seed}), url, notes=False) for seed in seeds
    ]
    place = {id(r): i for i, r in enumerate(requests)}

    def again(request: Request, n: int) -> Request:
        variant = pool[(n - 1) % len(pool)][place[id(request)]]
        return fresh(variant.with_headers(extra))

    return again


def _bodies(name: str, url: str, extra: list[tuple[str, str]], secret: str | None) -> list[Request]:
    """``--body FILE``: each body FILE holds, as amoCRM sends it: a form's
    data as the webhook that carries it, a callback as that callback
    (signed again with ``secret``)."""
    from ..codec import parse
    from ..inputs import read_sources
    from ..replay import callback_of_source, webhook_of

    label = "stdin" if name == "-" else name
    data = read_input(name)
    requests = []
    try:
        for source in read_sources(data):
            request = callback_of_source(source, data, url, secret)
            if request is None:
                request = webhook_of(parse(source.body).value, url)
            requests.append(request.with_headers(extra))
    except InputError as exc:
        raise InputError(f"{label}: {exc}") from None
    for request in requests:
        if request.kind == "chat" and request.header("x-signature") is None:
            stderr_line(
                f"Note: {label}: {request.name} carries no X-Signature: "
                "--secret (or AMODP_SECRET) signs it"
            )
    return requests


def _replay(path: Path, url: str, extra: list[tuple[str, str]], choose: Any = None) -> list[Any]:
    """The requests of a capture file, to ``url`` or, without it, each to the
    loopback host it was received on."""
    from .. import replay
    from ..records import read_records

    name = str(path)
    label = "stdin" if name == "-" else name
    data = read_input(name)
    try:
        records = read_records(data)
        if choose is not None:
            records = choose(records)
        requests = replay.requests_of(records, url, extra)
    except InputError as exc:
        raise InputError(f"{label}: {exc}") from None
    if not url:
        for base in replay.origins(requests):
            stderr_line(f"No --url: the requests go to {base}, where the records were received")
    return requests
