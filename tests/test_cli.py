"""Every command through the CLI: stdout, stderr and exit code, errors included."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from typer.testing import CliRunner

from amodp import catalog, decode
from amodp.cli import ExitCode, app

from .conftest import require_tools
from .servers import recording_server, serving

runner = CliRunner()
DATA = Path(__file__).parent / "data"
DP_STATUS = (DATA / "captures" / "dp_leads_status.txt").read_bytes()


def run(*args: str, input: bytes | str | None = None):  # noqa: ANN201
    return runner.invoke(app, list(args), input=input)


def test_no_command_shows_help() -> None:
    result = run()
    shown = result.stdout + result.stderr
    assert "decode" in shown and "generate" in shown and "Usage: " in shown


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("amodp ")


# -- generate -------------------------------------------------------------------------


def test_generate_form_is_the_body_plus_newline() -> None:
    result = run("generate", "status", "--lead", "--seed", "7")
    assert result.exit_code == 0, result.stderr
    body = result.stdout.removesuffix("\n")
    assert "\n" not in body and result.stderr == ""
    data = decode(body)
    assert list(data["leads"]["status"][0]) == [
        "id",
        "status_id",
        "pipeline_id",
        "old_status_id",
        "old_pipeline_id",
    ]


def test_generate_seed_is_deterministic_across_processes() -> None:
    cmd = [sys.executable, "-m", "amodp", "generate", "status", "--seed", "11", "-f", "http"]
    first = subprocess.run(cmd, capture_output=True, check=True).stdout
    second = subprocess.run(cmd, capture_output=True, check=True).stdout
    assert first == second
    fresh = [sys.executable, "-m", "amodp", "generate", "status"]
    a = subprocess.run(fresh, capture_output=True, check=True).stdout
    b = subprocess.run(fresh, capture_output=True, check=True).stdout
    assert a != b


def test_generate_json_matches_the_form() -> None:
    form = run("generate", "call_in", "--customer", "--seed", "3", "--count", "2").stdout
    as_json = run("generate", "call_in", "--customer", "--seed", "3", "--count", "2", "-f", "json")
    assert json.loads(as_json.stdout) == decode(form.strip())
    assert len(json.loads(as_json.stdout)["customers"]["call_in"]) == 2


def test_generate_set_field_and_path() -> None:
    result = run(
        "generate",
        "status",
        "--seed",
        "1",
        "--count",
        "3",
        "--set",
        "status_id=142",
        "--set",
        "account[subdomain]=acme",
        "-f",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [i["status_id"] for i in data["leads"]["status"]] == ["142"] * 3
    assert data["account"]["subdomain"] == "acme"


def test_generate_all_form_and_json_lines() -> None:
    form = run("generate", "--all", "--seed", "2")
    lines = form.stdout.splitlines()
    assert len(lines) == len(catalog.events("dp"))
    names = []
    for line in lines:
        data = decode(line)
        (entity,) = [k for k in data if k != "account"]
        (event,) = data[entity]
        names.append(f"{entity}.{event}")
    assert names == [e.name for e in catalog.events("dp")]
    as_json = run("generate", "--all", "--seed", "2", "-f", "json").stdout.splitlines()
    assert [json.loads(line) for line in as_json] == [decode(line) for line in lines]


def test_generate_all_of_one_entity() -> None:
    lines = run("generate", "--all", "--customer", "--seed", "2").stdout.splitlines()
    assert len(lines) == 5
    assert all("customers" in decode(line) for line in lines)


def test_generate_curl_sends_the_same_request() -> None:
    require_tools("curl")
    with recording_server() as server:
        hook_url = server.url + "/amo?token=a&b=c"
        result = run("generate", "status", "--seed", "5", "-f", "curl", "--url", hook_url)
        form = run("generate", "status", "--seed", "5").stdout.strip()
        subprocess.run(["bash", "-c", result.stdout], check=True, capture_output=True, timeout=20)
    (got,) = server.requests
    assert got.path == "/amo?token=a&b=c"
    assert got.body.decode() == form
    headers = dict(got.headers)
    assert headers["User-Agent"] == "amoCRM-Webhooks/3.0"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_generate_http_format() -> None:
    result = run("generate", "mail_in", "--seed", "4", "-f", "http", "--url", "http://h:9/x")
    head, _, body = result.stdout_bytes.decode().partition("\r\n\r\n")
    lines = head.split("\r\n")
    assert lines[0] == "POST /x HTTP/1.1"
    assert "Host: h:9" in lines
    assert f"Content-Length: {len(body.removesuffix(chr(10)))}" in lines
    assert body.removesuffix("\n") == run("generate", "mail_in", "--seed", "4").stdout.strip()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["generate", "period", "--lead"],
            "leads events: call_in, chat, mail_in, site_visit, status",
        ),
        (
            ["generate", "status", "--customer"],
            "customers events: call_in, chat, mail_in, period, site_visit",
        ),
        (["generate", "nope"], "choose from: call_in, chat, mail_in, period, site_visit, status"),
        (["generate"], "name an EVENT"),
        (["generate", "status", "--set", "nope=1"], "has no field 'nope'"),
        (["generate", "status", "--set", "novalue"], "--set: 'novalue' is not FIELD=VALUE"),
        (
            ["generate", "status", "-f", "xml"],
            "Error: --format: unknown format 'xml'; choose from: form, json, http, curl",
        ),
        (["generate", "status", "--lead", "--customer"], "choose one entity"),
        (["generate", "status", "--all"], "not both"),
        (["generate", "status", "--kind", "nope"], "unknown kind 'nope'"),
        (["events", "--kind", "nope"], "unknown kind 'nope'"),
    ],
)
def test_usage_errors_are_one_line_exit_2(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == ExitCode.USAGE
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    assert result.stderr.count("\n") == 1
    assert message in result.stderr


# -- events ---------------------------------------------------------------------------


def test_events_json_lines_come_from_the_catalog_folder() -> None:
    result = run("events", "--json")
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    files = sorted(p.stem for p in (Path(catalog.__file__).parent / "events" / "dp").glob("*.json"))
    assert sorted(f"{r['entity']}.{r['event']}" for r in rows) == [
        f for f in files if not f.startswith("_")
    ]
    status = next(r for r in rows if r["entity"] == "leads" and r["event"] == "status")
    assert status["fields"] == [
        "id",
        "status_id",
        "pipeline_id",
        "old_status_id",
        "old_pipeline_id",
    ]
    assert status["description"]


def test_events_plain_listing() -> None:
    result = run("events")
    assert result.exit_code == 0
    assert "leads.status" in result.stdout and "customers.period" in result.stdout
    assert "account[subdomain]" in result.stdout


# -- encode ---------------------------------------------------------------------------


def test_encode_gives_back_a_real_body() -> None:
    value = decode(DP_STATUS)
    result = run("encode", input=json.dumps(value))
    assert result.exit_code == 0
    assert result.stdout == DP_STATUS.decode() + "\n"


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("", "empty input"),
        ("[1, 2]", "not an object"),
        ('"x"', "not an object"),
        ("{nope", "not valid JSON"),
        ('{"a": NaN}', "not valid JSON"),
    ],
)
def test_encode_bad_input(stdin: str, message: str) -> None:
    result = run("encode", input=stdin)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("Error: stdin: ")
    assert message in result.stderr
    assert result.stdout == ""


def test_encode_missing_file(tmp_path: Path) -> None:
    result = run("encode", str(tmp_path / "missing.json"))
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == f"Error: {tmp_path / 'missing.json'}: no such file\n"


# -- decode ---------------------------------------------------------------------------

PHP_CASES = ["dp_status_real", "dp_literal_brackets_utf8", "account_lead_custom_fields"]


@pytest.mark.parametrize("case", PHP_CASES)
def test_decode_file_prints_what_php_prints(case: str) -> None:
    # The .json beside each .txt is PHP's own json_encode output (tests/php_reference.py).
    expected = (DATA / f"{case}.json").read_text(encoding="utf-8").rstrip("\n") + "\n"
    result = run("decode", str(DATA / f"{case}.txt"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected
    assert result.stderr == ""


def test_decode_stdin_and_dash() -> None:
    a = run("decode", input=DP_STATUS)
    b = run("decode", "-", input=DP_STATUS)
    assert a.exit_code == b.exit_code == 0
    assert a.stdout == b.stdout == (DATA / "dp_status_real.json").read_text().rstrip("\n") + "\n"


def test_decode_compact_is_one_line() -> None:
    result = run("decode", "--compact", input=DP_STATUS)
    assert result.stdout.count("\n") == 1
    assert json.loads(result.stdout) == json.loads((DATA / "dp_status_real.json").read_text())


def test_decode_summary_line() -> None:
    body = DP_STATUS.replace(b"=example", b"=anyor")
    result = run("decode", "--summary", "--compact", input=body)
    assert result.exit_code == 0
    assert result.stderr == (
        "leads.status (dp)  lead 10754147: stage 54435014 -> 54423922 (pipeline 6344290)"
        "  account anyor (30307558)\n"
    )


def test_decode_summary_one_line_per_item_and_unknown() -> None:
    body = run("generate", "period", "--seed", "1", "--count", "3").stdout
    result = run("decode", "--summary", "--compact", input=body)
    lines = result.stderr.splitlines()
    assert len(lines) == 3
    assert all(line.startswith("customers.period (dp)  customer ") for line in lines)
    account = run("generate", "add", "--kind", "account", "--entity", "tasks", "--seed", "1")
    result = run("decode", "--summary", "--compact", input=account.stdout)
    assert result.stderr.startswith("task.add (account)  task ")
    other = run("decode", "--summary", input="a=1")
    assert other.exit_code == 0
    assert "no amoCRM webhook event recognised" in other.stderr


def _same_as_body(paste: str | bytes, form: str = "auto") -> None:
    expected = run("decode", "--compact", input=DP_STATUS).stdout
    result = run("decode", "--compact", "--from", form, input=paste)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected


def test_decode_raw_http_request() -> None:
    request = (
        b"POST /amo HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n" % len(DP_STATUS)
    ) + DP_STATUS
    _same_as_body(request)
    _same_as_body(request.replace(b"\r\n", b"\n"), "http")


def test_decode_curl_command() -> None:
    body = DP_STATUS.decode()
    half = len(body) // 2
    cut = body.rfind("&", 0, half)
    paste = (
        "curl 'https://hook.example/amo' \\\n"
        "  -H 'content-type: application/x-www-form-urlencoded' \\\n"
        f"  --data-raw '{body[:cut]}' \\\n  -d \"{body[cut + 1 :]}\"\n"
    )
    _same_as_body(paste)
    _same_as_body(paste, "curl")


def test_decode_json_and_python_dicts() -> None:
    flat = {}
    for pair in DP_STATUS.decode().split("&"):
        k, _, v = pair.partition("=")
        flat[k.replace("%5B", "[").replace("%5D", "]")] = v
    _same_as_body(json.dumps(flat))
    _same_as_body(repr(flat))
    _same_as_body(repr({k.encode(): [v.encode()] for k, v in flat.items()}), "python")


def test_decode_capture_records_one_output_each(tmp_path: Path) -> None:
    other = run("generate", "call_in", "--seed", "2").stdout.strip()
    records = [
        {
            "received_at": "2026-11-25T10:00:00Z",
            "method": "POST",
            "path": "/a",
            "body": DP_STATUS.decode(),
        },
        {"received_at": "2026-11-25T10:00:01Z", "method": "POST", "path": "/b", "body": other},
    ]
    path = tmp_path / "captures.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = run("decode", "--compact", str(path))
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        decode(DP_STATUS),
        decode(other),
    ]


def test_decode_several_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(DP_STATUS)
    (tmp_path / "b.txt").write_text("x[y]=1\n")
    result = run("decode", "--compact", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"))
    assert result.stdout.splitlines()[1] == '{"x":{"y":"1"}}'


def test_decode_warnings_go_to_stderr() -> None:
    result = run("decode", "--compact", input="a=%zz&b=%FF")
    assert result.exit_code == 0
    assert result.stdout == '{"a":"%zz","b":"\ufffd"}\n'
    assert "Warning: stdin: invalid % escapes" in result.stderr
    assert "Warning: stdin: invalid UTF-8" in result.stderr
    many = "&".join(f"v{i}=1" for i in range(1001))
    assert "max_input_vars" in run("decode", "--compact", input=many).stderr
    deep = "a" + "[x]" * 65 + "=1"
    assert "max_input_nesting_level" in run("decode", "--compact", input=deep).stderr


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["decode"], "", "Error: stdin: empty input"),
        (["decode"], "  \n", "Error: stdin: empty input"),
        (["decode", "/nonexistent/x.txt"], None, "Error: /nonexistent/x.txt: no such file"),
        (["decode"], "[1, 2]", "not an object"),
        (["decode"], "curl https://x -H 'a: b'", "has no body"),
        (["decode", "--from", "json"], "a=1&b=2", "Error: stdin: "),
        (["decode", "--from", "curl"], "a=1&b=2", "Error: stdin: "),
        (["decode", "--from", "http"], "a=1&b=2", "Error: stdin: "),
        (["decode", "--from", "nope"], "a=1", "--from must be one of"),
    ],
)
def test_decode_bad_input(args: list[str], stdin: str | None, message: str) -> None:
    result = run(*args, input=stdin)
    assert result.exit_code == ExitCode.USAGE
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    assert result.stderr.count("\n") == 1
    assert message in result.stderr


def test_decode_directory_is_an_error(tmp_path: Path) -> None:
    result = run("decode", str(tmp_path))
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == f"Error: {tmp_path}: is a directory\n"


def test_decode_never_tracebacks_on_any_bytes() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=150, deadline=None)
    @given(st.binary(max_size=300))
    def check(data: bytes) -> None:
        result = run("decode", input=data)
        assert result.exit_code in (0, 2), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        if result.exit_code == 2:
            assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1

    check()


def test_decode_does_not_import_the_client_or_the_server() -> None:
    """Nor what a form body does not need: the catalog (callbacks are JSON),
    asyncio, dataclasses, base64 (start-up time, bench/startup.py)."""
    code = (
        "import sys; sys.argv=['amodp','decode','-'];"
        "from amodp.cli import app\n"
        "try: app()\n"
        "except SystemExit: pass\n"
        "bad=[m for m in ('httpx','uvicorn','aiohttp','rich','orjson','asyncio',"
        "'dataclasses','base64','amodp.listener','amodp.sender','amodp.catalog')"
        " if m in sys.modules]\n"
        "print(bad, file=sys.stderr); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=DP_STATUS, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()


def test_library_import_is_light() -> None:
    code = (
        "import sys, amodp; from amodp import decode, encode, generate;"
        "assert callable(generate) and generate('status', seed=1).body;"
        "bad=[m for m in ('typer','rich','httpx','uvicorn','aiohttp','click') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


# -- send and generate as a new user meets them ---------------------------------------

AMODP = [sys.executable, "-m", "amodp"]
#: stdout to a pipe block-buffered, as a user's shell has it.
BUFFERED = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


@contextmanager
def gated_server(open_after: int) -> Iterator[Gate]:
    """A loopback server that answers 200 and counts; from request ``open_after + 1``
    on, it answers only once ``gate.opened`` is set (or after 30 s)."""
    gate = Gate()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # keep-alive answers without a 40 ms delay

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with gate.lock:
                gate.count += 1
                number = gate.count
            if number > open_after:
                gate.opened.wait(30)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as url:
        gate.url = url + "/hook"
        try:
            yield gate
        finally:
            gate.opened.set()


@dataclass
class Gate:
    url: str = ""
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    opened: threading.Event = field(default_factory=threading.Event)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill (if still running) and close the pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_core_errors_speak_of_parameters_not_options() -> None:
    from amodp.errors import UsageError
    from amodp.generator import generate, parse_override
    from amodp.sender import check_url

    with pytest.raises(UsageError) as count:
        generate("status", count=0)
    assert str(count.value) == "count must be at least 1, got 0"
    assert count.value.param == "count"
    with pytest.raises(UsageError) as pair:
        parse_override("novalue")
    assert "'novalue'" in str(pair.value) and "--set" not in str(pair.value)
    with pytest.raises(UsageError) as url:
        check_url("ftp://x")
    assert str(url.value).startswith("URL must be http(s)://host[:port]/path, got 'ftp://x'")
    assert url.value.param == "url"


def test_exit_codes_live_beside_the_errors() -> None:
    from amodp import errors

    assert ExitCode is errors.ExitCode
    assert errors.AmodpError.exit_code is ExitCode.USAGE
    assert errors.NetworkError.exit_code is ExitCode.NETWORK
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 130]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://[::1", "an IPv6 address without its closing ]"),
        ("http://127.0.0.1:abc/", "the port is not a number from 1 to 65535"),
        ("http://127.0.0.1:99999/", "the port is not a number from 1 to 65535"),
        ("http://:8000/", "no host"),
        ("ftp://example.com/", "the scheme is 'ftp'"),
    ],
)
def test_send_malformed_url_is_one_line_exit_2(url: str, why: str) -> None:
    result = run("send", "status", "--url", url)
    assert result.exit_code == ExitCode.USAGE
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: --url: URL must be http(s)://host[:port]/path, got {url!r}: {why}\n"
    )


@pytest.mark.parametrize("timeout", ["-1", "0"])
def test_send_refuses_a_timeout_that_is_not_positive(timeout: str) -> None:
    result = run("send", "status", "--url", "http://127.0.0.1:9/", "--timeout", timeout)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == (
        f"Error: --timeout: timeout must be more than 0 seconds, got {timeout}\n"
    )


def _send_error(*args: str) -> str:
    result = run("send", "status", "--json", *args)
    assert result.exit_code == ExitCode.NETWORK, result.stderr
    error = json.loads(result.stdout)["error"]
    assert "ssl:default" not in result.stderr + error
    assert "Connect call failed" not in result.stderr + error
    assert result.stderr.count("\n") == 1 and result.stderr.endswith(error.split(": ", 1)[1] + "\n")
    return error


def test_send_network_errors_in_the_users_words() -> None:
    port = _free_port()
    assert _send_error("--url", f"http://127.0.0.1:{port}/") == (
        f"refused: connection refused by 127.0.0.1:{port}"
    )
    with recording_server() as server:
        plain = server.url.removeprefix("http://")
        assert _send_error("--url", f"https://{plain}/") == (
            f"tls: {plain} speaks plain HTTP, not HTTPS"
        )
    with socket.socket() as silent:  # accepts (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        assert _send_error("--url", url, "--timeout", "0.5") == "timeout: timed out after 0.5 s"
    # .invalid never resolves (RFC 6761); nothing leaves the machine.
    assert _send_error("--url", "http://nosuch.invalid/") == (
        "dns: cannot resolve host nosuch.invalid"
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["send", "--nope"], "No such option: --nope"),
        (["generate", "--nope"], "No such option: --nope"),
        (["decode", "--nope"], "No such option: --nope"),
        (["listen", "--nope"], "No such option: --nope"),
        (["events", "--kind"], "Option '--kind' requires an argument."),
        (["send", "--url"], "Option '--url' requires an argument."),
        (
            ["generate", "--color", "purple"],
            "--color: unknown colour 'purple'; choose from: auto, always, never",
        ),
        (["send", "--repeat", "x"], "--repeat: 'x' is not a valid int"),
        (["encode", "a", "b"], "unexpected extra argument"),
    ],
)
def test_command_line_mistakes_are_an_error_line_and_a_hint(args: list[str], error: str) -> None:
    result = run(*args)
    assert result.exit_code == ExitCode.USAGE
    assert result.stdout == ""
    first, hint = result.stderr.splitlines()
    assert first.startswith("Error: ") and error in first
    assert hint == f"Try 'amodp {args[0]} --help'."


def test_command_line_mistake_in_a_real_process() -> None:
    done = subprocess.run([*AMODP, "send", "--zzzz"], capture_output=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == b""
    assert done.stderr.decode().endswith(
        "Error: No such option: --zzzz\nTry 'amodp send --help'.\n"
    )


def test_send_goes_on_when_the_reader_of_stdout_leaves() -> None:
    # `amodp send ... --json | head -2`: the first lines come out, the reader
    # leaves, every request is still sent and the exit code is the deliveries'.
    with gated_server(open_after=100) as gate:
        cmd = [*AMODP, "send", "status", "--repeat", "300", "--json", "--url", gate.url]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=BUFFERED)
        try:
            assert proc.stdout is not None and proc.stderr is not None
            lines = [proc.stdout.readline(), proc.stdout.readline()]
            proc.stdout.close()
            gate.opened.set()
            err = proc.stderr.read()
            code = proc.wait(timeout=60)
        finally:
            _stop(proc)
        assert all(json.loads(line)["status"] == 200 for line in lines)
        assert (code, gate.count) == (0, 300), err.decode()


def test_send_plain_lines_come_out_one_by_one() -> None:
    # Without --repeat each delivery line is flushed as it happens: a reader
    # sees the first while the next one is still under way.
    with gated_server(open_after=1) as gate:
        cmd = [*AMODP, "send", "--all", "--url", gate.url]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=BUFFERED)
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            seen_while_waiting = gate.count
            proc.stdout.close()
            gate.opened.set()
            code = proc.wait(timeout=60)
        finally:
            _stop(proc)
        assert first.startswith(b"leads.") and b"  200  " in first
        assert seen_while_waiting <= 2  # the rest waited for the reader
        assert (code, gate.count) == (0, len(catalog.events("dp")))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_send_interrupted_shows_what_was_sent_and_exits_130(signum: int) -> None:
    with recording_server() as server:
        cmd = [*AMODP, "send", "status", "--repeat", "100000", "--concurrency", "20"]
        cmd += ["--url", server.url + "/hook"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for _ in range(600):
                if len(server.requests) >= 100 or proc.poll() is not None:
                    break
                time.sleep(0.05)
            assert len(server.requests) >= 100
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=30)
        finally:
            _stop(proc)
        received = len(server.requests)
    text = err.decode()
    assert proc.returncode == ExitCode.INTERRUPTED, text
    assert out == b""
    rows = dict(line.split("\t", 1) for line in text.splitlines() if "\t" in line)
    assert 0 < int(rows["sent"]) <= received < 100000
    assert rows["2xx"] == rows["sent"]
    for label in ("rate", "latency p50", "latency p95", "latency p99"):
        assert label in rows
    assert "(interrupted)" in text
    assert text.rstrip("\n").endswith(
        f"Error: interrupted after {rows['sent']} of 100000 deliveries"
    )


def test_generate_all_says_which_events_a_field_skipped() -> None:
    result = run("generate", "--all", "--seed", "1", "--set", "status_id=142")
    assert result.exit_code == 0
    without = [e.name for e in catalog.events("dp") if "status_id" not in e.field_names]
    assert without  # the customers events have no status_id
    assert result.stderr == f"Warning: skipped {', '.join(without)}: no field status_id\n"
    assert len(result.stdout.splitlines()) == len(catalog.events("dp")) - len(without)


def test_negative_seed_is_refused() -> None:
    result = run("generate", "status", "--seed", "-7")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == "Error: --seed: seed must be 0 or more, got -7\n"


def test_send_concurrency_without_repeat_prints_each_delivery() -> None:
    with recording_server() as server:
        result = run("send", "--all", "--url", server.url, "--concurrency", "5")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(server.requests) == len(catalog.events("dp"))
    assert all("  200  'ok'  " in line for line in lines)
    assert result.stderr == ""


def _accounts(bodies: list[str | bytes]) -> set[tuple[str, str]]:
    found = set()
    for body in bodies:
        account = decode(body)["account"]
        found.add((account["id"], account["subdomain"]))
    return found


@pytest.mark.parametrize("kind", ["dp", "account"])
def test_one_run_is_one_account(kind: str) -> None:
    result = run("generate", "--all", "--kind", kind, "--count", "3")
    assert result.exit_code == 0, result.stderr
    assert len(_accounts(result.stdout.splitlines())) == 1
    seeded = run("generate", "--all", "--kind", kind, "--seed", "9").stdout
    assert seeded == run("generate", "--all", "--kind", kind, "--seed", "9").stdout
    acme = run("generate", "--all", "--kind", kind, "--set", "account[subdomain]=acme")
    assert {s for _, s in _accounts(acme.stdout.splitlines())} == {"acme"}


def test_send_all_is_one_account() -> None:
    with recording_server() as server:
        result = run("send", "--all", "--url", server.url)
    assert result.exit_code == 0, result.stderr
    assert len(_accounts([r.body for r in server.requests])) == 1


def test_demo_is_one_account() -> None:
    done = subprocess.run([*AMODP, "demo", "--json"], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == len(catalog.events("dp"))
    assert len(_accounts([r["body"] for r in records])) == 1


def test_color_always_colours_a_pipe_and_never_does_not() -> None:
    args = ["generate", "status", "--seed", "1", "-f", "json"]
    plain = run(*args).stdout
    assert "\x1b[" not in plain
    for coloured in (run(*args, "--color", "always"), run("--color", "always", *args)):
        assert coloured.exit_code == 0
        assert "\x1b[" in coloured.stdout
        assert re.sub(r"\x1b\[[0-9;]*m", "", coloured.stdout) == plain
    assert run(*args, "--color", "never").stdout == plain
    assert run(*args).stdout == plain  # the choice does not outlive its command


def test_force_color_and_no_color() -> None:
    cmd = [*AMODP, "decode", "--compact"]
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}

    def shown(**extra: str) -> str:
        done = subprocess.run(
            cmd, input=DP_STATUS, capture_output=True, env={**env, **extra}, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.decode()

    assert "\x1b[" not in shown()
    assert "\x1b[" in shown(FORCE_COLOR="1")
    assert "\x1b[" not in shown(FORCE_COLOR="1", NO_COLOR="1")


def test_send_all_dry_run_separates_the_requests() -> None:
    result = run("send", "--all", "--seed", "2", "--url", "http://127.0.0.1:9/h", "--dry-run")
    assert result.exit_code == 0
    parts = re.split(r"^### (\S+)\n", result.stdout_bytes.decode(), flags=re.M)
    assert parts[0] == ""
    names, requests = parts[1::2], parts[2::2]
    assert names == [e.name for e in catalog.events("dp")]
    for request in requests:
        head, _, body = request.partition("\r\n\r\n")
        assert head.startswith("POST /h HTTP/1.1\r\n")
        length = int(re.search(r"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
        assert body == body[:length] + "\n"


# -- send: amoCRM's rules and its retry ladder ----------------------------------------


@contextmanager
def failing_server(statuses: list[int]) -> Iterator[Recording]:
    """Answers the statuses in turn (the last one from then on); keeps the
    request ids in arrival order."""
    got = Recording()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with got.lock:
                got.ids.append(self.headers.get("X-Amocrm-Requestid", ""))
                status = statuses[min(len(got.ids), len(statuses)) - 1]
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as url:
        got.url = url + "/hook"
        yield got


@dataclass
class Recording:
    url: str = ""
    ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _send(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AMODP, "send", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, NO_COLOR="1"),
    )


ACCOUNT_ADD = ["add", "--lead", "--kind", "account", "--seed", "4"]


def test_send_retries_a_5xx_up_to_attempt_5() -> None:
    # docs/delivery-rules.md: 5 min, 15 min, then after a 5xx 15 min and 1 h.
    with failing_server([500]) as server:
        done = _send(*ACCOUNT_ADD, "--url", server.url, "--retries", "amocrm",
                     "--time-scale", "0.0001")  # fmt: skip
    assert done.returncode == 1
    assert len(server.ids) == 5 and len(set(server.ids)) == 1  # the same request each time
    assert done.stdout.endswith("  500: amoCRM retries in 5 min\n")
    assert done.stderr.splitlines() == [
        "leads.add  attempt 2 after 5 min (0.03 s scaled): 500: amoCRM retries in 15 min",
        "leads.add  attempt 3 after 15 min (0.09 s scaled): 500: amoCRM retries in 15 min",
        "leads.add  attempt 4 after 15 min (0.09 s scaled): 500: amoCRM retries in 1 h",
        "leads.add  attempt 5 after 1 h (0.36 s scaled): 500: amoCRM gives up: this change is lost",
        "Error: 1 of 1 deliveries got no 2xx",
    ]


def test_send_retries_a_redirect_twice_only() -> None:
    with failing_server([302]) as server:
        done = _send(*ACCOUNT_ADD, "--url", server.url, "--retries", "amocrm",
                     "--time-scale", "0.0001", "--json")  # fmt: skip
    assert done.returncode == 1
    assert len(server.ids) == 3
    [record] = [json.loads(line) for line in done.stdout.splitlines()]
    assert (record["status"], record["ok"]) == (302, False)
    assert record["reason"] == (
        "302: not a success for amoCRM (no redirects followed); retried in 5 min"
    )
    assert done.stderr.splitlines()[-2] == (
        "leads.add  attempt 3 after 15 min (0.09 s scaled): 302: not a success for amoCRM "
        "(no redirects followed); amoCRM gives up: this change is lost"
    )


def test_send_delivered_on_a_retry_exits_0() -> None:
    with failing_server([503, 200]) as server:
        done = _send(*ACCOUNT_ADD, "--url", server.url, "--retries", "amocrm",
                     "--time-scale", "0.001")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(server.ids) == 2
    line, total = done.stderr.splitlines()
    assert line.startswith("leads.add  attempt 2 after 5 min (0.3 s scaled): 200 in ")
    assert line.endswith(": delivered")
    assert total == "1 of 1 failed deliveries got through on a retry"


def test_send_says_when_amocrm_would_disable_the_hook() -> None:
    # More than 100 invalid answers within 2 h (7.2 s at this scale), the latest invalid.
    with failing_server([500]) as server:
        done = _send(*ACCOUNT_ADD, "--url", server.url, "--retries", "amocrm",
                     "--time-scale", "0.001", "--repeat", "101", "--concurrency", "20")  # fmt: skip
    assert done.returncode == 1
    assert (
        "amoCRM would have disabled this hook: 101 invalid answers within 2 h "
        "(7.2 s scaled), more than 100, the latest invalid"
    ) in done.stderr.splitlines()
    assert done.stderr.splitlines()[-1] == "Error: amoCRM would have disabled this hook"
    assert len(server.ids) < 101 * 5  # no retries once disabled


def test_send_dp_is_not_retried() -> None:
    with failing_server([500]) as server:
        done = _send("status", "--lead", "--url", server.url, "--retries", "amocrm")
    assert done.returncode == 1
    assert len(server.ids) == 1
    assert done.stderr.splitlines()[0] == (
        "Note: amoCRM does not retry DP webhooks: each is sent once."
    )
    assert done.stdout.endswith("  500: DP webhooks are not retried: this change is lost\n")


def test_send_a_2xx_later_than_2_s_is_a_failure() -> None:
    from .receivers import broken

    with broken.serving({"leads.status": "slow"}) as receiver:
        done = _send("status", "--lead", "--kind", "account", "--url", receiver.url, "--json")
    assert done.returncode == 1
    [record] = [json.loads(line) for line in done.stdout.splitlines()]
    assert (record["status"], record["ok"]) == (200, False)
    assert record["latency_ms"] >= broken.SLOW_S * 1000
    assert record["reason"].endswith(": amoCRM gives up after 2 s and retries in 5 min")
    assert done.stderr == (
        "Error: 1 of 1 deliveries took longer than amoCRM waits: " + record["reason"] + "\n"
    )


def test_send_warns_past_max_input_vars(php) -> None:  # noqa: ANN001
    from amodp import generate

    body = generate("status", "leads", seed=3, count=200).body
    variables = body.count(b"&") + 1
    assert variables > 1000
    # What a default PHP receiver keeps of it: the first 1000 variables (parse_str).
    whole, kept = (json.loads(php.php_decode_many([body], limits=x)[0]) for x in (False, True))
    assert kept != whole
    with failing_server([200]) as server:
        done = _send("status", "--lead", "--count", "200", "--seed", "3", "--url", server.url)
    assert done.returncode == 0
    assert done.stderr == (
        f"Warning: leads.status: {variables} variables in the body; a PHP receiver with "
        "the default max_input_vars keeps only the first 1000\n"
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--retries", "always"], "Error: --retries: unknown retries 'always'; choose from: "
         "none, amocrm"),
        (["--time-scale", "0", "--retries", "amocrm"],
         "Error: --time-scale: must be more than 0, got 0"),
        (["--time-scale", "0.1"], "Error: --time-scale: sets the clock of --retries amocrm"),
    ],
)  # fmt: skip
def test_send_bad_retries(args: list[str], error: str) -> None:
    result = run("send", "status", "--url", "http://127.0.0.1:9/", *args)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == error
