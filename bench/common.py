"""Process and port helpers shared by the benchmarks that start servers and clients.

``listener_speed.py`` and ``sender_speed.py`` both start children (a bare uvicorn
responder, ``amodp listen``, ``amodp send``, wrk, reference clients), talk to
them over 127.0.0.1 and must stop every one of them at the end, also on an error
or an interrupt; both measure against the same bare ASGI responder. This module
holds that part once, so both scripts do it the same way; what each one measures
stays in the script.

It is not a module of amodp: the scripts are run as ``python bench/NAME.py``, so
``bench/`` is on ``sys.path`` and they ``from common import ...`` (each script
also puts its own directory there, for runs under ``python -P``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# -- the bare responder (served by uvicorn in a child process) ---------------------

_OK = b"200 OK\n"
_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(_OK)).encode()),
    ],
}
_BODY = {"type": "http.response.body", "body": _OK}


async def ok_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reads the request body and answers 200, as ``amodp listen`` does, and no more.

    Each script names it (``listener_speed:bare_app``, ``sender_speed:app``) and
    has it served by ``start_bare``.
    """
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        more = message.get("more_body", False)
    await send(_START)
    await send(_BODY)


# -- processes ---------------------------------------------------------------------


class Processes:
    """Children started in their own process groups; ``close`` ends those still running."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.running: list[subprocess.Popen[bytes]] = []
        self.env = env

    def start(self, cmd: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        kwargs.setdefault("env", self.env)
        proc = subprocess.Popen(cmd, start_new_session=True, **kwargs)
        self.running.append(proc)
        return proc

    def stop(
        self, proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, wait: float = 30
    ) -> int:
        """Signal the child's process group, wait, then SIGKILL the group if it is still there."""
        if proc.poll() is None:
            _killpg(proc.pid, sig)
            try:
                proc.wait(wait)
            except subprocess.TimeoutExpired:
                _killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        if proc in self.running:
            self.running.remove(proc)
        return proc.returncode

    def run(self, cmd: list[str], seconds: float, **kwargs: Any) -> tuple[int, bytes, bytes, float]:
        """Run to the end (killed after ``seconds``): exit code, stdout, stderr, wall time."""
        started = time.perf_counter()
        proc = self.start(cmd, stdin=subprocess.DEVNULL, **kwargs)
        try:
            out, err = proc.communicate(timeout=seconds)
        except subprocess.TimeoutExpired:
            raise RuntimeError(
                f"{' '.join(cmd[:3])}... still running after {seconds:g} s"
            ) from None
        finally:
            self.stop(proc, signal.SIGTERM, wait=5)
        return proc.returncode, out or b"", err or b"", time.perf_counter() - started

    def close(self) -> None:
        for proc in list(self.running):
            self.stop(proc, signal.SIGTERM, wait=5)

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def amodp_command() -> list[str]:
    """The ``amodp`` script next to ``sys.executable``, else ``python -m amodp``."""
    script = Path(sys.executable).with_name("amodp")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "amodp"]


def rss_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in kB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(proc: subprocess.Popen[bytes], port: int, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}) before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds:g} s")


def start_bare(procs: Processes, port: int, app: str, app_dir: Path) -> subprocess.Popen[bytes]:
    """``python -m uvicorn APP --app-dir APP_DIR`` on 127.0.0.1:port, once it answers.

    ``app`` is ``module:attribute`` of a bare ASGI app (each script has its own),
    served with httptools and uvloop, without access log.
    """
    cmd = [sys.executable, "-m", "uvicorn", app, "--app-dir", str(app_dir)]
    cmd += ["--http", "httptools", "--loop", "uvloop", "--no-access-log"]
    cmd += ["--log-level", "warning", "--host", "127.0.0.1", "--port", str(port)]
    proc = procs.start(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    wait_for_port(proc, port)
    return proc


def wait_quiet(limit: float, wait: float) -> str:
    """Wait (up to ``wait`` seconds) for a 1-minute load average under ``limit``."""
    deadline = time.monotonic() + wait
    while True:
        load = Path("/proc/loadavg").read_text().split()
        if float(load[0]) < limit or time.monotonic() >= deadline:
            break
        print(f"load average {' '.join(load[:3])}: waiting for < {limit}", flush=True)
        time.sleep(15)
    quiet = "quiet" if float(load[0]) < limit else f"NOT quiet (gave up after {wait:g} s)"
    return f"load average {' '.join(load[:3])} before measuring: {quiet}"


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both unwind through ``Processes.__exit__``, which
    stops every child (they run in process groups of their own, so a signal
    to the script alone would leave them running)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupted)


def report_goals(goals: list[tuple[str, bool, Any]]) -> int:
    """Print ``goal: NAME: met (VALUE)`` for each; the exit code: 1 when one is missed."""
    for name, met, value in goals:
        print(f"goal: {name}: {'met' if met else 'NOT met'} ({value})")
    return 0 if all(met for _, met, _ in goals) else 1


def run_main(main: Any) -> None:
    """Run a benchmark's ``main`` stopped cleanly by Ctrl-C or SIGTERM: every
    process it started is stopped, and it exits 130."""
    stop_on_signals()
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: every process started was stopped\n")
        sys.exit(130)
