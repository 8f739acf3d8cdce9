"""The pytest plugin as a user gets it: a separate pytest process (pytester) that
loads it through its ``pytest11`` entry point and runs test files like the
README's, against the example Flask receiver, an ASGI app and the listener.

One pytest process runs all the user files at once (each costs a second or
two to start); its ``-v`` lines say which user test did what.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
RECEIVER = ROOT / "examples" / "python" / "receiver.py"

Run = Callable[..., pytest.RunResult]

#: The README's example ("Testing your receiver with pytest"), while the
#: README does not carry it; once it does, the README's own text is run.
README_EXAMPLE = """\
import receiver  # examples/python/receiver.py: a Flask app, or your own WSGI/ASGI app


def test_a_won_lead_is_received(amodp_webhook):
    webhook = amodp_webhook("status", entity="leads", status_id=142)
    response = webhook.post(receiver.app, path="/amocrm/webhook")
    assert response.status == 200
    assert receiver.RECEIVED[-1] == webhook.json
    assert receiver.RECEIVED[-1]["leads"]["status"][0]["status_id"] == "142"
"""

# Runs first (files run in name order): the plugin is loaded, nothing heavy is.
CHEAP = """
import sys

def test_nothing_heavy_is_loaded_until_a_fixture_is_used():
    heavy = ("uvicorn", "aiohttp", "amodp.listener", "amodp.generator", "amodp.testing")
    assert [name for name in heavy if name in sys.modules] == []
    assert "amodp.pytest_plugin" in sys.modules
"""

APPS_AND_LISTENER = r"""
from urllib.request import Request, urlopen

import pytest

from amodp import decode


async def asgi_app(scope, receive, send):
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    subdomain = decode(body)["account"]["subdomain"].encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": subdomain})


def test_an_asgi_app(amodp_webhook):
    webhook = amodp_webhook("period", entity="customers", overrides={"account[subdomain]": "acme"})
    assert webhook.json["account"]["subdomain"] == "acme"
    response = webhook.post(asgi_app)
    assert (response.status, response.text) == (200, "acme")


def test_a_webhook_has_the_fields_asked_for(amodp_webhook):
    first, second = amodp_webhook(seed=5), amodp_webhook(seed=5)
    assert first.body == second.body and first.request_id == second.request_id
    both = amodp_webhook(count=2, status_id=143, overrides=[("leads[status][1][id]", 7)])
    assert [item["status_id"] for item in both.json["leads"]["status"]] == ["143", "143"]
    assert both.json["leads"]["status"][1]["id"] == "7"
    assert decode(both.body) == both.json
    headers = dict(first.headers)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["Content-Length"] == str(len(first.body))
    assert first.event.name == "leads.status"


def test_post_to_the_listener(amodp_listener, amodp_webhook):
    webhook = amodp_webhook("status", entity="leads", status_id=142)
    response = webhook.post(amodp_listener.url, path="/amocrm/webhook?key=1")
    assert response.status == 200
    [record] = amodp_listener.wait(1)
    assert record["decoded"] == webhook.json
    assert (record["path"], record["query"]) == ("/amocrm/webhook", "key=1")
    assert [e["event"] for e in record["events"]] == ["status"]
    assert [key for key in record if key.startswith("_")] == []
    headers = dict(record["headers"])
    assert headers["host"] == amodp_listener.url.removeprefix("http://")
    assert headers["x-amocrm-requestid"] == webhook.request_id
    assert amodp_listener.records == [record]


def test_any_client_can_send_to_the_listener(amodp_listener, amodp_webhook):
    webhook = amodp_webhook()
    url = amodp_listener.url + "/hook"
    request = Request(url, data=webhook.body, headers=dict(webhook.headers))
    with urlopen(request, timeout=5) as answer:
        assert answer.status == 200
    assert amodp_listener.wait(1)[0]["body"] == webhook.body.decode()


@pytest.mark.amodp_listener(status=503)
def test_the_marker_sets_options(amodp_listener, amodp_webhook):
    assert amodp_webhook().post(amodp_listener.url).status == 503
    assert amodp_listener.wait(1)[0]["status"] == 503


def test_the_factory_starts_more(amodp_listener_factory, amodp_webhook):
    ok, down = amodp_listener_factory(), amodp_listener_factory(status=500)
    assert ok.url != down.url
    assert amodp_webhook().post(down.url).status == 500
    assert len(down.wait(1)) == 1 and ok.records == []
"""

SHORT = """
import socket
import threading

URL = []

def test_two_expected_one_sent(amodp_listener, amodp_webhook):
    URL.append(amodp_listener.url)
    amodp_webhook().post(amodp_listener.url + "/hook?x=1")
    amodp_listener.wait(2, timeout=0.5)

def test_nothing_sent(amodp_listener):
    amodp_listener.wait(timeout=0.2)

def test_the_listeners_stopped_although_their_tests_failed():
    host, port = URL[0].removeprefix("http://").split(":")
    with socket.socket() as sock:
        assert sock.connect_ex((host, int(port))) != 0
    assert [t for t in threading.enumerate() if t.name == "amodp-listener"] == []
"""

SEED = r"""
import pytest

@pytest.mark.parametrize("case", ["a", "b"])
def test_bodies(amodp_webhook, case):
    with open(f"{case}.txt", "a") as out:
        out.write(f"{amodp_webhook().body.hex()} {amodp_webhook().body.hex()}\n")
"""


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.partition("\n## Testing your receiver with pytest\n")[2]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    return found.group(1) if found else README_EXAMPLE


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``pytest -W error ARGS`` in a new process in pytester's directory, with
    the plugins that installed packages register and no others."""
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    monkeypatch.delenv("PYTEST_PLUGINS", raising=False)

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider", *args)

    return run


def test_the_entry_point_is_declared() -> None:
    found = [e for e in entry_points(group="pytest11") if e.value == "amodp.pytest_plugin"]
    assert [e.name for e in found] == ["amodp"], (
        "amodp's pytest11 entry point is not installed: pip install -e . (or '.[test]')"
    )


def test_importing_the_plugin_is_cheap() -> None:
    code = "import sys, amodp.pytest_plugin; print(*sorted(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout.split()
    assert [m for m in loaded if m.startswith("amodp")] == [
        "amodp",
        "amodp.codec",
        "amodp.errors",
        "amodp.pytest_plugin",
    ]
    assert [m for m in loaded if m.startswith(("uvicorn", "aiohttp", "asyncio"))] == []


def test_users_tests_pass_and_fail_as_they_should(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        receiver=RECEIVER.read_text(encoding="utf-8"),
        test_1_cheap=CHEAP,
        test_receiver=readme_example(),
        test_apps_and_listener=APPS_AND_LISTENER,
        test_short=SHORT,
        test_seed=SEED,
    )
    result = run("-v")
    result.stdout.fnmatch_lines(["plugins:*amodp-*"])  # loaded through its entry point
    result.stdout.fnmatch_lines(
        [
            "*test_1_cheap.py::test_nothing_heavy_is_loaded_until_a_fixture_is_used PASSED*",
            "*test_apps_and_listener.py::test_an_asgi_app PASSED*",
            "*test_apps_and_listener.py::test_a_webhook_has_the_fields_asked_for PASSED*",
            "*test_apps_and_listener.py::test_post_to_the_listener PASSED*",
            "*test_apps_and_listener.py::test_any_client_can_send_to_the_listener PASSED*",
            "*test_apps_and_listener.py::test_the_marker_sets_options PASSED*",
            "*test_apps_and_listener.py::test_the_factory_starts_more PASSED*",
            "*test_receiver.py::test_a_won_lead_is_received PASSED*",
            "*test_seed.py::test_bodies?a? PASSED*",
            "*test_seed.py::test_bodies?b? PASSED*",
            "*test_short.py::test_two_expected_one_sent FAILED*",
            "*test_short.py::test_nothing_sent FAILED*",
            "*test_short.py::test_the_listeners_stopped_although_their_tests_failed PASSED*",
        ]
    )
    # A wait that falls short fails at the user's line, saying what arrived.
    result.stdout.fnmatch_lines(
        [
            ">       amodp_listener.wait(2, timeout=0.5)",
            "E       Failed: amodp_listener: expected 2 webhooks within 0.5 s, "
            "1 arrived at http://127.0.0.1:*",
            "E         1. leads.status  POST /hook?x=1  -> 200",
            "test_short.py:9: Failed",
            ">       amodp_listener.wait(timeout=0.2)",
            "E       Failed: amodp_listener: expected 1 webhook within 0.2 s, "
            "none arrived at http://127.0.0.1:*",
        ]
    )
    result.stdout.no_fnmatch_line("*pytest_plugin.py*")
    result.assert_outcomes(passed=11, failed=2)

    # Without a seed, a test sends the same bytes on every run; each call and
    # each test its own.
    run("test_seed.py").assert_outcomes(passed=2)
    a = (pytester.path / "a.txt").read_text().splitlines()
    b = (pytester.path / "b.txt").read_text().splitlines()
    assert a[0] == a[1] and b[0] == b[1]
    assert len({*a[0].split(), *b[0].split()}) == 4


def test_the_plugin_can_be_turned_off(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        test_off="""
        def test_uses_it(amodp_webhook):
            pass
        """
    )
    result = run("-p", "no:amodp")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'amodp_webhook' not found*"])


# -- amodp_check ------------------------------------------------------------------

CHECK = r"""
import receiver  # examples/python/receiver.py: a Flask app


def test_the_flask_receiver_passes(amodp_check):
    results = amodp_check(receiver.app, kind="dp")
    assert len(results) == 41
    assert [r.case.name for r in results if r.verdict.warning] == ["leads.status[max_input_vars]"]


async def picky(scope, receive, send):
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    status = 500 if b"leads%5Badd%5D" in body else 302 if b"leads%5Bdelete%5D" in body else 200
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_an_asgi_app_that_fails_some(amodp_check):
    amodp_check(picky, kind="account", only=["leads.add[*", "leads.delete[single]", "task.*"])


def test_a_url(amodp_check, amodp_listener):
    [result] = amodp_check(amodp_listener.url + "/hook", kind="account", only="leads.add[single]")
    assert result.ok and amodp_listener.wait(1)[0]["path"] == "/hook"
"""


def readme_check_example() -> str:
    """The README's one-line amodp_check test (its receiver imported as in the first example)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.partition("\n## Testing your receiver with pytest\n")[2]
    [block] = [b for b in re.findall(r"```python\n(.*?)```", section, re.S) if "amodp_check(" in b]
    return "import receiver\n\n\n" + block


def test_amodp_check_runs_the_suite(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(
        receiver=RECEIVER.read_text(encoding="utf-8"),
        test_check=CHECK,
        test_readme_check=readme_check_example(),
    )
    result = run("-v")
    result.stdout.fnmatch_lines(
        [
            "*test_check.py::test_the_flask_receiver_passes PASSED*",
            "*test_check.py::test_an_asgi_app_that_fails_some FAILED*",
            "*test_check.py::test_a_url PASSED*",
            "*test_readme_check.py::test_the_receiver_passes_amodp_check PASSED*",
        ]
    )
    # One line per failed case, with amoCRM's reason (docs/delivery-rules.md).
    result.stdout.fnmatch_lines(
        [
            "*amodp_check: 6 of * cases failed (seed *)",
            "  account leads.add[single]: 500: amoCRM retries in 5 min",
            "  account leads.add[batch]: 500: amoCRM retries in 5 min",
            "  account leads.add[text]: 500: amoCRM retries in 5 min",
            "  account leads.add[retry]: the first delivery: 500: amoCRM retries in 5 min",
            "  account leads.add[account_last]: 500: amoCRM retries in 5 min",
            "  account leads.delete[single]: 302: not a success for amoCRM "
            "(no redirects followed); retried in 5 min",
        ]
    )
    result.stdout.no_fnmatch_line("*pytest_plugin.py*")
    result.assert_outcomes(passed=3, failed=1)


CALLBACKS = r'''
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest

CHANNEL = "5a44c5dff55f3c15a4cce8d7c4cc27e207c7e189"
CLIENT = "Xq3vT9sLk2mN8pR4wY6zB1cD5fG7hJ0aQeUiOtSrVbNmKlJhGfDsApOiUyTrEwQz"


def chat_app(environ, start_response):
    """A WSGI receiver checking X-Signature as the documentation does."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    sent = environ.get("HTTP_X_SIGNATURE", "")
    ok = hmac.compare_digest(hmac.new(CHANNEL.encode(), body, hashlib.sha1).hexdigest(), sent)
    start_response("200 OK" if ok else "401 Unauthorized", [("Content-Type", "text/plain")])
    return [environ["REQUEST_METHOD"].encode()]


async def bot_app(scope, receive, send):
    """An ASGI receiver checking the Salesbot token with PyJWT."""
    message = await receive()
    token = json.loads(message["body"])["token"]
    try:
        jwt.decode(token, CLIENT, algorithms=["HS512"], options={"verify_aud": False})
        status = 200
    except jwt.InvalidTokenError:
        status = 401
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def disabled_ok(query):
    signed = f"{query['client_uuid']}|{query['account_id']}".encode()
    want = hmac.new(CLIENT.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, query.get("signature", ""))


def off_app(environ, start_response):
    query = dict(parse_qsl(environ["QUERY_STRING"]))
    ok = environ["REQUEST_METHOD"] == "GET" and disabled_ok(query)
    start_response("200 OK" if ok else "401 Unauthorized", [])
    return [environ["PATH_INFO"].encode()]


def test_chat_signed_with_the_secret(amodp_webhook):
    hook = amodp_webhook("message", kind="chat", secret=CHANNEL)
    assert dict(hook.headers)["X-Signature"] == hmac.new(
        CHANNEL.encode(), hook.body, hashlib.sha1).hexdigest()
    assert (hook.method, hook.event.name) == ("POST", "chat.message")
    assert hook.post(chat_app).status == 200
    bad = amodp_webhook("message", kind="chat", secret=CHANNEL, flaw="wrong-secret")
    assert bad.post(chat_app).status == 401
    assert amodp_webhook("typing", kind="chat").post(chat_app).status == 401  # no secret


def test_salesbot_token(amodp_webhook):
    hook = amodp_webhook("widget_request", kind="salesbot", secret=CLIENT)
    assert hook.post(bot_app).status == 200
    assert amodp_webhook("widget_request", kind="salesbot", secret=CLIENT,
                         flaw="expired").post(bot_app).status == 401


def test_the_disable_hook_is_a_get_with_its_query(amodp_webhook):
    hook = amodp_webhook("disabled", kind="oauth", secret=CLIENT)
    assert hook.method == "GET" and hook.body == b"" and "signature=" in hook.query
    response = hook.post(off_app, path="/amo/off")
    assert (response.status, response.body) == (200, b"/amo/off")
    assert amodp_webhook("disabled", kind="oauth", secret="x" * 64).post(off_app).status == 401


def test_a_get_over_a_socket(amodp_webhook):
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            ok = disabled_ok(dict(parse_qsl(urlsplit(self.path).query)))
            self.send_response(200 if ok else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/off?k=1"
        hook = amodp_webhook("disabled", kind="oauth", secret=CLIENT, seed=3)
        assert hook.post(url).status == 200
    finally:
        server.shutdown()
        server.server_close()
    assert seen == [f"/off?k=1&{hook.query}"]


def test_amodp_check_signs_the_callbacks_with_the_secret(amodp_check):
    results = amodp_check(chat_app, kind="chat", secret=CHANNEL)
    assert len(results) > 3 and all(r.ok for r in results)
    assert {r.case.kind for r in results} == {"chat"}


def test_amodp_check_of_a_callback_kind_without_the_secret(amodp_check):
    amodp_check(chat_app, kind="chat")


def test_amodp_check_with_another_secret(amodp_check):
    amodp_check(chat_app, kind="chat", secret="0" * 40, only="chat.message*")


def test_same_seed_same_callback(amodp_webhook):
    first = amodp_webhook("message", kind="chat", secret=CHANNEL, seed=4)
    assert first.body == amodp_webhook("message", kind="chat", secret=CHANNEL, seed=4).body


def test_webhook_options_do_not_fit_a_callback(amodp_webhook):
    from amodp.errors import UsageError

    with pytest.raises(UsageError):
        amodp_webhook("message", kind="chat", status_id=142)
'''


def test_callbacks_signed_with_a_secret(pytester: pytest.Pytester, run: Run) -> None:
    pytester.makepyfile(test_callbacks=CALLBACKS)
    result = run("-v")
    result.stdout.fnmatch_lines(
        [
            "*test_amodp_check_signs_the_callbacks_with_the_secret PASSED*",
            "*test_amodp_check_of_a_callback_kind_without_the_secret FAILED*",
            "*test_amodp_check_with_another_secret FAILED*",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*amodp_check: no case to run (the callback kinds need secret=, the receiver's)*"]
    )
    failed = ["*amodp_check: * of * cases failed (seed *)", "  chat chat.message*"]
    result.stdout.fnmatch_lines(failed)
    result.assert_outcomes(passed=7, failed=2)


# -- amodp_webhook.from_capture: a regression test from a saved capture ----------------


def _saved_capture(path: Path) -> list[dict[str, object]]:
    """Capture records as ``amodp listen --save`` writes them: a real listener
    saving what real clients sent (a form, a JSON callback, a GET)."""
    import json
    import urllib.request

    from amodp import generate
    from amodp.listener import Background, Options

    sent = [
        generate("status", "leads", seed=11, url="http://x/amocrm/webhook?token=1"),
        generate("message", kind="chat", seed=12, secret="s", url="http://x/amo/chat"),
        generate("disabled", kind="oauth", seed=13, secret="s", url="http://x/amo/oauth"),
    ]
    with Background(Options(port=0, save=path), lambda *_: None) as running:
        for hook in sent:
            headers = {k: v for k, v in hook.headers if k.lower() not in ("host",)}
            request = urllib.request.Request(
                running.url + hook.target,
                data=hook.body if hook.method == "POST" else None,
                headers=headers,
                method=hook.method,
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 200
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_from_capture_gives_the_captured_bytes_and_headers(tmp_path: Path) -> None:
    from amodp.pytest_plugin import WebhookMaker
    from amodp.records import body_of

    path = tmp_path / "hooks.jsonl"
    records = _saved_capture(path)
    maker = WebhookMaker("tests/test_plugin.py::x")
    for number, record in enumerate(records, 1):
        webhook = maker.from_capture(path, index=number)
        assert webhook.body == body_of(record)
        assert webhook.method == record["method"]
        assert webhook.target == record["path"] + (f"?{record['query']}" if record["query"] else "")
        captured = [(k, v) for k, v in record["headers"] if k not in ("host", "content-length")]
        sent = [(k, v) for k, v in webhook.headers if k not in ("host", "content-length")]
        assert sent == captured
        assert webhook.json == record["decoded"]
    first = maker.from_capture(str(path), request_id=records[0]["headers"][3][1])
    assert first.name == "leads.status" and first.json["leads"]["status"][0]["id"]
    assert maker.from_capture(path, event="chat.message").name == "chat.message"


def test_from_capture_posts_the_same_bytes_to_apps_and_urls(tmp_path: Path) -> None:
    from amodp.listener import Background, Options
    from amodp.pytest_plugin import WebhookMaker

    path = tmp_path / "hooks.jsonl"
    records = _saved_capture(path)
    seen: list[tuple[str, str, bytes, list[tuple[str, str]]]] = []

    def wsgi(environ, start_response):  # noqa: ANN001, ANN202
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        target = environ["PATH_INFO"] + (
            "?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else ""
        )
        headers = [
            (k[5:].lower().replace("_", "-"), v)
            for k, v in environ.items()
            if k.startswith("HTTP_")
        ]
        seen.append((environ["REQUEST_METHOD"], target, body, headers))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    maker = WebhookMaker("x")
    for number, record in enumerate(records, 1):
        webhook = maker.from_capture(path, index=number)
        assert webhook.post(wsgi).status == 200
        method, target, body, headers = seen[-1]
        assert (method, body) == (record["method"], webhook.body)
        assert target == webhook.target
        assert ("x-amocrm-requestid" in dict(headers)) == (number == 1)
    # to a URL: a listener that saves it again, byte for byte
    again = tmp_path / "again.jsonl"
    with Background(Options(port=0, save=again), lambda *_: None) as running:
        for number in (1, 2, 3):
            webhook = maker.from_capture(path, index=number)
            assert webhook.post(running.url, path=webhook.target).status == 200
    import json

    resent = [json.loads(line) for line in again.read_text().splitlines()]
    for old, new in zip(records, resent, strict=True):
        assert (new.get("body"), new["method"], new["query"]) == (
            old.get("body"),
            old["method"],
            old["query"],
        )
        kept = _end_to_end(old["headers"])
        assert _end_to_end(new["headers"])[: len(kept)] == kept


def _end_to_end(headers: list[list[str]]) -> list[list[str]]:
    """The headers less the connection's own (Host, Content-Length,
    Connection), which the sender sets."""
    return [h for h in headers if h[0] not in ("host", "content-length", "connection")]


def test_from_capture_says_which_record_is_missing(tmp_path: Path) -> None:
    from amodp.errors import InputError, UsageError
    from amodp.pytest_plugin import WebhookMaker

    path = tmp_path / "hooks.jsonl"
    _saved_capture(path)
    maker = WebhookMaker("x")
    with pytest.raises(UsageError, match="3 records match: say which with index= or request_id="):
        maker.from_capture(path)
    with pytest.raises(InputError, match="there is no record 9: 3 records in all"):
        maker.from_capture(path, index=9)
    with pytest.raises(InputError, match="no record with the request id 'nope'"):
        maker.from_capture(path, request_id="nope")


def readme_capture_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.partition("\n## Testing your receiver with pytest\n")[2]
    (found,) = [b for b in re.findall(r"```python\n(.*?)```", section, re.S) if "from_capture" in b]
    return "import receiver\n\n\n" + found


def test_the_readmes_regression_test_from_a_capture(pytester: pytest.Pytester, run: Run) -> None:
    """The README's example, run by pytest as a user runs it, on a capture a
    real listener saved (the webhook it holds was received on /amocrm/webhook)."""
    _saved_capture(pytester.path / "hooks.jsonl")
    pytester.makepyfile(
        receiver=RECEIVER.read_text(encoding="utf-8"),
        test_regression=readme_capture_example(),
        test_both=r"""
def test_a_callable_that_also_reads_captures(amodp_webhook):
    made = amodp_webhook("status", entity="leads", status_id=142)
    saved = amodp_webhook.from_capture("hooks.jsonl", event="chat.message")
    assert made.json["leads"]["status"][0]["status_id"] == "142"
    assert saved.name == "chat.message" and saved.headers
""",
    )
    result = run("-v")
    result.stdout.fnmatch_lines(
        [
            "*test_both.py::test_a_callable_that_also_reads_captures PASSED*",
            "*test_regression.py::test_the_webhook_saved_by_amodp_listen PASSED*",
        ]
    )
    result.assert_outcomes(passed=2)
