"""Personal data out of webhooks, so that captures can be shared in bug reports.

amoCRM's account-level webhooks carry customers' names, phones, e-mails,
chat messages and notes. :func:`redact` replaces them in a decoded body,
:func:`redact_body` in the raw urlencoded bytes (only the personal pairs'
values change; every other byte stays), :func:`redact_record` in a capture
record. Ids, statuses, timestamps, enum ids, field ids, field codes, the
account's id and subdomain are kept, so a redacted capture still shows what
happened.

Placeholders
------------
A personal value becomes ``<category:N>``: ``<name:1>``, ``<phone:2>``,
``<email:1>``, ``<text:3>``, ``<url:1>``, ``<ip:1>``, ``<secret:1>``, numbered per category
in order of first appearance. The same value gets the same placeholder
everywhere in one input (and in every input given to one :class:`Redactor`:
``amodp decode --redact`` shares one over all its inputs), so a bug report
still shows which values were equal; the same input gives the same output on
every run and machine. Phones are compared by their digits (a leading trunk
``8`` of an 11-digit number read as ``7``: ``8 916 …`` is ``+7 916 …``),
e-mails without regard to case.

Why numbers and not hashes: a placeholder must not let anyone get the value
back. An unkeyed hash (or one with a key that ships with amodp) of a phone
number is reversed by hashing every possible number, a few billion at most;
names and e-mails fall to a dictionary. A secret key (per machine or per
run) stops that, but then nothing is stable across machines either, so it
buys nothing over numbering. A number says only "the n-th distinct value of
this kind", which leaks nothing but equality, and that is what a bug report
needs.

What is personal
----------------
* The ``code`` of an OAuth redirect (a ``code`` at the top of a query or
  body: ``?code=def502...&state=...&referer=...``): the authorization code,
  which buys the account's tokens, becomes ``<secret:N>`` whatever it holds.
  A ``code`` anywhere else (a custom field's) is kept.
* ``name``, ``first_name``, ``last_name`` and the like: people, companies,
  leads, customers, catalog elements, a message's ``author``, a note's
  ``author_name``; except a tag's name and a custom field's name, which are
  account configuration. Tag names are kept, and so are custom-field names
  and codes.
* A JSON object held in a string under a key that is not known to be free
  text (a note's ``metadata``) is redacted by the same rules and written
  back compact; under a free-text key it is replaced whole, as any text.
* ``text`` of chat messages, notes and tasks; ``subject``, ``comment`` and
  other free text; ``avatar_url``, ``link`` and other URLs (except the
  account's own ``_links``); ``ip``.
* Custom-field values (``custom_fields[j][values][k][value]``, or a bare
  ``values[k]``; Kommo's ``custom_fields_values`` too): all of them for the
  codes ``PHONE``, ``EMAIL`` and ``IM``; otherwise free text is personal (an
  address, a birthday, a comment) while a select option (a value with an
  ``enum``) and a plain number (a date as a Unix time, a price, an SKU) are
  kept.
* Anywhere else (a field amodp does not know), a phone number or an e-mail
  address inside any value is replaced, the rest of the value kept. Values
  under ids (``id``, ``*_id``, ``*uid``), timestamps and prices are never
  touched.
* Names (keys) are never changed; empty values and placeholders stay as they
  are, so redacting twice changes nothing.

Standard library only, and light: imported on ``amodp decode``'s start-up
path when ``--redact`` is given. Pure: raises :class:`amodp.errors.InputError`
for what it cannot read, never prints or exits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .codec import decode, decode_value, urlencode
from .errors import InputError

__all__ = ["CATEGORIES", "Redactor", "redact", "redact_body", "redact_record"]

#: The kinds of placeholder, as they appear in ``<kind:N>``.
CATEGORIES = ("name", "phone", "email", "text", "url", "ip", "secret")

#: The keys whose leaves are personal as a whole, by category.
_KEYS_OF = {
    "name": ("name", "first_name", "last_name", "middle_name", "full_name", "fio", "username",
             "nickname", "contact_name", "company_name", "client_name", "sender_name", "from",
             "author_name", "user_name", "responsible_user_name", "created_by_name"),
    "text": ("text", "subject", "comment", "content_summary", "body", "html", "message", "note",
             "title", "address", "file_name", "filename", "caption", "description", "old_text"),
    "phone": ("phone", "phone_number", "tel", "mobile", "msisdn"),
    "email": ("email", "e-mail", "e_mail", "mail"),
    "url": ("avatar_url", "avatar", "link", "url", "photo", "picture", "file_url", "href",
            "download_link", "media", "record_link"),
    "ip": ("ip", "ip_address", "client_ip", "remote_ip"),
}  # fmt: skip
_CATEGORY_OF = {key: category for category, keys in _KEYS_OF.items() for key in keys}
_FIELD_LISTS = frozenset(("custom_fields", "custom_fields_values"))
_VALUE_CODES = {"PHONE": "phone", "EMAIL": "email", "IM": "text"}
_KEPT_EXACT = frozenset(
    ("id", "uid", "uuid", "enum", "enum_id", "enum_code", "code", "field_code", "subdomain",
     "last_modified", "complete_till", "timestamp_x", "price", "next_price")
)  # fmt: skip

_PLACEHOLDER = re.compile(r"<(?:name|phone|email|text|url|ip|secret):[0-9]+>")
#: The top-level key of an OAuth redirect's authorization code.
_OAUTH_CODE = "code"
# A run of digits with the separators phone numbers are written with; checked
# further in _phone_digits. Boundaries keep it out of uuids and hex ids.
_PHONE = re.compile(r"(?<![\w+])\+?\(?[0-9][0-9 ()\-.\u00a0]{6,}[0-9](?!\w)")
_NOT_PHONE = re.compile(
    r"[0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}"  # 2025-08-28
    r"|[0-9]{1,2}[-./][0-9]{1,2}[-./][0-9]{4}"  # 28.08.2025
    r"|^[0-9]{1,3}(?:\.[0-9]{1,3}){3}$"  # 192.168.10.200
    r"|^[0-9]+[.,][0-9]+$"  # 12345678.90
)
_EMAIL = re.compile(r"(?<![\w.+%-])[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
_NUMBER = re.compile(r"-?[0-9]{1,10}(?:[.,][0-9]+)?")


_RULES: dict[str, str] = {}  # key -> its category, "keep" or "scan"


def _rule(key: str) -> str:
    """What a leaf under ``key`` is: a category, "keep" (ids, timestamps and
    money: never personal, never touched) or "scan" (phones and e-mails in it)."""
    rule = _RULES.get(key)
    if rule is None:
        rule = _CATEGORY_OF.get(key)
        if rule is None:
            kept = (
                key in _KEPT_EXACT
                or key.endswith(("_id", "uid", "_at", "_till", "price", "_type", "_code"))
                or "date" in key
                or "time" in key
            )
            rule = "keep" if kept else "scan"
        if len(_RULES) < 10_000:
            _RULES[key] = rule
    return rule


def _phone_digits(candidate: str) -> str | None:
    """The digits of a phone number, or None when ``candidate`` is not one."""
    digits = "".join(ch for ch in candidate if ch.isdigit())
    plus = candidate.startswith("+")
    if not (8 if plus else 10) <= len(digits) <= 15:
        return None
    if not plus and len(digits) == len(candidate) and len(digits) < 11:
        return None  # a bare 10-digit number is a Unix time or an id
    if _NOT_PHONE.search(candidate):
        return None
    if len(digits) == 11 and digits[0] == "8" and not plus:
        digits = "7" + digits[1:]  # 8 916 ... is +7 916 ... (trunk prefix)
    return digits


def _text(value: Any) -> str | None:
    """A leaf as the text to judge (a number as its digits), or None when
    there is nothing to redact: empty, a placeholder already, or neither a
    string nor a number."""
    if type(value) is not str:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return None
        value = str(value)
    if not value or (value[0] == "<" and _PLACEHOLDER.fullmatch(value)):
        return None
    return value


class Redactor:
    """Hands out placeholders, numbered per category in order of first appearance.

    One instance keeps placeholders stable over several inputs (all the
    records of a capture file, every request of one listener run); it holds
    each distinct personal value seen, in memory only. Not thread-safe.
    """

    __slots__ = ("_seen", "_counts")

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = dict.fromkeys(CATEGORIES, 0)

    def placeholder(self, category: str, value: str) -> str:
        """The placeholder of ``value`` as a ``category`` (``name``, ``phone``...)."""
        if category == "phone":
            key = _phone_digits(value) or "".join(ch for ch in value if ch.isdigit()) or value
        elif category == "email":
            key = value.strip().lower()
        else:
            key = value
        found = self._seen.get((category, key))
        if found is None:
            number = self._counts[category] = self._counts[category] + 1
            found = self._seen[(category, key)] = f"<{category}:{number}>"
        return found

    # -- values ---------------------------------------------------------------
    @staticmethod
    def _kind(value: str) -> str | None:
        """Whether the whole value is an "email" or a "phone", else None."""
        stripped = value.strip()
        if "@" in stripped and _EMAIL.fullmatch(stripped):
            return "email"
        if _PHONE.fullmatch(stripped) and _phone_digits(stripped):
            return "phone"
        return None

    def _whole(self, value: str, category: str) -> str:
        """A value that is personal as a whole: an e-mail or phone keeps its kind."""
        kind = self._kind(value)
        if kind is not None:
            return self.placeholder(kind, value.strip())
        return self.placeholder(category, value)

    def scan(self, value: str) -> str:
        """A value of a field amodp does not know: its phones and e-mails replaced."""
        if "@" in value:
            value = _EMAIL.sub(lambda m: self.placeholder("email", m.group()), value)
        if len(value) >= 8 and not (len(value) <= 10 and value.isdigit()):
            value = _PHONE.sub(self._phone_or_not, value)
        return value

    def _phone_or_not(self, match: re.Match[str]) -> str:
        text = match.group()
        if _phone_digits(text) is None:
            return text
        return self.placeholder("phone", text)

    def scalar(self, key: str, value: Any) -> Any:
        """A leaf under ``key`` (lower-case; a list item inherits its list's key)."""
        rule = _rule(key)
        text = None if rule == "keep" else _text(value)
        if text is None:
            return value
        if rule != "scan":
            return self._whole(text, rule)
        new = self._json_inside(text) if text[0] == "{" and text[-1] == "}" else None
        if new is None:
            new = self.scan(text)
        return value if new == text else new

    def _json_inside(self, value: str) -> str | None:
        """A JSON object held in a string (a note's ``metadata``:
        ``{"event_source":{"author_name":...}}``), redacted like the rest and
        written back compact; the string as it is when nothing in it is
        personal. None when it is not JSON."""
        import json  # here: most bodies hold no JSON inside

        try:
            found = json.loads(value)
            if not isinstance(found, dict):
                return None
            redacted = self.redact(found)
        except (ValueError, RecursionError):
            return None
        if redacted == found:
            return value
        return json.dumps(redacted, ensure_ascii=False, separators=(",", ":"))

    def secret(self, value: Any) -> Any:
        """A credential (an OAuth authorization code): replaced, whatever it looks like."""
        text = _text(value)
        return value if text is None else self.placeholder("secret", text)

    def field_value(self, code: str, value: Any, has_enum: bool) -> Any:
        """A custom field's value: see the module docstring."""
        text = _text(value)
        if text is None:
            return value
        category = _VALUE_CODES.get(code)
        if category is not None:
            return self._whole(text, category)
        kind = self._kind(text)
        if kind is not None:
            return self.placeholder(kind, text.strip())
        if has_enum or _NUMBER.fullmatch(text.strip()):
            return value  # a select option, or a number (a date, a price)
        return self.placeholder("text", text)

    # -- structure ------------------------------------------------------------
    def redact(self, decoded: Any) -> Any:
        """A redacted deep copy of a decoded body (see :func:`redact`)."""
        return _Walk(self, None).root(decoded)

    def redact_body(self, body: str | bytes) -> bytes:
        """The body with only its personal values replaced (see :func:`redact_body`)."""
        return self.redact_form(body)[0]

    def redact_form(self, body: str | bytes) -> tuple[bytes, Any]:
        """``(redact_body(body), redact(decode(body)))``, decoding the body once."""
        if isinstance(body, str):
            raw = body.encode("utf-8", "surrogatepass")
        elif isinstance(body, (bytes, bytearray, memoryview)):
            raw = bytes(body)
        else:
            raise InputError(f"cannot redact a {type(body).__name__}: give str or bytes")
        texts = raw.decode("latin-1").split("&")  # as codec.parse splits them
        pairs = [text.partition("=") for text in texts]
        # Which pair gave which value: the same names with each value replaced
        # by the pair's number decode to the same structure (parse_str's
        # structure depends on the names and their order only), holding at
        # each leaf the number of the pair that won it.
        marked = "&".join([f"{name}={i}" if name else "" for i, (name, _, _) in enumerate(pairs)])
        walk = _Walk(self, [raw_value for _, _, raw_value in pairs])
        value = walk.root(decode(marked.encode("latin-1")))  # the bytes as they came
        changes, used = walk.changes, walk.originals
        for i, (name, _, raw_value) in enumerate(pairs):
            if i not in used and raw_value:
                # Overwritten by a later pair, or dropped by PHP (no name): not
                # in the decoded value, but its bytes must not leak either.
                new = self._dropped(name, decode_value(raw_value))
                if new is not None:
                    changes[i] = new
        if not changes:
            return raw, value
        for i, new in changes.items():
            texts[i] = pairs[i][0] + "=" + urlencode(new)
        return "&".join(texts).encode("latin-1"), value

    def _dropped(self, name: str, value: str) -> str | None:
        """The replacement for a pair that no decoded value comes from."""
        keys = [k.lower() for k in re.split(r"[\[\]]+", decode_value(name)) if k]
        strings = [k for k in keys if not k.lstrip("-").isdigit()]
        key = strings[-1] if strings else ""
        if keys[:1] == [_OAUTH_CODE]:
            new = self.secret(value)
        elif "values" in keys and any(k in _FIELD_LISTS for k in keys):
            new = self.field_value("", value, False)
        elif key == "tags" or (len(strings) >= 2 and strings[-2] in ("tags", *_FIELD_LISTS)):
            new = value  # a tag's or a field's name
        else:
            new = self.scalar(key, value)
        return None if new == value else str(new)

    def redact_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """A redacted copy of a capture record (see :func:`redact_record`)."""
        if not isinstance(record, dict):
            raise InputError(f"a capture record is a JSON object, not a {type(record).__name__}")
        from .records import body_of

        out = dict(record)
        body = body_of(record)
        query = record.get("query")
        if isinstance(query, str) and query:
            out["query"] = self.redact_body(query).decode("utf-8", "surrogatepass")
        out.pop("body", None)
        out.pop("body_base64", None)
        if record.get("decoded") is None:
            if body:
                out["body"] = f"<body: {len(body)} bytes, redacted>"
                notes = [record.get("note"), "body redacted: not a form, so amodp cannot "
                         "tell what in it is personal"]  # fmt: skip
                out["note"] = "; ".join(n for n in notes if isinstance(n, str) and n)
            else:
                out["body"] = ""
            return out
        new_body, value = self.redact_form(body)
        try:
            out["body"] = new_body.decode("utf-8")
        except UnicodeDecodeError:
            import base64

            out["body_base64"] = base64.b64encode(new_body).decode("ascii")
        out["decoded"] = value
        return out


def _is_form_data(node: dict[Any, Any]) -> bool:
    """Whether ``node`` is a form's fields: a map of maps, each with a ``value``."""
    return bool(node) and all(isinstance(v, dict) and "value" in v for v in node.values())


def _each(node: dict[Any, Any] | list[Any], walk: Callable[[Any], Any]) -> Any:
    """A dict or list like ``node``, each item walked."""
    if isinstance(node, dict):
        return {k: walk(v) for k, v in node.items()}
    return [walk(v) for v in node]


class _Walk:
    """One pass over a decoded value.

    Over a body (``pairs`` given) it walks the *marked* decoding, whose leaves
    are pair numbers (see :meth:`Redactor.redact_form`): each leaf's value is the
    pair's own value, and the pairs whose value changes are noted.
    """

    __slots__ = ("r", "raw", "originals", "changes")

    def __init__(self, redactor: Redactor, values: list[str] | None) -> None:
        self.r = redactor
        self.raw = values  # each pair's raw value, when walking a body
        self.originals: dict[int, str] = {}  # pair number -> its decoded value
        self.changes: dict[int, str] = {}  # pair number -> its new value

    def original(self, leaf: Any) -> Any:
        """The value a leaf stands for."""
        if self.raw is None or type(leaf) is not str:
            return leaf
        number = int(leaf)
        found = self.originals[number] = decode_value(self.raw[number])
        return found

    def done(self, leaf: Any, old: Any, new: Any) -> Any:
        if self.raw is not None and new is not old and new != old:
            self.changes[int(leaf)] = str(new)
        return new

    def scalar(self, key: str, leaf: Any) -> Any:
        old = self.original(leaf)
        return self.done(leaf, old, self.r.scalar(key, old))

    def root(self, node: Any) -> Any:
        """A whole body: as :meth:`node`, but a top-level ``code`` is a secret."""
        if not isinstance(node, dict):
            return self.node(node, "")
        return {
            k: self.secret(v) if type(k) is str and k.lower() == _OAUTH_CODE
            else self.child(k.lower() if type(k) is str else "", v)
            for k, v in node.items()
        }  # fmt: skip

    def secret(self, node: Any) -> Any:
        """Every leaf of a credential."""
        if isinstance(node, (dict, list)):
            return _each(node, self.secret)
        old = self.original(node)
        return self.done(node, old, self.r.secret(old))

    def node(self, node: Any, key: str) -> Any:
        """Anything under ``key``: containers by their keys, leaves by :meth:`Redactor.scalar`."""
        if isinstance(node, dict):  # an index (a list as a dict) keeps the list's key
            return {k: self.child(k.lower() if type(k) is str else key, v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.child(key, v) for v in node]
        return self.scalar(key, node)

    def child(self, key: str, value: Any) -> Any:
        if not isinstance(value, (dict, list)):
            return self.scalar(key, value)
        if key == "_links":
            return self.keep(value)
        if key == "tags":
            return _each(value, self.tag)
        if key in _FIELD_LISTS:
            return _each(value, self.field)
        if key == "data" and isinstance(value, dict) and _is_form_data(value):
            return self.form_data(value)
        return self.node(value, key)

    def form_data(self, node: dict[Any, Any]) -> Any:
        """An incoming lead's form (``source_data[data][name_1][type|id|name|value]``):
        each ``value`` is what the visitor typed, the rest is the form's own."""
        out: dict[Any, Any] = {}
        for k, entry in node.items():
            field_id = self.original(entry.get("id"))
            field_id = field_id.upper() if type(field_id) is str else ""
            code = next((c for c in ("PHONE", "EMAIL") if field_id.startswith(c)), "")
            out[k] = {
                ek: self.value(code, ev, False)
                if ek == "value" and not isinstance(ev, (dict, list))
                else self.keep(ev)
                for ek, ev in entry.items()
            }
        return out

    def keep(self, node: Any) -> Any:
        """A copy, unchanged (the account's own links)."""
        if isinstance(node, (dict, list)):
            return _each(node, self.keep)
        return self.original(node)

    def tag(self, tag: Any) -> Any:
        """One of ``tags[j][id|name]``: a tag's name is account configuration."""
        if isinstance(tag, dict):
            return {
                k: self.original(v) if k == "name" and not isinstance(v, (dict, list))
                else self.node(v, k.lower() if type(k) is str else "")
                for k, v in tag.items()
            }  # fmt: skip
        if isinstance(tag, list):
            return _each(tag, self.tag)
        return self.original(tag)  # tags[0]=VIP: a tag's name

    def field(self, field: Any) -> Any:
        """One of ``custom_fields[j][id|name|code|values]``: the values by the field's code."""
        if not isinstance(field, dict):
            return self.values("", field)
        code = self.original(field.get("code", field.get("field_code")))
        code = code.upper() if type(code) is str else ""
        out: dict[Any, Any] = {}
        for k, v in field.items():
            lk = k.lower() if type(k) is str else ""
            if lk == "values":
                out[k] = self.values(code, v)
            elif lk in ("name", "field_name") and not isinstance(v, (dict, list)):
                out[k] = self.original(v)  # the field's name: configuration
            else:
                out[k] = self.child(lk, v)
        return out

    def values(self, code: str, node: Any) -> Any:
        """``values[k][value|enum]``, or a bare ``values[k]`` (a date field)."""
        if isinstance(node, (dict, list)):
            return _each(node, lambda v: self.entry(code, v))
        return self.value(code, node, False)

    def entry(self, code: str, entry: Any) -> Any:
        if not (isinstance(entry, dict) and ("value" in entry or "enum" in entry)):
            return self.value(code, entry, False)
        has_enum = any(
            self.original(entry.get(k)) not in (None, "") for k in ("enum", "enum_id", "enum_code")
        )
        return {
            k: self.value(code, v, has_enum) if k == "value"
            else self.child(k.lower() if type(k) is str else "", v)
            for k, v in entry.items()
        }  # fmt: skip

    def value(self, code: str, node: Any, has_enum: bool) -> Any:
        """A field's value, or every leaf of a structured one (an address, a legal entity)."""
        if isinstance(node, (dict, list)):
            return _each(node, lambda v: self.value(code, v, False))
        old = self.original(node)
        return self.done(node, old, self.r.field_value(code, old, has_enum))


def redact(decoded: Any, redactor: Redactor | None = None) -> Any:
    """A redacted deep copy of a decoded body (what :func:`amodp.decode` returns).

    >>> redact({"contacts": {"add": [{"id": "7", "name": "Иван Петров"}]}})
    {'contacts': {'add': [{'id': '7', 'name': '<name:1>'}]}}
    """
    return (redactor or Redactor()).redact(decoded)


def redact_body(body: str | bytes, redactor: Redactor | None = None) -> bytes:
    """The urlencoded body with only the personal pairs' values replaced.

    Every other byte stays as it was, and ``decode(redact_body(b)) ==
    redact(decode(b))``. A value that never reaches the decoded result (a
    pair overwritten by a later one, or one PHP drops) is judged by its name.

    >>> redact_body(b"leads[note][0][note][text]=call+me&leads[note][0][note][id]=5")
    b'leads[note][0][note][text]=%3Ctext%3A1%3E&leads[note][0][note][id]=5'
    """
    return (redactor or Redactor()).redact_body(body)


def redact_record(record: dict[str, Any], redactor: Redactor | None = None) -> dict[str, Any]:
    """A redacted copy of a capture record (see :mod:`amodp.records`).

    ``body`` (or ``body_base64``) goes through :func:`redact_body`, ``query``
    too, ``decoded`` through :func:`redact`; headers and every other key are
    kept as they are, keys amodp does not write (``_...`` or any other) too. A
    body that was not decoded as a form (JSON, binary) cannot be judged value
    by value: it is replaced by a placeholder and ``note`` says so.
    """
    return (redactor or Redactor()).redact_record(record)
