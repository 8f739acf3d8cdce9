"""``amodp verify``: requests signed here with hmac and PyJWT directly (never
with amodp's signer), in every form decode reads; exit codes and messages."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from typer.testing import CliRunner

from amodp import signing
from amodp.cli import app

CHANNEL_SECRET = "5a44c5dff55f3c15a4cce8d7c4cc27e207c7e189"
CLIENT_SECRET = "Xq3vT9sLk2mN8pR4wY6zB1cD5fG7hJ0aQeUiOtSrVbNmKlJhGfDsApOiUyTrEwQz"
CLIENT_UUID = "01d01160-d7a0-4087-b4af-6a1bb83fcd1d"

# The documentation's example of a chat message hook (chats/chat-webhooks), as bytes.
CHAT_BODY = (Path(__file__).parent / "fixtures" / "callbacks" / "chat.message.json").read_bytes()


def sha1(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def http(body: bytes, signature: str | None, path: str = "/amo/chat") -> bytes:
    head = [f"POST {path} HTTP/1.1", "Host: example.com", "Content-Type: application/json"]
    head.append(f"Content-Length: {len(body)}")
    if signature is not None:
        head.append(f"X-Signature: {signature}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def token(**claims: Any) -> str:
    at = int(time.time())
    payload = {"iss": "https://acme.amocrm.ru", "iat": at, "nbf": at, "exp": at + 600}
    payload.update(account_id=30307558, subdomain="acme", entity_type=2, entity_id=7)
    payload.update(claims)
    return jwt.encode(payload, CLIENT_SECRET, algorithm="HS512")


def salesbot(tok: str) -> bytes:
    return json.dumps(
        {
            "token": tok,
            "data": {"lead": "7"},
            "return_url": "https://acme.amocrm.ru/api/v4/salesbot/1/continue/2",
        }
    ).encode()


def disabled(secret: str = CLIENT_SECRET, account: str = "32720107") -> str:
    signature = hmac.new(
        secret.encode(), f"{CLIENT_UUID}|{account}".encode(), hashlib.sha256
    ).hexdigest()
    return f"client_uuid={CLIENT_UUID}&account_id={account}&signature={signature}"


def run(data: bytes | str, *args: str, secret: str | None = CHANNEL_SECRET) -> Any:
    env = {"AMODP_SECRET": None}
    options = ["--secret", secret] if secret is not None else []
    return CliRunner().invoke(app, ["verify", *options, *args], input=data, env=env)  # type: ignore[arg-type]


# -- Chats API hooks: X-Signature ------------------------------------------------------


def test_a_valid_chat_hook() -> None:
    result = run(http(CHAT_BODY, sha1(CHANNEL_SECRET, CHAT_BODY)))
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "chat.message: valid (X-Signature, HMAC-SHA1)\n"


@pytest.mark.parametrize(
    ("body", "signature", "why"),
    [
        (CHAT_BODY, sha1("another secret", CHAT_BODY), "signed with another secret"),
        (CHAT_BODY.replace(b"1639572261", b"1639572262"), sha1(CHANNEL_SECRET, CHAT_BODY),
         "the body changed after signing"),
        (json.dumps(json.loads(CHAT_BODY)).encode(), sha1(CHANNEL_SECRET, CHAT_BODY),
         "re-encoded JSON changes the bytes"),
        (CHAT_BODY, sha1(CHANNEL_SECRET, CHAT_BODY).upper(), "only ignoring case"),
    ],
)  # fmt: skip
def test_a_chat_hook_that_is_not_valid_says_why(body: bytes, signature: str, why: str) -> None:
    result = run(http(body, signature))
    assert result.exit_code == 1
    assert result.stderr.startswith("chat.message: invalid (X-Signature, HMAC-SHA1): ")
    assert why in result.stderr and result.stderr.count("\n") == 1
    assert CHANNEL_SECRET not in result.stderr + result.stdout


def test_a_chat_hook_as_curl_and_as_a_capture_record() -> None:
    signature = sha1(CHANNEL_SECRET, CHAT_BODY)
    quoted = CHAT_BODY.decode().replace("'", "'\\''")
    curl = (
        "curl -X POST 'https://example.com/amo/chat' -H 'Content-Type: application/json' "
        f"-H 'X-Signature: {signature}' --data-binary '{quoted}'"
    )
    assert run(curl).exit_code == 0
    record = {
        "received_at": "2026-11-25T13:30:34.896120Z",
        "remote": "127.0.0.1:50000",
        "method": "POST",
        "path": "/amo/chat",
        "query": "",
        "headers": [["content-type", "application/json"], ["x-signature", signature]],
        "body": CHAT_BODY.decode(),
        "decoded": None,
        "events": [],
        "status": 200,
    }
    line = json.dumps(record, ensure_ascii=False) + "\n"
    assert run(line).exit_code == 0
    bad = dict(record, headers=[["x-signature", sha1("other", CHAT_BODY)]])
    both = run(line + json.dumps(bad) + "\n", "--json")
    assert both.exit_code == 1
    assert both.stderr.splitlines() == [
        "record 1 POST /amo/chat: chat.message: valid (X-Signature, HMAC-SHA1)",
        "record 2 POST /amo/chat: chat.message: invalid (X-Signature, HMAC-SHA1): "
        "X-Signature does not match the body: signed with another secret, or the body "
        "changed after signing (re-encoded JSON changes the bytes)",
    ]
    rows = [json.loads(line) for line in both.stdout.splitlines()]
    assert [(r["input"], r["event"], r["scheme"], r["status"]) for r in rows] == [
        ("record 1 POST /amo/chat", "chat.message", "chat", "valid"),
        ("record 2 POST /amo/chat", "chat.message", "chat", "invalid"),
    ]
    assert rows[0]["where"] == "X-Signature" and rows[0]["algorithm"] == "HMAC-SHA1"
    only = run(line + json.dumps(bad) + "\n", "--index", "2")
    assert only.exit_code == 1 and only.stderr.startswith("chat.message: invalid")
    # A record as the listener keeps it verifies through the library too.
    assert signing.verify(record, CHANNEL_SECRET).ok
    assert not signing.verify(bad, CHANNEL_SECRET).ok


def test_a_bare_chat_body_has_nothing_to_verify() -> None:
    result = run(CHAT_BODY)
    assert result.exit_code == 2
    assert result.stderr.startswith("chat.message: absent: ")
    assert "give the whole request" in result.stderr


# -- Salesbot: the token ----------------------------------------------------------------


def test_a_valid_salesbot_token_in_a_bare_body_and_a_request() -> None:
    body = salesbot(token())
    for data in (body, http(body, None, "/salesbot")):
        result = run(data, secret=CLIENT_SECRET)
        assert result.exit_code == 0, result.stderr
        assert result.stderr == "salesbot.widget_request: valid (token, JWT HS512)\n"


@pytest.mark.parametrize(
    ("tok", "why"),
    [
        (token(exp=int(time.time()) - 60), "the token has expired"),
        (token(nbf=int(time.time()) + 3600, iat=int(time.time())), "not valid yet"),
        (jwt.encode({"exp": int(time.time()) + 60}, "x" * 64, algorithm="HS512"), "another secret"),
    ],
)
def test_a_salesbot_token_that_is_not_valid_says_why(tok: str, why: str) -> None:
    result = run(salesbot(tok), secret=CLIENT_SECRET)
    assert result.exit_code == 1
    assert result.stderr.startswith("salesbot.widget_request: invalid (token, JWT HS512): ")
    assert why in result.stderr


def test_now_checks_a_token_as_of_another_moment() -> None:
    at = int(time.time()) - 7200
    old = salesbot(token(iat=at, nbf=at, exp=at + 1800))
    assert run(old, secret=CLIENT_SECRET).exit_code == 1
    assert run(old, "--now", str(at + 60), secret=CLIENT_SECRET).exit_code == 0
    late = run(old, "--now", str(at + 1900), secret=CLIENT_SECRET)
    assert late.exit_code == 1 and "expired" in late.stderr
    assert run(old, "--now", str(at + 1900), "--leeway", "200", secret=CLIENT_SECRET).exit_code == 0


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_now_on_a_token_whose_time_is_not_a_number_is_a_verdict(claim: str) -> None:
    at = int(time.time())
    body = salesbot(token(**{claim: "soon"}))
    for args in ((), ("--now", str(at + 60))):
        result = run(body, *args, secret=CLIENT_SECRET)
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == (
            "salesbot.widget_request: invalid (token, JWT HS512): "
            f"the token is invalid: {claim} is not a number\n"
        )


# -- the disable hook: the signature parameter ------------------------------------------


def test_the_disable_hook() -> None:
    for data in (f"GET /amo/off?{disabled()} HTTP/1.1\r\nHost: example.com\r\n\r\n", disabled()):
        result = run(data, secret=CLIENT_SECRET)
        assert (result.exit_code, result.stderr) == (
            0,
            "oauth.disabled: valid (signature, HMAC-SHA256)\n",
        )
    curl = f"curl -X GET 'https://example.com/amo/off?{disabled()}'"
    assert run(curl, secret=CLIENT_SECRET).exit_code == 0
    wrong = run(disabled(secret="y" * 64), secret=CLIENT_SECRET)
    assert wrong.exit_code == 1 and "does not match client_uuid|account_id" in wrong.stderr
    other = run(disabled(), "--client-uuid", "another", secret=CLIENT_SECRET)
    assert other.exit_code == 1 and "names another integration" in other.stderr


# -- several, nothing, bad input --------------------------------------------------------


def test_an_http_file_with_several_requests() -> None:
    good = http(CHAT_BODY, sha1(CLIENT_SECRET, CHAT_BODY))
    data = b"### one\n" + good + b"\n### two\n" + f"GET /?{disabled()} HTTP/1.1\r\n\r\n".encode()
    result = run(data, secret=CLIENT_SECRET)
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "request 1: chat.message: valid (X-Signature, HMAC-SHA1)",
        "request 2: oauth.disabled: valid (signature, HMAC-SHA256)",
    ]


def test_an_unsigned_webhook_has_nothing_to_verify() -> None:
    body = b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=1&account%5Bid%5D=2"
    result = run(body)
    assert result.exit_code == 2
    assert result.stderr.startswith("leads.status: absent: no signature")


@pytest.mark.parametrize(
    ("data", "args", "error"),
    [
        (b"", [], "Error: stdin: empty input\n"),
        (b"\x00\x01binary", [], "Error: stdin is not text (binary data)\n"),
        (CHAT_BODY, ["--index", "1"], "Error: stdin: it is not a capture file"),
        (CHAT_BODY, ["/no/such/file"], "Error: /no/such/file: no such file\n"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(data: bytes, args: list[str], error: str) -> None:
    result = run(data, *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(error) and result.stderr.count("\n") == 1


def test_the_secret_is_required_and_read_from_the_environment() -> None:
    data = http(CHAT_BODY, sha1(CHANNEL_SECRET, CHAT_BODY))
    missing = run(data, secret=None)
    assert (missing.exit_code, missing.stderr) == (
        2,
        "Error: --secret: give the secret with --secret or in AMODP_SECRET\n",
    )
    env = {"AMODP_SECRET": CHANNEL_SECRET}
    result = CliRunner().invoke(app, ["verify", "-"], input=data, env=env)
    assert result.exit_code == 0
    wrong = CliRunner().invoke(app, ["verify"], input=data, env={"AMODP_SECRET": "nope"})
    assert wrong.exit_code == 1 and "nope" not in wrong.stderr


def test_what_generate_prints_verifies(tmp_path: Any) -> None:
    # amodp's own output in each form verify reads, checked against hmac above.
    for fmt in ("http", "curl"):
        made = CliRunner().invoke(
            app,
            ["generate", "message", "--kind", "chat", "--seed", "1", "-f", fmt],
            env={"AMODP_SECRET": CHANNEL_SECRET},
        )
        path = tmp_path / f"hook.{fmt}"
        path.write_bytes(made.stdout_bytes)
        assert run(b"", str(path)).exit_code == 0
        assert run(b"", str(path), secret=CLIENT_SECRET).exit_code == 1


def test_what_the_listener_saved_verifies(tmp_path: Any) -> None:
    """``amodp listen --save``, ``amodp send`` and ``amodp verify``: real processes."""
    import os
    import re
    import subprocess
    import sys

    amodp = [sys.executable, "-m", "amodp"]
    saved = tmp_path / "hooks.jsonl"
    listen = [*amodp, "listen", "--port", "0", "--save", str(saved), "-q"]
    with subprocess.Popen(
        [*listen, "--expect", "5", "--timeout", "60"], stderr=subprocess.PIPE, text=True
    ) as listener:
        assert listener.stderr is not None
        line = listener.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line
        env = dict(os.environ, AMODP_SECRET=CHANNEL_SECRET)
        for args in (["--all", "--kind", "chat"], ["message", "--kind", "chat", "--bad-signature"]):
            sent = subprocess.run(
                [*amodp, "send", *args, "--url", url[0] + "/amo/chat"],
                env=env,
                capture_output=True,
                timeout=60,
            )
            assert sent.returncode == 0, sent.stderr
        assert listener.wait(60) == 0
    checked = subprocess.run(
        [*amodp, "verify", str(saved), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 1
    rows = [json.loads(line) for line in checked.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["valid"] * 4 + ["invalid"]
    assert {r["event"] for r in rows} == {
        "chat.message", "chat.typing", "chat.reaction", "chat.comment_reply"
    }  # fmt: skip
    assert checked.stderr.splitlines()[-1].startswith(
        "record 5 POST /amo/chat: chat.message: invalid"
    )
    first = subprocess.run(
        [*amodp, "verify", str(saved), "--index", "1"], env=env, capture_output=True, timeout=60
    )
    assert first.returncode == 0
