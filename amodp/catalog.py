"""The webhook event catalog, read from the data files in ``amodp/events``.

One file per entity and event (``events/<kind>/<entity>.<event>.json``) holds
what amoCRM sends for it: the fields in amoCRM's order, the rule that makes a
realistic value for each, a description and where the shape comes from. The
account block of each kind lives in ``events/<kind>/_account.json``. Listings,
``--all``, shell completion, detection and the tests all read this folder.

Standard library only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import UnknownEventError

__all__ = [
    "KINDS",
    "Detected",
    "Event",
    "detect",
    "detect_events",
    "entities",
    "event",
    "events",
    "summary_line",
]

EVENTS_DIR = Path(__file__).parent / "events"
KINDS = ("dp", "account")

#: ``--lead``/``--customer`` and other singular names people type.
ENTITY_ALIASES = {
    "lead": "leads",
    "customer": "customers",
    "contact": "contacts",
    "company": "companies",
    "task": "tasks",
    "catalog": "catalogs",
    "talk": "talks",
    "message": "message",
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
    summary: str
    description_ru: str = ""

    @property
    def name(self) -> str:
        return f"{self.entity}.{self.event}"

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "entity": self.entity,
            "event": self.event,
            "description": self.description,
            "description_ru": self.description_ru,
            "fields": self.field_names,
            "source": self.source,
        }


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


@lru_cache(maxsize=len(KINDS))
def events(kind: str = "dp") -> tuple[Event, ...]:
    """Every event of a kind, in the folder's order (entity, then event)."""
    if kind not in KINDS:
        raise UnknownEventError(f"unknown kind {kind!r}; choose from: {', '.join(KINDS)}")
    found = []
    folder = EVENTS_DIR / kind
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    for path in paths:
        if path.name.startswith("_"):
            continue
        raw = json.loads(path.read_text(encoding="utf-8"))
        found.append(
            Event(
                kind=raw["kind"],
                entity=raw["entity"],
                event=raw["event"],
                item=raw["item"],
                description=raw["description"],
                description_ru=raw.get("description_ru", ""),
                source=raw["source"],
                fields=_fields(raw["fields"]),
                summary=raw.get("summary", ""),
            )
        )
    order = {name: i for i, name in enumerate(_ENTITY_ORDER)}
    found.sort(key=lambda e: (order.get(e.entity, len(order)), e.entity))
    return tuple(found)


_ENTITY_ORDER = (
    "leads",
    "contacts",
    "companies",
    "customers",
    "tasks",
    "catalogs",
    "unsorted",
    "talks",
    "message",
)


@lru_cache(maxsize=len(KINDS))
def account_block(kind: str = "dp") -> AccountBlock:
    raw = json.loads((EVENTS_DIR / kind / "_account.json").read_text(encoding="utf-8"))
    return AccountBlock(kind, raw.get("position", "last"), _fields(raw["fields"]), raw["source"])


def entities(kind: str = "dp") -> list[str]:
    """The entities of a kind, in catalog order."""
    seen: dict[str, None] = {}
    for e in events(kind):
        seen.setdefault(e.entity)
    return list(seen)


def canonical_entity(name: str) -> str:
    return ENTITY_ALIASES.get(name, name)


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
    if isinstance(note, dict):
        return note.get("element_id")
    return None


def _items(value: Any) -> list[dict[str, Any]] | None:
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(item, dict) for item in value):
        return None
    return value


@lru_cache(maxsize=1)
def _known_entities() -> frozenset[str]:
    return frozenset(e.entity for kind in KINDS for e in events(kind))


@lru_cache(maxsize=1)
def _by_name() -> dict[tuple[str, str, str], Event]:
    return {(e.kind, e.entity, e.event): e for kind in KINDS for e in events(kind)}


def detect(decoded: Any) -> list[Detected]:
    """Find the webhook events in a decoded body: ``{entity: {event: [items]}}``."""
    if not isinstance(decoded, dict):
        return []
    account = decoded.get("account")
    account = account if isinstance(account, dict) else {}
    known = _known_entities()
    by_name = _by_name()
    found = []
    for entity, actions in decoded.items():
        if entity == "account" or not isinstance(actions, dict):
            continue
        for action, value in actions.items():
            items = _items(value)
            if items is None or not isinstance(action, str):
                continue
            if entity not in known and not account:
                continue
            kind = _kind_of(entity, action, items, account, by_name)
            found.append(Detected(kind, entity, action, items, account))
    return found


def detect_events(decoded: Any) -> list[dict[str, Any]]:
    """``[d.as_dict() for d in detect(decoded)]``: the ``events`` of a capture record.

    >>> detect_events({"leads": {"status": [{"id": "7", "status_id": "142"}]},
    ...                "account": {"id": "1", "subdomain": "acme"}})
    [{'kind': 'dp', 'entity': 'leads', 'event': 'status', 'ids': ['7']}]
    """
    return [d.as_dict() for d in detect(decoded)]


def _kind_of(
    entity: str,
    action: str,
    items: list[dict[str, Any]],
    account: dict[str, Any],
    by_name: dict[tuple[str, str, str], Event],
) -> str:
    dp = by_name.get(("dp", entity, action))
    acc = by_name.get(("account", entity, action))
    if dp and not acc:
        return "dp"
    if acc and not dp:
        return "account"
    if dp and acc:
        # leads.status is both: DP items carry only the DP fields and the
        # DP account block has no _links.
        if "_links" in account:
            return "account"
        allowed = set(dp.field_names)
        if all(allowed.issuperset(item) for item in items):
            return "dp"
        return "account"
    return "unknown"


def _fill(template: str, item: dict[str, Any]) -> str:
    """``{a}`` is a field; ``{a->b}`` is ``a`` when equal to ``b``, else ``a -> b``."""
    out = []
    rest = template
    while "{" in rest:
        before, _, rest = rest.partition("{")
        name, _, rest = rest.partition("}")
        out.append(before)
        if "->" in name:
            old, new = (item.get(n, "?") for n in name.split("->", 1))
            out.append(str(new) if old == new else f"{old} -> {new}")
        else:
            out.append(str(item.get(name, "?")))
    out.append(rest)
    return "".join(out)


def summary_line(found: Detected, item: dict[str, Any]) -> str:
    """One human line per item, e.g. ``leads.status (dp)  lead 10754147: stage
    54435014 -> 54423922 (pipeline 6344290)  account anyor (30307558)``."""
    spec = None
    for e in events(found.kind) if found.kind in KINDS else ():
        if e.entity == found.entity and e.event == found.event:
            spec = e
            break
    noun = spec.item if spec else found.entity.rstrip("s")
    ident = item_id(item)
    head = f"{found.name} ({found.kind})  {noun} {'?' if ident is None else ident}"
    note = item.get("note")
    values = note if isinstance(note, dict) else item
    detail = _fill(spec.summary, values) if spec and spec.summary else ""
    line = f"{head}: {detail}" if detail else head
    if found.account:
        sub = found.account.get("subdomain", "?")
        acc_id = found.account.get("id")
        line += f"  account {sub}" + (f" ({acc_id})" if acc_id is not None else "")
    return line
