"""Deliver one request to a URL, a WSGI app or an ASGI app, and return the answer:
the helper behind the pytest plugin's ``amodp_webhook(...).post(...)``.

A URL gets the exact body and headers over a real socket (``Host`` and
``Content-Length`` follow the URL and the body). An app is called in-process
with the environ or scope a server would build from the same request, and its
whole answer is collected. As in a test client, an exception raised by the
app reaches the caller; an app that breaks its protocol (no response, a
response left unfinished) is an :class:`~amodp.errors.AmodpError`. ASGI
lifespan events are not sent: start what the app needs at startup yourself.

An app is called through httpx's ``WSGITransport`` and ``ASGITransport``
(httpx is imported only then), each wrapped in a small layer for what they
leave out of PEP 3333 and the ASGI spec. Header values to and from a WSGI
app are ASCII only, as that transport reads and writes them. A URL is sent
through :class:`amodp.sender.Sender`, the one network transport.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote_to_bytes, urlsplit

from .errors import AmodpError, NetworkError, UsageError
from .records import header

if TYPE_CHECKING:
    import httpx

    from .outcome import Delivery

__all__ = ["Response", "post"]

Headers = Sequence[tuple[str, str]]

#: what a path keeps as is when it is percent-encoded for the request line
_PATH_SAFE = "/%:@!$&'()*+,;=~"


@dataclass
class Response:
    """What the receiver answered."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        """The first header of that name (any case), or None."""
        return header(self.headers, name)


def post(
    target: str | Callable[..., Any],
    body: bytes,
    headers: Headers,
    *,
    path: str | None = None,
    method: str = "POST",
    timeout: float = 10.0,
) -> Response:
    """Send to a URL over a real socket, or call a WSGI or ASGI app in-process.

    ``path`` (with an optional ``?query``) is the request target of an app,
    ``/`` by default; for a URL it replaces the URL's own path and query.
    ``timeout`` bounds the answer of a URL or an ASGI app.
    """
    if isinstance(target, str):
        return _post_url(target, body, headers, path, method, timeout)
    if not callable(target):
        raise UsageError(f"post() takes a URL, a WSGI app or an ASGI app, not {target!r}")
    headers = _with_header(headers, "Content-Length", str(len(body)))
    if header(headers, "host") is None:
        headers = [("Host", "localhost"), *headers]
    request = _request(body, headers, path or "/", method)
    if _is_asgi(target):
        return _post_asgi(target, request, timeout)
    return _post_wsgi(target, request)


def _with_header(headers: Headers, name: str, value: str) -> list[tuple[str, str]]:
    """``headers`` with the header ``name`` set to ``value``: once, in its first place."""
    out: list[tuple[str, str]] = []
    placed = False
    for key, old in headers:
        if key.lower() != name.lower():
            out.append((key, old))
        elif not placed:
            out.append((key, value))
            placed = True
    if not placed:
        out.append((name, value))
    return out


def _split_path(path: str) -> tuple[str, str]:
    """The percent-encoded route and the query of ``/route?query``."""
    route, _, query = path.partition("?")
    if not route.startswith("/"):
        route = "/" + route
    return quote(route, safe=_PATH_SAFE), query


def _host_port(host: str) -> tuple[str, int]:
    """The server name and port a ``Host`` header names (80 when it names none)."""
    try:
        parts = urlsplit("//" + host)
        return parts.hostname or "localhost", parts.port or 80
    except ValueError:
        return host, 80


def _post_url(
    url: str, body: bytes, headers: Headers, path: str | None, method: str, timeout: float
) -> Response:
    """Over a real socket, through amodp's one network sender."""
    from .request import Request
    from .sender import Sender, check_url, complete

    check_url(url)
    if path is not None:
        route, query = _split_path(path)
        parts = urlsplit(url)
        url = parts._replace(path=route, query=query, fragment="").geturl()
    request = Request(None, None, method, url, body, "", None, tuple(headers))

    async def send() -> Delivery:
        # amoCRM asks for gzip: the answer's body is shown as the receiver meant it.
        async with Sender(timeout=timeout) as sender:
            return await sender.send(request, whole=True)

    delivery = complete(send())
    if delivery.failure is not None:
        raise NetworkError(f"{url}: {delivery.message}")
    assert delivery.status is not None and delivery.content is not None
    return Response(delivery.status, list(delivery.headers), delivery.content)


def _is_asgi(app: Callable[..., Any]) -> bool:
    """An ``async`` callable, or one that takes (scope, receive, send)."""
    # An app object (FastAPI, Starlette, Quart) is async through its class's __call__.
    if inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(type(app).__call__):
        return True
    try:
        parameters = inspect.signature(app).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [p for p in parameters if p.kind in positional and p.default is p.empty]
    return len(required) == 3


def _request(body: bytes, headers: Headers, path: str, method: str) -> httpx.Request:
    """The request as httpx hands it to an app: its URL names the server that the
    ``Host`` header names, which is where the environ and the scope take it from."""
    import httpx

    route, query = _split_path(path)
    host = header(headers, "host") or "localhost"
    name, port = _host_port(host)
    try:
        url = httpx.URL(f"{route}?{query}" if query else route, scheme="http", host=name, port=port)
    except httpx.InvalidURL:
        raise UsageError(f"not a host and port to call an app at: Host: {host}") from None
    raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    return httpx.Request(method, url, headers=raw_headers, content=body)


def _answer(response: httpx.Response, body: bytes) -> Response:
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
    return Response(response.status_code, headers, body)


def _post_wsgi(app: Callable[..., Any], request: httpx.Request) -> Response:
    import httpx

    for name, value in request.headers.raw:
        if not (name + value).isascii():  # httpx.WSGITransport reads them as ASCII
            header = f"{name.decode('latin-1')}: {value.decode('latin-1')}"
            raise UsageError(f"a WSGI app is sent ASCII headers only, not {header!r}")
    fixes = _cgi_repeated(request.headers.raw)
    fixes["PATH_INFO"] = unquote_to_bytes(request.url.raw_path.partition(b"?")[0]).decode("latin-1")
    # raise_app_exceptions=False: a start_response() with exc_info answers with
    # its own status, as PEP 3333 has it, instead of raising.
    transport = httpx.WSGITransport(_pep3333(app, fixes), raise_app_exceptions=False)
    with httpx.Client(transport=transport) as client:
        response = client.send(request, stream=True)
        # raw: the app's bytes as it sent them, even under a Content-Encoding
        return _answer(response, b"".join(response.iter_raw()))


def _cgi_repeated(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The environ entries of the headers sent more than once, joined with commas
    as servers do (PEP 3333 via CGI); httpx keeps only the last."""
    values: dict[str, list[str]] = {}
    for name, value in headers:
        key = name.decode().upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        values.setdefault(key, []).append(value.decode())
    return {key: ",".join(v) for key, v in values.items() if len(v) > 1}


def _pep3333(app: Callable[..., Any], fixes: dict[str, str]) -> Callable[..., list[bytes]]:
    """WSGI middleware for what httpx.WSGITransport leaves out of PEP 3333.

    It sets the environ entries in ``fixes`` (``PATH_INFO`` as the latin-1 reading
    of the percent-decoded bytes, not httpx's UTF-8 one), keeps what the app passes
    to ``write()`` (httpx drops it) ahead of what it returns, and makes a broken
    protocol an :class:`AmodpError`. It reads the whole answer before passing it
    on, so the headers count as sent once some body has been produced.
    """

    def fixed(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        environ.update(fixes)
        chunks: list[bytes] = []
        started = False

        def write(data: bytes) -> None:
            if not started:
                raise AmodpError("the WSGI app wrote its body before calling start_response()")
            chunks.append(bytes(data))

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal started
            if exc_info is not None:
                if any(chunks):  # the headers are out: too late to change them
                    raise exc_info[1].with_traceback(exc_info[2])
            elif started:
                raise AmodpError("the WSGI app called start_response() twice")
            for name, value in headers:
                if not (name + value).isascii():  # httpx.WSGITransport sends them as ASCII
                    raise AmodpError(f"the WSGI app answered a header that is not ASCII: {name}")
            start_response(status, headers, exc_info)
            started = True
            return write

        result = app(environ, start)
        try:
            for data in result:
                if data:
                    write(data)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not started:
            raise AmodpError("the WSGI app returned without calling start_response()")
        return [b"".join(chunks)]

    return fixed


def _asgi_checked(app: Callable[..., Any], server: tuple[str, int]) -> Callable[..., Any]:
    """ASGI middleware that checks the app's messages before httpx.ASGITransport
    gets them, so that a broken protocol is an :class:`AmodpError`, and that sets
    ``scope["server"]`` with its port (httpx leaves None for port 80)."""

    async def checked(scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = finished = False

        async def checked_send(message: dict[str, Any]) -> None:
            nonlocal started, finished
            kind = message["type"]
            if kind == "http.response.start":
                if started:
                    raise AmodpError("the ASGI app sent http.response.start twice")
                started = True
            elif kind == "http.response.body":
                if not started:
                    raise AmodpError("the ASGI app sent its body before http.response.start")
                if finished:
                    raise AmodpError("the ASGI app sent more body after the end of its response")
                finished = not message.get("more_body", False)
            await send(message)

        await app({**scope, "server": server}, receive, checked_send)
        if not started:
            raise AmodpError("the ASGI app returned without sending a response")
        if not finished:
            raise AmodpError("the ASGI app returned before the end of its response body")

    return checked


def _post_asgi(app: Callable[..., Any], request: httpx.Request, timeout: float) -> Response:
    import httpx

    server = (request.url.host, request.url.port or 80)
    transport = httpx.ASGITransport(_asgi_checked(app, server))

    async def call() -> Response:
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline, httpx.AsyncClient(transport=transport) as client:
                response = await client.send(request, stream=True)
                body = b"".join([part async for part in response.aiter_raw()])
        except TimeoutError:
            if not deadline.expired():
                raise  # the app's own
            raise NetworkError(f"the ASGI app did not finish within {timeout:g} s") from None
        return _answer(response, body)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(call())
    # Called from async code (an async test): the app gets a loop of its own.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="amodp-asgi") as pool:
        return pool.submit(asyncio.run, call()).result()
