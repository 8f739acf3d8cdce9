"""Deliver one request to a URL, a WSGI app or an ASGI app, and return the answer:
the helper behind the pytest plugin's ``amodp_webhook(...).post(...)``.

A URL gets the exact body and headers over a real socket (``Host`` and
``Content-Length`` follow the URL and the body). An app is called in-process
with the environ or scope a server would build from the same request, and its
whole answer is collected. As in a test client, an exception raised by the
app reaches the caller; an app that breaks its protocol (no response, a
response left unfinished) is an :class:`~amodp.errors.AmodpError`. ASGI
lifespan events are not sent: start what the app needs at startup yourself.

Standard library only.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, unquote_to_bytes, urlsplit

from .errors import AmodpError, NetworkError, UsageError

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
        return _header(self.headers, name)


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
    route, query = _split_path(path or "/")
    headers = _with_header(headers, "Content-Length", str(len(body)))
    if _header(headers, "host") is None:
        headers = [("Host", "localhost"), *headers]
    if _is_asgi(target):
        return _post_asgi(target, body, headers, route, query, method, timeout)
    return _post_wsgi(target, body, headers, route, query, method)


def _header(headers: Headers, name: str) -> str | None:
    name = name.lower()
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


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
    import http.client

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"not an http(s) URL: {url!r}")
    if path is not None:
        route, query = _split_path(path)
    else:
        route, query = parts.path or "/", parts.query
    target = f"{route}?{query}" if query else route
    headers = _with_header(headers, "Host", parts.netloc.rpartition("@")[2])
    headers = _with_header(headers, "Content-Length", str(len(body)))
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        answer = Response(response.status, response.getheaders(), response.read())
    except OSError as exc:
        raise NetworkError(f"{url}: {exc.strerror or exc}") from None
    except http.client.HTTPException as exc:
        raise NetworkError(f"{url}: {type(exc).__name__}: {exc}") from None
    finally:
        connection.close()
    # amoCRM asks for gzip: show what the receiver said, not its compressed bytes.
    if (answer.header("content-encoding") or "").lower() in ("gzip", "x-gzip"):
        import gzip

        try:
            answer.body = gzip.decompress(answer.body)
        except (OSError, EOFError):
            pass  # kept as sent: the receiver's mistake is for the test to see
    return answer


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


def _post_wsgi(
    app: Callable[..., Any], body: bytes, headers: Headers, route: str, query: str, method: str
) -> Response:
    server_name, server_port = _host_port(_header(headers, "host") or "localhost")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(route).decode("latin-1"),
        "QUERY_STRING": query,
        "REQUEST_URI": f"{route}?{query}" if query else route,
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        # Repeated headers are joined, as servers do (PEP 3333 via CGI).
        environ[key] = f"{environ[key]},{value}" if key in environ else value

    status: list[int] = []
    response_headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []

    def write(data: bytes) -> None:
        if not status:
            raise AmodpError("the WSGI app wrote its body before calling start_response()")
        chunks.append(bytes(data))

    def start_response(
        line: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None:
            if any(chunks):  # the headers are out: too late to change them (PEP 3333)
                raise exc_info[1].with_traceback(exc_info[2])
        elif status:
            raise AmodpError("the WSGI app called start_response() twice")
        status[:] = [int(line.split(" ", 1)[0])]
        response_headers[:] = headers
        return write

    result = app(environ, start_response)
    try:
        for data in result:
            if data:
                write(data)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if not status:
        raise AmodpError("the WSGI app returned without calling start_response()")
    return Response(status[0], list(response_headers), b"".join(chunks))


def _post_asgi(
    app: Callable[..., Any],
    body: bytes,
    headers: Headers,
    route: str,
    query: str,
    method: str,
    timeout: float,
) -> Response:
    server_name, server_port = _host_port(_header(headers, "host") or "localhost")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(route),
        "raw_path": route.encode("ascii"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        "client": ("127.0.0.1", 50000),
        "server": (server_name, server_port),
        "state": {},
    }

    async def call() -> Response:
        response = Response(0)
        chunks: list[bytes] = []
        request_sent = False
        finished = asyncio.Event()  # the last body message was sent

        async def receive() -> dict[str, Any]:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            # Like a client that hangs up once answered: an app that listens
            # for the disconnect (streaming responses do) hears it then.
            await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                if response.status:
                    raise AmodpError("the ASGI app sent http.response.start twice")
                response.status = int(message["status"])
                response.headers = [
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message.get("headers", [])
                ]
            elif kind == "http.response.body":
                if not response.status:
                    raise AmodpError("the ASGI app sent its body before http.response.start")
                if finished.is_set():
                    raise AmodpError("the ASGI app sent more body after the end of its response")
                chunks.append(bytes(message.get("body", b"")))
                if not message.get("more_body", False):
                    finished.set()

        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                await app(scope, receive, send)
        except TimeoutError:
            if not deadline.expired():
                raise  # the app's own
            raise NetworkError(f"the ASGI app did not finish within {timeout:g} s") from None
        if not response.status:
            raise AmodpError("the ASGI app returned without sending a response")
        if not finished.is_set():
            raise AmodpError("the ASGI app returned before the end of its response body")
        response.body = b"".join(chunks)
        return response

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(call())
    # Called from async code (an async test): the app gets a loop of its own.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="amodp-asgi") as pool:
        return pool.submit(asyncio.run, call()).result()
