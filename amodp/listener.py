"""``amodp listen``: a throwaway webhook receiver that keeps every request.

:class:`Listener` is a plain ASGI app. For each request it reads the body
(bounded in size, and in time once the headers are in), relays it to the
user's app with ``--forward-to``, builds the capture record
(:mod:`amodp.records`), appends it to the save file and only then answers,
then shows it. Nothing is kept in memory but counters and what was learnt of
at most 256 body shapes, so a long run costs no more than a short one. Under
load, the records that reach the save file in one turn of the event loop go
out in one write (:class:`SaveFile`), and one timer serves every request's
``--read-timeout`` (:class:`Deadlines`).

:class:`Serving` runs it under uvicorn (``uvicorn.Config`` and
``uvicorn.Server``, httptools and uvloop when they are installed) in a thread
of its own, where uvicorn installs no signal handlers: the signals are
:func:`run`'s, in the main thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import gc
import re
import signal
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .batching import Deadlines, SaveFile
from .errors import InputError, NetworkError, UnknownEventError, UsageError
from .records import Forms, build_record, callback_value, now_iso, record_bytes

if TYPE_CHECKING:
    from .signing import Verdict

__all__ = ["Background", "Listener", "Options", "Serving", "bind", "run"]

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

#: seconds a stop waits for the requests in flight before it cancels them
GRACE = 30


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
    #: seconds for a request's body to arrive once its headers are in (then 408)
    read_timeout: float = 10.0
    forward_timeout: float = 10.0
    #: personal data replaced by placeholders in what is shown and saved
    redact: bool = False
    #: the channel or client secret: each record says whether its signature is valid
    secret: str | None = field(default=None, repr=False)
    #: with ``secret``: a request whose signature is invalid is answered 401
    reject_invalid: bool = False

    def __post_init__(self) -> None:
        if self.events or self.entities:
            self.events, self.entities = filters(self.events, self.entities)


@dataclass
class Stats:
    """What the final summary shows."""

    by_event: Counter[tuple[str, int]] = field(default_factory=Counter)
    total: int = 0
    matched: int = 0
    #: requests whose record could not be written (answered 503)
    unsaved: int = 0
    #: requests whose body differs from the catalog's shape of its event
    drifted: int = 0


#: the ``http.response.start`` and ``http.response.body`` messages of an answer
AnswerMessages = tuple[dict[str, Any], dict[str, Any]]

#: ``show(record, line, wanted)``: a request was answered; ``line`` is its
#: record as saved (JSON Line, bytes), ``wanted`` whether it passes the filters
Show = Callable[[dict[str, Any], bytes, bool], None]


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


def filters(
    events: Iterable[str], entities: Iterable[str]
) -> tuple[frozenset[str], frozenset[str]]:
    """The ``--event`` and ``--entity`` names as records spell them (``lead``
    is ``leads``); a name that no record can carry is an UnknownEventError.

    >>> [sorted(names) for names in filters(["status", "lead.status"], ["lead"])]
    [['leads.status', 'status'], ['leads']]
    """
    from .catalog import canonical_entity

    names, known_entities = filter_names()
    found = set()
    for name in events:
        entity, dot, event = name.rpartition(".")
        if dot:
            name = f"{canonical_entity(entity)}.{event}"
        if name not in names:
            choices = ", ".join(sorted(n for n in names if "." not in n))
            raise UnknownEventError(
                f"unknown event {name!r}; choose from: {choices} (or ENTITY.EVENT: amodp events)",
                param="events",
            )
        found.add(name)
    chosen = set()
    for name in entities:
        name = canonical_entity(name)
        if name not in known_entities:
            choices = ", ".join(sorted(known_entities))
            raise UnknownEventError(
                f"unknown entity {name!r}; choose from: {choices}", param="entities"
            )
        chosen.add(name)
    return frozenset(found), frozenset(chosen)


def filter_names() -> tuple[frozenset[str], frozenset[str]]:
    """The event names (``status``, ``leads.status``) and the entities that
    a record's ``events`` can hold: every event of the catalog, by its name
    and by the key its body carries (``contacts.update`` for
    ``companies.responsible``), and a Salesbot's continuation."""
    from .catalog import ALL_KINDS
    from .catalog import events as catalog_events

    names = {"continue"}
    entities = {"salesbot", "marketingbot"}  # see continuation_event
    names.update(f"{entity}.continue" for entity in entities)
    for kind in ALL_KINDS:
        for spec in catalog_events(kind):
            for entity, event in ((spec.entity, spec.event), (spec.wire, spec.wire_event)):
                names.update((event, f"{entity}.{event}"))
                entities.add(entity)
    return frozenset(names), frozenset(entities)


def check_port(port: int) -> None:
    if not 0 <= port <= 65535:
        raise UsageError(f"port must be 0..65535, got {port}", param="port")


def check_forward_url(url: str) -> None:
    """An http(s) URL with a host and, if any, a valid port; else a UsageError."""
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError when not a number or out of range
    except ValueError as exc:
        raise UsageError(f"{url!r} is not a valid URL: {exc}", param="forward_to") from None
    if parts.scheme not in ("http", "https"):
        raise UsageError(f"{url!r} must be an http:// or https:// URL", param="forward_to")
    if not parts.hostname:
        raise UsageError(f"{url!r} has no host", param="forward_to")
    if port == 0:
        raise UsageError(f"{url!r}: port 0 cannot be connected to", param="forward_to")


class Listener:
    """The ASGI app: answers every request, saving its record first.

    ``show`` is called after each answer (see :data:`Show`);
    ``on_save_error`` once, with the first error writing the save file;
    ``on_drift`` with each line of drift (:mod:`amodp.drift`) the first time
    an event and field show it in this run.
    """

    def __init__(
        self,
        options: Options,
        show: Show,
        on_save_error: Callable[[OSError], None] | None = None,
        on_drift: Callable[[str], None] | None = None,
    ) -> None:
        from .drift import Watch

        self.options = options
        self.show = show
        self.on_save_error = on_save_error
        self.on_drift = on_drift
        self.stats = Stats()
        self.in_flight = 0
        self.matched = asyncio.Event()  # --expect met
        self.stopping = asyncio.Event()  # a stop began: --delay is cut short
        self.client: Any = None  # the --forward-to session, made on first use
        self.redactor: Any = None
        if options.redact:
            from .redact import Redactor

            self.redactor = Redactor()  # one per run: a value keeps its placeholder
        self.save_file = SaveFile(options.save) if options.save is not None else None
        self.deadlines = Deadlines(options.read_timeout)
        #: the bodies a receiver gets come in a few shapes: each is learnt once
        self.forms = Forms()
        #: their drift from the catalog, also learnt once per shape
        self.drift = Watch()
        #: the shape of the form :meth:`build` is reading (set by :meth:`read_form`)
        self.shape: str | None = None
        #: the answer to a request that is answered with ``--status`` (uvicorn
        #: only reads the messages, so one pair serves every request)
        self.usual_answer = answer_messages(options.status)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.in_flight += 1
        try:
            await self.handle(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Read the body, forward it, build the record, save it, answer, show.

        Answered means saved: the answer goes out only once the record is in
        the save file; a record that cannot be written is answered 503."""
        received_at = now_iso()
        length, content_type, codings = content_headers(scope)
        body, status, note = await self.read_body(length, receive)
        if body is None:
            return  # the client left before its body was in: nothing was answered
        verdict = self.check_signature(scope, body) if note is None else None
        if verdict is not None and verdict.status == "invalid" and self.options.reject_invalid:
            status = 401  # not forwarded: the app is spared what amoCRM did not sign
        forward, reply = None, None
        if note is None and status != 401 and self.options.forward_to:
            forward, reply = await self.forward(scope, body)
            status = forward["status"] or 502
        if self.options.delay:
            await self.pause()
        record = self.build(
            scope, body, status, received_at, note, forward, verdict, content_type, codings
        )
        line = record_bytes(record)
        if not await self.save(line):
            record["status"] = status = 503
            record["note"] = "; ".join(filter(None, [record.get("note"), "not saved"]))
            line, reply = record_bytes(record), None
        await self.answer(send, status, reply)
        self.count_and_show(record, line)

    async def read_body(
        self, length: bytes | None, receive: Any
    ) -> tuple[bytes | None, int, str | None]:
        """(body, status to answer, note); body None: the client disconnected.
        ``length``: the request's Content-Length."""
        limit = self.options.max_body
        if length is not None and length.isdigit() and int(length) > limit:
            return b"", 413, f"body of {int(length)} bytes is over --max-body ({limit}): not read"
        chunks = []
        size = 0
        task = self.deadlines.add()
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None, 0, None
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    return b"", 413, f"body is over --max-body ({limit} bytes): not read"
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        except asyncio.CancelledError:
            if not self.deadlines.expired(task):
                raise  # a stop, not the deadline
            return b"", 408, f"body not received within {self.options.read_timeout:g} s"
        finally:
            self.deadlines.remove(task)
        return b"".join(chunks), self.options.status, None

    def check_signature(self, scope: dict[str, Any], body: bytes) -> Verdict | None:
        """With ``--secret``: what :func:`amodp.signing.verify` finds in the
        request, exactly as it arrived (before any redaction)."""
        if self.options.secret is None:
            return None
        from .request import Request
        from .signing import verify  # here: PyJWT only when signatures are checked

        request = Request.received(
            scope["method"],
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
            scope.get("query_string", b"").decode("latin-1"),
            body,
            scope["path"],
        )
        return verify(request, self.options.secret)

    async def pause(self) -> None:
        """``--delay``, cut short when a stop begins."""
        if not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.options.delay)

    async def answer(self, send: Any, status: int, body: bytes | None) -> None:
        if body is None and status == self.options.status:
            start, end = self.usual_answer
        else:
            start, end = answer_messages(status, body)
        await send(start)
        await send(end)

    def build(
        self,
        scope: dict[str, Any],
        body: bytes,
        status: int,
        received_at: str,
        note: str | None,
        forward: dict[str, Any] | None,
        verdict: Verdict | None,
        content_type: str | None,
        codings: list[str] | None,
    ) -> dict[str, Any]:
        """The record of a request; ``content_type`` and ``codings`` are its
        Content-Type and Content-Encoding (see :func:`content_headers`)."""
        client = scope.get("client")
        received = body  # as it arrived: what the record keeps
        self.shape = None
        coding_note = None
        if codings is not None and body:
            unpacked, coding_note = undo_codings(body, codings, self.options.max_body)
            body = received if unpacked is None else unpacked
        decodable = coding_note is None or body is not received
        record = build_record(
            f"{client[0]}:{client[1]}" if client else "",
            scope["method"],
            scope["path"],
            scope.get("query_string", b"").decode("latin-1"),
            [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
            content_type,
            body,
            status,
            received_at,
            note,
            decode_body=decodable,
            read_form=self.read_form,
        )
        if not decodable:  # not a word of how it would have been decoded
            record["note"] = join_notes(note, coding_note)
        elif coding_note is not None:
            if self.redactor is not None:
                coding_note += "; the body is kept decompressed, to be redacted"
            record["note"] = join_notes(coding_note, record.get("note"))
        if body.endswith(b"\n") and record["decoded"] is not None:
            from .bodies import newline_note

            said = newline_note(body, self.redactor is not None)
            if said is not None:
                record["note"] = join_notes(record.get("note"), said)
        continued = continuation_event(scope["path"])
        if continued is not None and scope["method"] == "POST":
            record["events"] = [continued]
        elif record["events"]:
            value = record["decoded"]
            shape = self.shape
            if value is None:  # a callback: its JSON or its query
                value, shape = callback_value(body, record["query"], scope["method"]), None
            drifts = self.drift.of(shape, value, record["events"]) if value is not None else []
            if drifts:
                record["drift"] = drifts
        if verdict is not None:
            record["signature"] = verdict.status
            if verdict.scheme is not None:
                record["signature_scheme"] = verdict.scheme
            if verdict.status == "invalid":
                record["signature_reason"] = verdict.reason
        if forward is not None:
            record["forward"] = forward
        if self.redactor is not None:
            # A decompressed body is what is redacted, and kept.
            record = self.redactor.redact_record(record)
        elif body is not received:
            record = with_body(record, received)
        return record

    def read_form(self, body: bytes) -> tuple[Any, list[dict[str, Any]]]:
        """:meth:`Forms.read`, keeping the body's shape for :meth:`build`
        (which reads it right after, in the same turn of the event loop)."""
        result, events = self.forms.read(body)
        self.shape = result.shape
        return result, events

    async def save(self, line: bytes) -> bool:
        """Append the record to the save file (all of it or nothing); False
        when it could not be written."""
        if self.save_file is None:
            return True
        error = await self.save_file.append(line)
        if error is None:
            return True
        self.stats.unsaved += 1
        if self.stats.unsaved == 1 and self.on_save_error is not None:
            self.on_save_error(error)
        return False

    def count_and_show(self, record: dict[str, Any], line: bytes) -> None:
        stats = self.stats
        stats.total += 1
        names = [f"{e['entity']}.{e['event']}" for e in record["events"]] or ["-"]
        for name in names:
            stats.by_event[(name, record["status"])] += 1
        if "drift" in record:
            stats.drifted += 1
            for said in self.drift.news(record["drift"]):
                if self.on_drift is not None:
                    self.on_drift(said)
        wanted = matches(record, self.options)
        if wanted:
            stats.matched += 1
            if self.options.expect is not None and stats.matched >= self.options.expect:
                self.matched.set()
        self.show(record, line, wanted)

    async def forward(
        self, scope: dict[str, Any], body: bytes
    ) -> tuple[dict[str, Any], bytes | None]:
        """Relay the request (method, path, headers, exact body) to the user's
        app through the one sender: what the record says of it, and the app's
        answer body."""
        from .request import Request
        from .sender import Sender

        if self.client is None:
            self.client = Sender(
                concurrency=100, timeout=self.options.forward_timeout, decompress=False
            )
        url = (self.options.forward_to or "").rstrip("/") + scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        if query:
            url += "?" + query
        headers = tuple(
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.decode("latin-1") not in HOP_BY_HOP
        )
        request = Request(None, None, scope["method"], url, body, "", None, headers)
        delivery = await self.client.send(request, whole=True)
        latency = round(delivery.latency_s * 1000, 1)
        forwarded = {
            "url": url,
            "status": delivery.status,
            "latency_ms": latency,
            "error": delivery.error,
        }
        return forwarded, delivery.content

    async def aclose(self) -> None:
        """Free what the app holds: the forwarding session, the save file."""
        if self.client is not None:
            await self.client.close()
            self.client = None
        self.close()

    def close(self) -> None:
        if self.save_file is not None:
            self.save_file.close()
            self.save_file = None


#: the path of a Salesbot's ``return_url``: where the receiver of a
#: ``widget_request`` POSTs its result for the bot to go on
CONTINUATION = re.compile(r"/api/v4/(salesbot|marketingbot)/([^/]+)/continue/([^/]+)/?")


def continuation_event(path: str) -> dict[str, Any] | None:
    """The event a POST to a Salesbot ``return_url`` path is: the bot's
    continuation, its id (the path's last part) in ``ids``.

    >>> continuation_event("/api/v4/salesbot/321/continue/9876")
    {'kind': 'salesbot', 'entity': 'salesbot', 'event': 'continue', 'ids': ['9876']}
    """
    found = CONTINUATION.fullmatch(path)
    if found is None:
        return None
    return {"kind": "salesbot", "entity": found[1], "event": "continue", "ids": [found[3]]}


def content_headers(
    scope: dict[str, Any],
) -> tuple[bytes | None, str | None, list[str] | None]:
    """A request's Content-Length, Content-Type and Content-Encoding codings
    (None when it has none), in one pass over its headers (two lookups cost
    more, per request, than one pass)."""
    length = content_type = codings = None
    for key, value in scope["headers"]:
        if key == b"content-length":
            if length is None:
                length = value
        elif key == b"content-type":
            if content_type is None:
                content_type = value.decode("latin-1")
        elif key == b"content-encoding":
            found = value.decode("latin-1").lower().split(",")
            codings = [*(codings or ()), *(c.strip() for c in found if c.strip())]
    return length, content_type, codings


def undo_codings(body: bytes, codings: list[str], limit: int) -> tuple[bytes | None, str | None]:
    """The body with its Content-Encoding undone as ``amodp decode`` undoes it
    (:func:`amodp.bodies.undo_codings`), and the record's note saying so; or
    None and a note saying why not. Past ``limit`` (``--max-body``) bytes it
    is not decompressed."""
    from .bodies import TooLarge
    from .bodies import undo_codings as undo

    named = ", ".join(codings)
    try:
        unpacked = undo(body, codings, limit)
    except TooLarge:
        over = f"the body is over --max-body ({limit} bytes)"
        return None, f"Content-Encoding {named}: decompressed, {over}: kept raw"
    except InputError as exc:
        return None, f"{exc}: kept raw"
    if all(coding == "identity" for coding in codings):
        return unpacked, None
    return unpacked, f"Content-Encoding {named}: decompressed ({len(unpacked)} bytes) and decoded"


def with_body(record: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The record with ``body`` (or ``body_base64``) in place of the one it
    holds, its keys in the same order."""
    try:
        kept = ("body", body.decode("utf-8"))
    except UnicodeDecodeError:
        import base64

        kept = ("body_base64", base64.b64encode(body).decode("ascii"))
    out = {}
    for key, value in record.items():
        if key in ("body", "body_base64"):
            key, value = kept
        out[key] = value
    return out


def join_notes(*notes: str | None) -> str | None:
    """The notes that are there, joined by "; "."""
    return "; ".join(n for n in notes if n) or None


def answer_messages(status: int, body: bytes | None = None) -> AnswerMessages:
    """The two ASGI messages of an answer: ``body`` (the forwarded app's), or
    the status's reason."""
    if body is None:
        body = b"" if status in (204, 304) else reason(status).encode() + b"\n"
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 408:
        headers.append((b"connection", b"close"))  # the client stalled: do not wait for more
    start = {"type": "http.response.start", "status": status, "headers": headers}
    return start, {"type": "http.response.body", "body": body}


def reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; a port in use is a NetworkError (exit 3)."""
    check_port(port)
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


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed, else asyncio's."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop does not install everywhere
        return None
    return uvloop.new_event_loop  # type: ignore[no-any-return]


def uvicorn_config(app: Any, grace: int) -> Any:
    """uvicorn's settings for amodp's servers (the listener, the inspector):
    documented settings only; no proxy headers (``remote`` is the peer that
    connected: a tunnel's X-Forwarded-For stays in the headers); ``grace``
    seconds for what is in flight when it stops."""
    import uvicorn

    return uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        log_level="critical",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=grace,
    )


def start_thread(server: Any, what: str, seconds: float) -> None:
    """Start ``server.thread`` and return once it serves; a NetworkError
    naming ``what`` when it did not start in time, or could not."""
    server.thread.start()
    if not server.ready.wait(seconds):
        raise NetworkError(f"{what} did not start within {seconds:g} s")
    if server.error is not None:
        raise NetworkError(f"{what} could not start: {server.error}")


def run_thread(server: Any) -> None:
    """The body of ``server.thread``: ``server._serve()`` on an event loop of
    its own; what it raised is kept in ``server.error`` for the thread that
    started it, and ``ready`` and ``finished`` are set either way."""
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(server._serve())
    except BaseException as exc:  # noqa: BLE001 - handed to the thread that started it
        server.error = exc
    finally:
        server.ready.set()
        server.finished.set()


class Serving:
    """uvicorn serving a :class:`Listener` on a bound socket, from a thread
    of its own (where uvicorn installs no signal handlers)::

        serving = Serving(app, sock)
        serving.start()          # returns once it accepts connections
        serving.stop()           # stop accepting; answer what is in flight
        serving.stop(now=True)   # and do not wait for what is in flight
        serving.finished.wait()

    It also stops by itself when ``--expect`` is met or ``--timeout`` passes.
    """

    def __init__(self, app: Listener, sock: socket.socket) -> None:
        import uvicorn

        self.app = app
        self.sock = sock
        self.server = uvicorn.Server(uvicorn_config(app, GRACE))
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ready = threading.Event()  # serving, or failed to start
        self.finished = threading.Event()
        self.stop_asked = False
        self.on_stop: Callable[[int], None] | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="amodp-listener", daemon=True)

    def start(self, seconds: float = 15) -> None:
        start_thread(self, "the listener", seconds)

    def _run(self) -> None:
        run_thread(self)

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        watcher = asyncio.create_task(self._watch())
        try:
            await self.server.serve(sockets=[self.sock])
        finally:
            watcher.cancel()
            await self.app.aclose()
            self.sock.close()

    async def _watch(self) -> None:
        """Say when serving; stop once ``--expect`` is met or at ``--timeout``."""
        while not self.server.started:
            if self.server.should_exit:
                return
            await asyncio.sleep(0.01)
        self.ready.set()
        if self.stop_asked:
            self._stop_soon()
            return
        options = self.app.options
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(options.timeout):
                if options.expect is not None:
                    await self.app.matched.wait()
                else:
                    await asyncio.Event().wait()
        self._stop_soon()

    def _stop_soon(self) -> None:
        self.server.should_exit = True
        self.app.stopping.set()
        told, self.on_stop = self.on_stop, None
        if told is not None:
            told(self.app.in_flight)

    def stop(self, now: bool = False, told: Callable[[int], None] | None = None) -> None:
        """Begin stopping (from any thread); ``told(requests in flight)`` is
        called (in the serving thread) as it begins. ``now``: do not wait for
        what is in flight (not saved; uvicorn answers it 500, or its
        connection closes)."""
        self.stop_asked = True
        if told is not None:
            self.on_stop = told
        if self.loop is not None and not self.finished.is_set():
            with contextlib.suppress(RuntimeError):  # the loop just closed
                self.loop.call_soon_threadsafe(self._stop_soon)
                if now:
                    self.loop.call_soon_threadsafe(setattr, self.server, "force_exit", True)

    @property
    def exit_code(self) -> int:
        """1 when ``--expect`` was not met, else 0."""
        unmet = self.app.options.expect is not None and not self.app.matched.is_set()
        return 1 if unmet else 0


def run(
    app: Listener,
    sock: socket.socket,
    on_started: Callable[[], None],
    on_stopping: Callable[[int, int], None],
) -> int:
    """Serve in the foreground until ``--expect``, ``--timeout`` or a signal;
    the exit code (see :attr:`Serving.exit_code`).

    The first SIGINT or SIGTERM stops gracefully: ``on_stopping(signal,
    requests in flight)`` is called (from the serving thread), the listener
    stops accepting, cuts
    ``--delay`` short and answers (and saves) what is in flight. A second one
    stops at once."""
    serving = Serving(app, sock)
    signals = 0

    def handle(signum: int, frame: object) -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            serving.stop(told=functools.partial(on_stopping, signum))
        else:
            serving.stop(now=True)

    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, handle) for sig in handled}
    # What is loaded by now (the CLI, uvicorn, the catalog) lives as long as
    # the process: frozen, it is left out of every garbage collection, and a
    # full collection under load takes a fraction of a millisecond instead of
    # ~10 ms (measured: the listener's p99 latency halves). Only ``run``
    # freezes: it serves ``amodp listen`` in a process amodp owns (and takes
    # its signals). ``Background``, ``Serving`` and a ``Listener`` in the
    # caller's own server leave a library caller's collector as it is.
    gc.freeze()
    try:
        serving.start()
        on_started()
        while not serving.finished.wait(0.2):
            if signals >= 2:
                serving.finished.wait(2)  # what stops at once; the rest is not waited for
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if serving.error is not None:
        raise NetworkError(f"the listener stopped: {serving.error}")
    return serving.exit_code


class Background:
    """A listener serving from a thread of its own, for ``demo`` and tests::

    with Background(Options(port=0), show) as running:
        ... send to running.url ...
    """

    def __init__(self, options: Options, show: Show) -> None:
        self.options = options
        self.sock = bind(options.host, options.port)
        host, port = self.sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        self.app = Listener(options, show)
        self.serving = Serving(self.app, self.sock)

    def __enter__(self) -> Background:
        self.serving.start()
        return self

    def stop(self) -> None:
        if not self.serving.thread.is_alive() and not self.serving.finished.is_set():
            # never started: nothing serves, free what is held
            self.sock.close()
            self.app.close()
            return
        self.serving.stop()
        self.serving.finished.wait(GRACE + 5)

    def __exit__(self, *exc: object) -> None:
        self.stop()
