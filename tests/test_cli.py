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
        (["generate", "period", "--lead"], "leads events: call_in, chat, mail_in, site_visit, status"),
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
    files = sorted(
        p.stem for p in (Path(catalog.__file__).parent / "events" / "dp").glob("*.json")
    )
    assert sorted(f"{r['entity']}.{r['event']}" for r in rows) == [
        f for f in files if not f.startswith("_")
    ]
    status = next(r for r in rows if r["entity"] == "leads" and r["event"] == "status")
    assert status["fields"] == ["id", "status_id", "pipeline_id", "old_status_id", "old_pipeline_id"]
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
