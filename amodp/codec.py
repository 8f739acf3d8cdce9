"""PHP-exact decoding and encoding of amoCRM webhook bodies.

amoCRM sends ``application/x-www-form-urlencoded`` bodies with PHP bracket
keys; most receivers read them through PHP's ``parse_str`` (``$_POST``).
:func:`decode` builds exactly the array PHP builds, as Python data shaped the
way PHP's ``json_encode`` prints it; :func:`encode` is PHP's
``http_build_query``; :func:`to_json` prints like ``json_encode``.
:func:`urlencode` and :func:`load_json` are the PHP rules the rest of amodp
reads and writes by (``urlencode``, ``json_decode``).

Standard library only: this module is on the start-up path of ``amodp decode``.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus

from .errors import InputError

__all__ = [
    "Decoded",
    "PHP_MAX_INPUT_VARS",
    "PHP_MAX_NESTING",
    "decode",
    "encode",
    "load_json",
    "parse",
    "to_json",
    "urlencode",
]

#: php.ini's default ``max_input_vars``: a default PHP receiver keeps the first
#: 1000 variables of a body (1001 in ``$_POST``) and drops the rest. amodp
#: keeps everything and warns (:func:`parse`); ``amodp check`` and ``send`` test
#: and warn against this one value.
PHP_MAX_INPUT_VARS = 1000
#: php.ini's default ``max_input_nesting_level``: deeper brackets drop the variable.
PHP_MAX_NESTING = 64

_LONG_MAX = 2**63 - 1
_LONG_MIN = -(2**63)
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Index segments that append ("a[]"): PHP skips one isspace() byte before "]".
_APPEND = frozenset(("", " ", "\t", "\n", "\v", "\f", "\r"))
_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def _unescape(match: re.Match[str]) -> str:
    """A run of ``%XX`` escapes as latin-1 text (one char per byte)."""
    return bytes.fromhex(match.group().replace("%", "")).decode("latin-1")


@lru_cache(maxsize=4096)  # "id", "status", "0"...: the same few, body after body
def _php_key(segment: str) -> Any:
    """PHP's array key for a name segment: "12" and "-3" are integers; "012",
    "-0", "+1", " 1" and numbers outside PHP's 64-bit integers stay strings."""
    digits = segment[1:] if segment[:1] == "-" else segment
    if not (digits.isdigit() and digits.isascii()):
        return segment
    if digits[0] == "0" and (len(digits) > 1 or digits is not segment):
        return segment
    number = int(segment)
    if len(digits) >= 19 and not _LONG_MIN <= number <= _LONG_MAX:
        return segment
    return number


def _utf8_lead(c: int) -> bool:
    return c < 0x80 or 0xC2 <= c <= 0xF4


def _php_replace(exc: UnicodeError) -> tuple[str, int]:
    """Replace invalid UTF-8 the way PHP's ``json_encode`` does.

    PHP (``php_next_utf8_char``) swallows a different number of bytes than
    Python's ``replace`` handler: ``%E4%FF%C3(`` gives two U+FFFD in PHP and
    three in Python; a UTF-8-encoded surrogate ``%ED%A0%80`` gives one.
    """
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    data, pos = exc.object, exc.start
    avail = len(data) - pos
    c = data[pos]
    if c < 0xC2 or c > 0xF4:
        advance = 1
    elif c < 0xE0:
        advance = 1 if avail < 2 or _utf8_lead(data[pos + 1]) else 2
    else:
        width = 3 if c < 0xF0 else 4
        advance = width
        # Stops before a byte that may start a character; swallows the rest.
        for i in range(1, width):
            if avail <= i or _utf8_lead(data[pos + i]):
                advance = i
                break
    return "\ufffd", pos + advance


codecs.register_error("amodp-php", _php_replace)


class Decoded:
    """The result of :func:`parse`: the value and what a PHP receiver would make of it.

    ``variables`` counts the named pairs, ``depth`` the deepest bracket
    nesting; ``warnings`` says where a default PHP receiver would differ.
    ``shape``, set by :class:`Shapes`, is the body's names in order (the same
    for every body whose decoding differs only in its values), else None.
    (A plain class: a dataclass costs start-up time on every ``amodp decode``.)
    """

    __slots__ = ("value", "variables", "depth", "warnings", "shape")

    def __init__(
        self, value: dict[Any, Any] | list[Any], variables: int = 0, depth: int = 0
    ) -> None:
        self.value = value
        self.variables = variables
        self.depth = depth
        self.warnings: list[str] = []
        self.shape: str | None = None

    def __repr__(self) -> str:
        return (
            f"Decoded(value={self.value!r}, variables={self.variables}, "
            f"depth={self.depth}, warnings={self.warnings!r})"
        )


class _Decoder:
    """One decoding run: the tree, what this run has already worked out, and the warnings."""

    def __init__(self) -> None:
        self.root: dict[Any, Any] = {}
        # Raw key prefix ("leads[status][0]") -> the dict it names, so that the
        # common key costs one dict lookup instead of a bracket parse.
        self.nodes: dict[str, dict[Any, Any]] = {}
        self.texts: dict[str, str] = {}
        # id(node) -> (node, len(node) when last appended to, next free index)
        self.next_index: dict[int, tuple[dict[Any, Any], int, int]] = {}
        self.depth = 0
        self.bad_escape = False
        self.bad_utf8 = False

    # -- text -------------------------------------------------------------
    def text(self, raw: str) -> str:
        """Percent-decode a value (latin-1 text, one char per byte) to str."""
        decoded = self.texts.get(raw)
        if decoded is None:
            # Field names and enum values repeat a lot: decode each once.
            decoded = self.texts[raw] = self.unescape(raw, "amodp-php")
        return decoded

    def name(self, raw: str) -> str:
        """Percent-decode a name. Invalid UTF-8 stays as surrogate escapes so
        that names PHP tells apart by their bytes stay apart; :func:`to_json`
        prints them as PHP does."""
        return self.unescape(raw, "surrogateescape")

    def unescape(self, raw: str, errors: str) -> str:
        data = raw
        if "%" in raw:
            if not self.bad_escape and _BAD_ESCAPE.search(raw):
                self.bad_escape = True
            data = _ESCAPES.sub(_unescape, raw)
        try:
            return data.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            self.bad_utf8 = True
            return data.encode("latin-1").decode("utf-8", errors)

    # -- structure ----------------------------------------------------------
    def append_index(self, node: dict[Any, Any]) -> int | None:
        """The key ``name[]`` gets: one past the largest integer key ever set."""
        entry = self.next_index.get(id(node))
        if entry is None:
            seen, nxt = 0, None
        else:
            _, seen, nxt = entry
        if len(node) > seen:
            # Keys are never removed, so keys added since are the last ones.
            added = len(node) - seen
            for k in reversed(node):
                if added == 0:
                    break
                added -= 1
                if type(k) is int and (nxt is None or k >= nxt):
                    nxt = k + 1
        index = 0 if nxt is None else nxt
        if index > _LONG_MAX or index in node:
            return None
        self.next_index[id(node)] = (node, len(node) + 1, index + 1)
        return index

    def climb(self, name: str, cut: int) -> dict[Any, Any] | None:
        """The dict that holds the last segment of a regular ``name``, made
        from its longest cached prefix; None when the slow path must decide."""
        nodes = self.nodes
        cuts = [cut]
        while True:
            c = name.rfind("[", 0, cuts[-1])
            if c <= 0:
                return None
            node = nodes.get(name[:c])
            if node is not None:
                break
            cuts.append(c)
        for end in reversed(cuts):
            if name[end - 1] != "]":
                return None
            segment = name[c + 1 : end - 1]
            if segment in _APPEND or "]" in segment:
                return None
            key = _php_key(segment)
            child = node.get(key)
            if type(child) is not dict:
                if child is not None:
                    return None
                child = node[key] = {}
            node = child
            nodes[name[:end]] = node
            c = end
        depth = name.count("[")
        if depth > self.depth:
            self.depth = depth
        return node

    def assign(self, name: str, value: str) -> None:
        """Store one pair, following ``php_register_variable_ex``."""
        name = name.lstrip(" ")
        # The base name ends at the first "["; " " and "." in it become "_".
        bracket = name.find("[")
        base = name if bracket < 0 else name[:bracket]
        if " " in base or "." in base:
            base = base.replace(" ", "_").replace(".", "_")
        if not base:
            return
        segments: list[str | None] = []
        regular = True  # every segment plain: the prefixes may be cached
        levels = 0  # PHP's nesting level: the segments and an unterminated "[c"
        if bracket >= 0:
            pos = bracket
            while True:
                close = name.find("]", pos + 1)
                if close < 0:
                    if not segments:
                        # "a[b=1": no index after all; the "[" and any " ", "."
                        # or "[" after it become "_" ({"a_b": "1"}).
                        rest = name[bracket + 1 :]
                        for ch in " .[":
                            rest = rest.replace(ch, "_")
                        base = base + "_" + rest
                        regular = False
                    else:
                        # "a[b][c=1": the unterminated part is ignored
                        # ({"a":{"b":"1"}}) but is a nesting level for PHP.
                        levels = 1
                    break
                segment = name[pos + 1 : close]
                if segment in _APPEND:
                    # "a[]", "a[ ]" and "a[\t]" append: PHP skips one isspace() before "]".
                    segments.append(None)
                    regular = False
                else:
                    if "[" in segment:
                        regular = False
                    segments.append(segment)
                if close + 1 < len(name) and name[close + 1] == "[":
                    pos = close + 1
                    continue
                if close + 1 != len(name):
                    regular = False  # "a[b]c=1": text after the "]" is ignored
                break
        levels += len(segments)
        if levels > self.depth:
            self.depth = levels

        node = self.root
        path = name[:bracket]
        current: Any = _php_key(base)
        for step in segments:
            child = node.get(current)
            if type(child) is not dict:
                if child is not None:
                    self.nodes.clear()  # a scalar becomes an array: keep cache simple
                child = {}
                node[current] = child
            node = child
            if regular:
                self.nodes[path] = node
            if step is None:
                index = self.append_index(node)
                if index is None:
                    return  # PHP drops a pair whose append index is taken
                current = index
            else:
                current = _php_key(step)
                if regular:
                    path = f"{path}[{step}]"
        self.set(node, current, value)

    def set(self, node: dict[Any, Any], key: Any, value: str) -> None:
        if type(node.get(key)) is dict:
            self.nodes.clear()  # an array becomes a scalar: cached prefixes are stale
        node[key] = value


def _finish(node: dict[Any, Any]) -> dict[Any, Any] | list[Any]:
    """Turn levels whose keys are exactly 0..n-1 in order into lists, as json_encode prints them."""
    is_list = True
    i = 0
    for k, v in node.items():
        if type(v) is dict:
            node[k] = _finish(v)
        if is_list:
            is_list = type(k) is int and k == i
            i += 1
    if is_list:
        return list(node.values())
    return node


def _latin1(body: str | bytes | bytearray | memoryview) -> str:
    if isinstance(body, str):
        if body.isascii():
            return body
        return body.encode("utf-8", "surrogatepass").decode("latin-1")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body).decode("latin-1")
    raise InputError(f"cannot decode a {type(body).__name__}: give str or bytes")


def parse(body: str | bytes) -> Decoded:
    """Decode a urlencoded body as PHP's ``parse_str`` does, with PHP's warnings.

    No limit is applied; ``warnings`` says when a default PHP receiver would
    lose data (``max_input_vars``, ``max_input_nesting_level``) and when the
    body holds invalid ``%`` escapes or invalid UTF-8 (decoded as U+FFFD the
    way ``json_encode`` substitutes it).

    >>> result = parse("leads[status][0][id]=4831596&a=%FF")
    >>> result.variables, result.depth, result.warnings
    (2, 3, ['invalid UTF-8: replaced by U+FFFD, as json_encode does'])
    """
    text = _latin1(body)
    # "+" is a space and "%5B"/"%5D" are brackets wherever they stand: replacing
    # them in one pass is exactly what per-name percent-decoding would do,
    # because "[" and "]" are neither delimiters nor hex digits.
    if "+" in text:
        text = text.replace("+", " ")
    if "%5" in text:
        text = text.replace("%5B", "[").replace("%5D", "]")
        text = text.replace("%5b", "[").replace("%5d", "]")
    nul = "\x00" in text or "%00" in text
    dec = _Decoder()
    nodes = dec.nodes
    text_of = dec.text
    name_of = dec.name
    assign = dec.assign
    climb = dec.climb
    pairs = text.split("&")
    for pair in pairs:
        name, _, value = pair.partition("=")
        if not name:
            continue
        if "%" in value or not value.isascii():
            value = text_of(value)
        if "%" in name or not name.isascii():
            name = name_of(name)
            if nul and "\x00" in name:
                name = name.partition("\x00")[0]  # PHP names are C strings
                if not name:
                    continue
        # Fast path: "<known prefix>[<new key>]".
        if name[-1] == "]":
            cut = name.rfind("[")
            if cut > 0:
                node = nodes.get(name[:cut])
                if node is None and nodes:
                    node = climb(name, cut)
                if node is not None:
                    leaf = name[cut + 1 : -1]
                    if leaf not in _APPEND and "]" not in leaf:
                        key = _php_key(leaf)
                        if key not in node:
                            node[key] = value
                            continue
        assign(name, value)

    # Named pairs, counted without a Python loop: all but the empty ones and
    # those that start with "=".
    variables = len(pairs) - pairs.count("") - text.count("&=") - text.startswith("=")
    # Exact without counting the fast path: every cached prefix was registered
    # while assigning a key at least one level deeper than any key it serves.
    return _result(_finish(dec.root), variables, dec.depth, dec.bad_escape, dec.bad_utf8)


def _result(
    value: dict[Any, Any] | list[Any], variables: int, depth: int, bad_escape: bool, bad_utf8: bool
) -> Decoded:
    result = Decoded(value, variables, depth)
    if variables > PHP_MAX_INPUT_VARS:
        result.warnings.append(
            f"{variables} variables: over PHP's max_input_vars ({PHP_MAX_INPUT_VARS}); a "
            f"default receiver keeps only the first {PHP_MAX_INPUT_VARS + 1} in $_POST "
            f"(the first {PHP_MAX_INPUT_VARS} with parse_str)"
        )
    if depth > PHP_MAX_NESTING:
        result.warnings.append(
            f"nesting {depth} levels deep: a default PHP receiver "
            f"(max_input_nesting_level = {PHP_MAX_NESTING}) drops such variables"
        )
    if bad_escape:
        result.warnings.append("invalid % escapes: kept as written, as PHP does")
    if bad_utf8:
        result.warnings.append("invalid UTF-8: replaced by U+FFFD, as json_encode does")
    return result


def decode_value(raw: str) -> str:
    """One raw value (latin-1 text, as it stands in a body) decoded as
    :func:`parse` decodes it: "+" is a space, %-escapes, invalid UTF-8 as U+FFFD.

    >>> decode_value("%D0%BF+1")
    'п 1'
    """
    return _Decoder().text(raw.replace("+", " "))


def decode(body: str | bytes) -> dict[Any, Any] | list[Any]:
    """Decode a urlencoded body into what PHP's ``parse_str`` builds.

    >>> decode("leads[status][0][id]=4831596&account[subdomain]=acme")
    {'leads': {'status': [{'id': '4831596'}]}, 'account': {'subdomain': 'acme'}}
    """
    return parse(body).value


#: a pair's value: what follows its first "=" (a pair without one has none)
_VALUES = re.compile(r"=([^&]*)")


class Shapes:
    """:func:`parse` for a receiver that sees the same few body shapes again
    and again: the listener owns one.

    What PHP builds from a body depends on its names and their order only; the
    values just fill the leaves. So the first body of a shape is decoded with
    each value replaced by its pair's number, which gives the shape: the
    nesting, with at each leaf the number of the pair that won it. A later
    body with the same names is then its values put in place, without parsing
    a name again. The result is :func:`parse`'s, warnings included.

    At most ``size`` shapes are kept (then they are forgotten and learnt
    anew); bodies over ``max_pairs`` pairs are parsed as usual.
    """

    def __init__(self, size: int = 256, max_pairs: int = 512) -> None:
        self.size = size
        self.max_pairs = max_pairs
        self._shapes: dict[str, _Shape] = {}

    def parse(self, body: bytes) -> Decoded:
        text = body.decode("latin-1")
        # "a[b]=1&c=2" -> ["a[b]", "1", "&c", "2"]: the names, the shape's key
        # ("a[b]&c"), between the values of the pairs that have a "=".
        parts = _VALUES.split(text)
        names = "".join(parts[0::2])
        shape = self._shapes.get(names)
        if shape is None:
            if text.count("&") >= self.max_pairs:
                return parse(body)
            if len(self._shapes) >= self.size:
                self._shapes.clear()
            shape = self._shapes[names] = _Shape(text)
        dec = _Decoder()
        raws = parts[1::2]
        if len(raws) == shape.pairs:
            # Every pair has a name and a "=": its value, the plain ones (ids,
            # numbers: most) as they are.
            values = [
                _value(raw, dec) if "%" in raw or "+" in raw or not raw.isascii() else raw
                for raw in raws
            ]
        else:
            # A pair with no name is skipped before its value is looked at, as in parse().
            values = [
                _value(value, dec) if name else ""
                for name, _, value in (pair.partition("=") for pair in text.split("&"))
            ]
        result = _result(
            _fill(shape.template, values),
            shape.variables,
            shape.depth,
            dec.bad_escape or shape.bad_escape,
            dec.bad_utf8 or shape.bad_utf8,
        )
        result.shape = names
        return result


class _Shape:
    """What :class:`Shapes` learns of a body shape (a plain class: a named
    tuple costs start-up time on every ``amodp decode``)."""

    __slots__ = ("template", "pairs", "variables", "depth", "bad_escape", "bad_utf8")

    def __init__(self, text: str) -> None:
        """Decode the body with each value replaced by its pair's number."""
        names = [pair.partition("=")[0] for pair in text.split("&")]
        marked = "&".join(f"{name}={i}" if name else "" for i, name in enumerate(names))
        learnt = parse(marked.encode("latin-1"))  # its warnings are the names' own
        #: the decoding, with at each leaf the number of the pair whose value goes there
        self.template = _template(learnt.value)
        #: the number of pairs when each has a name, else -1
        self.pairs = -1 if "" in names else len(names)
        #: what :func:`parse` counts of the names: variables and nesting depth
        self.variables = learnt.variables
        self.depth = learnt.depth
        #: whether the names hold an invalid % escape, invalid UTF-8
        self.bad_escape = any(w.startswith("invalid %") for w in learnt.warnings)
        self.bad_utf8 = any(w.startswith("invalid UTF-8") for w in learnt.warnings)


def _value(raw: str, dec: _Decoder) -> str:
    """A pair's value as :func:`parse` decodes it."""
    if "+" in raw:
        raw = raw.replace("+", " ")
    if "%" in raw or not raw.isascii():
        return dec.text(raw)
    return raw


def _template(node: Any) -> Any:
    """A marked decoding with its leaves (pair numbers) as ints."""
    if type(node) is dict:
        return {k: _template(v) for k, v in node.items()}
    if type(node) is list:
        return [_template(v) for v in node]
    return int(node)


def _fill(node: Any, values: list[str]) -> Any:
    """The template with each leaf (a pair's number) replaced by its value."""
    if type(node) is list:
        return [values[v] if type(v) is int else _fill(v, values) for v in node]
    return {k: values[v] if type(v) is int else _fill(v, values) for k, v in node.items()}


# -- encoding ---------------------------------------------------------------


def _scalar(value: Any) -> str | None:
    if value is None:
        return None  # http_build_query skips nulls
    if value is True:
        return "1"
    if value is False:
        return "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return php_float(value)
    if isinstance(value, str):
        return value
    raise InputError(f"cannot encode a {type(value).__name__}")


def php_float(value: float, precision: int = 14) -> str:
    """Format a float as PHP's ``"%.*G"`` with ``precision`` (ini default 14)
    does, which is how ``http_build_query`` prints one: ``100.0`` -> ``100``,
    ``1e20`` -> ``1.0E+20``, ``0.1 + 0.2`` -> ``0.3``, ``1e-5`` -> ``1.0E-5``."""
    if value != value:
        return "NAN"
    if value in (float("inf"), float("-inf")):
        return "INF" if value > 0 else "-INF"
    sign = "-" if str(value).startswith("-") else ""
    mantissa, _, exponent = f"{abs(value):.{precision - 1}e}".partition("e")
    digits = mantissa.replace(".", "")
    whole_value = int(abs(value)) if value.is_integer() else 0
    if not (
        precision == 14
        and 10**14 <= whole_value < 10**15
        and whole_value % 10 == 5
        and (whole_value // 10) % 2 == 0
    ):
        # zend_dtoa drops trailing zeros, except on one path: a 15-digit
        # integer that ties and rounds down keeps them (100000000000005.0
        # prints as 1.0000000000000E+14).
        digits = digits.rstrip("0") or "0"
    point = int(exponent) + 1  # value = 0.<digits> * 10**point
    if value == 0:
        return sign + "0"
    if (point < -3) if point < 0 else (point > precision):
        rest = digits[1:] or "0"
        exp = point - 1
        return f"{sign}{digits[0]}.{rest}E{'-' if exp < 0 else '+'}{abs(exp)}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    whole = digits[:point].ljust(point, "0")
    frac = digits[point:]
    return f"{sign}{whole}.{frac}" if frac else sign + whole


def urlencode(text: str | bytes) -> str:
    """PHP's ``urlencode``: letters, digits and ``-_.`` alone, ``+`` for a
    space, ``%XX`` for every other byte (of the text's UTF-8, or the bytes as
    they are).

    >>> urlencode("a b~Я"), urlencode(b"\\xff")
    ('a+b%7E%D0%AF', '%FF')
    """
    try:
        # "~" too is encoded (Python's quote keeps it).
        return quote_plus(text, safe="").replace("~", "%7E")
    except UnicodeEncodeError as exc:
        raise InputError(f"cannot encode {text!r}: not valid Unicode") from exc


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def load_json(text: str | bytes) -> Any:
    """JSON as PHP's ``json_decode`` reads it: :func:`json.loads`, which also
    takes ``NaN``, ``Infinity`` and ``-Infinity``; JSON does not, and here they
    raise ValueError. Raises what :func:`json.loads` raises (ValueError,
    RecursionError).

    >>> load_json('{"a": [1, "x"]}')
    {'a': [1, 'x']}
    """
    return json.loads(text, parse_constant=_not_json)


def _pairs(prefix: str | None, value: Any, out: list[str]) -> None:
    """The ``name=value`` pairs of ``value``'s items, their names under
    ``prefix`` (``prefix[key]``; the top level has none)."""
    items = value.items() if isinstance(value, Mapping) else enumerate(value)
    for k, v in items:
        key = urlencode(str(k))
        name = key if prefix is None else f"{prefix}%5B{key}%5D"
        if isinstance(v, (Mapping, list, tuple)):
            _pairs(name, v, out)
        else:
            text = _scalar(v)
            if text is not None:
                out.append(f"{name}={urlencode(text)}")


def encode(data: Mapping[Any, Any] | list[Any]) -> str:
    """Encode data as PHP's ``http_build_query`` does (the way amoCRM builds bodies).

    >>> encode({"leads": {"status": [{"id": "4831596"}]}})
    'leads%5Bstatus%5D%5B0%5D%5Bid%5D=4831596'
    """
    if not isinstance(data, (Mapping, list, tuple)):
        raise InputError("only a JSON object (or array) can be encoded")
    out: list[str] = []
    _pairs(None, data, out)
    return "&".join(out)


def to_json(value: Any, *, indent: int | None = 4) -> str:
    """Print like PHP's ``json_encode`` with JSON_PRETTY_PRINT (``indent=4``)
    or compact (``indent=None``), keeping Unicode and slashes unescaped."""
    compact = (",", ":") if indent is None else None
    text = json.dumps(value, ensure_ascii=False, indent=indent, separators=compact)
    # json_encode escapes the JavaScript line terminators even with
    # JSON_UNESCAPED_UNICODE; they can only occur inside strings here.
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # Names with invalid UTF-8 (see _Decoder.name): U+FFFD, the PHP way.
            text = text.encode("utf-8", "surrogateescape").decode("utf-8", "amodp-php")
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text
