"""``amodp listen`` and ``amodp demo``: receiving webhooks."""

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import ExitCode, UsageError
from .app import commands, fail, handle_errors, stderr_line
from .options import JsonOption, OpenOption, RedactOption, SecretOption
from .output import stdout_gone

# -- listen ------------------------------------------------------------------------

#: this module's commands (amodp.cli.app.COMMANDS)
app = commands()


@app.command()
@handle_errors
def listen(
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="Port; 0 picks a free one.")] = 8000,
    status: Annotated[int, typer.Option("--status", help="HTTP status to answer.")] = 200,
    delay: Annotated[
        float, typer.Option("--delay", help="Seconds to wait before answering.", min=0)
    ] = 0.0,
    as_json: JsonOption = False,
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
            "--event",
            help="Show only this event (status, leads.status, chat.message...).",
            show_default=False,
        ),
    ] = None,
    entities: Annotated[
        list[str] | None,
        typer.Option(
            "--entity",
            help="Show only this entity (leads, customers, chat...).",
            show_default=False,
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
    secret: SecretOption = None,
    reject_invalid: Annotated[
        bool,
        typer.Option(
            "--reject-invalid", help="Answer 401 to a request whose signature is invalid."
        ),
    ] = False,
    ui: Annotated[
        bool,
        typer.Option("--ui", help="Also serve the inspector: every request live in the browser."),
    ] = False,
    ui_host: Annotated[
        str, typer.Option("--ui-host", help="Address to serve the inspector on.")
    ] = "127.0.0.1",
    ui_port: Annotated[
        int, typer.Option("--ui-port", help="The inspector's port; 0 picks a free one.")
    ] = 0,
    open_browser: OpenOption = False,
) -> None:
    """Receive webhooks on a local port, show each one decoded and keep them all.

    With --secret, each record says whether its signature (Chats API,
    Salesbot token, disable hook) is valid, invalid or absent.

    With --ui, the inspector (amodp inspect) shows each request live on a
    second loopback port, and replays it to --forward-to or any URL.

    Ctrl-C (or SIGTERM) stops accepting, answers and saves what is in flight,
    prints a count per event and status and exits; a second one stops at once.

    Example: amodp listen --port 8000 --save hooks.jsonl
    """
    import signal

    from .. import listener
    from ..render import summary_table
    from ..replay import is_loopback

    listener.check_port(port)
    if status < 100 or status > 599:
        raise UsageError("--status must be an HTTP status (100-599)")
    if as_json + lines + quiet > 1:
        raise UsageError("choose one of --json, --lines and --quiet")
    if forward_to is not None:
        listener.check_forward_url(forward_to)
    if reject_invalid and not secret:
        raise UsageError("--reject-invalid needs --secret (or AMODP_SECRET)")
    if secret == "":
        raise UsageError("the secret is empty")
    if open_browser and not ui:
        raise UsageError("--open needs --ui")
    if not ui and (ui_port or ui_host != "127.0.0.1"):
        raise UsageError("--ui-host and --ui-port need --ui")
    listener.check_port(ui_port)
    options = listener.Options(
        host=host,
        port=port,
        status=status,
        delay=delay,
        max_body=max_body,
        save=save,
        forward_to=forward_to,
        events=frozenset(events or ()),
        entities=frozenset(entities or ()),
        expect=expect,
        timeout=timeout,
        read_timeout=read_timeout,
        redact=redact,
        secret=secret,
        reject_invalid=reject_invalid,
    )
    sock = listener.bind(host, port)
    real_host, real_port = sock.getsockname()[:2]
    shown_host = f"[{real_host}]" if ":" in real_host else real_host
    local = real_host if real_host not in ("0.0.0.0", "::") else "127.0.0.1"
    local = f"[{local}]" if ":" in local else local
    mode = "json" if as_json else "lines" if lines else "quiet" if quiet else "pretty"
    display = _Display(mode)
    show = display.show
    shown_ui = None
    if ui:
        from ..inspector import Inspector, Store

        store = Store(secret=secret)
        shown_ui = Inspector(store, host=ui_host, port=ui_port, target=forward_to, live=True)
        show = _both(display.show, store.keep)

    def save_failed(error: OSError) -> None:
        stderr_line(
            f"Error: cannot save to {save}: {error.strerror or error}; "
            "requests that cannot be saved are answered 503"
        )
        sys.stderr.flush()

    def started() -> None:
        stderr_line(f"Listening on http://{shown_host}:{real_port}")
        if not is_loopback(real_host):
            stderr_line(
                f"Warning: {real_host} is not a loopback address: other machines can send "
                "here, and captures hold customers' personal data"
            )
        if save is not None:
            stderr_line(f"Saving every request to {save}")
        if forward_to is not None:
            stderr_line(f"Forwarding to {forward_to}")
        if secret is not None:
            rejecting = ": invalid ones are answered 401" if reject_invalid else ""
            stderr_line(f"Checking signatures with the secret given{rejecting}")
        stderr_line(f"Try: amodp send status --lead --url http://{local}:{real_port}/")
        if shown_ui is not None:
            if not is_loopback(shown_ui.host):
                stderr_line(
                    f"Warning: the inspector is on {shown_ui.host}, not a loopback address: "
                    "other machines can reach it (with its token)"
                )
            stderr_line(f"Inspector: {shown_ui.url}")
        sys.stderr.flush()
        if open_browser and shown_ui is not None:
            import webbrowser

            webbrowser.open(shown_ui.url)

    stopped = {"by_signal": False}

    def stopping(signum: int, in_flight: int) -> None:
        stopped["by_signal"] = True
        if signum == signal.SIGINT and sys.stderr.isatty():
            stderr_line("")  # after the terminal's ^C
        if in_flight:
            s = "s" if in_flight != 1 else ""
            stderr_line(
                f"Stopping: waiting for {in_flight} request{s} in flight (Ctrl-C again to stop now)"
            )
        sys.stderr.flush()

    def drifted(line: str) -> None:
        stderr_line(f"Drift: {line}")

    app_ = listener.Listener(options, show, on_save_error=save_failed, on_drift=drifted)
    if shown_ui is not None:
        shown_ui.start()
    try:
        code = listener.run(app_, sock, on_started=started, on_stopping=stopping)
    finally:
        if shown_ui is not None:
            shown_ui.stop()
    stats = app_.stats
    rows = [
        [name, str(code_), str(count)] for (name, code_), count in sorted(stats.by_event.items())
    ]
    noun = "request" if stats.total == 1 else "requests"
    summary_table(rows, sys.stderr, title=f"{stats.total} {noun} received")
    if stats.unsaved:
        stderr_line(f"{stats.unsaved} not saved: answered 503")
    if stats.drifted:
        _ask_for_drift(stats.drifted, save)
    if code != 0:
        got = f"expected {expect} matching webhook(s), got {stats.matched}"
        if stopped["by_signal"] or timeout is None:
            raise fail(f"{got} before the listener was stopped", ExitCode.FAILED)
        raise fail(f"{got} within {timeout:g} s", ExitCode.FAILED)


def _ask_for_drift(drifted: int, save: Path | None) -> None:
    """The end summary's line on requests that drifted from the catalog."""
    noun = "request" if drifted == 1 else "requests"
    how = (
        f"amodp decode --redact {save}" if save else "--save FILE, then amodp decode --redact FILE"
    )
    stderr_line(
        f"{drifted} {noun} drifted from the catalog's shapes: please share a redacted "
        f"capture ({how}) so that the catalog can follow amoCRM"
    )


def _both(first: Any, then: Any) -> Any:
    """A ``show`` callback that calls ``first``, then ``then``."""

    def show(record: dict[str, Any], line: bytes, wanted: bool) -> None:
        first(record, line, wanted)
        then(record, line, wanted)

    return show


class _Display:
    """What ``listen`` and ``demo`` show on stdout per request: the record
    readably ("pretty"), one line ("lines"), its JSON line ("json") or nothing
    ("quiet"). When the reader leaves (``| head -3``), nothing more is shown;
    the listener goes on answering and saving."""

    def __init__(self, mode: str) -> None:
        from ..render import show_line, show_record

        self.mode = mode
        self.gone = False
        #: JSON lines shown in this turn of the event loop, written together
        #: at its end (one write, whether stdout is buffered or not)
        self.lines: list[bytes] = []
        self.readable = show_line if mode == "lines" else show_record

    def show(self, record: dict[str, Any], line: bytes, wanted: bool) -> None:
        if self.mode == "quiet" or not wanted or self.gone:
            return
        if self.mode == "json":
            if not self.lines:
                import asyncio  # here: `amodp decode` starts without it

                asyncio.get_running_loop().call_soon(self.write_lines)
            self.lines.append(line)
            return
        try:
            self.readable(record, sys.stdout)
        except BrokenPipeError:
            self.reader_left()

    def write_lines(self) -> None:
        data, self.lines = b"".join(self.lines), []
        if self.gone:
            return
        out = sys.stdout.buffer
        try:
            view = memoryview(data)
            while view:  # unbuffered (PYTHONUNBUFFERED), a write may take only part
                view = view[out.write(view) or 0 :]
            out.flush()
        except BrokenPipeError:
            self.reader_left()

    def reader_left(self) -> None:
        self.gone = True
        stdout_gone()


# -- demo --------------------------------------------------------------------------


@app.command()
@handle_errors
def demo(
    seed: Annotated[
        int | None, typer.Option("--seed", help="Same seed, same webhooks.", show_default=False)
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Start a listener, send it every digital-pipeline webhook, check each arrived intact.

    Example: amodp demo
    """
    import asyncio

    from .. import listener
    from ..generator import generate_all
    from ..sender import deliver

    received: list[dict[str, Any]] = []  # what arrived, whatever could be shown
    display = _Display("json" if as_json else "pretty")

    def keep(record: dict[str, Any], line: bytes, wanted: bool) -> None:
        received.append(record)
        display.show(record, line, wanted)

    options = listener.Options(host="127.0.0.1", port=0)
    with listener.Background(options, keep) as running:
        stderr_line(f"Listening on {running.url}")
        hooks = generate_all(seed=seed, url=running.url + "/amo/webhook")
        outcome = asyncio.run(deliver(hooks, timeout=10))
    by_id: dict[str, dict[str, Any]] = {}
    for record in received:
        for name, value in record["headers"]:
            if name.lower() == "x-amocrm-requestid":
                by_id[value] = record
    broken = []
    for hook in hooks:
        got = by_id.get(hook.request_id)
        if got is None:
            broken.append(f"{hook.name}: never arrived")
        elif got.get("decoded") != json.loads(json.dumps(hook.json)):
            broken.append(f"{hook.name}: arrived changed")
    if outcome.exit_code or broken:
        raise fail(
            "; ".join(broken) or f"{outcome.sent - outcome.ok} deliveries failed",
            ExitCode.FAILED,
        )
    stderr_line(f"All {len(hooks)} digital-pipeline webhooks arrived intact.")
