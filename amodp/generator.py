"""Realistic webhook requests, built from the event catalog.

:func:`generate` makes one request the way amoCRM sends it: a body of one or
more items of one event plus the account block, urlencoded as amoCRM encodes
it, with amoCRM's headers. Values are realistic and coherent within a body
(one account's pipelines and stages; ``old_status_id`` differs from
``status_id``; the system stages 142 "won" and 143 "lost" occur) and the same
``seed`` gives the same bytes. The values come from the rules in
:mod:`amodp.values`.

Standard library only.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypedDict
from urllib.parse import quote

from . import catalog
from .codec import decode, encode
from .errors import UsageError
from .fake import Account, Fake
from .request import Request
from .values import Values

__all__ = ["Webhook", "generate", "generate_all", "parse_override", "USER_AGENT"]

USER_AGENT = "amoCRM-Webhooks/3.0"
CONTENT_TYPE = "application/x-www-form-urlencoded"
DEFAULT_URL = "http://localhost:8000/"


def _webhook(
    spec: catalog.Event, data: dict[str, Any], fake: Fake, seeded: bool, url: str
) -> Request:
    """The request of a webhook of ``data``, with amoCRM's headers."""
    request_id = fake.uuid() if seeded else str(uuid.uuid4())
    body = encode(data).encode("ascii")
    return Request(
        spec, spec.kind, "POST", url, body, request_id, data, webhook_headers(request_id)
    )


def webhook_headers(request_id: str) -> tuple[tuple[str, str], ...]:
    """amoCRM's headers of a webhook, in the order it sends them (Host and
    Content-Length are filled in from the URL and the body)."""
    return (
        ("Host", ""),
        ("User-Agent", USER_AGENT),
        ("Content-Type", CONTENT_TYPE),
        ("X-Amocrm-Requestid", request_id),
        ("Accept-Encoding", "gzip"),
        ("Content-Length", ""),
    )


#: what :func:`generate` returned before every kind was one :class:`Request`
Webhook = Request


class Signing(TypedDict):
    """The options only the callbacks take, as :func:`amodp.callbacks.generate` takes them."""

    secret: str | bytes | None
    flaw: str | None
    now: float | None
    client_uuid: str | None
    style: str


def parse_override(text: str) -> tuple[str, str]:
    """``FIELD=VALUE`` or ``path[with][brackets]=VALUE``, as a pair for ``overrides``."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise UsageError(f"{text!r} is not FIELD=VALUE or path[key]=VALUE", param="overrides")
    return name, value


def _values(
    fake: Fake, account: Account, fields: Iterable[catalog.Field], fixed: dict[str, str]
) -> dict[str, Any]:
    """The fields of one item (or of the account block), as a form carries
    them: text, or a list/dict for structured fields. A field without a value
    (None, or an empty list such as a lead without tags) puts no key on the
    wire: a receiver never sees it, so neither does Request.json."""
    options = {f.name: {"gen": f.gen, **f.options} for f in fields}
    values = Values(fake.rng, fake, account, options, dict(fixed))
    found = {}
    for f in fields:
        value = values.get(f.name)
        if value is not None and value != [] and value != {}:
            found[f.name] = value if isinstance(value, (list, dict)) else str(value)
    return found


def _build(
    spec: catalog.Event,
    fake: Fake,
    account: Account,
    count: int,
    fields: dict[str, str],
    paths: list[tuple[str, str]],
) -> dict[str, Any]:
    items = [_values(fake, account, spec.fields, fields) for _ in range(count)]
    acct_spec = catalog.account_block(spec.kind)
    acct = _values(fake, account, acct_spec.fields, {})
    body: dict[str, Any] = {spec.wire or spec.entity: {spec.wire_event or spec.event: items}}
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
    spec: catalog.Event, overrides: Iterable[tuple[str, str]]
) -> tuple[dict[str, str], list[tuple[str, str]], list[str]]:
    """The plain fields of ``spec``, the bracket paths, and the plain names
    ``spec`` has no field of (once each, in order)."""
    fields: dict[str, str] = {}
    paths: list[tuple[str, str]] = []
    missing: dict[str, None] = {}
    for name, value in overrides:
        if "[" in name:
            paths.append((name, value))
        elif name in spec.field_names:
            fields[name] = value
        else:
            missing[name] = None
    return fields, paths, list(missing)


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
    account_seed: int | str | None = None,
    secret: str | bytes | None = None,
    flaw: str | None = None,
    now: float | None = None,
    client_uuid: str | None = None,
    style: str = "compact",
) -> Request:
    """Make one request of ``entity.event`` of any kind.

    ``account_seed`` picks the made-up account (id, subdomain, pipelines)
    apart from the rest, so that several webhooks can come from one account.
    A callback kind (``chat``, ``salesbot``, ``oauth``) is made by
    :func:`amodp.callbacks.generate`, which also takes ``secret``, ``flaw``,
    ``now``, ``client_uuid`` and ``style``; ``entity``, ``count``,
    ``overrides`` and ``account_seed`` are for the webhooks.

    >>> item = generate("status", "leads", seed=1).json["leads"]["status"][0]
    >>> item["status_id"] != item["old_status_id"]
    True
    >>> generate("message", kind="chat", seed=1).event.name
    'chat.message'
    """
    signing = Signing(secret=secret, flaw=flaw, now=now, client_uuid=client_uuid, style=style)
    if kind in catalog.CALLBACK_KINDS:
        _webhook_only(
            kind, entity=entity, count=count, overrides=overrides, account_seed=account_seed
        )
        from . import callbacks

        _check_numbers(seed, 1)
        return callbacks.generate(
            event, kind=kind, seed=seed, url=url, rng=rng, locale=locale, **signing
        )
    _callback_only(kind, signing)
    spec = catalog.event(event, entity, kind)
    _check_numbers(seed, count)
    seeded = rng is not None or seed is not None
    rng = rng if rng is not None else random.Random(seed)
    fields, paths, missing = _split_overrides(spec, overrides)
    if missing:
        raise UsageError(
            f"{spec.name} has no field {missing[0]!r}; fields: {', '.join(spec.field_names)} "
            "(a bracket path such as 'account[subdomain]=acme' sets anything)",
            param="overrides",
        )
    account = Account(rng if account_seed is None else random.Random(account_seed), locale)
    fake = Fake(rng, locale)
    data = _build(spec, fake, account, count, fields, paths)
    return _webhook(spec, data, fake, seeded, url)


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
    secret: str | bytes | None = None,
    flaw: str | None = None,
    now: float | None = None,
    client_uuid: str | None = None,
    style: str = "compact",
) -> list[Request]:
    """One request per entity/event combination of a kind (of one entity if given).

    Every webhook comes from the same made-up account (id, subdomain,
    pipelines), as the webhooks of one real account do. A plain
    ``FIELD=VALUE`` override applies to the events that have the field; the
    others are skipped (``on_skip(event, missing_fields)`` is told of each),
    and it is an error only when none has it. A callback kind is made by
    :func:`amodp.callbacks.generate_all`, with the signing options.
    """
    signing = Signing(secret=secret, flaw=flaw, now=now, client_uuid=client_uuid, style=style)
    overrides = list(overrides)
    if kind in catalog.CALLBACK_KINDS:
        _webhook_only(kind, entity=entity, count=count, overrides=overrides)
        from . import callbacks

        _check_numbers(seed, 1)
        return callbacks.generate_all(kind, seed=seed, url=url, locale=locale, **signing)
    _callback_only(kind, signing)
    _check_numbers(seed, count)
    rng = random.Random(seed)
    seeded = seed is not None
    specs = catalog.events_of(kind, entity)
    account = Account(rng, locale)
    fake = Fake(rng, locale)
    hooks = []
    for spec in specs:
        fields, paths, missing = _split_overrides(spec, overrides)
        if missing:
            if on_skip is not None:
                on_skip(spec, missing)
            continue
        data = _build(spec, fake, account, count, fields, paths)
        hooks.append(_webhook(spec, data, fake, seeded, url))
    if not hooks:
        names = sorted({n for n, _ in overrides if "[" not in n})
        raise UsageError(f"no {kind} event has the field(s) {', '.join(names)}", param="overrides")
    return hooks


def _webhook_only(kind: str, **given: Any) -> None:
    """A UsageError (``param``: the first) when a webhook option is given for a callback."""
    for name, value in given.items():
        if value not in (None, 1, [], (), kind):
            raise UsageError(
                f"{name} is for dp and account webhooks, not {kind} callbacks", param=name
            )


def _callback_only(kind: str, signing: Signing) -> None:
    """A UsageError (``param``: the first) when a signing option is given for a webhook."""
    for name, value in signing.items():
        if value not in (None, "compact"):
            raise UsageError(
                f"{name} is for the callbacks (chat, salesbot, oauth), not {kind} webhooks",
                param=name,
            )
