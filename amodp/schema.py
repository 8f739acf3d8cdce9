"""JSON Schema (draft 2020-12) of what amoCRM sends, made from the event catalog.

:func:`body_schema` describes what ``amodp decode`` prints for an event: PHP's
``$_POST`` of a DP or account-level webhook, the JSON body of a Chats API hook
or a Salesbot call, PHP's ``$_GET`` of an OAuth callback. Every value of a form
is a string, as amoCRM sends it; where the catalog knows its format the string
has a pattern (digits for ids, ten digits for Unix times, ``Y-m-d H:i:s`` for
the dates of notes and tasks). Each field of a data file names the rule that
makes its value (``gen``); :data:`FORMATS` says what each rule's values look
like, :data:`SOMETIMES` which rules may leave their field out (a lead without
a price, an ``old_status_id`` only when the stage changed, a card with no
custom field set), and :data:`STRUCTURES` gives the shape of the fields that
are maps and lists (custom fields, notes, unsorted's form data...), with the
variants amoCRM sends: a bare Unix time where a custom field's ``values``
map usually stands, a radiobutton's one map, several items in one body.

Older shapes (:data:`OLDER_SHAPES`, learnt from the kept captures in
``tests/fixtures/captures/``) lack fields today's bodies always carry; no kept
older body has a field today's lack. The schema :func:`body_schema` gives
accepts them (those fields are optional); the current shape
(``current=True``) is what :mod:`amodp.drift` compares real bodies with.

Standard library only.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from . import catalog
from .errors import UnknownEventError

__all__ = [
    "DRAFT",
    "FORMATS",
    "OLDER_SHAPES",
    "SOMETIMES",
    "STRUCTURES",
    "OlderShape",
    "body_schema",
    "current_schema",
    "schemas",
]

DRAFT = "https://json-schema.org/draft/2020-12/schema"
Schema = dict[str, Any]

# -- the forms of values --------------------------------------------------------------

DIGITS = "^[0-9]+$"


def _string(pattern: str | None = None, description: str | None = None) -> Schema:
    found: Schema = {"type": "string"}
    if pattern is not None:
        found["pattern"] = pattern
    if description is not None:
        found["description"] = description
    return found


TEXT = _string()
ID = _string(DIGITS)
INTEGER = _string("^-?[0-9]+$")
UNIX = _string("^[0-9]{10}$", "Unix time")
DATETIME = _string("^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$", "Y-m-d H:i:s")
UUID = _string("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
HEX = _string("^[0-9a-f]+$")
FLAG = {"type": "string", "enum": ["0", "1"]}
JWT = _string("^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*$", "a JWT")

#: The format of each rule's values, as a form carries them (text). In a JSON
#: body (Chats API hooks) the rules marked in :data:`JSON_INTEGERS` are numbers.
_BY_FORMAT: dict[str, tuple[Schema, str]] = {
    "id": (
        ID,
        "account_id catalog_element_id catalog_id company_id contact_creator contact_id "
        "contact_user creator_id customer_id lead_creator lead_id lead_id_same lead_modifier "
        "lead_price lead_user modifier_id old_period_id old_pipeline_id old_status_id "
        "old_status_id_if_moved old_user_id period_id periodicity pipeline_id post_id price rate "
        "same_period_id same_user_id status_id talk_id task_creator task_element_id "
        "task_element_type task_id task_type unsorted_request_id unsorted_source_id user_id",
    ),
    "integer": (INTEGER, "group_id"),
    "unix": (
        UNIX,
        "complete_before created_at date_create earlier_time future_date hook_time "
        "last_modified message_time same_created_at typing_expires updated_at",
    ),
    "msec": (_string(DIGITS, "Unix time in milliseconds"), "earlier_msec message_msec"),
    "count": (ID, "file_size"),
    "datetime": (DATETIME, "complete_till task_date_create task_last_modified"),
    "uuid": (
        UUID,
        "amojo_account_id amojo_conversation_id amojo_user_id amojo_uuid client_message_id "
        "client_uuid uuid",
    ),
    "flag": (FLAG, "action_close bool01 task_status task_status_any"),
    "hex": (HEX, "oauth_state unsorted_uid"),
    "signature": (_string("^[0-9a-f]{64}$", "hex HMAC-SHA256"), "disable_signature"),
    "jwt": (JWT, "salesbot_token"),
    "platform": ({"type": "string", "enum": ["1", "2"]}, "platform"),
    "text": (
        TEXT,
        "account_host attachment_type authorization_code chat_text client_user_id "
        "comment_text company_name conversation_client_id emoji file_name form_title "
        "lead_name manager_name media_url message_client_id message_text old_text origin "
        "person_name product_name receiver_email receiver_phone return_url "
        "source_external_id subdomain task_text thumbnail_url unsorted_action "
        "unsorted_any_category unsorted_category unsorted_source unsorted_source_uid",
    ),
}

FORMATS: dict[str, Schema] = {
    rule: schema for schema, rules in _BY_FORMAT.values() for rule in rules.split()
}

#: Rules whose values are numbers in a JSON body (Chats API hooks).
JSON_INTEGERS = frozenset(
    _BY_FORMAT["unix"][1].split() + _BY_FORMAT["msec"][1].split() + ["file_size"]
)

#: Rules that may leave their field out: a value amoCRM sends only sometimes.
SOMETIMES = frozenset(
    {
        "lead_price",  # a lead created from a chat has no price (2023 capture)
        "old_status_id_if_moved",  # only when the stage changed (2023 captures)
        "tags",  # none when the card has no tag
        "group_id",
        "linked_leads",  # only when the card has leads
        # a card with no custom field set has none (2023 and 2025 captures)
        "lead_custom_fields",
        "contact_custom_fields",
        "company_custom_fields",
        "customer_custom_fields",
        "catalog_custom_fields",
        "task_result",
        "old_text",
        "accept_result",
        "decline_result",
        "unsorted_source",  # chats only
        "unsorted_source_uid",
        "unsorted_request_id",  # forms only
        "attachment",  # a message with a file or picture
        "attachment_type",
        "emoji",  # not on unreact
    }
)

# -- the fields that are maps and lists --------------------------------------------------


def _map(
    required: dict[str, Schema],
    optional: dict[str, Schema] | None = None,
    title: str | None = None,
) -> Schema:
    """An object with these fields (those in ``optional`` may be absent)."""
    found: Schema = {"type": "object"}
    if title is not None:
        found["title"] = title
    found["properties"] = {**required, **(optional or {})}
    if required:
        found["required"] = list(required)
    return found


def _list(items: Schema) -> Schema:
    return {"type": "array", "items": items}


CUSTOM_FIELD_VALUE = _map({"value": TEXT}, {"enum": ID}, title="CustomFieldValue")
CUSTOM_FIELD = _map(
    {"id": ID},
    {
        "name": TEXT,
        # a list of {value[, enum]}; a date field's bare Unix time; a radiobutton's one map
        "values": {
            "anyOf": [
                _list({"anyOf": [CUSTOM_FIELD_VALUE, _string(DIGITS, "Unix time")]}),
                CUSTOM_FIELD_VALUE,
            ]
        },
        "code": TEXT,
    },
    title="CustomField",
)
CUSTOM_FIELDS = _list(CUSTOM_FIELD)

_NOTE = _map(
    {
        "text": TEXT,
        "attachement": TEXT,  # sic
        "date_create": DATETIME,
        "note_type": ID,
        "element_type": ID,
        "element_id": ID,
        "catalog_id": ID,
        "group_id": INTEGER,
        "timestamp_x": DATETIME,
        "account_id": ID,
        "metadata": _string(description="JSON text"),
        "created_by": ID,
        "modified_by": ID,
        "main_user_id": ID,
        "id": ID,
        "created_at": UNIX,
        "updated_at": UNIX,
    },
    title="Note",
)

_ORIGIN_OF_FORM = {"ip": TEXT, "datetime": UNIX, "referer": TEXT}
_FORM_FIELD = _map(
    {"type": TEXT, "id": TEXT, "element_type": ID, "name": TEXT, "value": TEXT},
    title="FormField",
)
_UNSORTED_CHAT = _map(
    {
        "from": TEXT,
        "name": TEXT,
        "to": TEXT,
        "date": UNIX,
        "service": TEXT,
        "site": TEXT,
        "client": _map({"name": TEXT, "id": ID, "picture": TEXT}, title="ChatClient"),
        "origin": _map({"provider": TEXT, "chat_id": UUID}, title="ChatOrigin"),
        "data": _list(
            _map({"id": UUID, "manager": ID, "date": UNIX, "text": TEXT}, title="ChatMessage")
        ),
        "source_uid": TEXT,
        "source": TEXT,
        "source_name": TEXT,
    },
    title="ChatSourceData",
)
_UNSORTED_FORM = _map(
    {
        "form_id": ID,
        "form_type": ID,
        "from": TEXT,
        "form_name": TEXT,
        "origin": _map(_ORIGIN_OF_FORM, title="FormOrigin"),
        # the form's fields by their names (name_1, phone_1...)
        "data": {"type": "object", "additionalProperties": _FORM_FIELD},
        "date": UNIX,
    },
    title="FormSourceData",
)
_UNSORTED_LEAD = _map(
    {
        "last_modified": UNIX,
        "name": TEXT,
        "pipeline_id": ID,
        "modified_user_id": ID,
        "date_create": UNIX,
        "custom_fields": CUSTOM_FIELDS,
        "visitor_uid": UUID,
        "source_id": ID,
        "gso_session_uid": TEXT,
        "form_request_id": TEXT,
    },
    title="UnsortedLead",
)

#: The shape of each rule whose values are maps or lists.
STRUCTURES: dict[str, Schema] = {
    "account_links": _map({"self": TEXT}, title="AccountLinks"),
    "tags": _list(_map({"id": ID, "name": TEXT}, title="Tag")),
    **{
        f"{entity}_custom_fields": CUSTOM_FIELDS
        for entity in ("lead", "contact", "company", "customer", "catalog")
    },
    # keyed by the lead's id: linked_leads_id[<id>][ID]=<id>
    "linked_leads": {
        "type": "object",
        "propertyNames": {"pattern": DIGITS},
        "additionalProperties": _map({"ID": ID}, title="LinkedLead"),
    },
    "note": _NOTE,
    "author": _map({"id": UUID, "type": TEXT, "name": TEXT}, {"avatar_url": TEXT}, title="Author"),
    "attachment": _map({"type": TEXT, "link": TEXT, "file_name": TEXT}, title="Attachment"),
    "task_result": _map({"id": ID, "text": TEXT}, title="TaskResult"),
    "accept_result": _map({"leads": _list(ID)}, title="AcceptResult"),
    "decline_result": _map({"leads": _list(ID)}, title="DeclineResult"),
    # an incoming chat, or a web form
    "unsorted_source_data": {"anyOf": [_UNSORTED_CHAT, _UNSORTED_FORM]},
    "unsorted_data": {
        "anyOf": [
            _map({"contacts": _list(_map({"id": ID}, title="UnsortedContact"))}),
            _map({"leads": _list(_UNSORTED_LEAD)}),
        ]
    },
    "unsorted_update_source_data": _map(
        {
            "form_id": ID,
            "form_type": ID,
            "date": UNIX,
            "from": TEXT,
            "form_name": TEXT,
            "source_uid": TEXT,
            "source": TEXT,
            "uid": TEXT,
            "origin": _map(
                {"ip": TEXT, "referer": TEXT, "visitor_uid": UUID, "datetime": UNIX},
                title="UpdateOrigin",
            ),
        },
        title="UpdateSourceData",
    ),
    "unsorted_update_data": _map(
        {
            "leads": _list(
                _map(
                    {
                        "id": ID,
                        "status_id": ID,
                        "pipeline_id": ID,
                        "name": TEXT,
                        "created_user_id": ID,
                        "date_create": UNIX,
                    },
                    title="UpdateLead",
                )
            ),
            "pipeline_id": ID,
            "source": TEXT,
            "source_uid": TEXT,
            "created_at": UNIX,
        },
        title="UpdateData",
    ),
    # what the bot step passes: set in the bot, these are amodp's
    "salesbot_data": _map(
        {}, {"contact": TEXT, "lead": ID, "customer": ID, "message": TEXT, "from": TEXT}
    ),
}

# -- older shapes ----------------------------------------------------------------------


@dataclass(frozen=True)
class OlderShape:
    """A shape amoCRM sent before today's: the fields it lacks, as paths into
    the decoded body (``*`` is any key or item). A body is in that shape when
    it lacks the first of them (its mark) too: a body of today that lost a
    field is not taken for an old one."""

    year: str
    kind: str
    lacks: tuple[tuple[str, ...], ...]
    what: str

    def explains(self, path: Iterable[object]) -> bool:
        """Whether a field missing at ``path`` is one this shape lacks."""
        return any(_matches(path, lacked) for lacked in self.lacks)

    def marked(self, missing: Iterable[Iterable[object]]) -> bool:
        """Whether the fields missing at these paths include its mark."""
        return any(_matches(path, self.lacks[0]) for path in missing)


def _matches(path: Iterable[object], pattern: tuple[str, ...]) -> bool:
    steps = [str(step) for step in path]
    return len(steps) == len(pattern) and all(
        p in ("*", s) for p, s in zip(pattern, steps, strict=True)
    )


_ITEM = ("*", "*", "*")

#: The older shapes of the kept captures (``tests/fixtures/captures/*.txt``):
#: the 2016 bodies, and the 2020 note.
OLDER_SHAPES = (
    OlderShape(
        "2016",
        "account",
        (
            ("account", "_links"),
            ("account", "id"),
            (*_ITEM, "account_id"),
            (*_ITEM, "created_at"),
            (*_ITEM, "updated_at"),
        ),
        "account[subdomain] only; items without account_id (contacts), created_at, updated_at",
    ),
    OlderShape(
        "2020",
        "account",
        tuple((*_ITEM, "note", name) for name in ("metadata", "attachement", "catalog_id")),
        "notes without attachement, catalog_id and metadata",
    ),
)

# -- schemas ---------------------------------------------------------------------------


def _leaf(spec: catalog.Event, field: catalog.Field, json_body: bool) -> Schema:
    """The schema of one field's value."""
    rule = field.gen
    if rule.startswith("same:"):
        other = rule.removeprefix("same:")
        return _leaf(spec, next(f for f in spec.fields if f.name == other), json_body)
    if rule == "const":
        value = field.options["value"]
        if value is None:
            return {"type": "null"}
        return {"const": value if json_body else str(value)}
    if "values" in field.options and rule not in STRUCTURES:
        values = field.options["values"]
        return {"enum": list(values) if json_body else [str(v) for v in values]}
    if rule in STRUCTURES:
        return STRUCTURES[rule]
    if json_body and rule in JSON_INTEGERS:
        number: Schema = {"type": "integer"}
        if "description" in FORMATS[rule]:
            number["description"] = FORMATS[rule]["description"]
        return number
    if rule not in FORMATS:
        raise UnknownEventError(f"{spec.name}: no format for the rule {rule!r} of {field.name}")
    return FORMATS[rule]


def _always(field: catalog.Field) -> bool:
    return field.gen not in SOMETIMES and "optional" not in field.options


def _fields(
    spec: catalog.Event, fields: Iterable[catalog.Field], title: str, json_body: bool = False
) -> Schema:
    """An object of fields; dotted names (``message.receiver.id``) nest."""
    tree: dict[str, Any] = {}
    for f in fields:
        *parents, leaf = f.name.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = (_leaf(spec, f, json_body), _always(f))
    return _object(tree, title)


def _object(tree: dict[str, Any], title: str | None) -> Schema:
    """A level of :func:`_fields`: a field is a (schema, always sent) pair; a
    level is sent when one of its fields always is."""
    properties: dict[str, Schema] = {}
    required = []
    for name, value in tree.items():
        if isinstance(value, tuple):
            properties[name], always = value
        else:
            properties[name] = _object(value, None)
            always = "required" in properties[name]
        if always:
            required.append(name)
    found: Schema = {"type": "object"}
    if title is not None:
        found["title"] = title
    found["properties"] = properties  # in the catalog's order: amoCRM's
    if required:
        found["required"] = required
    return found


def _title(text: str) -> str:
    return "".join(word.capitalize() for word in text.replace("_", " ").split())


def _webhook(spec: catalog.Event) -> Schema:
    item = _fields(spec, spec.fields, _title(spec.item))
    block = catalog.account_block(spec.kind)
    account = _fields(spec, block.fields, "Account")
    items = {"type": "array", "minItems": 1, "items": item}
    wire = spec.wire or spec.entity
    action = spec.wire_event or spec.event
    return {
        "$schema": DRAFT,
        "title": f"{spec.name} ({spec.kind})",
        "description": (
            f"{spec.description}. PHP's $_POST of the body {wire}[{action}][0][...] "
            "(what amodp decode prints): every value is a string; several items in one "
            "body are a list; the account block comes first or last."
        ),
        "type": "object",
        "properties": {
            wire: {"type": "object", "properties": {action: items}, "required": [action]},
            "account": account,
        },
        "required": [wire, "account"],
    }


def _callback(spec: catalog.Event) -> Schema:
    json_body = spec.content_type == "application/json"
    body = _fields(spec, spec.fields, _title(spec.name), json_body)
    what = (
        "the JSON body as sent (what amodp decode prints)"
        if json_body
        else "the query as PHP's $_GET (what amodp decode prints): every value is a string"
    )
    return {
        "$schema": DRAFT,
        "title": f"{spec.name} ({spec.kind})",
        "description": f"{spec.description}: {what}.",
        **{key: value for key, value in body.items() if key != "title"},
    }


def _loosen(schema: Any, kind: str, path: tuple[str, ...] = ()) -> Any:
    """A copy of ``schema`` in which what the older shapes lack is optional."""
    if not isinstance(schema, dict):
        return schema
    older = [shape for shape in OLDER_SHAPES if shape.kind == kind]
    found: Schema = {}
    for key, value in schema.items():
        if key == "properties":
            value = {n: _loosen(s, kind, (*path, n)) for n, s in value.items()}
        elif key in ("items", "additionalProperties"):
            value = _loosen(value, kind, (*path, "*"))
        elif key == "anyOf":
            value = [_loosen(s, kind, path) for s in value]
        elif key == "required":
            value = [n for n in value if not any(o.explains((*path, n)) for o in older)]
            if not value:
                continue
        found[key] = value
    return found


@lru_cache(maxsize=128)
def _current(kind: str, entity: str, event: str) -> Schema:
    spec = catalog.event(event, entity, kind)
    return _callback(spec) if kind in catalog.CALLBACK_KINDS else _webhook(spec)


def current_schema(spec: catalog.Event) -> Schema:
    """The schema of today's shape of ``spec`` (shared: do not change it),
    which :mod:`amodp.drift` compares real bodies with."""
    return _current(spec.kind, spec.entity, spec.event)


def body_schema(spec: catalog.Event) -> Schema:
    """The JSON Schema of what ``amodp decode`` prints for ``spec``: today's
    shape, and the older shapes of :data:`OLDER_SHAPES`.

    >>> found = body_schema(catalog.event("status", "leads", "dp"))
    >>> found["properties"]["leads"]["properties"]["status"]["items"]["required"]
    ['id', 'status_id', 'pipeline_id', 'old_status_id', 'old_pipeline_id']
    """
    return copy.deepcopy(_loosen(current_schema(spec), spec.kind))


def schemas(kind: str = "dp", entity: str | None = None) -> list[tuple[catalog.Event, Schema]]:
    """Every event of a kind (of one entity if given) with its :func:`body_schema`."""
    return [(spec, body_schema(spec)) for spec in catalog.events_of(kind, entity)]
