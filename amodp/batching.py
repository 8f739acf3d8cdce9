"""What the listener does once per turn of the event loop, for every request
of that turn: one write to the save file, one timer for every body's read
deadline. Under load that is one system call and one timer for many requests
instead of one each (each had cost the listener a share of its throughput:
a quarter and an eighth, measured in ``bench/``).

Standard library only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

from .errors import UsageError

__all__ = ["Deadlines", "SaveFile", "open_save_file", "write_all"]


class SaveFile:
    """The save file, appended to once per turn of the event loop: the
    records of the requests that reach :meth:`append` in one turn go out in
    one write, all of them or none (:func:`write_all`). Under load that is one
    system call for many requests instead of one each (which cost the
    listener a quarter of its throughput); a lone request waits for nothing."""

    def __init__(self, path: Path) -> None:
        self.fd = open_save_file(path)
        self.pending: list[tuple[bytes, asyncio.Future[OSError | None]]] = []

    async def append(self, line: bytes) -> OSError | None:
        """Once ``line`` is in the file: None, or the error that kept it out."""
        loop = asyncio.get_running_loop()
        if not self.pending:
            loop.call_soon(self.write)  # after the requests that run in this turn
        written: asyncio.Future[OSError | None] = loop.create_future()
        self.pending.append((line, written))
        return await written

    def write(self) -> None:
        pending, self.pending = self.pending, []
        error = write_all(self.fd, b"".join([line for line, _ in pending]))
        for _, written in pending:
            if not written.done():  # done: its request was cancelled (a forced stop)
                written.set_result(error)

    def close(self) -> None:
        if self.pending:
            self.write()
        os.close(self.fd)


class Deadlines:
    """``--read-timeout`` for every request, with one timer: the tasks
    reading a body, oldest first, with their deadlines; when the oldest
    deadline comes, each task past its own is cancelled (a request that
    ended in time has left the table). Under load this costs a dictionary
    entry per request where ``asyncio.timeout`` costs a timer of the event
    loop each (an eighth of the listener's throughput)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.reading: dict[asyncio.Task[Any], float] = {}
        self.late: set[asyncio.Task[Any]] = set()
        self.timer: asyncio.TimerHandle | None = None

    def add(self) -> asyncio.Task[Any]:
        """Start the current task's deadline; the task."""
        task = asyncio.current_task()
        assert task is not None  # called from the app, inside a task
        loop = asyncio.get_running_loop()
        deadline = self.reading[task] = loop.time() + self.seconds
        if self.timer is None:
            self.timer = loop.call_at(deadline, self.expire)
        return task

    def remove(self, task: asyncio.Task[Any]) -> None:
        self.reading.pop(task, None)

    def expired(self, task: asyncio.Task[Any]) -> bool:
        """Whether the task was cancelled for its deadline only (then it is
        no longer being cancelled)."""
        if task not in self.late:
            return False
        self.late.discard(task)
        return task.uncancel() == 0

    def expire(self) -> None:
        self.timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        for task, deadline in list(self.reading.items()):
            if deadline > now:  # and so are those after it
                self.timer = loop.call_at(deadline, self.expire)
                return
            del self.reading[task]
            self.late.add(task)
            task.cancel()


def open_save_file(path: Path) -> int:
    """Open for appending, created readable by its owner only (captures hold
    customers' personal data)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        raise UsageError(f"cannot open {path} for saving: {exc.strerror or exc}") from None
    return fd


def write_all(fd: int, data: bytes) -> OSError | None:
    """Append all of ``data`` to ``fd``, or (the error returned) none of it:
    after a short write and then an error, the file is cut back, so a save
    file stays valid JSON Lines."""
    start = None
    try:
        written = os.write(fd, data)
        if written < len(data):  # a short write (disk all but full): go on, remember where
            start = os.lseek(fd, 0, os.SEEK_END) - written
            view = memoryview(data)[written:]
            while view:
                view = view[os.write(fd, view) :]
    except OSError as exc:
        if start is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)  # no half line left behind
        return exc
    return None
