"""The receivers in examples/ against amodp: real processes, real sockets on 127.0.0.1.

Each receiver logs one JSON line per webhook; ``amodp send`` sends it realistic
webhooks and every line must be what ``amodp.decode`` makes of the body sent,
key order included. Where a receiver disagrees for a body amoCRM really sends,
the test asserts the difference documented in examples/README.md.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from amodp import decode, generate, generate_all, parse, to_json

from .conftest import require_node, require_php

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
AMODP = [sys.executable, "-m", "amodp"]

# Every DP and account-level combination, one item and 25 (list indexes above 20).
AGREED = [("dp", 1), ("dp", 25), ("account", 1), ("account", 25)]
# Large batches: 1002 variables in 50 KB (the DP account block comes last),
# and about 1600 variables in 120 KB (over Express's default 100 KB).
BIG = [("status", "leads", "dp", 200), ("add", "contacts", "account", 60)]
# A chat message with a line separator, as messengers pass it on.
LINE_SEPARATOR = ("add", "message", "account", "text=Добрый день!\u2028Когда доставка?")

PHP_READY = re.compile(r"Development Server \(http://127\.0\.0\.1:(\d+)\) started")
NODE_READY = re.compile(r"Listening on http://127\.0\.0\.1:(\d+)")


def ordered(text: str) -> Any:
    """A JSON text parsed with every object as a list of pairs: order counts."""
    return json.loads(text, object_pairs_hook=list)


def expected(body: bytes) -> str:
    """What PHP's json_encode($_POST) prints for ``body``, per amodp."""
    return to_json(decode(body), indent=None)


@contextmanager
def serving(cmd: list[str], ready: re.Pattern[str], tmp: Path, cwd: Path) -> Iterator[str]:
    """Run a receiver with WEBHOOK_LOG=tmp/log; yield its URL; always stop it."""
    out = tmp / "server.out"
    env = dict(os.environ, WEBHOOK_LOG=str(tmp / "log"))
    with out.open("wb") as sink:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while not (match := ready.search(out.read_text(errors="replace"))):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{cmd} did not start:\n{out.read_text(errors='replace')}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{match.group(1)}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def send(url: str, *args: str) -> tuple[int, list[dict[str, Any]]]:
    """``amodp send ARGS --json`` to ``url``: its exit code and delivery records."""
    result = subprocess.run(
        [*AMODP, "send", *args, "--url", f"{url}/amo/hook", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records, result.stderr
    return result.returncode, records


def send_all(url: str, kind: str, count: int, seed: int) -> list[bytes]:
    """Send every combination of ``kind``; return the bodies sent, in order."""
    code, records = send(url, "--all", "--kind", kind, "--count", str(count), "--seed", str(seed))
    assert code == 0, records
    assert {r["status"] for r in records} == {200}
    return [hook.body for hook in generate_all(kind=kind, seed=seed, count=count)]


def logged(tmp: Path) -> list[str]:
    """The receiver's log lines. Not splitlines(): that also splits at U+2028."""
    path = tmp / "log"
    return path.read_text(encoding="utf-8").split("\n")[:-1] if path.exists() else []


def first_vars(body: bytes, n: int) -> bytes:
    """The body cut to its first ``n`` variables."""
    return b"&".join(body.split(b"&")[:n])


# -- PHP: $_POST ---------------------------------------------------------------


@pytest.fixture
def php_receiver(tmp_path: Path) -> Iterator[str]:
    require_php()
    # PHP's default limits, whatever the local php.ini says.
    limits = ["-d", "max_input_vars=1000", "-d", "post_max_size=8M"]
    cmd = ["php", *limits, "-S", "127.0.0.1:0", str(EXAMPLES / "php" / "receiver.php")]
    with serving(cmd, PHP_READY, tmp_path, EXAMPLES / "php") as url:
        yield url


def test_php_receiver_logs_what_amodp_decodes(php_receiver: str, tmp_path: Path) -> None:
    bodies = []
    for seed, (kind, count) in enumerate(AGREED, start=1):
        bodies += send_all(php_receiver, kind, count, seed)
    lines = logged(tmp_path)
    assert len(lines) == len(bodies) == 2 * (10 + 35)
    for body, line in zip(bodies, lines, strict=True):
        # Byte for byte: the same values, key order and JSON escaping.
        assert line == expected(body), body


def test_php_receiver_line_separator(php_receiver: str, tmp_path: Path) -> None:
    event, entity, kind, text = LINE_SEPARATOR
    args = [event, "--entity", entity, "--kind", kind, "--set", text, "--seed", "3"]
    assert send(php_receiver, *args)[0] == 0
    body = generate(event, entity, kind=kind, seed=3, overrides=[text.split("=", 1)]).body
    assert logged(tmp_path) == [expected(body)]
    assert "\\u2028" in expected(body)


def test_php_receiver_keeps_1001_variables_of_a_big_batch(
    php_receiver: str, tmp_path: Path
) -> None:
    # PHP answers 200 and drops what is over max_input_vars: $_POST keeps 1001
    # variables (parse_str() keeps 1000); amodp keeps all and warns.
    bodies = []
    for seed, (event, entity, kind, count) in enumerate(BIG, start=1):
        args = [event, "--entity", entity, "--kind", kind, "--count", str(count)]
        assert send(php_receiver, *args, "--seed", str(seed))[0] == 0
        bodies.append(generate(event, entity, kind=kind, seed=seed, count=count).body)
    lines = logged(tmp_path)
    assert len(lines) == 2
    for body, line in zip(bodies, lines, strict=True):
        assert body.count(b"&") + 1 > 1001
        assert line == expected(first_vars(body, 1001))
        assert any("max_input_vars" in w for w in parse(body).warnings)
    dp = json.loads(lines[0])
    assert dp["account"] == {"id": decode(bodies[0])["account"]["id"]}  # no subdomain


# -- Python: Flask with amodp.decode -------------------------------------------


@contextmanager
def serving_example(filename: str) -> Iterator[tuple[Any, str]]:
    """examples/python/FILENAME (a Flask app) served by werkzeug in a thread:
    (module, url). Flask comes with amodp's test extra: without it this fails."""
    from werkzeug.serving import make_server

    path = EXAMPLES / "python" / filename
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    receiver = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(receiver)
    server = make_server("127.0.0.1", 0, receiver.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def flask_receiver(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Any, str]]:
    """examples/python/receiver.py, served: (module, url)."""
    monkeypatch.setenv("WEBHOOK_LOG", str(tmp_path / "log"))
    with serving_example("receiver.py") as served:
        yield served


def test_flask_receiver_keeps_and_logs_what_amodp_decodes(
    flask_receiver: tuple[Any, str], tmp_path: Path
) -> None:
    receiver, url = flask_receiver
    bodies = send_all(url, "dp", 1, 5) + send_all(url, "account", 25, 6)
    assert list(receiver.RECEIVED) == [decode(body) for body in bodies]
    assert logged(tmp_path) == [expected(body) for body in bodies]


# -- Python: Flask checking the callbacks' signatures -------------------------

CHANNEL_SECRET = "5a44c5dff55f3c15a4cce8d7c4cc27e207c7e189"
CLIENT_SECRET = "Xq3vT9sLk2mN8pR4wY6zB1cD5fG7hJ0aQeUiOtSrVbNmKlJhGfDsApOiUyTrEwQz"
CLIENT_ID = "01d01160-d7a0-4087-b4af-6a1bb83fcd1d"


@pytest.fixture
def callbacks_receiver(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[Any, str]]:
    """examples/python/callbacks_receiver.py, served: (module, url)."""
    monkeypatch.setenv("WEBHOOK_LOG", str(tmp_path / "log"))
    monkeypatch.setenv("CHANNEL_SECRET", CHANNEL_SECRET)
    monkeypatch.setenv("CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("CLIENT_ID", CLIENT_ID)
    with serving_example("callbacks_receiver.py") as served:
        yield served


def send_callbacks(url: str, secret: str, *args: str) -> tuple[int, list[dict[str, Any]]]:
    """``amodp send ARGS --json`` with the secret in AMODP_SECRET."""
    result = subprocess.run(
        [*AMODP, "send", *args, "--url", url, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, AMODP_SECRET=secret),
    )
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records, result.stderr
    assert secret not in result.stdout + result.stderr
    return result.returncode, records


def test_callbacks_receiver_accepts_signed_chat_hooks(callbacks_receiver: tuple[Any, str]) -> None:
    from amodp import callbacks

    receiver, url = callbacks_receiver
    code, records = send_callbacks(
        f"{url}/amo/chat", CHANNEL_SECRET, "--all", "--kind", "chat", "--seed", "1"
    )
    assert (code, [r["status"] for r in records]) == (0, [200] * 4)
    sent = callbacks.generate_all("chat", seed=1, secret=CHANNEL_SECRET)
    assert list(receiver.RECEIVED) == [("chat", hook.json) for hook in sent]
    # The raw body is hashed: any JSON layout passes; another secret or a body
    # changed on the way gets 401, and nothing is kept.
    for args, status in (
        (["--json-style", "pretty"], 200),
        (["--bad-signature"], 401),
        (["--flaw", "body-changed"], 401),
    ):
        chat = ["message", "--kind", "chat", *args]
        code, records = send_callbacks(f"{url}/amo/chat", CHANNEL_SECRET, *chat)
        assert [r["status"] for r in records] == [status], args
    code, records = send_callbacks(f"{url}/amo/chat", CLIENT_SECRET, "typing", "--kind", "chat")
    assert (code, records[0]["status"], records[0]["response"]) == (1, 401, "bad X-Signature")
    assert len(receiver.RECEIVED) == 5


def test_callbacks_receiver_checks_the_salesbot_token(callbacks_receiver: tuple[Any, str]) -> None:
    receiver, url = callbacks_receiver
    bot = ["widget_request", "--kind", "salesbot", "--client-uuid", CLIENT_ID]
    code, records = send_callbacks(f"{url}/amo/salesbot", CLIENT_SECRET, *bot)
    assert (code, records[0]["status"]) == (0, 200)
    [(kind, kept)] = receiver.RECEIVED
    assert kind == "salesbot" and kept["claims"]["client_uuid"] == CLIENT_ID
    for args, reason in (
        (["--expired"], "token expired"),
        (["--bad-signature"], "bad token: Signature verification failed"),
        (["--flaw", "not-yet-valid"], "bad token: The token is not yet valid (nbf)"),
    ):
        code, records = send_callbacks(f"{url}/amo/salesbot", CLIENT_SECRET, *bot, *args)
        assert (code, records[0]["status"], records[0]["response"]) == (1, 401, reason)
    assert len(receiver.RECEIVED) == 1


def test_callbacks_receiver_checks_the_disable_hook(callbacks_receiver: tuple[Any, str]) -> None:
    receiver, url = callbacks_receiver
    off = ["disabled", "--kind", "oauth", "--client-uuid", CLIENT_ID]
    code, records = send_callbacks(f"{url}/amo/disabled", CLIENT_SECRET, *off, "--seed", "2")
    assert (code, records[0]["status"]) == (0, 200)
    [(kind, kept)] = receiver.RECEIVED
    assert kind == "disabled" and kept["client_uuid"] == CLIENT_ID
    code, records = send_callbacks(f"{url}/amo/disabled", CLIENT_SECRET, *off, "--bad-signature")
    assert (code, records[0]["status"], records[0]["response"]) == (1, 401, "bad signature")
    other = ["disabled", "--kind", "oauth", "--client-uuid", "another"]
    code, records = send_callbacks(f"{url}/amo/disabled", CLIENT_SECRET, *other)
    assert (records[0]["status"], records[0]["response"]) == (401, "another integration's hook")


# -- Node: Express with urlencoded({extended: true}) (qs) -----------------------


@pytest.fixture(scope="session")
def node_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/node with express installed: in place if it is, else ``npm ci`` in a copy."""
    require_node()
    source = EXAMPLES / "node"
    if (source / "node_modules" / "express").is_dir():
        return source
    copy = tmp_path_factory.mktemp("node")
    for name in ("package.json", "package-lock.json", "receiver.js"):
        shutil.copy(source / name, copy / name)
    try:
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=copy,
            capture_output=True,
            check=True,
            timeout=300,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        output = (e.stderr or b"").decode(errors="replace")
        message = f"npm ci for examples/node failed: {e}\n{output}"
        if os.environ.get("AMODP_REQUIRE_NODE") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return copy


@pytest.fixture
def node_receiver(node_dir: Path, tmp_path: Path) -> Iterator[str]:
    with serving(["node", "receiver.js", "0"], NODE_READY, tmp_path, node_dir) as url:
        yield url


# Express's defaults, as a receiver without receiver.js's limits has them.
DEFAULT_EXPRESS = """
const express = require('express');
const app = express();
app.use(express.urlencoded({ extended: true }));
app.post('/{*path}', (req, res) => res.send('OK'));
app.use((err, req, res, next) => res.status(err.status).send(err.type));
const server = app.listen(0, '127.0.0.1', () =>
  console.log(`Listening on http://127.0.0.1:${server.address().port}`));
"""


def test_node_receiver_logs_what_amodp_decodes(node_receiver: str, tmp_path: Path) -> None:
    bodies = []
    for seed, (kind, count) in enumerate(AGREED, start=1):
        bodies += send_all(node_receiver, kind, count, seed)
    lines = logged(tmp_path)
    assert len(lines) == len(bodies) == 2 * (10 + 35)
    for body, line in zip(bodies, lines, strict=True):
        # JSON.stringify prints what json_encode prints: lists of 25 stay
        # arrays (body-parser raises qs's arrayLimit to the variable count).
        assert line == expected(body), body
    assert any(b"%5B24%5D" in body for body in bodies)


def test_node_receiver_line_separator(node_receiver: str, tmp_path: Path) -> None:
    # The same value; only the JSON text differs: JSON.stringify leaves U+2028
    # as it is, json_encode (and amodp) print it as \u2028.
    event, entity, kind, text = LINE_SEPARATOR
    args = [event, "--entity", entity, "--kind", kind, "--set", text, "--seed", "3"]
    assert send(node_receiver, *args)[0] == 0
    body = generate(event, entity, kind=kind, seed=3, overrides=[text.split("=", 1)]).body
    [line] = logged(tmp_path)
    assert ordered(line) == ordered(expected(body))
    assert line != expected(body)
    assert line.replace("\u2028", "\\u2028") == expected(body)


def test_node_receiver_takes_a_big_batch_whole(node_receiver: str, tmp_path: Path) -> None:
    bodies = []
    for seed, (event, entity, kind, count) in enumerate(BIG, start=1):
        args = [event, "--entity", entity, "--kind", kind, "--count", str(count)]
        assert send(node_receiver, *args, "--seed", str(seed))[0] == 0
        bodies.append(generate(event, entity, kind=kind, seed=seed, count=count).body)
    assert logged(tmp_path) == [expected(body) for body in bodies]


def test_express_defaults_refuse_a_big_batch(node_dir: Path, tmp_path: Path) -> None:
    # What receiver.js's limit and parameterLimit are for: with the defaults,
    # Express answers 413 and the webhook is lost (amoCRM resends it, in vain).
    reasons = {}
    with serving(["node", "-e", DEFAULT_EXPRESS], NODE_READY, tmp_path, node_dir) as url:
        for seed, (event, entity, kind, count) in enumerate(BIG, start=1):
            args = [event, "--entity", entity, "--kind", kind, "--count", str(count)]
            code, [record] = send(url, *args, "--seed", str(seed))
            assert (code, record["status"]) == (1, 413)
            reasons[entity] = record["response"]
            size = len(generate(event, entity, kind=kind, seed=seed, count=count).body)
            assert (size > 100 * 1024) == (entity == "contacts")
    assert reasons == {"leads": "parameters.too.many", "contacts": "entity.too.large"}


# -- captures ------------------------------------------------------------------


@pytest.mark.parametrize(
    "capture", sorted((EXAMPLES / "captures").iterdir()), ids=lambda path: path.name
)
def test_capture_decodes_without_warnings(capture: Path) -> None:
    result = subprocess.run(
        [*AMODP, "decode", str(capture), "--compact"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, NO_COLOR="1"),
    )
    assert (result.returncode, result.stderr) == (0, "")
    [line] = result.stdout.splitlines()
    decoded = json.loads(line)
    assert decoded["account"]["subdomain"].isalnum()
    assert len(decoded) == 2  # the account block and one entity


# -- the GitHub Actions workflow ------------------------------------------------


def workflow(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The job's env and each named step's ``run`` script (enough YAML for this file)."""
    text = path.read_text()
    block = re.search(r"^    env:\n((?:      .*\n)+)", text, re.M)
    assert block is not None
    env = {
        key: value.strip('"')
        for key, value in re.findall(r"^      ([A-Z_]+): (\S+)", block[1], re.M)
    }
    steps = {}
    for step in re.finditer(r"^      - name: (.+)\n((?:(?:        .*)?\n)*)", text, re.M):
        run = re.search(
            r"^        run: \|\n((?:(?:          .*)?\n)+)|^        run: (.+)\n", step[2], re.M
        )
        if run:
            steps[step[1]] = textwrap.dedent(run[1]) if run[1] else run[2]
    return env, steps


def test_github_actions_workflow_smoke_test(tmp_path: Path) -> None:
    # Its steps, run as GitHub runs them (bash -eo pipefail), in a scratch
    # directory holding the PHP receiver it starts.
    require_php()
    env, steps = workflow(EXAMPLES / "ci" / "github-actions.yml")
    assert steps["Install amodp"] == "pip install ."
    (tmp_path / "examples" / "php").mkdir(parents=True)
    shutil.copy(EXAMPLES / "php" / "receiver.php", tmp_path / "examples" / "php")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, **env, "PORT": str(port), "PATH": path, "NO_COLOR": "1"}

    def step(name: str, **override: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-eo", "pipefail", "-c", steps[name]],
            cwd=tmp_path,
            env=dict(env, **override),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )

    # Nothing listens yet: the send step fails (3: no answer).
    assert step("Send every webhook").returncode == 3
    assert step("Check the receiver as amoCRM judges it", GITHUB_RUN_NUMBER="7").returncode == 3
    try:
        assert step("Start the receiver").returncode == 0
        assert step("Wait for its port").returncode == 0
        sent = step("Send every webhook")
        assert sent.returncode == 0, sent.stderr
        records = [json.loads(line) for line in sent.stdout.splitlines()]
        assert [r["status"] for r in records] == [200] * (10 + 35)
        assert {r["url"] for r in records} == {f"http://127.0.0.1:{port}{env['HOOK_PATH']}"}
        assert len((tmp_path / "webhooks.jsonl").read_text().split("\n")) == 45 + 1
        checked = step("Check the receiver as amoCRM judges it", GITHUB_RUN_NUMBER="7")
        report = ET.parse(tmp_path / "amodp-check.xml").getroot()
        assert report.get("tests") == "203", checked.stderr
        # Only a loaded machine's late answers may fail; none is wrong.
        wrong = [
            f.get("message", "")
            for f in report.iter("failure")
            if "amoCRM gives up after" not in f.get("message", "")
        ]
        assert wrong == [] and report.get("errors") == "0"
        assert checked.returncode == (1 if report.get("failures") != "0" else 0)
    finally:
        stopped = step("Stop the receiver and show what it logged")
        pid = int((tmp_path / "receiver.pid").read_text())
        for _ in range(100):  # the step's kill, else ours
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError("the stop step left the receiver running")
    assert stopped.returncode == 0
    assert "Development Server" in stopped.stdout


def test_check_signs_salesbot_tokens_for_the_receiver_it_checks(
    callbacks_receiver: tuple[Any, str],
) -> None:
    # The token's aud is the receiver's origin: check makes it from --url, as send does.
    receiver, url = callbacks_receiver
    result = subprocess.run(
        [*AMODP, "check", "--kind", "salesbot", "--url", f"{url}/amo/salesbot", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, AMODP_SECRET=CLIENT_SECRET),
    )
    assert result.returncode == 0, result.stderr
    assert "3 cases: 3 passed, 0 failed" in result.stderr
    [(kind, kept)] = receiver.RECEIVED  # the valid one only; the spoiled ones got 401
    assert kind == "salesbot"
