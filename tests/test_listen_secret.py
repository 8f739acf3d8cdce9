"""``amodp listen --secret``: every record says whether its signature is
valid, ``--reject-invalid`` answers 401, and a Salesbot's continuation
(the POST to its ``return_url``) is recorded as such. Over real loopback
sockets; the signatures are made and checked with ``hmac`` and PyJWT."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import jwt

from amodp.callbacks import generate

from .servers import recording_server
from .test_wire import amodp, listening, records

SECRET = "k" * 64  # amoCRM's client secrets are 64 characters


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> int:
    """POST to 127.0.0.1:port; the status answered."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def chat_hook(secret: str) -> tuple[bytes, dict[str, str]]:
    """A Chats API hook, its X-Signature made with hmac here."""
    body = json.dumps({"account_id": "a1", "time": 1, "message": {"text": "hi"}}).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return body, {"Content-Type": "application/json", "X-Signature": signature}


def bot_hook(secret: str) -> tuple[bytes, dict[str, str]]:
    """A Salesbot widget_request, its token signed HS512 with PyJWT here."""
    now = int(time.time())
    claims = {"iat": now, "nbf": now, "exp": now + 600, "account_id": 1, "entity_id": 2}
    token = jwt.encode(claims, secret.encode(), algorithm="HS512")
    body = json.dumps({"token": token, "data": {}, "return_url": "https://x.amocrm.ru/"})
    return body.encode(), {"Content-Type": "application/json"}


FORM = b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=1&account%5Bid%5D=2"
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def test_each_record_says_whether_its_signature_is_valid(tmp_path: Path) -> None:
    save = tmp_path / "hooks.jsonl"
    good, good_headers = chat_hook(SECRET)
    forged, forged_headers = chat_hook("another secret")
    token_body, token_headers = bot_hook(SECRET)
    with listening("--secret", SECRET, "--json", "--save", str(save)) as running:
        assert post(running.port, "/chat", good, good_headers) == 200
        assert post(running.port, "/chat", forged, forged_headers) == 200
        assert post(running.port, "/bot", token_body, token_headers) == 200
        assert post(running.port, "/amo", FORM, FORM_HEADERS) == 200
        code, out, err = running.stop()
    assert code == 0, err
    saved = records(save)
    shown = [json.loads(line) for line in out.splitlines()]
    assert shown == saved
    assert [r["signature"] for r in saved] == ["valid", "invalid", "valid", "absent"]
    assert [r.get("signature_scheme") for r in saved] == ["chat", "chat", "salesbot", None]
    assert "signature_reason" not in saved[0]
    assert "X-Signature does not match" in saved[1]["signature_reason"]
    assert [r["status"] for r in saved] == [200, 200, 200, 200]
    assert "Checking signatures" in err
    for text in (out, err, save.read_text(encoding="utf-8")):
        assert SECRET not in text


def test_the_secret_from_the_environment_and_the_readable_displays(tmp_path: Path) -> None:
    good, good_headers = chat_hook(SECRET)
    forged, forged_headers = chat_hook("another secret")
    for mode in ("--lines", None):
        args = [mode] if mode else []
        with listening(*args, env={"AMODP_SECRET": SECRET}) as running:
            post(running.port, "/chat", good, good_headers)
            post(running.port, "/chat", forged, forged_headers)
            code, out, err = running.stop()
        assert code == 0, err
        assert "signature valid (chat)" in out
        assert "signature invalid (chat): X-Signature does not match the body" in out
        assert SECRET not in out + err
        if mode == "--lines":
            assert len(out.splitlines()) == 2


def test_without_a_secret_records_carry_no_signature(tmp_path: Path) -> None:
    save = tmp_path / "hooks.jsonl"
    good, good_headers = chat_hook(SECRET)
    with listening("--save", str(save)) as running:
        post(running.port, "/chat", good, good_headers)
        code, out, err = running.stop()
    assert code == 0, err
    [record] = records(save)
    assert not {"signature", "signature_scheme", "signature_reason"} & set(record)
    assert "signature" not in out


def test_reject_invalid_answers_401_and_saves_401(tmp_path: Path) -> None:
    save = tmp_path / "hooks.jsonl"
    good, good_headers = chat_hook(SECRET)
    forged, forged_headers = chat_hook("another secret")
    stale, stale_headers = bot_hook("o" * 64)  # signed with another secret
    with listening("--secret", SECRET, "--reject-invalid", "--save", str(save)) as running:
        assert post(running.port, "/chat", good, good_headers) == 200
        assert post(running.port, "/chat", forged, forged_headers) == 401
        assert post(running.port, "/bot", stale, stale_headers) == 401
        assert post(running.port, "/amo", FORM, FORM_HEADERS) == 200  # absent is not invalid
        code, out, err = running.stop()
    assert code == 0, err
    saved = records(save)
    assert [(r["signature"], r["status"]) for r in saved] == [
        ("valid", 200),
        ("invalid", 401),
        ("invalid", 401),
        ("absent", 200),
    ]
    assert "invalid ones are answered 401" in err
    assert "leads.status\t200\t1" in err


def test_reject_invalid_does_not_forward_what_it_rejects(tmp_path: Path) -> None:
    save = tmp_path / "hooks.jsonl"
    good, good_headers = chat_hook(SECRET)
    forged, forged_headers = chat_hook("another secret")
    with (
        recording_server(status=201) as app,
        listening(
            "--secret", SECRET, "--reject-invalid", "--forward-to", app.url, "--save", str(save)
        ) as running,
    ):
        assert post(running.port, "/chat", forged, forged_headers) == 401
        assert post(running.port, "/chat", good, good_headers) == 201
        code, out, err = running.stop()
    assert code == 0, err
    [got] = app.requests
    assert got.body == good
    forged_record, good_record = records(save)
    assert forged_record["status"] == 401 and "forward" not in forged_record
    assert good_record["status"] == 201 and good_record["forward"]["status"] == 201


def test_reject_invalid_needs_a_secret() -> None:
    done = amodp("listen", "--port", "0", "--reject-invalid")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "Error: --reject-invalid needs --secret (or AMODP_SECRET)\n"


# -- the Salesbot round trip ------------------------------------------------------------


@contextmanager
def salesbot_receiver(listener_url: str, sent: list[dict]) -> Iterator[int]:
    """A tiny widget_request receiver on 127.0.0.1: it checks the token with
    PyJWT, answers 200, then POSTs its result to the return_url, whose
    origin (``https://<subdomain>.amocrm.ru``) is replaced by the
    listener's URL. Yields its port."""
    target = urlsplit(listener_url)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            claims = jwt.decode(
                body["token"], SECRET.encode(), algorithms=["HS512"], options={"verify_aud": False}
            )
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            url = urlsplit(body["return_url"])
            back = urlunsplit((target.scheme, target.netloc, url.path, url.query, ""))
            result = {
                "data": {"status": "paid", "lead": claims["entity_id"]},
                "execute_handlers": [
                    {"handler": "show", "params": {"type": "text", "value": "Paid"}},
                    {"handler": "goto", "params": {"type": "question", "step": 2}},
                ],
            }
            sent.append({"url": back, "result": result})
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
            connection.request(
                "POST",
                urlsplit(back).path,
                body=json.dumps(result).encode(),
                headers={"Content-Type": "application/json", "Authorization": "Bearer t0ken"},
            )
            connection.getresponse().read()
            connection.close()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_salesbot_continuation_round_trip(tmp_path: Path) -> None:
    save = tmp_path / "hooks.jsonl"
    sent: list[dict] = []
    with listening("--save", str(save), "--expect", "1", "--timeout", "30") as running:
        with salesbot_receiver(running.url, sent) as port:
            hook = generate(
                "salesbot.widget_request",
                secret=SECRET,
                url=f"http://127.0.0.1:{port}/widget",
                now=time.time(),
            )
            return_url = urlsplit(hook.json["return_url"])
            assert return_url.netloc.endswith((".amocrm.ru", ".kommo.com"))
            parts = return_url.path.split("/")
            assert parts[:4] == ["", "api", "v4", "salesbot"] and parts[5] == "continue"
            bot_id, continue_id = parts[4], parts[6]
            assert post(port, "/widget", hook.body, dict(hook.headers)) == 200
            code, out, err = running.stop(sig=None)
    assert code == 0, err
    [record] = records(save)
    assert record["method"] == "POST"
    assert record["path"] == f"/api/v4/salesbot/{bot_id}/continue/{continue_id}"
    assert record["events"] == [
        {"kind": "salesbot", "entity": "salesbot", "event": "continue", "ids": [continue_id]}
    ]
    assert json.loads(record["body"]) == sent[0]["result"]
    assert ["authorization", "Bearer t0ken"] in record["headers"]
    summary = (
        f'salesbot continue {continue_id}: data {{"status":"paid","lead":'
        f"{sent[0]['result']['data']['lead']}}}; handlers show, goto"
    )
    assert summary in out.splitlines()
    assert f"POST /api/v4/salesbot/{bot_id}/continue/{continue_id}  200  salesbot.continue" in out
    assert "salesbot.continue\t200\t1" in err
