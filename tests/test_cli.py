"""Every command through the CLI: stdout, stderr and exit code, errors included."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from amodp import catalog, decode
from amodp.cli import ExitCode, app

from .servers import recording_server

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


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_generate_curl_sends_the_same_request() -> None:
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
        (["generate", "status", "--set", "novalue"], "--set wants FIELD=VALUE"),
        (["generate", "status", "-f", "xml"], "--format must be one of"),
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
        (["decode"], "", "Error: stdin: the input is empty"),
        (["decode"], "  \n", "Error: stdin: the input is empty"),
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
    code = (
        "import sys; sys.argv=['amodp','decode','-'];"
        "from amodp.cli import app\n"
        "try: app()\n"
        "except SystemExit: pass\n"
        "bad=[m for m in ('httpx','uvicorn','aiohttp','rich','orjson',"
        "'amodp.listener','amodp.sender') if m in sys.modules]\n"
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
