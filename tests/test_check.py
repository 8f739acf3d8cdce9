"""``amodp.check``: the suite's cases, run against real receivers on 127.0.0.1
(broken ones from tests/receivers/, the examples' Flask and PHP receivers),
their verdicts in amoCRM's terms and the JUnit report.

The bodies are checked with PHP's own parse_str; the verdicts against the
rules written out in docs/delivery-rules.md."""

from __future__ import annotations

import json
import socket
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from amodp import catalog, check, rules
from amodp.check import CaseResult, list_cases, run, unreachable, write_junit
from amodp.errors import UsageError

from .receivers import broken
from .servers import serving as serve_handler
from .test_examples import EXAMPLES, PHP_READY, logged, serving

# -- the cases -----------------------------------------------------------------


def test_every_event_of_every_kind_has_its_variants() -> None:
    cases = list_cases(seed=1)
    names = Counter((c.kind, c.name) for c in cases)
    assert max(names.values()) == 1  # unique within a kind
    for kind in catalog.KINDS:
        side = "last" if catalog.account_block(kind).position == "first" else "first"
        for spec in catalog.events(kind):
            for variant in ("single", "batch", "retry", f"account_{side}"):
                assert (kind, f"{spec.name}[{variant}]") in names
        assert sum(1 for k, n in names if k == kind and n.endswith("[max_input_vars]")) == 1
    texts = {n for k, n in names if n.endswith("[text]")}
    assert "leads.add[text]" in texts and "message.add[text]" in texts
    assert "leads.status[text]" in texts  # account-level: custom fields
    assert not any(k == "dp" and n.endswith("[text]") for k, n in names)  # ids only


def test_same_seed_same_cases_whatever_is_selected() -> None:
    everything = {(c.kind, c.name): c for c in list_cases(seed=7)}
    for case in list_cases(kind="account", only="leads.*", seed=7):
        assert everything[(case.kind, case.name)] == case
    other = {(c.kind, c.name): c for c in list_cases(seed=8)}
    assert other[("dp", "leads.status[single]")] != everything[("dp", "leads.status[single]")]


LEADS = [e.event for e in catalog.events("account") if e.entity == "leads"]


@pytest.mark.parametrize(
    ("only", "names"),
    [
        ("leads.status[retry]", {"leads.status[retry]"}),
        ("leads.*[retry]", {f"leads.{e}[retry]" for e in LEADS}),
        ("?ontacts.add[b*", {"contacts.add[batch]"}),
        ("[single", {f"{e.name}[single]" for e in catalog.events("account")}),
        (
            "message",
            {f"message.add[{v}]" for v in ("single", "batch", "text", "retry", "account_last")},
        ),
    ],
)
def test_only(only: str, names: set[str]) -> None:
    assert {c.name for c in list_cases(kind="account", only=only)} == names


def test_only_matches_nothing() -> None:
    with pytest.raises(UsageError, match="no case matches 'nope'"):
        list_cases(only="nope")


def one(kind: str, name: str) -> check.Case:
    [case] = [c for c in list_cases(kind=kind, only=name, seed=3) if c.name == name]
    return case


def php_post(php: Any, body: bytes, limits: bool = False) -> Any:
    return json.loads(php.php_decode_many([body], limits=limits)[0])


def test_batch_has_three_items(php: Any) -> None:
    data = php_post(php, one("dp", "leads.status[batch]").posts[0].body)
    assert len(data["leads"]["status"]) == 3


def test_text_variant_carries_the_real_variety(php: Any) -> None:
    lead = php_post(php, one("account", "leads.add[text]").posts[0].body)["leads"]["add"][0]
    assert lead["name"] == "ООО &quot;Ёлка&quot; &amp; партнёры 🎄"
    field = lead["custom_fields"][-1]
    assert field["name"] == "Комментарий"
    text = "Перезвонить завтра 👍\r\nЦена: 1&nbsp;500 ₽ &lt;со скидкой&gt;\r\n«Срочно» — до 18:00"
    assert field["values"] == [{"value": text}]
    message = php_post(php, one("account", "message.add[text]").posts[0].body)
    assert "\r\n" in message["message"]["add"][0]["text"]


def test_retry_repeats_the_request_id() -> None:
    case = one("account", "contacts.update[retry]")
    first, again = case.posts
    assert first == again
    ids = [v for k, v in first.headers if k == "X-Amocrm-Requestid"]
    assert len(ids) == 1 and len(ids[0]) == 36


@pytest.mark.parametrize(
    ("kind", "variant", "first"),
    [("account", "account_last", "leads"), ("dp", "account_first", "account")],
)
def test_account_block_moved(php: Any, kind: str, variant: str, first: str) -> None:
    body = one(kind, f"leads.status[{variant}]").posts[0].body
    assert list(php_post(php, body)) == [first, "account" if first == "leads" else "leads"]


def test_max_input_vars_case_loses_data_in_a_default_php(php: Any) -> None:
    for kind in catalog.KINDS:
        [case] = [c for c in list_cases(kind=kind, only="[max_input_vars]")]
        body = case.posts[0].body
        assert body.count(b"&") + 1 == case.variables > 1001
        whole = php_post(php, body)
        cut = php_post(php, body, limits=True)
        assert whole != cut  # what a default PHP receiver loses


# -- running against broken receivers -------------------------------------------------

BEHAVIOUR = {
    "leads.status": "slow",  # one case only: account leads.status[single]
    "leads.add": "500",
    "leads.update": "302",
    "leads.delete": "close",
    "leads.mail_in": "500",  # dp
}
EXPECTED = {
    ("account", "leads.status[single]"): "2.3",
    ("account", "leads.add[single]"): "500: amoCRM retries in 5 min",
    ("account", "leads.update[single]"): (
        "302: not a success for amoCRM (no redirects followed); retried in 5 min"
    ),
    ("account", "leads.delete[single]"): (
        "connection closed without an answer: amoCRM retries in 5 min"
    ),
    ("dp", "leads.mail_in[single]"): "500: DP webhooks are not retried: this change is lost",
}


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[CaseResult], Any]]:
    cases = (
        list_cases(kind="account", only="*[single]", seed=2)
        + list_cases(kind="account", only="contacts.add[retry]", seed=2)
        + list_cases(kind="dp", only="leads.mail_in[single]", seed=2)
    )
    with broken.serving(BEHAVIOUR) as receiver:
        yield run(receiver.url, cases, concurrency=8), receiver


def delivered_or_late(result: CaseResult) -> bool:
    """Delivered; or a 2xx that a loaded machine made later than amoCRM waits,
    and judged so (the suite's verdicts, not this machine's speed, are tested)."""
    if result.ok:
        return True
    answer = result.deciding
    return (
        answer.status is not None
        and 200 <= answer.status < 300
        and answer.latency_s > rules.RULES[result.case.kind].timeout_s
        and "amoCRM gives up after" in result.verdict.reason
    )


def test_verdicts_of_a_broken_receiver(broken_run: tuple[list[CaseResult], Any]) -> None:
    results, _ = broken_run
    by_name = {(r.case.kind, r.case.name): r for r in results}
    for key, reason in EXPECTED.items():
        result = by_name[key]
        assert not result.ok
        if reason == "2.3":
            assert result.deciding.status == 200
            assert result.deciding.latency_s >= broken.SLOW_S
            assert result.verdict.reason.endswith(
                ": amoCRM gives up after 2 s and retries in 5 min"
            )
            assert result.verdict.reason.startswith("2.3")
        else:
            assert result.verdict.reason == reason
    rest = [r for key, r in by_name.items() if key not in EXPECTED]
    assert rest and all(delivered_or_late(r) and not r.verdict.warning for r in rest)
    assert by_name[("account", "contacts.add[retry]")].verdict.reason == (
        "200, then 200 for the retry: delivered (process a request id once)"
    )
    assert not unreachable(results)


def test_the_retry_comes_after_the_original(broken_run: tuple[list[CaseResult], Any]) -> None:
    results, receiver = broken_run
    [retry] = [r for r in results if r.case.variant == "retry"]
    request_id = dict(retry.case.posts[0].headers)["X-Amocrm-Requestid"]
    order = [i for i, (_, rid) in enumerate(receiver.received) if rid == request_id]
    assert len(order) == 2
    # ...and after every first delivery had its answer, the slow one included
    # (a case late among others is sent again alone after that).
    firsts = {}
    for i, (_, rid) in enumerate(receiver.received):
        firsts.setdefault(rid, i)
    assert order[1] > max(firsts.values())


def test_json_and_rows(broken_run: tuple[list[CaseResult], Any]) -> None:
    results, _ = broken_run
    record = next(r for r in results if r.case.name == "leads.add[single]").as_dict()
    assert set(record) == {
        "case", "event", "variant", "kind", "status", "latency_ms", "ok", "reason", "warning",
        "response", "alone",
    }  # fmt: skip
    # What the receiver said comes with the verdict (its body here is "ok").
    assert (record["response"], record["alone"]) == ("ok", False)
    assert record["case"] == "leads.add[single]"
    assert (record["event"], record["variant"], record["kind"]) == (
        "leads.add",
        "single",
        "account",
    )
    assert (record["status"], record["ok"]) == (500, False)
    assert record["reason"] == "500: amoCRM retries in 5 min"
    json.dumps([r.as_dict() for r in results])
    table = check.rows(results)
    assert len(table) == len(results) and all(len(row) == len(check.COLUMNS) for row in table)
    row = table[[r.case.name for r in results].index("leads.add[single]")]
    assert (row[0], row[1], row[3], row[5]) == ("account", "leads.add[single]", "500", "FAIL")
    assert row[2].startswith("1 item, ")


def test_junit_report(broken_run: tuple[list[CaseResult], Any], tmp_path: Path) -> None:
    results, _ = broken_run
    path = tmp_path / "junit.xml"
    write_junit(path, results)
    suite = ET.parse(path).getroot()
    assert suite.tag == "testsuite"
    for attribute in ("name", "tests", "failures", "errors", "time", "timestamp"):
        assert attribute in suite.attrib
    assert int(suite.get("tests", "")) == len(results)
    assert int(suite.get("failures", "")) == len(EXPECTED)
    assert int(suite.get("errors", "")) == 0
    assert float(suite.get("time", "")) >= broken.SLOW_S
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        (r.case.kind, r.case.name) for r in results
    ]
    for case in cases:
        assert {"name", "classname", "time"} <= set(case.attrib)
        assert float(case.get("time", "")) >= 0
        failure = case.find("failure")
        key = (case.get("classname"), case.get("name"))
        assert (failure is not None) == (key in EXPECTED)
        if failure is not None and EXPECTED[key] != "2.3":  # type: ignore[index]
            assert failure.get("message") == EXPECTED[key]  # type: ignore[index]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_receiver_that_cannot_be_reached(tmp_path: Path) -> None:
    # The first request goes alone; refused, nothing more is sent.
    cases = list_cases(kind="dp", only="leads.*[single]")
    results = run(f"http://127.0.0.1:{free_port()}/hook", cases)
    assert unreachable(results) and len(results) == 1
    assert results[0].verdict.reason.startswith("connection refused:")
    write_junit(tmp_path / "j.xml", results)
    suite = ET.parse(tmp_path / "j.xml").getroot()
    assert (suite.get("errors"), suite.get("failures")) == ("1", "0")
    assert all(c.find("error") is not None for c in suite.findall("testcase"))


def test_not_a_url() -> None:
    with pytest.raises(UsageError):
        run("ftp://example", list_cases(kind="dp", only="leads.status[single]"))


# -- good receivers ------------------------------------------------------------------


@pytest.fixture
def flask_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    import importlib.util

    monkeypatch.setenv("WEBHOOK_LOG", str(tmp_path / "log"))
    spec = importlib.util.spec_from_file_location(
        "check_flask", EXAMPLES / "python" / "receiver.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_all_delivered(results: list[CaseResult]) -> None:
    bad = [(r.case.name, r.verdict.reason) for r in results if not delivered_or_late(r)]
    assert not bad
    warned = {(r.case.kind, r.case.name) for r in results if r.verdict.warning}
    assert warned == {(k, "leads.status[max_input_vars]") for k in catalog.KINDS}
    for r in results:
        if r.verdict.warning:
            assert r.verdict.reason.startswith("200, but a PHP receiver with the default ")
            assert f"of these {r.case.variables} variables" in r.verdict.reason


def test_the_example_flask_receiver_passes(flask_app: Any, tmp_path: Path) -> None:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, flask_app.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        cases = list_cases(seed=4)
        results = run(f"http://127.0.0.1:{server.server_port}/amo", cases)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert_all_delivered(results)
    assert len(logged(tmp_path)) == sum(len(c.posts) for c in cases)


def test_the_example_flask_app_in_process(flask_app: Any) -> None:
    results = run(flask_app.app, list_cases(seed=5))
    assert_all_delivered(results)


def test_the_example_php_receiver_passes_but_loses_the_big_batch(php: Any, tmp_path: Path) -> None:
    limits = ["-d", "max_input_vars=1000", "-d", "display_errors=0"]
    cmd = ["php", *limits, "-S", "127.0.0.1:0", str(EXAMPLES / "php" / "receiver.php")]
    cases = list_cases(only=["*[single]", "*[max_input_vars]"], seed=6)
    with serving(cmd, PHP_READY, tmp_path, EXAMPLES / "php") as url:
        results = run(f"{url}/amo", cases, concurrency=1)  # one at a time: in order
    assert_all_delivered(results)
    lines = logged(tmp_path)
    assert len(lines) == len(cases)
    for case, line in zip(cases, lines, strict=True):
        sent = php_post(php, case.posts[0].body)
        if case.variant == "max_input_vars":
            # Answered 200, and yet $_POST lost items (and the DP account block).
            kept = json.loads(line)
            assert len(kept["leads"]["status"]) < len(sent["leads"]["status"])
        else:
            assert json.loads(line) == sent


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """By the body's key: 500 for contacts (companies arrive as contacts too),
    a 301 for talks, an exception for tasks, 200 for the rest."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    event = broken.event_of(body)
    if event.startswith("task."):
        raise KeyError("task")
    status = 500 if event.startswith("contacts.") else 301 if event.startswith("talk.") else 200
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_an_asgi_app_in_process() -> None:
    results = run(asgi_app, list_cases(kind="account", only="*[single]", seed=9))
    reasons = {r.case.name: r.verdict.reason for r in results}
    assert reasons["contacts.add[single]"] == "500: amoCRM retries in 5 min"
    assert reasons["companies.add[single]"] == "500: amoCRM retries in 5 min"
    assert reasons["talk.add[single]"] == (
        "301: not a success for amoCRM (no redirects followed); retried in 5 min"
    )
    assert (
        reasons["task.add[single]"]
        == "500: amoCRM retries in 5 min (the app raised KeyError: 'task')"
    )
    assert reasons["leads.add[single]"].endswith(": delivered")


def test_run_from_async_code() -> None:
    import asyncio

    async def inside() -> list[CaseResult]:
        with broken.serving({}) as receiver:
            return run(receiver.url, list_cases(kind="dp", only="leads.status[retry]"))

    [result] = asyncio.run(inside())
    assert result.ok and len(result.answers) == 2


def test_callback_kinds_need_a_secret() -> None:
    assert check.needs_secret() == list(catalog.CALLBACK_KINDS)
    assert check.needs_secret(["dp", "chat"]) == ["chat"]
    check.check_kinds(catalog.ALL_KINDS)  # every kind of the catalog has cases
    # Without the receiver's secret a valid callback cannot be made: left out.
    for kind in catalog.CALLBACK_KINDS:
        assert list_cases(kind=kind) == []
    assert {c.kind for c in list_cases(kind=["chat", "dp"])} == {"dp"}
    assert {c.kind for c in list_cases(seed=1)} == set(catalog.KINDS)
    assert {c.kind for c in list_cases(seed=1, secret="S")} == set(catalog.ALL_KINDS)
    with pytest.raises(UsageError, match="unknown kind 'nope'"):
        list_cases(kind="nope")


def test_every_callback_event_has_its_cases() -> None:
    names = {(c.name, c.expect) for c in list_cases(catalog.CALLBACK_KINDS, secret="S")}
    for kind in catalog.CALLBACK_KINDS:
        for spec in catalog.events(kind):
            assert (f"{spec.name}[single]", "deliver") in names
            signed = spec.details.get("signature") is not None
            assert ((f"{spec.name}[bad-signature]", "reject") in names) == signed
    assert ("salesbot.widget_request[expired]", "reject") in names
    assert ("chat.message[expired]", "reject") not in names


# -- callbacks against receivers that check signatures -------------------------------

#: 64 bytes: PyJWT warns of shorter HS512 keys
SECRET = "receiver-secret-" * 4


class Seen:
    def __init__(self) -> None:
        self.url = ""
        #: (method, path with query, headers, body) of every request
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []


def _signed_right(method: str, target: str, headers: Any, body: bytes) -> bool:
    """The receiver's own check, written from amoCRM's documentation with hmac and PyJWT."""
    import hashlib
    import hmac
    from urllib.parse import parse_qs, urlsplit

    import jwt

    if method == "GET":
        query = {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
        if "signature" not in query:
            return True  # the OAuth redirect is not signed
        message = f"{query['client_uuid']}|{query['account_id']}".encode()
        want = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
        return hmac.compare_digest(want, query["signature"])
    data = json.loads(body)
    if "token" in data:
        try:
            jwt.decode(data["token"], SECRET, algorithms=["HS512"], options={"verify_aud": False})
        except jwt.PyJWTError:
            return False
        return True
    want = hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(want, headers.get("X-Signature", ""))


@contextmanager
def callback_receiver(strict: bool = True, status: int = 200) -> Iterator[Seen]:
    """A receiver on 127.0.0.1: ``strict`` checks signatures (401 when wrong),
    else it accepts everything; valid requests get ``status``."""
    seen = Seen()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self) -> None:
            length = self.headers.get("Content-Length")
            body = self.rfile.read(int(length)) if length else b""
            headers = dict(self.headers.items())
            with lock:
                seen.requests.append((self.command, self.path, headers, body))
            valid = not strict or _signed_right(self.command, self.path, self.headers, body)
            self.send_response(status if valid else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serve_handler(Handler) as url:
        seen.url = url + "/amo/cb?from=amo"
        yield seen


def test_callbacks_pass_a_receiver_that_checks_signatures() -> None:
    cases = list_cases(catalog.CALLBACK_KINDS, seed=3, secret=SECRET)
    with callback_receiver() as seen:
        results = run(seen.url, cases)
    assert [r.case.name for r in results if not r.ok] == []
    by_name = {(r.case.name): r for r in results}
    assert by_name["chat.message[bad-signature]"].verdict.reason == (
        "401: rejected a wrong signature"
    )
    assert by_name["salesbot.widget_request[expired]"].verdict.reason == (
        "401: rejected an expired token"
    )
    assert len(seen.requests) == len(cases)


def test_callbacks_that_should_be_rejected_fail_on_a_receiver_that_accepts_all() -> None:
    cases = list_cases(catalog.CALLBACK_KINDS, seed=3, secret=SECRET)
    with callback_receiver(strict=False) as seen:
        results = run(seen.url, cases)
    failed = {r.case.name: r.verdict.reason for r in results if not r.ok}
    assert failed == {
        "chat.comment_reply[bad-signature]": "200: accepted a request with a wrong signature",
        "chat.message[bad-signature]": "200: accepted a request with a wrong signature",
        "chat.reaction[bad-signature]": "200: accepted a request with a wrong signature",
        "chat.typing[bad-signature]": "200: accepted a request with a wrong signature",
        "salesbot.widget_request[bad-signature]": "200: accepted a request with a wrong signature",
        "salesbot.widget_request[expired]": "200: accepted a request with an expired token",
        "oauth.disabled[bad-signature]": "200: accepted a request with a wrong signature",
    }


def test_chat_wants_200_exactly() -> None:
    cases = list_cases("chat", only="chat.message[single]", seed=1, secret=SECRET)
    with callback_receiver(status=204) as seen:
        [result] = run(seen.url, cases)
    assert not result.ok
    assert result.verdict.reason == (
        "204: amoCRM wants 200 exactly; Chats API hooks are not retried: this message is lost"
    )


def test_get_callbacks_go_with_their_query_and_no_body() -> None:
    cases = list_cases("oauth", only="*[single]", seed=2, secret=SECRET)
    with callback_receiver() as seen:
        results = run(seen.url, cases)
    assert all(r.ok for r in results)
    assert len(seen.requests) == 3
    for method, target, headers, body in seen.requests:
        assert method == "GET"
        assert body == b""
        assert "Content-Length" not in headers and "Transfer-Encoding" not in headers
        assert target.startswith("/amo/cb?from=amo&")
    targets = sorted(t.partition("&")[2] for _, t, _, _ in seen.requests)
    assert targets == sorted(c.posts[0].query for c in cases)


def test_callbacks_on_an_app_in_process() -> None:
    seen: list[tuple[str, str]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append((environ["REQUEST_METHOD"], environ.get("QUERY_STRING", "")))
        start_response("200 OK", [("Content-Length", "0")])
        return []

    cases = list_cases("oauth", only="oauth.redirect[single]", seed=2, secret=SECRET)
    [result] = run(app, cases, path="/amo?x=1")
    assert result.ok
    assert seen == [("GET", "x=1&" + cases[0].posts[0].query)]


def test_on_result_as_each_case_is_judged() -> None:
    cases = list_cases(kind="account", only=["leads.add[single]", "leads.add[retry]"], seed=1)
    seen: list[str] = []
    with broken.serving({}) as receiver:
        results = run(receiver.url, cases, on_result=lambda r: seen.append(r.case.name))
    # The single case is judged after its one answer, before the retry's second request.
    assert seen == ["leads.add[single]", "leads.add[retry]"]
    assert [r.case.name for r in results] == [c.name for c in cases]


def test_exports() -> None:
    assert check.__all__ == sorted(check.__all__)
    assert all(getattr(check, name) is not None for name in check.__all__)


@pytest.mark.parametrize("seed", [1, 2])
def test_one_run_is_one_account(seed: int) -> None:
    """Every webhook of a run comes from the same made-up account (subdomain and
    id), as a real account's webhooks do; another seed may pick another."""
    accounts = set()
    for case in list_cases(kind=("dp", "account"), seed=seed):
        for post in case.posts:
            fields = dict(parse_qsl(post.body.decode("ascii")))
            accounts.add((fields.get("account[subdomain]"), fields.get("account[id]")))
    assert len(accounts) == 1, sorted(accounts)[:5]
    assert None not in next(iter(accounts))
