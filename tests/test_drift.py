"""Drift: each line appears when a body differs from the catalog's shape of
its event (a field added, removed or reshaped, an unknown event) and never for
an unmodified kept capture of the current shape or a generated body; the older
shapes of the kept captures are recognised as such."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from amodp import catalog, decode
from amodp.cli import app
from amodp.drift import Drift, Watch, drift
from amodp.generator import generate

CAPTURES = Path(__file__).parent / "fixtures" / "captures"
DP = Path(__file__).parent / "data" / "captures" / "dp_leads_status.txt"
OLDER = sorted(CAPTURES.glob("2016_*.txt")) + sorted(CAPTURES.glob("2020_*.txt"))
CURRENT = [p for p in sorted(CAPTURES.glob("*.txt")) if p not in OLDER] + [DP]
SPECS = [spec for kind in catalog.ALL_KINDS for spec in catalog.events(kind)]

runner = CliRunner()


def lines(body: bytes | dict[str, Any]) -> list[str]:
    value = decode(body) if isinstance(body, bytes) else body
    return [d.line for d in drift(value).drifts]


def pair(name: str, value: str) -> bytes:
    """``&name=value`` as amoCRM encodes it."""
    return f"&{quote(name, safe='')}={quote(value, safe='')}".encode()


def without(body: bytes, name: str) -> bytes:
    """``body`` less its pair named ``name`` (a bracket path)."""
    found = re.sub(rb"(^|&)" + re.escape(quote(name, safe="").encode()) + rb"=[^&]*", b"", body)
    assert found != body, name
    return found.lstrip(b"&")


def first_item(path: Path) -> tuple[str, dict[str, Any], str]:
    """The event of a kept body, its first item, and that item's place (``leads[add][0]``)."""
    (found,) = catalog.detect(decode(path.read_bytes()))
    return found.name, found.items[0], f"{found.wire}[{found.wire_event}][0]"


# -- bodies that match ---------------------------------------------------------------


@pytest.mark.parametrize("path", CURRENT, ids=[p.name for p in CURRENT])
def test_an_unmodified_capture_of_the_current_shape_says_nothing(path: Path) -> None:
    report = drift(decode(path.read_bytes()))
    assert (report.drifts, report.older) == ([], None)


@pytest.mark.parametrize("path", OLDER, ids=[p.name for p in OLDER])
def test_the_older_shapes_are_recognised_not_reported(path: Path) -> None:
    report = drift(decode(path.read_bytes()))
    assert report.drifts == []
    assert report.older is not None and path.name.startswith(report.older.year)


@pytest.mark.parametrize("spec", SPECS, ids=[f"{s.kind}:{s.name}" for s in SPECS])
def test_generated_bodies_say_nothing(spec: catalog.Event) -> None:
    for locale in ("ru", "en"):
        for seed in range(6):
            if spec.kind in catalog.CALLBACK_KINDS:
                request = generate(spec.event, kind=spec.kind, seed=seed, locale=locale)
            else:
                request = generate(
                    spec.event, spec.entity, kind=spec.kind, seed=seed, count=3, locale=locale
                )
            report = drift(json.loads(json.dumps(request.json)))
            assert (report.drifts, report.older) == ([], None), (spec.name, seed)


# -- each line when it should -----------------------------------------------------------


@pytest.mark.parametrize("path", CURRENT, ids=[p.name for p in CURRENT])
def test_a_field_added_is_a_field_the_catalog_does_not_know(path: Path) -> None:
    name, _, place = first_item(path)
    body = path.read_bytes() + pair(f"{place}[foo]", "1")
    assert lines(body) == [f"{name}: {place}[foo] is a field the catalog does not know"]


@pytest.mark.parametrize("path", CURRENT, ids=[p.name for p in CURRENT])
def test_a_field_removed_is_missing(path: Path) -> None:
    name, item, place = first_item(path)
    field = next(k for k, v in item.items() if isinstance(v, str) and k != "type")
    body = without(path.read_bytes(), f"{place}[{field}]")
    assert lines(body) == [f"{name}: {place}[{field}] is missing (the catalog always has it)"]


@pytest.mark.parametrize("path", CURRENT, ids=[p.name for p in CURRENT])
def test_a_value_reshaped_is_another_form(path: Path) -> None:
    name, item, place = first_item(path)
    field = next(k for k, v in item.items() if isinstance(v, str) and k != "type")
    old = f"{place}[{field}]"
    body = re.sub(
        re.escape(quote(old, safe="")).encode() + rb"=([^&]*)",
        lambda m: quote(f"{old}[value]", safe="").encode() + b"=" + m[1],
        path.read_bytes(),
    )
    assert lines(body) == [f"{name}: {old} is a map, the catalog has text"]


def test_an_unknown_event_and_other_unknown_places() -> None:
    body = (CAPTURES / "2025_leads_add.txt").read_bytes()
    merged = body.replace(b"leads%5Badd%5D", b"leads%5Bmerge%5D")
    assert lines(merged) == ["leads[merge]: an event the catalog does not know"]
    assert lines(body + pair("account[plan]", "pro")) == [
        "leads.add: account[plan] is a field the catalog does not know"
    ]
    assert lines(body + pair("source", "x")) == [
        "leads.add: source is a field the catalog does not know"
    ]
    assert lines(without(body, "account[id]")) == [
        "leads.add: account[id] is missing (the catalog always has it)"
    ]


def test_deeper_fields_and_lists_where_the_catalog_has_maps() -> None:
    body = (CAPTURES / "2026_contacts_add.txt").read_bytes()
    cf = "contacts[add][0][custom_fields][0]"
    assert lines(body + pair(f"{cf}[values][0][label]", "x")) == [
        f"contacts.add: {cf}[values][0][label] is a field the catalog does not know"
    ]
    assert lines(body + pair(f"{cf}[values][0][value][number]", "2001")) == [
        f"contacts.add: {cf}[values][0][value] is a map, the catalog has text"
    ]
    # a date field's bare Unix time and a radiobutton's one map are no drift
    assert (
        lines(
            body
            + pair("contacts[add][0][custom_fields][1][id]", "5")
            + pair("contacts[add][0][custom_fields][1][values][0]", "1729717200")
        )
        == []
    )
    status = DP.read_bytes()
    assert lines(status + pair("leads[status][0][status_id][0]", "1")) == [
        "leads.status: leads[status][0][status_id] is a list, the catalog has text"
    ]


def test_generated_bodies_with_fields_added_removed_and_reshaped() -> None:
    request = generate("status", "leads", kind="account", seed=4, count=3)
    data = json.loads(json.dumps(request.json))
    data["leads"]["status"][2]["pipeline"] = {"id": "1"}
    del data["leads"]["status"][1]["status_id"]
    data["leads"]["status"][0]["price"] = ["1000"]
    assert lines(data) == [
        "leads.status: leads[status][0][price] is a list, the catalog has text",
        "leads.status: leads[status][1][status_id] is missing (the catalog always has it)",
        "leads.status: leads[status][2][pipeline] is a field the catalog does not know",
    ]


def test_a_callback_drifts_in_its_own_terms() -> None:
    value = json.loads(json.dumps(generate("message", kind="chat", seed=1).json))
    value["message"]["message"]["quote"] = {"id": "x"}
    value["time"] = str(value["time"])
    assert lines(value) == [
        "chat.message: time is text, the catalog has a number",
        "chat.message: message.message.quote is a field the catalog does not know",
    ]
    query = {"client_uuid": "4f2b0c4e-0000-4000-8000-000000000000", "account_id": "1"}
    assert lines({**query, "signature": "ab" * 32}) == []
    assert lines(query) == ["oauth.disabled: signature is missing (the catalog always has it)"]


def test_a_name_amocrm_adds_at_the_top_of_a_callback_is_drift_not_another_body() -> None:
    chat = json.loads(json.dumps(generate("message", kind="chat", seed=1).json))
    assert lines({**chat, "version": "2"}) == [
        "chat.message: version is a field the catalog does not know"
    ]
    bot = json.loads(generate("widget_request", kind="salesbot", seed=2).body)
    assert lines({**bot, "bot_id": "7"}) == [
        "salesbot.widget_request: bot_id is a field the catalog does not know"
    ]
    query = {"client_uuid": "4f2b0c4e-0000-4000-8000-000000000000", "account_id": "1"}
    assert lines({**query, "signature": "ab" * 32, "scope": "crm"}) == [
        "oauth.disabled: scope is a field the catalog does not know"
    ]
    # mostly names of no callback: no callback at all
    assert catalog.detect_callback({"time": 1, "a": 1, "b": 2}) is None


def test_an_older_shape_with_a_new_field_is_older_and_drifts() -> None:
    body = (CAPTURES / "2016_leads_status.txt").read_bytes()
    report = drift(decode(body + pair("leads[status][0][foo]", "1")))
    assert report.older is not None and report.older.year == "2016"
    assert [d.line for d in report.drifts] == [
        "leads.status: leads[status][0][foo] is a field the catalog does not know"
    ]


def test_a_current_body_that_lost_a_field_is_not_taken_for_an_older_one() -> None:
    body = without((CAPTURES / "2025_leads_add.txt").read_bytes(), "leads[add][0][created_at]")
    report = drift(decode(body))
    assert report.older is None
    assert [d.line for d in report.drifts] == [
        "leads.add: leads[add][0][created_at] is missing (the catalog always has it)"
    ]


def test_what_is_no_webhook_has_no_drift() -> None:
    assert drift({"a": "1"}).drifts == []
    assert drift(["x"]).drifts == []
    assert drift({}).drifts == []


def test_a_drift_as_the_record_holds_it() -> None:
    found = Drift("other form", "leads.add", "leads[add][2][name]", "text", "map")
    assert found.as_dict() == {
        "what": "other form",
        "event": "leads.add",
        "field": "leads[add][2][name]",
        "expected": "text",
        "found": "map",
    }
    assert Drift(**found.as_dict()) == found
    assert found.key == ("other form", "leads.add", "leads[add][0][name]")


def test_watch_learns_each_shape_once_and_says_each_line_once() -> None:
    body = (CAPTURES / "2025_leads_add.txt").read_bytes() + pair("leads[add][0][foo]", "1")
    watch = Watch()
    events = [{"entity": "leads", "event": "add"}]
    first = watch.of("shape", decode(body), events)
    assert first == [{"what": "unknown field", "event": "leads.add", "field": "leads[add][0][foo]"}]
    assert watch.of("shape", {}, events) is first  # learnt: the body is not looked at
    assert watch.news(first) == [
        "leads.add: leads[add][0][foo] is a field the catalog does not know"
    ]
    assert watch.news(first) == []
    other = [{"what": "unknown field", "event": "leads.add", "field": "leads[add][1][foo]"}]
    assert watch.news(other) == []  # the same field of another item


# -- amodp decode --drift --------------------------------------------------------------


def run(*args: str, input: bytes | str | None = None) -> Any:
    return runner.invoke(app, list(args), input=input)


def test_decode_drift_says_one_line_per_difference() -> None:
    body = (CAPTURES / "2025_leads_add.txt").read_bytes()
    changed = without(body, "leads[add][0][status_id]") + pair("leads[add][0][foo]", "1")
    result = run("decode", "--drift", "--compact", input=changed)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == decode(changed)
    assert result.stderr == (
        "Drift: stdin: leads.add: leads[add][0][foo] is a field the catalog does not know\n"
        "Drift: stdin: leads.add: leads[add][0][status_id] is missing (the catalog always has it)\n"
    )


def test_decode_drift_of_a_matching_body_says_nothing() -> None:
    for path in CURRENT:
        result = run("decode", "--drift", "--compact", str(path))
        assert (result.exit_code, result.stderr) == (0, ""), path.name


def test_decode_drift_names_an_older_shape() -> None:
    path = CAPTURES / "2016_leads_status.txt"
    result = run("decode", "--drift", "--compact", str(path))
    assert result.stderr == (
        f"Note: {path}: the shape amoCRM sent in 2016 (account[subdomain] only; items without "
        "account_id (contacts), created_at, updated_at): not drift\n"
    )


def test_decode_drift_of_a_json_callback() -> None:
    value = json.loads(generate("message", kind="chat", seed=2).body)
    value["message"]["extra"] = 1
    result = run("decode", "--drift", "--from", "json", input=json.dumps(value))
    assert result.exit_code == 0
    assert result.stderr.endswith(
        "Drift: stdin: chat.message: message.extra is a field the catalog does not know\n"
    )


def test_decode_drift_of_several_records_names_each() -> None:
    body = (CAPTURES / "2025_leads_add.txt").read_bytes()
    records = [
        json.dumps({"received_at": "2026-01-01T00:00:00Z", "body": b.decode()})
        for b in (body, body + pair("leads[add][0][foo]", "1"))
    ]
    result = run("decode", "--drift", "--compact", input="\n".join(records) + "\n")
    assert result.exit_code == 0
    assert result.stderr == (
        "Drift: stdin (record 2): leads.add: leads[add][0][foo] is a field the catalog "
        "does not know\n"
    )


def test_decode_imports_schema_and_drift_only_with_drift() -> None:
    code = (
        "import sys; sys.argv=['amodp','decode','-'] + sys.argv[1:]\n"
        "from amodp.cli import app\n"
        "try: app()\n"
        "except SystemExit: pass\n"
        "print(sorted(m for m in ('amodp.schema','amodp.drift') if m in sys.modules),"
        " file=sys.stderr)"
    )
    body = DP.read_bytes()
    plain = subprocess.run([sys.executable, "-c", code], input=body, capture_output=True)
    assert plain.stderr.decode().splitlines()[-1] == "[]"
    asked = subprocess.run([sys.executable, "-c", code, "--drift"], input=body, capture_output=True)
    assert asked.stderr.decode().splitlines()[-1] == "['amodp.drift', 'amodp.schema']"


# -- amodp listen: the record's drift, each line once, the summary -------------------


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(
        url + "/hook",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return int(answer.status)


def test_listen_records_carry_their_drift_and_say_each_line_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from amodp import drift as drift_module
    from amodp.listener import Background, Options

    worked_out = []
    real = drift_module.drift

    def counted(value: Any) -> Any:
        worked_out.append(1)
        return real(value)

    monkeypatch.setattr(drift_module, "drift", counted)
    records: list[dict[str, Any]] = []
    said: list[str] = []
    body = (CAPTURES / "2025_leads_add.txt").read_bytes()
    added = body + pair("leads[add][0][foo]", "1")
    other = re.sub(rb"Test", b"Other", added)  # same shape, other values
    with Background(Options(port=0), lambda r, line, w: records.append(r)) as running:
        running.app.on_drift = said.append
        for path in CURRENT:
            post(running.url, path.read_bytes())
        for sent in (added, other, added):
            post(running.url, sent)
        stats = running.app.stats
    assert [r for r in records if "drift" in r] == records[len(CURRENT) :]
    assert records[-1]["drift"] == [
        {"what": "unknown field", "event": "leads.add", "field": "leads[add][0][foo]"}
    ]
    assert said == ["leads.add: leads[add][0][foo] is a field the catalog does not know"]
    assert stats.drifted == 3
    # worked out once per body shape: the three drifted bodies have one
    assert len(worked_out) == len(CURRENT) + 1


def test_listen_learns_drift_once_per_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    from amodp import drift as drift_module
    from amodp.listener import Background, Options

    calls: list[Any] = []
    real = drift_module.drift
    monkeypatch.setattr(drift_module, "drift", lambda value: calls.append(1) or real(value))
    body = (CAPTURES / "2025_leads_add.txt").read_bytes() + pair("leads[add][0][foo]", "1")
    kept: list[dict[str, Any]] = []
    with Background(Options(port=0), lambda r, line, w: kept.append(r)) as running:
        for n in range(5):
            post(running.url, body.replace(b"=Test", f"=Test+{n}".encode()))
    assert len(calls) == 1
    assert all(r["drift"] == kept[0]["drift"] for r in kept) and len(kept) == 5


def test_listen_checks_json_callbacks_and_oauth_gets_for_drift(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chats API hooks, Salesbot calls and OAuth GETs drift as forms do: in
    the record, each line once, learnt once per shape."""
    from amodp import drift as drift_module
    from amodp.listener import Background, Options

    calls: list[Any] = []
    real = drift_module.drift
    monkeypatch.setattr(drift_module, "drift", lambda value: calls.append(1) or real(value))
    chat = generate("message", kind="chat", seed=1)
    changed = json.loads(chat.body)
    changed["version"] = "2"
    changed["message"]["message"]["quote"] = {"id": "x"}
    other = json.loads(json.dumps(changed).replace("Перезвоните", "Позвоните"))
    disabled = generate("disabled", kind="oauth", seed=1)
    records: list[dict[str, Any]] = []
    said: list[str] = []
    with Background(Options(port=0), lambda r, line, w: records.append(r)) as running:
        running.app.on_drift = said.append
        for body in (chat.body, json.dumps(changed).encode(), json.dumps(other).encode()):
            request = urllib.request.Request(
                running.url + "/chat", data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 200
        query = disabled.url.partition("?")[2]
        for url in (f"{running.url}/off?{query}", f"{running.url}/off?{query}&scope=crm"):
            with urllib.request.urlopen(url, timeout=10) as answer:
                assert answer.status == 200
        stats = running.app.stats
    assert [r["events"][0]["event"] for r in records] == ["message"] * 3 + ["disabled"] * 2
    assert ["drift" in r for r in records] == [False, True, True, False, True]
    assert records[1]["drift"] == [
        {"what": "unknown field", "event": "chat.message", "field": "message.message.quote"},
        {"what": "unknown field", "event": "chat.message", "field": "version"},
    ]
    assert records[2]["drift"] == records[1]["drift"]
    assert records[4]["drift"] == [
        {"what": "unknown field", "event": "oauth.disabled", "field": "scope"}
    ]
    assert said == [
        "chat.message: message.message.quote is a field the catalog does not know",
        "chat.message: version is a field the catalog does not know",
        "oauth.disabled: scope is a field the catalog does not know",
    ]
    assert stats.drifted == 3
    assert len(calls) == 4  # the two changed chat hooks have one shape


def test_listen_says_drift_once_and_asks_for_a_capture(tmp_path: Path) -> None:
    save = tmp_path / "hooks.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "amodp", "listen", "--port", "0", "--quiet", "--expect", "4"]
        + ["--timeout", "60", "--save", str(save)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ, NO_COLOR="1"),
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline().decode()
        found = re.match(r"Listening on (http://127\.0\.0\.1:\d+)", first)
        assert found, first
        body = (CAPTURES / "2025_leads_add.txt").read_bytes()
        post(found[1], body)
        post(found[1], body + pair("leads[add][0][foo]", "1"))
        post(found[1], body + pair("leads[add][0][foo]", "2"))
        post(found[1], without(body, "account[id]"))
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    said = first + err.decode()
    assert proc.returncode == 0, said
    drift_lines = [line for line in said.splitlines() if line.startswith("Drift: ")]
    assert drift_lines == [
        "Drift: leads.add: leads[add][0][foo] is a field the catalog does not know",
        "Drift: leads.add: account[id] is missing (the catalog always has it)",
    ]
    assert said.rstrip("\n").endswith(
        "3 requests drifted from the catalog's shapes: please share a redacted capture "
        f"(amodp decode --redact {save}) so that the catalog can follow amoCRM"
    )
    records = [json.loads(line) for line in save.read_text().splitlines()]
    assert ["drift" in r for r in records] == [False, True, True, True]
