"""Drift: where a real body differs from the catalog's shape of its event.

amoCRM changes what it sends without notice. :func:`drift` compares a decoded
body with today's shape of each event it carries (:func:`amodp.schema.current_schema`)
and says what differs, one :class:`Drift` each:

- ``unknown event``: an ``entity[action]`` the catalog does not know;
- ``unknown field``: a field the catalog does not know (``leads[status][0][foo]``);
- ``missing field``: a field the catalog always has that the body lacks;
- ``other form``: a value whose form differs (a map where text was expected).

A body that matches has none. A body in one of the older shapes amoCRM sent
(:data:`amodp.schema.OLDER_SHAPES`: the 2016 bodies, the 2020 note) is
recognised as such (:attr:`Report.older`): what that shape lacks is not
drift. The values themselves (an id that is not digits) are not looked at.

``amodp decode --drift`` prints each on stderr; ``amodp listen`` puts them
in each record as ``drift``, a list of objects::

    {"what": "unknown field", "event": "leads.status", "field": "leads[status][0][foo]"}
    {"what": "other form", "event": "leads.status", "field": "leads[status][0][name]",
     "expected": "text", "found": "map"}

(no ``drift`` key when there is none) and prints each line once per run
(:class:`Watch`, which also works drift out once per body shape).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from . import catalog
from .schema import OLDER_SHAPES, OlderShape, current_schema

__all__ = ["Drift", "Report", "Watch", "drift", "form_of"]

Schema = dict[str, Any]


@dataclass(frozen=True)
class Drift:
    """One difference between a body and the catalog's shape of its event."""

    what: str  # "unknown event", "unknown field", "missing field" or "other form"
    event: str  # "leads.status"; for an unknown event, its place ("leads[foo]")
    field: str  # where, as the body spells it: "leads[status][0][foo]"
    expected: str = ""  # "other form": what the catalog has (text, map, list...)
    found: str = ""  # and what the body has

    @property
    def line(self) -> str:
        """One line for a person: ``leads.status: unknown field leads[status][0][foo]``."""
        if self.what == "unknown event":
            return f"{self.field}: an event the catalog does not know"
        if self.what == "other form":
            return (
                f"{self.event}: {self.field} is {_article(self.found)}, "
                f"the catalog has {_article(self.expected)}"
            )
        if self.what == "missing field":
            return f"{self.event}: {self.field} is missing (the catalog always has it)"
        return f"{self.event}: {self.field} is a field the catalog does not know"

    @property
    def key(self) -> tuple[str, str, str]:
        """What it is about, whichever item shows it: the field with every
        list index as 0 (``custom_fields[3][foo]`` is ``custom_fields[0][foo]``)."""
        return self.what, self.event, _any_index(self.field)

    def as_dict(self) -> dict[str, str]:
        found = {"what": self.what, "event": self.event, "field": self.field}
        if self.expected:
            found.update(expected=self.expected, found=self.found)
        return found


@dataclass
class Report:
    """What :func:`drift` found: the drifts, and the older shape the body is in, if any."""

    drifts: list[Drift] = field(default_factory=list)
    older: OlderShape | None = None


def _article(form: str) -> str:
    return f"an {form}" if form[:1] in "aeiou" else f"a {form}" if form != "text" else "text"


def _any_index(path: str) -> str:
    parts = path.split("[")
    return "[".join(
        "0]" if i and p.endswith("]") and p[:-1].isdigit() else p for i, p in enumerate(parts)
    )


def form_of(value: Any) -> str:
    """``text``, ``map``, ``list``, ``number``, ``boolean`` or ``null``."""
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


_FORMS = {
    "string": "text",
    "object": "map",
    "array": "list",
    "integer": "number",
    "number": "number",
    "null": "null",
    "boolean": "boolean",
}


def _forms(schema: Schema) -> set[str]:
    """The forms a schema allows."""
    if "anyOf" in schema:
        return {form for choice in schema["anyOf"] for form in _forms(choice)}
    if "type" in schema:
        return {_FORMS[schema["type"]]}
    if "const" in schema:
        return {form_of(schema["const"])}
    if "enum" in schema:
        return {form_of(v) for v in schema["enum"]}
    return set(_FORMS.values())


# -- the walk ----------------------------------------------------------------------------

#: what the walk finds: (what, path, expected, found)
Found = tuple[str, tuple[Any, ...], str, str]


def _walk(value: Any, schema: Schema, path: tuple[Any, ...], out: list[Found]) -> None:
    """Compare ``value`` with ``schema`` (the forms :mod:`amodp.schema` makes)."""
    if "anyOf" in schema:
        choices = [c for c in schema["anyOf"] if form_of(value) in _forms(c)]
        if not choices:
            out.append(("other form", path, " or ".join(sorted(_forms(schema))), form_of(value)))
            return
        best: list[Found] | None = None  # the choice the value is closest to
        for choice in choices:
            found: list[Found] = []
            _walk(value, choice, path, found)
            if best is None or len(found) < len(best):
                best = found
        out += best or []
        return
    allowed = _forms(schema)
    form = form_of(value)
    if form not in allowed:
        # PHP's lists are maps when their indexes are not 0..n-1.
        out.append(("other form", path, " or ".join(sorted(allowed)), form))
        return
    if form == "map":
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                _walk(item, properties[key], (*path, key), out)
            elif isinstance(extra, dict):
                _walk(item, extra, (*path, key), out)
            elif schema.get("type") == "object":
                out.append(("unknown field", (*path, key), "", ""))
        for name in schema.get("required", ()):
            if name not in value:
                out.append(("missing field", (*path, name), "", ""))
    elif form == "list" and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _walk(item, schema["items"], (*path, i), out)


def _spell(path: Iterable[Any], dotted: bool = False) -> str:
    """``leads[status][0][foo]``: a path as a form spells it; ``dotted``: as
    the catalog names a JSON body's fields (``message.receiver.id``)."""
    first, *rest = [str(step) for step in path]
    if dotted:
        return ".".join([first, *rest])
    return first + "".join(f"[{step}]" for step in rest)


def _older(kind: str, missing: list[tuple[Any, ...]]) -> OlderShape | None:
    """The older shape that explains most of the missing fields, of those
    whose mark is missing."""
    best, most = None, 0
    for shape in OLDER_SHAPES:
        if shape.kind != kind or not shape.marked(missing):
            continue
        count = sum(shape.explains(path) for path in missing)
        if count > most:
            best, most = shape, count
    return best


def drift(decoded: Any) -> Report:
    """Where a decoded body (PHP's ``$_POST``, a callback's JSON or ``$_GET``)
    differs from the catalog's shape of the events it carries.

    >>> body = {"leads": {"status": [{"id": "1", "status_id": "2", "pipeline_id": "3",
    ...     "old_status_id": "4", "old_pipeline_id": "3", "foo": "x"}]},
    ...     "account": {"id": "5", "subdomain": "acme"}}
    >>> [d.line for d in drift(body).drifts]
    ['leads.status: leads[status][0][foo] is a field the catalog does not know']
    """
    if not isinstance(decoded, dict):
        return Report()
    found = catalog.detect(decoded)
    walked: list[Found] = []
    if not found:
        callback = catalog.detect_callback(decoded)
        if callback is None:
            return Report()
        spec = catalog.event(callback.event, callback.entity, callback.kind)
        _walk(decoded, current_schema(spec), (), walked)
        return _report(spec.kind, {}, spec.name, walked)
    report = _webhook(decoded, found)
    # leads[status] is a DP and an account-level event: a body the catalog
    # takes for one may be the other, drifted.
    other = {"dp": "account", "account": "dp"}
    twins = [
        replace(g, kind=other[g.kind]) if g.kind in other and _has(other[g.kind], g) else g
        for g in found
    ]
    if twins != found and report.drifts:
        second = _webhook(decoded, twins)
        if len(second.drifts) < len(report.drifts):
            return second
    return report


def _has(kind: str, group: catalog.Detected) -> bool:
    return any(e.entity == group.entity and e.event == group.event for e in catalog.events(kind))


def _webhook(decoded: dict[Any, Any], found: list[catalog.Detected]) -> Report:
    """:func:`drift` of a body holding these webhook events."""
    walked: list[Found] = []
    unknown = []
    specs: dict[Any, catalog.Event] = {}  # by the body's key
    for group in found:
        if group.kind == "unknown":
            place = f"{group.wire}[{group.wire_event}]"
            unknown.append(Drift("unknown event", place, place))
            continue
        spec = catalog.event(group.event, group.entity, group.kind)
        items = current_schema(spec)["properties"][group.wire]["properties"][group.wire_event]
        for i, item in enumerate(group.items):
            _walk(item, items["items"], (group.wire, group.wire_event, i), walked)
        specs.setdefault(group.wire, spec)
    if not specs:
        return Report(unknown)
    first = next(iter(specs.values()))
    if "account" in decoded:
        account = current_schema(first)["properties"]["account"]
        _walk(decoded["account"], account, ("account",), walked)
    else:
        walked.append(("missing field", ("account",), "", ""))
    places = {group.wire for group in found}
    walked += [
        ("unknown field", (key,), "", "") for key in decoded if key not in places | {"account"}
    ]
    names = {key: spec.name for key, spec in specs.items()}
    report = _report(first.kind, names, first.name, walked)
    report.drifts[:0] = unknown
    return report


def _report(kind: str, names: dict[Any, str], name: str, walked: list[Found]) -> Report:
    """The drifts of what the walk found, less what the older shape the body
    is in lacks; ``names``: the event at each top-level key (else ``name``)."""
    missing = [path for what, path, _, _ in walked if what == "missing field"]
    older = _older(kind, missing)
    drifts = []
    for what, path, expected, got in walked:
        if what == "missing field" and older is not None and older.explains(path):
            continue
        event = names.get(path[0], name) if path else name
        where = _spell(path, kind in ("chat", "salesbot")) if path else "(body)"
        drifts.append(Drift(what, event, where, expected, got))
    return Report(drifts, older)


class Watch:
    """Drift of every body a listener receives, worked out once per body
    shape (:class:`amodp.codec.Shapes`' names, and the events found), and
    the lines not said yet in this run.

    At most ``size`` shapes are kept."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.shapes: dict[tuple[Any, tuple[str, ...]], list[dict[str, str]]] = {}
        self.said: set[tuple[str, str, str]] = set()

    def of(
        self, shape: str | None, decoded: Any, events: list[dict[str, Any]]
    ) -> list[dict[str, str]]:
        """The record's ``drift``: ``[Drift.as_dict()]`` of a decoded body
        (a form's, a callback's JSON or query), from the shape's when it was
        seen before. ``shape``: the form's names as :class:`amodp.codec.Shapes`
        learnt them; None: worked out here (a callback's names and the form
        of each value: drift looks at nothing else)."""
        outline = shape if shape is not None else _outline(decoded)
        key = (outline, tuple(f"{e.get('entity')}.{e.get('event')}" for e in events))
        found = self.shapes.get(key)
        if found is None:
            if len(self.shapes) >= self.size:
                self.shapes.clear()
            found = self.shapes[key] = [d.as_dict() for d in drift(decoded).drifts]
        return found

    def news(self, drifts: list[dict[str, str]]) -> list[str]:
        """The lines of ``drifts`` (a record's) not said before in this run."""
        lines = []
        for found in drifts:
            one = Drift(**found)
            if one.key not in self.said:
                self.said.add(one.key)
                lines.append(one.line)
        return lines


def _outline(value: Any) -> Any:
    """The names in a value and the form of each leaf: all :func:`drift` reads."""
    if isinstance(value, dict):
        return ("{", *((k, _outline(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("[", *(_outline(v) for v in value))
    return form_of(value)
