"""How long does the default receiver test suite take, whole process, against a
receiver that answers at once?

Starts a bare responder, ``python -m uvicorn check_speed:app --http httptools
--loop uvloop`` on a free port of 127.0.0.1 (``ok_app`` of ``common.py``: reads
the body, answers ``200 OK``), then runs, ``--rounds`` times, the command
itself with its defaults::

    python -m amodp check --url URL --seed N --json

(the cases of the DP and account-level webhooks built from the catalog, sent
10 at once, the retries after the first deliveries, every answer judged, the
table on stderr, one JSON record per case on stdout). Each run is timed with
``time.perf_counter`` around ``subprocess.run``: Python start-up, imports,
building the bodies, sending, judging and printing included. Every case must
pass (the ``max_input_vars`` ones with their warning) and the exit status be 0.

Goal: at most 5 s whole process (the median). The exit status is 1 when it is
missed or a case fails, so the script can be used as a check by hand; it is not
a test (a shared, noisy machine can miss it by chance). All traffic goes to
127.0.0.1 and every process started is stopped, also on error or Ctrl-C.

    python bench/check_speed.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_S = 5.0  # the default suite, whole process, at most

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # bench/common.py, also under ``python -P``
    sys.path.insert(0, str(HERE))

from common import Processes, free_port, ok_app, start_bare, stop_on_signals  # noqa: E402

app = ok_app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    stop_on_signals()
    port = free_port()
    url = f"http://127.0.0.1:{port}/amo/hook"
    times: list[float] = []
    with Processes() as procs:
        start_bare(procs, port, "check_speed:app", HERE)
        for n in range(1, args.rounds + 1):
            cmd = [sys.executable, "-m", "amodp", "check", "--url", url, "--seed", str(n), "--json"]
            started = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, timeout=120)
            seconds = time.perf_counter() - started
            if done.returncode != 0:
                print(done.stderr.decode(errors="replace")[-2000:], file=sys.stderr)
                return 1
            results = [json.loads(line) for line in done.stdout.splitlines()]
            failed = [r["case"] for r in results if not r["ok"]]
            warned = sum(1 for r in results if r["warning"])
            times.append(seconds)
            print(
                f"round {n}: {seconds:.2f} s, {len(results)} cases, "
                f"{len(failed)} failed, {warned} warnings",
                flush=True,
            )
            if failed:
                print(f"failed: {', '.join(failed[:10])}", file=sys.stderr)
                return 1
    median = statistics.median(times)
    print(
        f"median {median:.2f} s (min {min(times):.2f}, max {max(times):.2f}); goal <= {GOAL_S:g} s"
    )
    return 0 if median <= GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main())
