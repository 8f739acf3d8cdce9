"""The inspector: every webhook in the browser, and the JSON API its page is built on.

``amodp listen --ui`` and ``amodp inspect FILE`` serve it on a loopback port
of its own, beside the receiver or over saved captures. It holds the newest
records in a bounded :class:`Store` (each as the JSON line the listener
already made, and a small summary for the list), and answers::

    GET  /                              the page (amodp/inspector.html)
    GET  /inspector.js, /inspector.css  its script and style, from the same file
    GET  /api/records                   summaries, newest first (?event= ?id= ?status= ?q=
                                        ?before= ?limit=)
    GET  /api/records/{id}              the record, its body decoded as ``amodp decode``
                                        prints it, events, warnings, signature, answer
    GET  /api/stream                    Server-Sent Events: each new summary (Last-Event-ID
                                        or ?after= resumes; the same filters)
    POST /api/records/{id}/replay       {"url": ..., "body": ...}, both optional: the same
                                        bytes, or the body edited, encoded and re-signed
    GET  /api/diff?a=ID&b=ID            the decoded bodies' differences, by path
    GET  /api/records/{id}/export?as=curl|har|record|pytest

Every request needs the token the command printed (:class:`Guard`): in the
query (``?token=``), in the cookie the page's answer sets from it, or in an
``Authorization: Bearer`` or ``X-Amodp-Token`` header; a request from another
origin that could change something is refused. Webhook data reaches the page
as JSON only, and the page sets it as text; its Content-Security-Policy
allows no inline script and nothing from elsewhere.

It is served by uvicorn (as the listener is) from a thread of its own, with
Starlette for routing and streaming. Records arrive from any thread
(:meth:`Store.keep` is the listener's ``show`` callback); the per-request
work is appending the line to the store and, when a page is open, one
wake-up of the streams per turn of the inspector's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import re
import secrets
import signal
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from .codec import load_json, to_json
from .errors import AmodpError, NetworkError
from .inspection import (
    KEEPALIVE,
    LIVE_LIMIT,
    MAX_EDIT,
    STOP_GRACE,
    Filter,
    Store,
    decoded_as_decode,
    detail,
    differences,
    export,
    keep_files,
    load_record,
    records_of_files,
    replay_request,
    signature_of,
    target_of,
)
from .records import (
    record_bytes,
)
from .request import Request

#: summaries one page of ``/api/records`` holds, by default and at most
PAGE, MAX_PAGE = 200, 2000
#: seconds an event stream waits after sending, for more to come; after a
#: gap (more than a page came at once), before it looks again
STREAM_PAUSE, GAP_PAUSE = 0.1, 0.25

__all__ = [
    "LIVE_LIMIT",
    "Inspector",
    "Store",
    "differences",
    "export",
    "keep_files",
    "records_of_files",
    "run",
]

# -- the web app ---------------------------------------------------------------------------


_PAGE_PARTS = re.compile(r"<style>(.*?)</style>|<script>(.*?)</script>", re.S)


@dataclass(frozen=True)
class Page:
    """The page, its script and its style, split from the one file shipped
    in the package: the script is served on its own, so that the
    Content-Security-Policy can refuse every inline script."""

    html: bytes
    script: bytes
    style: bytes

    @classmethod
    def load(cls) -> Page:
        text = files("amodp").joinpath("inspector.html").read_text("utf-8")
        found: dict[str, str] = {}

        def cut(match: re.Match[str]) -> str:
            if match[1] is not None:
                found["style"] = match[1]
                return '<link rel="stylesheet" href="/inspector.css">'
            found["script"] = match[2]
            return '<script src="/inspector.js" defer></script>'

        html = _PAGE_PARTS.sub(cut, text)
        return cls(html.encode(), found["script"].encode(), found["style"].encode())


CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SAFE_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def _json(payload: Any, status: int = 200) -> Response:
    return Response(
        to_json(payload, indent=None), status, SAFE_HEADERS, "application/json; charset=utf-8"
    )


def _error(message: str, status: int) -> Response:
    return _json({"error": message}, status)


def _dumps(value: Any) -> str:
    """A summary as JSON: orjson's speed where it can (an event stream makes
    one per request), the codec's JSON where it cannot (lone surrogates)."""
    import orjson

    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:
        return to_json(value, indent=None)


class Bell:
    """Wakes the event streams from any thread, at most once per turn of the
    inspector's loop."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiting: set[asyncio.Event] = set()
        self.ringing = False

    def __call__(self) -> None:
        if not self.waiting or self.ringing or self.loop is None:
            return
        self.ringing = True
        with contextlib.suppress(RuntimeError):  # the loop closed
            self.loop.call_soon_threadsafe(self._ring)

    def _ring(self) -> None:
        self.ringing = False
        for event in self.waiting:
            event.set()


class Inspector:
    """The inspector's server over a :class:`Store`, on its own port and thread::

        inspector = Inspector(store, port=0)
        inspector.start()      # returns once it serves; inspector.url has the token
        inspector.stop()       # event streams end at once; within STOP_GRACE s

    ``target``: the base URL replays go to by default (``listen --forward-to``,
    ``inspect --url``); ``secret``: what edited requests are signed with
    (never shown or exported).
    """

    def __init__(
        self,
        store: Store,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        target: str | None = None,
        token: str | None = None,
        live: bool = False,
    ) -> None:
        from .listener import bind

        self.store = store
        self.target = target
        self.live = live
        self.token = token or secrets.token_urlsafe(24)
        self.sock = bind(host, port)
        real_host, self.port = self.sock.getsockname()[:2]
        self.host = real_host
        shown = f"[{real_host}]" if ":" in real_host else real_host
        if real_host in ("0.0.0.0", "::"):
            shown = "127.0.0.1"
        self.url = f"http://{shown}:{self.port}/?token={self.token}"
        self.cookie = f"amodp_inspector_{self.port}"
        self.page = Page.load()
        self.bell = Bell()
        store.bell = self.bell
        self.closing: asyncio.Event | None = None
        self.sender: Any = None
        self.server: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ready = threading.Event()
        self.finished = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="amodp-inspector", daemon=True)
        self.app = Guard(self.routes(), self)

    # -- serving

    def start(self, seconds: float = 15) -> None:
        from .listener import start_thread

        start_thread(self, "the inspector", seconds)

    def _run(self) -> None:
        from .listener import run_thread

        run_thread(self)

    async def _serve(self) -> None:
        import uvicorn

        self.loop = asyncio.get_running_loop()
        self.closing = asyncio.Event()
        self.bell.loop = self.loop
        from .listener import uvicorn_config

        config = uvicorn_config(self.app, STOP_GRACE)
        self.server = uvicorn.Server(config)
        watcher = asyncio.create_task(self._say_ready())
        try:
            await self.server.serve(sockets=[self.sock])
        finally:
            watcher.cancel()
            self.bell.loop = None
            if self.sender is not None:
                await self.sender.close()
            self.sock.close()

    async def _say_ready(self) -> None:
        while not self.server.started and not self.server.should_exit:
            await asyncio.sleep(0.01)
        self.ready.set()

    def _begin_stop(self) -> None:
        if self.closing is not None:
            self.closing.set()
        if self.server is not None:
            self.server.should_exit = True

    def stop(self, seconds: float = STOP_GRACE + 1) -> None:
        """End the event streams, stop serving; wait up to ``seconds``."""
        if not self.thread.is_alive():
            if not self.finished.is_set():
                self.sock.close()
            return
        loop = self.loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop just closed
                loop.call_soon_threadsafe(self._begin_stop)
        self.finished.wait(seconds)

    def __enter__(self) -> Inspector:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- routes

    def routes(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", self.page_route),
                Route("/inspector.js", self.script_route),
                Route("/inspector.css", self.style_route),
                Route("/api/records", self.list_route),
                Route("/api/records/{number:int}", self.detail_route),
                Route("/api/records/{number:int}/replay", self.replay_route, methods=["POST"]),
                Route("/api/records/{number:int}/export", self.export_route),
                Route("/api/diff", self.diff_route),
                Route("/api/stream", self.stream_route),
            ]
        )

    async def page_route(self, request: HttpRequest) -> Response:
        response = Response(self.page.html, 200, SAFE_HEADERS, "text/html; charset=utf-8")
        response.set_cookie(self.cookie, self.token, httponly=True, samesite="strict", path="/")
        return response

    async def script_route(self, request: HttpRequest) -> Response:
        return Response(self.page.script, 200, SAFE_HEADERS, "text/javascript; charset=utf-8")

    async def style_route(self, request: HttpRequest) -> Response:
        return Response(self.page.style, 200, SAFE_HEADERS, "text/css; charset=utf-8")

    async def list_route(self, request: HttpRequest) -> Response:
        params = request.query_params
        wanted = Filter.of(params)
        try:
            limit = min(max(int(params.get("limit") or PAGE), 1), MAX_PAGE)
            before = int(params["before"]) if params.get("before") else None
        except ValueError:
            return _error("limit and before are numbers", 400)
        chosen: list[dict[str, Any]] = []
        more = False
        for line, summary in self.store.newest_first(before):
            if wanted and not wanted.matches(line, summary):
                continue
            if len(chosen) == limit:
                more = True
                break
            chosen.append(summary)
        payload = (
            '{"records":['
            + ",".join(_dumps(s) for s in chosen)
            + "],"
            + _dumps(
                {
                    "more": more,
                    "total": len(self.store),
                    "newest": self.store.newest,
                    "limit": self.store.limit,
                    "live": self.live,
                    "target": self.target,
                    "can_resign": self.store.secret is not None,
                }
            )[1:]
        )
        return Response(payload, 200, SAFE_HEADERS, "application/json; charset=utf-8")

    def _entry(self, number: int) -> tuple[bytes, dict[str, Any]] | Response:
        found = self.store.get(number)
        if found is None:
            kept = f"the inspector keeps the newest {self.store.limit}"
            return _error(f"no record {number} ({kept})", 404)
        return found

    async def detail_route(self, request: HttpRequest) -> Response:
        found = self._entry(request.path_params["number"])
        if isinstance(found, Response):
            return found
        line, summary = found
        try:
            return _json(detail(line, summary, self.store, self.target))
        except AmodpError as exc:
            return _error(str(exc), 422)

    async def diff_route(self, request: HttpRequest) -> Response:
        try:
            a, b = int(request.query_params["a"]), int(request.query_params["b"])
        except (KeyError, ValueError):
            return _error("give two records: /api/diff?a=ID&b=ID", 400)
        values = []
        for number in (a, b):
            found = self._entry(number)
            if isinstance(found, Response):
                return found
            try:
                values.append(decoded_as_decode(found[0])[0])
            except AmodpError as exc:
                return _error(f"record {number}: {exc}", 422)
        return _json({"a": a, "b": b, "changes": differences(*values)})

    async def export_route(self, request: HttpRequest) -> Response:
        found = self._entry(request.path_params["number"])
        if isinstance(found, Response):
            return found
        kind = request.query_params.get("as", "")
        url = request.query_params.get("url") or target_of(load_record(found[0]), self.target)
        try:
            text, media, name = export(kind, found[0], request.path_params["number"], url)
        except AmodpError as exc:
            return _error(str(exc), 400)
        headers = dict(SAFE_HEADERS)
        if request.query_params.get("download"):
            headers["content-disposition"] = f'attachment; filename="{name}"'
        return Response(text, 200, headers, f"{media}; charset=utf-8")

    async def replay_route(self, request: HttpRequest) -> Response:
        number = request.path_params["number"]
        found = self._entry(number)
        if isinstance(found, Response):
            return found
        raw = await request.body()
        if len(raw) > MAX_EDIT:
            return _error(f"the request is over {MAX_EDIT} bytes", 413)
        try:
            asked = load_json(raw) if raw.strip() else {}
        except (ValueError, RecursionError):
            return _error('the request is not JSON: send {"url": ..., "body": ...}', 400)
        if not isinstance(asked, dict):
            return _error('send a JSON object: {"url": ..., "body": ...}', 400)
        record = load_record(found[0])
        url = asked.get("url") or target_of(record, self.target)
        if not url or not isinstance(url, str):
            return _error("say where to send it: a URL (or start with --forward-to)", 400)
        try:
            replay = replay_request(record, number, url, asked.get("body"), self.store.secret)
        except AmodpError as exc:
            return _error(str(exc), 400)
        delivery = await self.send(replay.request)
        sent = replay.request.record(status=delivery.status)
        sent["forward"] = {
            "url": delivery.url,
            "status": delivery.status,
            "latency_ms": delivery.latency_ms,
            "error": delivery.error,
        }
        sent["note"] = "; ".join([f"a replay of record {number}", *replay.notes])
        if self.store.secret is not None:
            verdict = signature_of(sent, self.store.secret)
            sent["signature"] = verdict.status
        new = self.store.add(record_bytes(sent), replay_of=number, answered=True)
        return _json(
            {
                "id": new,
                "replay_of": number,
                "url": replay.request.url,
                "edited": asked.get("body") is not None,
                "notes": list(replay.notes),
                "delivery": delivery.as_dict(),
                "verdict": None
                if delivery.verdict is None
                else {"ok": delivery.verdict.ok, "reason": delivery.verdict.reason},
            }
        )

    async def send(self, request: Request) -> Any:
        from .sender import Sender

        if self.sender is None:
            self.sender = Sender(concurrency=10, timeout=10.0)
        return await self.sender.send(request)

    async def stream_route(self, request: HttpRequest) -> Response:
        wanted = Filter.of(request.query_params)
        last = request.headers.get("last-event-id") or request.query_params.get("after") or ""
        try:
            after = int(last) if last else self.store.newest
        except ValueError:
            after = self.store.newest
        headers = dict(SAFE_HEADERS, **{"x-accel-buffering": "no"})
        return StreamingResponse(
            self.events(after, wanted), 200, headers, "text/event-stream; charset=utf-8"
        )

    async def events(self, after: int, wanted: Filter) -> AsyncIterator[str]:
        """The summaries of the records after ``after``, as they come, until
        the inspector stops."""
        assert self.closing is not None
        closing = self.closing
        woken = asyncio.Event()
        self.bell.waiting.add(woken)
        try:
            yield "retry: 1000\n\n"
            while not closing.is_set():
                woken.clear()
                newest = self.store.newest
                if newest > after and newest - after > PAGE:
                    # More than a page at once: the page reads its list again
                    # (one page of it) rather than every summary.
                    yield f"id: {newest}\nevent: gap\ndata: {newest - after}\n\n"
                    after = newest
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(closing.wait(), GAP_PAUSE)
                    continue
                if newest > after:
                    text = ""
                    batch = self.store.since(after)
                    after = newest
                    chosen = [s for line, s in batch if not wanted or wanted.matches(line, s)]
                    text += "".join(
                        f"id: {s['id']}\nevent: record\ndata: {_dumps(s)}\n\n" for s in chosen
                    )
                    if not chosen or chosen[-1]["id"] != after:
                        # the last id goes with the last event, matching or not
                        text += f"id: {after}\nevent: seen\ndata: {after}\n\n"
                    yield text
                    # One batch per STREAM_PAUSE at most: under load the page
                    # gets what came meanwhile at once, whatever the rate.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(closing.wait(), STREAM_PAUSE)
                    continue
                waits = {asyncio.ensure_future(closing.wait()), asyncio.ensure_future(woken.wait())}
                try:
                    done, _ = await asyncio.wait(
                        waits, timeout=KEEPALIVE, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    for task in waits:
                        task.cancel()
                if not done:
                    yield ": keep-alive\n\n"
        finally:
            self.bell.waiting.discard(woken)


class Guard:
    """In front of every route: the token, the Host, and for what changes
    something, the Origin. Anything else is 403 (page and API alike)."""

    def __init__(self, app: Any, inspector: Inspector) -> None:
        self.app = app
        self.inspector = inspector

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        why = self.refusal(scope)
        if why is not None:
            response = _error(why, 403)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: dict[str, Any]) -> str | None:
        """Why the request is refused, or None."""
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if not self.host_allowed(host):
            return f"not served to the host {host!r}: open the inspector's own address"
        token, by_cookie = self.token_of(scope, headers)
        if token is None or not hmac.compare_digest(token, self.inspector.token):
            return "no valid token: open the address amodp printed (…/?token=…)"
        site = headers.get("sec-fetch-site")
        if by_cookie and site not in (None, "same-origin", "none"):
            return "a request from another site"
        if scope["method"] not in ("GET", "HEAD"):
            origin = headers.get("origin")
            if origin is not None and origin != f"http://{host}":
                return f"a request from another origin ({origin})"
            if site is not None and site not in ("same-origin", "none"):
                return "a request from another site"
        return None

    def host_allowed(self, host: str) -> bool:
        from .replay import is_loopback

        name = urlsplit(f"http://{host}").hostname or ""
        try:
            port = urlsplit(f"http://{host}").port
        except ValueError:
            return False
        if port != self.inspector.port:
            return False
        if is_loopback(self.inspector.host):
            return is_loopback(name)
        return True  # bound elsewhere on purpose: the token still guards it

    def token_of(self, scope: dict[str, Any], headers: dict[str, str]) -> tuple[str | None, bool]:
        """The token the request carries, and whether only its cookie carries it."""
        query = scope.get("query_string", b"").decode("latin-1")
        for name, value in parse_qsl(query, keep_blank_values=True):
            if name == "token":
                return value, False
        given = headers.get("x-amodp-token")
        if given:
            return given, False
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip(), False
        cookies = SimpleCookie()
        with contextlib.suppress(Exception):
            cookies.load(headers.get("cookie", ""))
        morsel = cookies.get(self.inspector.cookie)
        return (morsel.value, True) if morsel is not None else (None, False)


# -- running in the foreground ------------------------------------------------------------


def run(inspector: Inspector, on_started: Callable[[], None]) -> None:
    """Serve until SIGINT or SIGTERM, then stop (within :data:`STOP_GRACE` s)."""
    stopped = threading.Event()

    def handle(signum: int, frame: object) -> None:
        stopped.set()

    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, handle) for sig in handled}
    try:
        inspector.start()
        on_started()
        while not stopped.wait(0.2):
            if inspector.finished.is_set():
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        inspector.stop()
    if inspector.error is not None:
        raise NetworkError(f"the inspector stopped: {inspector.error}")
