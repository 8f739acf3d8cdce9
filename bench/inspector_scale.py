"""``amodp inspect`` of a big capture file: how soon is the first screen there,
and how much memory does it take?

Writes capture files of ``--sizes`` records (default 1, 10,000 and 100,000
``listen --save`` records of ~1.3 KB: DP status changes of 50 seeds in turn),
then, in ``--rounds`` rounds (the order of the sizes rotates each round),
starts a fresh ``amodp inspect FILE --port 0`` for each and measures:

* **first page**: from starting the process to the first page of
  ``/api/records`` answered (what the page asks for first);
* **first screen**: the same start, then the page opened in headless Chromium
  (Debian's ``chromium`` through Playwright, already running: its own start is
  not counted) until the newest record's row is drawn. Skipped, and said,
  without Playwright or Chromium;
* **search**: ``/api/records?q=...``, a text search through every body, newest
  first, for a value only the oldest record holds (the whole file is read);
* **peak memory**: the process's peak resident set (``VmHWM``) after all of
  that and 50 details and a compare.

Prints the medians, and each size's peak memory above the 1-record file's
(measured in the same run), per record and as a share of the file's size.

Goals (floors: above them the simpler code wins): the first screen of the
10,000-record file (the first page without a browser) within 2 s; the peak
memory above the 1-record file's at most 10% of the file's size for every
size (the inspector reads records from the file when asked, and holds where
each starts: it does not load the file). Exit status 1 when one is missed.
All traffic goes to 127.0.0.1; every process started is stopped.

    python bench/inspector_scale.py [--sizes 1,10000,100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # bench/common.py, also under ``python -P``
    sys.path.insert(0, str(HERE))

from common import Processes, amodp_command, report_goals, rss_kb, run_main  # noqa: E402

SCREEN_GOAL = 2.0  # seconds to the first screen of 10,000 records, at most
MEMORY_GOAL = 0.10  # peak memory above the 1-record file's / the file's size, at most
INSPECTOR = re.compile(r"Inspector: (http://127\.0\.0\.1:(\d+)/\?token=([\w-]+))")
OLDEST_ONLY = "Only-in-the-oldest-record"


def write_file(path: Path, size: int) -> None:
    """``size`` capture records, the oldest (the first) with a name no other has."""
    import amodp
    from amodp.records import record_bytes

    hooks = [amodp.generate("status", "leads", seed=i) for i in range(50)]
    lines = [record_bytes(h.record(status=200)) for h in hooks]
    marked = amodp.generate(
        "status", "leads", seed=0, overrides=[("leads[status][0][name]", OLDEST_ONLY)]
    )
    with path.open("wb") as out:
        out.write(record_bytes(marked.record(status=200)))
        for i in range(1, size):
            out.write(lines[i % 50])


class Browser:
    """Headless Chromium through Playwright, started once."""

    def __init__(self) -> None:
        self.page: Any = None
        self.why = ""
        chromium = shutil.which("chromium")
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            self.why = "Playwright is not installed"
            return
        if chromium is None:
            self.why = "chromium is not on PATH"
            return
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        self.page = self.browser.new_page(viewport={"width": 1280, "height": 800})

    def first_screen(self, url: str, newest: int) -> float:
        began = time.monotonic()
        self.page.goto(url)
        self.page.locator(f".row[data-id='{newest}']").wait_for(timeout=30_000)
        return time.monotonic() - began

    def close(self) -> None:
        if self.page is not None:
            self.browser.close()
            self.playwright.stop()


def one(procs: Processes, path: Path, size: int, browser: Browser) -> dict[str, float]:
    import httpx

    began = time.monotonic()
    proc = procs.start(
        [*amodp_command(), "inspect", str(path), "--port", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    said = b""
    assert proc.stderr is not None
    while not INSPECTOR.search(said.decode(errors="replace")):
        line = proc.stderr.readline()
        if not line:
            raise SystemExit(f"amodp inspect stopped: {said.decode(errors='replace')}")
        said += line
    found = INSPECTOR.search(said.decode())
    assert found is not None
    url, port, token = found[1], found[2], found[3]
    result: dict[str, float] = {}
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"X-Amodp-Token": token}, timeout=120
    ) as client:
        page = client.get("/api/records").json()
        result["first page"] = time.monotonic() - began
        assert page["total"] == size and page["records"][0]["id"] == size, page["total"]
        if browser.page is not None:
            result["first screen"] = result["first page"] + browser.first_screen(url, size)
        t = time.monotonic()
        hits = client.get("/api/records", params={"q": OLDEST_ONLY}).json()["records"]
        result["search"] = time.monotonic() - t
        assert [r["id"] for r in hits] == [1], hits
        for number in range(size, max(size - 50, 0), -1):
            assert client.get(f"/api/records/{number}").status_code == 200
        assert client.get("/api/diff", params={"a": 1, "b": size}).status_code == 200
    memory = rss_kb(proc.pid)
    result["peak MB"] = memory["VmHWM"] / 1024
    result["rss MB"] = memory["VmRSS"] / 1024
    procs.stop(proc, signal.SIGINT)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,10000,100000")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if 1 not in sizes:
        sizes.insert(0, 1)  # the reference
    work = Path(tempfile.mkdtemp(prefix="amodp-bench-"))
    browser = Browser()
    if browser.why:
        print(f"first screen: not measured ({browser.why})")
    runs: dict[int, list[dict[str, float]]] = {size: [] for size in sizes}
    try:
        files = {}
        for size in sizes:
            files[size] = work / f"{size}.jsonl"
            write_file(files[size], size)
        with Processes(env=dict(os.environ, NO_COLOR="1")) as procs:
            for r in range(args.rounds):
                order = sizes[r % len(sizes) :] + sizes[: r % len(sizes)]
                for size in order:
                    runs[size].append(one(procs, files[size], size, browser))
                    print(f"round {r + 1}: {size} records: {runs[size][-1]}", file=sys.stderr)
        print(
            f"\n{'records':>8} {'file MB':>8} {'1st page':>9} {'1st screen':>10} "
            f"{'search':>7} {'peak MB':>8} {'above 1':>8} {'per record':>10} {'of file':>8}"
        )
        goals = []
        base = statistics.median(x["peak MB"] for x in runs[1])
        for size in sizes:
            med = {k: statistics.median(x[k] for x in runs[size]) for k in runs[size][0]}
            file_mb = files[size].stat().st_size / (1 << 20)
            above = med["peak MB"] - base
            share = above / file_mb if size > 1 else 0.0
            screen = med.get("first screen")
            print(
                f"{size:>8} {file_mb:>8.1f} {med['first page']:>8.2f}s "
                f"{'-' if screen is None else f'{screen:.2f}s':>10} {med['search']:>6.2f}s "
                f"{med['peak MB']:>8.1f} {above:>8.1f} "
                f"{above * (1 << 20) / size if size > 1 else 0:>9.0f}B {share:>7.1%}"
            )
            if size > 1:
                goals.append(
                    (
                        f"{size} records: peak memory above 1 record <= "
                        f"{MEMORY_GOAL:.0%} of the file",
                        share <= MEMORY_GOAL,
                        f"{share:.1%}",
                    )
                )
            if size == 10_000:
                shown = screen if screen is not None else med["first page"]
                what = "first screen" if screen is not None else "first page (no browser)"
                goals.append(
                    (
                        f"10000 records: {what} <= {SCREEN_GOAL} s",
                        shown <= SCREEN_GOAL,
                        f"{shown:.2f} s",
                    )
                )
        return report_goals(goals)
    finally:
        browser.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run_main(main)
