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

Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from functools import cache, lru_cache, partial
from typing import Any

from .codec import parse, to_json
from .errors import InputError

__all__ = ["body_of", "is_form", "make_record", "record_bytes", "record_line"]

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


def header(headers: list[tuple[str, str]] | list[list[str]], name: str) -> str | None:
    name = name.lower()
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


@lru_cache(maxsize=64)  # a listener sees the same few, request after request
def _media(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_form(content_type: str | None, body: bytes) -> tuple[bool, str | None]:
    """Whether to decode a body as a form, and a note when not."""
    if not body:
        return False, "empty body"
    media = _media(content_type or "")
    if media == FORM_TYPE:
        return True, None
    if media:
        return False, f"body is {media}, not a form: kept raw"
    # No Content-Type: decode when it looks like a form, as PHP would not.
    head = body[:1].lstrip()
    if head in (b"{", b"["):
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
    status: int,
    received_at: str | None = None,
    note: str | None = None,
    decode_body: bool = True,
) -> dict[str, Any]:
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
    status: int,
    received_at: str,
    note: str | None = None,
    decode_body: bool = True,
) -> dict[str, Any]:
    """:func:`make_record` for a caller that has the headers as the record
    holds them (``headers`` becomes part of the record) and their Content-Type."""
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
        record["body_base64"] = base64.b64encode(body).decode("ascii")
    decoded: Any = None
    events: list[dict[str, Any]] = []
    form, why = is_form(content_type, body)
    if decode_body and form:
        from .catalog import detect_events  # here: only what decodes a body needs the catalog

        result = parse(body)
        decoded = result.value
        events = detect_events(decoded)
        if result.warnings:
            why = "; ".join(filter(None, [why, *result.warnings]))
    record["decoded"] = decoded
    record["events"] = events
    record["status"] = status
    if note or why:
        record["note"] = f"{note}; {why}" if note and why else note or why
    return record


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
    """The exact body bytes of a record."""
    if "body_base64" in record:
        try:
            return base64.b64decode(record["body_base64"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise InputError("a record's body_base64 is not valid base64") from None
    body = record.get("body")
    if not isinstance(body, str):
        raise InputError("a record has neither body nor body_base64")
    return body.encode("utf-8", "surrogateescape")
