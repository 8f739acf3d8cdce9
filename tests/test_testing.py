"""amodp.testing.post: one request to a URL (real sockets on 127.0.0.1), a WSGI
app or an ASGI app, and what each saw and answered."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from amodp import generate
from amodp.errors import AmodpError, NetworkError, UsageError
from amodp.testing import post

from .servers import recording_server

HOOK = generate("status", "leads", seed=3)

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


def headers_of(message: Any) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in message}


# -- URLs ---------------------------------------------------------------------------


def test_url_gets_the_exact_body_and_its_own_host() -> None:
    with recording_server(status=202) as server:
        response = post(server.url + "/old?x=1", HOOK.body, HOOK.headers, path="/hook?key=2")
        plain = post(server.url + "/as/is?y=3", HOOK.body, HOOK.headers)
    assert (response.status, response.body, response.text) == (202, b"ok", "ok")
    first, second = server.requests
    assert first.body == HOOK.body
    assert first.path == "/hook?key=2"
    assert second.path == "/as/is?y=3"
    sent = dict(first.headers)
    assert sent["Host"] == server.url.removeprefix("http://")
    assert sent["Content-Length"] == str(len(HOOK.body))
    assert sent["X-Amocrm-Requestid"] == HOOK.request_id
    assert [name for name, _ in first.headers] == [name for name, _ in HOOK.headers]
    assert plain.header("content-length") == "2"


def test_url_headers_are_completed() -> None:
    with recording_server() as server:
        post(server.url, b"a=1", [("Content-Length", "99"), ("Content-Length", "7")])
    [request] = server.requests
    assert request.body == b"a=1"
    assert [(k, v) for k, v in request.headers if k.lower() == "content-length"] == [
        ("Content-Length", "3")
    ]
    assert dict(request.headers)["Host"].startswith("127.0.0.1:")


@pytest.fixture
def gzip_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            packed = gzip.compress(b"accepted")
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(packed)))
            self.end_headers()
            self.wfile.write(packed)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_url_answer_compressed_as_asked_is_shown_plain(gzip_server: str) -> None:
    response = post(gzip_server, HOOK.body, HOOK.headers)
    assert response.text == "accepted"
    assert response.header("Content-Encoding") == "gzip"


def test_url_refused_is_a_network_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(NetworkError, match=f"http://127.0.0.1:{port}/"):
        post(f"http://127.0.0.1:{port}/", HOOK.body, HOOK.headers, timeout=2)


# -- WSGI ---------------------------------------------------------------------------


def test_wsgi_environ_is_what_a_server_builds() -> None:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen.update(environ)
        seen["body"] = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        start_response("201 Created", [("X-Seen", "yes")])
        return [b"created"]

    response = post(app, HOOK.body, HOOK.headers, path="/amo%20crm/h%C3%A9?key=1&b=%20")
    assert (response.status, response.text) == (201, "created")
    assert response.headers == [("X-Seen", "yes")]
    assert seen["body"] == HOOK.body
    assert seen["REQUEST_METHOD"] == "POST"
    assert seen["PATH_INFO"] == "/amo crm/h\u00e9".encode().decode("latin-1")
    assert seen["QUERY_STRING"] == "key=1&b=%20"
    assert seen["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    assert seen["CONTENT_LENGTH"] == str(len(HOOK.body))
    assert seen["HTTP_HOST"] == "localhost:8000"
    assert (seen["SERVER_NAME"], seen["SERVER_PORT"]) == ("localhost", "8000")
    assert seen["HTTP_X_AMOCRM_REQUESTID"] == HOOK.request_id
    assert seen["HTTP_USER_AGENT"] == "amoCRM-Webhooks/3.0"
    assert "HTTP_CONTENT_TYPE" not in seen


def test_wsgi_write_callable_comes_first_and_close_is_called() -> None:
    closed = []

    class Body:
        def __iter__(self) -> Iterator[bytes]:
            yield b"-iterated"

        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Body:
        write = start_response("200 OK", [])
        write(b"written")
        return Body()

    assert post(app, b"", []).body == b"written-iterated"
    assert closed == [True]


def test_wsgi_start_response_may_come_late_and_with_exc_info() -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        start_response("200 OK", [])
        try:
            raise ValueError("boom")
        except ValueError:
            import sys

            start_response("500 Internal Server Error", [("X-Error", "1")], sys.exc_info())
        yield b"sorry"

    response = post(app, b"", [])
    assert (response.status, response.headers, response.body) == (500, [("X-Error", "1")], b"sorry")


def test_wsgi_exceptions_reach_the_caller() -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        raise KeyError("leads")

    with pytest.raises(KeyError, match="leads"):
        post(app, HOOK.body, HOOK.headers)

    def silent(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        return []

    with pytest.raises(AmodpError, match="without calling start_response"):
        post(silent, HOOK.body, HOOK.headers)


def test_wsgi_repeated_headers_are_joined_and_the_port_defaults_to_80() -> None:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen.update(environ)
        start_response("200 OK", [])
        return []

    post(app, b"", [("X-Tag", "a"), ("x-tag", "b"), ("Content-Type", "text/plain")])
    assert seen["HTTP_X_TAG"] == "a,b"
    assert seen["CONTENT_TYPE"] == "text/plain"
    assert (seen["HTTP_HOST"], seen["SERVER_NAME"], seen["SERVER_PORT"]) == (
        "localhost",
        "localhost",
        "80",
    )


def test_wsgi_header_that_is_not_ascii_is_refused() -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("X-Name", "caf\u00e9")])
        return []

    with pytest.raises(UsageError, match="ASCII"):
        post(app, b"", [("X-Name", "caf\u00e9")])
    with pytest.raises(AmodpError, match="not ASCII: X-Name"):
        post(app, b"", [])


def test_wsgi_answer_is_kept_as_the_app_encoded_it() -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Encoding", "gzip")])
        return [b"not gzip"]

    assert post(app, b"", []).body == b"not gzip"


# -- ASGI ---------------------------------------------------------------------------


async def streaming_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the body to the end, answers in two parts, then waits for the
    client to hang up (as Starlette's streaming responses do)."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 202, "headers": [(b"x-n", b"2")]})
    await send({"type": "http.response.body", "body": body[:5], "more_body": True})
    await send({"type": "http.response.body", "body": body[5:]})
    assert (await receive())["type"] == "http.disconnect"


def test_asgi_app_that_streams_and_waits_for_the_disconnect() -> None:
    response = post(streaming_app, HOOK.body, HOOK.headers, timeout=5)
    assert (response.status, response.headers, response.body) == (202, [("x-n", "2")], HOOK.body)


def test_asgi_scope() -> None:
    seen: Scope = {}

    class App:  # an app object, as FastAPI and Starlette make
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            seen.update(scope)
            await streaming_app(scope, receive, send)

    post(App(), HOOK.body, HOOK.headers, path="/amo%20crm/h%C3%A9?key=1")
    assert seen["type"] == "http"
    assert seen["method"] == "POST"
    assert seen["path"] == "/amo crm/h\u00e9"
    assert seen["raw_path"] == b"/amo%20crm/h%C3%A9"
    assert seen["query_string"] == b"key=1"
    assert seen["server"] == ("localhost", 8000)
    assert headers_of(seen["headers"]) == {k.lower(): v for k, v in HOOK.headers}


def test_asgi_scope_without_a_host_header_and_with_a_latin1_header() -> None:
    seen: Scope = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.update(scope)
        await streaming_app(scope, receive, send)

    post(app, b"", [("X-Name", "caf\u00e9")])
    assert seen["server"] == ("localhost", 80)
    assert (b"x-name", "caf\u00e9".encode("latin-1")) in seen["headers"]
    assert (b"host", b"localhost") in seen["headers"]


def test_asgi_app_that_is_not_an_async_def() -> None:
    def app(scope: Scope, receive: Receive, send: Send) -> Any:
        return streaming_app(scope, receive, send)  # a wrapper returning the coroutine

    assert post(app, b"abcdefgh", []).body == b"abcdefgh"


def test_asgi_app_that_never_finishes_its_answer_times_out() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass  # the request body, to its end (it may come in several messages)
        await send({"type": "http.response.start", "status": 200})
        await receive()  # waits for a disconnect before the body: never comes

    with pytest.raises(NetworkError, match="did not finish within 0.2 s"):
        post(app, b"", [], timeout=0.2)


def test_asgi_exceptions_reach_the_caller() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise TimeoutError("the app's own")

    with pytest.raises(TimeoutError, match="the app's own"):
        post(failing, b"", [])

    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()

    with pytest.raises(AmodpError, match="without sending a response"):
        post(silent, b"", [])

    async def unfinished(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200})
        await send({"type": "http.response.body", "body": b"x", "more_body": True})

    with pytest.raises(AmodpError, match="before the end of its response"):
        post(unfinished, b"", [])


def test_asgi_app_posted_from_async_code() -> None:
    async def caller() -> bytes:
        return post(streaming_app, b"from a running loop", []).body

    assert asyncio.run(caller()) == b"from a running loop"
