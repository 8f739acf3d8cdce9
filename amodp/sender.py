"""The one network transport: deliver requests exactly as amoCRM would.

``send``, ``check``, ``listen --forward-to`` and replays all go through
:class:`Sender`, built on aiohttp's client: at concurrency 50 it keeps up
with a fast local server (measured in ``bench/``), where httpx's async pool
does not. Each :class:`~amodp.request.Request` comes back as one
:class:`~amodp.outcome.Delivery`: its status, latency and the start of the
answer, or the kind of failure and what happened in the user's words, judged
by amoCRM's delivery rules for the request's kind (:mod:`amodp.rules`: a
2xx after 2 s is no delivery). :attr:`Summary.exit_code` says whether every
one was delivered. With
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
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from . import rules
from .errors import ExitCode, UsageError
from .outcome import ANSWER_BYTES, Delivery, Failure
from .request import Request

__all__ = [
    "Retries",
    "Sender",
    "Summary",
    "check_load",
    "check_url",
    "complete",
    "deliver",
    "describe_failure",
    "join_url",
    "judge",
    "run",
]

T = TypeVar("T")

#: Headers the client computes itself from the URL and the body.
COMPUTED = {"host", "content-length", "transfer-encoding", "connection"}


@dataclass
class Retries:
    """Send a failed delivery again, as amoCRM does: the retry ladder of each
    request's kind (:mod:`amodp.rules`), its delays times ``time_scale``
    (0.001 makes 5 min 0.3 s), and the hook's disabling watched."""

    time_scale: float = 1.0
    #: each later attempt, with the ladder's delay before it (unscaled seconds)
    on_attempt: Callable[[Delivery, float], None] | None = None
    #: once, when amoCRM would have disabled the hook
    on_disabled: Callable[[rules.DisableTracker], None] | None = None


@dataclass
class Summary:
    """Everything that came back, for the table and the exit code.

    ``interrupted``: SIGINT or SIGTERM stopped the sending (:func:`run`); the
    counts are those of the deliveries that finished before it.
    """

    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[Failure] = field(default_factory=Counter)
    #: the first message of each failure kind
    first_failure: dict[Failure, str] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False
    #: answers amoCRM would not take although they came (too late, or a 2xx
    #: it does not count), and the first reason
    refused: int = 0
    first_refused: str = ""
    #: how many of ``refused`` were only too late
    late: int = 0
    #: deliveries that failed at first and got through on a retry (:class:`Retries`)
    recovered: int = 0
    #: amoCRM would have disabled the hook (:class:`Retries`)
    disabled: bool = False
    #: times amoCRM would have paused the retries to the address (Kommo's DP rule)
    paused: int = 0

    @property
    def ok(self) -> int:
        """First deliveries amoCRM counts as delivered."""
        return self.sent - self.failed

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def failed(self) -> int:
        """First deliveries that amoCRM would not count as delivered."""
        return self.sent - self.answered + self.refused

    @property
    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.disabled:
            return ExitCode.FAILED
        if self.failed and self.recovered == self.failed:
            return ExitCode.OK
        if self.failures:
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
        if delivery.failure is not None:
            self.failures[delivery.failure] += 1
            self.first_failure.setdefault(delivery.failure, delivery.message)
        elif delivery.status is not None:
            self.statuses[delivery.status] += 1
            if not delivery.ok:
                self.refused += 1
                if delivery.verdict is not None:
                    self.first_refused = self.first_refused or delivery.verdict.reason
                    self.late += delivery.verdict.late
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


def describe_failure(
    exc: BaseException, url: str | None = None, timeout: float | None = None
) -> tuple[Failure, str]:
    """The kind of a transport failure and what happened, in the user's words."""
    import aiohttp

    if url:
        where = _host_port(url)
    elif isinstance(exc, aiohttp.ClientConnectorError):
        where = f"{exc.host}:{exc.port}"
    else:
        where = "the server"
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return Failure.TIMEOUT, f"timed out after {timeout:g} s" if timeout else "timed out"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return (
            Failure.TLS,
            f"the certificate of {where} is not trusted (--insecure skips the check)",
        )
    os_error = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else None
    if isinstance(exc, aiohttp.ClientSSLError) or isinstance(os_error, ssl.SSLError):
        reason = getattr(os_error or exc, "reason", None) or ""
        if reason in _NOT_TLS or any(r in str(exc) for r in _NOT_TLS):
            return Failure.TLS, f"{where} speaks plain HTTP, not HTTPS"
        return Failure.TLS, f"TLS with {where} failed ({reason or type(exc).__name__})"
    if isinstance(exc, aiohttp.ClientConnectorError):
        assert os_error is not None
        if isinstance(os_error, socket.gaierror):
            return Failure.DNS, f"cannot resolve host {exc.host}"
        if isinstance(os_error, ConnectionRefusedError):
            return Failure.REFUSED, f"connection refused by {where}"
        return Failure.NETWORK, f"cannot connect to {where}: {os_error.strerror or os_error}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return Failure.CLOSED, f"{where} closed the connection without an answer"
    if isinstance(exc, aiohttp.ClientResponseError):
        return Failure.NETWORK, f"{where} sent an answer that is not HTTP ({exc.message})"
    return Failure.NETWORK, f"{where}: {str(exc) or type(exc).__name__}"


#: methods whose requests carry no body
_NO_BODY = frozenset({"GET", "HEAD"})


class Sender:
    """The one HTTP client amodp sends with over the network: an aiohttp
    session, used as ``async with Sender(...) as sender``.

    ``concurrency`` bounds the connections; ``timeout`` is per delivery;
    ``decompress=False`` keeps a gzip answer as it came (a forwarding
    listener relays it as it is). No header of aiohttp's own is added: only
    the request's. Answers are judged by the rules of ``platform``
    (:data:`amodp.rules.PLATFORMS`).
    """

    def __init__(
        self,
        *,
        concurrency: int = 1,
        timeout: float = 10.0,
        insecure: bool = False,
        decompress: bool = True,
        platform: str = "amocrm",
    ) -> None:
        check_load(concurrency=concurrency, timeout=timeout)
        rules.check_platform(platform)
        self.platform = platform
        self.concurrency = concurrency
        self.timeout = timeout
        self.tls: Any = False if insecure else None
        self.decompress = decompress
        self.session: Any = None

    async def __aenter__(self) -> Sender:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=self.concurrency, ttl_dns_cache=300)
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            auto_decompress=self.decompress,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def send(self, request: Request, *, attempt: int = 1, whole: bool = False) -> Delivery:
        """Send ``request`` to its URL; the delivery, judged by the rules of
        its kind when it has some. ``whole``: keep the whole answer in
        ``content``."""
        if self.session is None:
            await self.__aenter__()
        started = time.perf_counter()
        headers = [(k, v) for k, v in request.headers if k.lower() not in COMPUTED]
        try:
            async with self.session.request(
                request.method,
                request.url,
                headers=headers,
                # A GET or HEAD goes without a body: no Content-Length: 0 either.
                data=request.body if request.body or request.method not in _NO_BODY else None,
                ssl=self.tls,
                allow_redirects=False,
            ) as response:
                content = await response.read()
                delivery = Delivery(
                    response.status,
                    time.perf_counter() - started,
                    content[:ANSWER_BYTES],
                    name=request.name,
                    url=request.url,
                    attempt=attempt,
                    content=content if whole else None,
                    headers=_headers_of(response) if whole else (),
                )
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none is fatal
            failure, message = describe_failure(exc, request.url, self.timeout)
            delivery = Delivery.failed(
                failure,
                message,
                time.perf_counter() - started,
                name=request.name,
                url=request.url,
                attempt=attempt,
            )
        return judge(request, delivery, self.platform)


def _headers_of(response: Any) -> tuple[tuple[str, str], ...]:
    """The answer's headers as received, names as the server spelt them."""
    return tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers)


def judge(request: Request, delivery: Delivery, platform: str = "amocrm") -> Delivery:
    """``delivery`` with amoCRM's verdict by the rules of the request's kind
    (and event, where amoCRM treats it apart) on ``platform``; as it is for
    a kind without rules."""
    if request.kind not in rules.RULES:
        return delivery
    event = request.event.event if request.event is not None else None
    verdict = rules.judge(request.kind, delivery, event=event, platform=platform)
    return delivery.judged(verdict)


def check_load(*, repeat: int = 1, concurrency: int = 1, timeout: float = 10.0) -> None:
    """Raise a :class:`UsageError` naming the first of these that is out of range."""
    if repeat < 1:
        raise UsageError(f"repeat must be at least 1, got {repeat}", param="repeat")
    if concurrency < 1:
        raise UsageError(f"concurrency must be at least 1, got {concurrency}", param="concurrency")
    if not timeout > 0:
        raise UsageError(f"timeout must be more than 0 seconds, got {timeout:g}", param="timeout")


class _Ladder:
    """amoCRM's retries of the failed deliveries of one run."""

    def __init__(self, sender: Sender, retries: Retries, summary: Summary) -> None:
        self.sender = sender
        self.retries = retries
        self.summary = summary
        self.trackers: dict[str, rules.DisableTracker] = {}
        self.pending: list[asyncio.Future[None]] = []

    def watch(self, request: Request, delivery: Delivery) -> None:
        """Count the answer towards disabling; retry it later if it failed."""
        kind = request.kind
        if kind is None or kind not in rules.RULES:
            return
        tracker = self.tracker(kind)
        if tracker is not None:
            was_paused = tracker.paused_until is not None
            if tracker.record(delivery.ok) and not self.summary.disabled and not was_paused:
                self.summary.disabled = tracker.disabled
                self.summary.paused += tracker.paused_until is not None
                if self.retries.on_disabled is not None:
                    self.retries.on_disabled(tracker)
        if not delivery.ok and delivery.attempt == 1:
            self.pending.append(asyncio.ensure_future(self.retry(request, delivery)))

    def tracker(self, kind: str) -> rules.DisableTracker | None:
        """The kind's count of invalid answers, when amoCRM keeps one."""
        platform = self.sender.platform
        if rules.rules_for(kind, platform=platform).disable is None:
            return None
        if kind not in self.trackers:
            scale = self.retries.time_scale
            self.trackers[kind] = rules.DisableTracker(kind, time_scale=scale, platform=platform)
        return self.trackers[kind]

    async def retry(self, request: Request, first: Delivery) -> None:
        assert request.kind is not None
        done = [first]
        tracker = self.tracker(request.kind)
        while not self.summary.disabled:
            delay = rules.next_retry(done, request.kind, platform=self.sender.platform)
            if delay is None:
                return
            await asyncio.sleep(delay * self.retries.time_scale)
            if tracker is not None and tracker.wait() > 0:  # retries paused for the address
                await asyncio.sleep(tracker.wait())
            delivery = await self.sender.send(request, attempt=len(done) + 1)
            self.watch(request, delivery)
            done.append(delivery)
            if self.retries.on_attempt is not None:
                self.retries.on_attempt(delivery, delay)
            if delivery.ok:
                self.summary.recovered += 1
                return

    def cancel(self) -> None:
        for task in self.pending:  # stopped early: no retry outlives the session
            task.cancel()


async def deliver(
    requests: Sequence[Request],
    *,
    repeat: int = 1,
    concurrency: int = 1,
    timeout: float = 10.0,
    insecure: bool = False,
    on_delivery: Callable[[Delivery], None] | None = None,
    summary: Summary | None = None,
    retries: Retries | None = None,
    again: Callable[[Request, int], Request] | None = None,
    platform: str = "amocrm",
) -> Summary:
    """Send every request ``repeat`` times, ``concurrency`` at once, in order
    when ``concurrency`` is 1, judged by the rules of ``platform``.

    Each delivery is judged by the rules of its request's kind and added to
    ``summary`` (a new one unless given) as it finishes, so that a caller
    that cancels this still has what was sent. ``again(request, n)`` makes
    repetition ``n`` (1 and up) of a request, when it should differ from the
    first. With ``retries``, a failed delivery is sent again on amoCRM's
    ladder while the others go on, and this returns after the last retry.
    """
    check_load(repeat=repeat, concurrency=concurrency, timeout=timeout)
    for url in {r.url for r in requests}:
        check_url(url)
    if retries is not None and not retries.time_scale > 0:
        raise UsageError(
            f"time scale must be more than 0, got {retries.time_scale:g}", param="time_scale"
        )
    if summary is None:
        summary = Summary()
    total = len(requests) * repeat
    next_index = 0
    started = time.perf_counter()
    sender = Sender(concurrency=concurrency, timeout=timeout, insecure=insecure, platform=platform)
    ladder = _Ladder(sender, retries, summary) if retries is not None else None

    async def worker() -> None:
        nonlocal next_index
        while next_index < total:
            index = next_index
            next_index += 1
            request = requests[index % len(requests)]
            if again is not None and index >= len(requests):
                request = again(request, index // len(requests))
            delivery = await sender.send(request)
            summary.add(delivery)
            if on_delivery is not None:
                on_delivery(delivery)
            if ladder is not None:
                ladder.watch(request, delivery)

    try:
        async with sender:
            await asyncio.gather(*(worker() for _ in range(min(concurrency, total))))
            if ladder is not None:
                await asyncio.gather(*ladder.pending)
    finally:
        if ladder is not None:
            ladder.cancel()
        summary.seconds = time.perf_counter() - started
    return summary


def run(requests: Sequence[Request], **options: Any) -> Summary:
    """:func:`deliver` (the same options) on an event loop of its own, until done or stopped.

    SIGINT (Ctrl-C) or SIGTERM stops the sending at once (deliveries under
    way are abandoned) and returns what finished before, with
    ``summary.interrupted`` set. Signals are only caught in the main thread.
    """
    summary = Summary()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        sending = asyncio.ensure_future(deliver(requests, summary=summary, **options))

        def stop() -> None:
            summary.interrupted = True
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
            if not summary.interrupted:
                raise
        finally:
            for signum in caught:
                loop.remove_signal_handler(signum)

    asyncio.run(main())
    return summary


def complete(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end, also when called from async code (in a thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="amodp-send") as pool:
        return pool.submit(asyncio.run, coroutine).result()
