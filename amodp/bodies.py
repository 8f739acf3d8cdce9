"""What a received body holds: its Content-Encoding undone, what PHP makes
of a newline at its end, and whether it is JSON as sent (a Chats API hook,
a Salesbot call) rather than a form.

``amodp decode`` of a pasted request and ``amodp listen`` of a live one undo
a body's content codings here, the same way (gzip, deflate; last applied
first), and say the same when they cannot. Standard library only; zlib is
imported when a body is compressed.
"""

from __future__ import annotations

import json
from typing import Any

from .codec import decode_value, parse
from .errors import InputError

__all__ = ["TooLarge", "codings", "newline_note", "sent_json", "undo_codings"]


class TooLarge(InputError):
    """Decompressed, the body would be larger than allowed (a small gzip
    body can hold gigabytes)."""


def codings(values: list[str]) -> list[str]:
    """The codings that Content-Encoding (or Transfer-Encoding) headers name, in order."""
    return [c.strip().lower() for value in values for c in value.split(",") if c.strip()]


def undo_codings(body: bytes, named: list[str], limit: int | None = None) -> bytes:
    """``body`` with the codings ``named`` undone, last applied first;
    identity is none. An :class:`InputError` for a coding other than gzip
    and deflate or a body that is not whole; :class:`TooLarge` past
    ``limit`` bytes."""
    import zlib

    for coding in reversed(named):
        if coding in ("gzip", "x-gzip"):
            windows = [16 + zlib.MAX_WBITS]
        elif coding == "deflate":
            # RFC 9110 means zlib-wrapped; some senders send raw deflate.
            windows = [zlib.MAX_WBITS, -zlib.MAX_WBITS]
        elif coding == "identity":
            continue
        else:
            raise InputError(f"Content-Encoding {coding} is not supported (only gzip, deflate)")
        for wbits in windows:
            try:
                unpacked = _inflate(body, wbits, limit)
                break
            except zlib.error as exc:
                error = exc
        else:
            raise InputError(
                f"Content-Encoding {coding}, but the body cannot be decompressed ({error})"
            )
        if unpacked is None:
            raise TooLarge(f"Content-Encoding {', '.join(named)}: over {limit} bytes decompressed")
        body = unpacked
    return body


def _inflate(data: bytes, wbits: int, limit: int | None) -> bytes | None:
    """zlib's decompression of ``data`` (``wbits`` as :func:`zlib.decompress`
    takes it), or None when it is over ``limit`` bytes; a zlib.error when
    it is not whole."""
    import zlib

    unpacker = zlib.decompressobj(wbits)
    out = unpacker.decompress(data, 0 if limit is None else limit + 1)
    if limit is not None and len(out) > limit:
        return None
    if not unpacker.eof:
        raise zlib.error("incomplete or truncated stream")
    return out


def newline_note(body: bytes, redacted: bool = False) -> str | None:
    """What a newline at the end of a form body changes, or None: PHP keeps
    it in the last value (``a=1&b=x\\n`` gives b "x\\n"), or in the last name
    when that has no "=" (``a=1&flag\\n``), and drops it after a "]"
    (``a=1&b[x]\\n``). ``curl --data-binary @file`` sends a file's last
    newline. ``redacted``: the value is not shown, only how it ends."""
    last = body.rpartition(b"&")[2]
    raw_name, is_pair, _ = last.partition(b"=")
    node: Any = parse(last).value
    key: Any = None
    while isinstance(node, (dict, list)) and node:
        key, node = next(iter(node.items())) if isinstance(node, dict) else (0, node[0])
    head = "the body ends in a newline: "
    if not is_pair:
        if not isinstance(key, str) or key.rstrip("\r\n") == key:
            return None  # PHP dropped it
        return head + f"the last name is {json.dumps(key, ensure_ascii=False)} for PHP"
    if not isinstance(node, str) or node.rstrip("\r\n") == node:
        return None
    name = decode_value(raw_name.decode("latin-1"))
    if redacted or len(node) > 40:
        ending = node[len(node.rstrip("\r\n")) :]
        return head + f"{name} ends in {json.dumps(ending)} for PHP"
    return head + f"{name} is {json.dumps(node, ensure_ascii=False)} for PHP"


def sent_json(source: Any, data: bytes) -> tuple[Any, str | None] | None:
    """(the JSON, the callback it is) when a source's body is JSON as sent,
    not a form: a request or record whose Content-Type says JSON (or that has
    none and holds a JSON object), or a JSON input (or a log line's JSON) that
    is an amoCRM callback as it is sent (the JSON reader would otherwise take
    it for a form's data)."""
    from .codec import load_json
    from .records import header, media_type

    if source.form in ("json", "log"):
        raw = source.json_text or data
    elif source.form in ("capture", "http", "curl"):
        media = media_type(header(list(source.headers), "content-type") or "")
        is_json = media == "application/json" or media.endswith("+json")
        if not is_json and (media or not source.body.lstrip().startswith(b"{")):
            return None
        raw = source.body
    else:
        return None
    try:
        value = load_json(raw)
    except (ValueError, RecursionError):
        return None
    from .catalog import detect_callback, event  # here: a form body does without the catalog

    found = detect_callback(value)
    if source.form not in ("json", "log"):
        return value, found.name if found is not None else None
    if found is None or event(found.name, kind=found.kind).content_type != "application/json":
        return None  # not a callback, or one whose data comes as a query (OAuth)
    return value, found.name
