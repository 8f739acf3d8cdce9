"""Realistic requests of the other callbacks amoCRM sends.

Chats API hooks, the Salesbot ``widget_request``, the OAuth redirect and the
hook sent when an account disables an integration: :func:`generate` makes
one, byte for byte, from its data file in ``amodp/events/<kind>/`` (fields
are dotted paths into the JSON body, or query parameters in order), with
the made-up account and the rules of the webhooks (:mod:`amodp.values`).

Every callback amoCRM signs comes signed. With ``secret`` the signature is
one a receiver holding that secret accepts; without, it is made with a
throwaway key: well-formed, and accepted by no one. ``flaw`` spoils it on
purpose for negative tests (see :data:`amodp.signing.FLAWS`).

The same ``seed`` gives the same bytes. Only the Salesbot token depends on the
clock (it must be valid when it arrives): pass ``now`` to pin it too.

Standard library and PyJWT only (through :mod:`amodp.signing`).
"""

from __future__ import annotations

import json
import random
import time
import uuid
from typing import Any, cast
from urllib.parse import quote, urlencode, urlsplit

from . import catalog, signing
from .errors import UsageError
from .fake import WINDOW, Account, Fake
from .generator import DEFAULT_URL
from .request import Request
from .values import Values

__all__ = ["DEFAULT_URL", "STYLES", "Callback", "generate", "generate_all", "request_of"]

#: How a JSON body is written. ``compact``: no spaces, ``/`` and non-ASCII as
#: they are (the documented examples print both unescaped). ``pretty``: the
#: documentation's two-space indent. ``php``: PHP's default ``json_encode``
#: (``\\/`` and ``\\uXXXX``), for receivers that must not depend on either.
STYLES = ("compact", "pretty", "php")


def request_of(
    spec: catalog.Event,
    data: dict[str, Any],
    body: bytes,
    url: str,
    request_id: str,
    signed: tuple[tuple[str, str], ...] = (),
) -> Request:
    """The request of a callback: its headers in the order they go on the
    wire (Host and Content-Length are filled in from the URL and the body)."""
    method = spec.method or "POST"
    headers = [("Host", "")]
    agent = spec.details.get("user_agent")
    if agent:
        headers.append(("User-Agent", agent))
    if spec.content_type and method != "GET":
        headers.append(("Content-Type", spec.content_type))
    if method != "GET":
        headers.append(("Content-Length", ""))
    headers += signed
    return Request(spec, spec.kind, method, url, body, request_id, data, tuple(headers))


#: what :func:`generate` returned before every kind was one :class:`Request`
Callback = Request


def _present(values: Values, spec: catalog.Field) -> bool:
    """Whether an optional field is sent this time: in ``share`` of the
    callbacks (0.85 unless the data file says), and never when its rule has
    no value (an emoji on unreact)."""
    if "optional" not in spec.options:
        return True
    if values.rng.random() >= spec.options.get("share", 0.85):
        return False
    return values.get(spec.name) is not None


def _nest(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in pairs:
        *parents, leaf = path.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _dump(data: dict[str, Any], style: str) -> bytes:
    """The body in one of :data:`STYLES` (:func:`generate` has checked which)."""
    if style == "pretty":
        return json.dumps(data, ensure_ascii=False, indent=2).encode()
    if style == "php":
        text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
        return text.replace("/", "\\/").encode()
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _with_scope(url: str, values: Values) -> str:
    """A channel's hook URL may hold ``:scope_id``: amoCRM puts the scope there."""
    if ":scope_id" not in url or "account_id" not in values.made:
        return url
    scope = f"{values.fake.uuid()}_{values.get('account_id')}"
    return url.replace(":scope_id", quote(scope, safe=""))


def _callback_kind(kind: str) -> str:
    if kind not in catalog.CALLBACK_KINDS:
        raise UsageError(
            f"{kind!r} is not a callback kind; choose from: {', '.join(catalog.CALLBACK_KINDS)}"
        )
    return kind


def _spec(name: str, kind: str | None) -> catalog.Event:
    if kind is None:
        kind = name.partition(".")[0]
        if kind not in catalog.CALLBACK_KINDS:
            raise UsageError(
                f"say which callback: {', '.join(catalog.CALLBACK_KINDS)} (e.g. 'chat.message')"
            )
    name = name.removeprefix(f"{_callback_kind(kind)}.")
    return catalog.event(name, kind, kind)


def generate(
    event: str,
    *,
    kind: str | None = None,
    seed: int | None = None,
    secret: str | bytes | None = None,
    flaw: str | None = None,
    url: str = DEFAULT_URL,
    now: float | None = None,
    client_uuid: str | None = None,
    style: str = "compact",
    locale: str = "ru",
    rng: random.Random | None = None,
) -> Callback:
    """Make one callback request: ``event`` is ``"chat.message"``, or
    ``"message"`` with ``kind="chat"``.

    >>> hook = generate("chat.typing", seed=1)
    >>> sorted(hook.json["action"]["typing"])[:2]
    ['conversation', 'expired_at']
    """
    spec = _spec(event, kind)
    if flaw is not None and flaw not in signing.FLAWS:
        raise UsageError(f"unknown flaw {flaw!r}; choose from: {', '.join(signing.FLAWS)}")
    if flaw in ("expired", "not-yet-valid") and spec.kind != "salesbot":
        raise UsageError(f"only a Salesbot token can be {flaw}")
    if flaw is not None and spec.signature_scheme is None:
        raise UsageError(f"{spec.name} is not signed: there is nothing to spoil")
    if style not in STYLES:
        raise UsageError(f"unknown JSON style {style!r}; choose from: {', '.join(STYLES)}")
    seeded = rng is not None or seed is not None
    rng = rng if rng is not None else random.Random(seed)
    options = {f.name: {"gen": f.gen, **f.options} for f in spec.fields}
    claims = spec.details.get("claims", [])
    options.update({f"claims.{c['name']}": c for c in claims})
    fake = Fake(rng, locale)
    values = Values(
        rng,
        fake,
        Account(rng, locale),
        options,
        url=url,
        now=int(time.time() if now is None else now),
        client_uuid=client_uuid or fake.uuid(),
        time=rng.randint(*WINDOW),
    )
    # Drawn either way, so that a secret changes the signature and nothing else.
    throwaway = fake.hex(64)
    key = secret if secret is not None else throwaway
    signer = signing.other_secret(key) if flaw == "wrong-secret" else key
    request_id = fake.uuid() if seeded else str(uuid.uuid4())
    if spec.method == "GET":
        return _query_callback(spec, values, signer, flaw, url, request_id)
    pairs: list[tuple[str, Any]] = []
    for f in spec.fields:
        if f.gen == "salesbot_token":
            pairs.append((f.name, None))  # signed once the rest is known
        elif _present(values, f):
            pairs.append((f.name, values.get(f.name)))
    if any(f.gen == "salesbot_token" for f in spec.fields):
        token_claims = {c["name"]: values.get(f"claims.{c['name']}") for c in claims}
        spoil = cast(signing.Flaw | None, flaw)
        token = signing.salesbot_token(token_claims, key, now=values.now, flaw=spoil)
        pairs = [(n, token if n == "token" else v) for n, v in pairs]
    data = _nest(pairs)
    body = _dump(data, style)
    signed: tuple[tuple[str, str], ...] = ()
    if spec.signature_scheme == "chat":
        signed_body = _dump(_changed(data), style) if flaw == "body-changed" else body
        signed = (("X-Signature", signing.chat_signature(signed_body, signer)),)
    return request_of(spec, data, body, _with_scope(url, values), request_id, signed)


def _changed(data: dict[str, Any]) -> dict[str, Any]:
    """The body as it was before something on the way changed it."""
    copy = json.loads(json.dumps(data))
    copy["time"] = int(copy.get("time", 0)) - 1
    return copy


def _query_callback(
    spec: catalog.Event,
    values: Values,
    signer: str | bytes,
    flaw: str | None,
    url: str,
    request_id: str,
) -> Callback:
    params: list[tuple[str, str]] = []
    for f in spec.fields:
        if f.gen == "disable_signature":
            client, account = values.get("client_uuid"), values.get("account_id")
            if flaw == "body-changed":
                account = int(account) + 1
            params.append((f.name, signing.disable_signature(client, account, signer)))
        elif _present(values, f):
            params.append((f.name, str(values.get(f.name))))
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    full = parts._replace(query=query).geturl()
    return request_of(spec, dict(params), b"", full, request_id)


def generate_all(
    kind: str, *, seed: int | None = None, flaw: str | None = None, **options: Any
) -> list[Callback]:
    """One callback per event of a callback kind, each made by :func:`generate`
    with ``options`` (``secret``, ``url``, ``now``, ``client_uuid``, ``style``,
    ``locale``). ``flaw`` spoils those that can be spoiled so (the signed
    ones; ``expired`` a Salesbot token) and leaves the others as they are; it
    is a UsageError when none can."""
    specs = catalog.events(_callback_kind(kind))
    if flaw is not None and not any(_spoilable(spec, flaw) for spec in specs):
        # The error generate() gives for the first of them.
        generate(specs[0].event, kind=kind, flaw=flaw)
    rng = random.Random(seed)
    return [
        generate(
            e.event,
            kind=kind,
            flaw=flaw if flaw is not None and _spoilable(e, flaw) else None,
            rng=rng,
            **options,
        )
        for e in specs
    ]


def _spoilable(spec: catalog.Event, flaw: str) -> bool:
    if spec.signature_scheme is None:
        return False
    return flaw not in ("expired", "not-yet-valid") or spec.kind == "salesbot"
