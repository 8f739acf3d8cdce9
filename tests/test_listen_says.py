"""What the listener says of a request can be trusted: a trailing newline that
changes a value is named, a gzip body is decoded as ``amodp decode`` decodes
it, filters name real events, and ``--lines`` never prints ``None``. Every
test runs a real listener on 127.0.0.1 and sends to it with a real client
(curl, urllib, aiohttp)."""

from __future__ import annotations

import asyncio
import base64
import gzip
import io
import json
import os
import subprocess
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from amodp import decode, generate
from amodp.listener import Background, Options
from amodp.render import show_line, show_record

from .conftest import require_tools
from .test_wire import amodp


class Shown:
    """What a listener received: each record, and what ``--lines`` and the
    pretty display show of it."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.lines: list[str] = []
        self.pretty: list[str] = []
        self.wanted: list[bool] = []  # whether each passed --event/--entity

    def __call__(self, record: dict[str, Any], line: bytes, wanted: bool) -> None:
        self.records.append(json.loads(line))
        self.wanted.append(wanted)
        out = io.StringIO()
        show_line(record, out)
        self.lines.append(out.getvalue())
        out = io.StringIO()
        show_record(record, out)
        self.pretty.append(out.getvalue())


@contextmanager
def listener(**options: Any) -> Iterator[tuple[str, Shown]]:
    shown = Shown()
    os.environ.setdefault("NO_COLOR", "1")
    with Background(Options(port=0, **options), shown) as running:
        yield running.url, shown


def urlopen(request: urllib.request.Request) -> tuple[int, bytes]:
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, answer.read()


# -- a body that ends in a newline ---------------------------------------------------


def test_a_newline_at_the_end_of_a_curl_file_body_is_named(tmp_path: Path, php: Any) -> None:
    require_tools("curl")
    made = amodp("generate", "status", "--lead", "--seed", "7", "--set", "account[subdomain]=acme")
    assert made.returncode == 0, made.stderr
    body_file = tmp_path / "body.txt"
    body_file.write_text(made.stdout, encoding="ascii")
    body = body_file.read_bytes()
    assert body.endswith(b"account%5Bsubdomain%5D=acme\n")  # what generate writes
    # PHP keeps the newline in the last value.
    (php_post,) = php.php_decode_many([body])
    assert json.loads(php_post)["account"]["subdomain"] == "acme\n"
    with listener() as (url, shown):
        sent = subprocess.run(
            ["curl", "-sS", "--data-binary", f"@{body_file}", url + "/amo/hook"],
            capture_output=True,
            timeout=30,
        )
    assert sent.returncode == 0 and sent.stdout == b"200 OK\n", sent.stderr
    (record,) = shown.records
    assert record["body"].encode() == body
    assert record["decoded"] == json.loads(php_post)
    note = 'the body ends in a newline: account[subdomain] is "acme\\n" for PHP'
    assert record["note"] == note
    assert f"({note})" in shown.lines[0]
    assert f"note: {note}\n" in shown.pretty[0]


@pytest.mark.parametrize(
    ("body", "note"),
    [
        (b"a=1&b[]=2\r\n", 'b[] is "2\\r\\n" for PHP'),
        (b"a=1&c%5Bd%5D=q+r\n", 'c[d] is "q r\\n" for PHP'),
        (b"a=1&flag\n", 'the last name is "flag\\n" for PHP'),
        (b"a=1&text=" + b"x" * 80 + b"\n\n", 'text ends in "\\n\\n" for PHP'),
    ],
)
def test_a_trailing_newline_is_named_as_php_reads_it(body: bytes, note: str, php: Any) -> None:
    with listener() as (url, shown):
        request = urllib.request.Request(url + "/", data=body, method="POST")
        assert urlopen(request)[0] == 200
    (record,) = shown.records
    (php_post,) = php.php_decode_many([body])
    assert record["decoded"] == json.loads(php_post)
    assert record["note"] == f"the body ends in a newline: {note}"


def test_a_newline_php_drops_and_a_body_without_one_get_no_note() -> None:
    with listener() as (url, shown):
        for body in (b"a=1&b[x]\n", b"a=1&b=2"):  # PHP ignores what follows "]"
            urlopen(urllib.request.Request(url + "/", data=body, method="POST"))
    decoded = [{"a": "1", "b": {"x": ""}}, {"a": "1", "b": "2"}]
    assert [r["decoded"] for r in shown.records] == decoded
    assert [r.get("note") for r in shown.records] == [None, None]


def test_a_redacted_newline_note_does_not_show_the_value() -> None:
    body = generate("status", "leads", seed=7, overrides=[("account[subdomain]", "acme")]).body
    with listener(redact=True) as (url, shown):
        urlopen(urllib.request.Request(url + "/", data=body + b"\n", method="POST"))
    (record,) = shown.records
    assert record["note"] == 'the body ends in a newline: account[subdomain] ends in "\\n" for PHP'


# -- Content-Encoding ----------------------------------------------------------------

DP_BODY = generate("status", "leads", seed=3).body


def test_a_gzip_body_is_decoded_as_decode_does_and_kept_as_received(tmp_path: Path) -> None:
    packed = gzip.compress(DP_BODY)
    save = tmp_path / "hooks.jsonl"
    with listener(save=save) as (url, shown):
        request = urllib.request.Request(
            url + "/amo/hook",
            data=packed,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Content-Encoding": "gzip",
            },
        )
        assert urlopen(request) == (200, b"200 OK\n")
    (record,) = shown.records
    assert base64.b64decode(record["body_base64"]) == packed  # the bytes as received
    assert "body" not in record
    assert record["decoded"] == decode(DP_BODY)
    assert record["events"][0]["entity"] == "leads" and record["events"][0]["event"] == "status"
    note = f"Content-Encoding gzip: decompressed ({len(DP_BODY)} bytes) and decoded"
    assert record["note"] == note
    assert "leads.status" in shown.lines[0]
    # amodp decode reads the saved record back to the same decoding.
    decoded = amodp("decode", str(save), "--compact")
    assert decoded.returncode == 0, decoded.stderr
    assert json.loads(decoded.stdout) == record["decoded"]


def test_a_redacted_gzip_body_is_kept_decompressed_and_redacted() -> None:
    with listener(redact=True) as (url, shown):
        request = urllib.request.Request(
            url + "/",
            data=gzip.compress(DP_BODY),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Content-Encoding": "gzip",
            },
        )
        assert urlopen(request)[0] == 200
    (record,) = shown.records
    assert decode(record["body"]) == record["decoded"]  # no personal data as received
    assert record["decoded"]["leads"] == decode(DP_BODY)["leads"]  # ids are not personal
    assert record["note"] == (
        f"Content-Encoding gzip: decompressed ({len(DP_BODY)} bytes) and decoded; "
        "the body is kept decompressed, to be redacted"
    )


def test_a_deflate_json_callback_is_recognised() -> None:
    hook = generate("message", kind="chat", seed=2)
    with listener() as (url, shown):
        request = urllib.request.Request(
            url + "/chat",
            data=zlib.compress(hook.body),
            headers={"Content-Type": "application/json", "Content-Encoding": "deflate"},
        )
        assert urlopen(request)[0] == 200
    (record,) = shown.records
    assert base64.b64decode(record["body_base64"]) == zlib.compress(hook.body)
    assert [(e["kind"], e["event"]) for e in record["events"]] == [("chat", "message")]
    assert record["note"].startswith("Content-Encoding deflate: decompressed (")


def test_a_body_that_claims_gzip_but_is_not_is_kept_raw_and_answered() -> None:
    async def send(url: str) -> list[tuple[int, bytes]]:
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            answers = []
            for coding, body in (("gzip", DP_BODY), ("br", DP_BODY), ("gzip", b"\x1f\x8b\x08")):
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Content-Encoding": coding,
                }
                async with session.post(url, data=body, headers=headers) as answer:
                    answers.append((answer.status, await answer.read()))
            return answers

    with listener() as (url, shown):
        answers = asyncio.run(send(url + "/amo/hook"))
    assert answers == [(200, b"200 OK\n")] * 3
    first, second, third = shown.records
    assert first["body"].encode() == DP_BODY  # kept raw, not decoded
    assert base64.b64decode(third["body_base64"]) == b"\x1f\x8b\x08"
    assert [r["decoded"] for r in shown.records] == [None, None, None]
    assert [r["events"] for r in shown.records] == [[], [], []]
    assert first["note"].startswith("Content-Encoding gzip, but the body cannot be decompressed (")
    assert first["note"].endswith("): kept raw")
    assert second["note"] == "Content-Encoding br is not supported (only gzip, deflate): kept raw"
    assert third["note"].startswith("Content-Encoding gzip, but the body cannot be decompressed (")


def test_a_gzip_body_that_grows_past_max_body_is_not_decompressed() -> None:
    packed = gzip.compress(b"a=" + b"0" * 5000)
    with listener(max_body=1000) as (url, shown):
        request = urllib.request.Request(
            url + "/", data=packed, headers={"Content-Encoding": "gzip"}, method="POST"
        )
        assert urlopen(request)[0] == 200
    (record,) = shown.records
    assert record["decoded"] is None
    assert record["note"] == (
        "Content-Encoding gzip: decompressed, the body is over --max-body (1000 bytes): kept raw"
    )


# -- --event and --entity ------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "name", "message"),
    [
        ("--event", "nope", "Error: --event: unknown event 'nope'; choose from: "),
        ("--event", "leads.nope", "Error: --event: unknown event 'leads.nope'; choose from: "),
        ("--event", "nope.status", "Error: --event: unknown event 'nope.status'; choose from: "),
        ("--entity", "nope", "Error: --entity: unknown entity 'nope'; choose from: "),
    ],
)
def test_an_unknown_filter_is_an_error(option: str, name: str, message: str) -> None:
    result = amodp("listen", "--port", "0", option, name, "--timeout", "5")
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(message)
    assert "Listening" not in result.stderr


def test_known_filters_still_choose_what_is_shown() -> None:
    result = amodp(
        *["listen", "--port", "0", "--timeout", "0.5"],
        *["--event", "status", "--event", "leads.status", "--event", "chat.message"],
        *["--event", "salesbot.continue", "--event", "call_in"],
        *["--entity", "leads", "--entity", "lead", "--entity", "contacts", "--entity", "chat"],
        *["--entity", "oauth", "--entity", "salesbot", "--entity", "marketingbot"],
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("Listening on http://127.0.0.1:")
    sent = [("message", "chat"), ("typing", "chat"), ("status", "dp"), ("add", "account")]
    for chosen, wanted in (
        ({"events": frozenset({"chat.message"})}, [True, False, False, False]),
        ({"events": frozenset({"status"})}, [False, False, True, False]),
        ({"entities": frozenset({"lead"})}, [False, False, True, True]),
        ({"entities": frozenset({"chat"})}, [True, True, False, False]),
    ):
        with listener(**chosen) as (url, shown):
            for name, kind in sent:
                hook = generate(name, "leads" if kind != "chat" else None, kind=kind, seed=1)
                headers = {k: v for k, v in hook.headers if k.lower() != "host"}
                urlopen(urllib.request.Request(url + "/", data=hook.body, headers=headers))
        assert shown.wanted == wanted, chosen


# -- --lines -------------------------------------------------------------------------

CALLBACKS = [
    ("chat", "message", "chat.message: text message "),
    ("chat", "typing", "chat.typing: conversation "),
    ("chat", "reaction", "chat.reaction: "),
    ("chat", "comment_reply", "chat.comment_reply: reply to post "),
    ("salesbot", "widget_request", "salesbot.widget_request: continue at https://"),
    ("oauth", "disabled", "oauth.disabled: account "),
    ("oauth", "redirect", "oauth.redirect: code for "),
    ("oauth", "denied", "oauth.denied: access denied"),
]


@pytest.mark.parametrize(("kind", "event", "said"), CALLBACKS)
def test_lines_show_each_callback_by_what_it_says(kind: str, event: str, said: str) -> None:
    hook = generate(event, kind=kind, seed=5)
    with listener() as (url, shown):
        path = hook.url.split("/", 3)[3]
        headers = {k: v for k, v in hook.headers if k.lower() not in ("host", "content-length")}
        request = urllib.request.Request(
            f"{url}/{path}", data=hook.body or None, headers=headers, method=hook.method
        )
        assert urlopen(request)[0] == 200
    (line,) = shown.lines
    assert "None" not in line
    assert f"  {said}" in line
    (pretty,) = shown.pretty
    assert "None" not in pretty
    assert f"200  {kind}.{event} ({kind})\n" in pretty  # the heading names it too


@pytest.mark.parametrize(
    ("method", "body", "headers", "said"),
    [
        ("POST", b"", {}, "  -  (empty body)"),
        ("GET", b"", {}, "  -  (empty body)"),
        ("POST", b"hello", {"Content-Type": "text/plain"}, "  -  (body is text/plain"),
        ("POST", b'{"a": 1}', {"Content-Type": "application/json"}, "  -  (body is"),
    ],
)
def test_lines_say_when_there_is_no_event(
    method: str, body: bytes, headers: dict[str, str], said: str
) -> None:
    with listener() as (url, shown):
        request = urllib.request.Request(
            url + "/x", data=body if method == "POST" else None, headers=headers, method=method
        )
        assert urlopen(request)[0] == 200
    (line,) = shown.lines
    assert "None" not in line
    assert said in line


def test_lines_of_a_redacted_callback_name_it_without_its_values() -> None:
    hook = generate("message", kind="chat", seed=5)
    with listener(redact=True) as (url, shown):
        request = urllib.request.Request(
            url + "/chat", data=hook.body, headers={"Content-Type": "application/json"}
        )
        urlopen(request)
    (line,) = shown.lines
    assert "None" not in line
    assert "  chat.message  (" in line


def test_lines_show_an_item_without_an_id_as_a_question_mark() -> None:
    body = b"leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142&account%5Bsubdomain%5D=acme"
    with listener() as (url, shown):
        urlopen(urllib.request.Request(url + "/", data=body, method="POST"))
    (line,) = shown.lines
    assert "None" not in line
    assert "  200  leads.status ?\n" in line
