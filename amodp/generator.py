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

import json
import random
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from . import catalog
from .codec import decode, encode
from .errors import UsageError
from .fake import Fake
from .request import Request

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
        """A field's value: a string, a list/dict for structured fields, or
        None for a field this item does not have."""
        if name in self.values:
            return self.values[name]
        value = _RULES[gen](self) if gen != "const" else self.options[name]["value"]
        # None: the field is not in this item (old_status_id of a lead whose
        # stage did not change).
        if value is not None and not isinstance(value, (list, dict)):
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

#: Notes print their times in the account's time zone (Moscow in the captures:
#: created_at 1601242011 is date_create "2020-09-28 00:26:51"); tasks print
#: theirs in UTC (created_at 1726578449 is "2024-09-17 13:07:29").
_NOTE_OFFSET = 3 * 3600


def _stamp(unix: int, offset: int = 0) -> str:
    """``Y-m-d H:i:s``, as notes and tasks carry their dates."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(unix + offset))


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


def _chance(item: _Item, name: str, p: float) -> bool:
    """One coin per item and name, thrown once: fields can depend on it."""
    key = f"_{name}"
    if key not in item.values:
        item.values[key] = item.rng.random() < p
    return bool(item.values[key])


def _user(item: _Item) -> int:
    return item.rng.choice(item.account.users())


def _tags(item: _Item) -> list[dict[str, str]]:
    names = item.rng.sample(item.fake.table["tag"], item.rng.randint(0, 2))
    return [{"id": str(item.account.field_id("tag:" + n)), "name": n} for n in names]


# A lead created from a chat has an empty name and no price, and nobody has
# touched it yet: its user ids are 0 (2023 capture; Kommo's 2024 examples).
def _from_chat(item: _Item) -> bool:
    return _chance(item, "chat", 0.25)


def _untouched(item: _Item) -> bool:
    return _from_chat(item) and _chance(item, "untouched", 0.5)


def _lead_user(item: _Item) -> int:
    return 0 if _untouched(item) else _user(item)


def _old_status_id_if_moved(item: _Item) -> int | None:
    """``old_status_id`` is there only when the stage changed in this save."""
    if not _chance(item, "moved", 0.4):
        return None
    return _old_status_id(item)


def _field(item: _Item, name: str, values: Any, code: str | None = None) -> dict[str, Any]:
    field: dict[str, Any] = {"id": str(item.account.field_id(name)), "name": name}
    if values is not None:
        field["values"] = values
    if code is not None:
        field["code"] = code  # after values, as amoCRM sends it
    return field


def _enum(item: _Item, name: str, value: str) -> dict[str, str]:
    return {"value": value, "enum": str(item.account.field_id(f"{name}={value}"))}


def _when(item: _Item, days: int) -> int:
    return _int(item.get("created_at", "created_at")) + item.rng.randint(1, days) * 86400


def _address(item: _Item) -> str:
    # A textarea keeps the line breaks typed into it: \r\n.
    lines = [item.fake.pick("city"), item.fake.pick("street"), item.fake.pick("flat")]
    return "\r\n".join(lines)


def _lead_custom_fields(item: _Item) -> list[dict[str, Any]]:
    """A few of the account's lead fields, one of each type amoCRM has."""
    (source, city, budget, paid, services, measure, meeting, method, site, address) = (
        item.fake.table["lead_fields"]
    )
    rng = item.rng
    fields: list[dict[str, Any]] = [
        _field(item, source, [_enum(item, source, item.fake.pick("source"))])
    ]
    if rng.random() < 0.7:
        fields.append(_field(item, city, [{"value": item.fake.pick("city")}]))
    if rng.random() < 0.5:
        fields.append(_field(item, budget, [{"value": str(item.fake.price() or 1000)}]))
    if rng.random() < 0.4:
        fields.append(_field(item, paid, [{"value": "1"}]))
    if rng.random() < 0.4:
        chosen = rng.sample(item.fake.table["service"], rng.randint(1, 3))
        fields.append(_field(item, services, [_enum(item, services, v) for v in chosen]))
    if rng.random() < 0.5:
        # Date and date-time fields come as a bare values[0]=<unix time>.
        day = _when(item, 20) // 86400 * 86400 - 3 * 3600
        fields.append(_field(item, measure, [str(day)]))
    if rng.random() < 0.3:
        fields.append(_field(item, meeting, [str(_when(item, 20) // 900 * 900)]))
    if rng.random() < 0.3:
        # A radiobutton's values is one map, not a list (Kommo's 2024 examples).
        fields.append(_field(item, method, _enum(item, method, item.fake.pick("contact_method"))))
    if rng.random() < 0.3:
        fields.append(_field(item, site, [{"value": f"https://{item.account.subdomain}.ru/"}]))
    if rng.random() < 0.3:
        fields.append(_field(item, address, [{"value": _address(item)}]))
    return fields


def _coded(
    item: _Item, name: str, code: str, value: str | None, enum: str | None
) -> dict[str, Any]:
    """A field with a code; an empty one comes with no values at all."""
    if value is None:
        return _field(item, name, None, code)
    entry: dict[str, Any] = {"value": value}
    if enum is not None:
        entry["enum"] = str(item.account.field_id(f"{code}:{enum}"))
    return _field(item, name, [entry], code)


def _contact_custom_fields(item: _Item) -> list[dict[str, Any]]:
    first, last = _person(item)
    table = item.fake.table
    rng = item.rng
    phones = [item.fake.phone() for _ in range(rng.choice((1, 1, 1, 2)))]
    phone = _coded(item, table["phone_field"][0], "PHONE", phones[0], rng.choice(("WORK", "MOB")))
    for extra in phones[1:]:
        phone["values"].append({"value": extra, "enum": str(item.account.field_id("PHONE:MOB"))})
    fields = [phone]
    if rng.random() < 0.8:
        fields.append(
            _coded(item, table["email_field"][0], "EMAIL", item.fake.email(first, last), "WORK")
        )
    position = item.fake.pick("position") if rng.random() < 0.6 else None
    fields.append(_coded(item, table["position_field"][0], "POSITION", position, None))
    if rng.random() < 0.2:
        born = f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(1960, 2003)}"
        fields.append(_field(item, table["birthday_field"][0], [{"value": born}]))
    return fields


def _company_custom_fields(item: _Item) -> list[dict[str, Any]]:
    first, last = _person(item)
    table = item.fake.table
    fields = [
        _coded(item, table["phone_field"][0], "PHONE", item.fake.phone(), "WORK"),
        _coded(item, table["email_field"][0], "EMAIL", item.fake.email(first, last), "WORK"),
    ]
    if item.rng.random() < 0.4:
        web = f"https://{item.account.subdomain}.ru"
        fields.append(_coded(item, table["web_field"][0], "WEB", web, None))
    if item.rng.random() < 0.4:
        fields.append(_coded(item, table["address_field"][0], "ADDRESS", _address(item), None))
    return fields


def _catalog_custom_fields(item: _Item) -> list[dict[str, Any]]:
    table = item.fake.table
    price = item.fake.price() or 990
    fields = [
        _coded(item, "SKU", "SKU", f"{item.rng.randint(10_000, 99_999)}", None),
        _coded(item, "Price", "PRICE", str(price), None),
    ]
    if item.rng.random() < 0.5:
        text = f"{item.get('name', 'product_name')}\r\n{item.fake.pick('note')}"
        fields.append(_coded(item, table["description_field"][0], "DESCRIPTION", text, None))
    unit = item.fake.pick("unit")
    fields.append(_coded(item, table["unit_field"][0], "UNIT", unit, unit))
    if item.rng.random() < 0.3:
        fields.append(
            _coded(item, "Special price 1", "SPECIAL_PRICE_1", str(price * 9 // 10), None)
        )
    return fields


def _linked_leads(item: _Item) -> dict[int, dict[str, str]] | None:
    """``linked_leads_id[<lead id>][ID]=<lead id>``, when the card has leads
    (integer keys, as PHP decodes them)."""
    if item.rng.random() < 0.5:
        return None
    leads = sorted(item.rng.randint(10_000_000, 99_999_999) for _ in range(item.rng.randint(1, 2)))
    return {lead: {"ID": str(lead)} for lead in leads}


def _group_id(item: _Item) -> int | None:
    roll = item.rng.random()
    if roll < 0.7:
        return None
    return -1 if roll < 0.85 else item.account.field_id("group") % 400_000


def _note(item: _Item) -> dict[str, Any]:
    """The 2024 note: a text note, or (note_type 5) a file, which puts
    attachement (sic) elsewhere."""
    created = _int(item.get("created_at", "created_at"))
    updated = created + item.rng.randint(0, 60)
    element_type = item.options.get("note", {}).get("element_type", 2)
    element = (
        item.get("lead_id", "lead_id")
        if element_type == 2
        else item.rng.randint(10_000_000, 99_999_999)
    )
    user = item.rng.choice(item.account.users())
    first, last = _person(item)
    metadata = json.dumps(
        {"event_source": {"id": user, "author_name": f"{first} {last}", "type": 1}},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    media = item.rng.random() < 0.2
    head: dict[str, str]
    if media:
        name = item.fake.pick("file")
        # The stored file has a name of its own (Kommo's 2024 example).
        stored = f"{item.rng.getrandbits(64):016x}{name[name.rfind('.') :]}"
        attachment = f"drive/{_uuid(item)}/{_uuid(item)}/{stored}"
        head = {
            "text": name,
            "note_type": "5",
            "date_create": _stamp(created, _NOTE_OFFSET),
            "element_type": str(element_type),
            "element_id": str(element),
            "catalog_id": "0",
            "group_id": "0",
            "attachement": attachment,
        }
    else:
        head = {
            "text": item.fake.pick("note"),
            "attachement": "",
            "date_create": _stamp(created, _NOTE_OFFSET),
            "note_type": "4",
            "element_type": str(element_type),
            "element_id": str(element),
            "catalog_id": "0",
            "group_id": "0",
        }
    return head | {
        "timestamp_x": _stamp(updated, _NOTE_OFFSET),
        "account_id": str(item.account.id),
        "metadata": metadata,
        "created_by": str(user),
        "modified_by": str(user),
        "main_user_id": str(user),
        "id": str(item.rng.randint(100_000_000, 999_999_999)),
        "created_at": str(created),
        "updated_at": str(updated),
    }


def _uuid(item: _Item) -> str:
    return str(uuid.UUID(int=item.rng.getrandbits(128), version=4))


def _author(item: _Item) -> dict[str, str]:
    first, last = _person(item)
    author = {"id": _uuid(item), "type": "external", "name": f"{first} {last}"}
    if item.rng.random() < 0.7:
        author["avatar_url"] = (
            f"https://amojo.amocrm.ru/attachments/profiles/{_uuid(item)}/file_128x128.jpg"
        )
    return author


def _old_user_id(item: _Item) -> int:
    current = _int(item.get("responsible_user_id", "user_id"))
    choices = [u for u in item.account.users() if u != current] or [current + 1]
    return item.rng.choice(choices)


# -- tasks: dates as Y-m-d H:i:s in UTC, complete_before last as Unix time ------------


def _complete_before(item: _Item) -> int:
    # Deadlines fall at the end of a day in Moscow: 20:59:00 UTC.
    day = _int(item.get("created_at", "created_at")) // 86400 + item.rng.randint(0, 14)
    return day * 86400 + 20 * 3600 + 59 * 60


def _task_element_id(item: _Item) -> int:
    if item.get("element_type", "task_element_type") == "2":
        return _int(item.get("lead_id", "lead_id"))
    return item.rng.randint(10_000_000, 99_999_999)


def _task_status_any(item: _Item) -> int:
    return 1 if _chance(item, "done", 0.4) else 0


def _task_result(item: _Item) -> dict[str, str] | None:
    if item.get("status", "task_status_any") != "1" or item.rng.random() < 0.6:
        return None
    return {"id": str(item.rng.randint(1_000_000, 9_999_999)), "text": item.fake.pick("note")}


def _action_close(item: _Item) -> int:
    closed = item.get("status", "task_status") == "1"
    return 1 if closed and item.get("result", "task_result") is None else 0


def _old_text(item: _Item) -> str | None:
    if item.get("result", "task_result") is not None:
        return None
    text = str(item.get("text", "task_text"))
    return text if item.rng.random() < 0.6 else item.fake.pick("task")


# -- unsorted: the shape depends on the category ---------------------------------------

_CHAT_SERVICES = {
    "telegram": "Telegram",
    "whatsapp": "WhatsApp",
    "instagram": "Instagram",
    "avito": "Avito",
    "vk": "VK",
}


def _is_chat(item: _Item) -> bool:
    return item.get("category", "unsorted_category") == "chats"


def _chat(item: _Item) -> dict[str, str]:
    """The chat an incoming lead came from, shared by its fields."""
    chat = item.values.get("_chat_of")
    if chat is None:
        service = item.rng.choice(list(_CHAT_SERVICES))
        chat = {
            "service": service,
            "scope": _uuid(item),
            "chat": _uuid(item),
            "bot": f"{item.account.subdomain.upper()}BOT",
        }
        item.values["_chat_of"] = chat
    return chat


def _unsorted_source(item: _Item) -> str | None:
    if not _is_chat(item):
        return None
    chat = _chat(item)
    return f"{chat['service']}:{chat['scope']}"


def _unsorted_source_uid(item: _Item) -> str | None:
    if not _is_chat(item):
        return None
    chat = _chat(item)
    return f"amojo:{chat['service']}:{chat['chat']}"


def _form(item: _Item) -> dict[str, str]:
    form = item.values.get("_form_of")
    if form is None:
        number = item.account.field_id("form") + item.rng.randint(0, 3)
        form = {"id": str(number), "name": f"{item.fake.pick('form')} #{number}"}
        item.values["_form_of"] = form
    return form


def _unsorted_source_data(item: _Item) -> dict[str, Any]:
    created = str(item.get("created_at", "created_at"))
    first, last = _person(item)
    if _is_chat(item):
        chat = _chat(item)
        name = f"{first} {last}"
        return {
            "from": name,
            "name": name,
            "to": chat["scope"],
            "date": created,
            "service": chat["service"],
            "site": _CHAT_SERVICES[chat["service"]],
            "client": {
                "name": name,
                "id": str(item.rng.randint(100_000_000, 9_999_999_999)),
                "picture": f"https://amojo.amocrm.ru/attachments/profiles/{_uuid(item)}/file_128x128.jpg",
            },
            "origin": {"provider": "amojo", "chat_id": chat["chat"]},
            "data": [
                {
                    "id": _uuid(item),
                    "manager": "0",
                    "date": created,
                    "text": item.fake.pick("message"),
                }
            ],
            "source_uid": f"amojo:{chat['service']}:{chat['chat']}",
            "source": f"{chat['service']}:{chat['scope']}",
            "source_name": chat["bot"],
        }
    form = _form(item)
    return {
        "form_id": form["id"],
        "form_type": "1",
        "from": f"{form['name']}",
        "form_name": form["name"],
        "origin": {
            "ip": ".".join(str(item.rng.randint(1, 254)) for _ in range(4)),
            "datetime": created,
            "referer": f"https://{item.account.subdomain}.ru/",
        },
        "data": {
            "name_1": {
                "type": "text",
                "id": "name_1",
                "element_type": "1",
                "name": "Name",
                "value": f"{first} {last}",
            },
            "phone_1": {
                "type": "multitext",
                "id": "phone_1",
                "element_type": "1",
                "name": "Phone",
                "value": item.fake.phone(),
            },
        },
        "date": created,
    }


def _unsorted_data(item: _Item) -> dict[str, Any]:
    if _is_chat(item):
        return {"contacts": [{"id": str(item.get("contact_id", "contact_id"))}]}
    created = str(item.get("created_at", "created_at"))
    return {
        "leads": [
            {
                "last_modified": created,
                "name": item.fake.pick("deal"),
                "pipeline_id": str(item.get("pipeline_id", "pipeline_id")),
                "modified_user_id": "0",
                "date_create": created,
                "custom_fields": [
                    {
                        "id": str(item.account.field_id("REFERRER")),
                        "code": "REFERRER",
                        "values": [{"value": f"https://{item.account.subdomain}.ru/"}],
                    }
                ],
                "visitor_uid": _uuid(item),
                "source_id": str(item.get("source_id", "unsorted_source_id")),
                "gso_session_uid": "null",
                "form_request_id": f"{item.rng.getrandbits(60):015x}"[:10],
            }
        ]
    }


def _unsorted_update_source_data(item: _Item) -> dict[str, Any]:
    form = _form(item)
    created = str(item.get("created_at", "created_at"))
    return {
        "form_id": form["id"],
        "form_type": "1",
        "date": created,
        "from": str(item.get("source", "form_title")),
        "form_name": form["name"],
        "source_uid": str(item.account.field_id("source_uid")),
        "source": str(item.get("_source_id", "unsorted_source_id")),
        "uid": str(item.rng.randint(10_000_000, 99_999_999)),
        "origin": {
            "ip": ".".join(str(item.rng.randint(1, 254)) for _ in range(4)),
            "referer": f"https://{item.account.subdomain}.ru/",
            "visitor_uid": _uuid(item),
            "datetime": created,
        },
    }


def _unsorted_update_data(item: _Item) -> dict[str, Any]:
    created = str(item.get("created_at", "created_at"))
    pipeline = str(item.get("pipeline_id", "pipeline_id"))
    return {
        "leads": [
            {
                "id": str(item.get("lead_id", "lead_id")),
                "status_id": str(item.get("status_id", "status_id")),
                "pipeline_id": pipeline,
                "name": item.fake.pick("deal"),
                "created_user_id": "0",
                "date_create": created,
            }
        ],
        "pipeline_id": pipeline,
        "source": str(item.get("_source_id", "unsorted_source_id")),
        "source_uid": str(item.account.field_id("source_uid")),
        "created_at": created,
    }


def _unsorted_result(item: _Item, action: str) -> dict[str, list[str]] | None:
    if item.get("action", "unsorted_action") != action:
        return None
    return {"leads": [str(item.get("lead_id", "lead_id"))]}


def _attachment(item: _Item) -> dict[str, str] | None:
    kind = item.get("message_type", "message_type")
    if kind is None:
        return None
    name = {"picture": "file.jpeg", "voice": "voice.ogg"}.get(str(kind), item.fake.pick("file"))
    link = f"https://amojo.amocrm.ru/v2/{_uuid(item)}/attachments/{_uuid(item)}/{name}"
    return {"type": str(kind), "link": link, "file_name": name}


def _message_text(item: _Item) -> str:
    kind = item.get("message_type", "message_type")
    return "" if kind in ("picture", "voice") else item.fake.pick("message")


_RULES: dict[str, Callable[[_Item], Any]] = {
    "contact_id": lambda item: item.rng.randint(10_000_000, 99_999_999),
    "company_id": lambda item: item.rng.randint(10_000_000, 99_999_999),
    "task_id": lambda item: item.rng.randint(10_000_000, 99_999_999),
    "talk_id": lambda item: item.rng.randint(1_000, 999_999),
    "catalog_id": lambda item: item.account.field_id("catalog") % 20_000,
    "catalog_element_id": lambda item: item.rng.randint(100_000, 9_999_999),
    "uuid": _uuid,
    "unsorted_uid": lambda item: f"{item.rng.getrandbits(240):060x}",
    "unsorted_category": lambda item: item.rng.choice(("chats", "forms")),
    "unsorted_any_category": lambda item: item.rng.choice(("chats", "forms", "mail", "sip")),
    "unsorted_source": _unsorted_source,
    "unsorted_source_uid": _unsorted_source_uid,
    "unsorted_source_data": _unsorted_source_data,
    "unsorted_data": _unsorted_data,
    "unsorted_request_id": lambda item: None if _is_chat(item) else 0,
    "unsorted_source_id": lambda item: item.account.field_id("source_id") * 37 % 90_000_000,
    "unsorted_update_source_data": _unsorted_update_source_data,
    "unsorted_update_data": _unsorted_update_data,
    "unsorted_action": lambda item: item.rng.choice(("accept", "decline")),
    "accept_result": lambda item: _unsorted_result(item, "accept"),
    "decline_result": lambda item: _unsorted_result(item, "decline"),
    "form_title": lambda item: _form(item)["name"],
    "lead_id_same": lambda item: item.get("element_id", "lead_id"),
    "user_id": _user,
    "creator_id": _user,
    "modifier_id": _user,
    "same_user_id": lambda item: item.get("responsible_user_id", "user_id"),
    "old_user_id": _old_user_id,
    "lead_name": lambda item: "" if _from_chat(item) else item.fake.pick("deal"),
    "lead_price": lambda item: None if _from_chat(item) else item.fake.price(),
    "lead_user": _lead_user,
    "lead_modifier": _lead_user,
    "lead_creator": lambda item: 0 if _from_chat(item) else _user(item),
    "old_status_id_if_moved": _old_status_id_if_moved,
    "contact_user": lambda item: 0 if _chance(item, "chat", 0.15) else _user(item),
    "contact_creator": lambda item: 0 if _chance(item, "chat", 0.15) else _user(item),
    "group_id": _group_id,
    "linked_leads": _linked_leads,
    "deal_name": lambda item: item.fake.pick("deal"),
    "person_name": lambda item: " ".join(_person(item)),
    "company_name": lambda item: item.fake.pick("company"),
    "product_name": lambda item: item.fake.pick("product"),
    "task_text": lambda item: item.fake.pick("task"),
    "task_type": lambda item: item.rng.choice((1, 1, 2, 3)),
    "task_element_type": lambda item: item.rng.choice((2, 2, 2, 1, 3)),
    "task_element_id": _task_element_id,
    "task_creator": lambda item: 0 if item.rng.random() < 0.1 else _user(item),
    "task_status": lambda item: 0,
    "task_status_any": _task_status_any,
    "task_result": _task_result,
    "action_close": _action_close,
    "old_text": _old_text,
    "task_date_create": lambda item: _stamp(_int(item.get("created_at", "created_at"))),
    "task_last_modified": lambda item: _stamp(_int(item.get("updated_at", "updated_at"))),
    "complete_before": _complete_before,
    "complete_till": lambda item: _stamp(_int(item.get("complete_before", "complete_before"))),
    "message_text": _message_text,
    "message_type": lambda item: (
        None if item.rng.random() < 0.85 else item.rng.choice(("picture", "voice", "file"))
    ),
    "attachment": _attachment,
    "price": lambda item: item.fake.price(),
    "created_at": _created_at,
    "updated_at": _updated_at,
    "same_created_at": lambda item: item.get("created_at", "created_at"),
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
        _field(
            item,
            item.fake.table["lead_field"][0],
            [_enum(item, "source", item.fake.pick("source"))],
        )
    ],
    "catalog_custom_fields": _catalog_custom_fields,
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


#: the headers of a webhook, in the order amoCRM sends them (Host and
#: Content-Length are filled in from the URL and the body)
def _headers(request_id: str) -> tuple[tuple[str, str], ...]:
    return (
        ("Host", ""),
        ("User-Agent", USER_AGENT),
        ("Content-Type", CONTENT_TYPE),
        ("X-Amocrm-Requestid", request_id),
        ("Accept-Encoding", "gzip"),
        ("Content-Length", ""),
    )


def _webhook(spec: catalog.Event, data: dict[str, Any], request_id: str, url: str) -> Request:
    body = encode(data).encode("ascii")
    return Request(spec, spec.kind, "POST", url, body, request_id, data, _headers(request_id))


#: what :func:`generate` returned before every kind was one :class:`Request`
Webhook = Request


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
        items.append({k: v for k, v in values.items() if v is not None and v != [] and v != {}})
    acct_spec = catalog.account_block(spec.kind)
    acct_item = _Item(rng, account, {}, fake)
    acct = {f.name: acct_item.get(f.name, f.gen) for f in acct_spec.fields}
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
    if kind in catalog.CALLBACK_KINDS:
        _webhook_only(
            kind, entity=entity, count=count, overrides=overrides, account_seed=account_seed
        )
        from . import callbacks

        _check_numbers(seed, 1)
        return callbacks.generate(
            event,
            kind=kind,
            seed=seed,
            url=url,
            rng=rng,
            locale=locale,
            secret=secret,
            flaw=flaw,
            now=now,
            client_uuid=client_uuid,
            style=style,
        )
    _callback_only(kind, secret=secret, flaw=flaw, now=now, client_uuid=client_uuid, style=style)
    spec = catalog.event(event, entity, kind)
    _check_numbers(seed, count)
    seeded = rng is not None or seed is not None
    if rng is None:
        rng = random.Random(seed)
    split = _split_overrides(spec, list(overrides), strict=True)
    assert split is not None
    fields, paths = split
    account = _Account(rng if account_seed is None else random.Random(account_seed))
    data = _build(spec, rng, account, count, fields, paths, locale)
    return _webhook(spec, data, _request_id(rng if seeded else None), url)


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
    if kind in catalog.CALLBACK_KINDS:
        overrides = list(overrides)
        _webhook_only(kind, entity=entity, count=count, overrides=overrides)
        from . import callbacks

        _check_numbers(seed, 1)
        return callbacks.generate_all(
            kind,
            seed=seed,
            secret=secret,
            flaw=flaw,
            url=url,
            now=now,
            client_uuid=client_uuid,
            style=style,
            locale=locale,
        )
    _callback_only(kind, secret=secret, flaw=flaw, now=now, client_uuid=client_uuid, style=style)
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
        hooks.append(_webhook(spec, data, request_id, url))
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


def _callback_only(kind: str, **given: Any) -> None:
    """A UsageError (``param``: the first) when a signing option is given for a webhook."""
    for name, value in given.items():
        if value not in (None, "compact"):
            raise UsageError(
                f"{name} is for the callbacks (chat, salesbot, oauth), not {kind} webhooks",
                param=name,
            )


def _missing_fields(spec: catalog.Event, overrides: Iterable[tuple[str, str]]) -> list[str]:
    names = (n for n, _ in overrides if "[" not in n and n not in spec.field_names)
    return list(dict.fromkeys(names))
