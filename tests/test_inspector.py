"""The inspector's JSON API, over real loopback sockets: ``amodp inspect`` of
saved captures and ``amodp listen --ui`` live, the token and origin checks,
replays (byte for byte, and edited and signed again), compare and exports.
The page itself is tested in a browser by test_inspector_browser.py."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import amodp
from amodp.callbacks import generate as callback
from amodp.cli import app
from amodp.inspector import Inspector, Store, differences
from amodp.records import record_bytes

from .conftest import require_tools
from .servers import recording_server

AMODP = [sys.executable, "-m", "amodp"]
SECRET = "s" * 64
INSPECTOR = re.compile(r"Inspector: (http://127\.0\.0\.1:(\d+))/\?token=([\w-]+)\n")


# -- helpers ------------------------------------------------------------------------------


def sample_records() -> list[dict[str, Any]]:
    """Three records as ``listen --save`` writes them: a DP status change, a
    signed Chats API hook, and a form whose value holds markup."""
    status = amodp.generate("status", "leads", seed=7, url="http://127.0.0.1:9/amo/hook")
    chat = callback("chat.message", seed=3, secret=SECRET, url="http://127.0.0.1:9/chat")
    html = amodp.encode(
        {"leads": {"add": [{"id": "77", "name": "<img src=x onerror=alert(1)>"}]}}
    ).encode()
    marked = amodp.Request.received(
        "POST",
        [("Host", "127.0.0.1:9"), ("Content-Type", "application/x-www-form-urlencoded")],
        "",
        html,
        "/amo/hook",
    )
    return [
        status.record(status=200, received_at="2026-11-25T13:30:34.896120Z"),
        chat.record(status=200, received_at="2026-11-25T13:30:35.000001Z"),
        marked.record(status=500, received_at="2026-11-25T13:30:36.000001Z"),
    ]


def capture_file(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(record_bytes(r) for r in records))
    return path


@contextmanager
def inspector(
    records: list[dict[str, Any]] | None = None, **options: Any
) -> Iterator[tuple[Inspector, httpx.Client]]:
    """An inspector over ``records`` on a free loopback port, and a client
    that carries its token."""
    store = Store(secret=options.pop("secret", None))
    for record in records or []:
        store.add(record_bytes(record))
    with Inspector(store, **options) as running:
        base = f"http://127.0.0.1:{running.port}"
        headers = {"X-Amodp-Token": running.token}
        with httpx.Client(base_url=base, headers=headers, timeout=15) as client:
            yield running, client


@dataclass
class Started:
    proc: subprocess.Popen[bytes]
    base: str
    token: str
    said: str  # stderr up to the Inspector line

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"X-Amodp-Token": self.token}, timeout=15)


@contextmanager
def started(*args: str, stdin: bytes | None = None) -> Iterator[Started]:
    """``amodp ARGS`` in a subprocess (``stdin`` piped in), once it printed
    its Inspector line; killed at the end."""
    given: int = subprocess.DEVNULL
    if stdin is not None:  # a pipe, as a shell's: it fits in the pipe's buffer
        assert len(stdin) < 60_000
        given, end = os.pipe()
        os.write(end, stdin)
        os.close(end)
    proc = subprocess.Popen(
        [*AMODP, *args],
        stdin=given,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ, NO_COLOR="1"),
        bufsize=0,
    )
    if stdin is not None:
        os.close(given)
    assert proc.stderr is not None
    said = ""
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stderr.readline().decode()
            if not line:
                break
            said += line
            found = INSPECTOR.search(said)
            if found:
                yield Started(proc, found[1], found[3], said)
                return
        raise AssertionError(f"no Inspector line: {said!r}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> tuple[int, float, str]:
    """Send ``sig``; (exit code, seconds it took to exit, the rest of stderr)."""
    began = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=20)
    return proc.returncode, time.monotonic() - began, err.decode()


def decode_output(path: Path, index: int) -> str:
    result = CliRunner().invoke(app, ["decode", str(path), "--index", str(index)])
    assert result.exit_code == 0, result.output
    return result.stdout


# -- the store ---------------------------------------------------------------------------


def test_the_store_keeps_the_newest_and_numbers_them_in_order() -> None:
    from amodp.inspection import CHUNK

    store = Store(limit=CHUNK)
    records = [amodp.generate("status", "leads", seed=i).record(status=200) for i in range(3)]
    lines = [record_bytes(r) for r in records]
    for i in range(4 * CHUNK):
        store.keep(records[i % 3], lines[i % 3], True)
    assert store.newest == 4 * CHUNK
    assert CHUNK <= len(store) <= 2 * CHUNK  # the newest limit, and at most a buffer more
    assert store.get(store.newest - len(store)) is None
    oldest = store.newest - len(store) + 1
    assert store.get(oldest) is not None
    assert [s["id"] for _, s in store.since(store.newest - 2)] == [store.newest - 1, store.newest]
    line, summary = store.get(store.newest)  # type: ignore[misc]
    assert line == lines[(4 * CHUNK - 1) % 3]
    assert summary["events"] == ["leads.status"] and summary["answered_at"]
    replayed = store.add(lines[0], replay_of=store.newest)
    assert store.get(replayed)[1]["replay_of"] == replayed - 1  # type: ignore[index]


def test_the_store_keeps_arriving_records_within_a_byte_budget() -> None:
    """However big the requests, the buffers kept hold about ``budget`` bytes."""
    from amodp.inspection import CHUNK_BYTES

    store = Store(limit=1_000_000, budget=2 * CHUNK_BYTES)
    big = amodp.generate("status", "leads", seed=1).record(status=200)
    big["body"] = "x" * 100_000
    line = record_bytes(big)
    for _ in range(400):  # 40 MB in all
        store.keep(big, line, True)
    kept = sum(len(c.data) for c in store.chunks)  # type: ignore[union-attr]
    assert kept <= 3 * CHUNK_BYTES + len(line), kept
    assert store.newest == 400 and 0 < len(store) < 400
    newest = [s["id"] for _, s in store.newest_first()]
    assert newest == list(range(400, 400 - len(store), -1))
    assert store.get(1) is None and store.get(400)[0] == line  # type: ignore[index]


def test_the_store_reads_capture_files_where_they_lie(tmp_path: Path) -> None:
    """A capture file is indexed, not held: each record is read from the file
    when asked for. A pipe is copied to a private file first; anything else
    decode reads becomes records in one. Ids follow the files' order."""
    import io

    from amodp.inspection import keep_files

    records = sample_records()
    saved = capture_file(tmp_path / "hooks.jsonl", records)
    by_hand = {k: v for k, v in records[0].items() if k != "events"}  # no "events" listed
    (tmp_path / "by_hand.jsonl").write_bytes(b"\n\n" + record_bytes(by_hand))
    raw = tmp_path / "body.txt"
    raw.write_bytes(amodp.generate("add", "contacts", kind="account", seed=2).body)
    piped = io.BytesIO(record_bytes(records[1]))
    store = Store()
    with open(saved, "rb") as a, open(tmp_path / "by_hand.jsonl", "rb") as b, open(raw, "rb") as c:
        keep_files(store, [("hooks", a), ("by hand", b), ("body", c), ("-", piped)])
        assert len(store) == 6 and store.newest == 6
        assert not any(hasattr(chunk, "data") for chunk in store.chunks)  # nothing in memory
        assert [store.line(n) for n in (1, 2, 3)] == [record_bytes(r) for r in records]
        assert store.get(4)[1]["events"] == ["leads.status"]  # type: ignore[index]
        assert store.get(5)[1]["events"] == ["contacts.add"]  # type: ignore[index]
        assert store.line(6) == record_bytes(records[1])
        assert [s["id"] for _, s in store.newest_first()] == [6, 5, 4, 3, 2, 1]
        replayed = store.add(record_bytes(records[0]), replay_of=1)
        assert replayed == 7 and store.get(7)[1]["replay_of"] == 1  # type: ignore[index]
        saved.write_bytes(b"")  # the file changed under the inspector
        assert store.get(1) is None
        assert [s["id"] for _, s in store.newest_first()] == [7, 6, 5, 4]
    store.close()


def test_a_bad_line_of_a_capture_file_names_the_file_and_the_line(tmp_path: Path) -> None:
    saved = tmp_path / "hooks.jsonl"
    saved.write_bytes(record_bytes(sample_records()[0]) + b"\n{not a record}\n")
    result = CliRunner().invoke(app, ["inspect", str(saved)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {saved}: line 3 is not a capture record")


def test_differences_by_path() -> None:
    a = {"leads": {"status": [{"id": "1", "status_id": "142"}]}, "account": {"id": "9"}}
    b = {"leads": {"status": [{"id": "1", "status_id": "143", "x": ["a"]}]}}
    assert differences(a, b) == [
        {"path": "leads[status][0][status_id]", "change": "changed", "from": "142", "to": "143"},
        {"path": "leads[status][0][x][0]", "change": "added", "to": "a"},
        {"path": "account[id]", "change": "removed", "from": "9"},
    ]
    assert differences(a, a) == []


# -- amodp inspect -----------------------------------------------------------------------


def test_inspect_serves_a_capture_file_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    saved = capture_file(tmp_path / "hooks.jsonl", sample_records())
    with started("inspect", str(saved)) as running:
        assert "3 requests from" in running.said
        with running.client() as client:
            listed = client.get("/api/records").json()
            assert [r["id"] for r in listed["records"]] == [3, 2, 1]
            first = listed["records"][2]
            assert first["events"] == ["leads.status"] and first["ids"] == ["66978001"]
            assert first["method"] == "POST" and first["path"] == "/amo/hook"
            assert first["status"] == 200 and first["size"] == 302
            assert listed["records"][1]["events"] == ["chat.message"]
        code, seconds, err = stop(running.proc)
    assert code == 0, err
    assert seconds < 2
    assert "Traceback" not in err


def test_inspect_reads_what_decode_reads(tmp_path: Path) -> None:
    """A raw body and an HTTP request are requests too."""
    raw = tmp_path / "body.txt"
    raw.write_bytes(amodp.generate("status", "leads", seed=1).body)
    http = tmp_path / "request.http"
    http.write_bytes(amodp.generate("add", "contacts", kind="account", seed=2).http())
    with started("inspect", str(raw), str(http)) as running:
        with running.client() as client:
            listed = client.get("/api/records").json()["records"]
            assert [r["events"] for r in listed] == [["contacts.add"], ["leads.status"]]
            assert listed[0]["status"] is None  # never answered: read from a file
            shown = client.get("/api/records/2").json()
            assert shown["record"]["path"] == "/"
            assert shown["decoded"]["contacts"]["add"][0]["id"]
        code, _, err = stop(running.proc)
    assert code == 0, err


def test_inspect_reads_a_capture_piped_in(tmp_path: Path) -> None:
    records = sample_records()
    piped = b"".join(record_bytes(r) for r in records)
    with started("inspect", "-", stdin=piped) as running:
        assert "3 requests from -" in running.said
        with running.client() as client:
            assert [r["id"] for r in client.get("/api/records").json()["records"]] == [3, 2, 1]
            shown = client.get("/api/records/2").json()
            assert shown["record"]["body"] == records[1]["body"]
        code, _, err = stop(running.proc)
    assert code == 0, err


def test_inspect_without_a_file_on_a_terminal_or_with_a_bad_one_is_an_error(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("just words\n")
    result = CliRunner().invoke(app, ["inspect", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {bad}: ")


@pytest.mark.parametrize(
    "args",
    [("inspect", "--host", "0.0.0.0"), ("listen", "--port", "0", "--ui", "--ui-host", "0.0.0.0")],
)
def test_the_inspector_on_another_address_says_so_and_still_wants_the_token(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    """Asked for all addresses, the inspector warns, and loopback still
    needs the token (the test's traffic stays on 127.0.0.1)."""
    saved = capture_file(tmp_path / "hooks.jsonl", sample_records())
    with started(*args, *([str(saved)] if args[0] == "inspect" else [])) as running:
        assert "Warning: " in running.said and "not a loopback address" in running.said
        assert httpx.get(running.base + "/api/records", timeout=10).status_code == 403
        with running.client() as client:
            assert client.get("/api/records").status_code == 200
        code, _, err = stop(running.proc)
    assert code == 0, err


def test_ui_options_without_ui_are_an_error() -> None:
    result = CliRunner().invoke(app, ["listen", "--port", "0", "--ui-host", "0.0.0.0"])
    assert result.exit_code == 2
    assert result.stderr == "Error: --ui-host and --ui-port need --ui\n"


# -- the token, the host and the origin -----------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/", "/inspector.js", "/inspector.css", "/api/records", "/api/records/1", "/api/stream",
     "/api/diff?a=1&b=2", "/api/records/1/export?as=curl", "/nothing"],
)  # fmt: skip
def test_every_request_without_the_token_is_refused(path: str) -> None:
    with inspector(sample_records()) as (running, client):
        base = str(client.base_url).rstrip("/")
        bare = httpx.get(base + path, timeout=10)
        assert bare.status_code == 403
        assert "token" in bare.json()["error"]
        sep = "&" if "?" in path else "?"
        wrong = httpx.get(f"{base}{path}{sep}token=x{running.token}", timeout=10)
        assert wrong.status_code == 403
        posted = httpx.post(base + "/api/records/1/replay", json={}, timeout=10)
        assert posted.status_code == 403


def test_the_token_in_the_query_a_header_or_the_cookie_the_page_sets() -> None:
    with inspector(sample_records()) as (running, client):
        base = str(client.base_url).rstrip("/")
        page = httpx.get(f"{base}/?token={running.token}", timeout=10)
        assert page.status_code == 200
        cookie = page.headers["set-cookie"]
        assert f"amodp_inspector_{running.port}={running.token}" in cookie
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        for headers in (
            {"Authorization": f"Bearer {running.token}"},
            {"X-Amodp-Token": running.token},
            {"Cookie": f"amodp_inspector_{running.port}={running.token}"},
        ):
            assert httpx.get(base + "/api/records", headers=headers).status_code == 200
        # another inspector's cookie (another port) is not this one's
        other = {"Cookie": f"amodp_inspector_1={running.token}"}
        assert httpx.get(base + "/api/records", headers=other).status_code == 403
        # a page of another site, holding the cookie, cannot use it
        cross = {
            "Cookie": f"amodp_inspector_{running.port}={running.token}",
            "Sec-Fetch-Site": "same-site",
        }
        assert httpx.get(base + "/api/records", headers=cross).status_code == 403


def test_a_post_from_another_origin_or_to_another_host_is_refused() -> None:
    with recording_server() as target, inspector(sample_records()) as (running, client):
        evil = client.post(
            "/api/records/1/replay", json={"url": target.url}, headers={"Origin": "http://evil"}
        )
        assert evil.status_code == 403 and "origin" in evil.json()["error"]
        other_port = client.post(
            "/api/records/1/replay",
            json={"url": target.url},
            headers={"Origin": "http://127.0.0.1:1"},
        )
        assert other_port.status_code == 403
        assert target.requests == []
        rebound = client.get("/api/records", headers={"Host": f"evil.example:{running.port}"})
        assert rebound.status_code == 403 and "host" in rebound.json()["error"]
        own = client.post(
            "/api/records/1/replay",
            json={"url": target.url + "/x"},
            headers={"Origin": f"http://127.0.0.1:{running.port}"},
        )
        assert own.status_code == 200, own.text
        assert len(target.requests) == 1


def test_the_page_is_served_with_a_policy_that_forbids_inline_script() -> None:
    with inspector() as (running, client):
        page = client.get("/")
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "default-src 'none'" in policy
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
        html = page.text
        assert '<script src="/inspector.js"' in html
        assert re.search(r"<script>", html) is None and "<style>" not in html
        script = client.get("/inspector.js")
        assert script.headers["content-type"].startswith("text/javascript")
        assert "innerHTML" not in script.text and "insertAdjacentHTML" not in script.text
        assert "http://" not in script.text and "https://" not in script.text  # offline
        assert client.get("/inspector.css").headers["content-type"].startswith("text/css")


# -- detail, filters, compare -------------------------------------------------------------


def test_a_detail_holds_the_body_as_decode_prints_it(tmp_path: Path) -> None:
    records = sample_records()
    saved = capture_file(tmp_path / "hooks.jsonl", records)
    with inspector(records, secret=SECRET) as (_, client):
        for number in (1, 2, 3):
            shown = client.get(f"/api/records/{number}").json()
            assert shown["decoded_text"] + "\n" == decode_output(saved, number)
        status = client.get("/api/records/1").json()
        assert status["summary_lines"] == [
            "leads.status (dp)  lead 66978001: stage 22634870 -> 142 (pipeline 9990608)  "
            "account teplodomcrm (53464097)"
        ]
        assert status["decoded_is_json"] is False
        assert status["answer"]["status"] == 200
        assert status["signature"]["status"] == "absent"
        chat = client.get("/api/records/2").json()
        assert chat["decoded_is_json"] is True
        assert chat["signature"] == {
            "status": "valid",
            "scheme": "chat",
            "reason": "X-Signature is the HMAC-SHA1 of the body",
        }
        assert SECRET not in json.dumps(chat)


def test_a_detail_carries_the_warnings_of_the_codec() -> None:
    body = "&".join(f"v{i}=1" for i in range(1001)).encode() + b"&bad=%zz"
    request = amodp.Request.received(
        "POST", [("Content-Type", "application/x-www-form-urlencoded")], "", body, "/"
    )
    with inspector([request.record(status=200)]) as (_, client):
        warnings = client.get("/api/records/1").json()["warnings"]
    assert any("max_input_vars" in w for w in warnings)
    assert any("invalid % escapes" in w for w in warnings)


def test_the_list_filters_by_event_id_status_and_text() -> None:
    with inspector(sample_records()) as (_, client):

        def ids(**params: str) -> list[int]:
            return [r["id"] for r in client.get("/api/records", params=params).json()["records"]]

        assert ids(event="status") == [1]
        assert ids(event="leads.status") == [1]
        assert ids(event="chat.message") == [2]
        assert ids(id="66978001") == [1]
        assert ids(id="77") == [3]
        assert ids(status="500") == [3]
        assert ids(status="2xx") == [2, 1]
        assert ids(q="TEPLODOM") == [1]  # any case, a value of the decoded body
        assert ids(q="onerror") == [3]
        assert ids(q="old_status_id") == [1]  # a key
        assert ids(q="nowhere at all") == []
        assert ids(limit="1") == [3]
        assert ids(before="3") == [2, 1]


def test_compare_two_records() -> None:
    a = amodp.generate("status", "leads", seed=7, overrides=[("status_id", "142")])
    b = amodp.generate("status", "leads", seed=7, overrides=[("status_id", "143")])
    records = [a.record(status=200), b.record(status=200)]
    with inspector(records) as (_, client):
        diff = client.get("/api/diff", params={"a": 1, "b": 2}).json()
        assert diff["changes"] == [
            {
                "path": "leads[status][0][status_id]",
                "change": "changed",
                "from": "142",
                "to": "143",
            }
        ]
        assert client.get("/api/diff", params={"a": 1, "b": 99}).status_code == 404


# -- replay --------------------------------------------------------------------------------


def test_replay_sends_the_same_bytes_and_lists_it_as_a_new_request() -> None:
    records = sample_records()
    with recording_server() as target, inspector(records) as (_, client):
        done = client.post("/api/records/1/replay", json={"url": target.url + "/hook"})
        assert done.status_code == 200, done.text
        answer = done.json()
        assert answer["delivery"]["status"] == 200
        assert answer["verdict"] == {"ok": True, "reason": answer["delivery"]["reason"]}
        assert answer["id"] == 4 and answer["replay_of"] == 1
        (got,) = target.requests
        assert got.body == amodp.generate("status", "leads", seed=7).body
        assert got.path == "/hook"
        sent_headers = {k.lower(): v for k, v in got.headers}
        assert sent_headers["x-amocrm-requestid"] == "f29d0da9-953f-48f1-a09f-76b5a170b338"
        listed = client.get("/api/records").json()["records"][0]
        assert listed["id"] == 4 and listed["replay_of"] == 1 and listed["status"] == 200
        record = client.get("/api/records/4").json()["record"]
        assert record["remote"] == ""  # made here, not received from anyone
        assert record["forward"]["url"] == target.url + "/hook"


def test_replay_goes_to_the_forward_target_by_default() -> None:
    with (
        recording_server() as target,
        inspector(sample_records(), target=target.url) as (
            _,
            client,
        ),
    ):
        shown = client.get("/api/records/1").json()
        assert shown["replay_target"] == target.url + "/amo/hook"
        assert client.post("/api/records/1/replay", json={}).json()["delivery"]["status"] == 200
        assert target.requests[0].path == "/amo/hook"


def test_replay_without_a_target_or_to_nothing_says_why() -> None:
    with inspector(sample_records()) as (_, client):
        none = client.post("/api/records/1/replay", json={})
        assert none.status_code == 400 and "URL" in none.json()["error"]
        bad = client.post("/api/records/1/replay", json={"url": "ftp://x"})
        assert bad.status_code == 400
        refused = client.post("/api/records/1/replay", json={"url": "http://127.0.0.1:9/"})
        delivery = refused.json()["delivery"]
        assert delivery["status"] is None and delivery["error"].startswith("refused")
        assert refused.json()["verdict"]["ok"] is False
        assert client.post("/api/records/1/replay", content=b"{").status_code == 400


def test_edit_and_replay_encodes_the_form_as_amocrm_does() -> None:
    with recording_server() as target, inspector(sample_records()) as (_, client):
        data = client.get("/api/records/1").json()["decoded"]
        data["leads"]["status"][0]["status_id"] = "143"
        done = client.post("/api/records/1/replay", json={"url": target.url, "body": data})
        assert done.status_code == 200, done.text
        (got,) = target.requests
        assert got.body == amodp.encode(data).encode()
        assert amodp.decode(got.body) == data
        diff = client.get("/api/diff", params={"a": 1, "b": done.json()["id"]}).json()
        assert [c["path"] for c in diff["changes"]] == ["leads[status][0][status_id]"]


def test_edit_and_replay_signs_a_chat_hook_again_so_that_verify_accepts_it(
    tmp_path: Path,
) -> None:
    with (
        recording_server() as target,
        inspector(sample_records(), secret=SECRET) as (
            _,
            client,
        ),
    ):
        data = client.get("/api/records/2").json()["decoded"]
        data["message"]["message"]["text"] = "edited <b>text</b>"
        done = client.post("/api/records/2/replay", json={"url": target.url, "body": data})
        assert done.status_code == 200, done.text
        assert "signed again: X-Signature" in " ".join(done.json()["notes"])
        record = client.get(f"/api/records/{done.json()['id']}/export?as=record").text
        assert json.loads(record)["signature"] == "valid"
    (got,) = target.requests
    assert json.loads(got.body)["message"]["message"]["text"] == "edited <b>text</b>"
    http = tmp_path / "sent.http"
    lines = [f"POST {got.path} HTTP/1.1", *(f"{k}: {v}" for k, v in got.headers)]
    http.write_bytes("\r\n".join(lines).encode() + b"\r\n\r\n" + got.body)
    verified = CliRunner().invoke(app, ["verify", str(http), "--secret", SECRET])
    assert verified.exit_code == 0, verified.output
    assert "chat.message: valid" in verified.stderr


def test_edit_and_replay_of_a_salesbot_call_signs_a_fresh_token() -> None:
    bot = callback("salesbot.widget_request", seed=5, secret=SECRET, now=1_700_000_000)
    with (
        recording_server() as target,
        inspector([bot.record(status=200)], secret=SECRET) as (_, client),
    ):
        data = client.get("/api/records/1").json()["decoded"]
        data["data"] = {"edited": "1"}
        done = client.post("/api/records/1/replay", json={"url": target.url, "body": data})
        assert "Salesbot token" in " ".join(done.json()["notes"])
    (got,) = target.requests
    request = amodp.Request.received("POST", got.headers, "", got.body, got.path)
    from amodp.signing import verify

    assert verify(request, SECRET).status == "valid"  # fresh times: valid now
    assert json.loads(got.body)["data"] == {"edited": "1"}


def test_edit_without_a_secret_says_it_was_not_signed_again() -> None:
    with recording_server() as target, inspector(sample_records()) as (_, client):
        data = client.get("/api/records/2").json()["decoded"]
        done = client.post("/api/records/2/replay", json={"url": target.url, "body": data})
        assert "not signed again" in " ".join(done.json()["notes"])


# -- export --------------------------------------------------------------------------------


def test_curl_export_run_by_bash_sends_the_same_bytes() -> None:
    require_tools("bash", "curl")
    with recording_server() as target, inspector(sample_records()) as (_, client):
        for number in (1, 2, 3):
            command = client.get(
                f"/api/records/{number}/export", params={"as": "curl", "url": target.url + "/c"}
            ).text
            done = subprocess.run(["bash", "-c", command], capture_output=True, timeout=30)
            assert done.returncode == 0, done.stderr
            original = client.get(f"/api/records/{number}").json()
            assert target.requests[-1].body == original["body"].encode()
            assert target.requests[-1].path == "/c"


def test_record_and_har_exports() -> None:
    records = sample_records()
    with inspector(records) as (_, client):
        line = client.get("/api/records/1/export?as=record&download=1")
        assert line.content == record_bytes(records[0])
        assert 'filename="record-1.jsonl"' in line.headers["content-disposition"]
        har = client.get("/api/records/1/export?as=har").json()
        assert client.get("/api/records/1/export?as=nope").status_code == 400
    assert har["log"]["version"] == "1.2"
    (entry,) = har["log"]["entries"]
    assert entry["request"]["method"] == "POST"
    assert entry["request"]["url"] == "http://127.0.0.1:9/amo/hook"
    assert entry["request"]["postData"]["text"] == records[0]["body"]
    assert entry["request"]["postData"]["params"][0] == {
        "name": "leads[status][0][id]",
        "value": "66978001",
    }
    assert (
        entry["response"]["status"] == 200
        and entry["startedDateTime"] == "2026-11-25T13:30:34.896120Z"
    )


def test_the_pytest_export_replays_the_bytes_through_the_amodp_webhook_fixture(
    tmp_path: Path,
) -> None:
    records = sample_records()
    with inspector(records) as (_, client):
        text = client.get("/api/records/1/export?as=pytest").text
    test_file = tmp_path / "test_exported.py"
    test_file.write_text(text)
    with recording_server() as target:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
            capture_output=True,
            timeout=120,
            cwd=tmp_path,
            env=dict(os.environ, AMODP_RECEIVER=target.url),
        )
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
        (got,) = target.requests
    assert got.body == records[0]["body"].encode() and got.path == "/amo/hook"
    assert "1 passed" in done.stdout.decode()


# -- many records ----------------------------------------------------------------------------


def test_inspect_of_ten_thousand_records_pages_and_searches_them_all(tmp_path: Path) -> None:
    """How soon the first page comes, and the memory it takes, are measured
    by bench/inspector_scale.py."""
    hooks = [amodp.generate("status", "leads", seed=i) for i in range(50)]
    lines = [record_bytes(hooks[i % 50].record(status=200)) for i in range(10_000)]
    saved = tmp_path / "many.jsonl"
    saved.write_bytes(b"".join(lines))
    with started("inspect", str(saved)) as running:
        with running.client() as client:
            page = client.get("/api/records").json()
            assert page["total"] == 10_000 and len(page["records"]) == 200 and page["more"]
            assert page["records"][0]["id"] == 10_000
            older = client.get("/api/records", params={"before": 9_801}).json()["records"]
            assert [r["id"] for r in older[:2]] == [9_800, 9_799]
            wanted = hooks[0].data["leads"]["status"][0]["id"]
            found = client.get("/api/records", params={"q": wanted, "limit": 2000}).json()
            assert [r["id"] for r in found["records"]] == list(range(9_951, 0, -50))
            assert client.get("/api/records/1").json()["record"]["body"] == hooks[0].body.decode()
        stop(running.proc)


# -- listen --ui ---------------------------------------------------------------------------


def read_events(response: httpx.Response, wanted: int, seconds: float = 10) -> list[dict]:
    """The first ``wanted`` record events of an event stream."""
    found: list[dict] = []
    deadline = time.monotonic() + seconds
    event = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "record":
            found.append(json.loads(line[6:]))
            if len(found) == wanted:
                return found
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"{len(found)} of {wanted} events arrived")


def send_status(url: str, seed: int) -> None:
    done = subprocess.run(
        [*AMODP, "send", "status", "--lead", "--seed", str(seed), "--url", url],
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_listen_ui_streams_each_request_live_and_resumes_after_a_reconnect(
    tmp_path: Path,
) -> None:
    save = tmp_path / "hooks.jsonl"
    with started("listen", "--port", "0", "--ui", "--quiet", "--save", str(save)) as running:
        port = re.search(r"Listening on http://127.0.0.1:(\d+)", running.said)[1]  # type: ignore[index]
        hook = f"http://127.0.0.1:{port}/amo/hook"
        with running.client() as client:
            with client.stream("GET", "/api/stream", timeout=15) as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                sender = threading.Thread(target=send_status, args=(hook, 1))
                sender.start()
                (first,) = read_events(stream, 1)
                sender.join()
            assert first["id"] == 1 and first["events"] == ["leads.status"]
            assert first["answered_at"] >= first["received_at"]
            send_status(hook, 2)
            send_status(hook, 3)
            # a page that was away comes back with the last id it saw
            with client.stream(
                "GET", "/api/stream", headers={"Last-Event-ID": "1"}, timeout=15
            ) as stream:
                assert [e["id"] for e in read_events(stream, 2)] == [2, 3]
            # and a filtered stream gets only what matches
            with client.stream("GET", "/api/stream?after=0&id=nothing", timeout=15) as stream:
                sender = threading.Thread(target=send_status, args=(hook, 4))
                sender.start()
                sender.join()
                text = ""
                for line in stream.iter_lines():
                    text += line + "\n"
                    if "event: seen" in text and "data: 4" in text:
                        break
                assert "event: record" not in text
        code, _, err = stop(running.proc)
    assert code == 0, err
    assert len(save.read_text().splitlines()) == 4
    assert oct(save.stat().st_mode & 0o777) == "0o600"


def test_more_than_a_page_at_once_is_one_gap_event() -> None:
    """A stream that falls a page behind is told so once, and the page
    reads its list again, instead of one event per request."""
    record = amodp.generate("status", "leads", seed=1).record(status=200)
    with inspector([record] * 300) as (_, client):
        with client.stream("GET", "/api/stream?after=0", timeout=15) as stream:
            lines = []
            for line in stream.iter_lines():
                lines.append(line)
                if line.startswith("data: "):
                    break
    assert lines[-3:] == ["id: 300", "event: gap", "data: 300"]


def test_listen_ui_stops_on_ctrl_c_within_two_seconds_with_streams_open(tmp_path: Path) -> None:
    save = tmp_path / "hooks.jsonl"
    with started("listen", "--port", "0", "--ui", "--quiet", "--save", str(save)) as running:
        port = re.search(r"Listening on http://127.0.0.1:(\d+)", running.said)[1]  # type: ignore[index]
        client = running.client()
        streams = [client.stream("GET", "/api/stream", timeout=15) for _ in range(3)]
        opened = [s.__enter__() for s in streams]
        try:
            send_status(f"http://127.0.0.1:{port}/", 1)
            for stream in opened:
                read_events(stream, 1)
            code, seconds, err = stop(running.proc)
        finally:
            for s in streams:
                s.__exit__(None, None, None)
            client.close()
    assert code == 0, err
    assert seconds < 2, seconds
    assert "1 request received" in err and "Traceback" not in err
    assert len(save.read_text().splitlines()) == 1


def test_listen_ui_replays_to_the_forward_target(tmp_path: Path) -> None:
    with (
        recording_server() as app_,
        started("listen", "--port", "0", "--ui", "--quiet", "--forward-to", app_.url) as running,
    ):
        port = re.search(r"Listening on http://127.0.0.1:(\d+)", running.said)[1]  # type: ignore[index]
        send_status(f"http://127.0.0.1:{port}/amo/hook", 1)
        with running.client() as client:
            deadline = time.monotonic() + 10
            while not client.get("/api/records").json()["records"]:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            done = client.post("/api/records/1/replay", json={})
            assert done.status_code == 200, done.text
        stop(running.proc)
    forwarded, replayed = app_.requests
    assert replayed.body == forwarded.body and replayed.path == forwarded.path == "/amo/hook"


def test_open_needs_ui_and_opens_the_default_browser(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["listen", "--open"])
    assert result.exit_code == 2 and "--open needs --ui" in result.stderr
    opened = tmp_path / "opened"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    saved = capture_file(tmp_path / "hooks.jsonl", sample_records())
    proc = subprocess.Popen(
        [*AMODP, "inspect", str(saved), "--open"],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(os.environ, BROWSER=str(browser)),
    )
    try:
        deadline = time.monotonic() + 20
        while not (opened.exists() and opened.read_text().strip()):
            assert time.monotonic() < deadline, "the browser was not opened"
            time.sleep(0.05)
    finally:
        code, _, err = stop(proc)
    assert code == 0, err
    found = INSPECTOR.search(err)
    assert found is not None, err
    assert opened.read_text().strip() == f"{found[1]}/?token={found[3]}"
