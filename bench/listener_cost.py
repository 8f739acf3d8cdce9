"""What one request costs ``amodp listen``, without the network: a steady figure.

``listener_speed.py`` measures what matters (requests/s under wrk) but swings
by 20% and more from run to run on a shared machine. This script feeds the
same ~1 KB DP body (``amodp.generate("status", "leads", seed=1, count=4)``), as
one HTTP/1.1 request after the other on one keep-alive connection, straight
into uvicorn's HTTP protocol, with a transport that only notes what is written
(no socket, no system calls but the save file's), on uvloop, and measures:

* ``amodp``: the listener as ``amodp listen --save FILE --json`` runs it (its
  uvicorn configuration, its protocol, a save file in a temporary directory,
  the JSON line written to /dev/null);
* ``bare``: uvicorn's own httptools protocol serving ``ok_app`` of
  ``common.py`` (reads the body, answers 200), the app ``listener_speed.py``
  compares with.

By default it prints microseconds per request (medians of 5 runs of
``--requests``, after 300 not counted): still noisy, the machine's speed
changes under it. With ``--instructions`` it runs each case under
``valgrind --tool=callgrind`` twice, with 0 and with ``--requests`` requests, and
prints the difference per request: user-space instructions, the same from run
to run to within a few hundred, blind to the kernel (the socket and the save
file's write) and to cache misses. It is the figure to compare two versions of
the code with; requests/s under wrk is the one the goal is about.

    python bench/listener_cost.py [--requests 1000] [--instructions]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
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


class Transport:
    """What uvicorn's protocol needs of a transport; ``written`` wakes the driver."""

    def __init__(self) -> None:
        self.written: asyncio.Future[None] | None = None
        self.closing = False

    def write(self, data: bytes) -> None:
        if self.written is not None and not self.written.done():
            self.written.set_result(None)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, *args: Any, **kwargs: Any) -> None:
        pass


def request_bytes() -> bytes:
    import amodp

    hook = amodp.generate("status", "leads", seed=1, count=4)
    head = "".join(f"{k}: {v}\r\n" for k, v in hook.headers if k.lower() != "host")
    return f"POST / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n{head}\r\n".encode() + hook.body


async def drive(case: str, counted: int, runs: int, tmp: str) -> list[float]:
    """Send ``counted`` requests ``runs`` times (after 300 not counted); us per request."""
    import uvicorn
    from uvicorn.server import ServerState

    loop = asyncio.get_running_loop()
    if case == "amodp":
        from amodp import listener

        out = open(os.devnull, "wb")  # noqa: SIM115 - open for the whole run

        def show(record: dict[str, Any], wanted: bool) -> None:
            out.write(record["_line"])

        app = listener.Listener(listener.Options(save=Path(tmp, "save.jsonl")), show, out.flush)
        config = listener.uvicorn_config(app)
        app.batch.loop = loop
    else:
        from common import ok_app
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        config = uvicorn.Config(
            ok_app,
            http=HttpToolsProtocol,
            loop="none",
            lifespan="off",
            log_config=None,
            log_level="critical",
            access_log=False,
            server_header=False,
        )
    config.load()
    transport = Transport()
    protocol = config.http(  # type: ignore[operator]
        config=config, server_state=ServerState(), app_state={}, _loop=loop
    )
    protocol.connection_made(transport)
    data = request_bytes()

    async def one() -> None:
        transport.written = loop.create_future()
        protocol.data_received(data)
        await transport.written
        await asyncio.sleep(0)  # the answer is complete, the next request may come

    for _ in range(300):
        await one()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(counted):
            await one()
        times.append((time.perf_counter() - started) / max(counted, 1) * 1e6)
    protocol.connection_lost(None)
    return times


def run_case(case: str, counted: int, runs: int) -> list[float]:
    import uvloop

    with tempfile.TemporaryDirectory() as tmp:
        return uvloop.run(drive(case, counted, runs, tmp))


def instructions(case: str, counted: int) -> int:
    """User-space instructions per request, from two callgrind runs."""
    totals = []
    for n in (0, counted):
        cmd = [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--child",
            case,
            "--requests",
            str(n),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise RuntimeError(f"callgrind failed ({done.returncode}):\n{done.stderr[-2000:]}")
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) // counted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="counted (default 1000)")
    parser.add_argument(
        "--instructions", action="store_true", help="instructions per request, with callgrind"
    )
    parser.add_argument("--child", choices=["amodp", "bare"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # one run under callgrind
        run_case(args.child, args.requests, 1)
        return 0
    if args.instructions:
        if shutil.which("valgrind") is None:
            sys.stderr.write("valgrind is not on PATH (Debian's package valgrind)\n")
            return 2
        got = {case: instructions(case, args.requests) for case in ("amodp", "bare")}
        for case, count in got.items():
            print(f"{case:6} {count:9,} instructions per request")
        print(f"ratio  {got['amodp'] / got['bare']:.2f}x")
        return 0
    got_us = {
        case: statistics.median(run_case(case, args.requests, 5)) for case in ("amodp", "bare")
    }
    for case, us in got_us.items():
        print(f"{case:6} {us:7.1f} us per request (median of 5 runs of {args.requests})")
    print(f"ratio  {got_us['amodp'] / got_us['bare']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
