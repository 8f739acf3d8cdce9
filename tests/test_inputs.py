"""amodp.inputs: every form people paste, detected and forced, and its errors."""

from __future__ import annotations

import base64
import gzip
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from amodp.cli import app
from amodp.codec import decode, encode, to_json
from amodp.errors import InputError
from amodp.inputs import FORMS, NotTextError, Source, detect, read_sources

from .conftest import require_tools

# A digital-pipeline "lead changed stage" body as amoCRM sends it (FORMAT.md).
DP_BODY = (
    b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=10754147"
    b"&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=54423922"
    b"&leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=6344290"
    b"&leads%5Bstatus%5D%5B0%5D%5Bold_status_id%5D=54435014"
    b"&leads%5Bstatus%5D%5B0%5D%5Bold_pipeline_id%5D=6344290"
    b"&account%5Bid%5D=30307558"
    b"&account%5Bsubdomain%5D=example"
)
DP_VALUE = {
    "leads": {
        "status": [
            {
                "id": "10754147",
                "status_id": "54423922",
                "pipeline_id": "6344290",
                "old_status_id": "54435014",
                "old_pipeline_id": "6344290",
            }
        ]
    },
    "account": {"id": "30307558", "subdomain": "example"},
}
# The same body the way FORMAT.md shows it: one pair per line, brackets literal.
DP_LINES = b"""
leads[status][0][id]=10754147
leads[status][0][status_id]=54423922
leads[status][0][pipeline_id]=6344290
leads[status][0][old_status_id]=54435014
leads[status][0][old_pipeline_id]=6344290
account[id]=30307558
account[subdomain]=example
"""
# An account-level lead update with custom fields, tags, Cyrillic and spaces.
ACCOUNT_BODY = encode(
    {
        "leads": {
            "update": [
                {
                    "id": "31248785",
                    "name": "Сделка №1 (сайт)",
                    "status_id": "142",
                    "price": "",
                    "tags": [{"id": "51", "name": "VIP"}],
                    "custom_fields": [
                        {
                            "id": "1012",
                            "name": "Телефон",
                            "code": "PHONE",
                            "values": [{"value": "+7 999 123-45-67", "enum": "2002"}],
                        },
                        {"id": "1014", "name": "Дата", "values": ["1735689600"]},
                    ],
                }
            ]
        },
        "account": {
            "subdomain": "example",
            "id": "30307558",
            "_links": {"self": "https://example.amocrm.ru"},
        },
    }
).encode()


def one(data: bytes, form: str = "auto") -> Source:
    sources = read_sources(data, form)
    assert len(sources) == 1
    return sources[0]


def http_request(body: bytes, *headers: str, eol: bytes = b"\r\n") -> bytes:
    head = [
        "POST /amo/hook HTTP/1.1",
        "Host: example.com",
        "User-Agent: amoCRM-Webhooks/3.0",
        "Content-Type: application/x-www-form-urlencoded",
        "X-Amocrm-Requestid: 0b8c4a7e-3f2d-4d7e-9a51-2f6c1d0e9b3a",
        "Accept-Encoding: gzip",
        *headers,
    ]
    return eol.join(h.encode() for h in head) + eol + eol + body


# -- the interface ---------------------------------------------------------------


def test_forms_and_source() -> None:
    assert FORMS == (
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
    source = Source(b"a=1", "body")
    assert source.label == ""
    assert Source(b"a=1", "json", json_text=b'{"a": "1"}') == Source(b"a=1", "json")
    with pytest.raises(AttributeError):
        source.body = b""  # type: ignore[misc]


@pytest.mark.parametrize("data", [b"", b"  \n\t\r\n ", b"\xef\xbb\xbf\n"])
@pytest.mark.parametrize("form", FORMS)
def test_empty_input(data: bytes, form: str) -> None:
    with pytest.raises(InputError, match="^empty input$"):
        read_sources(data, form)
    with pytest.raises(InputError, match="^empty input$"):
        detect(data)


def test_unknown_form() -> None:
    with pytest.raises(InputError, match="unknown input form 'xml'.*auto, body, http"):
        read_sources(DP_BODY, "xml")


# -- detection --------------------------------------------------------------------

CAPTURE_LINE = json.dumps(
    {
        "received_at": "2025-03-01T10:15:00Z",
        "method": "POST",
        "path": "/amo/hook",
        "query": "",
        "headers": [["Content-Type", "application/x-www-form-urlencoded"]],
        "body": DP_BODY.decode(),
    }
).encode()

DETECTED = {
    "body": DP_BODY,
    "body_lines": DP_LINES,
    "body_raw_brackets": "leads[add][0][name]=Сделка №1&account[id]=1".encode(),
    "http": http_request(DP_BODY),
    "http_lf": http_request(DP_BODY, eol=b"\n"),
    "curl": b"curl 'https://example.com/hook' -d 'a=1'",
    "curl_prompt": b"$ curl https://example.com/hook --data-raw a=1",
    "curl_cmd": b'curl ^"https://example.com/^" ^\n  --data-raw ^"a=1^"',
    "json": b'{"leads[status][0][id]": "10754147"}',
    "json_array": b"[1, 2]",
    "json_string": b'"x"',
    "json_number": b"3",
    "json_broken": b'{"a": ',
    "python": b"{'leads[status][0][id]': '10754147'}",
    "python_bytes": b"{b'leads[status][0][id]': [b'10754147']}",
    "python_querydict": b"<QueryDict: {'a': ['1']}>",
    "python_multidict": b"ImmutableMultiDict([('a', '1')])",
    "python_pairs": b'[["a", "1"], ["b", "2"]]',
    "python_body_bytes": b"b'leads%5Bstatus%5D%5B0%5D%5Bid%5D=1'",
    "capture": CAPTURE_LINE + b"\n" + CAPTURE_LINE + b"\n",
    "capture_pretty": json.dumps(json.loads(CAPTURE_LINE), indent=2).encode(),
    "capture_array": b"[" + CAPTURE_LINE + b"]",
    "json_not_record": b'{"received_at": "2025-03-01", "account[id]": "1"}',
    "json_lines": b'{"a": "1"}\n{"b": "2"}\n',
    "json_lines_empty_post": b'[]\n{"b": "2"}\n',
    "php_print_r": b"Array\n(\n    [a] => 1\n)\n",
    "php_print_r_one_line": b"Array ( [a] => 1 [b] => Array ( [0] => x ) )",
    "php_print_r_in_a_log": b"[2025-06-01 12:00:00] local.INFO: Array\n(\n    [a] => 1\n)\n",
    "php_var_dump": b'array(1) {\n  ["a"]=>\n  string(1) "1"\n}\n',
    "php_var_dump_xdebug": b"/app/hook.php:3:\narray(1) {\n  'a' =>\n  string(1) \"1\"\n}\n",
    "php_var_export": b"array (\n  'a' => '1',\n)",
    "php_dd": b'array:1 [\n  "a" => "1"\n]\n',
    "php_dump": b'^ array:1 [\n  "a" => "1"\n]\n',
    "php_pre": b"<pre>Array\n(\n    [a] => 1\n)\n</pre>",
    "log": b'[2025-06-01 12:00:00] local.INFO: amo webhook {"a":"1"} []',
    "log_syslog": b'Jun  1 12:00:00 web php: webhook {"a": "1"}',
    "form-view": b"leads[status][0][id]: 4831596\naccount[id]: 1\n",
    "form-view_headings": b"Form Data\nview source\nview URL-encoded\na: 1\n",
    "body_with_json_value": b'payload={"a":1}&b=2',
}


@pytest.mark.parametrize("case", DETECTED)
def test_detect(case: str) -> None:
    expected = case.partition("_")[0]
    assert detect(DETECTED[case]) == expected


# -- body ----------------------------------------------------------------------------


def test_body_exact() -> None:
    source = one(b"\n  " + DP_BODY + b"\r\n\n")
    assert source == Source(DP_BODY, "body", "")
    assert decode(source.body) == DP_VALUE


def test_body_raw_brackets_and_utf8_pass_through() -> None:
    data = "leads[add][0][name]=Сделка №1&account[subdomain]=example".encode()
    assert one(data).body == data


def test_body_one_pair_per_line_is_joined() -> None:
    body = one(DP_LINES).body
    assert body == b"&".join(DP_LINES.split())
    assert decode(body) == DP_VALUE
    assert one(DP_LINES.replace(b"\n", b"\r\n")).body == body


def test_body_invalid_utf8_survives() -> None:
    assert one(b"name=\xff\xfe%D0&x=1\n").body == b"name=\xff\xfe%D0&x=1"


def test_body_lines_that_are_not_pairs_stay() -> None:
    data = b"a=1&b=2\nc=3 & more text"
    assert one(data).body == data


def test_body_utf8_bom_and_utf16_are_undone() -> None:
    assert one(b"\xef\xbb\xbf" + DP_BODY).body == DP_BODY
    assert one(b"\xff\xfe" + DP_BODY.decode().encode("utf-16-le")).body == DP_BODY


def test_body_forced() -> None:
    data = b"curl -d a=1 https://example.com"
    assert one(data, "body") == Source(data, "body")


# -- http ------------------------------------------------------------------------------


def test_http_crlf_with_content_length() -> None:
    data = http_request(DP_BODY, f"Content-Length: {len(DP_BODY)}")
    assert one(data) == Source(DP_BODY, "http", "POST /amo/hook")


def test_http_lf_without_content_length() -> None:
    data = http_request(DP_BODY + b"\n", eol=b"\n")
    assert one(data) == Source(DP_BODY, "http", "POST /amo/hook")


def test_http_content_length_truncates() -> None:
    data = http_request(DP_BODY + b"\r\n\r\nGET /favicon.ico", f"Content-Length: {len(DP_BODY)}")
    assert one(data).body == DP_BODY


def test_http_content_length_longer_than_the_body() -> None:
    data = http_request(DP_BODY, f"Content-Length: {len(DP_BODY) + 100}")
    assert one(data).body == DP_BODY


def chunked(body: bytes, size: int, eol: bytes = b"\r\n") -> bytes:
    out = b""
    for i in range(0, len(body), size):
        piece = body[i : i + size]
        out += b"%x;name=value" % len(piece) + eol + piece + eol
    return out + b"0" + eol + eol


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_http_chunked(eol: bytes) -> None:
    data = http_request(chunked(DP_BODY, 37, eol), "Transfer-Encoding: chunked", eol=eol)
    assert one(data).body == DP_BODY


def test_http_chunked_wins_over_content_length() -> None:
    data = http_request(chunked(DP_BODY, 100), "Content-Length: 5", "Transfer-Encoding: chunked")
    assert one(data).body == DP_BODY


def test_http_bad_chunk_size() -> None:
    with pytest.raises(InputError, match="bad chunk size 'zz'"):
        read_sources(http_request(b"zz\r\nabc\r\n0\r\n\r\n", "Transfer-Encoding: chunked"))


def test_http_gzip() -> None:
    packed = gzip.compress(DP_BODY)
    data = http_request(packed, "Content-Encoding: gzip", f"Content-Length: {len(packed)}")
    assert one(data).body == DP_BODY


def test_http_chunked_gzip() -> None:
    packed = gzip.compress(ACCOUNT_BODY)
    data = http_request(chunked(packed, 50), "Transfer-Encoding: chunked", "Content-Encoding: gzip")
    assert one(data).body == ACCOUNT_BODY


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS])
def test_http_deflate_zlib_or_raw(wbits: int) -> None:
    packer = zlib.compressobj(wbits=wbits)
    packed = packer.compress(DP_BODY) + packer.flush()
    data = http_request(packed, "Content-Encoding: deflate", f"Content-Length: {len(packed)}")
    assert one(data).body == DP_BODY


def test_http_bad_gzip() -> None:
    with pytest.raises(
        InputError, match="Content-Encoding gzip, but the body cannot be decompressed"
    ):
        read_sources(http_request(DP_BODY, "Content-Encoding: gzip"))


def test_http_unsupported_encoding() -> None:
    with pytest.raises(InputError, match="Content-Encoding br is not supported"):
        read_sources(http_request(b"\x1b\x00\x00", "Content-Encoding: br"))


def test_http_get_query_is_the_body() -> None:
    data = b"GET /amo/hook?" + DP_BODY + b" HTTP/1.1\r\nHost: example.com\r\n\r\n"
    assert one(data) == Source(DP_BODY, "http", "GET /amo/hook")


def test_http_without_body() -> None:
    with pytest.raises(InputError, match="^the request has no body$"):
        read_sources(b"POST /amo/hook HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n")


def test_http_request_line_without_version() -> None:
    # RequestBin and some inspectors show "POST /path" without the version.
    data = b"POST /amo/hook\nContent-Type: application/x-www-form-urlencoded\n\n" + DP_BODY
    assert one(data) == Source(DP_BODY, "http", "POST /amo/hook")


def test_http_forced() -> None:
    assert one(http_request(DP_BODY), "http").form == "http"
    with pytest.raises(InputError, match="no HTTP request line"):
        read_sources(DP_BODY, "http")


# -- curl -----------------------------------------------------------------------------

NOTE = "Позвонить: 10:00 ~ok!\n".encode()
FILES = {
    "note.txt": NOTE,
    # -d @file drops CR and LF; --data-binary @file keeps them.
    "body.txt": b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=10754147\r\n&account%5Bid%5D=30307558\r\n",
    "raw.txt": b"a=1\nb=2\n",
}
# Command lines in bash syntax and the bytes curl sends for them. The expected
# bytes were taken from curl 7.88.1 itself, and test_curl_sends_the_same checks
# them against the curl on this machine when there is one.
CURL_CASES = {
    "chrome": (
        r"""curl '{url}' \
  -H 'accept: */*' \
  -H 'content-type: application/x-www-form-urlencoded; charset=UTF-8' \
  -H 'user-agent: amoCRM-Webhooks/3.0' \
  --data-raw $'leads%5Bid%5D=1&note=O\'Brien\u0021 \u0442\u0435\n\t\\x&bad=\xd0\x41\101\e' \
  --compressed""",
        b"leads%5Bid%5D=1&note=O'Brien! " + "те".encode() + b"\n\t\\x&bad=\xd0AA\x1b",
    ),
    "continued": (
        "curl -X POST {url} \\\n"
        "  -d 'leads[status][0][id]=10754147' \\\n"
        '  -d "leads[status][0][status_id]=54423922" \\\n'
        "  --data account%5Bsubdomain%5D=example",
        b"leads[status][0][id]=10754147&leads[status][0][status_id]=54423922"
        b"&account%5Bsubdomain%5D=example",
    ),
    "double_quotes": (
        r'curl {url} -d "note=\"quoted\" \$HOME \\ back \x"',
        b'note="quoted" $HOME \\ back \\x',
    ),
    "urlencode": (
        "curl {url} --data-urlencode 'plain text ~*' --data-urlencode '=a=b c'"
        " --data-urlencode 'name=Иван Петров & Co' --data-urlencode @note.txt"
        " --data-urlencode comment@note.txt --data-urlencode 'a@b=c d'"
        " --data-urlencode 'empty='",
        b"plain+text+~%2A&a%3Db+c"
        b"&name=%D0%98%D0%B2%D0%B0%D0%BD+%D0%9F%D0%B5%D1%82%D1%80%D0%BE%D0%B2+%26+Co"
        b"&%D0%9F%D0%BE%D0%B7%D0%B2%D0%BE%D0%BD%D0%B8%D1%82%D1%8C%3A+10%3A00+~ok%21%0A"
        b"&comment=%D0%9F%D0%BE%D0%B7%D0%B2%D0%BE%D0%BD%D0%B8%D1%82%D1%8C%3A+10%3A00+~ok%21%0A"
        b"&a@b=c+d&empty=",
    ),
    "files": (
        "curl {url} -d @body.txt --data-binary @raw.txt --data-raw @body.txt"
        " --data-ascii @body.txt",
        b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=10754147&account%5Bid%5D=30307558"
        b"&a=1\nb=2\n&@body.txt"
        b"&leads%5Bstatus%5D%5B0%5D%5Bid%5D=10754147&account%5Bid%5D=30307558",
    ),
    "arguments": (
        # Arguments that look like data options belong to the option before them.
        "curl -sS -H '-d x=1' -u user:pass -A 'ua -d y' -e -d --max-time 5 -XPOST {url}"
        " -b 'a=b' --connect-timeout 3 --data-raw 'real=1' --compressed -k",
        b"real=1",
    ),
    "cluster": (
        "curl -sSLd 'a=1' {url} -d@body.txt",
        b"a=1&" + b"".join(FILES["body.txt"].split()),
    ),
    "get": ("curl -G {url} -d 'a=1' --data-urlencode 'b=2 3'", b"a=1&b=2+3"),
    "nul": (r"curl {url} --data-raw $'a=1\0b' -d 'c=2' -d ''", b"a=1&c=2&"),
}


@pytest.fixture
def curl_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, content in FILES.items():
        (tmp_path / name).write_bytes(content)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("case", CURL_CASES)
def test_curl(case: str, curl_dir: Path) -> None:
    command, expected = CURL_CASES[case]
    url = "https://webhook.site/0c7a3b1e-5d2f-4f7e-8c1a-9b6d3e2f1a0c"
    source = one(command.replace("{url}", url).encode())
    assert source == Source(expected, "curl", url)


class _Recorder(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    received: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        # -G sends the data as the query string.
        self.received.append(body or self.path.partition("?")[2].encode())
        self.send_response(204)
        self.end_headers()

    do_GET = do_POST

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []
    handler = type("Recorder", (_Recorder,), {"received": received})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/amo/hook", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("case", CURL_CASES)
def test_curl_sends_the_same(case: str, curl_dir: Path, listener: tuple[str, list[bytes]]) -> None:
    """What curl itself sends for each command equals what read_sources finds."""
    require_tools("curl", "bash")
    url, received = listener
    command, expected = CURL_CASES[case]
    command = command.replace("{url}", url)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(HOME=str(curl_dir), CURL_HOME=str(curl_dir), NO_PROXY="*")
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=curl_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert received == [expected]
    assert one(command.encode()).body == expected


def test_curl_cmd_flavour() -> None:
    # Chrome's "Copy as cURL (cmd)": ^"...^" quoting, ^ escapes and continuations.
    data = (
        b'curl ^"https://webhook.site/0c7a3b1e^" ^\r\n'
        b'  -H ^"accept: */*^" ^\r\n'
        b'  -H ^"content-type: application/x-www-form-urlencoded^" ^\r\n'
        b'  --data-raw ^"leads^%^5Bstatus^%^5D^%^5B0^%^5D^%^5Bid^%^5D=10754147'
        b'^&account^%^5Bsubdomain^%^5D=example^&note=say ^\\^"hi^\\^" ^(1^)^" ^\r\n'
        b"  --compressed\r\n"
    )
    source = one(data)
    assert source == Source(
        b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=10754147&account%5Bsubdomain%5D=example"
        b'&note=say "hi" (1)',
        "curl",
        "https://webhook.site/0c7a3b1e",
    )


def test_curl_cmd_flavour_old_chrome() -> None:
    # Older Chrome: plain "..." with "%" written outside the quotes.
    data = (
        b'curl "https://example.com/hook" ^\n  --data "leads"%"5Bid"%"5D=1&a=b" ^\n  --compressed'
    )
    assert one(data).body == b"leads%5Bid%5D=1&a=b"


def test_curl_copy_all_gives_one_source_per_request_with_data() -> None:
    data = (
        b"curl 'https://example.com/favicon.ico' -H 'accept: image/*' ;\n"
        b"curl 'https://example.com/hook' --data-raw 'a=1' ;\n"
        b"curl 'https://example.com/hook2' --data-raw 'b=2' | jq ."
    )
    assert read_sources(data) == [
        Source(b"a=1", "curl", "https://example.com/hook"),
        Source(b"b=2", "curl", "https://example.com/hook2"),
    ]


def test_curl_url_option_and_prompt() -> None:
    data = b"$ curl --url https://example.com/hook -d a=1"
    assert one(data) == Source(b"a=1", "curl", "https://example.com/hook")


def test_curl_by_path_and_exe() -> None:
    assert one(b"/usr/bin/curl https://example.com -d a=1").form == "curl"
    assert one(b"curl.exe https://example.com -d a=1").form == "curl"


def test_curl_long_option_with_equals_is_taken() -> None:
    # curl itself says "option --data=a=1: is unknown"; the body is plain enough.
    assert one(b"curl https://example.com --data=a=1 --data-urlencode=b=c+d").body == b"a=1&b=c%2Bd"


def test_curl_ampersand_inside_an_unquoted_word_is_kept() -> None:
    # bash would run the command in the background at the "&"; keeping the
    # body whole is what the person meant.
    assert one(b"curl https://example.com -d a=1&b=2").body == b"a=1&b=2"


def test_curl_without_body() -> None:
    with pytest.raises(InputError, match="the curl command has no body"):
        read_sources(b"curl -X POST -H 'Content-Type: text/plain' https://example.com/hook")


def test_curl_multipart_is_refused() -> None:
    with pytest.raises(InputError, match="multipart form"):
        read_sources(b"curl https://example.com -F 'file=@body.txt'")
    with pytest.raises(InputError, match="multipart form"):
        read_sources(b"curl https://example.com -d a=1 --form-string 'b=2'")


def test_curl_json_is_refused() -> None:
    with pytest.raises(InputError, match=r"sends JSON \(--json\), not a urlencoded form"):
        read_sources(b"""curl https://example.com --json '{"a": 1}'""")


def test_curl_missing_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="'captured body.txt', which does not exist"):
        read_sources(b"curl https://example.com --data-binary '@captured body.txt'")
    with pytest.raises(InputError, match="'gone.txt', which does not exist"):
        read_sources(b"curl https://example.com --data-urlencode note@gone.txt")
    (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match="not a regular file"):
        read_sources(b"curl https://example.com -d @folder")


def test_curl_stdin_is_refused() -> None:
    with pytest.raises(InputError, match="stdin"):
        read_sources(b"curl https://example.com -d @-")


def test_curl_option_without_argument() -> None:
    with pytest.raises(InputError, match="--data-raw needs an argument"):
        read_sources(b"curl https://example.com --data-raw")


@pytest.mark.parametrize("quote", [b"'", b'"', b"$'"])
def test_curl_unterminated_quote(quote: bytes) -> None:
    with pytest.raises(InputError, match="unterminated"):
        read_sources(b"curl https://example.com -d " + quote + b"a=1")


def test_curl_forced() -> None:
    assert one(b"curl https://example.com -d a=1", "curl").body == b"a=1"
    with pytest.raises(InputError, match="not a curl command"):
        read_sources(DP_BODY, "curl")
    with pytest.raises(InputError, match="not a curl command"):
        read_sources(b"wget --post-data a=1 https://example.com", "curl")


# -- json -----------------------------------------------------------------------------


def test_json_flat_keys_in_order() -> None:
    flat = {
        "leads[status][0][id]": "10754147",
        "leads[status][0][status_id]": "54423922",
        "leads[status][0][pipeline_id]": "6344290",
        "leads[status][0][old_status_id]": "54435014",
        "leads[status][0][old_pipeline_id]": "6344290",
        "account[id]": "30307558",
        "account[subdomain]": "example",
    }
    assert one(json.dumps(flat).encode()) == Source(DP_BODY, "json")


def test_json_list_values_repeat_the_pair() -> None:
    data = b'{"a[]": ["1", "2"], "leads[status][0][id]": ["10754147"]}'
    assert one(data).body == b"a%5B%5D=1&a%5B%5D=2&leads%5Bstatus%5D%5B0%5D%5Bid%5D=10754147"


def test_json_scalars_as_http_build_query() -> None:
    data = b'{"a": 1, "b": true, "c": false, "d": null, "e": 1.5, "f": "x y~"}'
    assert one(data).body == b"a=1&b=1&c=0&e=1.5&f=x+y%7E"


@pytest.mark.parametrize("body", [DP_BODY, ACCOUNT_BODY, b"a[0]=x&a[2]=y&b[]=1&b[]=2&c=&d[x][]="])
@pytest.mark.parametrize("indent", [4, None])
def test_json_decoded_output_reads_back_to_itself(body: bytes, indent: int | None) -> None:
    printed = to_json(decode(body), indent=indent).encode()
    assert detect(printed) == "json"
    assert decode(one(printed).body) == decode(body)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"[1, 2]", "an array"),
        (b"[]", "an array"),
        (b'"x"', "a string"),
        (b"3", "a number"),
        (b"null", "null"),
    ],
)
def test_json_not_an_object(data: bytes, kind: str) -> None:
    with pytest.raises(InputError, match=f"^the JSON input is {kind}, not an object$"):
        read_sources(data)
    with pytest.raises(InputError, match="not an object"):
        read_sources(data, "json")


def test_json_broken() -> None:
    with pytest.raises(InputError, match="^not JSON: Expecting"):
        read_sources(b'{"leads[status][0][id]": 10754147,')


def test_json_forced() -> None:
    assert one(b'{"a": "1"}', "json").body == b"a=1"
    with pytest.raises(InputError, match="^not JSON"):
        read_sources(DP_BODY, "json")


def test_json_values_encode_cannot_take() -> None:
    with pytest.raises(InputError, match="^not JSON: Infinity is not a JSON value"):
        read_sources(b'{"a": Infinity}', "json")
    with pytest.raises(InputError, match="^not JSON: NaN is not a JSON value"):
        read_sources(b'{"a": NaN}', "json")
    with pytest.raises(InputError, match="not valid Unicode"):
        read_sources(b'{"a": "\\ud800"}')


# -- python ----------------------------------------------------------------------------


def test_python_dict_from_a_flask_log() -> None:
    data = (
        b"{'leads[status][0][id]': '10754147', 'leads[status][0][status_id]': '54423922', "
        b"'leads[status][0][pipeline_id]': '6344290', 'leads[status][0][old_status_id]': "
        b"'54435014', 'leads[status][0][old_pipeline_id]': '6344290', 'account[id]': "
        b"'30307558', 'account[subdomain]': 'example'}"
    )
    assert one(data) == Source(DP_BODY, "python")


def test_python_parse_qs_with_bytes_keeps_the_bytes() -> None:
    data = (
        b"{b'leads[status][0][id]': [b'10754147'], b'note': [b'\\xff\\xfe ok', b'two'], "
        b"b'account[subdomain]': [b'example']}"
    )
    assert one(data).body == (
        b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=10754147&note=%FF%FE+ok&note=two"
        b"&account%5Bsubdomain%5D=example"
    )


def test_python_querydict() -> None:
    data = (
        "<QueryDict: {'leads[add][0][name]': ['Сделка №1'], 'account[id]': ['30307558']}>"
    ).encode()
    body = one(data).body
    assert body == (
        b"leads%5Badd%5D%5B0%5D%5Bname%5D=%D0%A1%D0%B4%D0%B5%D0%BB%D0%BA%D0%B0+%E2%84%961"
        b"&account%5Bid%5D=30307558"
    )
    assert decode(body) == {
        "leads": {"add": [{"name": "Сделка №1"}]},
        "account": {"id": "30307558"},
    }


@pytest.mark.parametrize(
    "wrapper", ["ImmutableMultiDict", "MultiDict", "werkzeug.datastructures.MultiDict"]
)
def test_python_multidict(wrapper: str) -> None:
    data = f"{wrapper}([('account[id]', '30307558'), ('tags[]', 'a'), ('tags[]', 'b')])".encode()
    assert one(data).body == b"account%5Bid%5D=30307558&tags%5B%5D=a&tags%5B%5D=b"


def test_python_list_of_pairs_and_django_body() -> None:
    assert one(b"[('a', '1'), ('a', '2')]").body == b"a=1&a=2"
    assert one(b"b'" + DP_BODY + b"'") == Source(DP_BODY, "python")


def test_python_nested_value_is_encoded_under_its_key() -> None:
    assert one(b"{'account': {'id': '1', 'subdomain': 'x'}}").body == (
        b"account%5Bid%5D=1&account%5Bsubdomain%5D=x"
    )


def test_python_never_evaluates_code() -> None:
    with pytest.raises(InputError, match="not a Python literal"):
        read_sources(b"{'a': __import__('os').system('echo hi')}", "python")


def test_python_forced() -> None:
    assert one(b"{'a': '1'}", "python").body == b"a=1"
    with pytest.raises(InputError, match="not a Python literal"):
        read_sources(DP_BODY, "python")
    with pytest.raises(InputError, match="a Python int is not a form"):
        read_sources(b"3", "python")


# -- capture ---------------------------------------------------------------------------


def record(**fields: object) -> bytes:
    return json.dumps({"received_at": "2025-03-01T10:15:00.123456+00:00", **fields}).encode()


def test_capture_records() -> None:
    raw = b"leads%5Bnote%5D%5B0%5D%5Bnote%5D%5Btext%5D=\xff\xfe&account%5Bid%5D=30307558"
    data = b"\n".join(
        [
            record(method="POST", path="/amo/hook", query="", headers=[], body=DP_BODY.decode()),
            b"",
            record(
                method="POST",
                path="/amo/hook",
                headers=[["Content-Type", "application/x-www-form-urlencoded"]],
                body_base64=base64.b64encode(raw).decode(),
            ),
            record(method="GET", path="/amo/hook", query="account%5Bid%5D=1", body=""),
            b"",
        ]
    )
    assert detect(data) == "capture"
    assert read_sources(data) == [
        Source(DP_BODY, "capture", "record 1 POST /amo/hook"),
        Source(raw, "capture", "record 2 POST /amo/hook"),
        Source(b"account%5Bid%5D=1", "capture", "record 3 GET /amo/hook"),
    ]


def test_capture_gzip_body_as_saved() -> None:
    packed = base64.b64encode(gzip.compress(DP_BODY)).decode()
    data = record(headers=[["Content-Encoding", "gzip"]], body_base64=packed)
    assert one(data) == Source(DP_BODY, "capture", "record 1")
    # Saved already decompressed, header kept: the body as it is.
    assert one(record(headers=[["Content-Encoding", "gzip"]], body="a=1")).body == b"a=1"


def test_capture_pretty_printed_record() -> None:
    data = json.dumps(json.loads(record(body="a=1")), indent=2).encode()
    assert one(data) == Source(b"a=1", "capture", "record 1")


def test_capture_line_that_is_not_a_record() -> None:
    data = record(body="a=1") + b"\n" + record(body="b=2") + b'\n{"note": "hi"}\n'
    with pytest.raises(InputError, match="^line 3 is not a capture record"):
        read_sources(data)
    with pytest.raises(InputError, match="^line 2 is not a capture record"):
        read_sources(record(body="a=1") + b"\nnot json\n")


def test_capture_bad_fields() -> None:
    with pytest.raises(InputError, match="record 1: body_base64 is not valid base64"):
        read_sources(record(body_base64="not base64!"))
    with pytest.raises(InputError, match="record 1: body is not a string"):
        read_sources(record(body=None))


def test_capture_forced() -> None:
    assert one(record(body="a=1"), "capture").body == b"a=1"
    with pytest.raises(InputError, match="^line 1 is not a capture record"):
        read_sources(DP_BODY, "capture")
    with pytest.raises(InputError, match="^line 1 is not a capture record"):
        read_sources(b'{"account[id]": "1"}', "capture")


def test_single_line_object_that_is_not_a_record_is_json() -> None:
    data = b'{"received_at": "2025-03-01", "account[id]": "1"}'
    assert one(data) == Source(b"received_at=2025-03-01&account%5Bid%5D=1", "json")


# -- no input crashes ------------------------------------------------------------------

PREFIXES = [
    b"",
    b"curl ",
    b"curl -d @",
    b"curl https://x --data-urlencode ",
    b'curl ^"',
    b"POST /hook HTTP/1.1\r\n",
    b"POST /hook HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST /hook HTTP/1.1\nContent-Encoding: gzip, deflate\n\n",
    b"GET /?",
    b"{",
    b"[",
    b'{"received_at": 1, "body_base64": ',
    b'{"received_at": 1, "body": "a=1"}\n',
    b"<QueryDict: ",
    b"MultiDict(",
    b"b'",
    b"\xff\xfe",
]
TOKENS = [
    *(t.encode() for t in " \n\r\t'\"$\\^@=&;|#{}[](),:-"),
    b"curl",
    b"-d",
    b"--data-urlencode",
    b"--data-binary",
    b"-F",
    b"--json",
    b"-G",
    b"-H",
    b"$'",
    b"\\x",
    b"\\u",
    b"\\U1",
    b"\\c",
    b"\\0",
    b"a",
    b"%5B",
    b"\xd0",
    b"chunked",
    b"Content-Length: 3",
    b"HTTP/1.1",
    b"POST",
    b"null",
    b"1e400",
    b"b'\\xff'",
    b'"received_at"',
    b'"body"',
]


def _only_input_errors(data: bytes, form: str) -> None:
    try:
        sources = read_sources(data, form)
    except InputError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert sources
    for source in sources:
        assert isinstance(source.body, bytes)
        assert source.form in FORMS[1:]
        assert isinstance(source.label, str)


@pytest.mark.parametrize("form", FORMS)
@settings(deadline=None, database=None)
@given(data=st.binary())
def test_any_bytes_give_a_result_or_an_input_error(form: str, data: bytes) -> None:
    _only_input_errors(data, form)


@pytest.mark.parametrize("form", FORMS)
@settings(deadline=None, database=None)
@given(
    prefix=st.sampled_from(PREFIXES),
    rest=st.binary() | st.lists(st.sampled_from(TOKENS)).map(b"".join),
)
def test_near_misses_give_a_result_or_an_input_error(form: str, prefix: bytes, rest: bytes) -> None:
    _only_input_errors(prefix + rest, form)


# -- amodp decode as a new user meets it ---------------------------------------------------

runner = CliRunner()
AMODP_CLI = (
    "import resource, sys\n"
    "from amodp.cli import app\n"
    "try: app(prog_name='amodp')\n"
    "except SystemExit: pass\n"
    "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024\n"
    "sys.stderr.write(f'rich={\"rich\" in sys.modules} peak_mb={peak}\\n')\n"
)


def _on_a_terminal(args: list[str], stdin: bytes | None = None) -> tuple[bytes, str]:
    """``amodp ARGS`` with stdout (or, given ``stdin``, stdin) on a pseudo-terminal,
    colour allowed: (what the program wrote to its stdout, its stderr)."""
    import pty

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm-256color"
    on_stdin = stdin is not None
    proc = subprocess.Popen(
        [sys.executable, "-c", AMODP_CLI, *args],
        stdin=slave if on_stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE if on_stdin else slave,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(slave)
    try:
        if on_stdin:
            assert stdin is not None
            os.write(master, stdin)
            out, err = proc.communicate(timeout=60)
            return out, err.decode()
        chunks = []
        while True:
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # EIO: the program has closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.stderr is not None
        err = proc.stderr.read().decode()
        proc.wait(timeout=60)
        return b"".join(chunks).replace(b"\r\n", b"\n"), err
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_big_output_on_a_terminal_is_printed_as_when_piped(tmp_path: Path) -> None:
    small = tmp_path / "small.txt"
    small.write_bytes(DP_BODY)
    shown, err = _on_a_terminal(["decode", str(small)])
    assert b"\x1b[" in shown  # a terminal indeed: highlighted
    assert to_json(DP_VALUE).encode() in re.sub(rb"\x1b\[[0-9;]*m", b"", shown)

    # About 3 MB of JSON: highlighting it would build it all in memory, many
    # times over (a 50 MB body took 4.9 GB); it is printed as it is instead.
    values = [f"{i:010d}" for i in range(120_000)]
    big = tmp_path / "big.txt"
    big.write_bytes(b"&".join(b"a%5B%5D=" + v.encode() for v in values))
    shown, err = _on_a_terminal(["decode", str(big)])
    assert shown == (to_json({"a": values}) + "\n").encode()
    assert "rich=False" in err  # nothing built for colour
    peak = int(err.rsplit("peak_mb=", 1)[1])
    # About what the same decode costs piped (the decoded body itself), not
    # the many times over that highlighting costs.
    piped = subprocess.run(
        [sys.executable, "-c", AMODP_CLI, "decode", str(big)],
        capture_output=True,
        timeout=120,
        check=True,
    )
    piped_peak = int(piped.stderr.decode().rsplit("peak_mb=", 1)[1])
    assert piped.stdout == shown
    assert peak < piped_peak * 3 + 100, f"{peak} MB on a terminal, {piped_peak} MB piped"


def test_stdin_on_a_terminal_is_announced() -> None:
    out, err = _on_a_terminal(["decode", "--compact"], stdin=b"account%5Bid%5D=30307558\n\x04")
    assert err.startswith(
        "Reading a body from stdin: paste it, then press Ctrl-D (Ctrl-Z, Enter on Windows).\n"
    )
    assert out == b'{"account":{"id":"30307558"}}\n'
    piped = runner.invoke(app, ["decode", "--compact"], input=b"account%5Bid%5D=30307558")
    assert piped.stderr == (
        "Note: stdin: no amoCRM webhook event in it (no leads[status][0][...] or the like); "
        "decoded all the same\n"
    )


def test_a_body_given_as_the_argument_is_shown_how_to_pipe() -> None:
    body = "leads%5Bstatus%5D%5B0%5D%5Bid%5D=1"
    result = runner.invoke(app, ["decode", body])
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {body}: no such file; to decode a body given as text, "
        f"pipe it: echo {body} | amodp decode\n"
    )
    result = runner.invoke(app, ["decode", "a=1&b=2"])
    assert result.stderr.endswith("pipe it: echo 'a=1&b=2' | amodp decode\n")
    # A file name is only a missing file.
    result = runner.invoke(app, ["decode", "hooks.jsonl"])
    assert result.stderr == "Error: hooks.jsonl: no such file\n"


def test_binary_input_is_refused(tmp_path: Path) -> None:
    png = base64.b64decode(  # a 1x1 PNG
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    )
    for name, data in [
        ("pixel.png", png),
        ("python", Path(sys.executable).resolve().read_bytes()[:100_000]),
        ("pixel.png.gz", gzip.compress(png)),
    ]:
        path = tmp_path / name
        path.write_bytes(data)
        result = runner.invoke(app, ["decode", str(path)])
        assert result.exit_code == 2, name
        assert result.stdout == ""
        assert result.stderr == f"Error: {path} is not text (binary data)\n"
        with pytest.raises(NotTextError):
            read_sources(data)


def test_text_in_another_encoding_is_not_binary() -> None:
    body = "contacts[add][0][name]=Иван Петров&contacts[add][0][id]=5".encode("cp1251")
    assert read_sources(body) == [Source(body, "body")]


def test_a_gzipped_body_is_read(tmp_path: Path) -> None:
    assert read_sources(gzip.compress(DP_BODY)) == [Source(DP_BODY, "body")]
    path = tmp_path / "body.txt.gz"
    path.write_bytes(gzip.compress(DP_BODY + b"\n"))
    result = runner.invoke(app, ["decode", "--compact", str(path)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == DP_VALUE
    with pytest.raises(InputError, match="^is gzip data that cannot be decompressed"):
        read_sources(gzip.compress(DP_BODY)[:-12])


# A lead as amoCRM's REST API answers GET /api/v4/leads/{id} (the shape of a
# logged response; the ids and the subdomain are made up).
API_LEAD = {
    "id": 28433860,
    "name": "Тест",
    "price": 123,
    "responsible_user_id": 2873617,
    "group_id": 0,
    "status_id": 42508695,
    "pipeline_id": 4627251,
    "loss_reason_id": None,
    "created_by": 2873617,
    "updated_by": 2873617,
    "created_at": 1632488108,
    "updated_at": 1632488108,
    "closed_at": None,
    "closest_task_at": None,
    "is_deleted": False,
    "custom_fields_values": None,
    "score": None,
    "account_id": 22324900,
    "_links": {"self": {"href": "https://example.amocrm.ru/api/v4/leads/28433860"}},
    "_embedded": {
        "tags": [],
        "companies": [],
        "contacts": [
            {
                "id": 42015703,
                "is_main": True,
                "_links": {"self": {"href": "https://example.amocrm.ru/api/v4/contacts/42015703"}},
            }
        ],
    },
}


def test_a_rest_api_response_is_decoded_with_a_warning(php, tmp_path: Path) -> None:
    text = json.dumps(API_LEAD, ensure_ascii=False, indent=4)
    # What PHP's $_POST holds when this JSON is sent as a form.
    (form,) = php.php_encode_many([text])
    (expected,) = php.php_decode_many([form.encode()])
    path = tmp_path / "lead.json"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["decode", "--compact", str(path)])
    assert result.exit_code == 0
    assert result.stdout == expected + "\n"
    line, note = result.stderr.splitlines()
    assert line.startswith(f"Warning: {path}: this JSON looks like an amoCRM REST API response")
    assert "not a webhook body" in line and "bracket keys" in line
    assert note.startswith(f"Note: {path}: no amoCRM webhook event in it")


def test_decoded_output_read_back_has_no_warning() -> None:
    nested = to_json(decode(ACCOUNT_BODY)).encode()
    (source,) = read_sources(nested)
    assert source.form == "json" and source.warnings == ()
