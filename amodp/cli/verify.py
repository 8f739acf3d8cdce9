"""``amodp verify``: check the signature a captured callback carries."""

import json
import sys
from typing import Annotated, Any

import typer

from ..errors import ExitCode, InputError, UsageError
from .app import commands, handle_errors, read_input, stderr_line
from .options import (
    ClientUuidOption,
    IndexOption,
    JsonOption,
    NowOption,
    RequestIdOption,
    SecretOption,
    record_choice,
)

#: this module's commands (amodp.cli.app.COMMANDS)
app = commands()


@app.command()
@handle_errors
def verify(
    files: Annotated[
        list[str] | None,
        typer.Argument(help="Files to read; '-' or nothing reads stdin.", show_default=False),
    ] = None,
    secret: SecretOption = None,
    client_uuid: ClientUuidOption = None,
    now: NowOption = None,
    leeway: Annotated[
        int, typer.Option("--leeway", help="Seconds of clock skew a token's times may have.", min=0)
    ] = 0,
    as_json: JsonOption = False,
    index: IndexOption = None,
    request_id: RequestIdOption = None,
) -> None:
    """Check the signature of callbacks: exit 0 if valid, 1 if not, 2 if there is none.

    Reads what decode reads: capture records of 'amodp listen --save', a raw
    HTTP request, a curl command (what 'amodp generate --format http|curl'
    prints), or a bare JSON body (a Salesbot token carries its own
    signature). Finds the scheme: X-Signature (Chats API, HMAC-SHA1 of the
    body), the Salesbot token (JWT HS512), the disable hook's signature
    parameter (HMAC-SHA256). One line per request on stderr saying why;
    --json: one object per request on stdout.

    Example: amodp verify hooks.jsonl   (the secret in AMODP_SECRET)
    """
    from ..signing import verify as check

    if secret is None:
        raise UsageError("give the secret with --secret or in AMODP_SECRET", param="secret")
    if secret == "":
        raise UsageError("the secret is empty (is AMODP_SECRET set to nothing?)", param="secret")
    choose = record_choice(index, None, request_id)
    names = files or ["-"]
    found: list[str] = []
    for name in names:
        label = "stdin" if name == "-" else name
        requests = _requests(read_input(name), label, choose)
        for where, request in requests:
            verdict = check(request, secret, client_uuid=client_uuid, now=now, leeway=leeway)
            event = _event_of(request) or verdict.scheme or "request"
            found.append(verdict.status)
            if len(requests) == 1:
                where = ""
            if len(names) > 1:
                where = f"{label} ({where})" if where else label
            _report(where, event, verdict, as_json)
    if "invalid" in found:
        raise typer.Exit(ExitCode.FAILED)
    if "absent" in found:
        raise typer.Exit(ExitCode.USAGE)


def _requests(data: bytes, label: str, choose: Any) -> list[tuple[str, Any]]:
    """(where, request) for each request in the input."""
    from ..inputs import NotTextError, detect, read_sources
    from ..request import Request

    chunks = _http_file(data)
    if len(chunks) > 1:
        return [
            (f"request {i}", request)
            for i, (_, chunk) in enumerate(chunks, 1)
            for _, request in _requests(chunk, label, choose)
        ]
    try:
        form = detect(data)
        if form in ("json", "body"):
            if choose is not None:
                raise InputError("it is not a capture file, so there are no records to choose from")
            return [(label, _bare(data, form))]
        sources = read_sources(data, form, choose)
    except NotTextError as exc:
        raise InputError(f"{label} {exc}") from None
    except InputError as exc:
        raise InputError(f"{label}: {exc}") from None
    requests = []
    for source in sources:
        method = source.method or "POST"
        # A GET's data is its query; the reader put it in the body too.
        body = b"" if method in ("GET", "HEAD") else source.body
        request = Request.received(method, source.headers, source.query, body, source.path or "/")
        requests.append((source.label, request))
    return requests


def _http_file(data: bytes) -> list[tuple[str, bytes]]:
    """The requests of an ``.http`` file (``### name`` before each, as
    ``generate --all --format http`` and ``send --dry-run`` print them)."""
    import re

    parts = re.split(rb"^### ?(.*)\r?\n", data.lstrip(), flags=re.M)
    if len(parts) < 3 or parts[0].strip():
        return [("", data)]
    return [
        (parts[i].decode("utf-8", "replace").strip(), parts[i + 1]) for i in range(1, len(parts), 2)
    ]


def _bare(data: bytes, form: str) -> Any:
    """A body without its request: a JSON body is POSTed, a query string is a GET's."""
    from ..request import Request

    text = data.strip()
    if form == "body" and not text.startswith(b"{"):
        return Request.received("GET", query=text.decode("utf-8", "replace").lstrip("?"))
    return Request.received("POST", body=text)


def _event_of(request: Any) -> str | None:
    """``chat.message``: the callback the request's body or query is."""
    from ..records import callback_of

    found = callback_of(request.body, request.query, request.method)
    if found is not None:
        return found.name
    # A webhook amoCRM does not sign: say which.
    from ..catalog import detect
    from ..codec import parse

    form = request.body or request.query.encode()
    names = [d.name for d in detect(parse(form).value)] if form else []
    return ", ".join(names) or None


def _report(where: str, event: str, verdict: Any, as_json: bool) -> None:
    """``chat.message: valid (X-Signature, HMAC-SHA1)`` on stderr (after
    ``where: `` when there are several); the reason when it is not valid."""
    if as_json:
        line = {"input": where or None, "event": event, **verdict.as_dict()}
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    how = f" ({verdict.where}, {verdict.algorithm})" if verdict.where else ""
    text = f"{event}: {verdict.status}{how}"
    if not verdict.ok:
        text += f": {verdict.reason}"
    if verdict.status == "absent" and event.startswith("chat."):
        text += "; a bare body has no headers: give the whole request (http, curl or a capture)"
    stderr_line(f"{where}: {text}" if where else text)
