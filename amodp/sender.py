"""``amodp send``: deliver webhooks to a target exactly as amoCRM would.

Built on aiohttp's client: at concurrency 50 it keeps up with a fast local
server (measured in ``bench/``), where httpx's async pool does not. Each
delivery reports its status, latency and the start of the answer, or what
went wrong in the user's words (``refused: connection refused by
127.0.0.1:8000``); given a kind, each answer is also judged by amoCRM's
delivery rules (:mod:`amodp.rules`: a 2xx after 2 s is no delivery), and
:attr:`Outcome.exit_code` says whether every one was delivered. With
:class:`Retries`, a failed delivery is sent again on amoCRM's retry ladder,
on a clock that can be compressed. :func:`run` is :func:`deliver` stopped
cleanly by Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import ssl
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from . import rules
from .errors import ExitCode, UsageError

__all__ = [
    "Delivery",
    "Outcome",
    "Request",
    "Retries",
    "check_url",
    "deliver",
    "join_url",
    "run",
]

#: Headers the client computes itself from the URL and the body.
COMPUTED = {"host", "content-length", "transfer-encoding", "connection"}


@dataclass
class Request:
    """One request to send: ``target`` is a full URL."""

    label: str
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Delivery:
    event: str
    url: str
    status: int | None
    latency_ms: float
    response: str
    error: str | None
    #: amoCRM's verdict on the answer, when the delivery was judged (a kind given)
    verdict: rules.Verdict | None = None
    #: 1 for the first delivery, 2 to 5 for amoCRM's retries
    attempt: int = 1

    @property
    def ok(self) -> bool:
        """Delivered: by amoCRM's rules when judged, else any 2xx."""
        if self.verdict is not None:
            return self.verdict.ok
        return self.status is not None and 200 <= self.status < 300

    def judge(self, kind: str) -> None:
        """Judge the answer by the delivery rules of ``kind`` (dp, account...)."""
        self.verdict = rules.judge(
            kind, self.status, self.latency_ms / 1000, self.error, attempt=self.attempt
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "url": self.url,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "response": self.response,
            "error": self.error,
            "ok": self.ok,
            "reason": None if self.verdict is None else self.verdict.reason,
        }


@dataclass
class Retries:
    """Send a failed delivery again, as amoCRM does: the retry ladder of
    ``kind`` (:mod:`amodp.rules`), its delays times ``time_scale``
    (0.001 makes 5 min 0.3 s), and the hook's disabling watched."""

    kind: str = "account"
    time_scale: float = 1.0
    #: each later attempt, with the ladder's delay before it (unscaled seconds)
    on_attempt: Callable[[Delivery, float], None] | None = None
    #: once, when amoCRM would have disabled the hook
    on_disabled: Callable[[rules.DisableTracker], None] | None = None


@dataclass
class Outcome:
    """Everything that came back, for the table and the exit code.

    ``interrupted``: SIGINT or SIGTERM stopped the sending (:func:`run`); the
    counts are those of the deliveries that finished before it.
    """

    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    #: the first message of each error kind ("refused" -> "connection refused by ...").
    first_error: dict[str, str] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False
    #: 2xx answers amoCRM would not take (later than it waits), and the first reason
    late: int = 0
    first_late: str = ""
    #: deliveries that failed at first and got through on a retry (:class:`Retries`)
    recovered: int = 0
    #: amoCRM would have disabled the hook (:class:`Retries`)
    disabled: bool = False

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def failed(self) -> int:
        """First deliveries that amoCRM would not count as delivered."""
        return self.sent - self.ok + self.late

    @property
    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.disabled:
            return ExitCode.FAILED
        if self.failed and self.recovered == self.failed:
            return ExitCode.OK
        if self.errors:
            return ExitCode.NETWORK
        if self.failed:
            return ExitCode.FAILED
        return ExitCode.OK

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(p) - 1]

    def add(self, delivery: Delivery) -> None:
        self.sent += 1
        if delivery.error is not None:
            kind, _, message = delivery.error.partition(": ")
            self.errors[kind] += 1
            self.first_error.setdefault(kind, message)
        elif delivery.status is not None:
            self.statuses[delivery.status] += 1
            if 200 <= delivery.status < 300 and not delivery.ok:
                self.late += 1
                if not self.first_late and delivery.verdict is not None:
                    self.first_late = delivery.verdict.reason
        self.latencies.append(delivery.latency_ms)


URL_SHAPE = "URL must be http(s)://host[:port]/path"


def check_url(url: str) -> None:
    """Raise a :class:`UsageError` (``param="url"``) unless ``url`` is one to send to."""
    problem = _url_problem(url)
    if problem:
        raise UsageError(f"{URL_SHAPE}, got {url!r}: {problem}", param="url")


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "http://[::1": urlsplit's own words
        return "an IPv6 address without its closing ]" if "IPv6" in str(exc) else str(exc)
    if parts.scheme not in ("http", "https"):
        return f"the scheme is {parts.scheme!r}" if parts.scheme else "no http:// or https://"
    if not parts.hostname:
        return "no host"
    try:
        port = parts.port
    except ValueError:
        return "the port is not a number from 1 to 65535"
    if port == 0:
        return "the port is not a number from 1 to 65535"
    if any(c.isspace() for c in url):
        return "it has a space in it (percent-encode it as %20)"
    return None


def join_url(base: str, path: str, query: str = "") -> str:
    """``path`` (from a capture) relative to the base URL."""
    check_url(base)
    parts = urlsplit(base)
    joined = parts.path.rstrip("/") + "/" + path.lstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, joined, query, ""))


def _host_port(url: str) -> str:
    """``host:port`` of a checked URL, the port spelled out (80, 443)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


#: What OpenSSL says when the answer to its hello is not TLS (a plain HTTP server).
_NOT_TLS = (
    "WRONG_VERSION_NUMBER",
    "RECORD_LAYER_FAILURE",
    "PACKET_LENGTH_TOO_LONG",
    "HTTP_REQUEST",
)


def _describe(exc: BaseException, url: str | None = None, timeout: float | None = None) -> str:
    """``kind: what happened`` in the user's words; kind is refused, timeout,
    dns, tls or network."""
    import aiohttp

    if url:
        where = _host_port(url)
    elif isinstance(exc, aiohttp.ClientConnectorError):
        where = f"{exc.host}:{exc.port}"
    else:
        where = "the server"
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return f"timeout: timed out after {timeout:g} s" if timeout else "timeout: timed out"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"tls: the certificate of {where} is not trusted (--insecure skips the check)"
    if isinstance(exc, aiohttp.ClientSSLError) or isinstance(
        getattr(exc, "os_error", None), ssl.SSLError
    ):
        reason = getattr(getattr(exc, "os_error", exc), "reason", None) or ""
        if reason in _NOT_TLS or any(r in str(exc) for r in _NOT_TLS):
            return f"tls: {where} speaks plain HTTP, not HTTPS"
        return f"tls: TLS with {where} failed ({reason or type(exc).__name__})"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, socket.gaierror):
            return f"dns: cannot resolve host {exc.host}"
        if isinstance(os_error, ConnectionRefusedError):
            return f"refused: connection refused by {where}"
        return f"network: cannot connect to {where}: {os_error.strerror or os_error}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"network: {where} closed the connection without an answer"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"network: {where} sent an answer that is not HTTP ({exc.message})"
    return f"network: {where}: {str(exc) or type(exc).__name__}"


#: methods whose requests carry no body
_NO_BODY = frozenset({"GET", "HEAD"})


async def _send_one(session: Any, request: Request, tls: Any, timeout: float) -> Delivery:
    started = time.perf_counter()
    try:
        async with session.request(
            request.method,
            request.target,
            headers=[(k, v) for k, v in request.headers if k.lower() not in COMPUTED],
            # A GET or HEAD goes without a body: no Content-Length: 0 either.
            data=request.body if request.body or request.method not in _NO_BODY else None,
            ssl=tls,
            allow_redirects=False,
        ) as response:
            content = await response.read()
            latency = (time.perf_counter() - started) * 1000
            return Delivery(
                request.label,
                request.target,
                response.status,
                round(latency, 2),
                content[:200].decode("utf-8", "replace"),
                None,
            )
    except Exception as exc:  # noqa: BLE001 - every failure is reported, none is fatal
        latency = (time.perf_counter() - started) * 1000
        error = _describe(exc, request.target, timeout)
        return Delivery(request.label, request.target, None, round(latency, 2), "", error)


def check_load(*, repeat: int = 1, concurrency: int = 1, timeout: float = 10.0) -> None:
    """Raise a :class:`UsageError` naming the first of these that is out of range."""
    if repeat < 1:
        raise UsageError(f"repeat must be at least 1, got {repeat}", param="repeat")
    if concurrency < 1:
        raise UsageError(f"concurrency must be at least 1, got {concurrency}", param="concurrency")
    if not timeout > 0:
        raise UsageError(f"timeout must be more than 0 seconds, got {timeout:g}", param="timeout")


async def deliver(
    requests: Sequence[Request],
    *,
    repeat: int = 1,
    concurrency: int = 1,
    timeout: float = 10.0,
    insecure: bool = False,
    on_delivery: Callable[[Delivery], None] | None = None,
    outcome: Outcome | None = None,
    kind: str | None = None,
    retries: Retries | None = None,
) -> Outcome:
    """Send every request ``repeat`` times, ``concurrency`` at once, in order
    when ``concurrency`` is 1.

    Each delivery is added to ``outcome`` (a new one unless given) as it
    finishes, so that a caller that cancels this still has what was sent.
    With ``kind``, each answer is judged by amoCRM's rules for it; with
    ``retries`` (its kind judges), a failed delivery is sent again on the
    ladder while the others go on, and this returns after the last retry.
    """
    import aiohttp

    check_load(repeat=repeat, concurrency=concurrency, timeout=timeout)
    for target in {r.target for r in requests}:
        check_url(target)
    if outcome is None:
        outcome = Outcome()
    total = len(requests) * repeat
    tls: Any = False if insecure else None
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False, ttl_dns_cache=300)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    # No headers of aiohttp's own: only what amoCRM sends.
    skip = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
    if retries is not None:
        kind = retries.kind
        if not retries.time_scale > 0:
            raise UsageError(
                f"time scale must be more than 0, got {retries.time_scale:g}", param="time_scale"
            )
    if kind is not None:
        rules.rules_for(kind)
    tracker = None
    if retries is not None and kind is not None and rules.rules_for(kind).disable is not None:
        tracker = rules.DisableTracker(kind, time_scale=retries.time_scale)
    pending: list[asyncio.Future[None]] = []
    next_index = 0
    started = time.perf_counter()

    def judged(delivery: Delivery) -> None:
        if kind is None:
            return
        delivery.judge(kind)
        if tracker is not None and tracker.record(delivery.ok) and not outcome.disabled:
            outcome.disabled = True
            if retries is not None and retries.on_disabled is not None:
                retries.on_disabled(tracker)

    async def retry(session: Any, request: Request, first: Delivery) -> None:
        assert retries is not None and kind is not None
        done = [rules.Attempt(first.status, first.latency_ms / 1000, first.error)]
        while not outcome.disabled:
            delay = rules.next_retry(done, kind)
            if delay is None:
                return
            await asyncio.sleep(delay * retries.time_scale)
            delivery = await _send_one(session, request, tls, timeout)
            delivery.attempt = len(done) + 1
            judged(delivery)
            done.append(rules.Attempt(delivery.status, delivery.latency_ms / 1000, delivery.error))
            if retries.on_attempt is not None:
                retries.on_attempt(delivery, delay)
            if delivery.ok:
                outcome.recovered += 1
                return

    try:
        async with aiohttp.ClientSession(
            connector=connector,
            timeout=client_timeout,
            skip_auto_headers=skip,
            auto_decompress=True,
        ) as session:

            async def worker() -> None:
                nonlocal next_index
                while next_index < total:
                    request = requests[next_index % len(requests)]
                    next_index += 1
                    delivery = await _send_one(session, request, tls, timeout)
                    judged(delivery)
                    outcome.add(delivery)
                    if on_delivery is not None:
                        on_delivery(delivery)
                    if retries is not None and not delivery.ok:
                        pending.append(asyncio.ensure_future(retry(session, request, delivery)))

            await asyncio.gather(*(worker() for _ in range(min(concurrency, total))))
            await asyncio.gather(*pending)
    finally:
        for task in pending:  # stopped early: no retry outlives the session
            task.cancel()
        outcome.seconds = time.perf_counter() - started
    return outcome


def run(
    requests: Sequence[Request],
    *,
    repeat: int = 1,
    concurrency: int = 1,
    timeout: float = 10.0,
    insecure: bool = False,
    on_delivery: Callable[[Delivery], None] | None = None,
    kind: str | None = None,
    retries: Retries | None = None,
) -> Outcome:
    """:func:`deliver` on an event loop of its own, until done or stopped.

    SIGINT (Ctrl-C) or SIGTERM stops the sending at once (deliveries under
    way are abandoned) and returns what finished before, with
    ``outcome.interrupted`` set. Signals are only caught in the main thread.
    """
    check_load(repeat=repeat, concurrency=concurrency, timeout=timeout)
    outcome = Outcome()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        sending = asyncio.ensure_future(
            deliver(
                requests,
                repeat=repeat,
                concurrency=concurrency,
                timeout=timeout,
                insecure=insecure,
                on_delivery=on_delivery,
                outcome=outcome,
                kind=kind,
                retries=retries,
            )
        )

        def stop() -> None:
            outcome.interrupted = True
            sending.cancel()

        caught = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, stop)
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
                continue
            caught.append(signum)
        try:
            await sending
        except asyncio.CancelledError:
            if not outcome.interrupted:
                raise
        finally:
            for signum in caught:
                loop.remove_signal_handler(signum)

    asyncio.run(main())
    return outcome
