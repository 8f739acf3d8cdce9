"""``amodp listen``: a throwaway webhook receiver that keeps every request.

An ASGI app served by uvicorn (httptools and uvloop when they are
installed). Each request is read (bounded in size and time), turned into a
capture record (:mod:`amodp.records`), appended to the save file and flushed
*before* the answer goes out, then shown. Nothing is kept in memory but
counters, so a long run costs no more than a short one.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import ipaddress
import os
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import NetworkError, UsageError
from .records import build_record, now_iso, record_bytes

__all__ = ["Listener", "Options", "bind", "serve"]

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "host",
    "content-length",
}


@dataclass
class Options:
    host: str = "127.0.0.1"
    port: int = 8000
    status: int = 200
    delay: float = 0.0
    max_body: int = 1 << 20
    save: Path | None = None
    forward_to: str | None = None
    events: frozenset[str] = frozenset()  # "status" or "leads.status"
    entities: frozenset[str] = frozenset()
    expect: int | None = None
    timeout: float | None = None
    #: a request not all in (headers and body) this long after the listener
    #: began waiting for it is dropped (408 once its headers are in)
    read_timeout: float = 10.0
    forward_timeout: float = 10.0
    #: personal data replaced by placeholders in what is shown and saved
    redact: bool = False


@dataclass
class Stats:
    """What the final summary table shows."""

    by_event: Counter[tuple[str, int]] = field(default_factory=Counter)
    total: int = 0
    matched: int = 0


def matches(record: dict[str, Any], options: Options) -> bool:
    """Whether a record passes the ``--event``/``--entity`` filters."""
    if not options.events and not options.entities:
        return True
    for found in record.get("events", []):
        name = f"{found['entity']}.{found['event']}"
        if options.entities and found["entity"] not in options.entities:
            continue
        if options.events and not ({found["event"], name} & options.events):
            continue
        return True
    return False


class Listener:
    """The ASGI app. ``show`` is called with each record after it is answered;
    its ``_line`` holds the record's JSON line (bytes) as saved (a key with
    ``_`` is not part of the record).
    ``flush``, when given, is called after ``show`` has written: once per
    turn of the event loop when served by :func:`serve`, so that ``show``
    need not flush its stream itself for every request."""

    def __init__(
        self,
        options: Options,
        show: Callable[[dict[str, Any], bool], None],
        flush: Callable[[], None] | None = None,
    ) -> None:
        self.options = options
        self.show = show
        self.stats = Stats()
        self.fd: int | None = None
        self.client: Any = None
        self.matched = asyncio.Event()
        self._reading: dict[Any, float] = {}  # task reading a body -> its deadline
        self._expired: set[Any] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self.redactor: Any = None
        if options.redact:
            from .redact import Redactor

            self.redactor = Redactor()  # one per run: a value keeps its placeholder
        if options.save is not None:
            self.fd = open_save_file(options.save)
        self.batch = _Batch(self.fd, options.save)
        self.batch.flush_output = flush

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        self.batch.save()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.client is not None:
                    await self.client.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _read_body(
        self, receive: Any, limit: int, cycle: Any, message: dict[str, Any] | None
    ) -> tuple[bytes | None, str]:
        """The body, or (None, why) when it is too big, too slow or abandoned;
        ``message`` is the first one received, if it was."""
        if getattr(cycle, "amodp_deadline", False):
            # The protocol (see _protocol_class) runs one deadline per
            # connection for headers and body together and marks the request
            # when it passes: no timer per request.
            return await self._read_chunks(receive, limit, cycle, message)
        # Served some other way, the body gets a deadline in a table that one
        # sweeper task checks.
        task = asyncio.current_task()
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep())
        self._reading[task] = time.monotonic() + self.options.read_timeout
        try:
            return await self._read_chunks(receive, limit, None, message)
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            self._expired.discard(task)
            task.uncancel()  # type: ignore[union-attr]
            return None, self._late()
        finally:
            self._reading.pop(task, None)

    async def _read_chunks(
        self, receive: Any, limit: int, cycle: Any, message: dict[str, Any] | None
    ) -> tuple[bytes | None, str]:
        chunks: list[bytes] = []
        size = 0
        while True:
            if message is None:
                message = await receive()
            if cycle is not None and getattr(cycle, "amodp_late", False):
                return None, self._late()
            if message["type"] == "http.disconnect":
                return None, "disconnect"
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None, f"body is over --max-body ({limit} bytes): not read"
            if not message.get("more_body", False):
                return (b"".join([*chunks, chunk]) if chunks else chunk), ""
            chunks.append(chunk)
            message = None

    def _late(self) -> str:
        return f"body not received within {self.options.read_timeout:g} s"

    async def _sweep(self) -> None:
        """Cancel the body reads that are past their deadline."""
        tick = min(max(self.options.read_timeout / 5, 0.01), 0.5)
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            late = [task for task, deadline in self._reading.items() if deadline <= now]
            for task in late:
                del self._reading[task]
                self._expired.add(task)
                task.cancel()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self._lifespan(receive, send)
            return
        options = self.options
        raw = scope["headers"]
        headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in raw]
        named = dict(reversed(raw))  # names are lower-case bytes; the first one wins
        length = named.get(b"content-length", b"")
        limit = options.max_body
        cycle = getattr(receive, "__self__", None)  # uvicorn's, when it serves
        if length.isdigit() and int(length) > limit:
            body: bytes | None = None
            why = f"body of {int(length)} bytes is over --max-body ({limit}): not read"
        elif not getattr(cycle, "amodp_deadline", False):
            body, why = await self._read_body(receive, limit, cycle, None)
        else:
            # Through amodp's protocol (its deadline covers this wait), a body
            # that came whole, the common case, is taken as it is.
            message = await receive()
            body = message.get("body", b"")
            if (
                message.get("more_body", True)
                or message["type"] != "http.request"
                or len(body) > limit  # type: ignore[arg-type]
                or getattr(cycle, "amodp_late", False)
            ):
                body, why = await self._read_body(receive, limit, cycle, message)
            else:
                why = ""
        if why == "disconnect":
            return  # nothing was answered: nothing to keep
        status = options.status
        note = None
        forward = None
        reply = b""
        if body is None:
            status = 413 if "max-body" in why else 408
            note = why
            body = b""
        elif options.forward_to:
            forward = await self._forward(scope, headers, body)
            reply = forward.pop("_body", b"")
            status = forward["status"] or 502
        client = scope.get("client")
        content_type = named.get(b"content-type")
        record = build_record(
            f"{client[0]}:{client[1]}" if client else "",
            scope["method"],
            scope["path"],
            scope.get("query_string", b"").decode("latin-1"),
            headers,
            None if content_type is None else content_type.decode("latin-1"),
            body,
            status,
            now_iso(),
            note,
        )
        if forward is not None:
            record["forward"] = forward
        if self.redactor is not None:
            record = self.redactor.redact_record(record)
        line = record_bytes(record)
        # Saved before the answer goes out, so an answered request is never
        # missing: through amodp's protocol the answer waits for the end of the
        # turn, when the turn's records are written together (see _Batch).
        batched = type(getattr(cycle, "transport", None)) is _Corked
        if self.fd is not None:
            if batched:
                self.batch.add(line)
            elif not self.batch.write(line):
                return  # not saved: not answered either (uvicorn answers 500)
        if options.delay:
            await asyncio.sleep(options.delay)
        if reply:
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(reply)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": reply})
        else:
            start, end = _answer(status)
            await send(start)
            await send(end)
        record["_line"] = line  # the saved line, for a caller that prints it as is
        self._count(record)
        if self.batch.flush_output is not None:
            if batched:
                self.batch.soon()
            else:
                self.batch.flush_output()

    def _count(self, record: dict[str, Any]) -> None:
        stats = self.stats
        stats.total += 1
        names = [f"{e['entity']}.{e['event']}" for e in record["events"]] or ["-"]
        for name in names:
            stats.by_event[(name, record["status"])] += 1
        shown = matches(record, self.options)
        if shown:
            stats.matched += 1
            if self.options.expect is not None and stats.matched >= self.options.expect:
                self.matched.set()
        self.show(record, shown)

    async def _forward(
        self, scope: dict[str, Any], headers: list[list[str]], body: bytes
    ) -> dict[str, Any]:
        """Relay the request (method, path, headers, exact body) to the user's app."""
        import aiohttp

        from .sender import _describe

        if self.client is None:
            self.client = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.options.forward_timeout),
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                auto_decompress=False,
            )
        base = (self.options.forward_to or "").rstrip("/")
        url = base + scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        if query:
            url += "?" + query
        send_headers = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
        started = time.perf_counter()
        try:
            async with self.client.request(
                scope["method"], url, headers=send_headers, data=body, allow_redirects=False
            ) as response:
                content = await response.read()
                status = response.status
        except Exception as exc:  # noqa: BLE001 - the app being down is reported, not fatal
            return {
                "url": url,
                "status": None,
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                "error": _describe(exc),
            }
        return {
            "url": url,
            "status": status,
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            "error": None,
            "_body": content,
        }


@functools.cache
def _answer(status: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two ASGI messages of the listener's own answer with ``status``
    (the messages are only read, so one pair serves every request)."""
    body = b"" if status == 204 else _reason(status).encode() + b"\n"
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


@functools.cache
def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def open_save_file(path: Path) -> int:
    """Open for appending, created readable by its owner only (captures hold
    customers' personal data)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        raise UsageError(f"cannot open {path} for saving: {exc.strerror or exc}") from None
    return fd


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; a port in use is a NetworkError (exit 3)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise NetworkError(f"cannot listen on {host}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise NetworkError(f"port {port} on {host} is already in use") from None
        raise NetworkError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


class _Batch:
    """What waits for the end of the event loop's turn: the capture records
    made in it are saved (one write for all of them), then the answers made in
    it go out (one send per connection), then the output is flushed.

    Saving first is what makes "a request that was answered is saved" hold:
    an answer leaves only through :meth:`_Corked.flush`, which runs after
    :meth:`save` (or calls it itself, on close). A record that cannot be
    written holds back the answers of its turn: their connections are reset.
    """

    __slots__ = (
        "fd", "path", "lines", "held", "scheduled", "loop", "flush_output", "failed", "lost"
    )  # fmt: skip

    def __init__(self, fd: int | None, path: Path | None) -> None:
        self.fd = fd
        self.path = path
        self.lines: list[bytes] = []
        self.held: list[_Corked] = []
        self.scheduled = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.flush_output: Callable[[], None] | None = None
        self.failed = False  # reported once
        self.lost = 0  # records that could not be saved (their answers were not sent)

    def add(self, line: bytes) -> None:
        """A record to save before any answer of this turn goes out."""
        self.lines.append(line)
        self.soon()

    def hold(self, corked: _Corked) -> None:
        """A connection with an answer to send once this turn's records are saved."""
        self.held.append(corked)
        self.soon()

    def soon(self) -> None:
        """Run at the end of this turn (once, however often asked)."""
        if not self.scheduled:
            if self.loop is None:
                self.loop = asyncio.get_running_loop()
            self.scheduled = True
            self.loop.call_soon(self.run)

    def save(self) -> bool:
        """Write the records waiting; False when they could not all be written."""
        if not self.lines:
            return True
        data = b"".join(self.lines)
        count = len(self.lines)
        self.lines.clear()
        return self.write(data, count)

    def write(self, data: bytes, count: int = 1) -> bool:
        """Append ``count`` records to the save file, all of them or (on an
        error, said once on stderr until a write succeeds again) none."""
        if self.fd is None:
            return True
        error = write_all(self.fd, data)
        if error is None:
            self.failed = False
            return True
        self.lost += count
        if not self.failed:
            self.failed = True
            sys.stderr.write(
                f"Error: cannot save to {self.path}: {error.strerror or error}; "
                "requests that cannot be saved get no answer\n"
            )
            sys.stderr.flush()
        return False

    def run(self) -> None:
        self.scheduled = False
        saved = self.save()
        held, self.held = self.held, []
        for corked in held:
            corked.flush(saved)
        if self.flush_output is not None:
            self.flush_output()


def write_all(fd: int, data: bytes) -> OSError | None:
    """Append all of ``data`` to ``fd``, or (the error returned) none of it:
    after a short write and then an error, the file is cut back, so a save
    file stays valid JSON Lines."""
    start = None
    try:
        written = os.write(fd, data)
        if written < len(data):  # a short write (disk all but full): go on, remember where
            start = os.lseek(fd, 0, os.SEEK_END) - written
            view = memoryview(data)[written:]
            while view:
                view = view[os.write(fd, view) :]
    except OSError as exc:
        if start is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)  # no half line left behind
        return exc
    return None


class _Corked:
    """A transport whose writes wait for the end of the event loop's turn
    (see :class:`_Batch`) and then go out together, in one system call."""

    __slots__ = ("_transport", "_batch", "_pending")

    def __init__(self, transport: Any, batch: _Batch) -> None:
        self._transport = transport
        self._batch = batch
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._batch.hold(self)
        self._pending.append(data)

    def flush(self, saved: bool = True) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if self._transport.is_closing():
                return
            if saved:
                self._transport.write(data)
            else:
                self._transport.abort()  # its record is not saved: no answer either

    def close(self) -> None:
        self.flush(self._batch.save())
        self._transport.close()

    def is_closing(self) -> bool:
        return bool(self._transport.is_closing())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _protocol_class() -> type:
    """uvicorn's HTTP protocol, fastest available, with a deadline for headers.

    uvicorn times out idle keep-alive connections, but not a client that
    opens a connection and then sends its headers slowly or never: this
    closes it after ``read_timeout`` seconds.
    """
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as Base
    except ImportError:  # pragma: no cover - httptools does not install everywhere
        from uvicorn.protocols.http.h11_impl import H11Protocol as Base  # type: ignore[assignment]

    class Protocol(Base):  # type: ignore[misc, valid-type]
        header_timeout = 10.0
        batch: _Batch

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            # Requests made from now on write through this: one send() per
            # response instead of one for the head and one for the body, and
            # only after the records of the same turn are saved.
            self.transport = _Corked(transport, self.batch)  # type: ignore[assignment]
            self._header_timer: asyncio.TimerHandle | None = None
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            cycle: Any = self.cycle
            if cycle is None or cycle.response_complete:
                self._arm()  # still waiting for a request's headers
            elif cycle.more_body:
                # Headers in, body still coming: the same deadline runs on,
                # and this request's reader knows to look at it.
                cycle.amodp_deadline = True
                self._arm()
            else:
                cycle.amodp_deadline = True
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(self.header_timeout, self._expire)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _expire(self) -> None:
            self._header_timer = None
            cycle: Any = self.cycle
            if cycle is None or cycle.response_complete:
                if not self.transport.is_closing():
                    self.transport.close()  # no headers: nothing to answer
            elif cycle.more_body and not cycle.disconnected:
                cycle.amodp_late = True  # the app answers 408 and keeps a record
                cycle.message_event.set()

    return Protocol


def _server_class(uvicorn: Any) -> type:
    class Server(uvicorn.Server):  # type: ignore[misc, name-defined]
        """uvicorn's server, minus re-raising SIGINT/SIGTERM after a graceful
        shutdown (that would kill the process before the summary and the exit
        code): Ctrl-C and SIGTERM end ``listen`` normally."""

        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            handled = (signal.SIGINT, signal.SIGTERM)
            original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return Server


def loop_name() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:  # pragma: no cover
        return "asyncio"
    return "uvloop"


def uvicorn_config(app: Listener) -> Any:
    """How uvicorn serves the listener: amodp's protocol, quiet, no proxy
    headers (``remote`` is the peer that connected; a tunnel's
    X-Forwarded-For stays in the headers, for the reader to judge)."""
    import uvicorn

    protocol: Any = _protocol_class()
    protocol.header_timeout = app.options.read_timeout
    protocol.batch = app.batch
    return uvicorn.Config(
        app,
        http=protocol,
        loop="none",
        lifespan="on",
        log_config=None,
        log_level="critical",
        access_log=False,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
        server_header=False,
        proxy_headers=False,
    )


async def serve(
    app: Listener,
    sock: socket.socket,
    *,
    on_started: Callable[[], None] | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Serve until a signal, ``stop``, ``--expect`` met (0) or ``--timeout`` (1 with --expect)."""
    import uvicorn

    config = uvicorn_config(app)
    app.batch.loop = asyncio.get_running_loop()
    server = _server_class(uvicorn)(config)
    outcome = {"code": 0}

    async def watch() -> None:
        waiters = []
        if app.options.expect is not None:
            waiters.append(asyncio.create_task(app.matched.wait()))
        if stop is not None:
            waiters.append(asyncio.create_task(stop.wait()))
        if not waiters and app.options.timeout is None:
            return
        done, pending = await asyncio.wait(
            waiters or [asyncio.create_task(asyncio.sleep(app.options.timeout or 0))],
            timeout=app.options.timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        for task in pending:
            task.cancel()
        if app.options.expect is not None and not app.matched.is_set():
            outcome["code"] = 1
        server.should_exit = True

    async def started() -> None:
        while not server.started and not server.should_exit:
            await asyncio.sleep(0.01)
        if server.started and on_started is not None:
            on_started()

    watcher = asyncio.create_task(watch())
    notifier = asyncio.create_task(started())
    try:
        await server.serve(sockets=[sock])
    finally:
        watcher.cancel()
        notifier.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        with contextlib.suppress(asyncio.CancelledError):
            await notifier
        app.close()
    if app.options.expect is not None and not app.matched.is_set():
        outcome["code"] = 1
    return outcome["code"]


def run(app: Listener, sock: socket.socket, on_started: Callable[[], None] | None = None) -> int:
    """Run :func:`serve` in a new event loop (uvloop when installed).

    For a process of its own (``amodp listen``): what was loaded before
    serving (the CLI, uvicorn, the event catalog) is frozen out of the
    garbage collector, which then looks at what requests make only."""
    import gc

    gc.collect()
    gc.freeze()
    if loop_name() == "uvloop":
        import uvloop

        return uvloop.run(serve(app, sock, on_started=on_started))
    return asyncio.run(serve(app, sock, on_started=on_started))


class Background:
    """A listener serving from a thread of its own, for ``demo`` and tests::

    with Background(Options(port=0), show) as running:
        ... send to running.url ...
    """

    def __init__(self, options: Options, show: Callable[[dict[str, Any], bool], None]) -> None:
        self.options = options
        self.sock = bind(options.host, options.port)
        host, port = self.sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        self.app = Listener(options, show)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="amodp-listener", daemon=True)
        self.exit_code: int | None = None

    def _run(self) -> None:
        async def main() -> int:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            return await serve(self.app, self.sock, on_started=self._ready.set, stop=self._stop)

        try:
            self.exit_code = asyncio.run(main())
        finally:
            self._ready.set()

    def __enter__(self) -> Background:
        self._thread.start()
        if not self._ready.wait(15):
            raise NetworkError("the listener did not start within 15 s")
        return self

    def stop(self) -> None:
        if self._thread.ident is None:  # never started: nothing serves, free what is held
            self.sock.close()
            self.app.close()
            return
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def __exit__(self, *exc: object) -> None:
        self.stop()
