"""How fast is ``amodp listen``, next to a bare uvicorn app that only answers 200?

Builds a realistic ~1 KB amoCRM DP body (``amodp.generate("status", "leads",
seed=1, count=4)``: four lead status changes and the account block) and points
``wrk`` (2 threads, 50 connections, 10 s, ``--latency``, the body POSTed as
``application/x-www-form-urlencoded`` by a Lua script in a temporary
directory), after a 3 s warm-up that is not counted, alternately (who goes
first alternates too) at:

* ``amodp listen --port 0 --save FILE --json >/dev/null``, a fresh process per
  round, waited for until it says ``Listening on http://127.0.0.1:PORT``;
* ``python -m uvicorn listener_speed:bare_app --http httptools --loop uvloop``:
  ``ok_app`` of ``common.py``, which reads the body and answers ``200 OK``,
  nothing else.

Prints the medians of requests/s and p99 latency, their ratios, and checks that
every request wrk counted as answered is in the save file (wrk is over and the
listener stopped with SIGTERM before the lines are counted). Then a fresh
listener takes 100,000 requests (or 60 s, whichever comes first) and its
resident memory (``VmRSS`` in ``/proc/PID/status``) is read.

Goals (floors: above them the simpler code wins): listener at least 0.4x the
bare app's requests/s, its p99 at most 2.5x the bare app's, no record lost, at
most 100 MB resident after 100,000 requests. The exit status is 1 when one is
missed, so the script can be used as a check by hand (it is not a test: a
shared, noisy machine can miss it by chance; wrk and the server share the
cores, nothing is pinned). All traffic goes to 127.0.0.1;
every process started is stopped, also on error.

    python bench/listener_speed.py [--rounds 3] [--warmup 3] [--duration 10] [--count 4]
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
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RPS_GOAL = 0.4  # listener / bare requests per second, at least
P99_GOAL = 2.5  # listener / bare p99 latency, at most
RSS_GOAL_MB = 100.0  # listener resident memory after --mem-requests, at most
QUIET_LOAD = 0.8  # 1-minute load average under which the machine counts as quiet

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # bench/common.py, also under ``python -P``
    sys.path.insert(0, str(HERE))

from common import (  # noqa: E402
    Processes,
    amodp_command,
    free_port,
    ok_app,
    report_goals,
    rss_kb,
    run_main,
    start_bare,
    wait_quiet,
)

# -- the bare responder: ``listener_speed:bare_app``, served by uvicorn in a child process

bare_app = ok_app


# -- processes ---------------------------------------------------------------------


class Lines:
    """Collects a pipe's lines in a thread (so a chatty child never blocks)."""

    def __init__(self, pipe: Any) -> None:
        self.lines: list[str] = []
        self.first = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe: Any) -> None:
        for raw in pipe:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
            self.first.set()
        self.first.set()

    def text(self) -> str:
        self.thread.join(10)
        return "\n".join(self.lines)


LISTENING = re.compile(r"Listening on http://127\.0\.0\.1:(\d+)")


def start_listener(
    procs: Processes, save: Path, seconds: float = 15
) -> tuple[subprocess.Popen[bytes], int, Lines]:
    """``amodp listen --port 0 --save FILE --json >/dev/null``, once it says where it listens."""
    cmd = [*amodp_command(), "listen", "--port", "0", "--save", str(save), "--json"]
    proc = procs.start(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    err = Lines(proc.stderr)
    if not err.first.wait(seconds) or not err.lines:
        procs.stop(proc)
        raise RuntimeError(f"amodp listen said nothing in {seconds:g} s: {err.text()!r}")
    found = LISTENING.search(err.lines[0])
    if found is None:
        procs.stop(proc)
        raise RuntimeError(f"amodp listen did not start: {err.text()!r}")
    return proc, int(found.group(1)), err


def count_lines(path: Path) -> int:
    lines = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


# -- wrk ---------------------------------------------------------------------------


def lua_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def wrk_hook(count: int) -> tuple[Any, list[tuple[str, str]]]:
    """The DP body wrk posts (``count`` x leads.status, seed 1), and its
    headers less Host and Content-Length, which wrk writes itself."""
    import amodp

    hook = amodp.generate("status", "leads", seed=1, count=count)
    return hook, [(k, v) for k, v in hook.headers if k.lower() not in ("host", "content-length")]


def wrk_script(body: bytes, headers: list[tuple[str, str]]) -> str:
    lines = ['wrk.method = "POST"', f"wrk.body = {lua_string(body.decode('ascii'))}"]
    for name, value in headers:
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    return "\n".join(lines) + "\n"


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if found is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(found.group(1)) * UNITS[found.group(2)]


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    socket_errors: str = ""
    non_2xx: int = 0
    text: str = field(default="", repr=False)


def parse_wrk(text: str) -> WrkResult:
    done = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", text, re.M)
    rps = re.search(r"^Requests/sec:\s*([\d.]+)", text, re.M)
    p50 = re.search(r"^\s*50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", text, re.M)
    if not (done and rps and p50 and p99):
        raise RuntimeError(f"cannot read wrk's output:\n{text}")
    errors = re.search(r"^\s*Socket errors: (.*)$", text, re.M)
    non_2xx = re.search(r"^\s*Non-2xx or 3xx responses: (\d+)", text, re.M)
    return WrkResult(
        requests=int(done.group(1)),
        seconds=_ms(done.group(2) + done.group(3)) / 1e3,
        rps=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        socket_errors=errors.group(1) if errors else "",
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        text=text,
    )


def wrk_command(args: argparse.Namespace, script: Path, port: int, seconds: float) -> list[str]:
    return [
        args.wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds:g}s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}/",
    ]


def run_wrk(procs: Processes, cmd: list[str], seconds: float) -> WrkResult:
    proc = procs.start(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        out, _ = proc.communicate(timeout=seconds + 30)
    finally:
        procs.stop(proc, signal.SIGINT, wait=10)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{out.decode(errors='replace')}")
    return parse_wrk(out.decode(errors="replace"))


# -- the cases ---------------------------------------------------------------------


@dataclass
class Round:
    case: str
    wrk: WrkResult
    rss_kb: int
    records: int | None = None  # lines in the save file
    received: int | None = None  # what the listener's summary said
    exit_code: int | None = None


SUMMARY = re.compile(r"(\d+) requests? received")


def listener_round(procs: Processes, args: argparse.Namespace, script: Path, save: Path) -> Round:
    proc, port, err = start_listener(procs, save)
    try:
        result = run_wrk(procs, wrk_command(args, script, port, args.duration), args.duration)
        rss = rss_kb(proc.pid)["VmRSS"]
    finally:
        code = procs.stop(proc, signal.SIGTERM)  # wrk is over: the listener drains and exits
    summary = SUMMARY.search(err.text())
    records = count_lines(save)
    save.unlink()
    return Round(
        "amodp listen",
        result,
        rss,
        records=records,
        received=int(summary.group(1)) if summary else None,
        exit_code=code,
    )


def bare_round(
    procs: Processes, args: argparse.Namespace, script: Path, seconds: float | None = None
) -> Round:
    port = free_port()
    proc = start_bare(procs, port, "listener_speed:bare_app", HERE)
    seconds = args.duration if seconds is None else seconds
    try:
        result = run_wrk(procs, wrk_command(args, script, port, seconds), seconds)
        rss = rss_kb(proc.pid)["VmRSS"]
    finally:
        code = procs.stop(proc, signal.SIGTERM)
    return Round("bare uvicorn", result, rss, exit_code=code)


@dataclass
class Memory:
    records: int
    seconds: float
    start_kb: int
    after_kb: int
    peak_kb: int
    wrk: WrkResult


def memory_run(procs: Processes, args: argparse.Namespace, script: Path, save: Path) -> Memory:
    """A fresh listener takes ``--mem-requests`` requests (at most ``--mem-seconds``)."""
    proc, port, _ = start_listener(procs, save)
    try:
        start_kb = rss_kb(proc.pid)["VmRSS"]
        cmd = wrk_command(args, script, port, args.mem_seconds)
        wrk = procs.start(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        out = b""
        try:
            started = time.monotonic()
            records = 0
            with open(save, "rb") as fh:
                while wrk.poll() is None and records < args.mem_requests:
                    time.sleep(0.05)
                    records += fh.read().count(b"\n")
            if wrk.poll() is None:
                wrk.send_signal(signal.SIGINT)  # wrk stops and prints what it counted
            out, _ = wrk.communicate(timeout=args.mem_seconds + 30)
            seconds = time.monotonic() - started
        finally:
            procs.stop(wrk, signal.SIGINT, wait=10)
        time.sleep(0.5)  # the last requests in flight are written
        status = rss_kb(proc.pid)
        records = count_lines(save)
    finally:
        procs.stop(proc, signal.SIGTERM)
    save.unlink()
    return Memory(
        records,
        seconds,
        start_kb,
        status["VmRSS"],
        status["VmHWM"],
        parse_wrk(out.decode(errors="replace")),
    )


# -- main --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each (default 3)")
    parser.add_argument(
        "--warmup", type=float, default=3, help="seconds of wrk first, not counted (default 3)"
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds of wrk (default 10)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    parser.add_argument("--count", type=int, default=4, help="leads in the body (default 4: ~1 KB)")
    parser.add_argument(
        "--mem-requests", type=int, default=100_000, help="memory check (default 100000)"
    )
    parser.add_argument(
        "--mem-seconds", type=float, default=60, help="memory check at most (default 60)"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=300,
        help=f"seconds to wait for a load average < {QUIET_LOAD} (default 300)",
    )
    args = parser.parse_args(argv)
    args.wrk = shutil.which("wrk")
    if args.wrk is None:
        sys.stderr.write("wrk is not on PATH\n")
        return 2

    import amodp

    hook, headers = wrk_hook(args.count)
    print(wait_quiet(QUIET_LOAD, args.wait_quiet), flush=True)
    print(
        f"body: {len(hook.body)} bytes ({args.count} x leads.status, seed 1); "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, {args.rounds} rounds; "
        f"Python {sys.version.split()[0]}, amodp {amodp.__version__}",
        flush=True,
    )

    rounds: list[Round] = []
    with tempfile.TemporaryDirectory() as tmp, Processes() as procs:
        script = Path(tmp, "post.lua")
        script.write_text(wrk_script(hook.body, headers), encoding="ascii")
        save = Path(tmp, "save.jsonl")
        if args.warmup > 0:
            # The machine settles (CPU clocks, caches, the host's scheduler)
            # on a bare responder; this run is not counted.
            bare_round(procs, args, script, args.warmup)
            print(f"  warm-up: {args.warmup:g} s of wrk against the bare app, not counted")
        for r in range(args.rounds):
            # Alternate who goes first, so that neither always meets the
            # machine in the same state.
            for run in ("listener", "bare") if r % 2 == 0 else ("bare", "listener"):
                if run == "listener":
                    done = listener_round(procs, args, script, save)
                else:
                    done = bare_round(procs, args, script)
                rounds.append(done)
                w = done.wrk
                extra = ""
                if done.records is not None:
                    extra = (
                        f", {done.records} records, summary {done.received}, exit {done.exit_code}"
                    )
                print(
                    f"  round {r + 1} {done.case:13} {w.rps:9.0f} req/s  p50 {w.p50_ms:6.2f}ms "
                    f"p99 {w.p99_ms:6.2f}ms  {w.requests} answered, non-2xx {w.non_2xx}"
                    f"{', socket errors ' + w.socket_errors if w.socket_errors else ''}, "
                    f"RSS {done.rss_kb / 1024:.1f} MB{extra}",
                    flush=True,
                )
        memory = memory_run(procs, args, script, save)

    def med(case: str, attr: str) -> float:
        return statistics.median(getattr(x.wrk, attr) for x in rounds if x.case == case)

    print(f"{'':14} {'req/s':>9} {'p50':>9} {'p99':>9}   (medians of {args.rounds} rounds)")
    for case in ("amodp listen", "bare uvicorn"):
        print(
            f"{case:14} {med(case, 'rps'):9.0f} {med(case, 'p50_ms'):7.2f}ms "
            f"{med(case, 'p99_ms'):7.2f}ms"
        )
    rps_ratio = med("amodp listen", "rps") / med("bare uvicorn", "rps")
    p99_ratio = med("amodp listen", "p99_ms") / med("bare uvicorn", "p99_ms")
    pairs = list(
        zip(
            [x.wrk for x in rounds if x.case == "amodp listen"],
            [x.wrk for x in rounds if x.case == "bare uvicorn"],
            strict=True,
        )
    )
    print(
        "each round, listener/bare: req/s "
        + " ".join(f"{a.rps / b.rps:.2f}x" for a, b in pairs)
        + ", p99 "
        + " ".join(f"{a.p99_ms / b.p99_ms:.2f}x" for a, b in pairs)
    )

    # Records against answers: the listener writes each record before it answers,
    # so a request still in flight when wrk stops is in the file but not in wrk's
    # count; at most one per connection.
    kept = True
    for x in rounds:
        if x.records is None:
            continue
        extra = x.records - x.wrk.requests
        if extra < 0 or extra > args.connections or x.received != x.records or x.wrk.non_2xx:
            kept = False
        print(
            f"records: {x.records} lines in the save file, wrk counted {x.wrk.requests} "
            f"answers ({extra:+d}: in flight when wrk stopped), listener summary {x.received}"
        )

    mem_mb = memory.after_kb / 1024
    print(
        f"memory: {memory.records} requests in {memory.seconds:.1f} s ({memory.wrk.requests} "
        f"answers counted by wrk); VmRSS {memory.start_kb / 1024:.1f} MB at start, "
        f"{mem_mb:.1f} MB after, peak (VmHWM) {memory.peak_kb / 1024:.1f} MB"
    )
    complete = memory.records >= args.mem_requests
    if not complete:
        print(f"memory: only {memory.records} of {args.mem_requests} requests within the time")

    goals = [
        (f"listener >= {RPS_GOAL}x bare req/s", rps_ratio >= RPS_GOAL, f"{rps_ratio:.2f}x"),
        (f"listener p99 <= {P99_GOAL:g}x bare p99", p99_ratio <= P99_GOAL, f"{p99_ratio:.2f}x"),
        ("every answered request saved", kept, "yes" if kept else "no"),
        (
            f"RSS <= {RSS_GOAL_MB:.0f} MB after {args.mem_requests} requests",
            complete and mem_mb <= RSS_GOAL_MB,
            f"{mem_mb:.1f} MB",
        ),
    ]
    return report_goals(goals)


if __name__ == "__main__":
    run_main(main)
