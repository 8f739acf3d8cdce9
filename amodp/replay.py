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
from urllib.parse import urlsplit

from .errors import AmodpError, InputError
from .records import CaptureRecord
from .request import Request

__all__ = ["is_loopback", "origins", "received_on", "request_of", "requests_of"]

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
