"""One request amodp sends, whatever made it.

A DP or account-level webhook, a Chats API hook, a Salesbot call, an OAuth
callback and a capture record sent again are all a :class:`Request`: the
event it carries (when the catalog knows it), its kind, method, URL, headers
and exact body, its request id and what a receiver decodes from it. There is
one way to put it on the wire (:meth:`Request.http`), to write it as a curl
command (:meth:`Request.curl`) and as a capture record (:meth:`Request.record`),
and one rule for the headers a user adds (:func:`merge_headers`).

Standard library only.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from .catalog import Event

__all__ = ["Request", "merge_headers"]

Headers = tuple[tuple[str, str], ...]

#: headers the URL and the body decide: filled in when the request is rendered
_COMPUTED = ("host", "content-length")


def merge_headers(base: Sequence[tuple[str, str]], extra: Sequence[tuple[str, str]]) -> Headers:
    """``extra`` replaces a header of the same name (any case) in its place,
    under the name as ``extra`` spells it, or is added at the end."""
    out = list(base)
    for name, value in extra:
        lowered = name.lower()
        for i, (old, _) in enumerate(out):
            if old.lower() == lowered:
                out[i] = (name, value)
                break
        else:
            out.append((name, value))
    return tuple(out)


def _host(url: str) -> str:
    return urlsplit(url).netloc.rpartition("@")[2] or "localhost"


@dataclass(frozen=True)
class Request:
    """One request, byte for byte as amoCRM sends it (or as it was captured).

    ``base_headers`` are the headers in wire order; ``Host`` and
    ``Content-Length`` among them take their values from ``url`` and
    ``body`` when rendered. ``extra_headers`` are the user's (``-H``), merged
    in last by :func:`merge_headers`. ``data`` is what a receiver decodes:
    PHP's ``$_POST`` for a form, the parsed JSON body, or ``$_GET`` of a GET.
    ``kind`` is None for a capture whose body carries no known event.
    """

    event: Event | None
    kind: str | None
    method: str
    url: str
    body: bytes
    request_id: str
    data: Any = None
    base_headers: Headers = ()
    extra_headers: Headers = ()
    #: what the request is called in reports: the event's name, or a capture's events
    label: str = ""

    @classmethod
    def received(
        cls,
        method: str,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        query: str | Mapping[str, str] = "",
        body: bytes = b"",
        path: str = "/",
    ) -> Request:
        """A request as a receiver got it, from its parts (what
        :func:`amodp.signing.verify` reads): ``headers`` a mapping or pairs,
        ``query`` the raw query string or a mapping. Its URL is made of the
        ``Host`` header (``localhost`` without one), ``path`` and ``query``.

        >>> Request.received("get", query={"a": "1"}, path="/hook").url
        'http://localhost/hook?a=1'
        """
        pairs = tuple(
            (str(k), str(v))
            for k, v in (headers.items() if isinstance(headers, Mapping) else headers)
        )
        if isinstance(query, Mapping):
            query = urlencode(query)
        host = next((v for k, v in pairs if k.lower() == "host"), "") or "localhost"
        url = urlunsplit(("http", host, path or "/", query.lstrip("?"), ""))
        return cls(None, None, method.upper(), url, bytes(body), "", None, pairs)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Request:
        """The request a capture record (:mod:`amodp.records`, a dict) holds:
        its ``method``, ``path``, ``query``, ``headers`` and exact body.

        >>> Request.from_record({"method": "GET", "query": "a=1", "body": ""}).query
        'a=1'
        """
        from .records import body_of

        headers = [
            (str(h[0]), str(h[1]))
            for h in record.get("headers") or ()
            if isinstance(h, (list, tuple)) and len(h) == 2
        ]
        has_body = "body" in record or "body_base64" in record
        return cls.received(
            str(record.get("method") or "POST"),
            headers,
            str(record.get("query") or ""),
            body_of(dict(record)) if has_body else b"",
            str(record.get("path") or "/"),
        )

    @property
    def name(self) -> str:
        """``leads.status``, a capture's events (``leads.add, leads.status``) or ``-``."""
        if self.label:
            return self.label
        return self.event.name if self.event is not None else "-"

    @property
    def json(self) -> Any:
        """What the receiver decodes: PHP's ``$_POST``, a JSON body, ``$_GET``."""
        return self.data

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @property
    def query(self) -> str:
        return urlsplit(self.url).query

    @property
    def target(self) -> str:
        """The request line's target: path and query."""
        query = self.query
        return f"{self.path}?{query}" if query else self.path

    @property
    def headers(self) -> list[tuple[str, str]]:
        """The headers in the order they go on the wire."""
        filled = []
        for name, value in self.base_headers:
            lowered = name.lower()
            if lowered == "host":
                value = _host(self.url)
            elif lowered == "content-length":
                value = str(len(self.body))
            filled.append((name, value))
        return list(merge_headers(filled, self.extra_headers))

    def header(self, name: str) -> str | None:
        """The value of the first header of that name (any case), or None."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def with_headers(self, extra: Sequence[tuple[str, str]]) -> Request:
        """The same request with ``extra`` headers merged in after the others."""
        return replace(self, extra_headers=merge_headers(self.extra_headers, extra))

    def with_url(self, url: str) -> Request:
        """The same request to ``url``; the request's own query (a GET
        callback's data) is kept after the query ``url`` has."""
        own = self.query
        if own:
            base, hash_, fragment = url.partition("#")
            url = (f"{base}&{own}" if "?" in base else f"{base}?{own}") + hash_ + fragment
        return replace(self, url=url)

    def http(self) -> bytes:
        """The whole request as it goes over the wire."""
        lines = [f"{self.method} {self.target} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body

    def curl(self) -> str:
        """A curl command that sends these bytes (safely shell-quoted)."""
        words = ["curl", "-sS", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.headers:
            # curl sets Host and Content-Length itself; asked for gzip, it
            # would print the compressed answer.
            if name.lower() in (*_COMPUTED, "accept-encoding"):
                continue
            words += ["-H", shlex.quote(f"{name}: {value}")]
        if self.body:
            words += ["--data-binary", _shell_bytes(self.body)]
        pairs = [f"{words[i]} {words[i + 1]}" for i in range(5, len(words), 2)]
        return " \\\n  ".join([" ".join(words[:5]), *pairs])

    def record(
        self, *, status: int | None = None, received_at: str | None = None, remote: str = ""
    ) -> dict[str, Any]:
        """The capture record ``amodp listen`` would write on receiving this
        (``status``: what was answered, None before it is sent; ``remote``:
        who sent it, none for a request amodp made)."""
        from .records import make_record

        parts = urlsplit(self.url)
        return make_record(
            remote=remote,
            method=self.method,
            path=parts.path or "/",
            query=parts.query,
            headers=[(k.lower(), v) for k, v in self.headers],
            body=self.body,
            status=status,
            received_at=received_at,
        )


def _shell_bytes(body: bytes) -> str:
    """``body`` as one shell word that gives back the same bytes: quoted
    text for UTF-8, else bash's ``$'...'`` with ``\\xNN`` escapes."""
    try:
        return shlex.quote(body.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    out = []
    for byte in body:
        char = chr(byte)
        if 0x20 <= byte < 0x7F and char not in "\\'":
            out.append(char)
        else:
            out.append(f"\\x{byte:02x}")
    return "$'" + "".join(out) + "'"
