"""``amodp check`` in a subprocess against real receivers on 127.0.0.1: the
examples (PHP, Flask, Express) pass; broken ones fail with amoCRM's reasons,
as docs/delivery-rules.md writes them out, in the table, in --json and in
the JUnit report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from amodp import catalog

from .conftest import require_php
from .receivers import broken
from .test_check import SECRET, callback_receiver
from .test_examples import (  # noqa: F401 - fixtures
    EXAMPLES,
    NODE_READY,
    PHP_READY,
    flask_receiver,
    logged,
    node_dir,
    serving,
)

AMODP = [sys.executable, "-m", "amodp"]
ENV = dict(os.environ, NO_COLOR="1")
#: the default suite: every case of the two webhook kinds
DEFAULT = "203 cases"
#: the note of a default run without the receiver's secret
NO_SECRET = (
    "Note: chat, salesbot, oauth callbacks are signed: without --secret (or AMODP_SECRET) "
    "they are skipped.\n"
)


def check(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AMODP, "check", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
        stdin=subprocess.DEVNULL,
    )


def records(done: subprocess.CompletedProcess[str]) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for line in done.stdout.splitlines():
        record = json.loads(line)
        found[(record["kind"], record["case"])] = record
    return found


def table(done: subprocess.CompletedProcess[str]) -> dict[tuple[str, str], list[str]]:
    """The table's rows on stderr (tab-separated off a terminal), by (kind, case)."""
    lines = [line.split("\t") for line in done.stderr.splitlines() if "\t" in line]
    assert lines[0] == ["kind", "case", "sent", "status", "time", "result", "reason"]
    return {(row[0], row[1]): row for row in lines[1:]}


def late_but_2xx(record: dict[str, Any]) -> bool:
    """A 2xx that a loaded machine made later than amoCRM waits, and judged so:
    the verdicts are tested here, not this machine's speed."""
    return (
        record["status"] is not None
        and 200 <= record["status"] < 300
        and "amoCRM gives up after" in record["reason"]
    )


def assert_passes(done: subprocess.CompletedProcess[str], cases: int) -> None:
    """Every case passed (or was only late); the two max_input_vars cases warned."""
    found = records(done)
    assert len(found) == cases, done.stderr
    failed = [r for r in found.values() if not r["ok"]]
    assert all(late_but_2xx(r) for r in failed), failed
    assert done.returncode == (1 if failed else 0), done.stderr
    warned = {key for key, r in found.items() if r["warning"]}
    assert warned == {(k, "leads.status[max_input_vars]") for k in catalog.KINDS}
    total = done.stderr.splitlines()[-1]
    assert total.startswith(
        f"{cases} cases: {cases - len(failed)} passed, {len(failed)} failed, 2 warnings in "
    )


# -- broken receivers --------------------------------------------------------------

BEHAVIOUR = {
    "leads.status": "slow",
    "leads.add": "500",
    "leads.update": "302",
    "leads.delete": "close",
    "leads.mail_in": "500",
}
#: the reasons docs/delivery-rules.md gives for these answers
EXPECTED = {
    ("account", "leads.add[single]"): (500, "500: amoCRM retries in 5 min"),
    ("account", "leads.update[single]"): (
        302,
        "302: not a success for amoCRM (no redirects followed); retried in 5 min",
    ),
    ("account", "leads.delete[single]"): (
        None,
        "connection closed without an answer: amoCRM retries in 5 min",
    ),
    ("dp", "leads.mail_in[single]"): (500, "500: DP webhooks are not retried: this change is lost"),
}
SLOW = {
    ("account", "leads.status[single]"): ": amoCRM gives up after 2 s and retries in 5 min",
    ("dp", "leads.status[single]"): (
        ": amoCRM gives up after 2 s; DP webhooks are not retried: this change is lost"
    ),
}


@pytest.fixture(scope="module")
def broken_check(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[subprocess.CompletedProcess[str], Path]]:
    junit = tmp_path_factory.mktemp("junit") / "amodp-check.xml"
    with broken.serving(BEHAVIOUR) as receiver:
        done = check(
            "--url", receiver.url, "--only", "*[single]", "--seed", "2",
            "--json", "--junit", str(junit),
        )  # fmt: skip
    yield done, junit


def test_a_broken_receiver_fails_with_amocrms_reasons(
    broken_check: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, _ = broken_check
    assert done.returncode == 1, done.stderr
    found = records(done)
    singles = {(e.kind, f"{e.name}[single]") for k in catalog.KINDS for e in catalog.events(k)}
    assert set(found) == singles
    rows = table(done)
    assert set(rows) == singles
    for key, (status, reason) in EXPECTED.items():
        record = found[key]
        assert (record["status"], record["ok"], record["reason"]) == (status, False, reason)
        # What the receiver answered comes with the reason (its body here is "ok").
        answered = "" if status is None else " (answered: ok)"
        assert rows[key][3:] == [
            "-" if status is None else str(status),
            rows[key][4],
            "FAIL",
            reason + answered,
        ]
    for key, tail in SLOW.items():
        record = found[key]
        assert (record["status"], record["ok"]) == (200, False)
        assert record["latency_ms"] >= broken.SLOW_S * 1000
        # "2.31 s: amoCRM gives up after 2 s ..."
        assert record["reason"] == f"{rows[key][4]}{tail}"
        assert rows[key][4].startswith("2.3") and rows[key][4].endswith(" s")
    rest = [r for key, r in found.items() if key not in EXPECTED and key not in SLOW]
    assert all(r["ok"] or late_but_2xx(r) for r in rest)
    late = sum(1 for r in rest if not r["ok"])
    failed = len(EXPECTED) + len(SLOW) + late
    total = done.stderr.splitlines()[-1]
    assert total.startswith(
        f"{len(singles)} cases: {len(singles) - failed} passed, {failed} failed, 0 warnings in "
    )
    assert "Seed" not in done.stderr  # --seed given


def test_the_junit_report_of_a_broken_receiver(
    broken_check: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, junit = broken_check
    found = records(done)
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite"
    assert int(suite.get("tests", "")) == len(found)
    failed = [key for key, r in found.items() if not r["ok"]]
    assert int(suite.get("failures", "")) == len(failed)
    assert suite.get("errors") == "0"
    # The wall time: at least the slow answer.
    assert float(suite.get("time", "")) >= broken.SLOW_S
    cases = {(c.get("classname"), c.get("name")): c for c in suite.findall("testcase")}
    assert set(cases) == set(found)
    for key, case in cases.items():
        failure = case.find("failure")
        assert (failure is not None) == (key in failed)
        if failure is not None:
            assert failure.get("message") == found[key]["reason"]
    assert cases[("dp", "leads.status[single]")].find("failure") is not None


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_receiver_that_cannot_be_reached_exits_3(tmp_path: Path) -> None:
    port = free_port()
    junit = tmp_path / "j.xml"
    done = check(
        "--url", f"http://127.0.0.1:{port}/hook", "--kind", "dp", "--only", "leads.*[single]",
        "--junit", str(junit),
    )  # fmt: skip
    assert done.returncode == 3
    # One line, no table of refused cases: the first request went alone, and no further.
    assert done.stderr.splitlines()[1:] == [
        f"Error: cannot reach http://127.0.0.1:{port}/hook: connection refused by 127.0.0.1:{port}"
    ]
    assert done.stderr.startswith("Seed ")  # the one line before it
    suite = ET.parse(junit).getroot()
    assert suite.get("errors") == suite.get("tests") == "1"


def test_ctrl_c_shows_what_was_judged_and_exits_130() -> None:
    with broken.serving({"leads.status": "slow"}) as receiver:
        proc = subprocess.Popen(
            [*AMODP, "check", "--url", receiver.url, "--kind", "account", "--seed", "1",
             "--only", "leads.status[single]", "--only", "leads.add[single]", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            # The fast case is judged (its record printed); the slow one takes 2.3 s.
            judged = json.loads(proc.stdout.readline())
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert judged["case"] == "leads.add[single]"
    assert proc.returncode == 130, err
    lines = err.splitlines()
    assert lines[-1] == "Error: interrupted after 1 of 2 cases"
    assert lines[-2].startswith("1 case: 1 passed, 0 failed, 0 warnings in ")
    assert lines[-3].startswith("account\tleads.add[single]\t")
    assert "Traceback" not in err


def test_a_closed_stdout_stops_the_printing_not_the_checking(tmp_path: Path) -> None:
    junit = tmp_path / "j.xml"
    with broken.serving({}) as receiver:
        cmd = [*AMODP, "check", "--url", receiver.url, "--kind", "dp", "--json"]
        proc = subprocess.Popen(
            [*cmd, "--junit", str(junit)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=ENV,
        )
        try:
            assert proc.stdout is not None and proc.stderr is not None
            first = json.loads(proc.stdout.readline())
            proc.stdout.close()  # `| head -1`
            err = proc.stderr.read().decode()
            proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        received = len(receiver.received)
    assert first["kind"] == "dp"
    cases = len(ET.parse(junit).getroot().findall("testcase"))
    assert cases == 10 * 4 + 1  # single, batch, retry, account_last; one max_input_vars
    assert received == cases + 10  # the retries
    assert proc.returncode == 0, err
    assert err.splitlines()[-1].startswith(f"{cases} cases: {cases} passed, 0 failed, 1 warning")


def test_list_prints_the_cases_and_sends_nothing() -> None:
    done = check("--list", "--kind", "account", "--only", "leads.status[*")
    assert done.returncode == 0, done.stderr
    lines = [line.split("\t") for line in done.stdout.splitlines()]
    assert [(k, name) for k, name, *_ in lines] == [
        ("account", f"leads.status[{v}]")
        for v in ("single", "batch", "text", "retry", "account_last", "max_input_vars")
    ]
    assert lines[3][2].endswith(" ×2")
    # --list sends nothing, so it needs no secret: the callbacks' 15 cases are listed too.
    listed = check("--list", "--json", "--seed", "3")
    assert (listed.returncode, listed.stderr) == (0, "")
    assert len(listed.stdout.splitlines()) == 203 + 15
    assert json.loads(listed.stdout.splitlines()[0])["case"] == "leads.call_in[single]"


def test_list_into_head() -> None:
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", " ".join(AMODP) + " check --list | head -1"],
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("dp\tleads.call_in[single]\t1 item, ")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--kind", "nope"], "Error: --kind: unknown kind 'nope'; choose from: "
         "dp, account, chat, salesbot, oauth"),
        ([], "Error: --url is required (or --list to see the cases)"),
        (["--list", "--only", "nope"], "Error: no case matches 'nope'"),
        (["--url", "ftp://x/", "--kind", "dp"], "Error: --url: URL must be "
         "http(s)://host[:port]/path, got 'ftp://x/': the scheme is 'ftp'"),
        (["--url", "http://127.0.0.1:9/", "--kind", "chat,oauth"], "Error: --secret: chat, "
         "oauth callbacks are signed: give the receiver's secret with --secret or AMODP_SECRET"),
        (["--url", "chat=http://127.0.0.1:9/", "--kind", "dp,chat", "--secret", "s"],
         "Error: --url: no URL for dp: give --url URL, or --url KIND=URL for each"),
        (["--list", "--secret", "a", "--secret", "b"], "Error: --secret: give one secret for "
         "every kind, and KIND=SECRET for others"),
        (["--list", "--concurrency", "0"], "Error: --concurrency: must be at least 1, got 0"),
        (["--list", "--platform", "bitrix"], "Error: --platform: unknown platform 'bitrix'; "
         "choose from: amocrm, kommo"),
        (["--nope"], "Error: No such option: --nope"),
    ],
)  # fmt: skip
def test_bad_usage_exits_2(args: list[str], error: str) -> None:
    done = check(*args)
    assert done.returncode == 2
    assert error in done.stderr.splitlines()


def test_callback_kinds_are_skipped_without_a_secret() -> None:
    with broken.serving({}) as receiver:
        done = check("--url", receiver.url, "--kind", "dp,chat", "--only", "leads.status[single]")
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(
        "Note: chat callbacks are signed: without --secret (or AMODP_SECRET) they are skipped.\n"
    )
    assert [kind for kind, _ in receiver.received] == ["leads.status"]
    # Listing sends nothing: it needs no secret.
    listed = check("--list", "--kind", "dp,chat")
    assert (listed.returncode, listed.stderr) == (0, "")
    assert {line.split("\t")[0] for line in listed.stdout.splitlines()} == {"dp", "chat"}


def test_the_default_takes_every_kind_with_a_secret() -> None:
    done = subprocess.run(
        [*AMODP, "check", "--list"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(ENV, AMODP_SECRET=SECRET),
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert {line.split("\t")[0] for line in done.stdout.splitlines()} == set(catalog.ALL_KINDS)


def test_chat_against_a_receiver_that_checks_the_signature() -> None:
    with callback_receiver() as seen:
        done = check("--kind", "chat", "--secret", SECRET, "--seed", "4", "--url", seen.url)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1].startswith("8 cases: 8 passed, 0 failed, 0 warnings in ")
    row = table(done)[("chat", "chat.message[bad-signature]")]
    assert (row[3], row[5], row[6]) == ("401", "ok", "401: rejected a wrong signature")
    assert len(seen.requests) == 8


def test_chat_against_a_receiver_that_accepts_everything() -> None:
    with callback_receiver(strict=False) as seen:
        done = check(
            "--kind", "chat", "--secret", SECRET, "--seed", "4", "--url", seen.url, "--json"
        )
    assert done.returncode == 1
    found = records(done)
    failed = {case: r["reason"] for (_, case), r in found.items() if not r["ok"]}
    assert failed == {
        f"chat.{event}[bad-signature]": "200: accepted a request with a wrong signature"
        for event in ("comment_reply", "message", "reaction", "typing")
    }
    assert all(r["ok"] for (_, case), r in found.items() if case.endswith("[single]"))


def test_oauth_goes_as_get_without_a_body() -> None:
    with callback_receiver() as seen:
        done = check("--kind", "oauth", "--seed", "1", "--url", seen.url, timeout=60)
    assert done.returncode == 2  # oauth alone needs the secret
    with callback_receiver() as seen:
        env = dict(ENV, AMODP_SECRET=SECRET)
        done = subprocess.run(
            [*AMODP, "check", "--kind", "oauth", "--seed", "1", "--url", seen.url],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
    assert done.returncode == 0, done.stderr
    assert {m for m, _, _, _ in seen.requests} == {"GET"}
    assert all("Content-Length" not in h and b == b"" for _, _, h, b in seen.requests)


# -- the example receivers pass -------------------------------------------------------


def test_the_php_example_passes(tmp_path: Path) -> None:
    require_php()
    limits = ["-d", "max_input_vars=1000", "-d", "display_errors=0"]
    cmd = ["php", *limits, "-S", "127.0.0.1:0", str(EXAMPLES / "php" / "receiver.php")]
    junit = tmp_path / "amodp-check.xml"
    with serving(cmd, PHP_READY, tmp_path, EXAMPLES / "php") as url:
        done = check("--url", f"{url}/amo", "--json", "--junit", str(junit))
    assert_passes(done, 203)
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "203"
    assert len(logged(tmp_path)) == 203 + 45  # the retry cases send twice


def test_the_flask_example_passes(flask_receiver: tuple[Any, str]) -> None:  # noqa: F811
    _, url = flask_receiver
    assert_passes(check("--url", f"{url}/amo", "--json", "--seed", "11"), 203)


def test_the_express_example_passes(node_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    with serving(["node", "receiver.js", "0"], NODE_READY, tmp_path, node_dir) as url:
        done = check("--url", f"{url}/amo", "--json")
    assert_passes(done, 203)
    assert done.stderr.splitlines()[0] == NO_SECRET.rstrip("\n")
    assert "Seed " in done.stderr.splitlines()[1]


def test_a_passing_case_in_the_table() -> None:
    with broken.serving({}) as receiver:
        done = check("--url", receiver.url, "--kind", "dp", "--only", "leads.status[batch]")
    assert done.returncode == 0, done.stderr
    [row] = table(done).values()
    assert row[:4] == ["dp", "leads.status[batch]", row[2], "200"]
    assert row[2].startswith("3 items, ")
    assert row[5] == "ok" and row[6].endswith(": delivered")


def test_the_table_on_a_terminal_shows_the_brackets() -> None:
    import io

    from amodp.render import choose_colour, table

    choose_colour("always")  # the terminal's table (rich), not tab-separated lines
    try:
        out = io.StringIO()
        table(["case", "reason"], [["leads.status[retry]", "302: [no] redirects"]], out)
    finally:
        choose_colour("auto")
    shown = out.getvalue()
    assert "┃" in shown or "│" in shown
    assert "leads.status[retry]" in shown and "302: [no] redirects" in shown
