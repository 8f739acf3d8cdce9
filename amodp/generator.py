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
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from . import catalog
from .codec import decode, encode
from .errors import UsageError
from .fake import Fake

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


_DOMAINS = {"ru": "amocrm.ru", "en": "kommo.com"}


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
        self._extra: random.Random | None = None
        self._users: list[int] = []
        self._field_ids: dict[str, int] = {}

    # Account-level extras come from a source derived from the account itself,
    # so that they do not shift the values of DP webhooks of the same seed.
    def extra(self) -> random.Random:
        if self._extra is None:
            self._extra = random.Random(f"{self.id}:{self.subdomain}")
        return self._extra

    def users(self) -> list[int]:
        if not self._users:
            rng = self.extra()
            self._users = [rng.randint(1_000_000, 9_999_999) for _ in range(rng.randint(3, 6))]
        return self._users

    def field_id(self, name: str) -> int:
        """One id per custom field (or enum) name and account, the same in every item."""
        if name not in self._field_ids:
            self._field_ids[name] = self.extra().randint(100_000, 999_999)
        return self._field_ids[name]


class _Item:
    """The values of one item, made on demand so that rules can depend on
    each other and on the user's fixed values."""

    def __init__(
        self,
        rng: random.Random,
        account: _Account,
        fixed: dict[str, str],
        fake: Fake | None = None,
        options: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.rng = rng
        self.account = account
        self.values: dict[str, Any] = dict(fixed)
        self.fake = fake or Fake(rng)
        self.options = options or {}

    def get(self, name: str, gen: str) -> Any:
        """A field's value: a string, or a list/dict for structured fields."""
        value = self.values.get(name)
        if value is None:
            value = _RULES[gen](self) if gen != "const" else self.options[name]["value"]
            if not isinstance(value, (list, dict)):
                value = str(value)
            self.values[name] = value
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


# -- account-level values ----------------------------------------------------------

#: Generated times fall in a fixed window, so that a seed gives the same bytes
#: on any day: 2025-06-01 .. 2026-06-01 (UTC).
_WINDOW = (1748736000, 1780272000)


def _created_at(item: _Item) -> int:
    return item.rng.randint(*_WINDOW)


def _updated_at(item: _Item) -> int:
    created = _int(item.get("created_at", "created_at"))
    return created + item.rng.randint(60, 14 * 86400)


def _future_date(item: _Item) -> int:
    return _int(item.get("updated_at", "updated_at")) + item.rng.randint(1, 30) * 86400


def _person(item: _Item) -> tuple[str, str]:
    person = item.values.get("_person")
    if person is None:
        person = item.values["_person"] = list(item.fake.person())
    return person[0], person[1]


def _tags(item: _Item) -> list[dict[str, str]]:
    names = item.rng.sample(item.fake.table["tag"], item.rng.randint(0, 2))
    return [{"id": str(item.account.field_id("tag:" + n)), "name": n} for n in names]


def _select(item: _Item, field: str, table: str) -> dict[str, Any]:
    value = item.fake.pick(table)
    return {
        "id": str(item.account.field_id(field)),
        "name": field,
        "values": [{"value": value, "enum": str(item.account.field_id(f"{field}={value}"))}],
    }


def _lead_custom_fields(item: _Item) -> list[dict[str, Any]]:
    names = item.fake.table["lead_field"]
    fields = [
        _select(item, names[0], "source"),
        {
            "id": str(item.account.field_id(names[1])),
            "name": names[1],
            "values": [{"value": item.fake.pick("city")}],
        },
    ]
    if item.rng.random() < 0.6:
        # A date field comes as a bare values[0]=<unix time>: no [value] key.
        when = _int(item.get("created_at", "created_at")) + item.rng.randint(1, 20) * 86400
        fields.append(
            {"id": str(item.account.field_id(names[3])), "name": names[3], "values": [str(when)]}
        )
    return fields


def _coded(item: _Item, name: str, code: str, value: str, enum: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": value}
    if enum is not None:
        entry["enum"] = str(item.account.field_id(f"{code}:{enum}"))
    return {
        "id": str(item.account.field_id(code)),
        "name": name,
        "code": code,
        "values": [entry],
    }


def _contact_custom_fields(item: _Item) -> list[dict[str, Any]]:
    first, last = _person(item)
    table = item.fake.table
    return [
        _coded(item, table["phone_field"][0], "PHONE", item.fake.phone(), "WORK"),
        _coded(item, table["email_field"][0], "EMAIL", item.fake.email(first, last), "WORK"),
        _coded(item, table["position_field"][0], "POSITION", item.fake.pick("position"), None),
    ]


def _company_custom_fields(item: _Item) -> list[dict[str, Any]]:
    first, last = _person(item)
    table = item.fake.table
    return [
        _coded(item, table["phone_field"][0], "PHONE", item.fake.phone(), "WORK"),
        _coded(item, table["email_field"][0], "EMAIL", item.fake.email(first, last), "WORK"),
    ]


def _note(item: _Item) -> dict[str, Any]:
    created = _int(item.get("created_at", "created_at"))
    element_type = item.options.get("note", {}).get("element_type", 2)
    element = (
        item.get("lead_id", "lead_id")
        if element_type == 2
        else item.rng.randint(10_000_000, 99_999_999)
    )
    user = item.rng.choice(item.account.users())
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(created))
    return {
        "element_type": str(element_type),
        "element_id": str(element),
        "note_type": "4",
        "text": item.fake.pick("note"),
        "account_id": str(item.account.id),
        "date_create": stamp,
        "timestamp_x": stamp,
        "created_by": str(user),
        "modified_by": str(user),
        "main_user_id": str(user),
        "group_id": "0",
        "id": str(item.rng.randint(100_000_000, 999_999_999)),
        "created_at": str(created),
        "updated_at": str(created),
    }


def _author(item: _Item) -> dict[str, str]:
    first, last = _person(item)
    return {
        "id": str(uuid.UUID(int=item.rng.getrandbits(128), version=4)),
        "type": "external",
        "name": f"{first} {last}",
        "avatar_url": "",
    }


def _old_user_id(item: _Item) -> int:
    current = _int(item.get("responsible_user_id", "user_id"))
    choices = [u for u in item.account.users() if u != current] or [current + 1]
    return item.rng.choice(choices)


_RULES: dict[str, Callable[[_Item], Any]] = {
    "contact_id": lambda item: item.rng.randint(10_000_000, 99_999_999),
    "company_id": lambda item: item.rng.randint(10_000_000, 99_999_999),
    "task_id": lambda item: item.rng.randint(10_000_000, 99_999_999),
    "talk_id": lambda item: item.rng.randint(1_000, 999_999),
    "catalog_id": lambda item: item.account.field_id("catalog") % 20_000,
    "catalog_element_id": lambda item: item.rng.randint(100_000, 9_999_999),
    "uuid": lambda item: uuid.UUID(int=item.rng.getrandbits(128), version=4),
    "unsorted_uid": lambda item: f"{item.rng.getrandbits(160):040x}",
    "unsorted_source": lambda item: item.fake.pick("source"),
    "unsorted_category": lambda item: item.rng.choice(("forms", "sip", "chats", "mail")),
    "lead_id_same": lambda item: item.get("element_id", "lead_id"),
    "user_id": lambda item: item.rng.choice(item.account.users()),
    "creator_id": lambda item: item.rng.choice(item.account.users()),
    "modifier_id": lambda item: item.rng.choice(item.account.users()),
    "old_user_id": _old_user_id,
    "deal_name": lambda item: item.fake.pick("deal"),
    "person_name": lambda item: " ".join(_person(item)),
    "company_name": lambda item: item.fake.pick("company"),
    "product_name": lambda item: item.fake.pick("product"),
    "task_text": lambda item: item.fake.pick("task"),
    "task_type": lambda item: item.rng.choice((1, 2, 3)),
    "message_text": lambda item: item.fake.pick("message"),
    "price": lambda item: item.fake.price(),
    "created_at": _created_at,
    "updated_at": _updated_at,
    "date_create": lambda item: item.get("created_at", "created_at"),
    "last_modified": lambda item: item.get("updated_at", "updated_at"),
    "future_date": _future_date,
    "periodicity": lambda item: item.rng.choice((7, 14, 30, 90)),
    "origin": lambda item: item.rng.choice(("telegram", "whatsapp", "instagram", "avito", "vk")),
    "bool01": lambda item: item.rng.choice((0, 1)),
    "rate": lambda item: item.rng.choice((0, 0, 0, 4, 5)),
    "tags": _tags,
    "lead_custom_fields": _lead_custom_fields,
    "contact_custom_fields": _contact_custom_fields,
    "company_custom_fields": _company_custom_fields,
    "customer_custom_fields": lambda item: [
        _select(item, item.fake.table["lead_field"][0], "source")
    ],
    "catalog_custom_fields": lambda item: [
        _coded(item, "SKU", "SKU", f"{item.rng.randint(10_000, 99_999)}", None),
        _coded(item, "Price", "PRICE", str(item.fake.price()), None),
    ],
    "note": _note,
    "author": _author,
    # Russian accounts live on amocrm.ru, international ones on kommo.com.
    "account_links": lambda item: {
        "self": f"https://{item.account.subdomain}.{_DOMAINS.get(item.fake.locale, 'amocrm.ru')}"
    },
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
    """``FIELD=VALUE`` or ``path[with][brackets]=VALUE``, as a pair for ``overrides``."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise UsageError(f"{text!r} is not FIELD=VALUE or path[key]=VALUE", param="overrides")
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
    locale: str = "ru",
) -> dict[str, Any]:
    fake = Fake(rng, locale)
    options = {f.name: f.options for f in spec.fields if f.options}
    items = []
    for _ in range(count):
        item = _Item(rng, account, fields, fake, options)
        values = {f.name: item.get(f.name, f.gen) for f in spec.fields}
        # An empty list (a lead without tags) puts no key on the wire: a
        # receiver never sees it, so neither does Webhook.json.
        items.append({k: v for k, v in values.items() if v != [] and v != {}})
    acct_spec = catalog.account_block(spec.kind)
    acct_item = _Item(rng, account, {}, fake)
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
            raise UsageError(
                "an override path must not turn the body into a list", param="overrides"
            )
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
                "(a bracket path such as 'account[subdomain]=acme' sets anything)",
                param="overrides",
            )
        else:
            return None
    return fields, paths


def _check_numbers(seed: int | None, count: int) -> None:
    # random.Random(-7) is random.Random(7): a negative seed would repeat another's bytes.
    if seed is not None and seed < 0:
        raise UsageError(f"seed must be 0 or more, got {seed}", param="seed")
    if count < 1:
        raise UsageError(f"count must be at least 1, got {count}", param="count")


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
    locale: str = "ru",
) -> Webhook:
    """Make one webhook request of ``entity.event``.

    >>> item = generate("status", "leads", seed=1).json["leads"]["status"][0]
    >>> item["status_id"] != item["old_status_id"]
    True
    """
    spec = catalog.event(event, entity, kind)
    _check_numbers(seed, count)
    seeded = rng is not None or seed is not None
    if rng is None:
        rng = random.Random(seed)
    split = _split_overrides(spec, list(overrides), strict=True)
    assert split is not None
    fields, paths = split
    account = _Account(rng)
    data = _build(spec, rng, account, count, fields, paths, locale)
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
    locale: str = "ru",
    on_skip: Callable[[catalog.Event, list[str]], None] | None = None,
) -> list[Webhook]:
    """One webhook per entity/event combination of a kind (of one entity if given).

    Every webhook comes from the same made-up account (id, subdomain,
    pipelines), as the webhooks of one real account do. A plain
    ``FIELD=VALUE`` override applies to the events that have the field; the
    others are skipped (``on_skip(event, missing_fields)`` is told of each),
    and it is an error only when none has it.
    """
    _check_numbers(seed, count)
    overrides = list(overrides)
    rng = random.Random(seed)
    seeded = seed is not None
    specs = list(catalog.events(kind))
    if entity is not None:
        wanted = catalog.canonical_entity(entity)
        specs = [s for s in specs if s.entity == wanted]
        if not specs:
            catalog.event("?", wanted, kind)  # raises with the valid entities
    account = _Account(rng)
    hooks = []
    for spec in specs:
        split = _split_overrides(spec, overrides, strict=False)
        if split is None:
            if on_skip is not None:
                on_skip(spec, _missing_fields(spec, overrides))
            continue
        fields, paths = split
        data = _build(spec, rng, account, count, fields, paths, locale)
        request_id = _request_id(rng if seeded else None)
        hooks.append(Webhook(spec, data, encode(data).encode("ascii"), request_id, url))
    if not hooks:
        names = sorted({n for n, _ in overrides if "[" not in n})
        raise UsageError(f"no {kind} event has the field(s) {', '.join(names)}", param="overrides")
    return hooks


def _missing_fields(spec: catalog.Event, overrides: Iterable[tuple[str, str]]) -> list[str]:
    names = (n for n, _ in overrides if "[" not in n and n not in spec.field_names)
    return list(dict.fromkeys(names))
