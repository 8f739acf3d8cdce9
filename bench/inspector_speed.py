"""How much does ``amodp listen --ui`` cost the listener, with and without a page open?

The same ~1 KB DP body and wrk run as ``listener_speed.py`` (2 threads, 50
connections, ``--duration`` seconds, after a warm-up that is not counted),
alternately (the order rotates each round) at a fresh process of:

* ``amodp listen --port 0 --save FILE --json >/dev/null`` ("listen");
* the same with ``--ui`` and no page open ("listen --ui");
* the same with ``--ui`` and the inspector's page open in headless Chromium
  (Debian's ``chromium`` through Playwright, as the tests drive it), its
  event stream connected and its list following the requests ("--ui + page").
  Without Playwright or Chromium, a plain event-stream reader in a process of
  its own stands in for the page (said in the output).

Prints the medians of requests/s and p99 and the ratios to "listen", and
checks that every request wrk counted as answered is in the save file.

Goals (floors: above them the simpler code wins): "listen --ui" at least
0.9x the requests/s of "listen", "--ui + page" at least 0.7x; no answered
request missing. Exit status 1 when one is missed (not a test: a shared,
noisy machine can miss it by chance; wrk, the listener and the browser share
the cores). All traffic goes to 127.0.0.1; every process started is stopped,
also on error.

    python bench/inspector_speed.py [--rounds 3] [--warmup 3] [--duration 10]
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # bench/common.py, also under ``python -P``
    sys.path.insert(0, str(HERE))

from common import Processes, amodp_command, report_goals, run_main, wait_quiet  # noqa: E402
from listener_speed import (  # noqa: E402
    LISTENING,
    QUIET_LOAD,
    SUMMARY,
    Lines,
    WrkResult,
    count_lines,
    run_wrk,
    wrk_command,
    wrk_hook,
    wrk_script,
)

UI_GOAL = 0.9  # listen --ui / listen requests per second, at least
PAGE_GOAL = 0.7  # listen --ui with a page open / listen, at least
CASES = ("listen", "listen --ui", "--ui + page")
INSPECTOR = re.compile(r"Inspector: (http://127\.0\.0\.1:\d+/\?token=[\w-]+)")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: the page, in a process of its own: headless Chromium, or an event-stream reader
PAGE = textwrap.dedent(
    """
    import sys, time, http.client, urllib.parse
    url, chromium = sys.argv[1], sys.argv[2]
    if chromium:
        from playwright.sync_api import sync_playwright
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=sys.argv[3:])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            page.wait_for_selector("#conn[data-state='live']")
            print("open", flush=True)
            sys.stdin.read()
            browser.close()
    else:
        parts = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port)
        conn.request("GET", "/api/stream?" + parts.query)
        response = conn.getresponse()
        print("open", flush=True)
        while response.readline():
            pass
    """
)


@dataclass
class Round:
    case: str
    wrk: WrkResult
    records: int
    received: int | None


Started = tuple[subprocess.Popen[bytes], int, str, Lines]


def start(procs: Processes, save: Path, ui: bool) -> Started:
    cmd = [*amodp_command(), "listen", "--port", "0", "--save", str(save), "--json"]
    if ui:
        cmd.append("--ui")
    proc = procs.start(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    err = Lines(proc.stderr)
    port, inspector = None, ""
    deadline = time.monotonic() + 15
    while port is None and proc.poll() is None and time.monotonic() < deadline:
        text = "\n".join(err.lines)
        found, shown = LISTENING.search(text), INSPECTOR.search(text)
        if found and (shown or not ui):
            port, inspector = int(found.group(1)), shown.group(1) if shown else ""
        else:
            time.sleep(0.05)
    if port is None:
        procs.stop(proc)
        raise RuntimeError(f"amodp listen did not start: {err.text()!r}")
    return proc, port, inspector, err


def open_page(procs: Processes, url: str, chromium: str) -> subprocess.Popen[bytes]:
    proc = procs.start(
        [sys.executable, "-c", PAGE, url, chromium, *CHROMIUM_ARGS],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != b"open":
        procs.stop(proc)
        raise RuntimeError("the page did not open")
    return proc


def one_round(
    procs: Processes, args: argparse.Namespace, script: Path, save: Path, case: str
) -> Round:
    proc, port, inspector, err = start(procs, save, ui=case != "listen")
    page = None
    try:
        if case == "--ui + page":
            page = open_page(procs, inspector, args.chromium or "")
        result = run_wrk(procs, wrk_command(args, script, port, args.duration), args.duration)
    finally:
        if page is not None:
            procs.stop(page, signal.SIGTERM, wait=10)
        procs.stop(proc, signal.SIGTERM)
    summary = SUMMARY.search(err.text())
    records = count_lines(save)
    save.unlink()
    return Round(case, result, records, int(summary.group(1)) if summary else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each (default 3)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds not counted (default 3)")
    parser.add_argument("--duration", type=float, default=10, help="seconds of wrk (default 10)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    parser.add_argument("--count", type=int, default=4, help="leads in the body (default 4: ~1 KB)")
    parser.add_argument(
        "--wait-quiet", type=float, default=300, help="seconds to wait for a quiet machine"
    )
    args = parser.parse_args(argv)
    args.wrk = shutil.which("wrk")
    if args.wrk is None:
        sys.stderr.write("wrk is not on PATH\n")
        return 2
    args.chromium = shutil.which("chromium")
    try:
        import playwright  # noqa: F401
    except ImportError:
        args.chromium = None

    import amodp

    hook, headers = wrk_hook(args.count)
    print(wait_quiet(QUIET_LOAD, args.wait_quiet), flush=True)
    page = "headless Chromium" if args.chromium else "an event-stream reader (no Chromium)"
    print(
        f"body: {len(hook.body)} bytes; wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration:g}s, {args.rounds} rounds; the page: {page}; "
        f"Python {sys.version.split()[0]}, amodp {amodp.__version__}",
        flush=True,
    )
    rounds: list[Round] = []
    with tempfile.TemporaryDirectory() as tmp, Processes() as procs:
        script = Path(tmp, "post.lua")
        script.write_text(wrk_script(hook.body, headers), encoding="ascii")
        save = Path(tmp, "save.jsonl")
        if args.warmup > 0:
            warm = argparse.Namespace(**{**vars(args), "duration": args.warmup})
            one_round(procs, warm, script, save, "listen")
            print(f"  warm-up: {args.warmup:g} s of wrk, not counted", flush=True)
        for r in range(args.rounds):
            order = CASES[r % 3 :] + CASES[: r % 3]
            for case in order:
                done = one_round(procs, args, script, save, case)
                rounds.append(done)
                w = done.wrk
                print(
                    f"  round {r + 1} {case:12} {w.rps:9.0f} req/s  p50 {w.p50_ms:6.2f}ms "
                    f"p99 {w.p99_ms:6.2f}ms  {w.requests} answered, {done.records} records",
                    flush=True,
                )

    def med(case: str, attr: str) -> float:
        return statistics.median(getattr(x.wrk, attr) for x in rounds if x.case == case)

    print(f"{'':14} {'req/s':>9} {'p99':>9}   (medians of {args.rounds} rounds)")
    for case in CASES:
        ratio = med(case, "rps") / med("listen", "rps")
        print(f"{case:14} {med(case, 'rps'):9.0f} {med(case, 'p99_ms'):7.2f}ms  {ratio:.2f}x")
    kept = all(
        0 <= x.records - x.wrk.requests <= args.connections
        and x.received == x.records
        and not x.wrk.non_2xx
        for x in rounds
    )
    ui = med("listen --ui", "rps") / med("listen", "rps")
    with_page = med("--ui + page", "rps") / med("listen", "rps")
    goals: list[tuple[str, bool, Any]] = [
        (f"listen --ui >= {UI_GOAL}x listen req/s", ui >= UI_GOAL, f"{ui:.2f}x"),
        (f"--ui with a page >= {PAGE_GOAL}x listen", with_page >= PAGE_GOAL, f"{with_page:.2f}x"),
        ("every answered request saved", kept, "yes" if kept else "no"),
    ]
    return report_goals(goals)


if __name__ == "__main__":
    run_main(main)
