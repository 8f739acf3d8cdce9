"""The webhook event catalog, read from the data files in ``amodp/events``.

One file per entity and event (``events/<kind>/<entity>.<event>.json``) holds
what amoCRM sends for it: the fields in amoCRM's order, the rule that makes a
realistic value for each, a description and where the shape comes from. The
account block of each kind lives in ``events/<kind>/_account.json``. Listings,
``--all``, shell completion, detection and the tests all read this folder.

The other callbacks amoCRM sends (:data:`CALLBACK_KINDS`: Chats API hooks,
Salesbot ``widget_request``, the OAuth redirect and the disable hook) live in
the same form: their fields are dotted paths into a JSON body or names in a
query string, and each file also says the method, the content type, the
signature and what the receiver does next (:attr:`Event.details`; the
answer amoCRM wants is in :mod:`amodp.rules`, stated once). They carry no
account block; :func:`detect` does not look for them, :func:`detect_callback`
does (a JSON body, or a query string as a dict).

A file may name the key its body carries when that is not ``entity[event]``
(``wire``, ``wire_event``): tasks come as ``task[...]``, companies as
``contacts[...]`` with ``type=company``, a contact's new responsible user as
``contacts[update]``. Detection maps a body's key back to the catalog's event.

Standard library only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from .errors import UnknownEventError

__all__ = [
    "ALL_KINDS",
    "CALLBACK_KINDS",
    "KINDS",
    "Detected",
    "Event",
    "EventsPlan",
    "detect",
    "detect_callback",
    "detect_events",
    "entities",
    "event",
    "events",
    "events_of",
    "events_plan",
    "summary_line",
]

EVENTS_DIR = Path(__file__).parent / "events"
KINDS = ("dp", "account")
#: Callbacks that are not webhooks of the two kinds above (see amodp.callbacks).
CALLBACK_KINDS = ("chat", "salesbot", "oauth")
ALL_KINDS = KINDS + CALLBACK_KINDS

#: ``--lead``/``--customer`` and the other singular or plural names people
#: type. Tasks and talks are singular on the wire (``task[add]``, ``talk[add]``).
ENTITY_ALIASES = {
    "lead": "leads",
    "customer": "customers",
    "contact": "contacts",
    "company": "companies",
    "tasks": "task",
    "catalog": "catalogs",
    "talks": "talk",
    "messages": "message",
}


@dataclass(frozen=True)
class Field:
    name: str
    gen: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """One entity/event combination of one kind of webhook."""

    kind: str
    entity: str
    event: str
    item: str
    description: str
    source: str
    fields: tuple[Field, ...]
    summary: str = ""
    description_ru: str = ""
    method: str = "POST"
    content_type: str | None = "application/x-www-form-urlencoded"
    #: Callbacks only: user_agent, signature, then (what the receiver does
    #: next) and (Salesbot) claims; the answer amoCRM wants is in amodp.rules.
    details: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    #: The body's top-level key and action, when not the entity and event:
    #: companies come as ``contacts[...]`` (with ``type=company``), a change of
    #: a contact's responsible user as ``contacts[update]``.
    wire: str = ""
    wire_event: str = ""

    @property
    def name(self) -> str:
        return f"{self.entity}.{self.event}"

    @property
    def wire_key(self) -> str:
        """``entity[event]`` as the body spells it, e.g. ``contacts[update]``;
        for a callback, how it arrives (``POST application/json``, ``GET ?query``)."""
        if self.kind in CALLBACK_KINDS:
            return f"{self.method} {self.content_type or '?query'}"
        return f"{self.wire or self.entity}[{self.wire_event or self.event}]"

    @property
    def signature_scheme(self) -> str | None:
        """How amoCRM signs this callback (``chat``, ``salesbot``,
        ``disabled``), None when it does not."""
        signature = self.details.get("signature")
        return signature.get("scheme") if isinstance(signature, dict) else None

    @property
    def item_type(self) -> str | None:
        """The ``type`` every item carries (``contact``, ``company``, ``catalog``), if any."""
        for f in self.fields:
            if f.name == "type" and f.gen == "const":
                return str(f.options["value"])
        return None

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @cached_property
    def field_set(self) -> frozenset[str]:
        """The field names, for telling a body's items apart by their keys."""
        return frozenset(f.name for f in self.fields)

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "kind": self.kind,
            "entity": self.entity,
            "event": self.event,
            "description": self.description,
            "description_ru": self.description_ru,
            "wire": self.wire_key,
            "wire_type": self.item_type,
            "fields": self.field_names,
            "source": self.source,
        }
        if self.kind in CALLBACK_KINDS:
            found.update(method=self.method, content_type=self.content_type, **self.details)
            if "claims" in found:
                found["claims"] = [f["name"] for f in found["claims"]]
        from .rules import rules_for  # the one statement of the delivery rules

        then = found.pop("then", None)
        found["answer"] = rules_for(self.kind, self.event).as_dict()
        if then:
            found["answer"]["then"] = then
        return found


@dataclass(frozen=True)
class AccountBlock:
    kind: str
    position: str  # "first" or "last"
    fields: tuple[Field, ...]
    source: str


def _fields(raw: list[dict[str, Any]]) -> tuple[Field, ...]:
    return tuple(
        Field(f["name"], f["gen"], {k: v for k, v in f.items() if k not in ("name", "gen")})
        for f in raw
    )


@lru_cache(maxsize=len(ALL_KINDS))
def events(kind: str = "dp") -> tuple[Event, ...]:
    """Every event of a kind, in the folder's order (entity, then event)."""
    if kind not in ALL_KINDS:
        raise UnknownEventError(f"unknown kind {kind!r}; choose from: {', '.join(ALL_KINDS)}")
    found = []
    folder = EVENTS_DIR / kind
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    for path in paths:
        if path.name.startswith("_"):
            continue
        raw = json.loads(path.read_text(encoding="utf-8"))
        found.append(
            Event(
                **{k: raw[k] for k in _AS_WRITTEN if k in raw},
                fields=_fields(raw["fields"]),
                details={k: raw[k] for k in _DETAILS if k in raw},
                wire=raw.get("wire", raw["entity"]),
                wire_event=raw.get("wire_event", raw["event"]),
            )
        )
    order = {name: i for i, name in enumerate(_ENTITY_ORDER)}
    found.sort(key=lambda e: (order.get(e.entity, len(order)), e.entity))
    return tuple(found)


#: The keys of a data file that are Event fields as they stand, and those that are its details.
_AS_WRITTEN = (
    "kind", "entity", "event", "item", "description", "description_ru", "source", "summary",
    "method", "content_type",
)  # fmt: skip
_DETAILS = ("user_agent", "signature", "then", "claims")

_ENTITY_ORDER = (
    "leads", "contacts", "companies", "customers", "task", "catalogs", "unsorted", "talk",
    "message",
)  # fmt: skip


@lru_cache(maxsize=len(ALL_KINDS))
def account_block(kind: str = "dp") -> AccountBlock:
    if kind in CALLBACK_KINDS:
        return AccountBlock(kind, "none", (), "callbacks carry no account block")
    raw = json.loads((EVENTS_DIR / kind / "_account.json").read_text(encoding="utf-8"))
    return AccountBlock(kind, raw.get("position", "last"), _fields(raw["fields"]), raw["source"])


def entities(kind: str = "dp") -> list[str]:
    """The entities of a kind, in catalog order."""
    return list(dict.fromkeys(e.entity for e in events(kind)))


def canonical_entity(name: str) -> str:
    return ENTITY_ALIASES.get(name, name)


def events_of(kind: str = "dp", entity: str | None = None) -> list[Event]:
    """The events of a kind, or of one of its entities; an UnknownEventError
    naming the valid entities for an entity the kind does not have."""
    specs = list(events(kind))
    if entity is not None:
        wanted = canonical_entity(entity)
        specs = [s for s in specs if s.entity == wanted]
        if not specs:
            event("?", wanted, kind)  # raises with the valid entities
    return specs


def default_entity(name: str, entity: str | None, kind: str = "dp") -> str | None:
    """``entity``, or leads for an event both leads and customers have
    (``call_in``, ``chat``...) when none is given."""
    if entity is not None:
        return entity
    owners = [e.entity for e in events(kind) if e.event == name]
    return "leads" if len(owners) > 1 and "leads" in owners else None


def event(name: str, entity: str | None = None, kind: str = "dp") -> Event:
    """Look up one event; the error lists the valid choices.

    ``name`` may be ``"status"`` (with ``entity``) or ``"leads.status"``.
    """
    if "." in name and entity is None:
        entity, name = name.split(".", 1)
    known = events(kind)
    if entity is not None:
        entity = canonical_entity(entity)
        if entity not in entities(kind):
            raise UnknownEventError(
                f"unknown entity {entity!r} for {kind} webhooks; "
                f"choose from: {', '.join(entities(kind))}"
            )
        for e in known:
            if e.entity == entity and e.event == name:
                return e
        valid = [e.event for e in known if e.entity == entity]
        others = sorted({e.entity for e in known if e.event == name})
        hint = f" ({name!r} is for {', '.join(others)} only)" if others else ""
        raise UnknownEventError(
            f"no {kind} event {name!r} for {entity}{hint}; {entity} events: {', '.join(valid)}"
        )
    matches = [e for e in known if e.event == name]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        valid = sorted({e.event for e in known})
        raise UnknownEventError(f"unknown {kind} event {name!r}; choose from: {', '.join(valid)}")
    raise UnknownEventError(
        f"{name!r} exists for {', '.join(e.entity for e in matches)}: "
        "say which entity (--lead, --customer or --entity NAME)"
    )


# -- detection ----------------------------------------------------------------


@dataclass
class Detected:
    """One entity/event found in a decoded body."""

    kind: str  # "dp", "account" or "unknown"
    entity: str
    event: str
    items: list[dict[str, Any]]
    account: dict[str, Any]
    #: Where the items stand in the body when that is not ``entity[event]``:
    #: ``contacts[add]`` for companies.
    wire: str = ""
    wire_event: str = ""

    def __post_init__(self) -> None:
        self.wire = self.wire or self.entity
        self.wire_event = self.wire_event or self.event

    @property
    def name(self) -> str:
        return f"{self.entity}.{self.event}"

    def as_dict(self) -> dict[str, Any]:
        ids = [item_id(item) for item in self.items]
        return {"kind": self.kind, "entity": self.entity, "event": self.event, "ids": ids}


def item_id(item: dict[str, Any]) -> Any:
    """An item's id: ``id``, else ``uid`` (unsorted) or ``talk_id``; for a
    note, the id of what it is attached to."""
    for key in ("id", "uid", "talk_id"):
        if key in item:
            return item[key]
    note = item.get("note")
    return note.get("element_id") if isinstance(note, dict) else None


def _items(value: Any) -> list[dict[str, Any]] | None:
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return value
    return None


@lru_cache(maxsize=1)
def _known_entities() -> frozenset[str]:
    """The top-level keys a webhook body may have (``task``, ``contacts``, ...)."""
    return frozenset(e.wire for kind in KINDS for e in events(kind))


@lru_cache(maxsize=1)
def _by_name() -> dict[tuple[str, str, str], Event]:
    return {(e.kind, e.entity, e.event): e for kind in KINDS for e in events(kind)}


@lru_cache(maxsize=1)
def _by_wire() -> dict[tuple[str, str], tuple[Event, ...]]:
    """Account-level events by the body's key and action: ``contacts[update]``
    is a contact's or a company's change, or a change of its responsible user."""
    found: dict[tuple[str, str], list[Event]] = {}
    for e in events("account"):
        found.setdefault((e.wire, e.wire_event), []).append(e)
    return {key: tuple(value) for key, value in found.items()}


def _account_event(key: str, action: str, item: dict[str, Any]) -> Event | None:
    """The account-level event a body's ``key[action]`` item belongs to."""
    candidates = _by_wire().get((key, action), ())
    if len(candidates) > 1:
        # contacts[...] items say what they are: type=contact or type=company
        # (bodies without a type are contacts).
        kind = item.get("type") if isinstance(item.get("type"), str) else "contact"
        typed = [e for e in candidates if e.item_type in (kind, None)]
        candidates = tuple(typed) or candidates
    if len(candidates) > 1:
        # A change of the responsible user comes as an update carrying
        # old_responsible_user_id; in 2025 every contacts[update] carries it,
        # equal to responsible_user_id when that did not change.
        old = item.get("old_responsible_user_id")
        moved = old is not None and old != item.get("responsible_user_id")
        chosen = [e for e in candidates if (e.event != e.wire_event) == moved]
        candidates = tuple(chosen) or candidates
    return candidates[0] if candidates else None


def detect(decoded: Any) -> list[Detected]:
    """Find the webhook events in a decoded body: ``{entity: {event: [items]}}``.

    The event is the catalog's (``companies.update``), the place in the body
    is ``wire[wire_event]`` (``contacts[update]``); one event per place, named
    after its first item."""
    if not isinstance(decoded, dict):
        return []
    account = decoded.get("account")
    account = account if isinstance(account, dict) else {}
    known = _known_entities()
    by_name = _by_name()
    found = []
    for key, actions in decoded.items():
        if key == "account" or not isinstance(actions, dict):
            continue
        for action, value in actions.items():
            items = _items(value)
            if items is None or not isinstance(action, str) or not isinstance(key, str):
                continue
            if key not in known and not account:
                continue
            spec = _account_event(key, action, items[0])
            entity, event = (spec.entity, spec.event) if spec else (key, action)
            kind = _kind_of(key, action, items, account, by_name, spec)
            if kind == "dp":
                entity, event = key, action
            found.append(Detected(kind, entity, event, items, account, key, action))
    return found


def detect_events(decoded: Any) -> list[dict[str, Any]]:
    """``[d.as_dict() for d in detect(decoded)]``: the ``events`` of a capture record.

    >>> detect_events({"leads": {"status": [{"id": "7", "status_id": "142"}]},
    ...                "account": {"id": "1", "subdomain": "acme"}})
    [{'kind': 'dp', 'entity': 'leads', 'event': 'status', 'ids': ['7']}]
    """
    return [d.as_dict() for d in detect(decoded)]


@dataclass(frozen=True)
class EventsPlan:
    """The events of every body with the same names, in the same order, when
    they do not depend on its values: where each event's items are
    (``key[action]``) and what it is. Only its items' ids are read from each
    body. Made by :func:`events_plan`."""

    #: (kind, entity, event, key, action) per event, in the body's order
    places: tuple[tuple[str, str, str, str, str], ...]

    def events(self, decoded: dict[str, Any]) -> list[dict[str, Any]]:
        """:func:`detect_events` of a body with the plan's names."""
        found = []
        for kind, entity, event, key, action in self.places:
            items = _items(decoded[key][action]) or []
            ids = [item_id(item) for item in items]
            found.append({"kind": kind, "entity": entity, "event": event, "ids": ids})
        return found


def events_plan(decoded: Any) -> EventsPlan | None:
    """The plan of a decoded body's events, or None when they depend on its
    values: a ``contacts[...]`` item may be a contact or a company (its
    ``type``), a change of the responsible user or not (its
    ``old_responsible_user_id``). Everything else :func:`detect` reads of a
    body is its keys."""
    places = []
    for found in detect(decoded):
        if len(_by_wire().get((found.wire, found.wire_event), ())) > 1:
            return None
        places.append((found.kind, found.entity, found.event, found.wire, found.wire_event))
    return EventsPlan(tuple(places))


def _kind_of(
    entity: str,
    action: str,
    items: list[dict[str, Any]],
    account: dict[str, Any],
    by_name: dict[tuple[str, str, str], Event],
    acc: Event | None,
) -> str:
    dp = by_name.get(("dp", entity, action))
    if dp is None:
        return "account" if acc else "unknown"
    # leads.status is both: DP items carry only the DP fields and the DP
    # account block has no _links.
    if acc and ("_links" in account or not all(dp.field_set.issuperset(i) for i in items)):
        return "account"
    return "dp"


def _lookup(item: dict[str, Any], path: str) -> Any:
    """``a.b.0`` reads ``item["a"]["b"][0]``; ``a|b`` is the first that is there."""
    for choice in path.split("|"):
        value: Any = item
        for step in choice.split("."):
            if isinstance(value, dict) and step in value:
                value = value[step]
            elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
                value = value[int(step)]
            else:
                break
        else:
            return value
    return "?"


def _fill(template: str, item: dict[str, Any]) -> str:
    """``{a}`` is a field (``{a.b.0}`` nested, ``{a|b}`` the first there);
    ``{a->b}`` is ``a`` when equal to ``b``, else ``a -> b``."""
    out = []
    rest = template
    while "{" in rest:
        before, _, rest = rest.partition("{")
        name, _, rest = rest.partition("}")
        out.append(before)
        if "->" in name:
            old, new = (_lookup(item, n) for n in name.split("->", 1))
            out.append(str(new) if old == new else f"{old} -> {new}")
        else:
            out.append(str(_lookup(item, name)))
    out.append(rest)
    # One line per item, whatever the texts hold.
    return "".join(out).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


# -- callbacks ----------------------------------------------------------------

#: The share of a callback's always-sent fields a body must hold to be taken
#: for it (optional fields "may not come", and real hooks drop some others).
_CALLBACK_MATCH = 0.5


def _has(value: Any, path: str) -> bool:
    for step in path.split("."):
        if not isinstance(value, dict) or step not in value:
            return False
        value = value[step]
    return True


def detect_callback(value: Any) -> Detected | None:
    """The callback (:data:`CALLBACK_KINDS`) a JSON body or a query's
    parameters are, or None: of the events whose top-level names hold most of
    ``value``'s (a name amoCRM adds one day is drift, not another body), the
    one whose always-sent fields it has most of, then the one with fewest
    names it does not know.

    >>> detect_callback({"client_uuid": "u", "account_id": "1", "signature": "s"}).name
    'oauth.disabled'
    >>> detect_callback({"client_uuid": "u", "account_id": "1", "signature": "s", "new": 1}).name
    'oauth.disabled'
    """
    if not isinstance(value, dict) or not value:
        return None
    best: tuple[float, int, int, Event] | None = None
    for kind in CALLBACK_KINDS:
        for spec in events(kind):
            unknown = len(set(value) - {f.name.split(".")[0] for f in spec.fields})
            if unknown * 2 >= len(value):
                continue
            required = [f.name for f in spec.fields if "optional" not in f.options]
            share = sum(_has(value, path) for path in required) / (len(required) or 1)
            rank = (share, -unknown, len(required))
            if share >= _CALLBACK_MATCH and (best is None or rank > best[:3]):
                best = (*rank, spec)
    if best is None:
        return None
    spec = best[3]
    return Detected(spec.kind, spec.entity, spec.event, [value], {})


def summary_line(found: Detected, item: dict[str, Any]) -> str:
    """One human line per item, e.g. ``leads.status (dp)  lead 10754147: stage
    54435014 -> 54423922 (pipeline 6344290)  account anyor (30307558)``; for a
    callback, ``chat.message (chat)  text message 5e0f...``."""
    if found.kind in CALLBACK_KINDS:
        callback = event(found.event, found.entity, found.kind)
        return f"{callback.name} ({callback.kind})  {_fill(callback.summary, item)}"
    spec = _by_name().get((found.kind, found.entity, found.event))
    if found.kind == "account":
        # Each item of contacts[...] says whether it is a contact or a company.
        spec = _account_event(found.wire, found.wire_event, item) or spec
    name = spec.name if spec else found.name
    noun = spec.item if spec else found.entity.rstrip("s")
    ident = item_id(item)
    head = f"{name} ({found.kind})  {noun} {'?' if ident is None else ident}"
    note = item.get("note")
    values = note if isinstance(note, dict) else item
    detail = _fill(spec.summary, values) if spec and spec.summary else ""
    line = f"{head}: {detail}" if detail else head
    if found.account:
        sub = found.account.get("subdomain", "?")
        acc_id = found.account.get("id")
        line += f"  account {sub}" + (f" ({acc_id})" if acc_id is not None else "")
    return line
