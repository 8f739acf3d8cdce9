"""The inspector's page in a real browser: headless Chromium (Debian's
``chromium`` package, never a browser Playwright downloads) driven by
Playwright's Python package, against ``amodp listen --ui`` and ``amodp
inspect`` over real loopback sockets.

``AMODP_SCREENSHOT=docs/inspector.png`` makes the README's screenshot again.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

import amodp
from amodp.callbacks import generate as callback
from amodp.records import record_bytes

from .conftest import require_tools
from .servers import Received, recording_server, serving
from .test_inspector import (
    AMODP,
    SECRET,
    capture_file,
    decode_output,
    inspector,
    sample_records,
    send_status,
    started,
    stop,
)

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 10_000


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    require_tools("chromium")
    path = shutil.which("chromium") or CHROMIUM
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=path, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    opened.dialogs = []
    opened.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
    opened.errors = []
    opened.on("pageerror", lambda error: opened.errors.append(str(error)))
    try:
        yield opened
    finally:
        context.close()
    assert opened.errors == []


def listener_port(said: str) -> int:
    for line in said.splitlines():
        if line.startswith("Listening on http://127.0.0.1:"):
            return int(line.rsplit(":", 1)[1])
    raise AssertionError(said)


def row(page: object, number: int) -> object:
    return page.locator(f".row[data-id='{number}']")  # type: ignore[attr-defined]


def title_is(page: object, number: int) -> None:
    """Wait until the detail shows request ``number``."""
    expect(page.locator("#d-title")).to_have_text(re.compile(rf"^#{number} "))  # type: ignore[attr-defined]


def as_http(got: Received) -> bytes:
    lines = [f"{got.method} {got.path} HTTP/1.1", *(f"{k}: {v}" for k, v in got.headers)]
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + got.body


# -- live ----------------------------------------------------------------------------------


def test_requests_arrive_live_without_a_reload_and_the_newest_is_followed(page: object) -> None:
    with started("listen", "--port", "0", "--ui", "--quiet") as running:
        hook = f"http://127.0.0.1:{listener_port(running.said)}/amo/hook"
        page.goto(f"{running.base}/?token={running.token}")
        page.wait_for_selector("#conn[data-state='live']")
        page.evaluate("window.stayed = true")  # gone if the page reloads
        send_status(hook, 1)
        row(page, 1).wait_for()
        title_is(page, 1)
        send_status(hook, 2)
        row(page, 2).wait_for()
        # following the newest: the detail moved on to #2
        title_is(page, 2)
        assert page.evaluate("window.stayed") is True
        # a request chosen stays shown while others arrive
        row(page, 1).click()
        title_is(page, 1)
        send_status(hook, 3)
        row(page, 3).wait_for()
        assert page.locator("#d-title").inner_text().startswith("#1 ")
        page.locator("#follow").click()
        title_is(page, 3)
        assert page.evaluate("window.stayed") is True
        texts = [page.locator(".row[data-id]").nth(i).inner_text() for i in range(3)]
        assert [t.split()[1] for t in texts] == ["#3", "#2", "#1"]  # newest first
        assert "leads.status" in texts[0] and "200" in texts[0]
        stop(running.proc)


def test_a_burst_is_shown_by_reading_the_list_again(page: object) -> None:
    record = amodp.generate("status", "leads", seed=1).record(status=200)
    line = record_bytes(record)
    with inspector([record]) as (running, _):
        page.goto(running.url)
        page.wait_for_selector("#conn[data-state='live']")
        title_is(page, 1)
        for _ in range(700):
            running.store.keep(record, line, True)
        row(page, 701).wait_for()
        title_is(page, 701)
        assert page.locator(".row[data-id]").count() < 80


def test_ctrl_c_with_a_page_open_stops_within_two_seconds_and_loses_nothing(
    page: object, tmp_path: Path
) -> None:
    save = tmp_path / "hooks.jsonl"
    with started("listen", "--port", "0", "--ui", "--quiet", "--save", str(save)) as running:
        hook = f"http://127.0.0.1:{listener_port(running.said)}/"
        page.goto(f"{running.base}/?token={running.token}")
        page.wait_for_selector("#conn[data-state='live']")
        for seed in range(3):
            send_status(hook, seed)
        row(page, 3).wait_for()
        code, seconds, err = stop(running.proc)
    assert code == 0, err
    assert seconds < 2, seconds
    assert "3 requests received" in err and "Traceback" not in err
    assert len(save.read_text().splitlines()) == 3


# -- the detail ----------------------------------------------------------------------------


def test_the_detail_shows_the_body_as_amodp_decode_prints_it(page: object, tmp_path: Path) -> None:
    records = sample_records()
    saved = capture_file(tmp_path / "hooks.jsonl", records)
    with started("inspect", str(saved)) as running:
        page.goto(f"{running.base}/?token={running.token}")
        for number in (1, 2):
            row(page, number).click()
            title_is(page, number)
            if page.locator("#as-text").get_attribute("aria-pressed") != "true":
                page.locator("#as-text").click()
            shown = page.locator("#decoded-text").text_content()
            assert shown + "\n" == decode_output(saved, number)
        # the tree holds the same values, collapsible
        page.locator("#as-text").click()
        row(page, 1).click()
        title_is(page, 1)
        assert '"status_id": "142"' in page.locator("#tree").inner_text()
        page.locator("#collapse").click()
        assert page.locator("#tree details[open]").count() == 0
        page.locator("#expand").click()
        assert page.locator("#tree details:not([open])").count() == 0
        summary = page.locator("#d-summary").inner_text()
        assert "lead 66978001: stage 22634870 -> 142" in summary
        page.get_by_role("tab", name="Headers").click()
        assert "x-amocrm-requestid" in page.locator("#headers").inner_text()
        page.get_by_role("tab", name="Raw body").click()
        assert page.locator("#raw").text_content() == records[0]["body"]
        stop(running.proc)


def test_markup_in_a_webhook_is_shown_as_text_and_never_runs(page: object) -> None:
    markup = "<img src=x onerror=alert(1)>"
    with inspector(sample_records()) as (running, _):
        page.goto(running.url)
        row(page, 3).click()
        title_is(page, 3)
        assert markup in page.locator("#tree").inner_text()
        assert markup in page.locator("#d-summary").inner_text()
        page.get_by_role("tab", name="Raw body").click()
        page.get_by_role("tab", name="Replay").click()
        assert markup in page.locator("#r-body").input_value()
        page.locator("#as-text").count()
        time.sleep(0.3)  # an onerror would have fired by now
        assert page.locator("img").count() == 0
        assert page.dialogs == []  # type: ignore[attr-defined]
        # and a script added by hand is refused by the page's policy
        page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.injected = 1'; document.body.append(s); }"
        )
        assert page.evaluate("window.injected") is None


def test_filters_narrow_the_list(page: object) -> None:
    rows = page.locator(".row[data-id]")  # type: ignore[attr-defined]
    with inspector(sample_records()) as (running, _):
        page.goto(running.url)
        expect(rows).to_have_count(3)
        for field, value, number in [
            ("#f-q", "teplodom", 1),
            ("#f-event", "chat.message", 2),
            ("#f-status", "5xx", 3),
            ("#f-id", "66978001", 1),
        ]:
            page.locator(field).fill(value)
            expect(rows).to_have_count(1)
            expect(row(page, number)).to_have_count(1)
            page.locator(field).fill("")
            expect(rows).to_have_count(3)


# -- replay, compare, export -----------------------------------------------------------


def test_replay_reaches_the_forward_target_byte_for_byte(page: object) -> None:
    with (
        recording_server() as app_,
        started("listen", "--port", "0", "--ui", "--quiet", "--forward-to", app_.url) as running,
    ):
        send_status(f"http://127.0.0.1:{listener_port(running.said)}/amo/hook", 1)
        page.goto(f"{running.base}/?token={running.token}")
        row(page, 1).click()
        page.get_by_role("tab", name="Replay").click()
        assert page.locator("#r-url").input_value() == app_.url + "/amo/hook"
        page.locator("#r-same").click()
        page.get_by_text("Listed as").wait_for()
        result = page.locator("#r-result").inner_text()
        assert "200" in result and "delivered" in result
        row(page, 2).wait_for()
        assert "a replay of #1" in row(page, 2).locator(".replay-mark").get_attribute("title")
        stop(running.proc)
    forwarded, replayed = app_.requests
    assert replayed.body == forwarded.body
    assert replayed.path == forwarded.path
    drop = {"host", "content-length"}
    assert [h for h in replayed.headers if h[0].lower() not in drop] == [
        h for h in forwarded.headers if h[0].lower() not in drop
    ]


def test_edit_and_replay_is_signed_again_so_that_amodp_verify_accepts_it(
    page: object, tmp_path: Path
) -> None:
    with recording_server() as target, inspector(sample_records(), secret=SECRET) as (running, _):
        page.goto(running.url)
        row(page, 2).click()
        page.get_by_role("tab", name="Replay").click()
        page.locator("#r-url").fill(target.url + "/chat")
        page.locator("#r-edit summary").click()
        edited = (
            page.locator("#r-body")
            .input_value()
            .replace('"type": "text"', '"type": "text", "edited": "yes"')
        )
        assert "edited" in edited
        page.locator("#r-body").fill(edited)
        page.locator("#r-send-edited").click()
        page.get_by_text("Listed as").wait_for()
        assert "signed again: X-Signature" in page.locator("#r-result").inner_text()
    (got,) = target.requests
    assert b'"edited":"yes"' in got.body
    sent = tmp_path / "sent.http"
    sent.write_bytes(as_http(got))
    verified = subprocess.run(
        [*AMODP, "verify", str(sent), "--secret", SECRET], capture_output=True, timeout=60
    )
    assert verified.returncode == 0, verified.stderr
    assert b"chat.message: valid" in verified.stderr


def test_integers_past_two_to_the_53_keep_their_digits_when_shown_and_edited(
    page: object,
) -> None:
    """A JavaScript number cannot hold 12345678901234567891: the page shows
    and sends back the digits sent."""
    big = "12345678901234567891"
    hook = callback("chat.message", seed=3)
    body = hook.body.replace(b'"type":"text"', b'"type":"text","big":' + big.encode())
    assert body != hook.body
    record = dataclasses.replace(hook, body=body).record(status=200)
    with recording_server() as target, inspector([record]) as (running, _):
        page.goto(running.url)
        row(page, 1).click()
        expect(page.locator("#tree")).to_contain_text(big)
        page.get_by_role("tab", name="Replay").click()
        page.locator("#r-url").fill(target.url + "/chat")
        page.locator("#r-edit summary").click()
        edited = page.locator("#r-body").input_value()
        assert big in edited
        page.locator("#r-body").fill(edited.replace('"type": "text"', '"type": "text", "x": 1'))
        page.locator("#r-send-edited").click()
        page.get_by_text("Listed as").wait_for()
    (got,) = target.requests
    assert b'"big":' + big.encode() in got.body and b'"x":1' in got.body


def test_compare_two_requests(page: object) -> None:
    a = amodp.generate("status", "leads", seed=7, overrides=[("status_id", "142")])
    b = amodp.generate("status", "leads", seed=7, overrides=[("status_id", "143")])
    with inspector([a.record(status=200), b.record(status=200)]) as (running, _):
        page.goto(running.url)
        row(page, 2).click()
        row(page, 1).click(modifiers=["Shift"])
        page.locator("#c-table").wait_for()
        cells = page.locator("#c-rows tr").first.locator("td").all_inner_texts()
        assert cells == ["leads[status][0][status_id]", "changed", '"142"', '"143"']
        assert page.locator("#c-rows tr").count() == 1
        assert page.locator("#c-title").inner_text() == "#1 \u2192 #2: 1 difference"


def test_curl_export_run_by_bash_sends_the_same_bytes(page: object) -> None:
    require_tools("bash", "curl")
    records = sample_records()
    with recording_server() as target, inspector(records) as (running, _):
        page.goto(running.url)
        row(page, 1).click()
        page.get_by_role("tab", name="Replay").click()
        page.locator("#r-url").fill(target.url + "/again")
        page.get_by_role("tab", name="Export").click()
        page.locator("[data-export='curl']").click()
        page.locator("#x-text").wait_for()
        command = page.locator("#x-text").text_content()
        assert "/api/" in page.locator("#x-download").get_attribute("href")
        done = subprocess.run(["bash", "-c", command], capture_output=True, timeout=30)
        assert done.returncode == 0, done.stderr
        for kind in ("record", "har", "pytest"):
            page.locator(f"[data-export='{kind}']").click()
            expect(page.locator("#x-download")).to_have_attribute("href", re.compile(f"as={kind}"))
    (got,) = target.requests
    assert got.body == records[0]["body"].encode() and got.path == "/again"


# -- refusals ------------------------------------------------------------------------------


def test_without_the_token_the_page_is_refused(page: object) -> None:
    with inspector(sample_records()) as (running, _):
        base = f"http://127.0.0.1:{running.port}"
        refused = page.goto(base + "/")
        assert refused.status == 403 and "token" in page.content()
        assert page.goto(base + "/?token=wrong").status == 403
        assert page.goto(running.url).status == 200
        # the cookie the page set lets it reload without the token in the URL
        assert page.goto(base + "/").status == 200
        row(page, 3).wait_for()


def test_another_site_cannot_replay_with_the_inspectors_cookie(page: object) -> None:
    class Evil(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><title>evil</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with recording_server() as target, inspector(sample_records()) as (running, client):
        page.goto(running.url)  # the browser now holds the inspector's cookie
        row(page, 3).wait_for()
        with serving(Evil) as evil:
            page.goto(evil + "/")
            outcome = page.evaluate(
                """async ([url, target]) => {
                    try {
                        await fetch(url, {method: "POST", credentials: "include", mode: "no-cors",
                            headers: {"Content-Type": "text/plain"},
                            body: JSON.stringify({url: target})});
                        return "sent";
                    } catch (e) { return "blocked"; }
                }""",
                [f"http://127.0.0.1:{running.port}/api/records/1/replay", target.url],
            )
            assert outcome in ("sent", "blocked")
        time.sleep(0.3)
        assert target.requests == []
        assert client.get("/api/records").json()["total"] == 3  # no replay was listed


# -- scale ---------------------------------------------------------------------------------


def test_ten_thousand_records_show_the_newest_and_scroll_on_demand(
    page: object, tmp_path: Path
) -> None:
    """How soon the first screen comes is measured by bench/inspector_scale.py."""
    hooks = [amodp.generate("status", "leads", seed=i) for i in range(50)]
    saved = tmp_path / "many.jsonl"
    saved.write_bytes(
        b"".join(record_bytes(hooks[i % 50].record(status=200)) for i in range(10_000))
    )
    with started("inspect", str(saved)) as running:
        page.goto(f"{running.base}/?token={running.token}")
        row(page, 10_000).wait_for()
        title_is(page, 10000)
        # only the rows in view are in the document, and older pages come on demand
        assert page.locator(".row[data-id]").count() < 80
        oldest_shown = 10_000
        for _ in range(100):
            page.locator("#list").evaluate("list => { list.scrollTop = list.scrollHeight; }")
            oldest_shown = int(page.locator(".row[data-id]").last.get_attribute("data-id"))
            if oldest_shown < 9_801:  # past the first page of 200
                break
            time.sleep(0.05)
        assert oldest_shown < 9_801
        assert page.locator(".row[data-id]").count() < 80
        stop(running.proc)


def test_scrolling_after_the_inspector_stopped_says_so_and_throws_nothing(
    page: object, tmp_path: Path
) -> None:
    """Older pages asked for once the server is gone: a line in the list,
    no error thrown in the page (the page fixture fails on one)."""
    hooks = [amodp.generate("status", "leads", seed=i) for i in range(5)]
    saved = tmp_path / "many.jsonl"
    saved.write_bytes(b"".join(record_bytes(hooks[i % 5].record(status=200)) for i in range(600)))
    with started("inspect", str(saved)) as running:
        page.goto(f"{running.base}/?token={running.token}")
        row(page, 600).wait_for()
        stop(running.proc)
        page.locator("#list").evaluate("list => { list.scrollTop = list.scrollHeight; }")
        expect(page.locator("#list-foot")).to_contain_text("Older requests could not be loaded")


# -- the README's screenshot -----------------------------------------------------------


def test_a_screenshot_of_the_inspector(page: object, tmp_path: Path) -> None:
    url = "http://127.0.0.1:8000"
    arrived = 1_795_613_430  # 2026-11-25T13:30:30Z: the Salesbot token is in date then
    hooks = [
        amodp.generate("status", "leads", seed=7, url=url + "/amo/hook"),
        amodp.generate("add", "contacts", kind="account", seed=2, url=url + "/amo/account"),
        callback("chat.message", seed=3, secret=SECRET, url=url + "/amo/chat"),
        callback(
            "salesbot.widget_request", seed=5, secret=SECRET, url=url + "/amo/bot", now=arrived
        ),
        amodp.generate("call_in", "leads", seed=11, url=url + "/amo/hook"),
        amodp.generate("status", "leads", seed=8, url=url + "/amo/hook"),
    ]
    statuses = [200, 200, 200, 200, 500, 200]
    records = [
        hook.record(status=status, received_at=f"2026-11-25T13:30:{30 + i:02d}.{i * 137:03d}512Z")
        for i, (hook, status) in enumerate(zip(hooks, statuses, strict=True))
    ]
    saved = capture_file(tmp_path / "hooks.jsonl", records)
    with (
        recording_server() as app_,
        started(
            "inspect", str(saved), "--secret", SECRET, "--url", "http://127.0.0.1:9"
        ) as running,
    ):
        page.goto(f"{running.base}/?token={running.token}")
        row(page, 6).click()
        page.get_by_role("tab", name="Replay").click()
        page.locator("#r-url").fill(app_.url + "/amo/hook")
        page.locator("#r-same").click()
        row(page, 7).wait_for()
        row(page, 6).click()
        title_is(page, 6)
        page.get_by_role("tab", name="Decoded").click()
        shot = tmp_path / "inspector.png"
        page.screenshot(path=str(shot))
        stop(running.proc)
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 10_000
    wanted = os.environ.get("AMODP_SCREENSHOT")
    if wanted:
        Path(wanted).write_bytes(data)


def test_nothing_of_the_inspector_is_imported_by_listen_without_ui() -> None:
    code = (
        "import sys; sys.argv=['amodp','listen','--port','99999'];"
        "from amodp.cli import app\n"
        "try: app()\n"
        "except SystemExit: pass\n"
        "bad=[m for m in ('starlette','amodp.inspector') if m in sys.modules]\n"
        "print(bad, file=sys.stderr); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()


def test_a_signal_stops_inspect_with_streams_open(page: object, tmp_path: Path) -> None:
    saved = capture_file(tmp_path / "hooks.jsonl", sample_records())
    with started("inspect", str(saved)) as running:
        page.goto(f"{running.base}/?token={running.token}")
        page.wait_for_selector("#conn[data-state='live']")
        code, seconds, err = stop(running.proc, signal.SIGTERM)
    assert code == 0 and seconds < 2, (seconds, err)
