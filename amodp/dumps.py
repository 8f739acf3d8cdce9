"""Read back what PHP developers paste when they dump ``$_POST``.

A receiver's author who is asked "what did amoCRM send?" often has only
``print_r($_POST)``, ``var_dump($_POST)`` (PHP's, or Xdebug's on the
command line or copied from a page), ``var_export($_POST)`` or Laravel's
``dd($request->all())`` (Symfony VarDumper's CLI form) at hand.
:func:`read_dumps` reads each of them back into the array PHP held and
:func:`body_of` writes that array as a urlencoded body that PHP decodes to the
same array, so that :mod:`amodp.codec` prints what ``json_encode($_POST)``
printed.

What a dump cannot tell is not guessed silently: a dump that is cut
(VarDumper's ``…``, Xdebug's ``...``), collapsed (``[▶]``) or holds an object
is an :class:`~amodp.errors.InputError`; a value read by a looser rule (a
``print_r`` that lost its line breaks, a string whose ``var_dump`` length is
wrong, Laravel's ``null`` for an empty field) comes with a warning.

Standard library only; imported by :mod:`amodp.inputs` only when the input
looks like a dump.
"""

from __future__ import annotations

import re

from .codec import urlencode
from .errors import InputError

__all__ = ["Dump", "Tree", "body_of", "read_dumps"]

#: An array as a dump shows it: (key, value) pairs in order; a value is the
#: string's bytes or a nested array. Keys are their text (``b"0"`` for 0):
#: PHP makes an integer of a numeric key again when the body is decoded.
Tree = list[tuple[bytes, "bytes | Tree"]]


class Dump:
    """One dump found in the input: its kind, what it holds, and what was odd."""

    __slots__ = ("kind", "tree", "warnings")

    def __init__(self, kind: str, tree: Tree, warnings: tuple[str, ...] = ()) -> None:
        self.kind = kind  # "print_r", "var_dump", "var_export" or "dd"
        self.tree = tree
        self.warnings = warnings

    def __repr__(self) -> str:
        return f"Dump(kind={self.kind!r}, tree={self.tree!r}, warnings={self.warnings!r})"


# Where a dump starts: print_r's "Array" and "(" (on two lines, or on one
# when a browser showed it without <pre>), var_dump's "array(2) {" (Xdebug's
# HTML form, copied from a page: "array (size=2)"), var_export's "array (",
# VarDumper's "array:2 [".
_START = re.compile(
    rb"(?<![\w$])(?:"
    rb"(?P<print_r>Array[ \t]*\r?\n[ \t]*\([ \t]*\r?\n|Array[ \t]*\([ \t]*(?:\[|\)))"
    rb"|(?P<var_dump>array\(\d+\)[ \t]*\{)"
    rb"|(?P<xdebug_html>array[ \t]*\(size=\d+\))"
    rb"|(?P<var_export>array[ \t]*\()"
    rb"|(?P<dd>array:\d+[ \t]*\[)"
    rb")"
)


def read_dumps(data: bytes) -> list[Dump]:
    """Every dump in ``data``, in order; text between them (a log line's
    date, Xdebug's ``file.php:12:``, ``<pre>``) is passed over.

    >>> [d.tree for d in read_dumps(b"Array\\n(\\n    [id] => 7\\n)\\n")]
    [[(b'id', b'7')]]
    """
    if b"\r\n" in data and data.count(b"\r\n") == data.count(b"\n"):
        data = data.replace(b"\r\n", b"\n")  # pasted on Windows: CRLF throughout
    dumps = []
    pos = 0
    while (match := _START.search(data, pos)) is not None:
        kind = match.lastgroup
        assert kind is not None
        dump, pos = _READERS[kind](data, match.start())
        dumps.append(dump)
    if not dumps:
        raise InputError("no print_r, var_dump, var_export or dd() output in it")
    return dumps


def body_of(tree: Tree) -> bytes:
    """A urlencoded body that PHP's ``parse_str`` decodes to ``tree``
    (``http_build_query``'s names: ``a%5Bb%5D=v``). An empty nested array
    has no pair, as in ``http_build_query``.

    >>> body_of([(b"leads", [(b"status", [(b"0", [(b"id", b"7")])])])])
    b'leads%5Bstatus%5D%5B0%5D%5Bid%5D=7'
    """
    out: list[bytes] = []
    stack: list[tuple[bytes | None, Tree, int]] = [(None, tree, 0)]
    while stack:
        prefix, node, i = stack.pop()
        if i == len(node):
            continue
        stack.append((prefix, node, i + 1))
        key, value = node[i]
        part = urlencode(key).encode("ascii")
        name = part if prefix is None else prefix + b"%5B" + part + b"%5D"
        if isinstance(value, list):
            stack.append((name, value, 0))
        else:
            out.append(name + b"=" + urlencode(value).encode("ascii"))
    return b"&".join(out)


_NL = b"\n"


def _line_end(data: bytes, pos: int) -> int:
    end = data.find(b"\n", pos)
    return len(data) if end < 0 else end


def _where(data: bytes, pos: int) -> str:
    """``line 12``: where ``pos`` is in ``data``, for a message."""
    return f"line {data.count(_NL, 0, pos) + 1}"


def _shown(text: bytes) -> str:
    return repr(text[:40].decode("utf-8", "replace"))


def _count_check(kind: str, opened: int, found: int, data: bytes, pos: int) -> None:
    if opened != found:
        raise InputError(
            f"the {kind} output says an array has {opened} items but shows {found} "
            f"({_where(data, pos)}): it is cut or was changed"
        )


# -- print_r ----------------------------------------------------------------------

_PR_LOOSE = "the print_r output has lost its line breaks or indentation"


def _read_print_r(data: bytes, start: int) -> tuple[Dump, int]:
    """``print_r``: an array is "Array", then "(" on its own line, then one
    ``[key] => value`` line per item 4 spaces further in, then ")" and a
    blank line. Values are printed as they are, so a value with line breaks
    runs on until the next line that is an item or the ")" of its array."""
    exact = _print_r_lines(data, start)
    if exact is not None:
        tree, end = exact
        return Dump("print_r", tree), end
    tree, end = _print_r_loose(data, start)
    warning = (
        f"{_PR_LOOSE} (as a browser shows it without <pre>): values are read "
        "between the [key] => marks, so spaces and line breaks in them may differ"
    )
    return Dump("print_r", tree, (warning,)), end


def _print_r_lines(text: bytes, start: int) -> tuple[Tree, int] | None:
    """The exact reading, line by line; None when the lines are not print_r's."""
    lines = text[start:].split(b"\n")
    offsets = [start]
    for line in lines[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)
    if len(lines) < 2 or not re.fullmatch(rb"Array[ \t]*", lines[0]):
        return None
    paren = lines[1]
    base = len(paren) - len(paren.lstrip(b" "))
    if paren.strip() != b"(":
        return None
    root: Tree = []
    stack: list[tuple[Tree, int]] = [(root, base)]
    i = 2
    while stack:
        if i >= len(lines):
            return None
        node, indent = stack[-1]
        line = lines[i]
        if line.rstrip() == b" " * indent + b")":
            stack.pop()
            i += 1
            if stack:  # the item's own line break after a nested ")"
                if i >= len(lines) or lines[i].strip():
                    return None
                i += 1
            continue
        item = _pr_item(line, indent)
        if item is None:
            return None
        key, rest = item
        if (
            rest.rstrip() == b"Array"
            and i + 1 < len(lines)
            and lines[i + 1].rstrip() == b" " * (indent + 8) + b"("
        ):
            child: Tree = []
            node.append((key, child))
            stack.append((child, indent + 8))
            i += 2
            continue
        j = i + 1
        while j < len(lines) and not _pr_closes(lines[j], indent):
            j += 1
        node.append((key, b"\n".join([rest, *lines[i + 1 : j]])))
        i = j
    end = offsets[i] if i < len(offsets) else len(text)
    return root, end


_PR_ITEM = re.compile(rb" *\[(.*?)\] =>(?: |$)", re.S)


def _pr_item(line: bytes, indent: int) -> tuple[bytes, bytes] | None:
    """(key, the rest of the line) of a ``[key] => value`` line at ``indent + 4``."""
    pad = indent + 4
    if line[:pad] != b" " * pad or line[pad : pad + 1] != b"[":
        return None
    match = _PR_ITEM.match(line, pad)
    if match is None:
        return None
    return match[1], line[match.end() :]


def _pr_closes(line: bytes, indent: int) -> bool:
    """Whether ``line`` ends a value of an array at ``indent``: its next item or its ")"."""
    return line.rstrip() == b" " * indent + b")" or _pr_item(line, indent) is not None


_PR_TOKEN = re.compile(
    rb"\s*(?:(?P<open>Array\s*\()|(?P<close>\))|\[(?P<key>[^\]\n]*)\]\s*=>[ \t]?)", re.S
)
# A value ends before the next "[key] =>" or the ")" that closes its array.
_PR_NEXT = rb"(?=\[[^\]\n]*\]\s*=>|\)(?:\s|\)|$))"
_PR_VALUE_END = re.compile(rb"\s+" + _PR_NEXT + rb"|\s*$")
_PR_EMPTY = re.compile(_PR_NEXT)


def _print_r_loose(text: bytes, start: int) -> tuple[Tree, int]:
    """``print_r`` read by its marks alone, whatever the spaces and line breaks."""
    match = _PR_TOKEN.match(text, start)
    if match is None or match["open"] is None:
        raise InputError(f"not print_r output ({_where(text, start)})")
    pos = match.end()
    root: Tree = []
    stack = [root]
    while stack:
        match = _PR_TOKEN.match(text, pos)
        if match is None or match["open"] is not None:
            shown = _shown(text[pos:].lstrip())
            raise InputError(
                f"the print_r output is not complete or not print_r's at {_where(text, pos)}: "
                f"{shown} where a [key] => or a ) was expected"
            )
        pos = match.end()
        if match["close"] is not None:
            stack.pop()
            continue
        key = match["key"]
        opened = re.compile(rb"Array\s*\(").match(text, pos)
        if opened is not None:
            child: Tree = []
            stack[-1].append((key, child))
            stack.append(child)
            pos = opened.end()
            continue
        if _PR_EMPTY.match(text, pos):
            stack[-1].append((key, b""))
            continue
        end = _PR_VALUE_END.search(text, pos)
        assert end is not None  # "\s*$" always matches
        stack[-1].append((key, text[pos : end.start()]))
        pos = end.start()
    return root, pos


# -- var_dump -------------------------------------------------------------------------

_VD_TOKEN = re.compile(
    rb"\s*(?:"
    rb"(?P<open>array\((?P<count>\d+)\)\s*\{)"
    rb"|(?P<close>\})"
    rb"|\[\"(?P<key>.*?)\"\]\s*=>"  # var_dump: ["key"]=>
    rb"|\[(?P<index>-?\d+)\]\s*=>"  # [0]=> (Xdebug: [0] =>)
    rb"|'(?P<xkey>(?:[^'\\]|\\.)*)'\s*=>"  # Xdebug's text mode: 'key' =>
    rb"|string\((?P<length>\d+)\)\s*\""
    rb"|int\((?P<int>-?\d+)\)"
    rb"|float\((?P<float>[^)\s]*)\)"
    rb"|bool\((?P<bool>true|false)\)"
    rb"|(?P<null>NULL)"
    rb"|(?P<cut>\.\.\.|\(more elements\)\.\.\.)"  # Xdebug's limits
    rb"|(?P<object>object\(|enum\(|resource\()"
    rb")",
    re.S,
)
# After a string whose length does not fit: its closing quote is the one
# followed by the next key, the end of its array or of the text; or by
# Xdebug's "..." when it cut the string.
_VD_STRING_END = re.compile(
    rb'"(?:(?P<cut>\.\.\.)|(?=\s*(?:\[[^\]\n]*\]\s*=>|\'[^\n]*?\'\s*=>|\}|$)))'
)


def _var_dump_scalar(match: re.Match[bytes], data: bytes, warnings: list[str]) -> bytes:
    """A var_dump item that is neither an array nor a string (int, float,
    bool, NULL), as PHP's ``$_POST`` held it; anything else is unexpected."""
    scalar = _scalar(match, warnings)
    if scalar is None:
        raise _unexpected("var_dump", data, match.start())
    return scalar


def _read_var_dump(data: bytes, start: int) -> tuple[Dump, int]:
    """``var_dump`` (and Xdebug's text form of it): ``array(N) {``, then
    ``["key"]=>`` or ``[0]=>`` and a value on the next line, then ``}``. A
    string is ``string(N) "..."`` with N its length in bytes, so its bytes
    are read exactly, line breaks and quotes included."""
    warnings: list[str] = []
    match = _VD_TOKEN.match(data, start)
    assert match is not None and match["open"] is not None
    root: Tree = []
    stack: list[tuple[Tree, int, int]] = [(root, int(match["count"]), start)]
    pos = match.end()
    key: bytes | None = None
    while stack:
        match = _VD_TOKEN.match(data, pos)
        if match is None:
            raise _unexpected("var_dump", data, pos)
        pos = match.end()
        node, count, opened_at = stack[-1]
        if match["cut"] is not None or match["object"] is not None:
            raise _not_post("var_dump", match, data, match.start())
        if key is None:
            if match["close"] is not None:
                _count_check("var_dump", count, len(node), data, opened_at)
                stack.pop()
                continue
            key = _vd_key(match)
            if key is None:
                raise _unexpected("var_dump", data, match.start())
            continue
        if match["open"] is not None:
            child: Tree = []
            node.append((key, child))
            stack.append((child, int(match["count"]), match.start()))
        elif match["length"] is not None:
            value, pos = _vd_string(data, pos, int(match["length"]), warnings)
            node.append((key, value))
        else:
            node.append((key, _var_dump_scalar(match, data, warnings)))
        key = None
    return Dump("var_dump", root, tuple(dict.fromkeys(warnings))), pos


def _vd_key(match: re.Match[bytes]) -> bytes | None:
    if match["key"] is not None:
        return match["key"]
    if match["index"] is not None:
        return match["index"]
    if match["xkey"] is not None:
        return _c_unescape(match["xkey"])
    return None


def _vd_string(data: bytes, pos: int, length: int, warnings: list[str]) -> tuple[bytes, int]:
    end = pos + length
    if data[end : end + 1] == b'"' and not data[end + 1 : end + 4] == b"...":
        return data[pos:end], end + 1
    found = _VD_STRING_END.search(data, pos)
    if found is None or found["cut"] is not None:
        raise InputError(
            f"a string in the var_dump output is cut or not closed ({_where(data, pos)})"
        )
    warnings.append(
        "string lengths in the var_dump output do not match their text (line breaks "
        "or spaces changed on the way): values are read up to their closing quote"
    )
    return data[pos : found.start()], found.end()


_C_ESCAPES = re.compile(rb"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|(.))", re.S)
_C_LETTERS = {b"n": b"\n", b"t": b"\t", b"r": b"\r", b"v": b"\v", b"f": b"\f", b"a": b"\a"}


def _c_unescape(text: bytes) -> bytes:
    """Xdebug's keys: PHP's addcslashes (``\\'``, ``\\\\``, ``\\n``, octal)."""

    def one(m: re.Match[bytes]) -> bytes:
        if m[1] is not None:
            return bytes([int(m[1], 8) & 0xFF])
        if m[2] is not None:
            return bytes([int(m[2], 16)])
        return _C_LETTERS.get(m[3], m[3])

    return _C_ESCAPES.sub(one, text)


_NULL_WARNING = (
    "null read as an empty string (Laravel's ConvertEmptyStringsToNull shows "
    "an empty field as null; $_POST holds an empty string)"
)
_TYPED_WARNING = (
    "numbers and true/false are not what $_POST holds (every value is a "
    "string): read as the strings a form sends for them (true as 1, false as 0)"
)


def _scalar(match: re.Match[bytes], warnings: list[str]) -> bytes | None:
    """A typed value (int, float, bool, NULL) as the string a form would send."""
    if match["null"] is not None:
        warnings.append(_NULL_WARNING)
        return b""
    if match["int"] is not None:
        warnings.append(_TYPED_WARNING)
        return match["int"]
    if match["float"] is not None:
        warnings.append(_TYPED_WARNING)
        return match["float"]
    if match["bool"] is not None:
        warnings.append(_TYPED_WARNING)
        return b"1" if match["bool"] == b"true" else b"0"
    return None


def _unexpected(kind: str, data: bytes, pos: int) -> InputError:
    rest = data[pos:].lstrip()
    if not rest:
        return InputError(f"the {kind} output ends before its arrays are closed: it is cut")
    return InputError(f"unexpected {_shown(rest)} in the {kind} output ({_where(data, pos)})")


def _not_post(kind: str, match: re.Match[bytes], data: bytes, pos: int) -> InputError:
    if match.groupdict().get("cut") is not None:
        return InputError(
            f"the {kind} output is cut ({_where(data, pos)}: '...'; Xdebug shortens "
            "dumps: set xdebug.var_display_max_depth, _children and _data to -1)"
        )
    return InputError(
        f"the {kind} output holds an object ({_where(data, pos)}): $_POST holds only "
        "strings and arrays"
    )


# -- var_dump by Xdebug, copied from a page ------------------------------------------------

_XH_TOKEN = re.compile(
    rb"\s*(?:"
    rb"(?P<open>array\s*\(size=(?P<count>\d+)\))(?:\s*empty\b)?"
    rb"|'(?P<key>.*?)'\s*=>"
    rb"|(?P<index>-?\d+)\s*=>"
    rb"|(?P<string>string\s*')"
    rb"|int\s+(?P<int>-?\d+)"
    rb"|float\s+(?P<float>\S+)"
    rb"|boolean\s+(?P<bool>true|false)"
    rb"|(?P<null>null)\b"
    rb"|(?P<cut>\.\.\.|more elements\.\.\.)"
    rb"|(?P<object>&?object\(|resource\()"
    rb")",
    re.S,
)
_XH_LENGTH = re.compile(rb"'\s*\(length=(\d+)\)")


def _read_xdebug_html(data: bytes, start: int) -> tuple[Dump, int]:
    """Xdebug's var_dump as a page shows it (``html_errors`` on), copied as
    text: ``array (size=N)``, then ``'key' =>`` or ``0 =>`` and a value per
    item, ``string 'text' (length=N)`` with N its length in bytes. Nothing
    closes an array: it ends after its N items."""
    warnings: list[str] = []
    match = _XH_TOKEN.match(data, start)
    assert match is not None and match["open"] is not None
    root: Tree = []
    stack: list[tuple[Tree, int]] = [(root, int(match["count"]))]
    pos = match.end()
    key: bytes | None = None
    while stack:
        node, count = stack[-1]
        if len(node) == count:
            stack.pop()
            continue
        match = _XH_TOKEN.match(data, pos)
        if match is None:
            raise _unexpected("var_dump", data, pos)
        pos = match.end()
        if match["cut"] is not None or match["object"] is not None:
            raise _not_post("var_dump", match, data, match.start())
        if key is None:
            key = match["key"] if match["key"] is not None else match["index"]
            if key is None:
                raise _unexpected("var_dump", data, match.start())
            continue
        if match["open"] is not None:
            child: Tree = []
            node.append((key, child))
            stack.append((child, int(match["count"])))
        elif match["string"] is not None:
            value, pos = _xh_string(data, pos, warnings)
            node.append((key, value))
        else:
            node.append((key, _var_dump_scalar(match, data, warnings)))
        key = None
    return Dump("var_dump", root, tuple(dict.fromkeys(warnings))), pos


def _xh_string(data: bytes, pos: int, warnings: list[str]) -> tuple[bytes, int]:
    """The text before ``' (length=N)``: the first such end N bytes on, or
    (the page changed the text) the first one, with a warning."""
    first = None
    for tried, end in enumerate(_XH_LENGTH.finditer(data, pos)):
        if end.start() - pos == int(end[1]):
            return data[pos : end.start()], end.end()
        first = first or end
        if tried == 100:  # a value holding a hundred "' (length=": give up looking
            break
    if first is None:
        raise InputError(f"a string in the var_dump output is not closed ({_where(data, pos)})")
    warnings.append(
        "string lengths in the var_dump output do not match their text (line breaks "
        "or spaces changed on the way): values are read up to their closing quote"
    )
    return data[pos : first.start()], first.end()


# -- var_export -------------------------------------------------------------------------

_VE_STRING = rb"'(?:[^'\\]|\\.)*'"
_VE_TOKEN = re.compile(
    rb"\s*(?:"
    rb"(?P<open>array\s*\()"
    rb"|(?P<close>\))\s*,?"
    rb"|(?P<key>" + _VE_STRING + rb")\s*=>"
    rb"|(?P<index>-?\d+)\s*=>"
    rb"|(?P<string>" + _VE_STRING + rb'(?:\s*\.\s*(?:"\\0"|' + _VE_STRING + rb"))*)\s*,?"
    rb"|(?P<null>NULL|null)\s*,?"
    rb"|(?P<bool>true|false)\s*,?"
    rb"|(?P<float>-?\d+\.\d*(?:E[+-]?\d+)?|-?INF|NAN)\s*,?"
    rb"|(?P<int>-?\d+)\s*,?"
    rb"|(?P<object>\\?[\w\\]+::__set_state\(|\(object\)|\\?[\w\\]+::\w+)"
    rb")",
    re.S,
)
_VE_PIECE = re.compile(_VE_STRING + rb'|"\\0"', re.S)
_VE_ESCAPE = re.compile(rb"\\([\\'])")


def _ve_string(text: bytes) -> bytes:
    """``'it\\'s' . "\\0" . 'x'``: var_export escapes ``'`` and ``\\`` and
    writes a NUL byte as ``"\\0"`` joined with ``.``."""
    pieces = []
    for piece in _VE_PIECE.findall(text):
        pieces.append(b"\0" if piece == b'"\\0"' else _VE_ESCAPE.sub(rb"\1", piece[1:-1]))
    return b"".join(pieces)


def _read_var_export(data: bytes, start: int) -> tuple[Dump, int]:
    """``var_export``: ``array (``, then ``'key' => value,`` or ``0 => value,``
    per item, then ``)``. Strings are quoted and escaped, so they are read
    exactly."""
    warnings: list[str] = []
    match = _VE_TOKEN.match(data, start)
    assert match is not None and match["open"] is not None
    root: Tree = []
    stack = [root]
    pos = match.end()
    key: bytes | None = None
    while stack:
        match = _VE_TOKEN.match(data, pos)
        if match is None:
            raise _unexpected("var_export", data, pos)
        pos = match.end()
        if match["object"] is not None:
            raise _not_post("var_export", match, data, match.start())
        if key is None:
            if match["close"] is not None:
                stack.pop()
            elif match["key"] is not None:
                key = _ve_string(match["key"])
            elif match["index"] is not None:
                key = match["index"]
            else:
                raise _unexpected("var_export", data, match.start())
            continue
        if match["open"] is not None:
            child: Tree = []
            stack[-1].append((key, child))
            stack.append(child)
        elif match["string"] is not None:
            stack[-1].append((key, _ve_string(match["string"])))
        else:
            scalar = _scalar(match, warnings)
            if scalar is None:
                raise _unexpected("var_export", data, match.start())
            stack[-1].append((key, scalar))
        key = None
    return Dump("var_export", root, tuple(dict.fromkeys(warnings))), pos


# -- dd() / dump(): Symfony VarDumper's CliDumper ------------------------------------------

# An array opens as `array:2 [` (a browser's copy adds ▼ or ▶); Laravel puts
# its `// app/Http/Controllers/HookController.php:12` after the first or the
# last line.
_DD_OPEN = re.compile(rb"array:(\d+) ?\[\s*(?:\xe2\x96\xbc|\xe2\x96\xb6)?(\])?[ \t]*(?://.*)?$")
_DD_EMPTY = re.compile(rb"\[\][ \t]*(?://.*)?$")
_DD_CLOSE = re.compile(rb"\][ \t]*(?://.*)?$")
_DD_KEY = re.compile(rb'(?:(-?\d+)|(b?)"(.*?)") => ', re.S)
_DD_STRING = re.compile(rb'(b?)"(.*)"[ \t]*$', re.S)
_DD_CUT = "\u2026".encode()  # VarDumper's "…": something was left out


def _read_dd(data: bytes, start: int) -> tuple[Dump, int]:
    """VarDumper's CLI form (``dd()``, ``dump()``): ``array:N [``, then one
    ``"key" => value`` or ``0 => value`` per line, then ``]``. A string with
    line breaks spans lines between ``\"\"\"`` marks. VarDumper writes
    control characters as ``\\n``, ``\\t``, ``\\x1F``..., but a backslash as
    itself: a value holding a backslash then ``n`` reads as a line break."""
    warnings: list[str] = []
    pos = start
    end = _line_end(data, pos)
    first = _DD_OPEN.match(data[pos:end].rstrip(b"\r"))
    if first is None:
        raise InputError(f"the dd() output's first line is not 'array:N [' ({_where(data, pos)})")
    if first[2] is not None:
        raise _dd_collapsed(data, pos)
    root: Tree = []
    stack: list[tuple[Tree, int, int]] = [(root, int(first[1]), pos)]
    pos = end + 1
    while stack:
        if pos > len(data):
            raise _unexpected("dd()", data, len(data))
        end = _line_end(data, pos)
        line = data[pos:end].rstrip(b"\r").strip()
        here = pos
        pos = end + 1
        node, count, opened_at = stack[-1]
        if not line:
            continue
        if _DD_CLOSE.match(line):
            _count_check("dd()", count, len(node), data, opened_at)
            stack.pop()
            continue
        key_match = _DD_KEY.match(line)
        if key_match is None:
            raise _dd_unexpected(data, here, line)
        key = key_match[1] if key_match[1] is not None else _dd_text(key_match[3], key_match[2])
        value = line[key_match.end() :]
        if (opened := _DD_OPEN.match(value)) is not None:
            if opened[2] is not None:
                raise _dd_collapsed(data, here)
            child: Tree = []
            node.append((key, child))
            stack.append((child, int(opened[1]), here))
        elif _DD_EMPTY.match(value):
            node.append((key, []))
        elif value in (b'"""', b'b"""'):
            text, pos = _dd_block(data, pos, here)
            node.append((key, _dd_text(text, value[:1] if value[:1] == b"b" else b"")))
        elif (string := _DD_STRING.match(value)) is not None:
            node.append((key, _dd_text(string[2], string[1])))
        else:
            node.append((key, _dd_scalar(value, warnings, data, here)))
    return Dump("dd", root, tuple(dict.fromkeys(warnings))), min(pos, len(data))


def _dd_block(data: bytes, pos: int, opened_at: int) -> tuple[bytes, int]:
    """A string between ``\"\"\"`` lines: the lines joined, each without the
    indentation the closing ``\"\"\"`` has (the line breaks are the ``\\n``
    at their ends)."""
    lines: list[bytes] = []
    while pos <= len(data):
        end = _line_end(data, pos)
        line = data[pos:end].rstrip(b"\r")
        pos = end + 1
        if line.strip().startswith(b'"""'):
            if line.strip() != b'"""':
                raise InputError(f"the dd() output is cut ({_where(data, end)}: …)")
            indent = len(line) - len(line.lstrip())
            return b"".join(_dedent(x, indent) for x in lines), pos
        lines.append(line)
    raise InputError(f"a string in the dd() output is not closed ({_where(data, opened_at)})")


def _dedent(line: bytes, indent: int) -> bytes:
    head = line[:indent]
    return line[len(head) - len(head.lstrip()) :] if head.strip() else line[indent:]


_DD_ESCAPES = re.compile(rb"\\(?:x([0-9A-F]{2})|([tnvfre]))")
_DD_LETTERS = {b"t": b"\t", b"n": b"\n", b"v": b"\v", b"f": b"\f", b"r": b"\r", b"e": b"\x1b"}


def _dd_text(text: bytes, binary: bytes) -> bytes:
    """A VarDumper string's bytes: control characters unescaped; a ``b"..."``
    string (not UTF-8) back to its bytes. VarDumper showed those as CP1252
    (CP850 when CP1252 has no character for a byte). Where both readings
    fit, the one with such a byte is taken: a guess, but a value that is not
    UTF-8 prints as U+FFFD whichever bytes it was."""
    value = _DD_ESCAPES.sub(lambda m: bytes([int(m[1], 16)]) if m[1] else _DD_LETTERS[m[2]], text)
    if not binary:
        return value
    chars = value.decode("utf-8", "replace")
    found = {}
    for codec in ("cp1252", "cp850", "latin-1"):
        try:
            found[codec] = chars.encode(codec)
        except UnicodeEncodeError:
            continue
    # Bytes CP1252 has no character for could only have been shown as CP850;
    # otherwise CP1252, which VarDumper tries first.
    cp850 = found.get("cp850")
    if cp850 is not None and (_NOT_CP1252.search(cp850) or "cp1252" not in found):
        return cp850
    return found.get("cp1252") or found.get("latin-1") or value


_NOT_CP1252 = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")


_DD_SCALAR = re.compile(
    rb"(?P<null>null)|(?P<bool>true|false)"
    rb"|(?P<float>-?\d+\.\d*(?:E[+-]?\d+)?|-?INF|NAN)|(?P<int>-?\d+)"
)


def _dd_scalar(value: bytes, warnings: list[str], data: bytes, pos: int) -> bytes:
    match = _DD_SCALAR.fullmatch(value)
    if match is not None:
        scalar = _scalar(match, warnings)
        if scalar is not None:
            return scalar
    if _DD_CUT in value:
        raise InputError(f"the dd() output is cut ({_where(data, pos)}: …)")
    raise InputError(
        f"the dd() output holds {_shown(value)} ({_where(data, pos)}): $_POST holds "
        "only strings and arrays"
    )


def _dd_unexpected(data: bytes, pos: int, line: bytes) -> InputError:
    if _DD_CUT in line:
        return InputError(f"the dd() output is cut ({_where(data, pos)}: …)")
    return InputError(f"unexpected {_shown(line)} in the dd() output ({_where(data, pos)})")


def _dd_collapsed(data: bytes, pos: int) -> InputError:
    return InputError(
        f"the dd() output has a collapsed array ({_where(data, pos)}: [▶]): "
        "expand it all (Ctrl+click the arrow) and copy it again"
    )


_READERS = {
    "print_r": _read_print_r,
    "var_dump": _read_var_dump,
    "xdebug_html": _read_xdebug_html,
    "var_export": _read_var_export,
    "dd": _read_dd,
}
