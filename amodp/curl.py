"""Read a curl command the way curl reads it: the request it sends.

"Copy as cURL" from a browser, a command from a terminal's history, or
Windows cmd's ``^``-continued form: the words as the shell splits them
(:mod:`amodp.shellwords`), then curl's own option parser (which options take
an argument, how ``-d`` pieces join, ``--data-urlencode``'s forms, ``@file``)
so that the body is what curl would put on the wire.

Standard library only; imported by :mod:`amodp.inputs` when its input is a
curl command.
"""

from __future__ import annotations

import os
import re

from .errors import InputError
from .inputs import Source

__all__ = ["read_curl"]


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _table(safe: bytes, space: bytes) -> list[bytes]:
    return [bytes([b]) if b in safe else space if b == 0x20 else b"%%%02X" % b for b in range(256)]


_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


# curl's options that take an argument (src/tool_getparam.c, the aliases
# table), so that "-H '-d x'" or "-u user" is never mistaken for data.
_CURL_ARG_OPTIONS = frozenset(
    """
    abstract-unix-socket alt-svc aws-sigv4 cacert capath cert cert-type ciphers config
    connect-timeout connect-to continue-at cookie cookie-jar create-file-mode crlfile curves
    data data-ascii data-binary data-raw data-urlencode delegation dns-interface dns-ipv4-addr
    dns-ipv6-addr dns-servers doh-url dump-header ech egd-file engine etag-compare etag-save
    expect100-timeout form form-string ftp-account ftp-alternative-to-user ftp-method ftp-port
    ftp-ssl-ccc-mode happy-eyeballs-timeout-ms haproxy-clientip header hostpubmd5 hostpubsha256
    hsts interface ip-tos ipfs-gateway json keepalive-cnt keepalive-time key key-type knownhosts
    krb krb4 libcurl limit-rate local-port login-options mail-auth mail-from mail-rcpt
    max-filesize max-redirs max-time netrc-file noproxy oauth2-bearer output output-dir
    parallel-max pass pinnedpubkey preproxy proto proto-default proto-redir proxy proxy-cacert
    proxy-capath proxy-cert proxy-cert-type proxy-ciphers proxy-crlfile proxy-header proxy-key
    proxy-key-type proxy-pass proxy-pinnedpubkey proxy-service-name proxy-tls13-ciphers
    proxy-tlsauthtype proxy-tlspassword proxy-tlsuser proxy-user proxy1.0 pubkey quote
    random-file range rate referer request request-target resolve retry retry-delay
    retry-max-time sasl-authzid service-name sigalgs socks4 socks4a socks5
    socks5-gssapi-service socks5-hostname speed-limit speed-time ssl-sessions stderr
    telnet-option tftp-blksize time-cond tls-max tls13-ciphers tlsauthtype tlspassword tlsuser
    trace trace-ascii trace-config unix-socket upload-file upload-flags url url-query user
    user-agent variable vlan-priority write-out
    """.split()
)
# Single-letter options that take an argument, by the long name they stand for.
_CURL_SHORT = {
    "d": "data",
    "F": "form",
    "H": "header",
    "X": "request",
    **{letter: "other" for letter in "AbcCDeEKmoPQrtTuUwxyYz"},
}
_CURL_DATA = {"data", "data-ascii", "data-binary", "data-raw", "data-urlencode"}


def read_curl(text: bytes) -> list[Source]:
    """The bodies a curl command line (or several: "Copy all as cURL") sends,
    each as a :class:`~amodp.inputs.Source` with its request; an InputError
    when it sends none."""
    text = re.sub(rb"^\$[ \t]+", b"", text)
    source = text.decode("utf-8", "surrogateescape")
    cmd = re.search(r'\^\r?\n|\^"', source) is not None
    from .shellwords import bash_words, cmd_words  # here: only a command line needs them

    try:
        commands = cmd_words(source) if cmd else bash_words(source)
    except InputError as exc:
        raise InputError(f"the curl command has an {exc}") from None
    # "Copy all as cURL" gives several commands: one Source per request with data.
    sources = []
    for words in commands:
        if words and re.fullmatch(rb"(?:\S*/)?curl(?:\.exe)?", words[0], re.IGNORECASE):
            found = _curl_request(words[1:])
            if found is not None:
                sources.append(found)
    if not sources:
        raise InputError(
            "the curl command has no body "
            "(no -d, --data, --data-raw, --data-binary or --data-urlencode)"
        )
    return sources


def _curl_request(args: list[bytes]) -> Source | None:
    """The body a curl command line sends, following curl's option parser."""
    pieces: list[bytes] = []
    url: bytes | None = None
    method = ""
    headers: list[tuple[str, str]] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        option: str | None = None
        value = b""
        if arg.startswith(b"--") and len(arg) > 2:
            name = arg[2:].decode("latin-1")
            if name.startswith("expand-"):
                name = name[7:]  # --expand-data: {{variables}} are not expanded here
            attached = None
            if name not in _CURL_ARG_OPTIONS and "=" in name:
                # curl has no "--data=x" (it says "unknown option"), but what
                # was meant is plain: take it rather than lose the body.
                name, _, rest = name.partition("=")
                attached = arg[len(arg) - len(rest) :]
            if name not in _CURL_ARG_OPTIONS:
                continue  # a switch (--compressed, -k's long form, --no-...), or unknown
            option = name
            if attached is not None:
                value = attached
            elif i < len(args):
                value = args[i]
                i += 1
            else:
                raise InputError(f"the curl option --{name} needs an argument")
        elif arg.startswith(b"-") and len(arg) > 1:
            # A cluster like -sSLd: letters until one that takes an argument,
            # which is the rest of the word ("-XPOST") or the next word.
            letters = arg[1:].decode("latin-1")
            for j, letter in enumerate(letters):
                if letter in _CURL_SHORT:
                    option = _CURL_SHORT[letter]
                    if j + 1 < len(letters):
                        value = arg[j + 2 :]
                    elif i < len(args):
                        value = args[i]
                        i += 1
                    else:
                        raise InputError(f"the curl option -{letter} needs an argument")
                    break
            if option is None:
                continue
        else:
            if url is None:
                url = arg
            continue

        if option in _CURL_DATA:
            pieces.append(_curl_data(option, value))
        elif option in ("form", "form-string"):
            raise InputError("the curl command sends a multipart form (-F), not a urlencoded body")
        elif option == "json":
            raise InputError("the curl command sends JSON (--json), not a urlencoded form")
        elif option == "url" and url is None:
            url = value
        elif option == "header" and b":" in value:
            key, _, content = value.partition(b":")
            headers.append((_text(key.strip()), _text(content.strip())))
        elif option == "request":
            method = _text(value)
    from urllib.parse import urlsplit

    where = urlsplit(_text(url)) if url else None
    query = where.query if where else ""
    method = method or ("POST" if pieces else "GET")
    if pieces:
        # Several data options are joined with "&" in order (-G sends the same
        # string as the query: still the data).
        body = b"&".join(pieces)
    elif query and method in ("GET", "HEAD"):
        body = query.encode("utf-8")  # a GET callback: its query is the data
    else:
        return None
    return Source(
        body,
        "curl",
        _text(url) if url else "",
        method=method,
        path=(where.path or "/") if where else "",
        query=query,
        headers=tuple(headers),
    )


def _curl_data(option: str, value: bytes) -> bytes:
    """One data option's contribution, as curl's set_data() and data_urlencode() build it."""
    if option == "data-urlencode":
        return _curl_urlencode(value)
    if option == "data-raw" or not value.startswith(b"@"):
        return value
    content = _curl_file(value[1:])
    if option == "data-binary":
        return content
    # -d/--data/--data-ascii @file: curl's file2string() drops every CR, LF and
    # NUL byte (src/tool_paramhlp.c, memcrlf()). curl 7.x cut a line at its first
    # CR instead ("a\rb\n" gave "a"); both agree on ordinary CRLF or LF files.
    return content.translate(None, b"\r\n\x00")


# curl --data-urlencode: curl_easy_escape() leaves only A-Z a-z 0-9 "-._~" and
# writes every other byte as %XX (upper-case hex, so UTF-8 byte by byte); then
# the tool replaces each "%20" by "+" (replace_url_encoded_space_by_plus(),
# RFC 1866) -- src/tool_getparam.c data_urlencode(), and the curl_easy_escape
# man page. Checked against curl 7.88.1: "a b~*" -> "a+b~%2A". The argument
# splits at the first "=" if any, else at the first "@": "content", "=content"
# (the "=" is not sent), "name=content", "@file", "name@file"; the name is
# sent as written, files are read verbatim (newlines included) and encoded.
_CURL_ESCAPES = _table(_ALNUM + b"-._~", b"+")


def _curl_urlencode(arg: bytes) -> bytes:
    eq = arg.find(b"=")
    if eq >= 0:
        name, content = arg[:eq], arg[eq + 1 :]
    else:
        at = arg.find(b"@")
        if at >= 0:
            name, content = arg[:at], _curl_file(arg[at + 1 :])
        else:
            name, content = b"", arg
    encoded = b"".join([_CURL_ESCAPES[b] for b in content])
    return name + b"=" + encoded if name else encoded


def _curl_file(name: bytes) -> bytes:
    """The file a curl data option names with @, relative to the current directory."""
    shown = _text(name)
    if name == b"-":
        raise InputError("the curl command reads its data from stdin (@-): save it to a file")
    path = os.fsdecode(name)
    if not os.path.exists(path):
        raise InputError(f"the curl command reads {shown!r}, which does not exist here")
    if not os.path.isfile(path):
        raise InputError(f"the curl command reads {shown!r}, which is not a regular file")
    try:
        with open(path, "rb") as f:
            return f.read()
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {shown!r}: {exc}") from None
