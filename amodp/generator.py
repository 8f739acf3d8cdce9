"""Realistic webhook requests, built from the event catalog.

:func:`generate` makes one request the way amoCRM sends it: a body of one or
more items of one event plus the account block, urlencoded as amoCRM encodes
it, with amoCRM's headers. Values are realistic and coherent within a body
(one account's pipelines and stages; ``old_status_id`` differs from
``status_id``; the system stages 142 "won" and 143 "lost" occur) and the same
``seed`` gives the same bytes.

Standard library only.
"""

from __future__ import annotations

import random
import shlex
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from . import catalog
from .codec import decode, encode
from .errors import UsageError

__all__ = ["Webhook", "generate", "generate_all", "parse_override", "USER_AGENT"]

USER_AGENT = "amoCRM-Webhooks/3.0"
CONTENT_TYPE = "application/x-www-form-urlencoded"
DEFAULT_URL = "http://localhost:8000/"

WON, LOST = 142, 143

_SUBDOMAIN_WORDS = (
    "anyor", "stroymarket", "autoservice", "mebelgrad", "teplodom", "okna", "dental",
    "fitnesspro", "avtodom", "studio", "kvartira", "realty", "logistic", "tourist",
    "beauty", "printlab", "agrotech", "eduonline", "santehnika", "kovka", "cleanpro",
    "electro", "techsnab", "zoomag", "flowers", "optima", "vektor", "alfa", "delta",
)  # fmt: skip


def _subdomain(rng: random.Random) -> str:
    word = rng.choice(_SUBDOMAIN_WORDS)
    roll = rng.random()
    if roll < 0.35:
        return f"{word}{rng.randint(1, 99)}"
    if roll < 0.55:
        return f"{word}{rng.choice(('crm', 'shop', 'msk', 'spb', 'group', 'pro'))}"
    return word


class _Account:
    """One made-up amoCRM account: its id, subdomain, pipelines and periods."""

    def __init__(self, rng: random.Random) -> None:
        self.id = rng.randint(10_000_000, 99_999_999)
        self.subdomain = _subdomain(rng)
        self.pipelines: dict[int, list[int]] = {}
        for _ in range(rng.randint(1, 3)):
            pipeline = rng.randint(1_000_000, 9_999_999)
            first = rng.randint(10_000_000, 99_999_000)
            # Stages of one pipeline get nearby ids, as amoCRM creates them.
            stages = sorted({first + rng.randint(0, 12_000) for _ in range(rng.randint(4, 7))})
            self.pipelines[pipeline] = stages
        base = rng.randint(1_000_000, 90_000_000)
        self.periods = [base + i * rng.randint(1, 40) for i in range(rng.randint(3, 5))]


class _Item:
    """The values of one item, made on demand so that rules can depend on
    each other and on the user's fixed values."""

    def __init__(self, rng: random.Random, account: _Account, fixed: dict[str, str]) -> None:
        self.rng = rng
        self.account = account
        self.values: dict[str, str] = dict(fixed)

    def get(self, name: str, gen: str) -> str:
        value = self.values.get(name)
        if value is None:
            value = self.values[name] = str(_RULES[gen](self))
        return value

    # Shared scenario values, keyed by rule name so fields can share them.
    def pipeline(self) -> int:
        return _int(self.get("pipeline_id", "pipeline_id"))

    def stages(self, pipeline: int) -> list[int]:
        stages = self.account.pipelines.get(pipeline)
        if not stages:
            first = self.rng.randint(10_000_000, 99_999_000)
            stages = self.account.pipelines[pipeline] = [first + i * 3 for i in range(5)]
        return stages


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def _status_id(item: _Item) -> int:
    roll = item.rng.random()
    if roll < 0.15:
        return WON
    if roll < 0.25:
        return LOST
    return item.rng.choice(item.stages(item.pipeline()))


def _old_pipeline_id(item: _Item) -> int:
    current = item.pipeline()
    others = [p for p in item.account.pipelines if p != current]
    if others and item.rng.random() < 0.2:
        return item.rng.choice(others)
    return current


def _old_status_id(item: _Item) -> int:
    old_pipeline = _int(item.get("old_pipeline_id", "old_pipeline_id"))
    new = _int(item.get("status_id", "status_id"))
    choices = [s for s in item.stages(old_pipeline) if s != new]
    return item.rng.choice(choices)


def _period_id(item: _Item) -> int:
    return item.rng.choice(item.account.periods)


def _old_period_id(item: _Item) -> int:
    new = _int(item.get("period_id", "period_id"))
    choices = [p for p in item.account.periods if p != new] or [new + 1]
    return item.rng.choice(choices)


_RULES: dict[str, Callable[[_Item], Any]] = {
    "lead_id": lambda item: item.rng.randint(10_000_000, 99_999_999),
    "customer_id": lambda item: item.rng.randint(1_000_000, 9_999_999),
    "pipeline_id": lambda item: item.rng.choice(list(item.account.pipelines)),
    "status_id": _status_id,
    "old_pipeline_id": _old_pipeline_id,
    "old_status_id": _old_status_id,
    "period_id": _period_id,
    "old_period_id": _old_period_id,
    "same_period_id": lambda item: item.get("period_id", "period_id"),
    "account_id": lambda item: item.account.id,
    "subdomain": lambda item: item.account.subdomain,
}


@dataclass
class Webhook:
    """One generated request, byte for byte as amoCRM sends it."""

    event: catalog.Event
    data: dict[str, Any]
    body: bytes
    request_id: str
    url: str = DEFAULT_URL
    extra_headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def json(self) -> dict[str, Any]:
        """What a PHP receiver's ``$_POST`` holds."""
        return self.data

    @property
    def headers(self) -> list[tuple[str, str]]:
        """amoCRM's headers, in the order ``amodp send`` puts them on the wire."""
        parts = urlsplit(self.url)
        host = parts.netloc.rpartition("@")[2] or "localhost"
        base = [
            ("Host", host),
            ("User-Agent", USER_AGENT),
            ("Content-Type", CONTENT_TYPE),
            ("X-Amocrm-Requestid", self.request_id),
            ("Accept-Encoding", "gzip"),
            ("Content-Length", str(len(self.body))),
        ]
        return _merge_headers(base, self.extra_headers)

    @property
    def target(self) -> str:
        parts = urlsplit(self.url)
        path = parts.path or "/"
        return f"{path}?{parts.query}" if parts.query else path

    def http(self) -> bytes:
        """The whole request as it goes over the wire."""
        lines = [f"POST {self.target} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        head = "\r\n".join(lines) + "\r\n\r\n"
        return head.encode("latin-1") + self.body

    def curl(self) -> str:
        """A curl command that sends this request (safely shell-quoted)."""
        words = ["curl", "-sS", "-X", "POST", shlex.quote(self.url)]
        for name, value in self.headers:
            if name in ("Host", "Content-Length", "Accept-Encoding"):
                continue  # curl sets these itself
            words += ["-H", shlex.quote(f"{name}: {value}")]
        words += ["--data-binary", shlex.quote(self.body.decode("latin-1"))]
        return " \\\n  ".join([" ".join(words[:5])] + _pairs_of(words[5:]))


def _pairs_of(words: list[str]) -> list[str]:
    return [f"{words[i]} {words[i + 1]}" for i in range(0, len(words), 2)]


def _merge_headers(
    base: list[tuple[str, str]], extra: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """``extra`` replaces a header of the same name (in place) or is added at the end."""
    out = list(base)
    for name, value in extra:
        for i, (old, _) in enumerate(out):
            if old.lower() == name.lower():
                out[i] = (old if old == name else name, value)
                break
        else:
            out.append((name, value))
    return out


def parse_override(text: str) -> tuple[str, str]:
    """``FIELD=VALUE`` or ``path[with][brackets]=VALUE`` from ``--set``."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise UsageError(f"--set wants FIELD=VALUE, got {text!r}")
    return name, value


def _request_id(rng: random.Random | None) -> str:
    if rng is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _build(
    spec: catalog.Event,
    rng: random.Random,
    account: _Account,
    count: int,
    fields: dict[str, str],
    paths: list[tuple[str, str]],
) -> dict[str, Any]:
    items = []
    for _ in range(count):
        item = _Item(rng, account, fields)
        items.append({f.name: item.get(f.name, f.gen) for f in spec.fields})
    acct_spec = catalog.account_block(spec.kind)
    acct_item = _Item(rng, account, {})
    acct = {f.name: acct_item.get(f.name, f.gen) for f in acct_spec.fields}
    body: dict[str, Any] = {spec.entity: {spec.event: items}}
    if acct_spec.position == "first":
        body = {"account": acct, **body}
    else:
        body["account"] = acct
    if paths:
        # A later duplicate wins in PHP: appending the overrides to the body
        # and decoding gives exactly what a receiver would see.
        extra = "&".join(f"{quote(p, safe='')}={quote(v, safe='')}" for p, v in paths)
        merged = decode(encode(body) + "&" + extra)
        if not isinstance(merged, dict):
            raise UsageError("--set paths must not turn the body into a list")
        body = merged
    return body


def _split_overrides(
    spec: catalog.Event, overrides: Iterable[tuple[str, str]], strict: bool
) -> tuple[dict[str, str], list[tuple[str, str]]] | None:
    fields: dict[str, str] = {}
    paths: list[tuple[str, str]] = []
    for name, value in overrides:
        if "[" in name:
            paths.append((name, value))
        elif name in spec.field_names:
            fields[name] = value
        elif strict:
            raise UsageError(
                f"{spec.name} has no field {name!r}; fields: {', '.join(spec.field_names)} "
                "(use a bracket path such as 'account[subdomain]=acme' to set anything)"
            )
        else:
            return None
    return fields, paths


def generate(
    event: str = "status",
    entity: str | None = None,
    *,
    kind: str = "dp",
    seed: int | None = None,
    count: int = 1,
    overrides: Iterable[tuple[str, str]] = (),
    url: str = DEFAULT_URL,
    rng: random.Random | None = None,
) -> Webhook:
    """Make one webhook request of ``entity.event``.

    >>> item = generate("status", "leads", seed=1).json["leads"]["status"][0]
    >>> item["status_id"] != item["old_status_id"]
    True
    """
    spec = catalog.event(event, entity, kind)
    if count < 1:
        raise UsageError("--count must be at least 1")
    seeded = rng is not None or seed is not None
    if rng is None:
        rng = random.Random(seed)
    split = _split_overrides(spec, list(overrides), strict=True)
    assert split is not None
    fields, paths = split
    account = _Account(rng)
    data = _build(spec, rng, account, count, fields, paths)
    return Webhook(
        spec,
        data,
        encode(data).encode("ascii"),
        _request_id(rng if seeded else None),
        url,
    )


def generate_all(
    *,
    kind: str = "dp",
    seed: int | None = None,
    count: int = 1,
    overrides: Iterable[tuple[str, str]] = (),
    url: str = DEFAULT_URL,
    entity: str | None = None,
) -> list[Webhook]:
    """One webhook per entity/event combination of a kind (of one entity if given).

    A plain ``FIELD=VALUE`` override applies to the events that have the field;
    it is an error only when none has it.
    """
    overrides = list(overrides)
    rng = random.Random(seed)
    seeded = seed is not None
    specs = list(catalog.events(kind))
    if entity is not None:
        wanted = catalog.canonical_entity(entity)
        specs = [s for s in specs if s.entity == wanted]
        if not specs:
            catalog.event("?", wanted, kind)  # raises with the valid entities
    hooks = []
    for spec in specs:
        split = _split_overrides(spec, overrides, strict=False)
        if split is None:
            continue
        fields, paths = split
        data = _build(spec, rng, _Account(rng), count, fields, paths)
        request_id = _request_id(rng if seeded else None)
        hooks.append(Webhook(spec, data, encode(data).encode("ascii"), request_id, url))
    if not hooks:
        names = sorted({n for n, _ in overrides if "[" not in n})
        raise UsageError(f"no {kind} event has the field(s) {', '.join(names)}")
    return hooks
