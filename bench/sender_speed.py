"""How fast is ``amodp send --repeat N --concurrency 50``, next to a bare aiohttp client loop?

Starts a bare responder, ``python -m uvicorn sender_speed:app --http httptools
--loop uvloop`` on a free port of 127.0.0.1 (``ok_app`` of ``common.py`` reads the
body and answers ``200 OK``, nothing else), then runs, in rounds with the order
rotated each round:

* ``amodp send status --lead --seed 1 --repeat 20000 --concurrency 50 --json
  --url URL``, the whole process: its wall time, stdout (one JSON line per
  delivery) to a file in which every line must say 2xx, and the table it prints
  on stderr (deliveries, seconds, rate, p50/p95/p99), which gives its rate
  without the process start-up;
* the reference, in a child process: one ``aiohttp.ClientSession`` with a
  ``TCPConnector(limit=50)`` and 50 worker tasks POSTing the same body and
  headers (read from ``amodp send ... --dry-run``) 20,000 times in all, timed
  from the first request to the last answer;
* when httpx is importable: ``httpx.Client`` sending one request after the
  other (5,000), and ``httpx.AsyncClient`` with 50 tasks and 50 connections
  (2,000: it is slow); their rates are per request, so the counts do not matter.

Prints the medians of requests/s, each divided by the aiohttp loop's median of
the same run, and the goal line. The ``amodp send`` figure that counts for the
goal is the whole process (Python start-up, imports and the generation of the
body included, about 0.5 s here); the one from its own table is shown
beside it.

Goal: ``amodp send`` (whole process) at least 0.5x the aiohttp loop's
requests/s, every delivery a 2xx. The exit status is 1 when it is missed, so the
script can be used as a check by hand (it is not a test: a shared, noisy machine
can miss it by chance; the clients and the server share the cores, nothing is
pinned). All traffic goes to 127.0.0.1, every client has a deadline, and every
process started is stopped, also on error or Ctrl-C.

    python bench/sender_speed.py [--rounds 3] [--requests 20000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RPS_GOAL = 0.5  # amodp send / aiohttp loop requests per second, at least
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
    run_main,
    start_bare,
    wait_quiet,
)

# -- the bare responder: ``sender_speed:app``, served by uvicorn in a child process

app = ok_app


# -- the reference clients (each run in a child process: ``--client NAME``) --------


def _load_spec(path: str) -> tuple[str, list[tuple[str, str]], bytes]:
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    return spec["url"], [tuple(h) for h in spec["headers"]], base64.b64decode(spec["body"])


async def _aiohttp_loop(
    url: str, headers: list[tuple[str, str]], body: bytes, total: int, concurrency: int
) -> tuple[int, float]:
    import asyncio

    import aiohttp

    ok = 0
    sent = 0
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=10),
    ) as session:

        async def worker() -> None:
            nonlocal ok, sent
            while sent < total:
                sent += 1
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    ok += 200 <= response.status < 300

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return ok, seconds


def _httpx_sync(
    url: str, headers: list[tuple[str, str]], body: bytes, total: int
) -> tuple[int, float]:
    import httpx

    ok = 0
    with httpx.Client(timeout=10) as client:
        started = time.perf_counter()
        for _ in range(total):
            response = client.post(url, content=body, headers=headers)
            ok += 200 <= response.status_code < 300
        seconds = time.perf_counter() - started
    return ok, seconds


async def _httpx_async(
    url: str, headers: list[tuple[str, str]], body: bytes, total: int, concurrency: int
) -> tuple[int, float]:
    import asyncio

    import httpx

    ok = 0
    sent = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:

        async def worker() -> None:
            nonlocal ok, sent
            while sent < total:
                sent += 1
                response = await client.post(url, content=body, headers=headers)
                ok += 200 <= response.status_code < 300

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return ok, seconds


def client_main(name: str, spec: str, total: int, concurrency: int) -> int:
    """The child: send, then print one JSON line (answers with a 2xx, seconds)."""
    import asyncio

    url, headers, body = _load_spec(spec)
    if name == "aiohttp":
        ok, seconds = asyncio.run(_aiohttp_loop(url, headers, body, total, concurrency))
    elif name == "httpx-sync":
        ok, seconds = _httpx_sync(url, headers, body, total)
    elif name == "httpx-async":
        ok, seconds = asyncio.run(_httpx_async(url, headers, body, total, concurrency))
    else:
        raise SystemExit(f"unknown client {name!r}")
    print(json.dumps({"requests": total, "ok": ok, "seconds": seconds}))
    return 0


# -- processes ---------------------------------------------------------------------


def child_env(tmp: Path) -> dict[str, str]:
    """Every child runs from cached bytecode, as an installed package does (a private
    ``PYTHONPYCACHEPREFIX``, nothing written into the checkout), and without colour."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    env["NO_COLOR"] = "1"
    return env


# -- the request amodp sends -------------------------------------------------------


def dry_run_request(procs: Processes, args: argparse.Namespace, url: str) -> dict[str, Any]:
    """Headers and body of ``amodp send ... --dry-run``, for the reference clients."""
    cmd = [*amodp_command(), "send", *args.event, "--url", url, "--dry-run"]
    code, out, err, _ = procs.run(cmd, 60, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if code != 0:
        raise RuntimeError(f"amodp send --dry-run failed ({code}): {err.decode()!r}")
    head, _, rest = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(x.strip() for x in line.split(":", 1)) for line in lines[1:]]
    length = int(next(v for k, v in headers if k.lower() == "content-length"))
    body = rest[:length]
    # The clients compute Host and Content-Length themselves, as amodp's does.
    headers = [(k, v) for k, v in headers if k.lower() not in ("host", "content-length")]
    return {"url": url, "headers": headers, "body": base64.b64encode(body).decode()}


# -- the cases ---------------------------------------------------------------------


@dataclass
class Round:
    case: str
    requests: int
    ok: int
    seconds: float  # what the rate is computed from
    wall: float  # the whole child process
    own_seconds: float | None = None  # amodp's own table
    own_rate: float | None = None
    latency: str = ""
    exit_code: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


TITLE = re.compile(r"^(\d+) deliveries in ([\d.]+) s", re.M)
ROW = re.compile(r"^(rate|latency p50|latency p95|latency p99|2xx|sent)\s+([\d.]+)", re.M)


def amodp_round(procs: Processes, args: argparse.Namespace, url: str, tmp: Path) -> Round:
    out = tmp / "deliveries.jsonl"
    cmd = [*amodp_command(), "send", *args.event, "--repeat", str(args.requests)]
    cmd += ["--concurrency", str(args.concurrency), "--json", "--url", url]
    with open(out, "wb") as fh:
        code, _, err, wall = procs.run(cmd, args.timeout, stdout=fh, stderr=subprocess.PIPE)
    ok = lines = 0
    with open(out, "rb") as fh:
        for line in fh:
            lines += 1
            status = json.loads(line)["status"]
            ok += status is not None and 200 <= status < 300
    out.unlink()
    text = err.decode(errors="replace")
    title = TITLE.search(text)
    rows = dict(ROW.findall(text))
    done = Round("amodp send", lines, ok, wall, wall, exit_code=code)
    if title:
        done.own_seconds = float(title.group(2))
        done.own_rate = int(title.group(1)) / done.own_seconds
    if "latency p50" in rows:
        done.latency = " ".join(
            f"p{p} {rows[f'latency p{p}']}ms" for p in (50, 95, 99) if f"latency p{p}" in rows
        )
    if code != 0 or lines != args.requests:
        print(f"  amodp send: exit {code}, {lines} lines; stderr:\n{text}", flush=True)
    return done


def client_round(
    procs: Processes, args: argparse.Namespace, name: str, spec: Path, total: int
) -> Round:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--client", name, "--spec", str(spec)]
    cmd += ["--requests", str(total), "--concurrency", str(args.concurrency)]
    code, out, err, wall = procs.run(
        cmd, args.timeout, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    if code != 0:
        raise RuntimeError(f"client {name} failed ({code}): {err.decode(errors='replace')}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return Round(CASES[name], result["requests"], result["ok"], result["seconds"], wall)


CASES = {
    "amodp": "amodp send",
    "aiohttp": "aiohttp loop",
    "httpx-sync": "httpx Client",
    "httpx-async": "httpx AsyncClient",
}


# -- main --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each (default 3)")
    parser.add_argument(
        "--requests", type=int, default=20_000, help="amodp and aiohttp (default 20000)"
    )
    parser.add_argument("--concurrency", type=int, default=50, help="at once (default 50)")
    parser.add_argument(
        "--httpx-sync-requests", type=int, default=5_000, help="httpx.Client (default 5000)"
    )
    parser.add_argument(
        "--httpx-async-requests", type=int, default=2_000, help="httpx.AsyncClient (default 2000)"
    )
    parser.add_argument("--no-httpx", action="store_true", help="leave httpx out even if present")
    parser.add_argument(
        "--timeout", type=float, default=120, help="seconds any one client may take (default 120)"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=120,
        help=f"seconds to wait for a load average < {QUIET_LOAD} (default 120)",
    )
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        return client_main(args.client, args.spec, args.requests, args.concurrency)
    if args.requests < 1 or args.concurrency < 1 or args.rounds < 1:
        parser.error("--rounds, --requests and --concurrency must be at least 1")
    args.event = ["status", "--lead", "--seed", "1"]
    # Ctrl-C, and SIGTERM too, unwind through ``Processes.close`` (even when started
    # in the background, where SIGINT is ignored by default).

    import aiohttp

    import amodp

    cases = ["amodp", "aiohttp"]
    counts = {"amodp": args.requests, "aiohttp": args.requests}
    httpx_version = ""
    if not args.no_httpx and importlib.util.find_spec("httpx") is not None:
        import httpx

        httpx_version = f", httpx {httpx.__version__}"
        cases += ["httpx-sync", "httpx-async"]
        counts["httpx-sync"] = args.httpx_sync_requests
        counts["httpx-async"] = args.httpx_async_requests

    print(wait_quiet(QUIET_LOAD, args.wait_quiet), flush=True)
    rounds: list[Round] = []
    with tempfile.TemporaryDirectory() as tmp, Processes(child_env(Path(tmp))) as procs:
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        start_bare(procs, port, "sender_speed:app", HERE)
        # Fill the bytecode cache before anything is timed.
        warm = "import aiohttp, amodp.cli, amodp.generator, amodp.sender"
        warm += ", httpx" if httpx_version else ""
        procs.run([sys.executable, "-c", warm], 120)
        spec = dry_run_request(procs, args, url)
        spec_file = Path(tmp, "request.json")
        spec_file.write_text(json.dumps(spec), encoding="utf-8")
        print(
            f"amodp send {' '.join(args.event)} --repeat {args.requests} --concurrency "
            f"{args.concurrency} --json --url {url}\nbody {len(base64.b64decode(spec['body']))} "
            f"bytes, {len(spec['headers'])} headers; {args.rounds} rounds; Python "
            f"{sys.version.split()[0]}, amodp {amodp.__version__}, aiohttp {aiohttp.__version__}"
            f"{httpx_version}",
            flush=True,
        )
        for r in range(args.rounds):
            order = cases[r % len(cases) :] + cases[: r % len(cases)]
            for name in order:
                if name == "amodp":
                    done = amodp_round(procs, args, url, Path(tmp))
                else:
                    done = client_round(procs, args, name, spec_file, counts[name])
                rounds.append(done)
                extra = ""
                if done.case == "amodp send":
                    own = f"{done.own_rate:.0f}/s" if done.own_rate else "?"
                    extra = f"; its own table {own} {done.latency}, exit {done.exit_code}"
                print(
                    f"  round {r + 1} {done.case:17} {done.rps:7.0f} req/s  {done.requests} "
                    f"requests, {done.ok} 2xx, {done.seconds:.2f} s (process {done.wall:.2f} s)"
                    f"{extra}",
                    flush=True,
                )

    def med(case: str, attr: str = "rps") -> float:
        return statistics.median(getattr(x, attr) for x in rounds if x.case == case)

    ref = med("aiohttp loop")
    sends = [x for x in rounds if x.case == "amodp send"]
    table: list[tuple[str, float]] = [("amodp send (whole process)", med("amodp send"))]
    if all(x.own_rate for x in sends):
        table.append(("amodp send (its own timing)", med("amodp send", "own_rate")))
    table.append(("aiohttp loop", ref))
    for name in cases[2:]:
        table.append(
            (
                f"{CASES[name]} ({'sequential' if name == 'httpx-sync' else '50 tasks'})",
                med(CASES[name]),
            )
        )
    print(f"{'':30} {'req/s':>8} {'vs aiohttp':>10}   (medians of {args.rounds} rounds)")
    for case, rps in table:
        print(f"{case:30} {rps:8.0f} {rps / ref:9.2f}x")
    if all(x.own_seconds for x in sends):
        startup = statistics.median(x.wall - (x.own_seconds or 0) for x in sends)
        print(f"amodp send outside its own timing (start-up, exit): {startup:.2f} s (median)")

    ratio = med("amodp send") / ref
    delivered = all(x.ok == x.requests == args.requests and x.exit_code == 0 for x in sends)
    goals = [
        (f"amodp send >= {RPS_GOAL}x aiohttp", ratio >= RPS_GOAL, f"{ratio:.2f}x"),
        ("every delivery a 2xx", delivered, "yes" if delivered else "no"),
    ]
    return report_goals(goals)


if __name__ == "__main__":
    run_main(main)
