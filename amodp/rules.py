"""amoCRM's delivery rules, per kind of webhook, as data: what answer counts
as delivered, how long amoCRM waits, when it sends again, when it gives up.

``judge()`` turns one answer (or its absence) into a :class:`Verdict` whose
reason speaks amoCRM's terms: ``500: amoCRM retries in 5 min``. The retry
ladder is a table of :class:`Step` rows; ``next_retry()`` walks it for the
outcomes so far. :class:`DisableTracker` counts invalid answers as amoCRM does
before it switches a hook off, on a clock that can be compressed for tests.

Adding a kind is one row in :data:`RULES`; an event amoCRM treats apart from
the rest of its kind, one row in :data:`EVENT_RULES`. The sources of every
number are in docs/delivery-rules.md.

Standard library only.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from .errors import UnknownEventError, UsageError
from .outcome import Delivery, Failure

__all__ = [
    "DisableRule",
    "DisableTracker",
    "EVENT_RULES",
    "KOMMO_RULES",
    "PLATFORMS",
    "RULES",
    "Rules",
    "Step",
    "Verdict",
    "check_platform",
    "duration",
    "judge",
    "next_retry",
    "rules_for",
]

#: a step of the ladder taken after any failure
ANY = "any"
#: a step taken only after 499, a 5xx or no answer at all
SERVER = "server"


@dataclass(frozen=True)
class Verdict:
    """What amoCRM makes of one answer. ``warning``: delivered, with a caveat;
    ``late``: not delivered because the answer came after amoCRM stopped waiting."""

    ok: bool
    reason: str
    warning: bool = False
    late: bool = False


@dataclass(frozen=True)
class Step:
    """Attempt n+1 comes ``delay_s`` after a failed attempt n, when ``after`` allows."""

    delay_s: float
    after: str = ANY  # ANY or SERVER


@dataclass(frozen=True)
class DisableRule:
    """The hook is switched off when more than ``limit`` invalid answers came
    within ``window_s`` and the latest answer is invalid too; with
    ``pause_s``, only its retries stop, for that long, and then go on."""

    limit: int
    window_s: float
    pause_s: float | None = None


@dataclass(frozen=True)
class Rules:
    """How amoCRM delivers one kind of webhook."""

    kind: str
    label: str  # "DP webhooks", used in reasons
    success: Collection[int]
    timeout_s: float
    ladder: tuple[Step, ...] = ()
    disable: DisableRule | None = None
    #: what is lost when the ladder is empty
    lost: str = "this change is lost"
    #: the success statuses as the docs say them, when they are not the usual
    #: 100–299 (None): a status outside them is then named as not wanted
    success_text: str | None = None
    #: what the documentation leaves open, and what is assumed for it
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        """The rules as ``amodp events --json`` shows them under ``answer``."""
        retries = "none: sent once"
        if self.ladder:
            steps = [
                duration(s.delay_s) + (" after 499 or a 5xx" if s.after == SERVER else "")
                for s in self.ladder
            ]
            retries = "after " + ", then ".join(steps)
        return {
            "status": self.success_text or "100–299",
            "timeout_seconds": self.timeout_s,
            "retries": retries,
            "note": self.note,
        }

    def judge(self, delivery: Delivery, *, attempt: int | None = None) -> Verdict:
        """The verdict on ``delivery``, attempt number ``attempt`` (by default
        the delivery's own; 1 is the first delivery)."""
        if _delivered(self, delivery):
            return Verdict(True, f"{delivery.status} in {duration(delivery.latency_s)}: delivered")
        late = delivery.status is not None and delivery.latency_s > self.timeout_s
        return Verdict(False, _reason(self, delivery, attempt or delivery.attempt), late=late)


#: One row per kind. Success statuses, the time amoCRM waits, the retry ladder
#: (attempt 2 after 5 min, 3 after 15 min after any failure; 4 after 15 min
#: and 5 after 1 h only after 499 or a 5xx) and the disabling rule.
RULES: dict[str, Rules] = {
    "account": Rules(
        kind="account",
        label="account-level webhooks",
        success=range(100, 300),
        timeout_s=2.0,
        ladder=(Step(300), Step(900), Step(900, SERVER), Step(3600, SERVER)),
        disable=DisableRule(limit=100, window_s=7200),
    ),
    "dp": Rules(
        kind="dp",
        label="DP webhooks",
        success=range(100, 300),
        timeout_s=2.0,
        note="amocrm.ru: sent once, never retried; no timeout stated (2 s assumed)",
    ),
    "chat": Rules(
        kind="chat",
        label="Chats API hooks",
        success=frozenset({200}),
        timeout_s=5.0,
        lost="this message is lost",
        success_text="200 exactly",
    ),
    "salesbot": Rules(
        kind="salesbot",
        label="Salesbot widget_request calls",
        success=frozenset({200}),
        timeout_s=2.0,
        lost="the bot does not go on",
        success_text="200 exactly",
        note="retries are not documented: none assumed",
    ),
    # The hook sent when an account disables the integration.
    "oauth": Rules(
        kind="oauth",
        label="OAuth disable hooks",
        success=range(200, 300),
        timeout_s=2.0,
        lost="the account is not told again",
        success_text="a 2xx (assumed: not documented)",
        note="what amoCRM does with the answer is not documented: "
        "a 2xx within 2 s assumed, never retried",
    ),
}

_REDIRECT = Rules(
    kind="oauth",
    label="OAuth redirects",
    success=range(200, 400),
    timeout_s=3.0,
    lost="the code is not sent again",
    success_text="a 2xx or 3xx",
    note="the status is not checked; the widget install hook waits 3 s, "
    "so a page or a redirect onward within 3 s is taken",
)

#: Events judged apart from their kind, as ``"<kind>.<event>"``: the OAuth
#: redirect (and its refusal) reaches the Redirect URI, which may answer with
#: a page or a redirect; the widget install hook waits 3 s for it.
EVENT_RULES: dict[str, Rules] = {
    "oauth.redirect": _REDIRECT,
    "oauth.denied": _REDIRECT,
}


#: the platforms whose documents state the rules: amocrm.ru and developers.kommo.com
PLATFORMS = ("amocrm", "kommo")

#: Kommo's rows where its documentation differs from amocrm.ru's
#: (docs/delivery-rules.md quotes both).
KOMMO_RULES: dict[str, Rules] = {
    "dp": Rules(
        kind="dp",
        label="DP webhooks",
        success=range(100, 300),
        timeout_s=2.0,
        ladder=(Step(300), Step(600), Step(900), Step(1800)),
        disable=DisableRule(limit=100, window_s=300, pause_s=300),
        note="developers.kommo.com/docs/webhooks-dp: up to 4 retries within an hour "
        "(their delays are not documented: 5, 10, 15 and 30 min assumed); more than 100 "
        "invalid answers from an address within 5 min pause its retries for 5 min; "
        "no timeout stated (2 s assumed)",
    ),
}


def check_platform(platform: str) -> None:
    """A UsageError (``param="platform"``) unless ``platform`` is one of :data:`PLATFORMS`."""
    if platform not in PLATFORMS:
        raise UsageError(
            f"unknown platform {platform!r}; choose from: {', '.join(PLATFORMS)}",
            param="platform",
        )


def rules_for(kind: str, event: str | None = None, platform: str = "amocrm") -> Rules:
    """The rules of ``kind`` on ``platform``, or of one of its events
    (``"redirect"``) when :data:`EVENT_RULES` has a row for it."""
    check_platform(platform)
    if platform == "kommo" and kind in KOMMO_RULES:
        return KOMMO_RULES[kind]
    if event is not None:
        name = event if event.startswith(f"{kind}.") else f"{kind}.{event}"
        if name in EVENT_RULES:
            return EVENT_RULES[name]
    try:
        return RULES[kind]
    except KeyError:
        raise UnknownEventError(
            f"no delivery rules for kind {kind!r}; known: {', '.join(RULES)}"
        ) from None


def judge(
    kind: str,
    delivery: Delivery,
    *,
    attempt: int | None = None,
    event: str | None = None,
    platform: str = "amocrm",
) -> Verdict:
    """``rules_for(kind, event, platform).judge(delivery)``.

    >>> judge("account", Delivery(500, 0.01)).reason
    '500: amoCRM retries in 5 min'
    >>> judge("dp", Delivery(500, 0.01)).reason
    '500: DP webhooks are not retried: this change is lost'
    """
    return rules_for(kind, event, platform).judge(delivery, attempt=attempt)


def next_retry(
    outcomes: Sequence[Delivery],
    kind: str = "account",
    *,
    time_scale: float = 1.0,
    platform: str = "amocrm",
) -> float | None:
    """Seconds until amoCRM's next attempt after ``outcomes`` (the attempts so
    far, oldest first), times ``time_scale``; None when it sends no more: the
    latest was delivered, or amoCRM gives up."""
    rules = rules_for(kind, platform=platform)
    if not outcomes or _delivered(rules, outcomes[-1]):
        return None
    step = _step(rules, outcomes[-1], len(outcomes))
    return None if step is None else step.delay_s * time_scale


def duration(seconds: float) -> str:
    """``5 min``, ``1 h``, ``2 s``, ``2.31 s``, ``12 ms``."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    if seconds >= 1:
        return f"{seconds:.2f} s" if seconds % 1 else f"{seconds:g} s"
    return f"{seconds * 1000:.0f} ms"


class DisableTracker:
    """Counts a hook's invalid answers and says when amoCRM would switch it
    off, or (a rule with ``pause_s``) pause its retries.

    ``time_scale`` compresses amoCRM's clock: with 0.001 the 2-hour window
    lasts 7.2 s of ``clock``. Once disabled, the hook stays off; a pause ends
    ``pause_s`` (scaled) after it began.
    """

    def __init__(
        self,
        kind: str = "account",
        *,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        platform: str = "amocrm",
    ) -> None:
        rule = rules_for(kind, platform=platform).disable
        if rule is None:
            raise UnknownEventError(f"amoCRM does not disable {kind} hooks for bad answers")
        self.rule = rule
        self.window = rule.window_s * time_scale
        self.pause = None if rule.pause_s is None else rule.pause_s * time_scale
        self.clock = clock
        self.invalid: deque[float] = deque()
        self.disabled = False
        #: when the current pause of retries ends (``clock`` time), if one is under way
        self.paused_until: float | None = None

    def record(self, ok: bool, at: float | None = None) -> bool:
        """Note one answer (``ok``: valid); return whether the hook is now
        disabled, or its retries paused, by this answer or an earlier one."""
        now = self.clock() if at is None else at
        while self.invalid and self.invalid[0] <= now - self.window:
            self.invalid.popleft()
        if self.paused_until is not None and now >= self.paused_until:
            self.paused_until = None
        if not ok:
            self.invalid.append(now)
            if len(self.invalid) > self.rule.limit:
                if self.pause is None:
                    self.disabled = True
                elif self.paused_until is None:
                    self.paused_until = now + self.pause
        return self.disabled or self.paused_until is not None

    def wait(self, at: float | None = None) -> float:
        """Seconds (``clock`` time) until retries may go again: 0 unless paused."""
        now = self.clock() if at is None else at
        if self.paused_until is None or now >= self.paused_until:
            return 0.0
        return self.paused_until - now

    @property
    def recent_invalid(self) -> int:
        """Invalid answers in the window, as of the latest one recorded."""
        return len(self.invalid)


def _delivered(rules: Rules, outcome: Delivery) -> bool:
    return (
        outcome.failure is None
        and outcome.status is not None
        and outcome.status in rules.success
        and outcome.latency_s <= rules.timeout_s
    )


def _server_side(outcome: Delivery) -> bool:
    """499, a 5xx, or no answer in time: what the last rungs of the ladder wait for.

    499 is what a server logs when its client hung up before the answer, as
    amoCRM does after its timeout; a refused or broken connection is taken as
    the server's failure too.
    """
    if outcome.status is None:
        return True
    return outcome.status == 499 or 500 <= outcome.status <= 599


def _step(rules: Rules, outcome: Delivery, attempt: int) -> Step | None:
    if attempt > len(rules.ladder):
        return None
    step = rules.ladder[attempt - 1]
    if step.after == SERVER and not _server_side(outcome):
        return None
    return step


def _failure(rules: Rules, outcome: Delivery) -> tuple[str, str]:
    """What went wrong, and how the rest of the reason joins it: ``":"``
    (``500: amoCRM retries ...``), ``"and"`` (``... gives up after 2 s and
    retries ...``) or ``";"`` (``302: not a success ...; retried ...``)."""
    limit = duration(rules.timeout_s)
    if outcome.status is None:
        failure, text = outcome.failure, outcome.message
        if failure is Failure.TIMEOUT:
            return f"no answer within {limit}: amoCRM gives up after {limit}", "and"
        if failure is Failure.REFUSED:
            return "connection refused", ":"
        if failure is Failure.DNS:
            return f"host not found ({text})", ":"
        if failure is Failure.CLOSED:
            return "connection closed without an answer", ":"
        return f"network error ({text or 'no answer'})", ":"
    status = outcome.status
    if outcome.latency_s > rules.timeout_s:
        return f"{duration(outcome.latency_s)}: amoCRM gives up after {limit}", "and"
    if 300 <= status < 400:
        return f"{status}: not a success for amoCRM (no redirects followed)", ";"
    if status in rules.success:  # only its time was wrong, handled above
        return f"{status}", ":"
    if rules.success_text is not None:
        return f"{status}: amoCRM wants {rules.success_text}", ";"
    if status == 499 or status >= 500:
        return f"{status}", ":"
    return f"{status}: not a success for amoCRM", ";"


def _reason(rules: Rules, outcome: Delivery, attempt: int) -> str:
    what, join = _failure(rules, outcome)
    if not rules.ladder:
        sep = ":" if join == ":" else ";"
        return f"{what}{sep} {rules.label} are not retried: {rules.lost}"
    step = _step(rules, outcome, attempt)
    if step is None:
        tail = {":": ": amoCRM gives up", "and": " and sends no more", ";": "; amoCRM gives up"}
        return f"{what}{tail[join]}: {rules.lost}"
    delay = duration(step.delay_s)
    tail = {":": ": amoCRM retries in", "and": " and retries in", ";": "; retried in"}
    return f"{what}{tail[join]} {delay}"
