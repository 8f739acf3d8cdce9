"""``amodp check`` never blames, guesses or crashes: real receivers on 127.0.0.1.

A receiver that serves one request at a time (Flask with ``threaded=False``,
``php -S`` with no workers) and is slow on one event fails exactly that
event's cases; a Salesbot token is signed for the receiver it is sent to;
chat and Salesbot take their own secrets and URLs; DP webhooks are judged
by the platform's own rules (docs/delivery-rules.md); a failing case shows
what the receiver answered; a JUnit file goes where it is asked to.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest

from .receivers import broken
from .test_examples import (  # noqa: F401 - fixtures
    CHANNEL_SECRET,
    CLIENT_SECRET,
    callbacks_receiver,
)

AMODP = [sys.executable, "-m", "amodp"]
ENV = dict(os.environ, NO_COLOR="1")
SLOW_S = 2.2  # past amoCRM's 2 s


def check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AMODP, "check", *args], capture_output=True, text=True, timeout=240, env=env or ENV
    )


def event_of(body: bytes) -> str:
    """``entity.event`` of a urlencoded webhook body (its first non-account key)."""
    for pair in body.split(b"&"):
        parts = unquote_plus(pair.split(b"=", 1)[0].decode()).replace("]", "").split("[")
        if parts[0] != "account" and len(parts) > 1:
            return f"{parts[0]}.{parts[1]}"
    return ""


@contextmanager
def one_at_a_time(slow: str, failing: str) -> Iterator[str]:
    """A Flask receiver served with threaded=False: one request at a time,
    slow on the event ``slow``, 500 with a Python error page on ``failing``."""
    from flask import Flask, request
    from werkzeug.serving import make_server

    app = Flask("one_at_a_time")

    @app.post("/amo/hook")
    def hook() -> tuple[str, int]:
        event = event_of(request.get_data())
        if event == slow:
            time.sleep(SLOW_S)
        if event == failing:
            return "KeyError: 'status_id'", 500
        return "ok", 200

    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/amo/hook"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_single_worker_receiver_is_blamed_only_for_its_own_events(tmp_path: Path) -> None:
    with one_at_a_time(slow="leads.call_in", failing="customers.period") as url:
        done = check("--url", url, "--kind", "dp", "--seed", "5", "--json", "--concurrency", "8")
    assert done.returncode == 1, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    failed = {r["event"] for r in records if not r["ok"]}
    assert failed == {"leads.call_in", "customers.period"}
    for record in records:
        late = record["latency_ms"] >= 2000
        if record["event"] == "leads.call_in":
            # The time column and the reason agree: slow, and said to be.
            assert late and "amoCRM gives up after 2 s" in record["reason"], record
        elif record["event"] == "customers.period":
            assert record["status"] == 500 and record["response"] == "KeyError: 'status_id'"
        else:
            assert record["ok"] and not late, record
    # Innocent cases queued behind the slow ones were sent again, alone, and passed.
    assert any(r["alone"] and r["ok"] for r in records)
    assert (
        "Note: the receiver answered one request at a time: cases queued behind slow ones "
        "were re-sent alone (--concurrency 1 sends them so from the start)"
    ) in done.stderr.splitlines()
    # The table says what the receiver answered for a failing case.
    assert "(answered: KeyError: 'status_id')" in done.stderr


def test_concurrency_1_sends_one_at_a_time_from_the_start() -> None:
    with one_at_a_time(slow="leads.call_in", failing="") as url:
        done = check(
            "--url", url, "--kind", "dp", "--only", "leads.call_in[single]",
            "--only", "leads.status[single]", "--concurrency", "1", "--json",
        )  # fmt: skip
    records = {r["event"]: r for r in map(json.loads, done.stdout.splitlines())}
    assert records["leads.status"]["ok"] and not records["leads.status"]["alone"]
    assert not records["leads.call_in"]["ok"] and not records["leads.call_in"]["alone"]
    assert "one request at a time" not in done.stderr


def test_php_builtin_server_with_no_workers(tmp_path: Path) -> None:
    from .conftest import require_php

    require_php()
    script = tmp_path / "hook.php"
    script.write_text(
        "<?php\n"
        "if (isset($_POST['leads']['call_in'])) { usleep(2200000); }\n"
        "if (isset($_POST['customers']['period'])) { http_response_code(500); exit('boom'); }\n"
        "echo 'ok';\n"
    )
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        ["php", "-S", f"127.0.0.1:{port}", str(script)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k != "PHP_CLI_SERVER_WORKERS"},
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        done = check("--url", f"http://127.0.0.1:{port}/", "--kind", "dp", "--seed", "1", "--json")
    finally:
        server.terminate()
        server.wait(10)
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert {r["event"] for r in records if not r["ok"]} == {"leads.call_in", "customers.period"}


def test_chat_and_salesbot_take_their_own_secrets_and_urls(
    callbacks_receiver: tuple[Any, str],  # noqa: F811 - a fixture
) -> None:
    receiver, url = callbacks_receiver
    done = check(
        "--kind", "chat,salesbot", "--seed", "2",
        "--secret", f"chat={CHANNEL_SECRET}", "--secret", f"salesbot={CLIENT_SECRET}",
        "--url", f"chat={url}/amo/chat", "--url", f"salesbot={url}/amo/salesbot",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "11 cases: 11 passed, 0 failed" in done.stderr
    assert CHANNEL_SECRET not in done.stdout + done.stderr
    assert sorted(kind for kind, _ in receiver.RECEIVED) == ["chat"] * 4 + ["salesbot"]


@pytest.mark.parametrize(
    ("platform", "reason"),
    [
        ("amocrm", "500: DP webhooks are not retried: this change is lost"),
        ("kommo", "500: amoCRM retries in 5 min"),
    ],
)
def test_dp_rules_follow_the_platform(platform: str, reason: str) -> None:
    # amocrm.ru: DP webhooks are sent once; developers.kommo.com/docs/webhooks-dp:
    # up to 4 retries within an hour.
    with broken.serving({"leads.mail_in": "500"}) as receiver:
        done = check(
            "--url", receiver.url, "--kind", "dp", "--only", "leads.mail_in[single]",
            "--platform", platform, "--json",
        )  # fmt: skip
    [record] = map(json.loads, done.stdout.splitlines())
    assert (record["status"], record["reason"]) == (500, reason)


def test_junit_into_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    report = tmp_path / "reports" / "ci" / "amodp.xml"
    with broken.serving({}) as receiver:
        done = check(
            "--url", receiver.url, "--kind", "dp", "--only", "leads.status[single]",
            "--junit", str(report),
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert ET.parse(report).getroot().get("tests") == "1"


def test_junit_that_cannot_be_written_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with broken.serving({}) as receiver:
        done = check(
            "--url", receiver.url, "--kind", "dp", "--only", "leads.status[single]",
            "--junit", str(blocker / "amodp.xml"),
        )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith(f"Error: --junit: cannot write {blocker}")
    assert "Traceback" not in done.stderr


def test_list_of_a_callback_kind_needs_no_secret() -> None:
    done = check("--list", "--kind", "chat")
    assert (done.returncode, done.stderr) == (0, "")
    assert len(done.stdout.splitlines()) == 8  # 4 events: valid and wrongly signed
