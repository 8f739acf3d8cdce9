"""The receiver test suite behind ``amodp check``: cases built from the event
catalog, sent as amoCRM sends them, judged by amoCRM's delivery rules.

Every event of every kind in the catalog gets the same variants, so a new
event or kind joins the suite by its data file alone:

* ``single``: one item, as most webhooks are;
* ``batch``: three items in one body (amoCRM batches changes);
* ``text``: names, texts and an added text custom field with Cyrillic, emoji,
  ``\\r\\n`` and HTML entities (events that carry text);
* ``retry``: the same delivery twice with the same ``X-Amocrm-Requestid``,
  the second after the first answered, as a retry comes;
* ``account_last`` (or ``account_first``): the account block where older (or
  newer) bodies put it, the other side of the catalog's order;

The callbacks (:data:`amodp.catalog.CALLBACK_KINDS`: Chats API hooks,
Salesbot calls, the OAuth redirect and disable hook) get ``single`` (one
valid callback, signed with the secret given) and, for a signed event,
``bad-signature`` (signed with another secret) and for the Salesbot
``expired`` (a token past its ``exp``): a receiver must reject those with a
4xx; a 2xx fails. The callback kinds sign their requests, so they need the
receiver's secret: without one they are left out (:func:`needs_secret`), and
the default suite is then the webhooks' alone.

And one event per kind a ``max_input_vars`` case: a batch past PHP's default
``max_input_vars`` (1000), which a default PHP receiver answers 200 while
``$_POST`` silently loses the rest. A 2xx there cannot tell whether the data
was kept, so it passes with a warning; any other answer fails as usual.

Case names are ``<event>[<variant>]`` (``leads.status[retry]``) and bodies are
the same for the same seed. ``run()`` sends to a URL (aiohttp, through
:mod:`amodp.sender`), or calls a WSGI or ASGI app in-process (through
:func:`amodp.testing.post`). The reports: JUnit XML, a JSON-able dict per case
and the rows of a table.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import catalog, rules
from .codec import PHP_MAX_INPUT_VARS, encode
from .errors import AmodpError, InputError, NetworkError, UsageError
from .generator import generate
from .outcome import Delivery, Failure
from .request import Request

__all__ = [
    "COLUMNS",
    "Case",
    "CaseResult",
    "DEFAULT_KINDS",
    "check_kinds",
    "junit_xml",
    "list_cases",
    "needs_secret",
    "queued",
    "rows",
    "run",
    "unreachable",
    "write_junit",
]

#: the kinds checked unless told: every kind, webhooks and callbacks
DEFAULT_KINDS = catalog.ALL_KINDS

#: items in the ``batch`` variant
BATCH = 3
#: a name as people type it into amoCRM: quotes come as HTML entities
TEXT_NAME = "ООО &quot;Ёлка&quot; &amp; партнёры 🎄"
#: a multi-line text (a task, a message, a text area custom field)
TEXT_LONG = "Перезвонить завтра 👍\r\nЦена: 1&nbsp;500 ₽ &lt;со скидкой&gt;\r\n«Срочно» — до 18:00"
#: generator rules that make a free text (names, messages, tasks)
TEXT_GENS = {
    "deal_name": TEXT_NAME,
    "lead_name": TEXT_NAME,
    "person_name": TEXT_NAME,
    "company_name": TEXT_NAME,
    "product_name": TEXT_NAME,
    "task_text": TEXT_LONG,
    "message_text": TEXT_LONG,
}


@dataclass(frozen=True)
class Case:
    """One named test: one or more requests, sent in order."""

    kind: str
    event: str  # "leads.status"
    variant: str  # "single", "batch", ...
    #: the requests, to the default URL: :func:`run` sends them to its target
    posts: tuple[Request, ...]
    about: str
    #: "deliver": judged by amoCRM's rules; "reject": a 4xx passes, a 2xx fails
    expect: str = "deliver"

    @property
    def name(self) -> str:
        return f"{self.event}[{self.variant}]"

    @property
    def sent(self) -> str:
        """What was sent, short: ``3 items, 2.1 kB``, ``1 item, 812 B ×2``."""
        first = self.posts[0]
        size = len(first.body) if first.body or not first.query else len(first.query)
        weight = f"{size / 1000:.1f} kB" if size >= 1000 else f"{size} B"
        items = {"batch": f"{BATCH} items", "max_input_vars": f"{self.variables} vars"}
        what = "query" if not first.body and first.query else "1 item"
        text = f"{items.get(self.variant, what)}, {weight}"
        return text + (f" ×{len(self.posts)}" if len(self.posts) > 1 else "")

    @property
    def variables(self) -> int:
        """Variables in the first body, as PHP counts them for max_input_vars."""
        body = self.posts[0].body
        return body.count(b"&") + 1 if body else 0


@dataclass
class CaseResult:
    case: Case
    #: one judged delivery per request of the case
    answers: list[Delivery]
    verdict: rules.Verdict
    #: sent again alone: it failed on time while other requests were in flight
    alone: bool = False

    @property
    def ok(self) -> bool:
        return self.verdict.ok

    @property
    def deciding(self) -> Delivery:
        """The answer the verdict is about: the first that failed, else the first."""
        return next((a for a in self.answers if not a.ok), self.answers[0])

    @property
    def seconds(self) -> float:
        return sum(a.latency_s for a in self.answers)

    def as_dict(self) -> dict[str, Any]:
        answer = self.deciding
        return {
            "case": self.case.name,
            "event": self.case.event,
            "variant": self.case.variant,
            "kind": self.case.kind,
            "status": answer.status,
            "latency_ms": round(answer.latency_s * 1000, 2),
            "ok": self.verdict.ok,
            "reason": self.verdict.reason,
            "warning": self.verdict.warning,
            "response": answer.response,
            "alone": self.alone,
        }

    @property
    def answered(self) -> str:
        """What the receiver said in the deciding answer, on one line (its
        first bytes), or "" when it said nothing."""
        return " ".join(self.deciding.response.split())[:120]


# -- building the suite ----------------------------------------------------------


def check_kinds(kinds: Iterable[str]) -> None:
    """A UsageError for the first kind the catalog lacks (every kind it has
    has cases)."""
    for kind in kinds:
        if kind not in catalog.ALL_KINDS:
            known = ", ".join(catalog.ALL_KINDS)
            raise UsageError(f"unknown kind {kind!r}; choose from: {known}", param="kind")


def needs_secret(
    kind: str | Sequence[str] | None = None, secret: str | Mapping[str, str] | None = None
) -> list[str]:
    """The kinds of ``kind`` (:data:`DEFAULT_KINDS` when None) whose cases
    need the receiver's secret and have none in ``secret``: the callback
    kinds, each of which signs its requests. Without the secret a valid
    callback cannot be made, so :func:`list_cases` leaves these kinds out."""
    kinds = DEFAULT_KINDS if kind is None else (kind,) if isinstance(kind, str) else tuple(kind)
    return [k for k in kinds if k in catalog.CALLBACK_KINDS and _of_kind(secret, k) is None]


def _signed(spec: catalog.Event) -> bool:
    return spec.signature_scheme is not None


def list_cases(
    kind: str | Sequence[str] | None = None,
    only: str | Sequence[str] | None = None,
    seed: int = 0,
    secret: str | Mapping[str, str] | None = None,
    url: str | Mapping[str, str] | None = None,
) -> list[Case]:
    """Every case of ``kind`` (a kind or several; :data:`DEFAULT_KINDS` when
    None), in catalog order. Callbacks are signed with ``secret``, the
    receiver's (or a kind's own: ``{"chat": S1, "salesbot": S2}``); a callback
    kind without one is left out (:func:`needs_secret`). ``url`` is the
    receiver the cases will be sent to (or a kind's own), which a Salesbot
    token names as its audience (``http://localhost:8000/`` by default).

    ``only`` keeps the cases whose name matches a pattern: a glob with ``*``
    and ``?`` (brackets are literal: ``leads.*[retry]``), else a substring.
    The same ``seed`` gives the same bodies and request ids, whatever is kept.
    """
    kinds = DEFAULT_KINDS if kind is None else (kind,) if isinstance(kind, str) else tuple(kind)
    patterns = [only] if isinstance(only, str) else list(only or [])
    matchers = [_matcher(p) for p in patterns]
    check_kinds(kinds)
    cases = []
    for k in kinds:
        rules.rules_for(k)  # a kind without delivery rules cannot be judged
        specs = catalog.events(k)
        if k in catalog.CALLBACK_KINDS:
            key, where = _of_kind(secret, k), _of_kind(url, k)
            if key is None:
                continue
            for spec in specs:
                for called, flaw, expect in _callback_variants(spec):
                    name = f"{spec.name}[{called}]"
                    if matchers and not any(m(name) for m in matchers):
                        continue
                    rng = random.Random(f"{seed}/{name}")
                    cases.append(_callback(spec, called, flaw, expect, key, rng, where))
            continue
        big = next((s for s in specs if s.name == "leads.status"), specs[0] if specs else None)
        for spec in specs:
            for variant, build in _VARIANTS:
                name = f"{spec.name}[{variant(spec)}]"
                if matchers and not any(m(name) for m in matchers):
                    continue
                made = build(spec, _CaseRandom(f"{seed}/{name}", seed))
                if made is not None:
                    cases.append(made)
            name = f"{spec.name}[max_input_vars]"
            if spec is big and (not matchers or any(m(name) for m in matchers)):
                made = _max_input_vars(spec, _CaseRandom(f"{seed}/{name}", seed))
                if made is not None:
                    cases.append(made)
    if matchers and not cases:
        raise UsageError(f"no case matches {', '.join(map(repr, patterns))}")
    return cases


def _of_kind(value: str | Mapping[str, str] | None, kind: str) -> str | None:
    """A value for every kind, or a kind's own from a mapping."""
    return value if value is None or isinstance(value, str) else value.get(kind)


def _matcher(pattern: str) -> Callable[[str], bool]:
    if "*" not in pattern and "?" not in pattern:
        return lambda name: pattern in name
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    regex = re.compile("".join(parts), re.DOTALL)
    return lambda name: regex.fullmatch(name) is not None


class _CaseRandom(random.Random):
    """A case's random source; ``account`` seeds the run's one made-up account,
    so that every webhook of a run comes from the same account, as a real
    account's do."""

    def __init__(self, seed: str, account: int) -> None:
        super().__init__(seed)
        self.account = account


def _hook(spec: catalog.Event, rng: _CaseRandom, **options: Any) -> Request:
    """The event's webhook for a case: drawn from the run's random source,
    from the run's one made-up account."""
    return generate(
        spec.event, spec.entity, kind=spec.kind, rng=rng, account_seed=rng.account, **options
    )


def _single(spec: catalog.Event, rng: _CaseRandom) -> Case:
    hook = _hook(spec, rng)
    return Case(spec.kind, spec.name, "single", (hook,), "one item")


def _batch(spec: catalog.Event, rng: _CaseRandom) -> Case:
    hook = _hook(spec, rng, count=BATCH)
    return Case(spec.kind, spec.name, "batch", (hook,), f"{BATCH} items in one body")


def _text(spec: catalog.Event, rng: _CaseRandom) -> Case | None:
    overrides = [(f.name, TEXT_GENS[f.gen]) for f in spec.fields if f.gen in TEXT_GENS]
    custom = [f for f in spec.fields if f.gen.endswith("_custom_fields")]
    if not overrides and not custom:
        return None
    state = rng.getstate()
    if custom:
        # A text area custom field after the generated ones.
        base = _hook(spec, rng, overrides=overrides)
        entity, event = spec.wire or spec.entity, spec.wire_event or spec.event
        item = base.json[entity][event][0]
        name = custom[0].name
        at = f"{entity}[{event}][0][{name}][{len(item.get(name, []))}]"
        field_id = rng.randint(100_000, 999_999)
        overrides += [
            (f"{at}[id]", str(field_id)),
            (f"{at}[name]", "Комментарий"),
            (f"{at}[values][0][value]", TEXT_LONG),
        ]
        rng.setstate(state)
    hook = _hook(spec, rng, overrides=overrides)
    about = "Cyrillic, emoji, \\r\\n and HTML entities in names, texts and custom fields"
    return Case(spec.kind, spec.name, "text", (hook,), about)


def _retry(spec: catalog.Event, rng: _CaseRandom) -> Case:
    post = _hook(spec, rng)
    about = "the same delivery again, same X-Amocrm-Requestid, after the first answered"
    return Case(spec.kind, spec.name, "retry", (post, post), about)


def _other_side(spec: catalog.Event) -> str:
    try:
        position = catalog.account_block(spec.kind).position
    except OSError:  # a kind whose bodies have no account block
        return "none"
    return "first" if position == "last" else "last"


def _form(hook: Request) -> bool:
    """A PHP-style urlencoded body (not a JSON callback)."""
    content_type = hook.header("content-type") or ""
    return content_type.startswith("application/x-www-form-urlencoded")


def _account_moved(spec: catalog.Event, rng: _CaseRandom) -> Case | None:
    side = _other_side(spec)
    hook = _hook(spec, rng)
    if side == "none" or "account" not in hook.json or not _form(hook):
        return None
    data = {k: v for k, v in hook.json.items() if k != "account"}
    if side == "first":
        data = {"account": hook.json["account"], **data}
    else:
        data["account"] = hook.json["account"]
    about = f"the account block {side}, as {'newer' if side == 'first' else 'older'} bodies have it"
    moved = replace(hook, body=encode(data).encode("ascii"), data=data)
    return Case(spec.kind, spec.name, f"account_{side}", (moved,), about)


def _max_input_vars(spec: catalog.Event, rng: _CaseRandom) -> Case | None:
    sample = generate(spec.event, spec.entity, kind=spec.kind, seed=0)
    if not _form(sample):
        return None
    # Items needed to pass the limit, with room: PHP's $_POST keeps 1001.
    one = sample.body.count(b"&") + 1
    two = generate(spec.event, spec.entity, kind=spec.kind, seed=0, count=2).body.count(b"&") + 1
    per_item = max(two - one, 1)
    count = math.ceil((PHP_MAX_INPUT_VARS + 50 - (one - per_item)) / per_item)
    hook = _hook(spec, rng, count=count)
    about = f"{count} items, past PHP's default max_input_vars ({PHP_MAX_INPUT_VARS})"
    return Case(spec.kind, spec.name, "max_input_vars", (hook,), about)


def _callback_variants(spec: catalog.Event) -> list[tuple[str, str | None, str]]:
    """(variant, flaw, expect) of a callback event."""
    variants: list[tuple[str, str | None, str]] = [("single", None, "deliver")]
    if _signed(spec):
        variants.append(("bad-signature", "wrong-secret", "reject"))
    if spec.kind == "salesbot":
        variants.append(("expired", "expired", "reject"))
    return variants


_CALLBACK_ABOUT = {
    "single": "one valid callback",
    "bad-signature": "signed with another secret: must be rejected with a 4xx",
    "expired": "a token past its exp: must be rejected with a 4xx",
}


def _callback(
    spec: catalog.Event,
    variant: str,
    flaw: str | None,
    expect: str,
    secret: str | None,
    rng: random.Random,
    url: str | None = None,
) -> Case:
    from .callbacks import DEFAULT_URL
    from .callbacks import generate as generate_callback

    hook = generate_callback(
        spec.event, kind=spec.kind, secret=secret, flaw=flaw, rng=rng, url=url or DEFAULT_URL
    )
    return Case(spec.kind, spec.name, variant, (hook,), _CALLBACK_ABOUT[variant], expect)


_VARIANTS: list[
    tuple[Callable[[catalog.Event], str], Callable[[catalog.Event, _CaseRandom], Case | None]]
] = [
    (lambda spec: "single", _single),
    (lambda spec: "batch", _batch),
    (lambda spec: "text", _text),
    (lambda spec: "retry", _retry),
    (lambda spec: f"account_{_other_side(spec)}", _account_moved),
]


# -- running ---------------------------------------------------------------------


def run(
    target: str | Callable[..., Any],
    cases: Sequence[Case],
    *,
    concurrency: int = 10,
    timeout: float = 10.0,
    insecure: bool = False,
    on_result: Callable[[CaseResult], None] | None = None,
    path: str | None = None,
    platform: str = "amocrm",
    routes: Mapping[str, str] | None = None,
) -> list[CaseResult]:
    """Send every case to ``target`` (a URL, a WSGI app or an ASGI app) and judge it.

    To a URL (or, for a kind ``routes`` names, to its own URL) the first
    requests of all cases go ``concurrency`` at once, as amoCRM sends; a
    case's second request (a retry) goes after every first one has answered.
    A case that fails on time while other requests were in flight to the
    receiver is sent again alone before it is judged (its result says
    ``alone``): a receiver that serves one request at a time makes the cases
    queued behind a slow one late, and they are not to blame. ``timeout`` is
    how long an answer is waited for, longer than amoCRM waits so that a slow
    answer is measured. The very first request goes alone: when it does not
    reach the receiver at all, nothing more is sent and the one result says
    so (:func:`unreachable`). An app is called in-process, one request at a time, on
    ``path`` (``/`` by default). Answers are judged by the rules of
    ``platform``. Results come back in the order of ``cases``; ``on_result``
    is called with each as soon as it is judged, so that what was judged
    survives a Ctrl-C.
    """
    if concurrency < 1:
        raise UsageError(f"concurrency must be at least 1, got {concurrency}", param="concurrency")
    rules.check_platform(platform)
    results: list[CaseResult | None] = [None] * len(cases)

    def judged(i: int, got: list[Delivery], alone: bool = False) -> None:
        result = CaseResult(cases[i], got, _case_verdict(cases[i], got), alone)
        results[i] = result
        if on_result is not None:
            on_result(result)

    if isinstance(target, str):
        from .sender import check_url

        for url in {target, *(routes or {}).values()}:
            check_url(url)
        run = _UrlRun(target, routes or {}, cases, concurrency, timeout, insecure, platform)
        run.run(judged)
    elif callable(target):
        _run_app(target, cases, timeout, judged, path, platform)
    else:
        raise UsageError(f"check runs against a URL, a WSGI app or an ASGI app, not {target!r}")
    return [r for r in results if r is not None]


def unreachable(results: Sequence[CaseResult]) -> bool:
    """True when no request reached the receiver: every one refused or not resolved."""
    answers = [a for r in results for a in r.answers]
    return bool(answers) and all(a.failure is not None and a.failure.unreachable for a in answers)


def queued(results: Sequence[CaseResult]) -> bool:
    """True when the receiver answered one request at a time: a case late
    among others was in time when sent alone."""
    return any(r.alone and r.ok for r in results)


def _judge(case: Case, request: Request, delivery: Delivery, platform: str) -> Delivery:
    event = request.event.event if request.event is not None else None
    verdict = rules.judge(case.kind, delivery, event=event, platform=platform)
    return delivery.judged(verdict)


def _late(answers: Sequence[Delivery]) -> bool:
    """Failed on time: answered after amoCRM stopped waiting, or not at all in time."""
    return any(
        (a.verdict is not None and a.verdict.late) or a.failure is Failure.TIMEOUT for a in answers
    )


class _UrlRun:
    """One run of the suite against a receiver over the network."""

    def __init__(
        self,
        url: str,
        routes: Mapping[str, str],
        cases: Sequence[Case],
        concurrency: int,
        timeout: float,
        insecure: bool,
        platform: str,
    ) -> None:
        self.url, self.routes, self.cases = url, routes, cases
        self.concurrency, self.timeout, self.insecure = concurrency, timeout, insecure
        self.platform = platform
        self.answers: list[list[Delivery]] = [[] for _ in cases]
        #: cases whose requests were in flight while another one was
        self.crowded: set[int] = set()
        self.active: set[int] = set()

    def run(self, judged: Callable[..., None]) -> None:
        """Send every case; ``judged(index, deliveries, alone)`` each as it is judged."""
        from .sender import complete

        self.judged = judged
        complete(self.send_all())

    async def send_all(self) -> None:
        from .sender import Sender

        gate = asyncio.Semaphore(self.concurrency)
        async with Sender(
            concurrency=self.concurrency,
            timeout=self.timeout,
            insecure=self.insecure,
            platform=self.platform,
        ) as sender:
            self.sender = sender
            if not self.cases:
                return
            first = await self.send(0, 0)
            if first.failure is not None and first.failure.unreachable:
                self.judged(0, [first])  # nothing more is sent: see unreachable()
                return
            self.keep(0, first)
            waves = max(len(c.posts) for c in self.cases)
            for wave in range(waves):
                todo = [i for i, c in enumerate(self.cases) if len(c.posts) > wave]
                if wave == 0:
                    todo = todo[1:]

                async def one(i: int, wave: int = wave) -> None:
                    async with gate:
                        self.keep(i, await self.send(i, wave))

                await asyncio.gather(*(one(i) for i in todo))
            again = [i for i in range(len(self.cases)) if self.again(i)]
            for i in again:  # one at a time, nothing else in flight
                alone = [await self.send(i, wave) for wave in range(len(self.cases[i].posts))]
                self.judged(i, alone, True)

    async def send(self, i: int, wave: int) -> Delivery:
        case = self.cases[i]
        request = _to(case.posts[wave], self.routes.get(case.kind, self.url))
        if self.active:
            self.crowded |= self.active | {i}
        self.active.add(i)
        try:
            delivery = await self.sender.send(request, attempt=wave + 1)
        finally:
            self.active.discard(i)
        return _judge(case, request, delivery, self.platform)

    def keep(self, i: int, delivery: Delivery) -> None:
        """One more answer of case ``i``; the case is judged once it has them
        all, unless it goes again alone."""
        got = self.answers[i]
        got.append(delivery)
        if len(got) == len(self.cases[i].posts) and not self.again(i):
            self.judged(i, got)

    def again(self, i: int) -> bool:
        """Case ``i`` failed on time while other requests were in flight: it
        is sent again alone before it is judged."""
        got = self.answers[i]
        return (
            self.concurrency > 1
            and i in self.crowded
            and _late(got)
            and not _case_verdict(self.cases[i], got).ok
        )


def _to(request: Request, url: str) -> Request:
    """``request`` sent to ``url``: as it is when it was made for that
    receiver (a Salesbot token names it), else moved there."""
    made, target = urlsplit(request.url), urlsplit(url)
    if (made.scheme, made.netloc, made.path) == (target.scheme, target.netloc, target.path):
        return request
    return request.with_url(url)


def _run_app(
    app: Callable[..., Any],
    cases: Sequence[Case],
    timeout: float,
    judged: Callable[[int, list[Delivery]], None],
    path: str | None = None,
    platform: str = "amocrm",
) -> None:
    from .testing import post

    for i, case in enumerate(cases):
        got = []
        for n, sent in enumerate(case.posts, start=1):
            request = sent.with_url(path or "/")
            started = time.perf_counter()
            app_error: str | None = None
            try:
                answer = post(
                    app,
                    request.body,
                    request.headers,
                    path=request.target,
                    method=request.method,
                    timeout=timeout,
                )
                delivery = Delivery(
                    answer.status, time.perf_counter() - started, answer.body[:200], attempt=n
                )
            except NetworkError as exc:
                delivery = Delivery.failed(
                    Failure.TIMEOUT, str(exc), time.perf_counter() - started, attempt=n
                )
            except AmodpError as exc:
                delivery = Delivery.failed(
                    Failure.NETWORK, str(exc), time.perf_counter() - started, attempt=n
                )
            except Exception as exc:  # noqa: BLE001 - a server answers 500 for it
                delivery = Delivery(500, time.perf_counter() - started, attempt=n)
                app_error = f"{type(exc).__name__}: {exc}"
            delivery = _judge(case, request, delivery, platform)
            if app_error is not None and delivery.verdict is not None:
                verdict = delivery.verdict
                reason = f"{verdict.reason} (the app raised {app_error})"
                delivery = delivery.judged(rules.Verdict(verdict.ok, reason))
            got.append(delivery)
        judged(i, got)


def _case_verdict(case: Case, answers: Sequence[Delivery]) -> rules.Verdict:
    if case.expect == "reject":
        return _rejected(case, answers[0])
    failed = next((a for a in answers if not a.ok), None)
    if failed is not None and failed.verdict is not None:
        if len(answers) > 1:
            which = "the first delivery" if failed is answers[0] else "the retry"
            return rules.Verdict(False, f"{which}: {failed.verdict.reason}")
        return failed.verdict
    first = answers[0]
    if case.variant == "max_input_vars":
        return rules.Verdict(
            True,
            f"{first.status}, but a PHP receiver with the default max_input_vars "
            f"({PHP_MAX_INPUT_VARS}) keeps only the first ~{PHP_MAX_INPUT_VARS} of these "
            f"{case.variables} variables and drops the rest without an error",
            warning=True,
        )
    if len(answers) > 1:
        return rules.Verdict(
            True,
            f"{first.status}, then {answers[1].status} for the retry: delivered "
            "(process a request id once)",
        )
    assert first.verdict is not None  # every answer of a case is judged
    return first.verdict


def _rejected(case: Case, answer: Delivery) -> rules.Verdict:
    """A request a receiver must refuse: a 4xx passes; anything else fails."""
    what = "an expired token" if case.variant == "expired" else "a wrong signature"
    status = answer.status
    if status is not None and 400 <= status < 500:
        return rules.Verdict(True, f"{status}: rejected {what}")
    if status is not None and 200 <= status < 300:
        return rules.Verdict(False, f"{status}: accepted a request with {what}")
    if status is None:
        return rules.Verdict(False, f"{answer.error or 'no answer'}: {what} needs a 4xx")
    return rules.Verdict(False, f"{status}: {what} should be rejected with a 4xx")


# -- reports -----------------------------------------------------------------------

#: the columns of :func:`rows`
COLUMNS = ("kind", "case", "sent", "status", "time", "result", "reason")


def rows(results: Iterable[CaseResult]) -> list[tuple[str, str, str, str, str, str, str]]:
    """One row per case for a table: kind, name, what was sent, status, time,
    ok/warn/FAIL, reason."""
    out = []
    for r in results:
        answer = r.deciding
        status = str(answer.status) if answer.status is not None else "-"
        mark = "FAIL" if not r.ok else "warn" if r.verdict.warning else "ok"
        time_ = rules.duration(answer.latency_s)
        reason = r.verdict.reason
        if not r.ok and r.answered:
            reason += f" (answered: {r.answered})"
        if r.alone:
            reason += " (sent again alone)"
        out.append((r.case.kind, r.case.name, r.case.sent, status, time_, mark, reason))
    return out


def junit_xml(
    results: Sequence[CaseResult],
    *,
    name: str = "amodp check",
    seconds: float | None = None,
    timestamp: datetime | None = None,
) -> str:
    """The results as a JUnit XML report: one ``testsuite``, one ``testcase``
    per case (classname: the kind). A receiver that could not be reached is an
    ``error``; a wrong or slow answer is a ``failure``; a warning is written
    to the case's ``system-out``."""
    errors = [r for r in results if not r.ok and _unreached(r)]
    failures = [r for r in results if not r.ok and not _unreached(r)]
    total = sum(r.seconds for r in results) if seconds is None else seconds
    when = timestamp or datetime.now(UTC)
    suite = ET.Element(
        "testsuite",
        {
            "name": name,
            "tests": str(len(results)),
            "failures": str(len(failures)),
            "errors": str(len(errors)),
            "skipped": "0",
            "time": f"{total:.3f}",
            "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S"),
            "hostname": "localhost",
        },
    )
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": r.case.kind, "name": r.case.name, "time": f"{r.seconds:.3f}"},
        )
        if not r.ok:
            tag = "error" if _unreached(r) else "failure"
            answer = r.deciding
            kind = str(answer.status) if answer.status is not None else "no answer"
            problem = ET.SubElement(
                case, tag, {"message": _xml_text(r.verdict.reason), "type": kind}
            )
            answered = f"\nthe receiver answered: {r.deciding.response}" if r.answered else ""
            problem.text = _xml_text(f"{r.case.about}\n{r.verdict.reason}{answered}")
        elif r.verdict.warning:
            ET.SubElement(case, "system-out").text = _xml_text(f"warning: {r.verdict.reason}")
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, "unicode") + "\n"


def write_junit(path: str | Path, results: Sequence[CaseResult], **options: Any) -> None:
    """Write :func:`junit_xml` to ``path`` (UTF-8), making its folder if it
    has none; an :class:`~amodp.errors.InputError` when it cannot be written."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(junit_xml(results, **options), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}", param="junit") from None


def _unreached(result: CaseResult) -> bool:
    failure = result.deciding.failure
    return failure is not None and failure.unreachable


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (a receiver's stray bytes)."""
    return _XML_INVALID.sub("\ufffd", text)
