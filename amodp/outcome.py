"""What came back for one request amodp sent: one type for every sender.

A :class:`Delivery` is an answer (status, latency, its first bytes) or a
failure of a :class:`Failure` kind with a message in the user's words, and,
once judged, amoCRM's verdict on it (:mod:`amodp.rules`). ``send``,
``check``, ``listen --forward-to``, replays and the in-process transports
all report with it; every display and :func:`amodp.rules.judge` read its
fields, never a message.

Standard library only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .rules import Verdict

__all__ = ["Delivery", "Failure"]

#: how much of an answer a delivery keeps
ANSWER_BYTES = 200


class Failure(enum.Enum):
    """Why no answer came: the kinds a user acts on differently."""

    REFUSED = "refused"  #: nothing listens on that port
    DNS = "dns"  #: the host name does not resolve
    TIMEOUT = "timeout"  #: no answer within the time allowed
    TLS = "tls"  #: a certificate not trusted, or plain HTTP where HTTPS was asked
    CLOSED = "closed"  #: the connection closed before an answer
    NETWORK = "network"  #: any other network error, or an answer that is not HTTP

    @property
    def unreachable(self) -> bool:
        """The receiver was not reached at all (refused, not resolved)."""
        return self in (Failure.REFUSED, Failure.DNS)


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt: ``status`` (None without an answer), the time it
    took, the answer's first bytes, or the ``failure`` and its ``message``.

    ``name`` and ``url`` say what was sent where; ``attempt`` is 1 for the
    first delivery, 2 to 5 for amoCRM's retries; ``verdict`` is amoCRM's
    judgement, once judged.
    """

    status: int | None
    latency_s: float
    answer: bytes = b""
    failure: Failure | None = None
    message: str = ""
    name: str = ""
    url: str = ""
    attempt: int = 1
    verdict: Verdict | None = None
    #: the whole answer and its headers, when the caller asked for them
    #: (a forwarding listener, a test's post)
    content: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def failed(cls, failure: Failure, message: str, latency_s: float, **more: Any) -> Delivery:
        return cls(None, latency_s, failure=failure, message=message, **more)

    @property
    def latency_ms(self) -> float:
        return round(self.latency_s * 1000, 2)

    @property
    def response(self) -> str:
        """The answer's first bytes as text."""
        return self.answer.decode("utf-8", "replace")

    @property
    def error(self) -> str | None:
        """``refused: connection refused by 127.0.0.1:8000``, for display; None when answered."""
        if self.failure is None:
            return None
        return f"{self.failure.value}: {self.message}" if self.message else self.failure.value

    @property
    def ok(self) -> bool:
        """Delivered: by amoCRM's rules when judged, else any 2xx."""
        if self.verdict is not None:
            return self.verdict.ok
        return self.status is not None and 200 <= self.status < 300

    def judged(self, verdict: Verdict) -> Delivery:
        return replace(self, verdict=verdict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON object ``send --json`` prints for it."""
        return {
            "event": self.name,
            "url": self.url,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "response": self.response,
            "error": self.error,
            "ok": self.ok,
            "reason": None if self.verdict is None else self.verdict.reason,
        }
