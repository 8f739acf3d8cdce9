"""Capture records: one JSON object per received webhook (JSON Lines).

The same shape is what ``amodp listen --json`` prints and ``--save`` writes,
what ``amodp decode`` reads back and what ``amodp send --replay`` resends::

    received_at  UTC time, ISO 8601 with microseconds and "Z"
    remote       "host:port" of the peer that connected (X-Forwarded-For stays a header)
    method, path, query   the request line (query without "?")
    headers      [[name, value], ...] in the order received (names lower-case)
    body         the body as text when it is valid UTF-8 ...
    body_base64  ... else base64 of its bytes (exactly one of the two is present)
    decoded      what PHP's $_POST holds, or null when the body is not a form
    events       [{"kind", "entity", "event", "ids"}] recognised in it
    status       the HTTP status the listener answered
    note         why the body was not decoded, or what went wrong (optional)
    forward      {"url", "status", "latency_ms", "error"} with --forward-to (optional)
    signature    "valid", "invalid" or "absent" with listen --secret (else no such key)
    signature_scheme  "chat", "salesbot", "disabled" or "amojo": the scheme found (optional)
    signature_reason  why the signature is invalid (only when it is)
    drift        how the body differs from the catalog's shape of its event:
                 [{"what", "event", "field"}] (only when it does; amodp.drift)

One writer (:func:`record_bytes`, :func:`record_line`) and one reader
(:func:`read_records`), which every command uses: a capture file is JSON
Lines, a JSON array of records, or one record (pretty-printed or not).
:func:`select_records` picks records by place, event or request id.

Standard library only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from functools import cache, lru_cache, partial
from typing import TYPE_CHECKING, Any

from .codec import Decoded, Shapes, load_json, parse, to_json
from .errors import InputError

if TYPE_CHECKING:
    from .catalog import Detected

__all__ = [
    "CaptureRecord",
    "Forms",
    "body_of",
    "callback_of",
    "callback_value",
    "header",
    "is_form",
    "is_record",
    "json_object",
    "looks_like_records",
    "make_record",
    "media_type",
    "read_records",
    "record_bytes",
    "record_line",
    "record_of_line",
    "record_on_line",
    "select_records",
]

FORM_TYPE = "application/x-www-form-urlencoded"


_second: list[Any] = [None, ""]  # the last whole second formatted, and its text


def now_iso() -> str:
    """UTC now as ``2026-11-25T20:12:32.123456Z`` (the date part is formatted
    once a second: a listener calls this for every request)."""
    second, ns = divmod(time.time_ns(), 1_000_000_000)
    if second != _second[0]:
        _second[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second[0] = second
    return f"{_second[1]}.{ns // 1000:06d}Z"


def header(headers: Iterable[Sequence[str]], name: str) -> str | None:
    """The first value of the header ``name`` (any case) in ``[name, value]``
    pairs, or None.

    >>> header([["Content-Type", "application/json"]], "content-type")
    'application/json'
    """
    name = name.lower()
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


@lru_cache(maxsize=64)  # a listener sees the same few, request after request
def media_type(content_type: str) -> str:
    """``application/json`` of ``Application/JSON; charset=utf-8``."""
    return content_type.split(";", 1)[0].strip().lower()


def is_form(content_type: str | None, body: bytes) -> tuple[bool, str | None]:
    """Whether to decode a body as a form, and a note when not."""
    if not body:
        return False, "empty body"
    media = media_type(content_type or "")
    if media == FORM_TYPE:
        return True, None
    if media:
        return False, f"body is {media}, not a form: kept raw"
    # No Content-Type: decode when it looks like a form, as PHP would not.
    if body[:64].lstrip()[:1] in (b"{", b"["):
        return False, "body looks like JSON and has no Content-Type: kept raw"
    return True, "no Content-Type: decoded as a form anyway"


def make_record(
    *,
    remote: str,
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    status: int | None,
    received_at: str | None = None,
    note: str | None = None,
    decode_body: bool = True,
) -> dict[str, Any]:
    """A capture record; ``status`` is what was answered, None for a
    request not answered yet (one amodp is about to send)."""
    return build_record(
        remote,
        method,
        path,
        query,
        [[k, v] for k, v in headers],
        header(headers, "content-type"),
        body,
        status,
        received_at or now_iso(),
        note,
        decode_body,
    )


def build_record(
    remote: str,
    method: str,
    path: str,
    query: str,
    headers: list[list[str]],
    content_type: str | None,
    body: bytes,
    status: int | None,
    received_at: str,
    note: str | None = None,
    decode_body: bool = True,
    read_form: Callable[[bytes], tuple[Decoded, list[dict[str, Any]]]] | None = None,
) -> dict[str, Any]:
    """:func:`make_record` for a caller that has the headers as the record
    holds them (``headers`` becomes part of the record) and their Content-Type;
    ``read_form`` decodes a form and finds its events (the listener passes
    its :class:`Forms`; by default :func:`amodp.codec.parse` and
    :func:`amodp.catalog.detect_events`)."""
    record: dict[str, Any] = {
        "received_at": received_at,
        "remote": remote,
        "method": method,
        "path": path,
        "query": query,
        "headers": headers,
    }
    try:
        record["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        import base64  # here: `amodp decode` of a text body starts without it

        record["body_base64"] = base64.b64encode(body).decode("ascii")
    decoded: Any = None
    events: list[dict[str, Any]] = []
    form, why = is_form(content_type, body)
    if decode_body and form:
        result, events = (read_form or _read_form)(body)
        decoded = result.value
        if result.warnings:
            why = "; ".join(filter(None, [why, *result.warnings]))
    elif decode_body:
        found = callback_of(body, query, method)
        events = [found.as_dict()] if found is not None else []
    record["decoded"] = decoded
    record["events"] = events
    record["status"] = status
    if note or why:
        record["note"] = f"{note}; {why}" if note and why else note or why
    return record


def _read_form(body: bytes) -> tuple[Decoded, list[dict[str, Any]]]:
    from .catalog import detect_events  # here: only what decodes a body needs the catalog

    result = parse(body)
    return result, detect_events(result.value)


class Forms:
    """What a listener reads of each form body: PHP's decoding and the
    webhook events in it, as :func:`build_record` does by default, learnt once
    per body shape. A receiver sees the same few shapes again and again: the
    decoding of a shape is learnt by :class:`amodp.codec.Shapes`, and its
    events by :func:`amodp.catalog.events_plan` when they do not depend on
    the values (then only the ids are read from each body). At most ``size``
    shapes are kept."""

    def __init__(self, size: int = 256) -> None:
        from . import catalog

        self.size = size
        self.shapes = Shapes(size)
        self.plans: dict[str, catalog.EventsPlan | None] = {}
        self.catalog = catalog

    def read(self, body: bytes) -> tuple[Decoded, list[dict[str, Any]]]:
        result = self.shapes.parse(body)
        if result.shape is None or not isinstance(result.value, dict):
            return result, self.catalog.detect_events(result.value)
        try:
            plan = self.plans[result.shape]
        except KeyError:
            if len(self.plans) >= self.size:
                self.plans.clear()
            plan = self.plans[result.shape] = self.catalog.events_plan(result.value)
        if plan is None:  # they depend on the values
            return result, self.catalog.detect_events(result.value)
        return result, plan.events(result.value)


def json_object(body: bytes) -> dict[str, Any] | None:
    """The JSON object ``body`` is, read as PHP's ``json_decode`` reads it (see
    :func:`amodp.codec.load_json`), or None: how a receiver tells a callback
    sent as JSON (a Chats API hook, a Salesbot call) from a form.

    >>> json_object(b' {"a": 1}'), json_object(b"a=1"), json_object(b'{"a": NaN}')
    ({'a': 1}, None, None)
    """
    if body.lstrip()[:1] != b"{":
        return None
    value = _json(body)
    return value if isinstance(value, dict) else None


def callback_of(body: bytes, query: str = "", method: str = "POST") -> Detected | None:
    """The callback a request that is not a form is (:func:`amodp.catalog.detect_callback`):
    a Chats API hook or a Salesbot call by its JSON body, an OAuth GET (no
    body) by its query; None when it is none.

    >>> callback_of(b"", "client_uuid=u&account_id=1&signature=s", "GET").name
    'oauth.disabled'
    """
    value = callback_value(body, query, method)
    if value is None:
        return None
    from .catalog import detect_callback  # here: a form body does without the catalog

    return detect_callback(value)


def callback_value(body: bytes, query: str = "", method: str = "POST") -> dict[str, Any] | None:
    """What a callback is read from: a JSON body's object, or a bodiless
    GET's query parameters; None for anything else."""
    value: dict[str, Any] | None = json_object(body)
    if value is None and not body and query and method.upper() == "GET":
        from urllib.parse import parse_qsl

        value = dict(parse_qsl(query, keep_blank_values=True))
    return value


def record_line(record: dict[str, Any]) -> str:
    """One JSON line (no newline), UTF-8 kept, for stdout and the save file."""
    return to_json(record, indent=None)


def record_bytes(record: dict[str, Any]) -> bytes:
    """:func:`record_line` plus a newline, as UTF-8: the same bytes, made by
    orjson where it can (a listener makes one per request, and orjson takes a
    tenth of the standard library's time), by :func:`to_json` where orjson
    would differ (names with invalid UTF-8, U+2028/U+2029)."""
    plain, non_str_keys = _orjson_dumps()
    try:
        line: bytes = plain(record)
    except TypeError:  # orjson.JSONEncodeError
        try:
            line = non_str_keys(record)  # a dict with int keys (PHP's "123")
        except TypeError:  # surrogates, nesting past 255
            return _slow_bytes(record)
    # orjson writes U+2028/U+2029 raw, to_json escapes them; an ASCII line
    # (every DP body) holds neither, and checking that is all but free.
    if line.isascii() or (b"\xe2\x80\xa8" not in line and b"\xe2\x80\xa9" not in line):
        return line
    return _slow_bytes(record)


def _slow_bytes(record: dict[str, Any]) -> bytes:
    return (to_json(record, indent=None) + "\n").encode("utf-8")


@cache
def _orjson_dumps() -> tuple[Callable[[Any], bytes], Callable[[Any], bytes]]:
    import orjson  # here: send --replay and --redact read records, never write them

    newline = orjson.OPT_APPEND_NEWLINE
    return (
        partial(orjson.dumps, option=newline),
        partial(orjson.dumps, option=newline | orjson.OPT_NON_STR_KEYS),
    )


def body_of(record: dict[str, Any]) -> bytes:
    """The exact body bytes of a record.

    >>> body_of({"body": "a=1"}), body_of({"body_base64": "/w=="})
    (b'a=1', b'\\xff')
    """
    if "body_base64" in record:
        encoded = record["body_base64"]
        if not isinstance(encoded, str):
            raise InputError("body_base64 is not a string")
        import base64

        try:
            return base64.b64decode(encoded, validate=True)
        except ValueError:  # binascii.Error is a ValueError
            raise InputError("body_base64 is not valid base64") from None
    if "body" not in record:
        raise InputError("the record has neither body nor body_base64")
    body = record["body"]
    if not isinstance(body, str):
        raise InputError("body is not a string")
    try:
        # A "\udcff" escape is a byte that was not UTF-8 (Python's surrogateescape).
        return body.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"body holds a lone surrogate (\\u{ord(body[exc.start]):04x}), which is no text and "
            "no byte: a body that is not UTF-8 goes in body_base64"
        ) from None


# -- reading ------------------------------------------------------------------------

_RECORD_HELP = "a JSON object with received_at and body or body_base64"


def is_record(value: Any) -> bool:
    """Whether a JSON value is a capture record: an object with
    ``received_at`` and ``body`` or ``body_base64``."""
    return (
        isinstance(value, dict)
        and "received_at" in value
        and ("body" in value or "body_base64" in value)
    )


class CaptureRecord:
    """One record of a capture file, as read back (read-only; a plain
    class: a dataclass costs start-up time on every ``amodp decode``)."""

    __slots__ = ("number", "fields", "body")

    number: int  # its place in the file, from 1
    fields: dict[str, Any]  # the JSON object as written
    body: bytes  # the exact body bytes (see body_of)

    def __init__(self, number: int, fields: dict[str, Any], body: bytes) -> None:
        object.__setattr__(self, "number", number)
        object.__setattr__(self, "fields", fields)
        object.__setattr__(self, "body", body)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a CaptureRecord is read-only")

    def __eq__(self, other: object) -> bool:
        if type(other) is not CaptureRecord:
            return NotImplemented
        return (self.number, self.fields, self.body) == (other.number, other.fields, other.body)

    __hash__ = None  # type: ignore[assignment]  # its fields are a dict

    def __repr__(self) -> str:
        return f"CaptureRecord(number={self.number!r}, fields={self.fields!r}, body={self.body!r})"

    @property
    def label(self) -> str:
        """``record 3 POST /amo/hook``: its number, method and path when known."""
        words = [f"record {self.number}"]
        for key in ("method", "path"):
            value = self.fields.get(key)
            if isinstance(value, str) and value:
                words.append(value)
        return " ".join(words)

    @property
    def headers(self) -> list[tuple[str, str]]:
        """The headers that are ``[name, value]`` pairs of strings, in order."""
        found = self.fields.get("headers")
        if not isinstance(found, list):
            return []
        return [
            (h[0], h[1])
            for h in found
            if isinstance(h, (list, tuple))
            and len(h) == 2
            and isinstance(h[0], str)
            and isinstance(h[1], str)
        ]

    def header(self, name: str) -> str | None:
        """The first header of that name (any case), or None."""
        return header(self.headers, name)

    def request_line(self) -> tuple[str, str, str]:
        """``(method, path, query)`` to send it again; InputError when missing."""
        method, path = self.fields.get("method"), self.fields.get("path")
        query = self.fields.get("query") or ""
        if not isinstance(method, str) or not method:
            raise InputError(f"record {self.number}: no method to send it with")
        if not isinstance(path, str) or not path:
            raise InputError(f"record {self.number}: no path to send it to")
        if not isinstance(query, str):
            raise InputError(f"record {self.number}: query is not a string")
        return method, path, query

    def events(self) -> list[dict[str, Any]]:
        """``[{"kind", "entity", "event", "ids"}]``: the events the record
        lists, or, when it lists none (a record written by hand), those its
        body holds."""
        events = self.fields.get("events")
        if not isinstance(events, list):
            from .catalog import detect_events

            events = detect_events(parse(self.body).value)
        return [e for e in events if isinstance(e, dict) and isinstance(e.get("event"), str)]

    def event_names(self) -> list[str]:
        """``["leads.status"]``: the names of :meth:`events`."""
        return [f"{e.get('entity')}.{e.get('event')}" for e in self.events()]


def _json(text: bytes) -> Any:
    """A JSON value, or None when the text is not JSON (null is no record either)."""
    try:
        return load_json(text.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None


def record_of_line(line: bytes) -> dict[str, Any] | None:
    """The capture record on one line of a JSON Lines file, or None."""
    line = line.strip()
    if not (line.startswith(b"{") and line.endswith(b"}")):
        return None
    value = _json(line)
    return value if is_record(value) else None  # type: ignore[no-any-return]


def record_on_line(line: bytes, number: int) -> dict[str, Any]:
    """The capture record on line ``number`` of a JSON Lines file; an
    InputError naming the line when it is none."""
    value = record_of_line(line)
    if value is None:
        raise InputError(f"line {number} is not a capture record ({_RECORD_HELP})")
    return value


def _first_line(data: bytes) -> bytes:
    """The first line that is not blank (b"" if none), less its leading blanks."""
    return data.lstrip().partition(b"\n")[0]


def looks_like_records(data: bytes) -> bool:
    """Whether ``data`` is a capture file: its first line a record, or the
    whole of it one record or an array of records."""
    data = data.removeprefix(b"\xef\xbb\xbf").strip()
    if record_of_line(_first_line(data)) is not None:
        return True
    if data[:1] not in (b"{", b"["):
        return False
    value = _json(data)
    return is_record(value) or (
        isinstance(value, list) and bool(value) and all(is_record(v) for v in value)
    )


def read_records(data: bytes) -> list[CaptureRecord]:
    """The records of a capture file: JSON Lines, a JSON array of records, or
    one record (pretty-printed too). Every body is read as it was sent; a
    record that cannot be read is an InputError naming its line or number.

    >>> data = b'{"received_at": "2026-11-25T13:30:34.896120Z", "body": "a=1"}\\n'
    >>> [(r.number, r.body) for r in read_records(data + data)]
    [(1, b'a=1'), (2, b'a=1')]
    """
    data = data.removeprefix(b"\xef\xbb\xbf")
    if not data.strip():
        raise InputError("empty input")
    values: list[Any] = []
    if record_of_line(_first_line(data)) is not None:
        for number, line in enumerate(data.split(b"\n"), 1):
            if line.strip():
                values.append(record_on_line(line, number))
    else:
        # Not JSON Lines: one record pretty-printed, or an array of them.
        value = _json(data.strip())
        if is_record(value):
            values = [value]
        elif isinstance(value, list) and value and is_record(value[0]):
            for number, item in enumerate(value, 1):
                if not is_record(item):
                    raise InputError(f"record {number} is not a capture record ({_RECORD_HELP})")
            values = value
        else:
            raise InputError(f"line 1 is not a capture record ({_RECORD_HELP})")
    records = []
    for number, fields in enumerate(values, 1):
        try:
            records.append(CaptureRecord(number, fields, body_of(fields)))
        except InputError as exc:
            raise InputError(f"record {number}: {exc}") from None
    return records


def select_records(
    records: list[CaptureRecord],
    *,
    index: int | None = None,
    event: str | None = None,
    request_id: str | None = None,
) -> list[CaptureRecord]:
    """The records asked for: the ``index``-th of the file (from 1), those
    with ``event`` (``"status"`` or ``"leads.status"``), the one with
    ``request_id`` (its ``X-Amocrm-Requestid`` header); all of them when
    nothing is asked. Asking for what is not there is an InputError.

    >>> line = b'{"received_at": "x", "headers": [["x-amocrm-requestid", "%d"]], "body": ""}\\n'
    >>> found = read_records(b"".join(line % i for i in range(5)))
    >>> [r.number for r in select_records(found, request_id="3")]
    [4]
    """
    chosen = records
    if index is not None:
        if not 1 <= index <= len(records):
            raise InputError(f"there is no record {index}: {_count(len(records))} in all")
        chosen = [records[index - 1]]
    if event is not None:
        names = {r.number: r.event_names() for r in chosen}
        found = [r for r in chosen if _has_event(names[r.number], event)]
        if not found:
            seen = sorted({n for group in names.values() for n in group})
            listed = f"; events there: {', '.join(seen)}" if seen else "; no events there"
            raise InputError(f"no record with the event {event!r}{listed}")
        chosen = found
    if request_id is not None:
        chosen = [r for r in chosen if r.header("x-amocrm-requestid") == request_id]
        if not chosen:
            raise InputError(f"no record with the request id {request_id!r}")
    return chosen


def _has_event(names: list[str], event: str) -> bool:
    return any(event in (name, name.partition(".")[2]) for name in names)


def _count(n: int) -> str:
    return f"{n} record" if n == 1 else f"{n} records"
