"""listen, send and demo over real sockets on 127.0.0.1: nothing mocked."""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from amodp import decode, generate_all
from amodp.testing import post

from .servers import recording_server

AMODP = [sys.executable, "-m", "amodp"]


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    url: str
    port: int
    first_line: str

    def stop(self, sig: int | None = signal.SIGTERM, timeout: float = 20) -> tuple[int, str, str]:
        """Send ``sig`` (None: let it end by itself) and collect the outcome."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out.decode(), self.first_line + err.decode()


@contextmanager
def listening(*args: str, env: dict[str, str] | None = None) -> Iterator[Running]:
    """``amodp listen --port 0 ARGS`` in a subprocess (``env`` added to its
    environment); stopped with SIGTERM at the end."""
    proc = subprocess.Popen(
        [*AMODP, "listen", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ, NO_COLOR="1", **(env or {})),
        bufsize=0,  # unbuffered: what readline() leaves, communicate() gets
    )
    assert proc.stderr is not None
    first = proc.stderr.readline().decode()
    if not first.startswith("Listening on http://127.0.0.1:"):
        proc.kill()
        raise AssertionError(f"listener did not start: {first!r} {proc.stderr.read()!r}")
    port = int(first.strip().rsplit(":", 1)[1])
    running = Running(proc, f"http://127.0.0.1:{port}", port, first)
    try:
        yield running
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def amodp(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AMODP, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, NO_COLOR="1"),
    )


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def raw_request(port: int, data: bytes, read: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        if not read:
            return b""
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
                length = [
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ]
                if length and len(rest) >= length[0]:
                    break
        return b"".join(chunks)


# -- end to end ------------------------------------------------------------------------


def test_send_all_arrives_intact_and_saved(tmp_path: Path) -> None:
    save = tmp_path / "hooks.jsonl"
    with listening("--save", str(save), "--json") as server:
        sent = amodp("send", "--all", "--seed", "4", "--url", server.url + "/amo/hook", "--json")
        code, out, err = server.stop()
    assert sent.returncode == 0, sent.stderr
    deliveries = [json.loads(line) for line in sent.stdout.splitlines()]
    assert [d["status"] for d in deliveries] == [200] * 10
    assert all(d["error"] is None and d["latency_ms"] > 0 for d in deliveries)
    assert code == 0
    expected = generate_all(seed=4, url=server.url + "/amo/hook")
    saved = records(save)
    printed = [json.loads(line) for line in out.splitlines()]
    assert saved == printed
    assert len(saved) == len(expected) == 10
    for hook, record in zip(expected, saved, strict=True):
        assert record["body"].encode() == hook.body
        assert record["decoded"] == decode(hook.body)
        assert record["method"] == "POST" and record["path"] == "/amo/hook"
        headers = dict(record["headers"])
        assert headers["user-agent"] == "amoCRM-Webhooks/3.0"
        assert headers["x-amocrm-requestid"] == hook.request_id
        assert headers["content-type"] == "application/x-www-form-urlencoded"
        assert record["events"][0]["entity"] == hook.event.entity
        assert record["events"][0]["event"] == hook.event.event
        assert record["status"] == 200
        assert record["received_at"].endswith("Z")
    assert (save.stat().st_mode & 0o777) == 0o600
    assert err.splitlines()[1:4] == [
        f"Saving every request to {save}",
        f"Try: amodp send status --lead --url http://127.0.0.1:{server.port}/",
        "10 requests received",
    ]
    assert "leads.status\t200\t1" in err


def test_the_wire_request_is_what_generate_http_shows() -> None:
    with recording_server() as server:
        url = server.url + "/hook?x=1"
        sent = amodp("send", "status", "--seed", "8", "--url", url)
        shown = subprocess.run(
            [*AMODP, "generate", "status", "--seed", "8", "-f", "http", "--url", url],
            capture_output=True,
            check=True,
        ).stdout.decode()
    assert sent.returncode == 0, sent.stderr
    (got,) = server.requests
    head, _, body = shown.removesuffix("\n").partition("\r\n\r\n")
    lines = head.split("\r\n")
    assert lines[0] == f"POST {got.path} HTTP/1.1"
    assert [f"{k}: {v}" for k, v in got.headers] == lines[1:]
    assert got.body == body.encode()


def test_header_option_adds_and_overrides() -> None:
    with recording_server() as server:
        sent = amodp(
            "send", "call_in", "--url", server.url, "-H", "User-Agent: amoCRM-WebHook-client/1.0",
            "-H", "X-Extra: 1",
        )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    headers = dict(server.requests[0].headers)
    assert headers["User-Agent"] == "amoCRM-WebHook-client/1.0"
    assert headers["X-Extra"] == "1"


def test_expect_met_and_timed_out() -> None:
    with listening("--expect", "2", "--timeout", "30", "--quiet") as server:
        amodp("send", "status", "--url", server.url)
        amodp("send", "period", "--url", server.url)
        code, _, err = server.stop(sig=None)  # --expect met: it ends by itself
    assert code == 0, err
    # Room for two `amodp send` start-ups on a loaded machine before the timeout.
    with listening("--expect", "2", "--timeout", "6", "--event", "status") as server:
        amodp("send", "period", "--url", server.url)
        amodp("send", "status", "--url", server.url)
        code, out, err = server.stop(sig=None)  # --timeout: it ends by itself
    assert code == 1
    assert "Error: expected 2 matching webhook(s), got 1 within 6 s" in err
    assert "leads.status" in out and "customers.period" not in out  # the filter


def test_forward_to_a_second_server(tmp_path: Path) -> None:
    save = tmp_path / "f.jsonl"
    with (
        recording_server(status=201) as app,
        listening("--forward-to", app.url, "--save", str(save), "--quiet") as server,
    ):
        sent = amodp("send", "status", "--seed", "2", "--url", server.url + "/hook?a=1", "--json")
        server.stop()
    delivery = json.loads(sent.stdout)
    assert delivery["status"] == 201
    assert sent.returncode == 0
    (got,) = app.requests
    (record,) = records(save)
    assert got.body == record["body"].encode()
    assert got.path == "/hook?a=1" and got.method == "POST"
    assert {k.lower(): v for k, v in got.headers}["user-agent"] == "amoCRM-Webhooks/3.0"
    assert record["forward"]["status"] == 201 and record["status"] == 201
    assert record["forward"]["error"] is None


def test_forward_to_an_app_that_is_down(tmp_path: Path) -> None:
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    with listening("--forward-to", f"http://127.0.0.1:{port}", "--json") as server:
        sent = amodp("send", "status", "--url", server.url)
        _, out, _ = server.stop()
    assert sent.returncode == 1  # the listener answered 502
    record = json.loads(out)
    assert record["status"] == 502 and record["forward"]["error"].startswith("refused")


def test_replay_reproduces_the_same_requests(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    with listening("--save", str(first), "--quiet") as server:
        amodp("send", "--all", "--seed", "6", "--url", server.url + "/base/hook?t=1")
        raw_request(server.port, b"GET /ping?x=1 HTTP/1.1\r\nHost: a\r\n\r\n")
        server.stop()
    with listening("--save", str(second), "--quiet") as server:
        replayed = amodp("send", "--replay", str(first), "--url", server.url + "/other")
        server.stop()
    assert replayed.returncode == 0, replayed.stderr
    a, b = records(first), records(second)
    assert len(a) == len(b) == 11
    for old, new in zip(a, b, strict=True):
        assert (old["method"], old.get("body"), old["query"]) == (
            new["method"],
            new.get("body"),
            new["query"],
        )
        assert new["path"] == "/other" + old["path"]
        computed = {"host", "content-length"}
        old_headers = [(k, v) for k, v in old["headers"] if k not in computed]
        new_headers = [(k, v) for k, v in new["headers"] if k not in computed]
        assert new_headers == old_headers


def test_refused_port_exits_3() -> None:
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    result = amodp("send", "status", "--url", f"http://127.0.0.1:{port}/", "--json")
    assert result.returncode == 3
    assert json.loads(result.stdout)["error"].startswith("refused")
    assert result.stderr.startswith("Error: 1 of 1 deliveries got no 2xx (1 refused)")


def test_status_500_listener_makes_send_exit_1() -> None:
    with listening("--status", "500", "--quiet") as server:
        result = amodp("send", "--all", "--url", server.url)
        server.stop()
    assert result.returncode == 1
    assert result.stderr.startswith("Error: 10 of 10 deliveries got no 2xx")
    assert result.stdout.count(" 500 ") == 10


def test_send_load_mode_table() -> None:
    with listening("--quiet") as server:
        result = amodp("send", "status", "--url", server.url, "--repeat", "200", "-c", "8")
        server.stop()
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    for label in ("sent\t200", "2xx\t200", "other statuses\t0", "errors\t0", "latency p99"):
        assert label in result.stderr


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_listen_json_prints_each_record_whole_under_load(tmp_path: Path, unbuffered: str) -> None:
    """Requests that arrive together are printed together, each record one
    whole JSON line, the same as saved; with Python's stdout buffered or not
    (PYTHONUNBUFFERED, common in containers)."""
    save = tmp_path / "s.jsonl"
    with listening("--save", str(save), "--json", env={"PYTHONUNBUFFERED": unbuffered}) as server:
        assert server.proc.stdout is not None and server.proc.stderr is not None
        read: list[bytes] = []  # read as it comes: a full pipe would hold the listener up
        reader = threading.Thread(target=lambda: read.append(server.proc.stdout.read()))
        reader.start()
        sent = amodp("send", "status", "--url", server.url, "--repeat", "300", "-c", "25")
        server.proc.send_signal(signal.SIGTERM)
        reader.join(20)
        with server.proc.stdout, server.proc.stderr:
            err = server.proc.stderr.read().decode()
        code = server.proc.wait(20)
    assert sent.returncode == 0, sent.stderr
    assert code == 0, err
    shown = [json.loads(line) for line in read[0].decode().splitlines()]
    assert len(shown) == 300
    assert shown == records(save)


def test_send_dry_run_prints_requests() -> None:
    result = amodp("send", "status", "--seed", "3", "--url", "http://127.0.0.1:9/x", "--dry-run")
    shown = amodp(
        "generate", "status", "--seed", "3", "-f", "http", "--url", "http://127.0.0.1:9/x"
    )
    assert result.returncode == 0
    assert result.stdout == shown.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["send", "status"], "--url is required"),
        (["send", "status", "--url", "ftp://x"], "URL must be http(s)://host[:port]/path"),
        (["send", "--url", "http://127.0.0.1:9"], "name an EVENT"),
        (["send", "status", "--url", "http://127.0.0.1:9", "-H", "nocolon"], "-H wants"),
        (["send", "--replay", "/nonexistent.jsonl", "--url", "http://127.0.0.1:9"], "no such file"),
    ],
)
def test_send_usage_errors(args: list[str], message: str) -> None:
    result = amodp(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("Error: ") and message in result.stderr


def test_port_in_use_exits_3() -> None:
    with listening("--quiet") as server:
        result = amodp("listen", "--port", str(server.port), timeout=30)
        server.stop()
    assert result.returncode == 3
    assert result.stderr == f"Error: port {server.port} on 127.0.0.1 is already in use\n"


def test_non_loopback_host_warns() -> None:
    result = amodp("listen", "--host", "0.0.0.0", "--port", "0", "--timeout", "0.3")
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Listening on http://0.0.0.0:")
    assert lines[1].startswith("Warning: 0.0.0.0 is not a loopback address")
    port = lines[0].rsplit(":", 1)[1]
    assert lines[2:] == [
        f"Try: amodp send status --lead --url http://127.0.0.1:{port}/",
        "0 requests received",  # and no empty table
    ]
    assert result.returncode == 0


def test_demo_exits_0() -> None:
    result = amodp("demo", "--seed", "1", "--json")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 10
    assert "All 10 digital-pipeline webhooks arrived intact." in result.stderr


# -- faults -----------------------------------------------------------------------------


def test_faults_are_answered_recorded_and_survived(tmp_path: Path) -> None:
    save = tmp_path / "faults.jsonl"
    with listening("--save", str(save), "--json", "--read-timeout", "1") as server:
        port = server.port
        big = raw_request(
            port,
            b"POST /big HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 10485760\r\n\r\n" + b"a=" + b"x" * (10 * 1024 * 1024 - 2),
        )
        assert big.startswith(b"HTTP/1.1 413")
        chunked = raw_request(
            port,
            b"POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"".join(b"%x\r\n%s\r\n" % (65536, b"y" * 65536) for _ in range(20))
            + b"0\r\n\r\n",
        )
        assert chunked.startswith(b"HTTP/1.1 413")
        for request in (
            b"POST /pct HTTP/1.1\r\nHost: a\r\nContent-Length: 13\r\n\r\na=%zz&b=%E4%F",
            b"POST /utf HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\na=\xff\xfe\xd0z",
            b"POST /json HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
            b'Content-Length: 8\r\n\r\n{"a": 1}',
            b"GET /get?leads[status][0][id]=1 HTTP/1.1\r\nHost: a\r\n\r\n",
            b"POST /empty HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
            b"PUT /bin HTTP/1.1\r\nHost: a\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: 4\r\n\r\n\x00\x01\x02\xff",
            b"POST /proxied HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.9\r\n"
            b"X-Forwarded-Proto: https\r\nContent-Length: 3\r\n\r\na=1",
        ):
            assert raw_request(port, request).startswith(b"HTTP/1.1 200"), request
        # Half a request, then gone; then half a body, then silence (timed out).
        raw_request(port, b"POST /half HTTP/1.1\r\nHost: a\r\nContent-Le", read=False)
        slow = raw_request(
            port, b"POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\na=1"
        )
        assert slow.startswith(b"HTTP/1.1 408")
        # Headers that never end: not answered, not recorded, and they hold
        # up neither the others nor the stop.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:
            idle.sendall(b"POST /idle HTTP/1.1\r\nHo")
            after = amodp("send", "status", "--url", server.url + "/after")
            assert after.returncode == 0
            code, out, _ = server.stop()
            assert idle.recv(100) == b""  # closed by the stop
    assert code == 0
    saved = records(save)
    assert [json.loads(line) for line in out.splitlines()] == saved
    by_path = {r["path"]: r for r in saved}
    assert set(by_path) == {
        "/big", "/chunked", "/pct", "/utf", "/json", "/get", "/empty", "/bin", "/proxied",
        "/slow", "/after",
    }  # fmt: skip
    assert by_path["/big"]["status"] == 413 and "max-body" in by_path["/big"]["note"]
    assert by_path["/chunked"]["status"] == 413
    assert by_path["/pct"]["decoded"] == {"a": "%zz", "b": "\ufffd%F"}
    assert "invalid % escapes" in by_path["/pct"]["note"]
    assert base64.b64decode(by_path["/utf"]["body_base64"]) == b"a=\xff\xfe\xd0z"
    assert by_path["/utf"]["decoded"] == {"a": "\ufffd\ufffd\ufffdz"}
    assert by_path["/json"]["decoded"] is None and "application/json" in by_path["/json"]["note"]
    assert by_path["/json"]["body"] == '{"a": 1}'
    assert (
        by_path["/get"]["method"] == "GET" and by_path["/get"]["query"] == "leads[status][0][id]=1"
    )
    assert by_path["/empty"]["decoded"] is None
    assert base64.b64decode(by_path["/bin"]["body_base64"]) == b"\x00\x01\x02\xff"
    assert by_path["/slow"]["status"] == 408
    assert by_path["/slow"]["note"].startswith("body not received within 1 s")
    # remote is the peer that connected; what a proxy says stays in the headers
    assert by_path["/proxied"]["remote"].startswith("127.0.0.1:")
    assert ["x-forwarded-for", "203.0.113.9"] in by_path["/proxied"]["headers"]
    assert by_path["/after"]["events"][0]["event"] == "status"


def test_sigterm_during_a_burst_loses_no_answered_request(tmp_path: Path) -> None:
    save = tmp_path / "burst.jsonl"
    answered: list[str] = []
    lock = threading.Lock()
    with listening("--save", str(save), "--quiet") as server:
        stop_at = time.monotonic() + 20

        def client(n: int) -> None:
            i = 0
            while time.monotonic() < stop_at:
                marker = f"c{n}-{i}"
                i += 1
                body = f"leads[status][0][id]={marker}".encode()
                # Half the clients ask the listener to close after answering:
                # the answer then leaves on close, also after its record.
                close = b"Connection: close\r\n" if n % 2 else b""
                try:
                    reply = raw_request(
                        server.port,
                        b"POST /burst HTTP/1.1\r\nHost: a\r\n%sContent-Length: %d\r\n\r\n%s"
                        % (close, len(body), body),
                    )
                except OSError:
                    return
                if reply.startswith(b"HTTP/1.1 200"):
                    with lock:
                        answered.append(marker)
                else:
                    return

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        while len(answered) < 200 and time.monotonic() < stop_at:
            time.sleep(0.01)
        code, _, err = server.stop()
        for t in threads:
            t.join(30)
    assert code == 0, err
    lines = save.read_text().splitlines()
    saved = {json.loads(line)["decoded"]["leads"]["status"][0]["id"] for line in lines}
    assert len(answered) >= 200
    assert set(answered) <= saved
    assert "requests received" in err


def test_a_save_file_that_cannot_be_written_gets_503(tmp_path: Path) -> None:
    """Disk full: a request whose record cannot be saved is answered 503
    (amoCRM counts it as failed and sends again), on the listener's own
    answers and on forwarded ones; stderr says so once, the summary counts them."""
    with (
        recording_server(status=201) as app,
        listening("--save", "/dev/full", "--json") as server,
        listening("--save", "/dev/full", "--forward-to", app.url, "--quiet") as forwarding,
    ):
        first = amodp("send", "status", "--lead", "--url", server.url, "--json")
        second = amodp("send", "status", "--lead", "--url", server.url, "--json")
        relayed = amodp("send", "status", "--lead", "--url", forwarding.url, "--json")
        code, out, err = server.stop()
        forwarded_code, _, forwarded_err = forwarding.stop()
    for sent in (first, second, relayed):
        assert json.loads(sent.stdout)["status"] == 503 and sent.returncode == 1, sent.stderr
    assert len(app.requests) == 1  # the app got it; the listener could not keep it
    assert code == forwarded_code == 0
    message = "Error: cannot save to /dev/full: No space left on device; "
    message += "requests that cannot be saved are answered 503"
    assert err.count(message) == 1 and forwarded_err.count(message) == 1, err
    assert "2 not saved: answered 503" in err and "1 not saved: answered 503" in forwarded_err
    assert "leads.status\t503\t2" in err
    shown = [json.loads(line) for line in out.splitlines()]
    assert [r["status"] for r in shown] == [503, 503] and shown[0]["note"] == "not saved"
    assert "Traceback" not in err + forwarded_err


def test_listen_json_goes_on_saving_when_its_reader_leaves(tmp_path: Path) -> None:
    """`amodp listen --json | head -1`: the reader leaves, the listener keeps
    answering and saving, and ends without a traceback."""
    save = tmp_path / "s.jsonl"
    with listening("--save", str(save), "--json") as server:
        assert amodp("send", "status", "--lead", "--url", server.url).returncode == 0
        assert server.proc.stdout is not None
        json.loads(server.proc.stdout.readline())
        server.proc.stdout.close()  # the reader leaves
        sent = amodp("send", "--all", "--url", server.url, "--count", "30")
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.stderr is not None
        with server.proc.stderr:
            err = server.proc.stderr.read().decode()
        code = server.proc.wait(20)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert code == 0, err
    assert len(records(save)) == 11 and "Traceback" not in err and "Error" not in err


def _leaves(value: object) -> list[str]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    return [str(value)]


def test_listen_redact_shows_and_saves_no_personal_data(tmp_path: Path) -> None:
    save = tmp_path / "r.jsonl"
    wanted = ("contacts.add", "message.add", "leads.note")
    by_name = {hook.event.name: hook for hook in generate_all(kind="account", seed=13)}
    hooks = [by_name[name] for name in wanted]
    # What the generator put in that is personal, read from the unredacted data.
    contact = hooks[0].json["contacts"]["add"][0]
    message = hooks[1].json["message"]["add"][0]
    personal = [contact["name"], message["text"], message["author"]["name"]]
    personal += [
        v["value"]
        for field in contact["custom_fields"]
        if field.get("code") in ("PHONE", "EMAIL")
        for v in field["values"]
    ]
    assert all(len(p) > 3 for p in personal)
    with listening("--save", str(save), "--json", "--redact") as server:
        for hook in hooks:
            assert post(server.url + "/hook", hook.body, hook.headers).status == 200
        code, out, err = server.stop()
    assert code == 0, err
    saved = records(save)
    shown = [json.loads(line) for line in out.splitlines()]
    assert len(saved) == len(shown) == 3
    assert shown == saved
    raw = save.read_text(encoding="utf-8") + out
    for value in personal:
        assert value not in raw
    for record in saved:
        # The saved body is the redacted one: it decodes to the saved JSON.
        assert json.loads(json.dumps(decode(record["body"]))) == record["decoded"]
    by_event = {f"{r['events'][0]['entity']}.{r['events'][0]['event']}": r for r in saved}
    got = by_event["contacts.add"]["decoded"]["contacts"]["add"][0]
    assert got["id"] == str(contact["id"])  # ids kept
    assert got["name"].startswith("<name:")
    (text,) = _leaves(by_event["message.add"]["decoded"]["message"]["add"][0]["text"])
    assert text.startswith("<text:")


def test_the_app_answers_a_stalled_body_408_under_any_asgi_server(tmp_path: Path) -> None:
    """The listener is a plain ASGI app: called by any server, it times out a
    body that stops coming, answers 408 and keeps the record."""
    import asyncio

    from amodp.listener import Listener, Options

    save = tmp_path / "s.jsonl"
    shown: list[dict] = []
    app = Listener(Options(read_timeout=0.2, save=save), lambda record, *_: shown.append(record))
    sent: list[dict] = []
    chunks = [{"type": "http.request", "body": b"leads%5Bstatus%5D", "more_body": True}]

    async def receive() -> dict:
        if chunks:
            return chunks.pop()
        await asyncio.sleep(3600)  # the rest of the body never comes
        raise AssertionError("not reached")

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http", "method": "POST", "path": "/slow", "query_string": b"",
        "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
        "client": ("127.0.0.1", 1),
    }  # fmt: skip

    async def main() -> None:
        await asyncio.wait_for(app(scope, receive, send), 5)
        app.close()

    asyncio.run(main())
    assert sent[0]["status"] == 408
    (record,) = records(save)
    assert record["status"] == 408 and "body not received within 0.2 s" in record["note"]
    assert shown and shown[0]["status"] == 408


def test_a_background_listener_stopped_before_it_started_frees_its_port() -> None:
    from amodp.listener import Background, Options

    running = Background(Options(port=0), lambda record, line, wanted: None)
    port = int(running.url.rsplit(":", 1)[1])
    running.stop()
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))  # the port is free again


# -- stopping ---------------------------------------------------------------------------


def request_bytes(path: str, body: bytes, length: int | None = None) -> bytes:
    return b"POST %s HTTP/1.1\r\nHost: a\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s" % (
        path.encode(),
        b"application/x-www-form-urlencoded",
        len(body) if length is None else length,
        body,
    )


def reply_status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


def wait_until_read(client: socket.socket, port: int) -> None:
    """Until the listener on ``port`` has read what ``client`` sent (the
    kernel's receive queue of its end of the connection is empty)."""
    tcp = Path("/proc/net/tcp")
    if not tcp.exists():  # not Linux: give it time instead
        time.sleep(1)
        return
    ours = client.getsockname()[1]
    for _ in range(2000):
        for line in tcp.read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16)
            if (local, remote) == (port, ours) and int(fields[4].split(":")[1], 16) == 0:
                return
        time.sleep(0.01)
    raise AssertionError("the listener did not read the request")


def test_ctrl_c_answers_and_saves_the_request_in_flight(tmp_path: Path) -> None:
    """Ctrl-C during a --delay: the request in flight is answered now (not
    after the delay), with the status its record says, and counted."""
    save = tmp_path / "f.jsonl"
    with listening("--delay", "30", "--status", "202", "--save", str(save)) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as client:
            client.sendall(request_bytes("/late", b"leads[status][0][id]=5"))
            wait_until_read(client, server.port)  # and starts waiting out the delay
            server.proc.send_signal(signal.SIGINT)
            reply = client.recv(65536)  # within the socket's 20 s: the 30 s delay was cut
        code, out, err = server.stop(sig=None)
    assert code == 0, err
    assert "Stopping: waiting for 1 request in flight (Ctrl-C again to stop now)\n" in err
    assert reply_status(reply) == 202
    (record,) = records(save)
    assert record["status"] == 202 and record["path"] == "/late"
    assert "1 request received\nevent\tstatus\tcount\nleads.status\t202\t1\n" in err
    assert "Traceback" not in err
    assert json.loads(json.dumps(record["decoded"])) == {"leads": {"status": [{"id": "5"}]}}
    assert "leads.status" in out


def test_a_second_ctrl_c_stops_at_once(tmp_path: Path) -> None:
    save = tmp_path / "f.jsonl"
    with listening("--read-timeout", "120", "--save", str(save)) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as client:
            client.sendall(request_bytes("/stalled", b"a=", length=100))  # the rest never comes
            wait_until_read(client, server.port)  # and waits for the rest of the body
            server.proc.send_signal(signal.SIGINT)
            assert server.proc.stderr is not None
            for line in iter(server.proc.stderr.readline, b""):
                if line.startswith(b"Stopping: waiting for 1 request in flight"):
                    break
            else:
                raise AssertionError("the listener did not say what it waits for")
            server.proc.send_signal(signal.SIGINT)
            code, _, err = server.stop(sig=None, timeout=20)  # not the 120 s of the body
            try:
                reply = client.recv(100)
            except ConnectionResetError:
                reply = b""
    # Not saved, so not answered, or answered as failed (uvicorn's 500 for a
    # request cancelled unanswered).
    assert reply == b"" or reply_status(reply) == 500
    assert code == 0, err
    assert err.endswith("0 requests received\n") and "Traceback" not in err
    assert save.read_bytes() == b""


# -- usage and display ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "99999"], "Error: --port: port must be 0..65535, got 99999\n"),
        (["--port", "-1"], "Error: --port: port must be 0..65535, got -1\n"),
        (["--forward-to", "http://[::1"], "Error: --forward-to: "),
        (["--forward-to", "http://127.0.0.1:abc/"], "--forward-to"),
        (["--forward-to", "http://127.0.0.1:99999/"], "--forward-to"),
        (["--forward-to", "http://:8000/"], "--forward-to"),
        (["--forward-to", "ftp://x"], "Error: --forward-to: 'ftp://x' must be an http"),
        (["--json", "--lines"], "choose one of --json, --lines and --quiet"),
    ],
)
def test_listen_usage_errors(args: list[str], message: str) -> None:
    result = amodp("listen", "--timeout", "5", *args)
    assert result.returncode == 2
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_lines_show_one_line_per_request(tmp_path: Path) -> None:
    hook = generate_all(seed=5, url="http://x/")[0]
    item = hook.json[hook.event.entity][hook.event.event][0]
    with (
        recording_server(status=201) as app,
        listening("--lines", "--forward-to", app.url) as server,
    ):
        assert post(server.url + "/hook?k=1", hook.body, hook.headers).status == 201
        raw_request(server.port, b"GET /ping HTTP/1.1\r\nHost: a\r\n\r\n")
        code, out, err = server.stop()
    assert code == 0, err
    first, second = out.splitlines()
    assert re.fullmatch(
        rf"\d\d:\d\d:\d\d\.\d\d\d  POST /hook\?k=1  201  {hook.event.name} {item['id']}"
        r"  -> app 201 in [\d.]+ ms",
        first,
    ), first
    time_ = r"\d\d:\d\d:\d\d\.\d\d\d"
    assert re.fullmatch(
        rf"{time_}  GET /ping  201  -  -> app 201 in [\d.]+ ms  \(empty body\)", second
    ), second
    assert err.splitlines()[1:3] == [
        f"Forwarding to {app.url}",
        f"Try: amodp send status --lead --url http://127.0.0.1:{server.port}/",
    ]


def test_demo_exits_0_when_its_reader_leaves() -> None:
    """`amodp demo --json | head -1`, `amodp demo | head -3`: what arrived is
    judged from what the listener kept, not from what could be shown."""
    for args in (["--json"], []):
        read, write = os.pipe()
        os.close(read)  # the reader is gone before the first line
        try:
            proc = subprocess.run(
                [*AMODP, "demo", "--seed", "2", *args],
                stdout=write,
                stderr=subprocess.PIPE,
                timeout=60,
                env=dict(os.environ, NO_COLOR="1"),
            )
        finally:
            os.close(write)
        err = proc.stderr.decode()
        assert proc.returncode == 0, err
        assert "All 10 digital-pipeline webhooks arrived intact." in err
        assert "Traceback" not in err and "never arrived" not in err
    piped = subprocess.run(
        ["bash", "-o", "pipefail", "-c", shlex.join([*AMODP, "demo", "--json"]) + " | head -1"],
        capture_output=True,
        timeout=60,
    )
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["status"] == 200
