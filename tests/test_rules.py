"""amoCRM's delivery rules as tables, written from the documentation
(docs/delivery-rules.md): success is 100–299 within 2 s; attempt 2 after
5 min and 3 after 15 min after any failure; 4 after 15 min and 5 after 1 h
only after 499 or a 5xx; disabled past 100 invalid answers in 2 h when the
latest is invalid. DP webhooks are sent once."""

from __future__ import annotations

import pytest

from amodp import rules
from amodp.errors import UnknownEventError
from amodp.outcome import Delivery, Failure
from amodp.rules import DisableTracker, Verdict, judge, next_retry

MIN = 60
HOUR = 3600


def delivery(
    status: int | None, latency: float, error: str | None = None, attempt: int = 1
) -> Delivery:
    """An answer, or a failure written ``kind: message`` as a user reads it."""
    if error is None:
        return Delivery(status, latency, attempt=attempt)
    kind, _, message = error.partition(": ")
    return Delivery.failed(Failure(kind), message, latency, attempt=attempt)


def same(got: Verdict, want: Verdict) -> bool:
    return (got.ok, got.reason, got.warning) == (want.ok, want.reason, want.warning)


# (kind, status, latency_s, error, attempt) -> verdict
VERDICTS = [
    ("account", 200, 0.05, None, 1, Verdict(True, "200 in 50 ms: delivered")),
    ("account", 100, 0.05, None, 1, Verdict(True, "100 in 50 ms: delivered")),
    ("account", 299, 1.99, None, 1, Verdict(True, "299 in 1.99 s: delivered")),
    ("account", 204, 2.0, None, 1, Verdict(True, "204 in 2 s: delivered")),
    ("account", 500, 0.05, None, 1, Verdict(False, "500: amoCRM retries in 5 min")),
    ("account", 503, 0.05, None, 2, Verdict(False, "503: amoCRM retries in 15 min")),
    ("account", 502, 0.05, None, 3, Verdict(False, "502: amoCRM retries in 15 min")),
    ("account", 499, 0.05, None, 4, Verdict(False, "499: amoCRM retries in 1 h")),
    (
        "account",
        500,
        0.05,
        None,
        5,
        Verdict(False, "500: amoCRM gives up: this change is lost"),
    ),
    (
        "account",
        200,
        2.31,
        None,
        1,
        Verdict(False, "2.31 s: amoCRM gives up after 2 s and retries in 5 min"),
    ),
    (
        "account",
        302,
        0.05,
        None,
        1,
        Verdict(False, "302: not a success for amoCRM (no redirects followed); retried in 5 min"),
    ),
    (
        "account",
        301,
        0.05,
        None,
        3,
        Verdict(
            False,
            "301: not a success for amoCRM (no redirects followed); "
            "amoCRM gives up: this change is lost",
        ),
    ),
    (
        "account",
        404,
        0.05,
        None,
        2,
        Verdict(False, "404: not a success for amoCRM; retried in 15 min"),
    ),
    (
        "account",
        403,
        0.05,
        None,
        3,
        Verdict(False, "403: not a success for amoCRM; amoCRM gives up: this change is lost"),
    ),
    (
        "account",
        None,
        0.01,
        "closed: Server disconnected",
        1,
        Verdict(False, "connection closed without an answer: amoCRM retries in 5 min"),
    ),
    (
        "account",
        None,
        0.01,
        "refused: Cannot connect to host",
        1,
        Verdict(False, "connection refused: amoCRM retries in 5 min"),
    ),
    (
        "account",
        None,
        10.0,
        "timeout: no answer in time",
        4,
        Verdict(False, "no answer within 2 s: amoCRM gives up after 2 s and retries in 1 h"),
    ),
    ("dp", 200, 0.05, None, 1, Verdict(True, "200 in 50 ms: delivered")),
    (
        "dp",
        500,
        0.05,
        None,
        1,
        Verdict(False, "500: DP webhooks are not retried: this change is lost"),
    ),
    (
        "dp",
        200,
        2.31,
        None,
        1,
        Verdict(
            False,
            "2.31 s: amoCRM gives up after 2 s; DP webhooks are not retried: this change is lost",
        ),
    ),
    (
        "dp",
        302,
        0.05,
        None,
        1,
        Verdict(
            False,
            "302: not a success for amoCRM (no redirects followed); "
            "DP webhooks are not retried: this change is lost",
        ),
    ),
    (
        "dp",
        None,
        0.01,
        "closed: Server disconnected",
        1,
        Verdict(
            False,
            "connection closed without an answer: DP webhooks are not retried: this change is lost",
        ),
    ),
    ("chat", 200, 4.9, None, 1, Verdict(True, "200 in 4.90 s: delivered")),
    (
        "chat",
        204,
        0.05,
        None,
        1,
        Verdict(
            False,
            "204: amoCRM wants 200 exactly; Chats API hooks are not retried: this message is lost",
        ),
    ),
    (
        "chat",
        200,
        5.2,
        None,
        1,
        Verdict(
            False,
            "5.20 s: amoCRM gives up after 5 s; "
            "Chats API hooks are not retried: this message is lost",
        ),
    ),
    ("salesbot", 200, 1.5, None, 1, Verdict(True, "200 in 1.50 s: delivered")),
    (
        "salesbot",
        200,
        2.5,
        None,
        1,
        Verdict(
            False,
            "2.50 s: amoCRM gives up after 2 s; "
            "Salesbot widget_request calls are not retried: the bot does not go on",
        ),
    ),
    ("salesbot", 204, 0.1, None, 1, Verdict(
        False,
        "204: amoCRM wants 200 exactly; "
        "Salesbot widget_request calls are not retried: the bot does not go on",
    )),
    # The disable hook: the answer is not documented; a 2xx within 2 s is assumed.
    ("oauth", 204, 1.9, None, 1, Verdict(True, "204 in 1.90 s: delivered")),
    ("oauth", 500, 0.1, None, 1, Verdict(
        False,
        "500: amoCRM wants a 2xx (assumed: not documented); "
        "OAuth disable hooks are not retried: the account is not told again",
    )),
    ("oauth", 200, 2.5, None, 1, Verdict(
        False,
        "2.50 s: amoCRM gives up after 2 s; "
        "OAuth disable hooks are not retried: the account is not told again",
    )),
]  # fmt: skip

# (event, status, latency, verdict): the OAuth redirect, judged apart from its kind
REDIRECTS = [
    ("redirect", 200, 2.9, Verdict(True, "200 in 2.90 s: delivered")),
    ("redirect", 302, 0.1, Verdict(True, "302 in 100 ms: delivered")),
    ("oauth.denied", 200, 0.1, Verdict(True, "200 in 100 ms: delivered")),
    ("redirect", 200, 3.1, Verdict(
        False,
        "3.10 s: amoCRM gives up after 3 s; "
        "OAuth redirects are not retried: the code is not sent again",
    )),
    ("redirect", 404, 0.1, Verdict(
        False,
        "404: amoCRM wants a 2xx or 3xx; "
        "OAuth redirects are not retried: the code is not sent again",
    )),
    ("disabled", 302, 0.1, Verdict(
        False,
        "302: not a success for amoCRM (no redirects followed); "
        "OAuth disable hooks are not retried: the account is not told again",
    )),
]  # fmt: skip


@pytest.mark.parametrize(("event", "status", "latency", "verdict"), REDIRECTS)
def test_oauth_redirect(event: str, status: int, latency: float, verdict: Verdict) -> None:
    assert same(judge("oauth", delivery(status, latency), event=event), verdict)


def test_event_rules_belong_to_a_kind() -> None:
    from amodp import catalog

    for name, row in rules.EVENT_RULES.items():
        kind, _, event = name.partition(".")
        assert row.kind == kind
        assert event in {e.event for e in catalog.events(kind)}


@pytest.mark.parametrize(("kind", "status", "latency", "error", "attempt", "verdict"), VERDICTS)
def test_judge(
    kind: str, status: int | None, latency: float, error: str | None, attempt: int, verdict: Verdict
) -> None:
    assert same(judge(kind, delivery(status, latency, error), attempt=attempt), verdict)


def fail(status: int | None = 500, error: str | None = None) -> Delivery:
    return delivery(status, 0.05, error)


OK = Delivery(200, 0.05)
SLOW = Delivery(200, 2.5)
TIMEOUT = delivery(None, 10.0, "timeout: no answer in time")

# outcomes so far -> seconds until the next attempt (None: no more attempts)
LADDER = [
    ([], None),
    ([OK], None),
    ([fail()], 5 * MIN),
    ([fail(404)], 5 * MIN),
    ([fail(302)], 5 * MIN),
    ([SLOW], 5 * MIN),
    ([fail(), fail(404)], 15 * MIN),
    ([fail(), OK], None),
    ([fail(), fail(), fail()], 15 * MIN),
    ([fail(), fail(), fail(499)], 15 * MIN),
    ([fail(), fail(), fail(404)], None),
    ([fail(), fail(), fail(302)], None),
    ([fail(), fail(), TIMEOUT], 15 * MIN),
    ([fail(), fail(), fail(None, "refused: x")], 15 * MIN),
    ([fail(), fail(), fail(), fail(503)], HOUR),
    ([fail(), fail(), fail(), fail(409)], None),
    ([fail(), fail(), fail(), fail(), fail()], None),
]


@pytest.mark.parametrize(("outcomes", "delay"), LADDER)
def test_account_ladder(outcomes: list[Delivery], delay: float | None) -> None:
    assert next_retry(outcomes, "account") == delay


def test_ladder_has_five_attempts_over_95_minutes() -> None:
    outcomes = [fail()]
    waited = 0.0
    while (delay := next_retry(outcomes, "account")) is not None:
        waited += delay
        outcomes.append(fail())
    assert len(outcomes) == 5
    assert waited == 5 * MIN + 15 * MIN + 15 * MIN + HOUR


@pytest.mark.parametrize("kind", ["dp", "chat", "salesbot", "oauth"])
def test_never_retried(kind: str) -> None:
    assert next_retry([fail()], kind) is None
    assert next_retry([TIMEOUT], kind) is None


def test_time_scale_compresses_the_ladder() -> None:
    assert next_retry([fail()], "account", time_scale=0.001) == pytest.approx(0.3)
    assert next_retry([fail()] * 4, "account", time_scale=0.001) == pytest.approx(3.6)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_disabled_after_101_invalid_answers_within_2_hours() -> None:
    clock = Clock()
    tracker = DisableTracker("account", clock=clock)
    for _ in range(100):
        assert tracker.record(False) is False
        clock.now += 60  # 100 answers over 100 minutes
    assert tracker.recent_invalid == 100
    assert tracker.record(False) is True
    assert tracker.disabled
    assert tracker.record(True) is True  # stays off


def test_a_valid_latest_answer_keeps_the_hook() -> None:
    clock = Clock()
    tracker = DisableTracker("account", clock=clock)
    for _ in range(100):
        tracker.record(False)
    assert tracker.record(True) is False
    assert tracker.recent_invalid == 100


def test_invalid_answers_older_than_2_hours_do_not_count() -> None:
    clock = Clock()
    tracker = DisableTracker("account", clock=clock)
    tracker.record(False)
    clock.now += 2 * HOUR + 1
    for _ in range(100):
        assert tracker.record(False) is False
    assert tracker.recent_invalid == 100


def test_disable_window_with_a_compressed_clock() -> None:
    clock = Clock()
    tracker = DisableTracker("account", time_scale=0.001, clock=clock)  # 2 h is 7.2 s
    tracker.record(False)
    clock.now += 7.3
    for _ in range(100):
        tracker.record(False)
    assert not tracker.disabled
    clock.now += 1.0
    assert tracker.record(False) is True


def test_dp_hooks_are_not_disabled_by_this_rule() -> None:
    with pytest.raises(UnknownEventError):
        DisableTracker("dp")


def test_unknown_kind() -> None:
    with pytest.raises(UnknownEventError, match="no delivery rules for kind 'nope'"):
        judge("nope", Delivery(200, 0.1))


def test_every_catalog_kind_has_rules() -> None:
    from amodp import catalog

    assert set(catalog.ALL_KINDS) <= set(rules.RULES)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (300, "5 min"),
        (900, "15 min"),
        (3600, "1 h"),
        (2.0, "2 s"),
        (2.314, "2.31 s"),
        (0.012, "12 ms"),
    ],
)
def test_duration(seconds: float, text: str) -> None:
    assert rules.duration(seconds) == text


def test_docstring_examples_and_exports() -> None:
    import doctest

    failures, tries = doctest.testmod(rules)
    assert failures == 0 and tries > 0
    assert rules.__all__ == sorted(rules.__all__)
    assert all(getattr(rules, name) is not None for name in rules.__all__)


def test_the_rules_are_stated_once() -> None:
    """The event data files say what a callback carries, never how it is
    answered: that is the rules table alone, which `amodp events --json` shows."""
    import json
    from pathlib import Path

    from amodp import catalog

    folder = Path(rules.__file__).parent / "events"
    for path in folder.glob("*/*.json"):
        assert "answer" not in json.loads(path.read_text(encoding="utf-8")), path.name
    disabled = catalog.event("disabled", "oauth", "oauth").as_dict()["answer"]
    assert disabled["timeout_seconds"] == rules.RULES["oauth"].timeout_s == 2.0
    assert "not documented" in disabled["note"]
    redirect = catalog.event("redirect", "oauth", "oauth").as_dict()["answer"]
    assert (redirect["status"], redirect["timeout_seconds"]) == ("a 2xx or 3xx", 3.0)
    assert redirect["then"].startswith("exchange code")
