"""How fast does ``amodp decode FILE`` start, next to ``python -c "import typer"``?

Writes a realistic ~1 KB amoCRM body (an account-level lead update with custom
fields) to a temporary file and runs, alternately, ``amodp decode FILE`` and
``python -c "import typer"`` with the same interpreter, after a warm-up, both
from cached bytecode (see ``child_env``). Each run is one ``subprocess.run``
timed with ``time.perf_counter`` (stdout to /dev/null). Prints the medians and
their ratio, and what ``hyperfine -N`` says when hyperfine is on PATH.

The goal is ``amodp decode`` at most 1.3x ``import typer``: the command costs
little more than the CLI framework it is built on. The exit status is 1 when
the ratio is above that, so the script can be used as a check by hand (it is
not a test: a shared, noisy machine can miss it by chance).

    python bench/startup.py [-n 40] [--warmup 5] [--no-bytecode-cache]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import amodp

GOAL = 1.3  # amodp decode / import typer, at most

DATA = {
    "leads": {
        "update": [
            {
                "id": "10754147",
                "name": "Сделка #10754147: кухня «Модерн»",
                "status_id": "54423922",
                "price": "185000",
                "responsible_user_id": "8051234",
                "pipeline_id": "6344290",
                "custom_fields": [
                    {
                        "id": "215001",
                        "name": "Телефон",
                        "values": [{"value": "+7 (912) 345-67-89", "enum": "301001"}],
                        "code": "PHONE",
                    },
                ],
                "updated_at": "1764061200",
            }
        ]
    },
    "account": {
        "subdomain": "example",
        "id": "30307558",
        "_links": {"self": "https://example.amocrm.ru"},
    },
}


def amodp_command() -> list[str]:
    script = Path(sys.executable).with_name("amodp")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "amodp"]


def child_env(cache: str | None) -> dict[str, str]:
    """The environment of the timed commands.

    With ``cache`` (the default), bytecode is cached under that private
    directory (``PYTHONPYCACHEPREFIX``) even when ``PYTHONDONTWRITEBYTECODE``
    is set: both commands then run from cached bytecode, as an installed
    package does. Without it, every ``amodp decode`` would compile amodp's
    sources again while typer's ``.pyc`` files, written by pip, are used.
    """
    env = dict(os.environ)
    if cache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache
    return env


def run_once(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(f"{' '.join(cmd)} failed ({proc.returncode}):\n")
        sys.stderr.write(proc.stderr.decode(errors="replace"))
        raise SystemExit(2)
    return elapsed


def hyperfine(
    decode: list[str], typer: list[str], runs: int, warmup: int, env: dict[str, str]
) -> None:
    exe = shutil.which("hyperfine")
    if exe is None:
        print("hyperfine: not on PATH, skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "hyperfine.json")
        proc = subprocess.run(
            [exe, "-N", "--style", "none", "--warmup", str(warmup), "--runs", str(runs)]
            + ["--export-json", str(out), "--", _shell(decode), _shell(typer)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
        )
        if proc.returncode != 0:
            print(f"hyperfine failed: {proc.stderr.decode(errors='replace').strip()}")
            return
        results = json.loads(out.read_text())["results"]
    medians = [r["median"] for r in results]
    print(f"hyperfine -N ({runs} runs each, not alternated):")
    for label, r in zip(("amodp decode", "import typer"), results, strict=True):
        print(f"  {label:14} median {r['median'] * 1e3:6.1f}ms  mean {r['mean'] * 1e3:6.1f}ms")
    print(f"  ratio {medians[0] / medians[1]:.2f}x")


def _shell(cmd: list[str]) -> str:
    # hyperfine -N splits the command with shell-style quoting.
    return shlex.join(cmd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=40, help="runs of each (default 40)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up runs of each (default 5)")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="run with the environment as it is (no private PYTHONPYCACHEPREFIX)",
    )
    args = parser.parse_args(argv)

    body = amodp.encode(DATA)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "body.txt")
        path.write_text(body, encoding="ascii")
        decode = [*amodp_command(), "decode", str(path)]
        typer = [sys.executable, "-c", "import typer"]
        env = child_env(None if args.no_bytecode_cache else str(Path(tmp, "pycache")))

        for _ in range(max(args.warmup, 1)):  # the first run fills the bytecode cache
            run_once(decode, env)
            run_once(typer, env)
        times: dict[str, list[float]] = {"amodp decode": [], "import typer": []}
        for i in range(args.runs):
            pair = [("amodp decode", decode), ("import typer", typer)]
            if i % 2:
                pair.reverse()  # neither always runs first
            for label, cmd in pair:
                times[label].append(run_once(cmd, env))

        import typer as typer_module

        print(
            f"body: {len(body)} bytes; Python {sys.version.split()[0]}, "
            f"typer {typer_module.__version__}, amodp {amodp.__version__}"
        )
        print(f"amodp: {' '.join(decode[:-1])} FILE")
        if args.no_bytecode_cache:
            dont = "set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "not set"
            print(f"bytecode: environment as is (PYTHONDONTWRITEBYTECODE {dont})")
        else:
            print("bytecode: cached in a private PYTHONPYCACHEPREFIX for both commands")
        print(f"{'':14} {'median':>9} {'min':>9}")
        for label, values in times.items():
            print(f"{label:14} {statistics.median(values) * 1e3:7.1f}ms {min(values) * 1e3:7.1f}ms")
        ratio = statistics.median(times["amodp decode"]) / statistics.median(times["import typer"])
        met = ratio <= GOAL
        print(
            f"goal: amodp decode <= {GOAL:.1f}x import typer: "
            f"{'met' if met else 'NOT met'} ({ratio:.2f}x, {args.runs} alternating runs each)"
        )
        hyperfine(decode, typer, args.runs, args.warmup, env)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
