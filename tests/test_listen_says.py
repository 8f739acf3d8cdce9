"""What the listener says of a request can be trusted: a trailing newline that
changes a value is named, a gzip body is decoded as ``amodp decode`` decodes
it, filters name real events, and ``--lines`` never prints ``None``. Every
test runs a real listener on 127.0.0.1 and sends to it with a real client
(curl, urllib, aiohttp)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from amodp import generate
from amodp.listener import Background, Options
from amodp.render import show_line, show_record

AMODP = [sys.executable, "-m", "amodp"]


def amodp(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AMODP, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, NO_COLOR="1"),
    )


class Shown:
    """What a listener received: each record, and what ``--lines`` and the
    pretty display show of it."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.lines: list[str] = []
        self.pretty: list[str] = []
        self.wanted: list[bool] = []  # whether each passed --event/--entity

    def __call__(self, record: dict[str, Any], line: bytes, wanted: bool) -> None:
        self.records.append(json.loads(line))
        self.wanted.append(wanted)
        out = io.StringIO()
        show_line(record, out)
        self.lines.append(out.getvalue())
        out = io.StringIO()
        show_record(record, out)
        self.pretty.append(out.getvalue())


@contextmanager
def listener(**options: Any) -> Iterator[tuple[str, Shown]]:
    shown = Shown()
    os.environ.setdefault("NO_COLOR", "1")
    with Background(Options(port=0, **options), shown) as running:
        yield running.url, shown


def urlopen(request: urllib.request.Request) -> tuple[int, bytes]:
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, answer.read()


# -- --event and --entity ------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "name", "message"),
    [
        ("--event", "nope", "Error: --event: unknown event 'nope'; choose from: "),
        ("--event", "leads.nope", "Error: --event: unknown event 'leads.nope'; choose from: "),
        ("--event", "nope.status", "Error: --event: unknown event 'nope.status'; choose from: "),
        ("--entity", "nope", "Error: --entity: unknown entity 'nope'; choose from: "),
    ],
)
def test_an_unknown_filter_is_an_error(option: str, name: str, message: str) -> None:
    result = amodp("listen", "--port", "0", option, name, "--timeout", "5")
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(message)
    assert "Listening" not in result.stderr


def test_known_filters_still_choose_what_is_shown() -> None:
    result = amodp(
        *["listen", "--port", "0", "--timeout", "0.5"],
        *["--event", "status", "--event", "leads.status", "--event", "chat.message"],
        *["--event", "salesbot.continue", "--event", "call_in"],
        *["--entity", "leads", "--entity", "lead", "--entity", "contacts", "--entity", "chat"],
        *["--entity", "oauth", "--entity", "salesbot", "--entity", "marketingbot"],
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("Listening on http://127.0.0.1:")
    sent = [("message", "chat"), ("typing", "chat"), ("status", "dp"), ("add", "account")]
    for chosen, wanted in (
        ({"events": frozenset({"chat.message"})}, [True, False, False, False]),
        ({"events": frozenset({"status"})}, [False, False, True, False]),
        ({"entities": frozenset({"lead"})}, [False, False, True, True]),
        ({"entities": frozenset({"chat"})}, [True, True, False, False]),
    ):
        with listener(**chosen) as (url, shown):
            for name, kind in sent:
                hook = generate(name, "leads" if kind != "chat" else None, kind=kind, seed=1)
                headers = {k: v for k, v in hook.headers if k.lower() != "host"}
                urlopen(urllib.request.Request(url + "/", data=hook.body, headers=headers))
        assert shown.wanted == wanted, chosen
