"""Split a command line into its words, as the shell that would run it does.

People paste commands copied from a browser's "Copy as cURL" or from a
request inspector: bash's quoting (``'...'``, ``"..."``, ``$'...'``,
backslashes, line continuations) or, from Windows, cmd.exe's carets over
the C runtime's argv rules. :mod:`amodp.inputs` needs the exact bytes of
each word (the body is one of them) without running a shell; ``shlex``
knows neither ``$'...'`` nor cmd.exe, and works on text where a word can
hold any bytes. Words are ``bytes``: ``$'\\xff'`` is one byte, not a character.

Standard library only. Unterminated quotes are an
:class:`amodp.errors.InputError`.
"""

from __future__ import annotations

import re

from .errors import InputError

__all__ = ["bash_words", "cmd_words", "crt_argv"]


class _Words:
    """Words of one or more shell commands, as argv bytes."""

    def __init__(self) -> None:
        self.commands: list[list[bytes]] = [[]]
        self.word = bytearray()
        self.open = False

    def add(self, chunk: bytes) -> None:
        self.word += chunk
        self.open = True

    def end(self) -> None:
        if self.open:
            # argv strings are C strings: bash's $'a\0b' passes "a".
            self.commands[-1].append(bytes(self.word).partition(b"\0")[0])
            self.word = bytearray()
            self.open = False

    def next_command(self) -> None:
        self.end()
        if self.commands[-1]:
            self.commands.append([])


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


_PLAIN = re.compile(r"[^\s\\'\"$#;|&]+")
_CONTINUATION = re.compile(r"\\[ \t]*\r?\n")
_ANSI_C = {
    "a": b"\a", "b": b"\b", "e": b"\x1b", "E": b"\x1b", "f": b"\f", "n": b"\n", "r": b"\r",
    "t": b"\t", "v": b"\v", "\\": b"\\", "'": b"'", '"': b'"', "?": b"?",
}  # fmt: skip
_HEX = "0123456789abcdefABCDEF"
_ANSI_C_PLAIN = re.compile(r"[^'\\]+")
_DQ_PLAIN = re.compile(r'[^"\\]+')
_CMD_PLAIN = re.compile(r'[^"^&|<>]+')
_CRT_PLAIN = re.compile(r'[^\s\\"]+')


def bash_words(text: str) -> list[list[bytes]]:
    r"""Split like bash: quotes, $'...', backslashes, line continuations.

    Variables and substitutions are left as written. Unlike bash, a newline
    and an "&" inside a word do not end the command (a paste spread over lines,
    an unquoted body): only ";", "|", "&&", "||" and a lone "&" do.

    >>> bash_words("curl 'https://x/hook' \\\n  --data-raw $'a=\\xff&b=1' -H \"X: \\\"q\\\"\"")
    [[b'curl', b'https://x/hook', b'--data-raw', b'a=\xff&b=1', b'-H', b'X: "q"']]
    >>> bash_words("curl -d a=1 https://x/a; curl -d b=2 https://x/b")
    [[b'curl', b'-d', b'a=1', b'https://x/a'], [b'curl', b'-d', b'b=2', b'https://x/b']]
    """
    words = _Words()
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            words.end()
            i += 1
        elif c == "\\":
            cont = _CONTINUATION.match(text, i)
            if cont:  # "\" + newline; spaces left after the "\" by a copy too
                i = cont.end()
            elif i + 1 < n:
                words.add(_utf8(text[i + 1]))
                i += 2
            else:
                words.add(b"\\")
                i += 1
        elif c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise InputError("unterminated ' quote")
            words.add(_utf8(text[i + 1 : end]))
            i = end + 1
        elif c == "$" and text.startswith("'", i + 1):
            chunk, i = _ansi_c_quoted(text, i + 2)
            words.add(chunk)
        elif c == '"' or (c == "$" and text.startswith('"', i + 1)):
            chunk, i = _double_quoted(text, i + (1 if c == '"' else 2))
            words.add(chunk)
        elif c == "#" and not words.open:
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif c in ";|" or (c == "&" and (text.startswith("&", i + 1) or not words.open)):
            words.next_command()
            i += 2 if text.startswith(c, i + 1) else 1
        else:
            plain = _PLAIN.match(text, i)
            end = plain.end() if plain else i + 1
            words.add(_utf8(text[i:end]))
            i = end
    words.end()
    return words.commands


def _ansi_c_quoted(text: str, i: int) -> tuple[bytes, int]:
    """A bash $'...' string from just after its quote: (bytes, index after it)."""
    out = bytearray()
    n = len(text)
    while i < n:
        c = text[i]
        if c == "'":
            return bytes(out), i + 1
        if c != "\\" or i + 1 >= n:
            plain = _ANSI_C_PLAIN.match(text, i)
            end = plain.end() if plain else i + 1
            out += _utf8(text[i:end])
            i = end
            continue
        e = text[i + 1]
        i += 2
        if e in _ANSI_C:
            out += _ANSI_C[e]
        elif e in "01234567":  # \nnn: one to three octal digits, one byte
            digits = e
            while len(digits) < 3 and i < n and text[i] in "01234567":
                digits += text[i]
                i += 1
            out.append(int(digits, 8) & 0xFF)
        elif e in "xuU":  # \xHH (a byte), \uHHHH and \UHHHHHHHH (a character, as UTF-8)
            width = {"x": 2, "u": 4, "U": 8}[e]
            digits = ""
            while len(digits) < width and i < n and text[i] in _HEX:
                digits += text[i]
                i += 1
            value = int(digits, 16) if digits else -1
            if e == "x" and digits:
                out.append(value)
            elif 0 <= value <= 0x10FFFF:
                out += chr(value).encode("utf-8", "surrogatepass")
            else:
                out += _utf8("\\" + e + digits)  # as bash: no digits, no escape
        elif e == "c" and i < n:  # \cx: control-x
            out.append(ord(text[i].upper()) & 0x1F if ord(text[i]) < 0x80 else 0x1F)
            i += 1
        else:
            out += _utf8("\\" + e)
    raise InputError("unterminated $' quote")


def _double_quoted(text: str, i: int) -> tuple[bytes, int]:
    """A bash "..." string from just after its quote: (bytes, index after it)."""
    out = []
    n = len(text)
    start = i
    while i < n:
        c = text[i]
        if c == '"':
            out.append(text[start:i])
            return _utf8("".join(out)), i + 1
        if c == "\\" and i + 1 < n:
            out.append(text[start:i])
            e = text[i + 1]
            if e == "\n":
                i += 2
            elif e == "\r" and text.startswith("\n", i + 2):
                i += 3
            elif e in '$`"\\':
                out.append(e)
                i += 2
            else:
                out.append("\\")
                i += 1
            start = i
            continue
        plain = _DQ_PLAIN.match(text, i)
        i = plain.end() if plain else i + 1
    raise InputError('unterminated " quote')


def cmd_words(text: str) -> list[list[bytes]]:
    r"""Split like Windows: cmd.exe first, then the C runtime's argv rules.

    Chrome's "Copy as cURL (cmd)" writes ^"...^" so that cmd.exe keeps its
    carets working: "^" escapes the next character outside quotes, "^" at a
    line end continues the line, and "&", "|", "<", ">" end a command.

    >>> cmd_words('curl ^"https://x/hook^" ^\n  --data-raw ^"a=1^&b=2^" & echo hi')
    [[b'curl', b'https://x/hook', b'--data-raw', b'a=1&b=2'], [b'echo', b'hi']]
    """
    commands: list[str] = []
    buf: list[str] = []
    quoted = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        i += 1
        if c == '"':
            quoted = not quoted
            buf.append(c)
        elif quoted:
            end = text.find('"', i)
            end = n if end < 0 else end
            buf.append(text[i - 1 : end])
            i = end
        elif c == "^":
            if text.startswith("\r\n", i):
                i += 2
            elif text.startswith("\n", i):
                i += 1
            if i < n:  # the escaped character (after a continuation: the next line's first)
                buf.append(text[i])
                i += 1
        elif c in "&|<>":
            commands.append("".join(buf))
            buf = []
        else:
            plain = _CMD_PLAIN.match(text, i - 1)
            end = plain.end() if plain else i
            buf.append(text[i - 1 : end])
            i = end
    commands.append("".join(buf))
    return [crt_argv(command) for command in commands]


def crt_argv(line: str) -> list[bytes]:
    r"""Split a command line as the Microsoft C runtime does: "..." groups,
    backslashes escape only before a quote, "" inside quotes is a quote.

    >>> crt_argv(r'curl "a b" "say \"hi\"" c\\d "x""y"')
    [b'curl', b'a b', b'say "hi"', b'c\\\\d', b'x"y']
    """
    words = _Words()
    quoted = False
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c in " \t\r\n" and not quoted:
            words.end()
            i += 1
        elif c == "\\":
            start = i
            while i < n and line[i] == "\\":
                i += 1
            run = i - start
            if line.startswith('"', i):
                words.add(b"\\" * (run // 2))
                if run % 2:
                    words.add(b'"')
                    i += 1
            else:
                words.add(b"\\" * run)
        elif c == '"':
            if quoted and line.startswith('"', i + 1):
                words.add(b'"')
                i += 2
            else:
                quoted = not quoted
                words.open = True  # "" is an empty argument
                i += 1
        else:
            plain = _CRT_PLAIN.match(line, i)
            end = plain.end() if plain else i + 1
            words.add(_utf8(line[i:end]))
            i = end
    words.end()
    return words.commands[0]
