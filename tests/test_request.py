"""One request type and one outcome type for everything amodp sends.

Every kind comes out of ``amodp.generate`` as one ``amodp.Request``; what
comes back from a real socket is one ``amodp.Delivery`` whose failure is a
``Failure`` member, judged by the rules of the request's own kind. Expected
values come from the catalog's documented rules (docs/delivery-rules.md),
from the JSON and form parsers of the standard library, and from real
listeners on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

import amodp
from amodp import catalog, replay
from amodp.callbacks import generate as callback
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


# -- send: repeats, bodies from anything decode reads ------------------------------------


def _received(tmp_path: Path, *args: str) -> tuple[int, list[dict[str, object]], str]:
    """``amodp send ARGS --url`` a real listener; (exit code, its records, stderr)."""
    saved = tmp_path / "got.jsonl"
    with Background(Options(port=0, save=saved), lambda *_: None) as running:
        result = CliRunner().invoke(app, ["send", *args, "--url", running.url + "/amo"])
    records = [json.loads(line) for line in saved.read_text().splitlines()]
    return result.exit_code, records, result.stderr


def _request_id(record: dict[str, object]) -> str:
    headers = record["headers"]
    assert isinstance(headers, list)
    return next(v for k, v in headers if k == "x-amocrm-requestid")


def test_repeat_gives_each_delivery_its_own_request_id_and_values(tmp_path: Path) -> None:
    code, records, _ = _received(tmp_path, "status", "--lead", "--seed", "4", "--repeat", "5")
    assert code == 0 and len(records) == 5
    assert len({_request_id(r) for r in records}) == 5
    bodies = {str(r["body"]) for r in records}
    assert len(bodies) == 5  # fresh values, as real traffic has
    for record in records:  # each a webhook as amoCRM sends it, its id its own
        assert [e["event"] for e in record["events"]] == ["status"]  # type: ignore[index]


def test_repeat_exact_sends_the_same_bytes(tmp_path: Path) -> None:
    code, records, _ = _received(
        tmp_path, "status", "--lead", "--seed", "4", "--repeat", "3", "--exact"
    )
    assert code == 0 and len(records) == 3
    assert len({_request_id(r) for r in records}) == 1
    assert len({str(r["body"]) for r in records}) == 1


@pytest.mark.parametrize("form", ["body", "curl", "json", "http"])
def test_send_body_fires_what_decode_reads_as_amocrms_bytes(tmp_path: Path, form: str) -> None:
    hook = amodp.generate("add", "leads", kind="account", seed=6)
    text = {
        "body": hook.body.decode(),
        "curl": hook.curl(),
        "json": json.dumps(hook.json, ensure_ascii=False),
        "http": hook.http().decode(),
    }[form]
    (tmp_path / "in.txt").write_text(text)
    code, [record], _ = _received(tmp_path, "--body", str(tmp_path / "in.txt"))
    assert code == 0
    # amoCRM's bytes (PHP-style encoding) and headers, a request id of its own.
    assert str(record["body"]).encode() == hook.body
    headers = dict(record["headers"])  # type: ignore[arg-type]
    assert headers["user-agent"] == "amoCRM-Webhooks/3.0"
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert _request_id(record) != hook.request_id
    assert record["decoded"] == hook.json


OLD, NEW = "o" * 64, "n" * 64


@pytest.mark.parametrize("form", ["json", "http"])
def test_send_body_fires_a_chat_hook_as_json_signed_again(tmp_path: Path, form: str) -> None:
    hook = callback("chat.message", seed=3, secret=OLD)
    text = hook.body if form == "json" else hook.http()
    (tmp_path / "in.txt").write_bytes(text + b"\n")
    code, [record], _ = _received(tmp_path, "--body", str(tmp_path / "in.txt"), "--secret", NEW)
    assert code == 0
    assert str(record["body"]).encode() == hook.body  # the JSON's bytes, as they stand
    headers = dict(record["headers"])  # type: ignore[arg-type]
    assert headers["content-type"] == "application/json"
    expected = hmac.new(NEW.encode(), hook.body, hashlib.sha1).hexdigest()
    assert headers["x-signature"] == expected
    assert record["events"][0]["event"] == "message"  # type: ignore[index]


def test_send_body_keeps_the_signature_it_holds_without_a_secret(tmp_path: Path) -> None:
    hook = callback("chat.message", seed=3, secret=OLD)
    (tmp_path / "in.http").write_bytes(hook.http())
    code, [record], _ = _received(tmp_path, "--body", str(tmp_path / "in.http"))
    assert code == 0 and str(record["body"]).encode() == hook.body
    assert dict(record["headers"])["x-signature"] == hook.header("x-signature")  # type: ignore[arg-type]
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "in.json").write_bytes(hook.body)
    code, [record], said = _received(
        tmp_path / "bare", "--body", str(tmp_path / "bare" / "in.json")
    )
    assert code == 0 and "x-signature" not in dict(record["headers"])  # type: ignore[arg-type]
    assert "chat.message carries no X-Signature: --secret (or AMODP_SECRET) signs it" in said


def test_send_body_fires_a_salesbot_call_with_its_token_signed_again(tmp_path: Path) -> None:
    import jwt

    hook = callback("salesbot.widget_request", seed=5, secret=OLD, now=1_700_000_000)
    (tmp_path / "in.json").write_bytes(hook.body)
    code, [record], _ = _received(tmp_path, "--body", str(tmp_path / "in.json"), "--secret", NEW)
    assert code == 0
    sent = json.loads(str(record["body"]))
    claims = jwt.decode(sent["token"], NEW, algorithms=["HS512"], options={"verify_aud": False})
    before = jwt.decode(hook.json["token"], options={"verify_signature": False})
    times = ("iat", "nbf", "exp")
    assert {k: v for k, v in claims.items() if k not in times} == {
        k: v for k, v in before.items() if k not in times
    }
    assert {**sent, "token": None} == {**hook.json, "token": None}


@pytest.mark.parametrize("form", ["http", "json"])
def test_send_body_fires_the_disable_hook_as_a_get_signed_again(tmp_path: Path, form: str) -> None:
    hook = callback("oauth.disabled", seed=2, secret=OLD)
    query = dict(parse_qs(urlsplit(hook.url).query))
    given = hook.http() if form == "http" else json.dumps({k: v[0] for k, v in query.items()})
    (tmp_path / "in.txt").write_bytes(given if isinstance(given, bytes) else given.encode())
    code, [record], _ = _received(tmp_path, "--body", str(tmp_path / "in.txt"), "--secret", NEW)
    assert code == 0
    assert record["method"] == "GET" and record["body"] == ""
    got = {k: v[0] for k, v in parse_qs(str(record["query"])).items()}
    message = f"{got['client_uuid']}|{got['account_id']}".encode()
    assert got["signature"] == hmac.new(NEW.encode(), message, hashlib.sha256).hexdigest()
    assert got["client_uuid"] == query["client_uuid"][0]


def test_send_body_of_no_webhook_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("a=1&b=2")
    result = CliRunner().invoke(
        app, ["send", "--body", str(tmp_path / "in.txt"), "--url", "http://127.0.0.1:9/"]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {tmp_path / 'in.txt'}: it holds no amoCRM webhook")


@pytest.mark.parametrize(
    ("platform", "reason"),
    [
        ("amocrm", "500: DP webhooks are not retried: this change is lost"),
        ("kommo", "500: amoCRM retries in 5 min"),
    ],
)
def test_send_judges_by_the_platform(platform: str, reason: str) -> None:
    with Background(Options(port=0, status=500), lambda *_: None) as running:
        result = CliRunner().invoke(
            app, ["send", "status", "--url", running.url, "--platform", platform, "--json"]
        )
    assert result.exit_code == 1
    assert json.loads(result.stdout)["reason"] == reason


def test_kommo_retries_dp_webhooks_on_its_ladder() -> None:
    # developers.kommo.com/docs/webhooks-dp: up to 4 retries within an hour.
    with Background(Options(port=0, status=500), lambda *_: None) as running:
        result = CliRunner().invoke(
            app,
            ["send", "status", "--url", running.url, "--platform", "kommo",
             "--retries", "amocrm", "--time-scale", "0.0002"],
        )  # fmt: skip
    attempts = [line for line in result.stderr.splitlines() if " attempt " in line]
    assert [line.split(" attempt ")[1].split(" ")[0] for line in attempts] == ["2", "3", "4", "5"]
    assert attempts[-1].endswith("500: amoCRM gives up: this change is lost")
