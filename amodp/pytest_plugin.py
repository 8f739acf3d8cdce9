"""The pytest plugin: fixtures to test a webhook receiver, or code that sends webhooks.

Installed with amodp and loaded by pytest through the ``pytest11`` entry
point named ``amodp`` (``pytest -p no:amodp`` turns it off)::

    import myapp  # a Flask, Django, FastAPI or any WSGI/ASGI app

    def test_a_won_lead_is_accepted(amodp_webhook):
        webhook = amodp_webhook("status", entity="leads", status_id=142)
        response = webhook.post(myapp.app, path="/amocrm/webhook")  # or a URL
        assert response.status == 200

    def test_my_sender(amodp_listener):
        my_sender.send(amodp_listener.url + "/hook")
        [record] = amodp_listener.wait(1)  # or the test fails with what did arrive
        assert record["events"][0]["event"] == "status"

``amodp_webhook``
    a factory: ``amodp_webhook(event="status", entity=None, *, kind="dp",
    seed=None, count=1, locale="ru", url=None, overrides=(), **fields)``
    makes a :class:`PostableWebhook`, exactly what :func:`amodp.generate`
    makes plus ``.post()``. ``fields`` and ``overrides`` are what ``amodp
    generate --set`` takes: ``status_id=142``, ``overrides={"account[subdomain]":
    "acme"}``. Without ``seed`` the seed comes from the test's id, so that a
    test sends the same bytes on every run. ``kind="chat"``, ``"salesbot"``
    or ``"oauth"`` makes a callback (:func:`amodp.callbacks.generate`) signed
    with ``secret=``, spoiled with ``flaw=``; ``now=`` pins a Salesbot
    token's clock. ``amodp_webhook.from_capture(path, index=None,
    request_id=None)`` is a request saved by ``amodp listen --save``, with the
    bytes and headers that were captured: a regression test of a real one.
``amodp_listener``
    a listener (the one ``amodp listen`` runs) on a free port of 127.0.0.1
    for the test's duration: ``.url``, ``.records``, ``.wait(n, timeout)``.
    ``@pytest.mark.amodp_listener(status=500, delay=0.5)`` sets its options.
``amodp_listener_factory``
    starts more of them: ``amodp_listener_factory(status=503)``.
``amodp_check``
    runs ``amodp check``'s suite (:mod:`amodp.check`): ``amodp_check(target,
    *, kind=None, only=None, seed=None, path=None, secret=None)`` against a
    URL, a WSGI app or an ASGI app; fails the test with one line per failed
    case, else returns the results. The callback kinds are signed with
    ``secret`` (the receiver's) and left out without it.

pytest imports this module in every session of everyone who has amodp
installed, so it imports nothing but pytest and the standard library: the
generator, the HTTP helper and the server come in with the fixtures that use
them.
"""

from __future__ import annotations

import itertools
import os
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .check import CaseResult
    from .listener import Background, Options
    from .request import Request
    from .testing import Response

__all__ = ["PostableWebhook", "RunningListener", "WebhookMaker"]

Record = dict[str, Any]


class PostableWebhook:
    """A generated request (:class:`amodp.Request`) of any kind, that can post itself.

    Every attribute of the request (``body``, ``method``, ``query``,
    ``headers``, ``json``, ``event``, ``request_id``, ``url``, ``http()``,
    ``curl()``...) is read through; ``request`` is the request itself."""

    def __init__(self, request: Request) -> None:
        self.request = request

    @property
    def webhook(self) -> Request:
        """The request (its name before every kind was one :class:`amodp.Request`)."""
        return self.request

    def __getattr__(self, name: str) -> Any:
        if name == "request":  # not set yet: never look it up on itself
            raise AttributeError(name)
        return getattr(self.request, name)

    def post(
        self, target: str | Callable[..., Any], path: str | None = None, *, timeout: float = 10.0
    ) -> Response:
        """Send to a URL over a real socket, or call a WSGI or ASGI app in-process.

        ``path`` (``/amocrm/webhook?key=1``) is where an app receives it, by
        default the path of the webhook's ``url`` (``/``); given with a URL it
        replaces the URL's path. A GET callback carries its query wherever it
        goes. An exception raised by an app reaches the test.
        """
        from .testing import post

        request = self.request
        if path is None and not isinstance(target, str):
            path = request.target
        if request.method == "GET" and request.query:
            if path is None:  # a URL: its own path and query, then the callback's
                from urllib.parse import urlsplit

                parts = urlsplit(str(target))
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            if not path.endswith("?" + request.query):
                path += ("&" if "?" in path else "?") + request.query
        return post(
            target, request.body, request.headers, path=path, method=request.method, timeout=timeout
        )

    def __repr__(self) -> str:
        return f"<PostableWebhook {self.request.name} {len(self.request.body)} bytes>"


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"  # what PHP and amoCRM send for flags
    return str(value)


class WebhookMaker:
    """What the ``amodp_webhook`` fixture gives: call it to make a request
    (:meth:`__call__`), or take one from a capture file (:meth:`from_capture`)."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self.calls = itertools.count()

    def __call__(
        self,
        event: str = "status",
        entity: str | None = None,
        *,
        kind: str = "dp",
        seed: int | None = None,
        count: int = 1,
        locale: str = "ru",
        url: str | None = None,
        overrides: Mapping[str, object] | Iterable[tuple[str, object]] = (),
        secret: str | bytes | None = None,
        flaw: str | None = None,
        now: float | None = None,
        client_uuid: str | None = None,
        style: str = "compact",
        **fields: object,
    ) -> PostableWebhook:
        """A generated request, as :func:`amodp.generate` makes it."""
        from .catalog import CALLBACK_KINDS
        from .generator import DEFAULT_URL, Signing, generate

        if seed is None:
            seed = zlib.crc32(f"{self.node_id}#{next(self.calls)}".encode())
        pairs = list(overrides.items() if isinstance(overrides, Mapping) else overrides)
        pairs += fields.items()
        if kind in CALLBACK_KINDS and fields:
            from .errors import UsageError

            raise UsageError("fields are for dp and account webhooks, not callbacks")
        signing = Signing(secret=secret, flaw=flaw, now=now, client_uuid=client_uuid, style=style)
        webhook = generate(
            event,
            entity,
            kind=kind,
            seed=seed,
            count=count,
            overrides=[(name, _text(value)) for name, value in pairs],
            url=url or DEFAULT_URL,
            locale=locale,
            **signing,
        )
        return PostableWebhook(webhook)

    def from_capture(
        self,
        path: str | os.PathLike[str],
        *,
        index: int | None = None,
        request_id: str | None = None,
        event: str | None = None,
    ) -> PostableWebhook:
        """The request a capture file holds (what ``amodp listen --save``
        writes): the same method, path, query, headers and body bytes, its
        ``.json`` what was decoded. ``index`` (from 1), ``request_id`` (its
        ``X-Amocrm-Requestid``) and ``event`` choose the record, as ``amodp
        decode`` and ``amodp send --replay`` do; a file of one record needs none."""
        from .errors import UsageError
        from .records import read_records, select_records
        from .replay import request_of

        name = os.fspath(path)
        with open(name, "rb") as file:
            records = read_records(file.read())
        chosen = select_records(records, index=index, event=event, request_id=request_id)
        if len(chosen) != 1:
            raise UsageError(
                f"{name}: {len(chosen)} records match: say which with index= or request_id="
            )
        return PostableWebhook(request_of(chosen[0], "http://localhost"))

    def __repr__(self) -> str:
        return f"<amodp_webhook of {self.node_id}>"


@pytest.fixture
def amodp_webhook(request: pytest.FixtureRequest) -> WebhookMaker:
    """Make amoCRM webhook requests: ``amodp_webhook("status", entity="leads", status_id=142)``;
    callbacks: ``amodp_webhook("message", kind="chat", secret=CHANNEL_SECRET)``; a
    saved one: ``amodp_webhook.from_capture("hooks.jsonl", request_id=...)``."""
    return WebhookMaker(request.node.nodeid)


class RunningListener:
    """A listener serving from a thread on 127.0.0.1, keeping the capture
    records (:mod:`amodp.records`) of what it received."""

    def __init__(self, options: Options) -> None:
        from .listener import Background

        self.options = options
        self._records: list[Record] = []
        self._arrived = threading.Condition()
        self._started = False
        self._background: Background = Background(options, self._keep)
        #: ``http://127.0.0.1:PORT``, no trailing slash: add any path
        self.url: str = self._background.url

    def _keep(self, record: Record, line: bytes, wanted: bool) -> None:
        with self._arrived:
            self._records.append(record)
            self._arrived.notify_all()

    @property
    def records(self) -> list[Record]:
        """The capture records so far, in arrival order (a copy).

        A record is kept just after the listener answered: right after a send
        returns, use :meth:`wait` rather than this.
        """
        with self._arrived:
            return list(self._records)

    def wait(self, n: int = 1, timeout: float = 5.0) -> list[Record]:
        """All the records, once at least ``n`` arrived in all; else fail the
        test (after ``timeout`` seconds) saying what did arrive."""
        __tracebackhide__ = True
        with self._arrived:
            done = self._arrived.wait_for(lambda: len(self._records) >= n, timeout)
            got = list(self._records)
        if not done:
            pytest.fail(self._shortfall(n, timeout, got))
        return got

    def _shortfall(self, n: int, timeout: float, got: list[Record]) -> str:
        wanted = f"{n} webhook{'s' if n != 1 else ''}"
        arrived = f"{len(got)} arrived" if got else "none arrived"
        lines = [f"amodp_listener: expected {wanted} within {timeout:g} s, {arrived} at {self.url}"]
        for i, record in enumerate(got, 1):
            events = ", ".join(f"{e['entity']}.{e['event']}" for e in record.get("events", []))
            target = record["path"] + (f"?{record['query']}" if record.get("query") else "")
            line = f"  {i}. {events or 'no amoCRM event'}  {record['method']} {target}"
            line += f"  -> {record['status']}"
            if record.get("note"):
                line += f"  ({record['note']})"
            lines.append(line)
        return "\n".join(lines)

    def start(self) -> RunningListener:
        self._started = True
        self._background.__enter__()
        return self

    def stop(self) -> None:
        if self._started:
            self._background.stop()
        else:
            self._background.sock.close()

    def __repr__(self) -> str:
        return f"<RunningListener {self.url} {len(self._records)} received>"


@pytest.fixture
def amodp_listener_factory() -> Iterator[Callable[..., RunningListener]]:
    """Start listeners: ``amodp_listener_factory(status=500, delay=0.2)``; all stop at teardown."""
    started: list[RunningListener] = []

    def start(
        *,
        status: int = 200,
        delay: float = 0.0,
        max_body: int = 1 << 20,
        forward_to: str | None = None,
    ) -> RunningListener:
        from .listener import Options

        options = Options(
            host="127.0.0.1",
            port=0,
            status=status,
            delay=delay,
            max_body=max_body,
            forward_to=forward_to,
        )
        running = RunningListener(options)
        started.append(running)
        return running.start()

    try:
        yield start
    finally:
        for running in started:
            running.stop()


@pytest.fixture
def amodp_listener(
    request: pytest.FixtureRequest, amodp_listener_factory: Callable[..., RunningListener]
) -> RunningListener:
    """A listener on a free port of 127.0.0.1: ``.url``, ``.records``, ``.wait(n, timeout)``."""
    marker = request.node.get_closest_marker("amodp_listener")
    return amodp_listener_factory(**(marker.kwargs if marker else {}))


# -- amodp_check: the receiver test suite ------------------------------------------


@pytest.fixture
def amodp_check(request: pytest.FixtureRequest) -> Callable[..., list[CaseResult]]:
    """Judge a receiver as amoCRM would: ``amodp_check(myapp.app)`` (or a URL)."""

    def check(
        target: str | Callable[..., Any],
        *,
        kind: str | Iterable[str] | None = None,
        only: str | Iterable[str] | None = None,
        seed: int | None = None,
        path: str | None = None,
        secret: str | None = None,
    ) -> list[CaseResult]:
        __tracebackhide__ = True
        from .check import list_cases, run

        if seed is None:
            seed = zlib.crc32(request.node.nodeid.encode())
        kinds = kind if kind is None or isinstance(kind, str) else list(kind)
        patterns = only if only is None or isinstance(only, str) else list(only)
        cases = list_cases(kinds, patterns, seed, secret)
        if not cases:
            why = "" if secret is not None else " (the callback kinds need secret=, the receiver's)"
            pytest.fail(f"amodp_check: no case to run{why}", pytrace=False)
        results = run(target, cases, path=path)
        failed = [r for r in results if not r.ok]
        if failed:
            lines = [f"amodp_check: {len(failed)} of {len(results)} cases failed (seed {seed})"]
            lines += [f"  {r.case.kind} {r.case.name}: {r.verdict.reason}" for r in failed]
            pytest.fail("\n".join(lines), pytrace=False)
        return results

    return check


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "amodp_listener(status=200, delay=0.0, max_body=1048576, forward_to=None): "
        "options of the amodp_listener fixture",
    )
