"""``amodp listen`` and ``amodp demo``: receiving webhooks."""

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import ExitCode, UsageError
from .app import _stderr_line, app, fail, handle_errors
from .options import RedactOption

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
    from .. import listener
    from ..catalog import canonical_entity
    from ..render import show_record, summary_table

    if status < 100 or status > 599:
        raise UsageError("--status must be an HTTP status (100-599)")
    if forward_to is not None:
        from ..sender import check_url

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

    from .. import listener
    from ..generator import generate_all
    from ..render import show_record
    from ..sender import Request, deliver

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
