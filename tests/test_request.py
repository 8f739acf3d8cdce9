"""One request type and one outcome type for everything amodp sends.

Every kind comes out of ``amodp.generate`` as one ``amodp.Request``; what
comes back from a real socket is one ``amodp.Delivery`` whose failure is a
``Failure`` member, judged by the rules of the request's own kind. Expected
values come from the catalog's documented rules (docs/delivery-rules.md),
from the JSON and form parsers of the standard library, and from real
listeners on 127.0.0.1."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

import amodp
from amodp import catalog, replay
from amodp.cli import app
from amodp.listener import Background, Options
from amodp.records import read_records, record_bytes
from amodp.request import merge_headers
from amodp.sender import Sender, complete


@pytest.mark.parametrize("kind", catalog.ALL_KINDS)
def test_every_kind_is_one_request_type(kind: str) -> None:
    for spec in catalog.events(kind):
        request = amodp.generate(spec.event, spec.entity, kind=kind, seed=3)
        assert type(request) is amodp.Request
        assert (request.event, request.kind) == (spec, kind)
        assert request.method == spec.method
        if request.method == "GET":
            assert request.body == b""
            query = {k: v[0] for k, v in parse_qs(request.query).items()}
            assert query == request.json
        elif request.header("content-type") == "application/json":
            assert json.loads(request.body) == request.json
        else:
            assert amodp.decode(request.body) == request.json
        # The wire form carries the body and a Content-Length that fits it.
        head, _, body = request.http().partition(b"\r\n\r\n")
        assert body == request.body
        if request.body:
            assert f"Content-Length: {len(request.body)}".encode() in head.split(b"\r\n")


def test_generate_of_a_callback_kind_needs_no_other_function() -> None:
    # Was a bare KeyError: 'amojo_account_id'.
    hook = amodp.generate("message", kind="chat", seed=1)
    assert hook.name == "chat.message" and "X-Signature" in dict(hook.headers)
    assert [r.kind for r in amodp.generate_all(kind="salesbot", seed=1)] == ["salesbot"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: amodp.generate("message", kind="chat", count=2), "count is for dp and account"),
        (lambda: amodp.generate("message", kind="chat", overrides=[("a", "1")]), "overrides"),
        (lambda: amodp.generate("status", "leads", secret="s"), "secret is for the callbacks"),
        (lambda: amodp.generate("status", "leads", flaw="wrong-secret"), "flaw is for"),
        (lambda: amodp.generate("nope", kind="chat"), "nope"),
        (lambda: amodp.generate("message", kind="nope"), "nope"),
        (lambda: amodp.generate_all(kind="oauth", entity="leads"), "entity is for dp"),
    ],
)
def test_a_wrong_call_is_an_amodp_error(call: object, message: str) -> None:
    with pytest.raises(amodp.AmodpError, match=message):
        call()  # type: ignore[operator]


def test_one_header_merging_rule() -> None:
    base = [("Host", ""), ("Content-Type", "a"), ("X-Amocrm-Requestid", "1")]
    merged = merge_headers(base, [("content-type", "b"), ("X-Extra", "x")])
    assert merged == (
        ("Host", ""),
        ("content-type", "b"),
        ("X-Amocrm-Requestid", "1"),
        ("X-Extra", "x"),
    )
    hook = amodp.generate("status", "leads", seed=1).with_headers([("user-agent", "mine")])
    assert [v for k, v in hook.headers if k.lower() == "user-agent"] == ["mine"]
    assert hook.http().count(b"mine") == 1


def test_with_url_keeps_a_get_callbacks_query() -> None:
    hook = amodp.generate("disabled", kind="oauth", seed=1)
    moved = hook.with_url("http://127.0.0.1:9/x?key=1")
    parts = urlsplit(moved.url)
    assert parts.path == "/x"
    assert parts.query == "key=1&" + hook.query
    assert moved.header("host") == "127.0.0.1:9"


@pytest.mark.parametrize("kind", catalog.ALL_KINDS)
def test_record_reads_back_as_the_same_request(kind: str) -> None:
    for request in amodp.generate_all(kind=kind, seed=5, url="http://127.0.0.1:8000/amo"):
        [record] = read_records(record_bytes(request.record(status=200)))
        again = replay.request_of(record)
        assert (again.method, again.url, again.body) == (request.method, request.url, request.body)
        assert again.headers == [(k.lower(), v) for k, v in request.headers]
        assert again.kind == kind and again.event == request.event


def test_curl_of_bytes_that_are_not_utf8_gives_them_back(tmp_path: Path) -> None:
    import subprocess

    hook = amodp.generate("status", "leads", seed=1)
    odd = amodp.Request(None, None, "POST", hook.url, b"a=\xff\xfe'\\", "", None, ())
    # Run the command's body argument through bash's own parser.
    word = odd.curl().rpartition("--data-binary ")[2]
    out = subprocess.run(
        ["bash", "-c", f"printf %s {word} > {tmp_path / 'out'}"], check=True, capture_output=True
    )
    assert out.returncode == 0
    assert (tmp_path / "out").read_bytes() == b"a=\xff\xfe'\\"


# -- outcomes over real sockets ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_port_is_a_typed_failure() -> None:
    request = amodp.generate("status", "leads", seed=1, url=f"http://127.0.0.1:{_free_port()}/")

    async def send() -> amodp.Delivery:
        async with Sender(timeout=2) as sender:
            return await sender.send(request)

    delivery = complete(send())
    assert delivery.failure is amodp.Failure.REFUSED and delivery.status is None
    assert delivery.failure.unreachable
    assert delivery.verdict is not None and not delivery.ok
    assert (
        delivery.verdict.reason
        == "connection refused: DP webhooks are not retried: this change is lost"
    )


def test_a_quick_204_to_a_chats_hook_is_not_late() -> None:
    # docs/delivery-rules.md: a Chats API hook wants 200 exactly, within 5 s.
    with Background(Options(port=0, status=204), lambda *_: None) as running:
        result = CliRunner().invoke(
            app,
            ["send", "message", "--kind", "chat", "--secret", "s", "--url", running.url + "/c"],
        )
    assert result.exit_code == 1, result.stderr
    assert "took longer" not in result.stderr
    assert "204: amoCRM wants 200 exactly" in result.stderr
    assert result.stdout.startswith("chat.message  204")


def test_a_replayed_account_capture_is_judged_as_account_level(tmp_path: Path) -> None:
    # An account-level 500 is retried in 5 min; a DP one is not retried at all.
    saved = tmp_path / "capture.jsonl"
    hook = amodp.generate("add", "leads", kind="account", seed=2)
    with Background(Options(port=0, save=saved), lambda *_: None) as first:
        complete(_send_to(hook.with_url(first.url + "/amo")))
    with Background(Options(port=0, status=500), lambda *_: None) as failing:
        result = CliRunner().invoke(
            app, ["send", "--replay", str(saved), "--url", failing.url, "--json"]
        )
    assert result.exit_code == 1, result.stderr
    line = json.loads(result.stdout)
    assert (line["event"], line["status"]) == ("leads.add", 500)
    assert line["reason"] == "500: amoCRM retries in 5 min"


async def _send_to(request: amodp.Request) -> amodp.Delivery:
    async with Sender(timeout=5) as sender:
        return await sender.send(request)
