"""Realistic requests of the other callbacks amoCRM sends.

Chats API hooks, the Salesbot ``widget_request``, the OAuth redirect and the
hook sent when an account disables an integration: :func:`generate` makes
one, byte for byte, from its data file in ``amodp/events/<kind>/`` (fields
are dotted paths into the JSON body, or query parameters in order).

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
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import quote, urlencode, urlsplit

from . import catalog, signing
from .errors import UsageError
from .fake import Fake
from .request import Request

__all__ = ["DEFAULT_URL", "STYLES", "Callback", "generate", "generate_all"]

DEFAULT_URL = "http://localhost:8000/"

#: How a JSON body is written. ``compact``: no spaces, ``/`` and non-ASCII as
#: they are (the documented examples print both unescaped). ``pretty``: the
#: documentation's two-space indent. ``php``: PHP's default ``json_encode``
#: (``\\/`` and ``\\uXXXX``), for receivers that must not depend on either.
STYLES = ("compact", "pretty", "php")

_DOMAINS = {"ru": "amocrm.ru", "en": "kommo.com"}

#: Generated times fall in a fixed window, so that a seed gives the same bytes
#: on any day: 2025-06-01 .. 2026-06-01 (UTC).
_WINDOW = (1748736000, 1780272000)

_SUBDOMAINS = (
    "anyor", "stroymarket", "autoservice", "mebelgrad", "teplodom", "okna", "dental",
    "fitnesspro", "realty", "logistic", "beauty", "printlab", "agrotech", "vektor",
)  # fmt: skip

_EMOJI = ("👍", "❤️", "😂", "😮", "🙏", "😍", "🔥")

_MEDIA = {
    "picture": ("photo_{n}.jpg", True),
    "video": ("video_{n}.mp4", True),
    "file": ("invoice_{n}.pdf", False),
    "voice": ("voice_{n}.ogg", False),
    "audio": ("track_{n}.mp3", False),
    "sticker": ("sticker_{n}.webp", False),
}


def _callback(
    spec: catalog.Event,
    data: dict[str, Any],
    body: bytes,
    url: str,
    request_id: str,
    signed: list[tuple[str, str]] = [],  # noqa: B006 - never changed
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


# -- the made-up world ------------------------------------------------------------------


class _World:
    """One account, its integration and the values of one callback, made on
    demand from one random source so that fields can depend on each other."""

    def __init__(
        self,
        rng: random.Random,
        fake: Fake,
        url: str,
        now: float | None,
        client_uuid: str | None,
        options: dict[str, dict[str, Any]],
    ) -> None:
        self.rng = rng
        self.fake = fake
        self.url = url
        self.now = int(time.time() if now is None else now)
        self.options = options
        self.account_id = rng.randint(10_000_000, 99_999_999)
        word = rng.choice(_SUBDOMAINS)
        self.subdomain = word if rng.random() < 0.5 else f"{word}{rng.randint(1, 99)}"
        self.domain = _DOMAINS.get(fake.locale, "amocrm.ru")
        self.client_uuid = client_uuid or self.uuid()
        self.time = rng.randint(*_WINDOW)
        self.values: dict[str, Any] = {}
        self._person: tuple[str, str] | None = None

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def hex(self, size: int) -> str:
        return f"{self.rng.getrandbits(size * 4):0{size}x}"

    def person(self) -> tuple[str, str]:
        if self._person is None:
            self._person = self.fake.person()
        return self._person

    def value(self, name: str, gen: str) -> Any:
        if name not in self.values:
            self.values[name] = _value(self, name, gen)
        return self.values[name]

    def get(self, name: str) -> Any:
        """An earlier field's value (made now if it is to come)."""
        if name not in self.values:
            spec = self.options.get(name)
            if spec is None:
                raise KeyError(name)
            return self.value(name, spec["gen"])
        return self.values[name]


def _value(world: _World, name: str, gen: str) -> Any:
    if gen == "const":
        return world.options[name]["value"]
    if gen.startswith("same:"):
        return world.get(gen.removeprefix("same:"))
    return _RULES[gen](world, name)


def _message_type(world: _World, name: str) -> str:
    return "text" if world.rng.random() < 0.7 else world.rng.choice(list(_MEDIA))


def _sibling(name: str, leaf: str) -> str:
    return name.rpartition(".")[0] + "." + leaf


def _media(world: _World, name: str) -> str:
    kind = world.get(_sibling(name, "type"))
    if kind not in _MEDIA:
        return ""
    return f"https://amojo.{world.domain}/attachments/{world.uuid()}/{_file_name_of(world, name)}"


def _file_name_of(world: _World, name: str) -> str:
    return str(world.get(_sibling(name, "file_name")) or "file")


def _file_name(world: _World, name: str) -> str:
    kind = world.get(_sibling(name, "type"))
    if kind not in _MEDIA:
        return ""
    return _MEDIA[kind][0].format(n=world.rng.randint(1000, 9999))


def _thumbnail(world: _World, name: str) -> str:
    kind = world.get(_sibling(name, "type"))
    if kind not in _MEDIA or not _MEDIA[kind][1]:
        return ""
    media = str(world.get(_sibling(name, "media")))
    stem, dot, _ = media.rpartition(".")
    return f"{stem}_320x200.jpg" if dot else media


def _file_size(world: _World, name: str) -> int:
    kind = world.get(_sibling(name, "type"))
    return world.rng.randint(8_000, 4_000_000) if kind in _MEDIA else 0


def _chat_text(world: _World, name: str) -> str:
    if world.get(_sibling(name, "type")) not in ("text", None) and world.rng.random() < 0.6:
        return ""
    return world.fake.pick("message")


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def _message_time(world: _World, name: str) -> int:
    return world.time - world.rng.randint(0, 1)


def _message_msec(world: _World, name: str) -> int:
    seconds = world.get(_sibling(name, "timestamp"))
    return int(seconds) * 1000 + world.rng.randint(0, 999)


def _earlier_time(world: _World, name: str) -> int:
    return world.time - world.rng.randint(600, 7 * 86400)


def _reaction_type(world: _World, name: str) -> str:
    return "react" if world.rng.random() < 0.8 else "unreact"


def _emoji(world: _World, name: str) -> str | None:
    if world.get(_sibling(name, "type")) == "unreact":
        return None
    return world.rng.choice(_EMOJI)


def _account_url(world: _World) -> str:
    return f"https://{world.subdomain}.{world.domain}"


def _return_url(world: _World, name: str) -> str:
    bot = world.rng.randint(1_000, 99_999)
    step = world.rng.randint(100_000, 9_999_999)
    return f"{_account_url(world)}/api/v4/salesbot/{bot}/continue/{step}"


def _salesbot_data(world: _World, name: str) -> dict[str, Any]:
    first, last = world.person()
    entity = "lead" if world.get("claims.entity_type") == 2 else "customer"
    return {
        "contact": f"{first} {last}",
        entity: str(world.get("claims.entity_id")),
        "message": world.fake.pick("message"),
        "from": "widget",
    }


def _receiver_base(world: _World, name: str) -> str:
    parts = urlsplit(world.url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


_RULES: dict[str, Callable[[_World, str], Any]] = {
    "uuid": lambda w, n: w.uuid(),
    "amojo_uuid": lambda w, n: w.uuid(),
    "amojo_account_id": lambda w, n: w.uuid(),
    "amojo_user_id": lambda w, n: w.values.setdefault("_manager", w.uuid()),
    "amojo_conversation_id": lambda w, n: w.values.setdefault("_conversation", w.uuid()),
    "conversation_client_id": lambda w, n: w.values.setdefault(
        "_conversation_client", f"my_int-{w.hex(12)}"
    ),
    "client_user_id": lambda w, n: f"my_int-{w.uuid()}",
    "client_message_id": lambda w, n: w.uuid(),
    "message_client_id": lambda w, n: f"my_int-{w.hex(13)}",
    "receiver_phone": lambda w, n: _digits(w.fake.phone()),
    "receiver_email": lambda w, n: w.fake.email(*w.person()),
    "person_name": lambda w, n: " ".join(w.person()),
    "manager_name": lambda w, n: " ".join(w.fake.person()),
    "source_external_id": lambda w, n: _digits(w.fake.phone()),
    "hook_time": lambda w, n: w.time,
    "message_time": _message_time,
    "message_msec": _message_msec,
    "earlier_time": _earlier_time,
    "earlier_msec": lambda w, n: int(w.get(_sibling(n, "timestamp"))) * 1000,
    "typing_expires": lambda w, n: w.time + 5,
    "post_id": lambda w, n: str(w.rng.randint(1_000_000, 999_999_999)),
    "message_type": _message_type,
    "chat_text": _chat_text,
    "comment_text": lambda w, n: w.fake.pick("message"),
    "media_url": _media,
    "thumbnail_url": _thumbnail,
    "file_name": _file_name,
    "file_size": _file_size,
    "reaction_type": _reaction_type,
    "emoji": _emoji,
    "salesbot_data": _salesbot_data,
    "return_url": _return_url,
    "account_url": lambda w, n: _account_url(w),
    "receiver_base": _receiver_base,
    "now": lambda w, n: w.now,
    "token_expires": lambda w, n: w.now + 1800,
    "account_id": lambda w, n: w.account_id,
    "subdomain": lambda w, n: w.subdomain,
    "client_uuid": lambda w, n: w.client_uuid,
    "bot_entity_type": lambda w, n: 2 if w.rng.random() < 0.8 else 12,
    "bot_entity_id": lambda w, n: w.rng.randint(10_000_000, 99_999_999),
    "authorization_code": lambda w, n: "def50200" + w.hex(1016),
    "oauth_state": lambda w, n: w.hex(20),
    "account_host": lambda w, n: f"{w.subdomain}.{w.domain}",
    "platform": lambda w, n: "1" if w.domain == "amocrm.ru" else "2",
}


# -- building ---------------------------------------------------------------------------


def _present(world: _World, spec: catalog.Field) -> bool:
    """Whether an optional field is sent this time: in ``share`` of the
    callbacks (0.85 unless the data file says), and never when its rule has
    no value (an emoji on unreact)."""
    if "optional" not in spec.options:
        return True
    if world.rng.random() >= spec.options.get("share", 0.85):
        return False
    return world.value(spec.name, spec.gen) is not None


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
    if style == "compact":
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    if style == "pretty":
        return json.dumps(data, ensure_ascii=False, indent=2).encode()
    if style == "php":
        text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
        return text.replace("/", "\\/").encode()
    raise UsageError(f"unknown JSON style {style!r}; choose from: {', '.join(STYLES)}")


def _throwaway(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _with_scope(url: str, world: _World) -> str:
    """A channel's hook URL may hold ``:scope_id``: amoCRM puts the scope there."""
    if ":scope_id" not in url or "account_id" not in world.values:
        return url
    scope = f"{world.uuid()}_{world.get('account_id')}"
    return url.replace(":scope_id", quote(scope, safe=""))


def _spec(name: str, kind: str | None) -> catalog.Event:
    if kind is None:
        prefix = name.partition(".")[0]
        if prefix not in catalog.CALLBACK_KINDS:
            raise UsageError(
                f"say which callback: {', '.join(catalog.CALLBACK_KINDS)} (e.g. 'chat.message')"
            )
        kind = prefix
    if kind not in catalog.CALLBACK_KINDS:
        raise UsageError(
            f"{kind!r} is not a callback kind; choose from: {', '.join(catalog.CALLBACK_KINDS)}"
        )
    if name.startswith(f"{kind}."):
        name = name[len(kind) + 1 :]
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
    if flaw is not None and spec.details.get("signature") is None:
        raise UsageError(f"{spec.name} is not signed: there is nothing to spoil")
    if style not in STYLES:
        raise UsageError(f"unknown JSON style {style!r}; choose from: {', '.join(STYLES)}")
    seeded = rng is not None or seed is not None
    rng = rng if rng is not None else random.Random(seed)
    options = {f.name: {"gen": f.gen, **f.options} for f in spec.fields}
    claims = spec.details.get("claims", [])
    options.update({f"claims.{c['name']}": c for c in claims})
    world = _World(rng, Fake(rng, locale), url, now, client_uuid, options)
    # Drawn either way, so that a secret changes the signature and nothing else.
    throwaway = _throwaway(rng)
    key = secret if secret is not None else throwaway
    request_id = (
        str(uuid.UUID(int=rng.getrandbits(128), version=4)) if seeded else str(uuid.uuid4())
    )
    if spec.method == "GET":
        return _query_callback(spec, world, key, flaw, url, request_id)
    pairs: list[tuple[str, Any]] = []
    for f in spec.fields:
        if f.gen == "salesbot_token":
            pairs.append((f.name, None))  # signed once the rest is known
            continue
        if not _present(world, f):
            continue
        pairs.append((f.name, world.value(f.name, f.gen)))
    if any(f.gen == "salesbot_token" for f in spec.fields):
        token_claims = {c["name"]: world.get(f"claims.{c['name']}") for c in claims}
        spoil = cast(signing.Flaw | None, flaw)
        token = signing.salesbot_token(token_claims, key, now=world.now, flaw=spoil)
        pairs = [(n, token if n == "token" else v) for n, v in pairs]
    data = _nest(pairs)
    body = _dump(data, style)
    signed = []
    if spec.details.get("signature", {}).get("scheme") == "chat":
        signed_body = body
        if flaw == "body-changed":
            signed_body = _dump(_changed(data), style)
        signer = signing.other_secret(key) if flaw == "wrong-secret" else key
        signed.append(("X-Signature", signing.chat_signature(signed_body, signer)))
    return _callback(spec, data, body, _with_scope(url, world), request_id, signed)


def _changed(data: dict[str, Any]) -> dict[str, Any]:
    """The body as it was before something on the way changed it."""
    copy = json.loads(json.dumps(data))
    copy["time"] = int(copy.get("time", 0)) - 1
    return copy


def _query_callback(
    spec: catalog.Event,
    world: _World,
    key: str | bytes,
    flaw: str | None,
    url: str,
    request_id: str,
) -> Callback:
    params: list[tuple[str, str]] = []
    for f in spec.fields:
        if f.gen == "disable_signature":
            client, account = world.get("client_uuid"), world.get("account_id")
            signer = signing.other_secret(key) if flaw == "wrong-secret" else key
            if flaw == "body-changed":
                account = int(account) + 1
            params.append((f.name, signing.disable_signature(client, account, signer)))
            continue
        if not _present(world, f):
            continue
        params.append((f.name, str(world.value(f.name, f.gen))))
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    full = parts._replace(query=query).geturl()
    return _callback(spec, dict(params), b"", full, request_id)


def generate_all(
    kind: str,
    *,
    seed: int | None = None,
    secret: str | bytes | None = None,
    flaw: str | None = None,
    url: str = DEFAULT_URL,
    now: float | None = None,
    client_uuid: str | None = None,
    style: str = "compact",
    locale: str = "ru",
) -> list[Callback]:
    """One callback per event of a callback kind. ``flaw`` spoils those that
    can be spoiled so (the signed ones; ``expired`` a Salesbot token) and
    leaves the others as they are; it is a UsageError when none can."""
    if kind not in catalog.CALLBACK_KINDS:
        raise UsageError(
            f"{kind!r} is not a callback kind; choose from: {', '.join(catalog.CALLBACK_KINDS)}"
        )
    specs = catalog.events(kind)
    if flaw is not None and not any(_spoilable(spec, flaw) for spec in specs):
        # The error generate() gives for the first of them.
        generate(specs[0].event, kind=kind, flaw=flaw)
    rng = random.Random(seed)
    return [
        generate(
            e.event,
            kind=kind,
            secret=secret,
            flaw=flaw if flaw is not None and _spoilable(e, flaw) else None,
            url=url,
            now=now,
            client_uuid=client_uuid,
            style=style,
            locale=locale,
            rng=rng,
        )
        for e in specs
    ]


def _spoilable(spec: catalog.Event, flaw: str) -> bool:
    if spec.details.get("signature") is None:
        return False
    return flaw not in ("expired", "not-yet-valid") or spec.kind == "salesbot"
