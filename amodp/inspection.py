"""What the inspector knows of records and does with them, without the web:
a bounded :class:`Store` of capture records (each as the JSON line the
listener already made), their summaries, filters, the detail of one as
``amodp decode`` prints it, the differences of two, exports (curl, HAR 1.2,
a capture record, a pytest test) and replays (the same bytes, or the body
edited, encoded as amoCRM encodes and signed again). :mod:`amodp.inspector`
serves it over HTTP.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
import threading
import time
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, urlencode, urlsplit

from .codec import encode, parse, to_json
from .errors import AmodpError, InputError, UsageError
from .records import (
    CaptureRecord,
    body_of,
    json_object,
    make_record,
    media_type,
    now_iso,
    read_records,
    record_bytes,
    record_of_line,
    record_on_line,
)
from .request import Request

__all__ = [
    "EXPORTS",
    "KEEPALIVE",
    "LIVE_BYTES",
    "LIVE_LIMIT",
    "MAX_EDIT",
    "STOP_GRACE",
    "Filter",
    "Replay",
    "Store",
    "decoded_as_decode",
    "detail",
    "differences",
    "export",
    "keep_files",
    "load_record",
    "records_of_files",
    "replay_request",
    "signature_of",
    "summarize",
    "target_of",
]

#: records ``listen --ui`` keeps in memory (older ones stay in the save file)
LIVE_LIMIT = 10_000
#: bytes of records ``listen --ui`` keeps in memory, whatever their number
LIVE_BYTES = 64 << 20
#: seconds between the comments that keep an idle event stream open
KEEPALIVE = 10.0
#: the largest replay request taken (an edited body)
MAX_EDIT = 8 << 20
#: seconds the server is given to stop once asked (streams end at once)
STOP_GRACE = 1
EXPORTS = ("curl", "har", "record", "pytest")


# -- the store ---------------------------------------------------------------------


class Store:
    """The records the inspector shows, numbered from 1 in the order they
    came, each kept as its JSON line only; safe to add to from any thread.
    A summary (:func:`summarize`) is made when asked for.

    Records read from files (:func:`keep_files`) stay there: the store holds
    where each line starts and ends, 16 bytes a record, and reads a line when
    asked. Records that arrive (``listen --ui``, replays) go into byte
    buffers of up to :data:`CHUNK` records or :data:`CHUNK_BYTES` bytes, and
    the oldest buffers are dropped once the others hold ``limit`` records or
    ``budget`` bytes: memory stays bounded however long it runs. A request
    costs a copy into the newest buffer, where keeping each line as an object
    of its own cost the listener a tenth of its throughput
    (bench/inspector_speed.py). ``bell`` is called after each addition (the
    inspector wakes its event streams with it)."""

    def __init__(
        self, limit: int = LIVE_LIMIT, secret: str | None = None, budget: int = LIVE_BYTES
    ) -> None:
        self.limit = limit
        self.budget = budget
        self.secret = secret
        self.chunks: list[_Chunk | _Lines] = []
        self.firsts: list[int] = []  # each chunk's first id, for bisect
        self.count = 0
        self.next_id = 1
        self.open: list[Any] = []  # the files read lines come from
        #: what a record's line does not say: the record it replays
        self.replays: dict[int, int] = {}
        self.lock = threading.Lock()
        self.bell: Callable[[], None] | None = None

    def keep(self, record: dict[str, Any], line: bytes, wanted: bool = True) -> None:
        """The listener's ``show`` callback: keep every record it answered."""
        self._append(line, time.time())
        if self.bell is not None:
            self.bell()

    def add(self, line: bytes, *, replay_of: int | None = None, answered: bool = False) -> int:
        """Keep a record's JSON line; its id. ``replay_of``: the record it
        replays; ``answered``: now."""
        number = self._append(line, time.time() if answered else 0.0)
        if replay_of is not None:
            with self.lock:
                self.replays[number] = replay_of
        if self.bell is not None:
            self.bell()
        return number

    def _append(self, line: bytes, at: float) -> int:
        with self.lock:
            chunks = self.chunks
            chunk = chunks[-1] if chunks else None
            if (
                type(chunk) is not _Chunk
                or len(chunk.starts) == CHUNK
                or len(chunk.data) >= CHUNK_BYTES
            ):
                chunk = _Chunk(self.next_id)
                chunks.append(chunk)
                self.firsts.append(self.next_id)
                self._trim()
            chunk.starts.append(len(chunk.data))
            chunk.data += line
            chunk.times.append(at)
            number = self.next_id
            self.next_id += 1
            self.count += 1
        return number

    def _trim(self) -> None:
        """Drop the oldest buffers while those before the newest hold
        ``limit`` records or ``budget`` bytes, and what was said of them."""
        held = [c for c in self.chunks[:-1] if type(c) is _Chunk]
        records = sum(len(c.starts) for c in held)
        size = sum(len(c.data) for c in held)
        while held and (records >= self.limit or size >= self.budget):
            gone = held.pop(0)
            records -= len(gone.starts)
            size -= len(gone.data)
            self.count -= len(gone.starts)
            at = self.chunks.index(gone)
            del self.chunks[at], self.firsts[at]
            end = gone.first + len(gone.starts)
            for number in [n for n in self.replays if gone.first <= n < end]:
                del self.replays[number]

    def attach(self, lines: _Lines) -> None:
        """Keep the records of a file, numbered after those kept."""
        with self.lock:
            lines.first = self.next_id
            self.chunks.append(lines)
            self.firsts.append(self.next_id)
            self.next_id += len(lines.starts)
            self.count += len(lines.starts)

    def close(self) -> None:
        """Close the files read records come from."""
        for file in self.open:
            file.close()
        self.open.clear()

    def __len__(self) -> int:
        return self.count

    @property
    def newest(self) -> int:
        return self.next_id - 1

    def line(self, number: int) -> bytes | None:
        with self.lock:
            found = self._find(number)
            return None if found is None else found[0].line(found[1])

    def _find(self, number: int) -> tuple[_Chunk | _Lines, int] | None:
        at = bisect_right(self.firsts, number) - 1
        if at < 0:
            return None
        chunk = self.chunks[at]
        index = number - chunk.first
        return (chunk, index) if index < len(chunk.starts) else None

    def get(self, number: int) -> tuple[bytes, dict[str, Any]] | None:
        """The record's line and summary, or None when it is not kept (or
        its file changed since it was read)."""
        with self.lock:
            found = self._find(number)
            if found is None:
                return None
            chunk, index = found
            line = chunk.line(index)
            at = chunk.times[index] if type(chunk) is _Chunk else 0.0
            replay_of = self.replays.get(number)
        try:
            record = load_record(line)
        except (InputError, ValueError):
            return None
        events = None if isinstance(record.get("events"), list) else _events_in(record)
        summary = summarize(record, events, self.secret)
        summary["id"] = number
        summary["replay_of"] = replay_of
        summary["answered_at"] = _iso(at) if at else None
        return line, summary

    def newest_first(self, before: int | None = None) -> Iterator[tuple[bytes, dict[str, Any]]]:
        """Each record's line and summary, from the newest (or the one before
        ``before``) to the oldest kept."""
        number = self.newest if before is None else min(before - 1, self.newest)
        while number >= 1:
            with self.lock:
                at = bisect_right(self.firsts, number) - 1
                if at < 0:
                    return
                chunk = self.chunks[at]
                number = min(number, chunk.first + len(chunk.starts) - 1)
                low = chunk.first
            while number >= low:
                found = self.get(number)
                if found is not None:
                    yield found
                number -= 1

    def since(self, number: int) -> list[tuple[bytes, dict[str, Any]]]:
        """The records after id ``number``, oldest first."""
        found = []
        for entry in self.newest_first():
            if entry[1]["id"] <= number:
                break
            found.append(entry)
        found.reverse()
        return found


#: records in one buffer of a :class:`Store`
CHUNK = 1024
#: bytes after which a buffer takes no more records
CHUNK_BYTES = 4 << 20


class _Chunk:
    """Up to :data:`CHUNK` record lines end to end, where each starts, when
    each was answered (0: not by this process)."""

    __slots__ = ("first", "data", "starts", "times")

    def __init__(self, first: int) -> None:
        self.first = first
        self.data = bytearray()
        self.starts = array("Q")
        self.times = array("d")

    def line(self, index: int) -> bytes:
        end = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.data)
        return bytes(self.data[self.starts[index] : end])


class _Lines:
    """Record lines in a file, read when asked: where each starts and ends."""

    __slots__ = ("first", "fd", "starts", "ends")

    def __init__(self, fd: int) -> None:
        self.first = 0
        self.fd = fd
        self.starts = array("Q")
        self.ends = array("Q")

    def line(self, index: int) -> bytes:
        start = self.starts[index]
        return os.pread(self.fd, self.ends[index] - start, start)


def _events_in(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of a record that lists none (one written by hand)."""
    try:
        return CaptureRecord(0, record, body_of(record)).events()
    except (InputError, ValueError):
        return []


def _iso(at: float) -> str:
    """``2026-11-25T13:30:34.896120Z`` of a time.time()."""
    import datetime

    when = datetime.datetime.fromtimestamp(at, datetime.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def summarize(
    record: Mapping[str, Any], events: list[dict[str, Any]] | None, secret: str | None
) -> dict[str, Any]:
    """What the list shows of a record: time, request line, status answered,
    events and their ids, signature, body size."""
    found = record.get("events") if events is None else events
    if not isinstance(found, list):
        found = []
    names, ids = [], []
    for event in found:
        if isinstance(event, dict):
            names.append(f"{event.get('entity')}.{event.get('event')}")
            ids += [str(i) for i in event.get("ids") or () if i is not None]
    signature = record.get("signature")
    if signature is None and secret is not None:
        signature = signature_of(record, secret).status
    forward = record.get("forward")
    return {
        "id": 0,
        "received_at": record.get("received_at"),
        "method": record.get("method"),
        "path": record.get("path"),
        "query": record.get("query") or "",
        "status": record.get("status"),
        "events": names,
        "ids": ids,
        "signature": signature,
        "size": _body_size(record),
        "note": bool(record.get("note")),
        "error": forward.get("error") if isinstance(forward, dict) else None,
    }


def _body_size(record: Mapping[str, Any]) -> int | None:
    body = record.get("body")
    if isinstance(body, str):
        return len(body) if body.isascii() else len(body.encode("utf-8", "surrogateescape"))
    encoded = record.get("body_base64")
    if isinstance(encoded, str):
        return len(encoded) * 3 // 4 - encoded[-2:].count("=")
    return None


def signature_of(record: Mapping[str, Any], secret: str) -> Any:
    """What :func:`amodp.signing.verify` says of a record with ``secret``; a
    Salesbot token's times as of the record's arrival."""
    from .signing import verify

    return verify(Request.from_record(record), secret, now=_epoch(record.get("received_at")))


def _epoch(when: Any) -> float | None:
    if not isinstance(when, str):
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# -- reading files -------------------------------------------------------------------


def records_of_files(named: Iterable[tuple[str, bytes]]) -> Iterator[dict[str, Any]]:
    """The record of each request in each ``(name, data)``: capture records
    as they were saved, anything else ``amodp decode``
    reads (a raw body, an HTTP request, a curl command...) as the record
    ``amodp listen`` would have made of it."""
    from .inputs import read_sources
    from .records import looks_like_records

    for name, data in named:
        try:
            if looks_like_records(data):
                for capture in read_records(data):
                    yield capture.fields
                continue
            sources = read_sources(data)
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from None
        for source in sources:
            headers = list(source.headers) or [("content-type", _guess_type(source.body))]
            record = make_record(
                remote="",
                method=source.method or "POST",
                path=source.path or "/",
                query=source.query,
                headers=[(k.lower(), v) for k, v in headers],
                body=source.body,
                status=None,  # type: ignore[arg-type]  # read from a file: never answered
                note=f"read from {name}" + (f" ({source.label})" if source.label else ""),
            )
            yield record


def keep_files(store: Store, named: Iterable[tuple[str, BinaryIO]]) -> None:
    """Keep the requests of each ``(name, file)`` in ``store``, read where they
    lie. A capture file (JSON Lines) is indexed line by line and read again
    when a record is asked for; what comes through a pipe is first copied to
    a private temporary file; anything else (a raw body, an HTTP request, a
    curl command, a JSON array of records...) is read, made into records as
    :func:`records_of_files` makes them, and written to one. So memory holds
    16 bytes a record, not the records. An unreadable record is an
    InputError naming the file and the line."""
    spool: Any = None
    for name, given in named:
        if _is_regular(given):
            file = given
            store.open.append(file)
        else:
            file = _copied(given, store)
        if record_of_line(_first_line_of(file)) is not None:
            try:
                store.attach(_indexed(file))
            except InputError as exc:
                raise InputError(f"{name}: {exc}") from None
            continue
        data = file.read()
        if spool is None:
            spool = tempfile.TemporaryFile()
            store.open.append(spool)
        lines = _Lines(spool.fileno())
        for record in records_of_files([(name, data)]):
            line = record_bytes(record)
            lines.starts.append(spool.tell())
            spool.write(line)
            lines.ends.append(spool.tell())
        spool.flush()
        store.attach(lines)


def _is_regular(file: BinaryIO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(file.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both
        return False


def _copied(file: BinaryIO, store: Store) -> BinaryIO:
    """What a pipe (or another stream) holds, in a private temporary file."""
    copy = tempfile.TemporaryFile()
    store.open.append(copy)
    shutil.copyfileobj(file, copy, 1 << 20)
    copy.seek(0)
    return copy  # type: ignore[return-value]


def _first_line_of(file: BinaryIO) -> bytes:
    """The first line that is not blank (less a byte order mark); the file is
    left at its start."""
    try:
        for line in file:
            line = line.removeprefix(BOM)
            if line.strip():
                return line
        return b""
    finally:
        file.seek(0)


def _indexed(file: BinaryIO) -> _Lines:
    lines = _Lines(file.fileno())
    offset = 0
    for number, line in enumerate(file, 1):
        end = offset + len(line)
        text = line.removeprefix(BOM) if number == 1 else line
        if text.strip():
            fields = record_on_line(text, number)
            try:
                body_of(fields)
            except InputError as exc:
                raise InputError(f"line {number}: {exc}") from None
            lines.starts.append(end - len(text))
            lines.ends.append(end)
        offset = end
    return lines


BOM = b"\xef\xbb\xbf"


def _guess_type(body: bytes) -> str:
    if json_object(body) is not None:
        return "application/json"
    return "application/x-www-form-urlencoded"


# -- what the detail shows -------------------------------------------------------------


def decoded_as_decode(line: bytes) -> tuple[Any, bool, list[str]]:
    """The record's body as ``amodp decode`` prints it: (value, whether it is
    a JSON body shown as sent, warnings): the JSON itself when decode shows
    it as sent (:func:`amodp.bodies.sent_json`), else PHP's ``$_POST``."""
    from .bodies import sent_json
    from .inputs import read_sources

    (source,) = read_sources(line, "capture")
    sent = sent_json(source, line)
    if sent is not None:
        return sent[0], True, list(source.warnings)
    result = parse(source.body)
    return result.value, False, [*source.warnings, *result.warnings]


def summary_lines(value: Any, body: bytes) -> list[str]:
    """``amodp decode --summary``'s lines: one per event item."""
    from .catalog import detect, detect_callback, summary_line

    found = detect(value)
    if not found:
        callback = detect_callback(json_object(body) or value)
        found = [callback] if callback else []
    return [summary_line(group, item) for group in found for item in group.items]


def detail(line: bytes, summary: dict[str, Any], store: Store, target: str | None) -> dict:
    """Everything the detail pane shows of one record."""
    record = load_record(line)
    body = body_of(record)
    value, is_json, warnings = decoded_as_decode(line)
    if record.get("note"):
        warnings = [f"note: {record['note']}", *warnings]
    signature = None
    if "signature" in record:
        signature = {
            "status": record["signature"],
            "scheme": record.get("signature_scheme"),
            "reason": record.get("signature_reason"),
        }
    elif store.secret is not None:
        verdict = signature_of(record, store.secret)
        signature = {"status": verdict.status, "scheme": verdict.scheme, "reason": verdict.reason}
    query = record.get("query") or ""
    return {
        "id": summary["id"],
        "summary": summary,
        "record": record,
        "decoded": value,
        "decoded_text": to_json(value),
        "decoded_is_json": is_json,
        "form": record.get("decoded") is not None or not is_json,
        "body": body.decode("utf-8", "replace"),
        "body_is_text": "body" in record,
        "headers": record.get("headers") or [],
        "query": parse_qsl(query, keep_blank_values=True),
        "summary_lines": summary_lines(value, body),
        "warnings": warnings,
        "signature": signature,
        "answer": {
            "status": record.get("status"),
            "received_at": record.get("received_at"),
            "answered_at": summary.get("answered_at"),
            "forward": record.get("forward"),
        },
        "replay_target": target_of(record, target),
        "can_resign": store.secret is not None,
    }


def target_of(record: Mapping[str, Any], base: str | None) -> str | None:
    """Where a replay goes by default: ``base`` (``--forward-to``, ``--url``)
    joined with the record's path, as the listener forwards it."""
    if not base:
        return None
    from .sender import join_url

    return join_url(base, str(record.get("path") or "/"))


def load_record(line: bytes) -> dict[str, Any]:
    import orjson

    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:  # lone surrogates (a body that was not UTF-8)
        value = json.loads(line)
    if not isinstance(value, dict):
        raise InputError("not a record")
    return value


# -- filters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """What the list asks for: an event (``status`` or ``leads.status``), an
    entity id, a status (``200`` or ``2xx``), text anywhere in the decoded body."""

    event: str = ""
    entity_id: str = ""
    status: str = ""
    text: str = ""

    @classmethod
    def of(cls, params: Mapping[str, str]) -> Filter:
        return cls(
            params.get("event", "").strip(),
            params.get("id", "").strip(),
            params.get("status", "").strip().lower(),
            params.get("q", "").strip(),
        )

    def __bool__(self) -> bool:
        return bool(self.event or self.entity_id or self.status or self.text)

    def matches(self, line: bytes, summary: Mapping[str, Any]) -> bool:
        if self.event and not any(
            self.event in (name, name.partition(".")[2]) for name in summary["events"]
        ):
            return False
        if self.entity_id and self.entity_id not in summary["ids"]:
            return False
        if self.status:
            status = str(summary["status"])
            wanted = self.status
            if not (status == wanted or (wanted.endswith("xx") and status[:1] == wanted[:1])):
                return False
        return not self.text or self.found_in(line)

    def found_in(self, line: bytes) -> bool:
        """Whether the text is in a key or value of the decoded body (any case)."""
        needle = self.text.casefold()
        if needle.isascii() and not re.search(r'["\\\x00-\x1f]', needle):
            # The line holds every key and value as written (JSON escapes only
            # quotes, backslashes and control characters): a quick no.
            if needle.encode() not in line.lower():
                return False
        record = load_record(line)
        value = record.get("decoded")
        if value is None:
            try:
                value, _, _ = decoded_as_decode(line)
            except AmodpError:
                return False
        return any(needle in text.casefold() for text in _texts(value))


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif value is not None:
        yield value if isinstance(value, str) else json.dumps(value)


# -- compare ------------------------------------------------------------------------------


def differences(a: Any, b: Any) -> list[dict[str, Any]]:
    """What changed from ``a`` to ``b`` (two decoded bodies), leaf by leaf,
    each path written as a form names it (``leads[status][0][status_id]``):
    ``added`` (with ``to``), ``removed`` (with ``from``) or ``changed``.

    >>> differences({"a": {"b": "1"}, "c": ["x"]}, {"a": {"b": "2"}, "c": ["x", "y"]})
    [{'path': 'a[b]', 'change': 'changed', 'from': '1', 'to': '2'}, \
{'path': 'c[1]', 'change': 'added', 'to': 'y'}]
    """
    out: list[dict[str, Any]] = []
    _diff(None, a, b, out)
    return out


_MISSING = object()


def _children(value: Any) -> dict[Any, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return dict(enumerate(value))
    return None


def _path(prefix: str | None, key: Any) -> str:
    return str(key) if prefix is None else f"{prefix}[{key}]"


def _diff(path: str | None, a: Any, b: Any, out: list[dict[str, Any]]) -> None:
    left, right = _children(a), _children(b)
    if left is not None and right is not None and (left or right):
        for key in [*left, *(k for k in right if k not in left)]:
            _diff(_path(path, key), left.get(key, _MISSING), right.get(key, _MISSING), out)
        return
    if a is _MISSING:
        out.extend({"path": p or "", "change": "added", "to": v} for p, v in _leaves(path, b))
    elif b is _MISSING:
        out.extend({"path": p or "", "change": "removed", "from": v} for p, v in _leaves(path, a))
    elif a != b or type(a) is not type(b):
        out.append({"path": path or "", "change": "changed", "from": a, "to": b})


def _leaves(path: str | None, value: Any) -> Iterator[tuple[str | None, Any]]:
    children = _children(value)
    if not children:
        yield path, value
        return
    for key, item in children.items():
        yield from _leaves(_path(path, key), item)


# -- export -------------------------------------------------------------------------------


def export(kind: str, line: bytes, number: int, target: str | None) -> tuple[str, str, str]:
    """(text, media type, file name) of a record exported as ``kind`` (one of
    :data:`EXPORTS`). ``target`` is where curl and the test send it (else
    where it was received)."""
    record = load_record(line)
    if kind == "record":
        return line.decode("utf-8"), "application/x-ndjson", f"record-{number}.jsonl"
    request = _request_to(record, number, target)
    if kind == "curl":
        return request.curl() + "\n", "text/plain", f"record-{number}.sh"
    if kind == "har":
        return to_json(har(record, request)) + "\n", "application/json", f"record-{number}.har"
    if kind == "pytest":
        text = pytest_text(line, record, request, number)
        return text, "text/x-python", f"test_record_{number}.py"
    raise UsageError(f"unknown export {kind!r}; choose from: {', '.join(EXPORTS)}", param="as")


def _request_to(record: dict[str, Any], number: int, url: str | None) -> Request:
    """The record as a request: to ``url`` when given, else to where it was received."""
    from .replay import request_of

    capture = CaptureRecord(number, record, body_of(record))
    if url:
        return request_of(capture, url).with_url(url)
    return Request.from_record(record)


def har(record: Mapping[str, Any], request: Request) -> dict[str, Any]:
    """A HAR 1.2 log of one entry: the request as it is sent again, and what
    the listener answered."""
    from . import __version__
    from .listener import reason

    body = request.body
    content_type = request.header("content-type") or ""
    post: dict[str, Any] = {"mimeType": content_type}
    try:
        post["text"] = body.decode("utf-8")
        if media_type(content_type) == "application/x-www-form-urlencoded":
            post["params"] = [
                {"name": k, "value": v} for k, v in parse_qsl(post["text"], keep_blank_values=True)
            ]
    except UnicodeDecodeError:
        import base64

        post["text"] = base64.b64encode(body).decode("ascii")
        post["_encoding"] = "base64"  # HAR's own fields have no encoding for a request body
    status = record.get("status")
    forward = record.get("forward") if isinstance(record.get("forward"), dict) else None
    wait = forward.get("latency_ms") if forward and forward.get("latency_ms") else 0
    entry = {
        "startedDateTime": record.get("received_at") or now_iso(),
        "time": wait,
        "request": {
            "method": request.method,
            "url": request.url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [{"name": k, "value": v} for k, v in request.headers],
            "queryString": [
                {"name": k, "value": v} for k, v in parse_qsl(request.query, keep_blank_values=True)
            ],
            "postData": post,
            "headersSize": -1,
            "bodySize": len(body),
        },
        "response": {
            "status": status if isinstance(status, int) else 0,
            "statusText": reason(status).partition(" ")[2] if isinstance(status, int) else "",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [],
            "content": {"size": -1, "mimeType": "text/plain"},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": wait, "receive": 0},
    }
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "amodp", "version": __version__},
            "entries": [entry],
        }
    }


def pytest_text(line: bytes, record: Mapping[str, Any], request: Request, number: int) -> str:
    """A pytest module that replays the record through the ``amodp_webhook``
    fixture (``from_capture``): the same method, path, query, headers and
    body bytes, posted to a receiver."""
    found = [e for e in record.get("events") or () if isinstance(e, dict)]
    events = ", ".join(f"{e.get('entity')}.{e.get('event')}" for e in found)
    name = re.sub(r"\W+", "_", events or "request").strip("_").lower() or "request"
    parts = urlsplit(request.url)
    base = f"{parts.scheme}://{parts.netloc}"
    literal = _bytes_literal(line.rstrip(b"\n"))
    return f'''"""Replays record {number} ({events or "no amoCRM event"}, received \
{record.get("received_at") or "?"}) exactly as it arrived.

Exported by amodp inspect. Point it at your receiver with AMODP_RECEIVER (a URL),
or set RECEIVER to your WSGI or ASGI app. The record is the capture record amodp
listen saved; amodp_webhook.from_capture sends its bytes as they were received.
"""

import os

RECEIVER = os.environ.get("AMODP_RECEIVER", {base!r})
RECORD = {literal}


def test_record_{number}_{name}_is_accepted(amodp_webhook, tmp_path):
    capture = tmp_path / "record.jsonl"
    capture.write_bytes(RECORD + b"\\n")
    webhook = amodp_webhook.from_capture(capture)
    response = webhook.post(RECEIVER, path=webhook.target)
    assert 200 <= response.status < 300, response.text
'''


def _bytes_literal(data: bytes, width: int = 76) -> str:
    """``data`` as a Python bytes literal, over several lines when long."""
    if len(data) <= width:
        return repr(data)
    chunks = [repr(data[i : i + width]) for i in range(0, len(data), width)]
    return "(\n" + "".join(f"    {chunk}\n" for chunk in chunks) + ")"


# -- replay ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Replay:
    """A request to send again: what it is, where, and what was done to it."""

    request: Request
    notes: tuple[str, ...] = ()


def replay_request(
    record: dict[str, Any],
    number: int,
    url: str,
    edited: Any = None,
    secret: str | None = None,
) -> Replay:
    """The record as a request to ``url``: the same bytes, or, with
    ``edited`` (the decoded body, changed; or a string: the raw body), that
    body encoded as amoCRM encodes it and signed again when ``secret`` is
    known and the request was signed (:func:`amodp.signing.resign`)."""
    from .sender import check_url
    from .signing import resign

    check_url(url)
    original = _request_to(record, number, url)
    if edited is None:
        return Replay(original)
    notes: list[str] = []
    if original.method == "GET" and not original.body and not isinstance(edited, str):
        request = _edited_query(original, edited)
    else:
        if isinstance(edited, str):
            body = edited.encode("utf-8")
        elif not isinstance(edited, (dict, list)):
            raise InputError("the edited body must be a JSON object, an array or a string")
        elif json_object(original.body) is not None:
            body = _json_like(edited, original.body)
        else:
            body = encode(edited).encode("ascii")
        headers = tuple((k, v) for k, v in original.base_headers if k.lower() != "content-encoding")
        if len(headers) != len(original.base_headers):
            notes.append("sent without Content-Encoding: the edited body is not compressed")
        request = replace(original, body=body, base_headers=headers, data=None)
    request, said = resign(request, secret)
    return Replay(request, (*notes, *said))


def _json_like(value: Any, original: bytes) -> bytes:
    """``value`` as JSON written the way the original body was: indented,
    PHP's ``\\/`` and ``\\uXXXX``, or compact."""
    if b"\n" in original.strip():
        return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")
    if b"\\/" in original or (original.isascii() and b"\\u" in original):
        text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
        return text.replace("/", "\\/").encode("ascii")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _edited_query(original: Request, edited: Any) -> Request:
    """A GET callback (OAuth) with its query edited."""
    if not isinstance(edited, dict):
        raise InputError("the edited query must be a JSON object of names and values")
    params = {str(k): "" if v is None else str(v) for k, v in edited.items()}
    url = urlsplit(original.url)._replace(query=urlencode(params)).geturl()
    return replace(original, url=url, data=None)
