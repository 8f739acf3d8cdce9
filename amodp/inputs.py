"""Find the urlencoded body in whatever people paste into ``amodp decode``.

A webhook reaches a developer as many things: the raw body, a whole HTTP
request from an inspector, a "Copy as cURL" command, a JSON object (or JSON
Lines of them, as a PHP receiver logs ``json_encode($_POST)``), a Python dict
from a Flask or Django log, the JSON Lines that ``amodp listen --save``
writes, a PHP dump of ``$_POST`` (``print_r``, ``var_dump``, ``var_export``,
Laravel's ``dd()``), a log line with a JSON object after its prefix, or the
"Form Data" view of a browser's DevTools. :func:`read_sources` turns any of
them into the body bytes exactly as they went over the wire (for a decoded
form, a body PHP decodes to the same); :mod:`amodp.codec` decodes those.
Text that is none of them is an InputError, never a body made of its words.

Standard library only, and the heavier modules (``ast``, ``zlib``, ``base64``,
:mod:`amodp.dumps`) are imported where used: this module is on the start-up
path of ``amodp decode``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from .bodies import codings as codings_of
from .bodies import undo_codings
from .codec import encode, load_json, urlencode
from .errors import InputError
from .records import CaptureRecord, is_record, looks_like_records, read_records

__all__ = ["FORMS", "NotTextError", "Source", "detect", "read_sources"]

#: The input forms, in the order ``--from`` lists them; "auto" detects.
FORMS = (
    "auto",
    "body",
    "http",
    "curl",
    "json",
    "python",
    "capture",
    "php",
    "log",
    "form-view",
)


class Source:
    """One body found in the input (read-only).

    ``method``, ``path``, ``query`` and ``headers`` are the request around the
    body where the input shows it (http, curl, capture): what checking a
    signature needs. A GET's data is its query, which then also stands in
    ``body``. ``json_text`` is the JSON object the body was made from (json
    and log forms), as the input has it. None of these is part of its
    equality or repr. (A plain class: a dataclass costs start-up time on
    every ``amodp decode``.)
    """

    __slots__ = (
        "body",
        "form",
        "label",
        "warnings",
        "method",
        "path",
        "query",
        "headers",
        "json_text",
    )

    body: bytes  # the urlencoded body as it went over the wire
    form: str  # which of FORMS (never "auto") it was read as
    label: str  # "record 3 POST /hook", "POST /hook", a URL; "" when nothing useful
    warnings: tuple[str, ...]  # what is odd about the input, and what was done with it
    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    json_text: bytes

    def __init__(
        self,
        body: bytes,
        form: str,
        label: str = "",
        warnings: tuple[str, ...] = (),
        method: str = "",
        path: str = "",
        query: str = "",
        headers: tuple[tuple[str, str], ...] = (),
        json_text: bytes = b"",
    ) -> None:
        values = (body, form, label, warnings, method, path, query, headers, json_text)
        for name, value in zip(self.__slots__, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a Source is read-only")

    def _key(self) -> tuple[bytes, str, str, tuple[str, ...]]:
        return (self.body, self.form, self.label, self.warnings)

    def __eq__(self, other: object) -> bool:
        if type(other) is not Source:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Source(body={self.body!r}, form={self.form!r}, label={self.label!r}, "
            f"warnings={self.warnings!r})"
        )


class NotTextError(InputError):
    """The input is binary data, not text (its message reads "is not text ...")."""


#: Chooses among capture records (:func:`amodp.records.select_records`).
Choose = Callable[[list[CaptureRecord]], list[CaptureRecord]]


def detect(data: bytes) -> str:
    """The form auto-detection reads ``data`` as (one of :data:`FORMS` but "auto").

    Tried in order: capture records, a PHP dump, JSON, Python literal, HTTP
    request, curl command, DevTools' form view, a log line with JSON;
    anything else is a raw body (which :func:`read_sources` takes only when
    it is made of ``name=value`` pairs).
    """
    return _detect(_prepare(data))


def read_sources(data: bytes, form: str = "auto", choose: Choose | None = None) -> list[Source]:
    """The body or bodies in ``data`` read as ``form`` ("auto": as :func:`detect` says).

    A gzip file is read as what it holds; other binary data is a
    :class:`NotTextError`. ``choose`` picks among capture records; given
    for other input, it is an InputError.

    >>> read_sources(b"curl https://example.com/hook -d 'account[id]=1'")
    [Source(body=b'account[id]=1', form='curl', label='https://example.com/hook', warnings=())]
    """
    if form not in FORMS:
        raise InputError(f"unknown input form {form!r}: choose one of {', '.join(FORMS)}")
    data = _prepare(data)
    if form == "auto":
        form = _detect(data)
        if form == "body":
            _check_body(data)
    if form == "capture":
        return _read_capture(data, choose)
    if choose is not None:
        raise InputError("it is not a capture file, so there are no records to choose from")
    return _READERS[form](data)


# -- common ---------------------------------------------------------------------

_BOM_UTF8 = b"\xef\xbb\xbf"


def _prepare(data: bytes) -> bytes:
    """Unpack a gzip file, drop a byte order mark (Notepad), re-encode UTF-16
    (PowerShell's ``>``) as UTF-8; refuse input that is only whitespace, and
    binary data."""
    data = bytes(data)
    if data.startswith(_GZIP_MAGIC):
        data = _gunzip(data)
    if data.startswith(_BOM_UTF8):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeError:
            pass  # not UTF-16 after all: leave the bytes alone
    if not data.strip():
        raise InputError("empty input")
    # A raw HTTP request's body may be gzip: its reader undoes that; print_r
    # and var_dump print a value's NUL bytes as they are.
    if (
        _is_binary(data)
        and _request_line(data.lstrip()) is None
        and not _PHP_START.match(data.strip())
    ):
        raise NotTextError("is not text (binary data)")
    return data


_GZIP_MAGIC = b"\x1f\x8b"


def _gunzip(data: bytes) -> bytes:
    import gzip
    import zlib

    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"is gzip data that cannot be decompressed: {exc}") from None


# Bytes that no text holds: C0 controls but tab, newlines, form feed and escape.
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")


def _is_binary(data: bytes) -> bool:
    """Binary, as ``git`` and ``grep`` judge it: a NUL byte near the start
    (images, archives, programs); or many control bytes. Bytes that are not
    UTF-8 are no sign: a body pasted raw in another encoding (cp1251) is
    still text."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    return len(_CONTROL.findall(head)) * 10 > len(head)  # more than 10%


# One name=value pair on a line, the way FORMAT.md and many docs show bodies.
_PAIR_LINE = re.compile(rb"[^\s=&]+=[^&]*")


def _clean_body(data: bytes) -> bytes:
    """A pasted body: surrounding whitespace stripped; one ``name=value`` per
    line joined with "&"; otherwise the bytes unchanged."""
    data = data.strip()
    if b"\n" in data:
        lines = [line.strip() for line in data.split(b"\n")]
        lines = [line for line in lines if line]
        if all(_PAIR_LINE.fullmatch(line) for line in lines):
            return b"&".join(lines)
    return data


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


# -- detection --------------------------------------------------------------------

_NOT_JSON = object()
_JSON_SCALAR_START = b'"-0123456789tfn'
_PY_START = re.compile(
    rb"<QueryDict|(?:[A-Za-z_][\w.]*\.)?(?:Immutable)?(?:Ordered)?MultiDict\("
    rb"|(?:collections\.)?(?:OrderedDict|defaultdict)\(|dict\(|b?'|b\"|\("
)
_REQUEST_LINE = re.compile(rb"([A-Z][A-Z0-9_-]*)[ \t]+(\S+)(?:[ \t]+(HTTP/[0-9.]+))?[ \t]*\r?")
_METHODS = {b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"HEAD", b"OPTIONS"}
_CURL_START = re.compile(rb"(?:\$[ \t]+)?(?:\S*/)?curl(?:\.exe)?(?=\s|$)")
# A PHP dump of $_POST (amodp.dumps reads it), perhaps after <pre>, VarDumper's
# "^ ", Xdebug's "/app/hook.php:12:" line, or (print_r) a log line's prefix.
_PHP_START = re.compile(
    rb"(?:<pre[^>\n]*>\s*)?(?:\^ )?(?:\S+\.php:\d+:\s*\n\s*)?"
    rb"(?:Array\s*\(|array\s*\(|array:\d+ ?\[)"
    rb"|[^\n]*?(?<![\w$])Array[ \t]*\r?\n[ \t]*\([ \t]*\r?\n"
)


def _detect(data: bytes) -> str:
    text = data.strip()
    if looks_like_records(text.split(b"\n", 1)[0]):
        return "capture"
    if _PHP_START.match(text):
        return "php"
    head = text[:1]
    if head in (b"{", b"["):
        value = _json_or_not(text)
        if value is not _NOT_JSON:
            if isinstance(value, dict):
                return "capture" if is_record(value) else "json"
            if isinstance(value, list) and value and all(is_record(v) for v in value):
                return "capture"
            # A JSON array is no form, but [["name", "value"], ...] is a list of pairs.
            return "python" if value and _python_fits(text) else "json"
        if _python_fits(text):
            return "python"
        if _json_lines(text):
            return "json"
        # "{" and neither JSON nor Python: reading it as JSON says what is
        # wrong. "[" may start a log line ("[2025-06-01 12:00:00] ...").
        if head == b"{":
            return "json"
        return "log" if _log_objects(text, first=True) else "body"
    if _PY_START.match(text) and _python_fits(text):
        return "python"
    if head and head in _JSON_SCALAR_START and _json_or_not(text) is not _NOT_JSON:
        return "json"  # "x", 3, true: reading it says it is not an object
    if _request_line(text) is not None:
        return "http"
    if _CURL_START.match(text):
        return "curl"
    if _looks_like_form_view(text):
        return "form-view"
    if _log_objects(text, first=True):
        return "log"
    return "body"


# -- body -------------------------------------------------------------------------


# A whole body on one line: pairs joined by "&" (what `amodp generate --all` prints).
_BODY_LINE = re.compile(rb"[^\s=&]+=[^\s]*&[^\s]*")


def _read_body(data: bytes) -> list[Source]:
    """One body; or one per line when every line is a whole body of several
    pairs (a log with a body per line, ``amodp generate --all``)."""
    lines = [line.strip() for line in data.strip().split(b"\n")]
    lines = [line for line in lines if line]
    if len(lines) > 1 and all(_BODY_LINE.fullmatch(line) for line in lines):
        return [Source(line, "body", f"line {i}") for i, line in enumerate(lines, 1)]
    return [Source(_clean_body(data), "body")]


# A line that a dump's item starts: "[key] =>", "'key' =>", '"key" =>'.
_DUMP_ITEM = re.compile(rb"\s*(?:\[[^\]\n]*\]|\"[^\"\n]*\"|'[^'\n]*')\s*=>")


def _check_body(data: bytes) -> None:
    """Refuse, as a detected body, text that is no form at all: a body is
    ``name=value`` pairs, so every line has an "="; a line that starts like a
    dump's item is part of a dump decode could not read."""
    for number, line in enumerate(data.strip().split(b"\n"), 1):
        line = line.strip()
        if not line:
            continue
        if b"=" not in line or _DUMP_ITEM.match(line):
            shown = _text(line[:40])
            raise InputError(
                f"line {number} ({shown!r}) is not name=value pairs, and the input is none "
                "of the other forms decode reads (see --from); --from body reads it as a "
                "body all the same"
            )


# -- http -------------------------------------------------------------------------


def _request_line(text: bytes) -> re.Match[bytes] | None:
    match = _REQUEST_LINE.fullmatch(text.split(b"\n", 1)[0])
    if match is None or not (match[3] or match[1] in _METHODS):
        return None
    return match


def _read_http(data: bytes) -> list[Source]:
    text = data.lstrip()
    match = _request_line(text)
    if match is None:
        raise InputError("no HTTP request line (like POST /hook HTTP/1.1) at the start")
    # The head ends at the first blank line; LF or CRLF.
    pos = text.find(b"\n") + 1 if b"\n" in text else len(text)
    body_at = -1
    headers: dict[bytes, list[bytes]] = {}
    pairs: list[tuple[str, str]] = []
    while pos < len(text):
        end = text.find(b"\n", pos)
        if end < 0:
            end = len(text)
        line = text[pos:end]
        pos = end + 1
        if not line.strip():
            body_at = pos
            break
        name, sep, value = line.partition(b":")
        if sep:
            headers.setdefault(name.strip().lower(), []).append(value.strip())
            pairs.append((_text(name.strip()), _text(value.strip())))
    body = text[body_at:] if 0 <= body_at <= len(text) else b""

    encodings = codings_of([_text(v) for v in headers.get(b"content-encoding", [])])
    if "chunked" in codings_of([_text(v) for v in headers.get(b"transfer-encoding", [])]):
        body = _dechunk(body)
    elif length := [v for v in headers.get(b"content-length", []) if v.isdigit() and len(v) < 19]:
        body = body[: int(length[-1])]  # a shorter body: what is there
    elif not encodings:
        body = _clean_body(body)  # pasted by hand: trailing newline, pair per line
    if body and encodings:
        body = undo_codings(body, encodings)

    method, target = _text(match[1]), match[2]
    path, _, query = target.partition(b"?")
    query = query.partition(b"#")[0]
    if not body.strip():
        # A GET webhook as an inspector shows it: the query string is the data.
        if not query:
            raise InputError("the request has no body")
        body = query
    label = f"{method} {_text(path)}"
    return [
        Source(
            body,
            "http",
            label,
            method=method,
            path=_text(path),
            query=_text(query),
            headers=tuple(pairs),
        )
    ]


_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]+")


def _dechunk(body: bytes) -> bytes:
    """Join ``Transfer-Encoding: chunked`` chunks; a truncated paste keeps what is there."""
    out = bytearray()
    pos = 0
    while pos < len(body):
        end = body.find(b"\n", pos)
        if end < 0:
            end = len(body)
        size_text = body[pos:end].partition(b";")[0].strip()
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise InputError(f"bad chunk size {_text(size_text[:20])!r} in the chunked body")
        size = int(size_text, 16)
        if size == 0:
            break
        start = end + 1
        out += body[start : start + size]
        pos = start + size
        if body.startswith(b"\r\n", pos):
            pos += 2
        elif body.startswith(b"\n", pos):
            pos += 1
    return bytes(out)


# -- curl -------------------------------------------------------------------------


def _read_curl(data: bytes) -> list[Source]:
    text = data.strip()
    if not _CURL_START.match(text):
        raise InputError("not a curl command: it does not start with curl")
    from .curl import read_curl  # here: only a curl command needs its parser

    return read_curl(text)


# -- json -------------------------------------------------------------------------


def _json_or_not(text: bytes) -> Any:
    try:
        return _json_value(text)
    except InputError:
        return _NOT_JSON


def _json_value(text: bytes) -> Any:
    try:
        return load_json(text.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError("not JSON: invalid UTF-8") from None
    except ValueError as exc:  # JSONDecodeError, and integers too long to convert
        raise InputError(f"not JSON: {exc}") from None
    except RecursionError:
        raise InputError("not JSON: nested too deeply") from None


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return "a number"


def _encode(data: dict[Any, Any]) -> bytes:
    """:func:`amodp.codec.encode` as bytes, its Python limits as InputError."""
    try:
        return encode(data).encode("ascii")
    except RecursionError:
        raise InputError("the input is nested too deeply") from None
    except ValueError:  # an integer past Python's 4300-digit conversion limit
        raise InputError("cannot encode a number that long") from None


def _read_json(data: bytes) -> list[Source]:
    """One JSON object; or one per line (JSON Lines, as a PHP receiver logs
    ``json_encode($_POST)``), one Source each. There a line may also be a
    JSON array, as json_encode prints a ``$_POST`` whose keys are 0, 1...
    (``[]`` when it is empty)."""
    values = _json_values(data.strip())
    if len(values) == 1:
        (_, value, raw) = values[0]
        if not isinstance(value, dict):
            raise InputError(f"the JSON input is {_json_kind(value)}, not an object")
        return [_json_source(value, "json", "", raw)]
    sources = []
    for line, value, raw in values:
        if not isinstance(value, dict) and not _is_post_list(value):
            raise InputError(f"line {line}: the JSON is {_json_kind(value)}, not an object")
        sources.append(_json_source(value, "json", f"line {line}", raw))
    return sources


def _is_post_list(value: Any) -> bool:
    """A JSON array json_encode may print for ``$_POST``: strings and arrays."""
    return isinstance(value, list) and all(isinstance(v, (str, dict, list)) for v in value)


def _json_lines(text: bytes) -> bool:
    """Whether ``text`` is several JSON values, each an object or ``$_POST``'s list."""
    try:
        values = _json_values(text)
    except InputError:
        return False
    return len(values) > 1 and all(isinstance(v, dict) or _is_post_list(v) for _, v, _ in values)


def _json_values(text: bytes) -> list[tuple[int, Any, bytes]]:
    """(line, value, its text) for each JSON value in ``text``, whitespace
    between them; the first one's errors read as a lone value's do."""
    try:
        whole = text.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("not JSON: invalid UTF-8") from None
    found: list[tuple[int, Any, bytes]] = []
    pos = 0
    line = 1
    while pos < len(whole):
        try:
            value, end = _JSON.raw_decode(whole, pos)
        except ValueError as exc:  # JSONDecodeError, and integers too long to convert
            where = f"line {line}: " if found else ""
            raise InputError(f"{where}not JSON: {exc}") from None
        except RecursionError:
            raise InputError("not JSON: nested too deeply") from None
        found.append((line, value, whole[pos:end].encode("utf-8")))
        start = end
        while end < len(whole) and whole[end] in " \t\r\n":
            end += 1
        line += whole.count("\n", start, end) + whole.count("\n", pos, start)
        pos = end
    return found


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


#: JSON values where they start, as codec.load_json reads them (no NaN, no Infinity).
_JSON = json.JSONDecoder(parse_constant=_refuse_constant)


def _json_source(value: dict[str, Any] | list[Any], form: str, label: str, raw: bytes) -> Source:
    """The body PHP would decode to a JSON object (flat bracket keys, or
    decoded data such as ``json_encode($_POST)``) or ``$_POST``'s list."""
    parts: list[bytes] = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(key, str) and "[" in key and isinstance(item, list):
            # {"a[]": ["1", "2"]}: flat keys with repeated values (parse_qs,
            # Express without "extended"): one pair per value.
            parts.extend(_encode({key: x}) for x in item)
        else:
            # A scalar, or data already decoded (amodp decode's own output):
            # http_build_query under its key. Top-level keys that decode makes
            # never hold "[", so its output reads back to itself.
            parts.append(_encode({key: item}))
    warnings = (_API_WARNING,) if isinstance(value, dict) and _looks_like_api(value) else ()
    body = b"&".join(part for part in parts if part)
    return Source(body, form, label, warnings, json_text=raw)


_API_WARNING = (
    "this JSON looks like an amoCRM REST API response (nested, with numbers, "
    "true/false, null or _embedded), not a webhook body: webhooks are form-encoded "
    "with bracket keys and every value a string; decoded it as PHP would see it sent "
    "as a form (numbers as strings, true/false as 1/0, null and empty lists left out)"
)


def _looks_like_api(value: dict[str, Any]) -> bool:
    """Nested JSON holding what no form holds: a number, true/false or null;
    or the ``_embedded`` of a REST API answer. (What ``decode`` prints is
    nested too, but holds only strings.)"""
    nested = [item for item in value.values() if isinstance(item, (dict, list))]
    if not nested:
        return False
    if "_embedded" in value:
        return True
    stack: list[Any] = nested
    while stack:
        item = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append(child)
            elif not isinstance(child, str):
                return True
    return False


# -- python -----------------------------------------------------------------------

_QUERYDICT = re.compile(r"<QueryDict:\s*(.*)>", re.S)
_WRAPPED = re.compile(
    r"(?:[A-Za-z_][\w.]*\.)?(?:(?:Immutable)?(?:Ordered)?MultiDict|OrderedDict|dict)\((.*)\)"
    r"|(?:collections\.)?defaultdict\(<(?:class|type) '\w+'>,\s*(.*)\)",
    re.S,
)


def _python_literal(data: bytes) -> Any:
    """Evaluate a literal (never code), unwrapping QueryDict and MultiDict reprs."""
    import ast
    import warnings

    try:
        text = data.strip().decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("not a Python literal: invalid UTF-8") from None
    if match := _QUERYDICT.fullmatch(text):
        text = match[1].strip()
    if match := _WRAPPED.fullmatch(text):
        text = (match[1] if match[1] is not None else match[2]).strip() or "[]"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes like '\d' in old logs
            return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"not a Python literal: {reason}") from None


def _is_pair(item: Any) -> bool:
    return isinstance(item, (list, tuple)) and len(item) == 2


def _python_fits(data: bytes) -> bool:
    try:
        value = _python_literal(data)
    except InputError:
        return False
    if isinstance(value, (list, tuple)):
        return all(_is_pair(item) for item in value)
    return isinstance(value, (dict, bytes, str))


def _py_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, bool):
        return b"1" if value else b"0"  # as http_build_query
    if isinstance(value, (int, float)):
        # As http_build_query prints numbers (codec.encode); "=" leads the value.
        return _encode({"": value}).partition(b"=")[2].replace(b"%2B", b"+")
    raise InputError(f"cannot use a Python {type(value).__name__} as a form name or value")


def _read_python(data: bytes) -> list[Source]:
    value = _python_literal(data)
    if isinstance(value, (bytes, str)):
        # Django's request.body, logged: b'leads%5Bstatus%5D...'
        return [Source(_py_bytes(value), "python")]
    items: Any
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)) and all(_is_pair(item) for item in value):
        items = value
    else:
        raise InputError(
            f"a Python {type(value).__name__} is not a form: "
            "give a dict or a list of (name, value) pairs"
        )
    parts: list[bytes] = []
    for key, item in items:
        name = urlencode(_py_bytes(key)).encode("ascii")
        # A list value repeats the pair (parse_qs, QueryDict, MultiDict.to_dict(flat=False)).
        for one in item if isinstance(item, (list, tuple)) else (item,):
            if one is None:
                continue
            if isinstance(one, (dict, list, tuple)):
                if not isinstance(key, str):
                    raise InputError("a nested value needs a str name in the Python literal")
                part = _encode({key: one})
                if part:
                    parts.append(part)
            else:
                parts.append(name + b"=" + urlencode(_py_bytes(one)).encode("ascii"))
    return [Source(b"&".join(parts), "python")]


# -- php ----------------------------------------------------------------------------


def _read_php(data: bytes) -> list[Source]:
    """print_r, var_dump, var_export or dd() output of ``$_POST``: one
    Source per dump (a log may hold several)."""
    from .dumps import body_of, read_dumps  # here: only a dump needs them

    dumps = read_dumps(data)
    several = len(dumps) > 1
    return [
        Source(body_of(dump.tree), "php", f"dump {i}" if several else "", dump.warnings)
        for i, dump in enumerate(dumps, 1)
    ]


# -- log ------------------------------------------------------------------------------

# A prefix that starts as name=value is a form's pair with JSON in its value.
_FORM_PAIR = re.compile(rb"[^\s=&]+=")


def _log_objects(text: bytes, first: bool = False, any_prefix: bool = False) -> list[Source]:
    """A Source for each line holding a JSON object after some text (the
    date and level of a log line: ``[2025-06-01 12:00:00] local.INFO:
    webhook {"leads":...}``); the first object of a line is taken, and may
    run over several lines. Lines without one are passed over. ``first``:
    stop at the first one found (detection). A prefix that starts like a
    ``name=value`` pair is a form's, not a log line's, unless ``any_prefix``."""
    whole = text.decode("utf-8", "replace")
    found: list[Source] = []
    line_start = 0
    number = 1
    while line_start < len(whole):
        line_end = whole.find("\n", line_start)
        if line_end < 0:
            line_end = len(whole)
        next_line = line_end + 1
        brace = whole.find("{", line_start, line_end)
        prefix = whole[line_start:brace].encode("utf-8") if brace >= 0 else b""
        if brace >= 0 and not any_prefix and _FORM_PAIR.match(prefix.lstrip()):
            brace = -1
        while brace >= 0:
            try:
                value, end = _JSON.raw_decode(whole, brace)
            except (ValueError, RecursionError):
                brace = whole.find("{", brace + 1, line_end)
                continue
            if isinstance(value, dict):
                raw = whole[brace:end].encode("utf-8")
                found.append(_json_source(value, "log", f"line {number}", raw))
                if first:
                    return found
                # An object over several lines: go on after the line it ends on.
                after = whole.find("\n", end)
                next_line = len(whole) if after < 0 else after + 1
                number += whole.count("\n", line_end, end)
            break
        line_start = next_line
        number += 1
    return found


def _read_log(data: bytes) -> list[Source]:
    sources = _log_objects(data, any_prefix=True)
    if not sources:
        raise InputError(
            "no line holds a JSON object (a log line is text, then JSON: "
            '[2025-06-01 12:00:00] local.INFO: webhook {"leads":...})'
        )
    return sources


# -- form view ------------------------------------------------------------------------

# Chrome's DevTools, Network, Payload: "Form Data", "view source",
# "view URL-encoded" (or "view decoded", when the view shows it encoded).
_FV_HEADING = re.compile(
    rb"(?i)(?:form data|query string parameters|payload|"
    rb"view (?:source|parsed|decoded|url[- ]?encoded))(?:\s*\(\d+\))?"
)
# name[key]...: value
_FV_LINE = re.compile(rb"([^\s:=&\[\]][^:=&\[\]\n]*(?:\[[^\]\n]*\])*)[ \t]*:(?:[ \t](.*))?")


def _form_view_lines(text: bytes) -> tuple[list[bytes], bool]:
    """The lines of a form view without its headings; whether it shows the
    data URL-encoded (its button says "view decoded")."""
    lines = []
    encoded = False
    for line in text.split(b"\n"):
        line = line.rstrip(b"\r")
        heading = _FV_HEADING.fullmatch(line.strip())
        if heading is not None:
            encoded = encoded or b"decoded" in line.lower()
        elif line.strip():
            lines.append(line)
    return lines, encoded


def _looks_like_form_view(text: bytes) -> bool:
    lines, _ = _form_view_lines(text[:4096])
    if not lines:
        return False
    match = _FV_LINE.fullmatch(lines[0])
    return match is not None and (b"[" in match[1] or _FV_HEADING.match(text) is not None)


def _read_form_view(data: bytes) -> list[Source]:
    """DevTools' "Form Data" copied as text: one ``name: value`` per line
    (``leads[status][0][id]: 4831596``), values decoded (or, in the
    URL-encoded view, as sent); "(empty)" is how the view shows an empty
    value. A line that is no pair continues the value before it."""
    lines, encoded = _form_view_lines(data.strip())
    if lines and all(_PAIR_LINE.fullmatch(line.strip()) for line in lines):
        return [Source(_clean_body(b"\n".join(lines)), "form-view")]  # "view source"
    pairs: list[list[bytes]] = []
    for line in lines:
        match = _FV_LINE.fullmatch(line)
        if match is None:
            if not pairs:
                shown = _text(line[:40])
                raise InputError(f"{shown!r} is not a 'name: value' line of a form view")
            pairs[-1][1] += b"\n" + line
            continue
        pairs.append([match[1].strip(), match[2] or b""])
    if not pairs:
        raise InputError("the form view has no 'name: value' lines")
    parts = []
    for name, value in pairs:
        if value == b"(empty)":
            value = b""
        if not encoded:
            name, value = urlencode(name).encode("ascii"), urlencode(value).encode("ascii")
        parts.append(name + b"=" + value)
    return [Source(b"&".join(parts), "form-view")]


# -- capture ----------------------------------------------------------------------


def _read_capture(data: bytes, choose: Choose | None = None) -> list[Source]:
    records = read_records(data)
    if choose is not None:
        records = choose(records)
    return [_capture_source(record) for record in records]


def _capture_source(record: CaptureRecord) -> Source:
    body = record.body
    codings = [value for name, value in record.headers if name.lower() == "content-encoding"]
    if body and codings:
        try:
            body = undo_codings(body, codings_of(codings))
        except InputError:
            pass  # saved already decompressed: keep it as it is
    query = record.fields.get("query")
    query = query.lstrip("?") if isinstance(query, str) else ""
    if not body and query:
        body = query.encode("utf-8", "surrogatepass")
    method, path = record.fields.get("method"), record.fields.get("path")
    return Source(
        body,
        "capture",
        record.label,
        method=method if isinstance(method, str) else "",
        path=path if isinstance(path, str) else "",
        query=query,
        headers=tuple(record.headers),
    )


_READERS: dict[str, Callable[[bytes], list[Source]]] = {
    "body": _read_body,
    "http": _read_http,
    "curl": _read_curl,
    "json": _read_json,
    "python": _read_python,
    "php": _read_php,
    "log": _read_log,
    "form-view": _read_form_view,
}
