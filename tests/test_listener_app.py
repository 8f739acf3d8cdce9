"""The listener as a plain ASGI app, called directly (no socket involved):
how it saves requests that arrive together and how it times out bodies."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from amodp.listener import Listener, Options

BODY = b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=4831596&account%5Bsubdomain%5D=acme"


def scope(path: str) -> dict[str, Any]:
    return {
        "type": "http", "method": "POST", "path": path, "query_string": b"",
        "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
        "client": ("127.0.0.1", 1),
    }  # fmt: skip


def whole_body(body: bytes = BODY) -> Any:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def stalled_body() -> Any:
    """A body whose first part arrives, and then nothing."""
    parts = [{"type": "http.request", "body": b"leads%5Bstatus%5D", "more_body": True}]

    async def receive() -> dict[str, Any]:
        if parts:
            return parts.pop()
        await asyncio.sleep(3600)
        raise AssertionError("not reached")

    return receive


def saved_paths(save: Path) -> list[str]:
    if not save.exists():
        return []
    return [json.loads(line)["path"] for line in save.read_text().splitlines()]


def test_requests_arriving_together_are_each_saved_before_their_answer(tmp_path: Path) -> None:
    save = tmp_path / "s.jsonl"
    app = Listener(Options(save=save), lambda *_: None)
    paths = [f"/hook/{i}" for i in range(25)]
    in_file_at_answer: dict[str, list[str]] = {}

    def answer_for(path: str) -> Any:
        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                assert message["status"] == 200
                in_file_at_answer[path] = saved_paths(save)

        return send

    async def main() -> None:
        await asyncio.gather(*(app(scope(p), whole_body(), answer_for(p)) for p in paths))
        app.close()

    asyncio.run(main())
    for path in paths:
        assert path in in_file_at_answer[path]  # answered means saved
    # They reached the save file in the same turn of the loop: one write holds
    # all of them, before any answer.
    assert sorted(in_file_at_answer[paths[0]]) == sorted(paths)
    assert sorted(saved_paths(save)) == sorted(paths)
    assert app.stats.total == 25 and app.stats.unsaved == 0


def test_requests_that_cannot_be_saved_together_are_each_answered_503(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.fail("/dev/full is needed")
    errors: list[OSError] = []
    app = Listener(Options(save=Path("/dev/full")), lambda *_: None, errors.append)
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def main() -> None:
        await asyncio.gather(*(app(scope(f"/{i}"), whole_body(), send) for i in range(10)))
        await app(scope("/after"), whole_body(), send)
        app.close()

    asyncio.run(main())
    assert statuses == [503] * 11
    assert app.stats.unsaved == 11 and len(errors) == 1
    assert dict(app.stats.by_event) == {("leads.status", 503): 11}


def test_each_stalled_body_gets_408_at_its_own_deadline(tmp_path: Path) -> None:
    save = tmp_path / "s.jsonl"
    app = Listener(Options(read_timeout=0.3, save=save), lambda *_: None)
    answered: dict[str, tuple[int, float]] = {}
    started = time.monotonic()

    def send_for(path: str) -> Any:
        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answered[path] = (message["status"], time.monotonic() - started)

        return send

    async def later(delay: float, path: str, receive: Any) -> None:
        await asyncio.sleep(delay)
        await app(scope(path), receive, send_for(path))

    async def main() -> None:
        await asyncio.wait_for(
            asyncio.gather(
                later(0.0, "/stalled/0", stalled_body()),
                later(0.15, "/stalled/1", stalled_body()),
                later(0.2, "/quick", whole_body()),
                later(0.35, "/stalled/2", stalled_body()),
            ),
            10,
        )
        app.close()

    asyncio.run(main())
    assert answered["/quick"][0] == 200 and answered["/quick"][1] < 0.3
    for path, start in (("/stalled/0", 0.0), ("/stalled/1", 0.15), ("/stalled/2", 0.35)):
        status, at = answered[path]
        assert status == 408, path
        assert start + 0.3 <= at < start + 0.3 + 1.5, (path, at)
    notes = {
        json.loads(line)["path"]: json.loads(line).get("note")
        for line in save.read_text().splitlines()
    }
    assert notes["/stalled/2"].startswith("body not received within 0.3 s")
    assert notes["/quick"] is None


def test_a_request_cancelled_while_its_body_comes_is_not_taken_for_a_timeout(
    tmp_path: Path,
) -> None:
    """A stop that cancels a request (a forced stop) is not a 408: nothing is
    answered, nothing saved, the cancellation goes through."""
    save = tmp_path / "s.jsonl"
    app = Listener(Options(read_timeout=0.2, save=save), lambda *_: None)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def main() -> None:
        task = asyncio.create_task(app(scope("/stopped"), stalled_body(), send))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The listener's deadline for it is gone with it: a later stalled
        # request still times out on its own.
        await asyncio.wait_for(app(scope("/later"), stalled_body(), send), 5)
        app.close()

    asyncio.run(main())
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [408]
    assert saved_paths(save) == ["/later"]
