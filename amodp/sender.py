"""``amodp send``: deliver webhooks to a target exactly as amoCRM would.

Built on aiohttp's client: at concurrency 50 it keeps up with a fast local
server (measured in ``bench/``), where httpx's async pool does not. Each
delivery reports its status, latency and the start of the answer; the exit
code says whether every one got a 2xx.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import UsageError

__all__ = ["Delivery", "Outcome", "Request", "deliver", "join_url"]

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

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def as_dict(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "url": self.url,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "response": self.response,
            "error": self.error,
        }


@dataclass
class Outcome:
    """Everything that came back, for the table and the exit code."""

    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def exit_code(self) -> int:
        if self.errors:
            return 3
        if self.ok != self.sent:
            return 1
        return 0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(p) - 1]

    def add(self, delivery: Delivery) -> None:
        self.sent += 1
        if delivery.error is not None:
            self.errors[delivery.error.split(":", 1)[0]] += 1
        elif delivery.status is not None:
            self.statuses[delivery.status] += 1
        self.latencies.append(delivery.latency_ms)


def join_url(base: str, path: str, query: str = "") -> str:
    """``path`` (from a capture) relative to the ``--url`` base."""
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--url must be an http:// or https:// URL, got {base!r}")
    joined = parts.path.rstrip("/") + "/" + path.lstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, joined, query, ""))


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--url must be an http:// or https:// URL, got {url!r}")


def _describe(exc: BaseException) -> str:
    """ "refused: ...", "timeout: ...", "dns: ..." or "network: ..."."""
    import aiohttp

    text = str(exc) or type(exc).__name__
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return "timeout: no answer in time"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"dns: {text}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return f"refused: {text}"
        return f"network: {text}"
    return f"network: {text}"


async def _send_one(session: Any, request: Request, ssl: Any) -> Delivery:
    started = time.perf_counter()
    try:
        async with session.request(
            request.method,
            request.target,
            headers=[(k, v) for k, v in request.headers if k.lower() not in COMPUTED],
            data=request.body,
            ssl=ssl,
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
        return Delivery(request.label, request.target, None, round(latency, 2), "", _describe(exc))


async def deliver(
    requests: Sequence[Request],
    *,
    repeat: int = 1,
    concurrency: int = 1,
    timeout: float = 10.0,
    insecure: bool = False,
    on_delivery: Callable[[Delivery], None] | None = None,
) -> Outcome:
    """Send every request ``repeat`` times, ``concurrency`` at once, in order
    when ``concurrency`` is 1."""
    import aiohttp

    if repeat < 1 or concurrency < 1:
        raise UsageError("--repeat and --concurrency must be at least 1")
    outcome = Outcome()
    total = len(requests) * repeat
    ssl: Any = False if insecure else None
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False, ttl_dns_cache=300)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    # No headers of aiohttp's own: only what amoCRM sends.
    skip = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
    next_index = 0
    started = time.perf_counter()
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
                delivery = await _send_one(session, request, ssl)
                outcome.add(delivery)
                if on_delivery is not None:
                    on_delivery(delivery)

        await asyncio.gather(*(worker() for _ in range(min(concurrency, total))))
    outcome.seconds = time.perf_counter() - started
    return outcome
