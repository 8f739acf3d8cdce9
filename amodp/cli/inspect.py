"""``amodp inspect``: saved captures in the browser."""

import sys
from typing import Annotated, Any

import typer

from .app import commands, handle_errors, open_input, stderr_line
from .options import OpenOption, SecretOption, UrlOption

#: this module's commands (amodp.cli.app.COMMANDS)
app = commands()


@app.command()
@handle_errors
def inspect(
    files: Annotated[
        list[str] | None,
        typer.Argument(
            help="Capture files (listen --save), or anything decode reads; '-' reads stdin.",
            show_default=False,
        ),
    ] = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to serve the inspector on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="Port; 0 picks a free one.")] = 0,
    url: UrlOption = None,
    secret: SecretOption = None,
    open_browser: OpenOption = False,
) -> None:
    """Open saved webhooks in the browser: list, filter, decode, compare, replay, export.

    Reads what decode reads: the capture records of listen --save, a raw
    body, an HTTP request, a curl command... Nothing is received; replays go
    to --url (joined with each record's path) or to a URL typed in the page.
    With --secret, signatures are checked and edited requests signed again.
    Ctrl-C stops it.

    Example: amodp inspect hooks.jsonl --url http://127.0.0.1:5000 --open
    """
    from .. import inspector
    from ..errors import UsageError
    from ..listener import check_port
    from ..sender import check_url

    check_port(port)
    if url is not None:
        check_url(url)
    if secret == "":
        raise UsageError("the secret is empty")
    names = files or ["-"]
    if names == ["-"] and sys.stdin.isatty():
        raise UsageError(
            "give a capture file (amodp listen --save FILE writes one), or pipe one in with -"
        )
    store = inspector.Store(secret=secret)
    try:
        inspector.keep_files(store, ((n, open_input(n)) for n in names))
        shown = inspector.Inspector(store, host=host, port=port, target=url)
        inspector.run(shown, lambda: _started(shown, names, open_browser))
    finally:
        store.close()


def _started(shown: Any, names: list[str], open_browser: bool) -> None:
    """What ``inspect`` says once it serves."""
    from ..replay import is_loopback

    count = len(shown.store)
    noun = "request" if count == 1 else "requests"
    stderr_line(f"{count} {noun} from {', '.join(names)}; Ctrl-C stops")
    if not is_loopback(shown.host):
        stderr_line(
            f"Warning: {shown.host} is not a loopback address: other machines can reach "
            "the inspector (with its token), and captures hold customers' personal data"
        )
    stderr_line(f"Inspector: {shown.url}")
    sys.stderr.flush()
    if open_browser:
        import webbrowser

        webbrowser.open(shown.url)
