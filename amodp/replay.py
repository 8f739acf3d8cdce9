"""Capture records sent again: which records, as which requests, to where.

``amodp send --replay`` (and anything else that resends a capture) reads
records with :func:`amodp.records.read_records`, picks some with
:func:`amodp.records.select_records`, and turns each into a
:class:`~amodp.request.Request` here: the exact method, path, query, headers
and body that were received, judged by the rules of the kind of event it
carries. Without a URL a record goes back where it was received, but only
to a loopback address: a capture from elsewhere is never sent to a host it
merely names.

Standard library only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from .errors import AmodpError, InputError
from .records import CaptureRecord
from .request import Request

__all__ = [
    "callback_of_source",
    "fresh",
    "is_loopback",
    "origins",
    "received_on",
    "request_of",
    "requests_of",
    "webhook_of",
]

#: the characters of an HTTP token (a method, a header name)
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1); not a name that resolves to one."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def received_on(record: CaptureRecord) -> str:
    """``http://HOST`` of the record's Host header, when that is a loopback
    address; InputError otherwise (say where with a URL)."""
    host = record.header("host")
    where = f"record {record.number}"
    if not host:
        raise InputError(f"{where} has no Host header: say where to send it with --url")
    try:
        name = urlsplit(f"http://{host}").hostname or ""
    except ValueError:
        name = ""
    if not is_loopback(name):
        raise InputError(
            f"{where} was received on {host}, not a loopback address: "
            "say where to send it with --url"
        )
    return f"http://{host}"


def request_of(record: CaptureRecord, url: str = "") -> Request:
    """One record as a request to ``url`` (its path and query kept), or back
    where it was received; InputError (``record N: why``) when it cannot be sent."""
    from .catalog import ALL_KINDS, event
    from .sender import join_url

    where = f"record {record.number}"
    method, path, query = record.request_line()
    if not set(method) <= _TOKEN:
        raise InputError(f"{where}: {method!r} is not an HTTP method")
    for name, value in record.headers:
        if not name or not set(name) <= _TOKEN:
            raise InputError(f"{where}: {name!r} is not a header name")
        if "\r" in value or "\n" in value or not _latin1(value):
            raise InputError(
                f"{where}: the {name} header cannot be sent (line breaks or non-latin-1)"
            )
    found = record.events()
    kinds = {e["kind"] for e in found if e.get("kind") in ALL_KINDS}
    kind = kinds.pop() if len(kinds) == 1 else None
    spec = None
    if kind is not None and len(found) == 1:
        try:
            spec = event(str(found[0]["event"]), str(found[0].get("entity")), kind)
        except AmodpError:  # an event of an older catalog
            spec = None
    names = record.event_names()
    return Request(
        spec,
        kind,
        method,
        join_url(url or received_on(record), path, query),
        record.body,
        record.header("x-amocrm-requestid") or "",
        record.fields.get("decoded"),
        tuple(record.headers),
        label=", ".join(names) or "-",
    )


def requests_of(
    records: Iterable[CaptureRecord], url: str = "", extra: Sequence[tuple[str, str]] = ()
) -> list[Request]:
    """The records as requests to ``url`` (or each back where it was
    received), with the ``extra`` headers merged in."""
    return [request_of(record, url).with_headers(extra) for record in records]


def webhook_of(data: Any, url: str, request_id: str | None = None) -> Request:
    """A webhook that carries ``data`` (what PHP's ``$_POST`` held: a body
    read back by :func:`amodp.inputs.read_sources` and decoded) as amoCRM
    sends it: encoded as amoCRM encodes, with its headers and a request id
    of its own. Its event is the first the catalog finds in ``data``; an
    InputError when there is none."""
    import uuid

    from .catalog import detect, event
    from .codec import encode
    from .generator import webhook_headers

    found = [d for d in detect(data) if d.kind in ("dp", "account")]
    if not found:
        raise InputError(
            "it holds no amoCRM webhook event (leads[status][0][id]=... and the like) "
            "and no callback (a Chats API hook, a Salesbot call, an OAuth GET)"
        )
    first = found[0]
    spec = event(first.event, first.entity, first.kind)
    rid = request_id or str(uuid.uuid4())
    body = encode(data).encode("ascii")
    label = ", ".join(dict.fromkeys(d.name for d in found))
    return Request(spec, spec.kind, "POST", url, body, rid, data, webhook_headers(rid), label=label)


def callback_of_source(
    source: Any, data: bytes, url: str, secret: str | None = None, request_id: str | None = None
) -> Request | None:
    """A callback that ``amodp decode`` reads (:class:`amodp.inputs.Source`
    of ``data``) as amoCRM sends it, or None when it is no callback: a Chats
    API hook's or a Salesbot call's JSON as its bytes stand (a JSON file's,
    a request's, a log line's), an OAuth GET with its query (a request's, or
    ``$_GET`` logged as JSON), with amoCRM's headers for it. It keeps the
    ``X-Signature`` the input carried; with ``secret``, it is signed again
    (:func:`amodp.signing.resign`; a Chats API hook that carried none gets one)."""
    import uuid
    from urllib.parse import urlencode

    from .callbacks import request_of
    from .catalog import detect_callback, event
    from .records import callback_value
    from .signing import resign

    if source.form in ("json", "log"):
        raw, query, method = (source.json_text or data).strip(), "", "POST"
    else:
        raw, query, method = source.body, source.query, source.method or "POST"
        if method.upper() == "GET":
            raw = b""
    value = callback_value(raw, query, method)
    found = detect_callback(value)
    if value is None or found is None:
        return None
    spec = event(found.event, found.entity, found.kind)
    if spec.method == "GET":
        parts = urlsplit(url)
        query = query if not raw else urlencode({k: str(v) for k, v in value.items()})
        url = parts._replace(query="&".join(q for q in (parts.query, query) if q)).geturl()
        raw = b""
    signed = [(k, v) for k, v in source.headers if k.lower() == "x-signature"]
    if not signed and secret is not None and spec.signature_scheme == "chat":
        signed = [("X-Signature", "")]  # filled in by resign
    request = request_of(spec, value, raw, url, request_id or str(uuid.uuid4()), tuple(signed))
    return resign(request, secret)[0] if secret is not None else request


def fresh(request: Request, request_id: str | None = None) -> Request:
    """The same request under a request id of its own (``X-Amocrm-Requestid``
    where it carries one), as amoCRM gives every delivery of a new change."""
    import uuid

    rid = request_id or str(uuid.uuid4())
    if request.header("x-amocrm-requestid") is None:
        return replace(request, request_id=rid)
    headers = tuple(
        (k, rid if k.lower() == "x-amocrm-requestid" else v) for k, v in request.base_headers
    )
    extra = tuple(
        (k, rid if k.lower() == "x-amocrm-requestid" else v) for k, v in request.extra_headers
    )
    return replace(request, request_id=rid, base_headers=headers, extra_headers=extra)


def origins(requests: Iterable[Request]) -> list[str]:
    """``scheme://host:port`` of each distinct place the requests go to, in order."""
    return list(dict.fromkeys(_origin(r.url) for r in requests))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
