"""The values of every generated request, made by the rules the catalog names.

Each field of a data file in ``amodp/events/<kind>/`` names its rule in
``gen``; :data:`RULES` maps every name to one function of one signature,
``rule(values, field_name)``, for webhooks and callbacks alike. A rule reads
the account, the fake-data tables and the values made before it (or makes
them now) from :class:`Values`, so that the values of one request are
coherent: one account's pipelines and stages, ``old_status_id`` unlike
``status_id``, a media message's file name in its URL.

Standard library only.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .fake import WINDOW, Account, Fake

__all__ = ["RULES", "Rule", "Values"]

WON, LOST = 142, 143


@dataclass
class Values:
    """The values of one request (an item of a webhook, or a callback), made
    on demand so that rules can depend on each other and on the user's fixed
    values."""

    rng: random.Random
    fake: Fake
    account: Account
    #: each field's rule (``gen``) and the rest of its entry in the data file
    options: dict[str, dict[str, Any]]
    #: the values made so far (and those the user fixed), by field name
    made: dict[str, Any] = field(default_factory=dict)
    # What callbacks need: where it goes, the clock (a Salesbot token is valid
    # from now on), the integration and the moment the hook was sent.
    url: str = ""
    now: int = 0
    client_uuid: str = ""
    time: int = 0

    def get(self, name: str, gen: str | None = None) -> Any:
        """A field's value, made now by its rule if it is not made yet; one
        this request does not have is made by ``gen``, or else by the rule of
        its name. None: the request does not carry the field (``old_status_id``
        when the stage stayed)."""
        if name not in self.made:
            entry = self.options.get(name) or {"gen": gen or name}
            rule = entry["gen"]
            if rule == "const":
                self.made[name] = entry["value"]
            elif rule.startswith("same:"):
                self.made[name] = self.get(rule.removeprefix("same:"))
            else:
                self.made[name] = RULES[rule](self, name)
        return self.made[name]

    def person(self) -> tuple[str, str]:
        """The one person (first name, last name) a request speaks of."""
        if "_person" not in self.made:
            self.made["_person"] = self.fake.person()
        first, last = self.made["_person"]
        return first, last

    def chance(self, name: str, p: float) -> bool:
        """One coin per request and name, thrown once: fields can depend on it."""
        key = f"_{name}"
        if key not in self.made:
            self.made[key] = self.rng.random() < p
        return bool(self.made[key])


Rule = Callable[[Values, str], Any]


# -- webhooks ---------------------------------------------------------------------------


def _stages(v: Values, pipeline: int) -> list[int]:
    stages = v.account.pipelines.get(pipeline)
    if not stages:
        first = v.rng.randint(10_000_000, 99_999_000)
        stages = v.account.pipelines[pipeline] = [first + i * 3 for i in range(5)]
    return stages


def _int(value: str | int) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def _status_id(v: Values, _: str) -> int:
    roll = v.rng.random()
    if roll < 0.15:
        return WON
    if roll < 0.25:
        return LOST
    return v.rng.choice(_stages(v, _int(v.get("pipeline_id"))))


def _old_pipeline_id(v: Values, _: str) -> int:
    current = _int(v.get("pipeline_id"))
    others = [p for p in v.account.pipelines if p != current]
    if others and v.rng.random() < 0.2:
        return v.rng.choice(others)
    return current


def _old_status_id(v: Values, _: str) -> int:
    old_pipeline = _int(v.get("old_pipeline_id"))
    new = _int(v.get("status_id"))
    choices = [s for s in _stages(v, old_pipeline) if s != new]
    return v.rng.choice(choices)


def _another(v: Values, current: int, among: list[int]) -> int:
    """One of ``among`` other than ``current`` (``current + 1`` if there is none)."""
    return v.rng.choice([x for x in among if x != current] or [current + 1])


#: Notes print their times in the account's time zone (Moscow in the captures:
#: created_at 1601242011 is date_create "2020-09-28 00:26:51"); tasks print
#: theirs in UTC (created_at 1726578449 is "2024-09-17 13:07:29").
_NOTE_OFFSET = 3 * 3600


def _stamp(unix: int, offset: int = 0) -> str:
    """``Y-m-d H:i:s``, as notes and tasks carry their dates."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(unix + offset))


def _user(v: Values) -> int:
    return v.rng.choice(v.account.users())


def _tags(v: Values, _: str) -> list[dict[str, str]]:
    names = v.rng.sample(v.fake.table["tag"], v.rng.randint(0, 2))
    return [{"id": str(v.account.field_id("tag:" + n)), "name": n} for n in names]


# A lead created from a chat has an empty name and no price, and nobody has
# touched it yet: its user ids are 0 (2023 capture; Kommo's 2024 examples).
def _from_chat(v: Values) -> bool:
    return v.chance("chat", 0.25)


def _lead_user(v: Values, _: str) -> int:
    return 0 if _from_chat(v) and v.chance("untouched", 0.5) else _user(v)


def _field(v: Values, name: str, values: Any, code: str | None = None) -> dict[str, Any]:
    field: dict[str, Any] = {"id": str(v.account.field_id(name)), "name": name}
    if values is not None:
        field["values"] = values
    if code is not None:
        field["code"] = code  # after values, as amoCRM sends it
    return field


def _enum(v: Values, name: str, value: str) -> dict[str, str]:
    return {"value": value, "enum": str(v.account.field_id(f"{name}={value}"))}


def _when(v: Values, days: int) -> int:
    return _int(v.get("created_at")) + v.rng.randint(1, days) * 86400


def _address(v: Values) -> str:
    # A textarea keeps the line breaks typed into it: \r\n.
    lines = [v.fake.pick("city"), v.fake.pick("street"), v.fake.pick("flat")]
    return "\r\n".join(lines)


def _lead_custom_fields(v: Values, _: str) -> list[dict[str, Any]]:
    """A few of the account's lead fields, one of each type amoCRM has."""
    names = v.fake.table["lead_fields"]
    source, city, budget, paid, services, measure, meeting, method, site, address = names
    rng = v.rng
    fields: list[dict[str, Any]] = [_field(v, source, [_enum(v, source, v.fake.pick("source"))])]
    if rng.random() < 0.7:
        fields.append(_field(v, city, [{"value": v.fake.pick("city")}]))
    if rng.random() < 0.5:
        fields.append(_field(v, budget, [{"value": str(v.fake.price() or 1000)}]))
    if rng.random() < 0.4:
        fields.append(_field(v, paid, [{"value": "1"}]))
    if rng.random() < 0.4:
        chosen = rng.sample(v.fake.table["service"], rng.randint(1, 3))
        fields.append(_field(v, services, [_enum(v, services, value) for value in chosen]))
    if rng.random() < 0.5:
        # Date and date-time fields come as a bare values[0]=<unix time>.
        day = _when(v, 20) // 86400 * 86400 - 3 * 3600
        fields.append(_field(v, measure, [str(day)]))
    if rng.random() < 0.3:
        fields.append(_field(v, meeting, [str(_when(v, 20) // 900 * 900)]))
    if rng.random() < 0.3:
        # A radiobutton's values is one map, not a list (Kommo's 2024 examples).
        fields.append(_field(v, method, _enum(v, method, v.fake.pick("contact_method"))))
    if rng.random() < 0.3:
        fields.append(_field(v, site, [{"value": f"https://{v.account.subdomain}.ru/"}]))
    if rng.random() < 0.3:
        fields.append(_field(v, address, [{"value": _address(v)}]))
    return fields


def _coded(v: Values, name: str, code: str, value: str | None, enum: str | None) -> dict[str, Any]:
    """A field with a code; an empty one comes with no values at all."""
    if value is None:
        return _field(v, name, None, code)
    entry: dict[str, Any] = {"value": value}
    if enum is not None:
        entry["enum"] = str(v.account.field_id(f"{code}:{enum}"))
    return _field(v, name, [entry], code)


def _contact_custom_fields(v: Values, _: str) -> list[dict[str, Any]]:
    first, last = v.person()
    table = v.fake.table
    rng = v.rng
    phones = [v.fake.phone() for _ in range(rng.choice((1, 1, 1, 2)))]
    phone = _coded(v, table["phone_field"][0], "PHONE", phones[0], rng.choice(("WORK", "MOB")))
    for extra in phones[1:]:
        phone["values"].append({"value": extra, "enum": str(v.account.field_id("PHONE:MOB"))})
    fields = [phone]
    if rng.random() < 0.8:
        fields.append(
            _coded(v, table["email_field"][0], "EMAIL", v.fake.email(first, last), "WORK")
        )
    position = v.fake.pick("position") if rng.random() < 0.6 else None
    fields.append(_coded(v, table["position_field"][0], "POSITION", position, None))
    if rng.random() < 0.2:
        born = f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(1960, 2003)}"
        fields.append(_field(v, table["birthday_field"][0], [{"value": born}]))
    return fields


def _company_custom_fields(v: Values, _: str) -> list[dict[str, Any]]:
    first, last = v.person()
    table = v.fake.table
    fields = [
        _coded(v, table["phone_field"][0], "PHONE", v.fake.phone(), "WORK"),
        _coded(v, table["email_field"][0], "EMAIL", v.fake.email(first, last), "WORK"),
    ]
    if v.rng.random() < 0.4:
        web = f"https://{v.account.subdomain}.ru"
        fields.append(_coded(v, table["web_field"][0], "WEB", web, None))
    if v.rng.random() < 0.4:
        fields.append(_coded(v, table["address_field"][0], "ADDRESS", _address(v), None))
    return fields


def _catalog_custom_fields(v: Values, _: str) -> list[dict[str, Any]]:
    table = v.fake.table
    price = v.fake.price() or 990
    fields = [
        _coded(v, "SKU", "SKU", f"{v.rng.randint(10_000, 99_999)}", None),
        _coded(v, "Price", "PRICE", str(price), None),
    ]
    if v.rng.random() < 0.5:
        text = f"{v.get('name', 'product_name')}\r\n{v.fake.pick('note')}"
        fields.append(_coded(v, table["description_field"][0], "DESCRIPTION", text, None))
    unit = v.fake.pick("unit")
    fields.append(_coded(v, table["unit_field"][0], "UNIT", unit, unit))
    if v.rng.random() < 0.3:
        fields.append(_coded(v, "Special price 1", "SPECIAL_PRICE_1", str(price * 9 // 10), None))
    return fields


def _linked_leads(v: Values, _: str) -> dict[int, dict[str, str]] | None:
    """``linked_leads_id[<lead id>][ID]=<lead id>``, when the card has leads
    (integer keys, as PHP decodes them)."""
    if v.rng.random() < 0.5:
        return None
    leads = sorted(v.rng.randint(10_000_000, 99_999_999) for _ in range(v.rng.randint(1, 2)))
    return {lead: {"ID": str(lead)} for lead in leads}


def _group_id(v: Values, _: str) -> int | None:
    roll = v.rng.random()
    if roll < 0.7:
        return None
    return -1 if roll < 0.85 else v.account.field_id("group") % 400_000


def _note(v: Values, _: str) -> dict[str, Any]:
    """The 2024 note: a text note, or (note_type 5) a file, which puts
    attachement (sic) elsewhere."""
    created = _int(v.get("created_at"))
    updated = created + v.rng.randint(0, 60)
    element_type = v.options.get("note", {}).get("element_type", 2)
    element = v.get("lead_id") if element_type == 2 else v.rng.randint(10_000_000, 99_999_999)
    user = _user(v)
    first, last = v.person()
    metadata = json.dumps(
        {"event_source": {"id": user, "author_name": f"{first} {last}", "type": 1}},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    media = v.rng.random() < 0.2
    head: dict[str, str]
    if media:
        name = v.fake.pick("file")
        # The stored file has a name of its own (Kommo's 2024 example).
        stored = f"{v.rng.getrandbits(64):016x}{name[name.rfind('.') :]}"
        attachment = f"drive/{v.fake.uuid()}/{v.fake.uuid()}/{stored}"
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
            "text": v.fake.pick("note"),
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
        "account_id": str(v.account.id),
        "metadata": metadata,
        "created_by": str(user),
        "modified_by": str(user),
        "main_user_id": str(user),
        "id": str(v.rng.randint(100_000_000, 999_999_999)),
        "created_at": str(created),
        "updated_at": str(updated),
    }


def _author(v: Values, _: str) -> dict[str, str]:
    first, last = v.person()
    author = {"id": v.fake.uuid(), "type": "external", "name": f"{first} {last}"}
    if v.rng.random() < 0.7:
        author["avatar_url"] = (
            f"https://amojo.amocrm.ru/attachments/profiles/{v.fake.uuid()}/file_128x128.jpg"
        )
    return author


# -- tasks: dates as Y-m-d H:i:s in UTC, complete_before last as Unix time ------------


def _complete_before(v: Values, _: str) -> int:
    # Deadlines fall at the end of a day in Moscow: 20:59:00 UTC.
    day = _int(v.get("created_at")) // 86400 + v.rng.randint(0, 14)
    return day * 86400 + 20 * 3600 + 59 * 60


def _task_element_id(v: Values, _: str) -> int:
    if str(v.get("element_type", "task_element_type")) == "2":
        return _int(v.get("lead_id"))
    return v.rng.randint(10_000_000, 99_999_999)


def _task_result(v: Values, _: str) -> dict[str, str] | None:
    if str(v.get("status", "task_status_any")) != "1" or v.rng.random() < 0.6:
        return None
    return {"id": str(v.rng.randint(1_000_000, 9_999_999)), "text": v.fake.pick("note")}


def _action_close(v: Values, _: str) -> int:
    closed = str(v.get("status", "task_status")) == "1"
    return 1 if closed and v.get("result", "task_result") is None else 0


def _old_text(v: Values, _: str) -> str | None:
    if v.get("result", "task_result") is not None:
        return None
    text = str(v.get("text", "task_text"))
    return text if v.rng.random() < 0.6 else v.fake.pick("task")


# -- unsorted: the shape depends on the category ---------------------------------------

_CHAT_SERVICES = {
    "telegram": "Telegram",
    "whatsapp": "WhatsApp",
    "instagram": "Instagram",
    "avito": "Avito",
    "vk": "VK",
}


def _is_chat(v: Values) -> bool:
    return v.get("category", "unsorted_category") == "chats"


def _chat(v: Values) -> dict[str, str]:
    """The chat an incoming lead came from, shared by its fields."""
    chat = v.made.get("_chat_of")
    if chat is None:
        service = v.rng.choice(list(_CHAT_SERVICES))
        scope, chat_id = v.fake.uuid(), v.fake.uuid()
        chat = {
            "service": service,
            "scope": scope,
            "chat": chat_id,
            "bot": f"{v.account.subdomain.upper()}BOT",
            "source": f"{service}:{scope}",
            "source_uid": f"amojo:{service}:{chat_id}",
        }
        v.made["_chat_of"] = chat
    return chat


def _form(v: Values) -> dict[str, str]:
    form = v.made.get("_form_of")
    if form is None:
        number = v.account.field_id("form") + v.rng.randint(0, 3)
        form = {"id": str(number), "name": f"{v.fake.pick('form')} #{number}"}
        v.made["_form_of"] = form
    return form


def _unsorted_source_data(v: Values, _: str) -> dict[str, Any]:
    created = str(v.get("created_at"))
    first, last = v.person()
    if _is_chat(v):
        chat = _chat(v)
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
                "id": str(v.rng.randint(100_000_000, 9_999_999_999)),
                "picture": f"https://amojo.amocrm.ru/attachments/profiles/{v.fake.uuid()}/file_128x128.jpg",
            },
            "origin": {"provider": "amojo", "chat_id": chat["chat"]},
            "data": [
                {
                    "id": v.fake.uuid(),
                    "manager": "0",
                    "date": created,
                    "text": v.fake.pick("message"),
                }
            ],
            "source_uid": chat["source_uid"],
            "source": chat["source"],
            "source_name": chat["bot"],
        }
    form = _form(v)
    return {
        "form_id": form["id"],
        "form_type": "1",
        "from": f"{form['name']}",
        "form_name": form["name"],
        "origin": {
            "ip": ".".join(str(v.rng.randint(1, 254)) for _ in range(4)),
            "datetime": created,
            "referer": f"https://{v.account.subdomain}.ru/",
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
                "value": v.fake.phone(),
            },
        },
        "date": created,
    }


def _unsorted_data(v: Values, _: str) -> dict[str, Any]:
    if _is_chat(v):
        return {"contacts": [{"id": str(v.get("contact_id"))}]}
    created = str(v.get("created_at"))
    return {
        "leads": [
            {
                "last_modified": created,
                "name": v.fake.pick("deal"),
                "pipeline_id": str(v.get("pipeline_id")),
                "modified_user_id": "0",
                "date_create": created,
                "custom_fields": [
                    {
                        "id": str(v.account.field_id("REFERRER")),
                        "code": "REFERRER",
                        "values": [{"value": f"https://{v.account.subdomain}.ru/"}],
                    }
                ],
                "visitor_uid": v.fake.uuid(),
                "source_id": str(v.get("source_id", "unsorted_source_id")),
                "gso_session_uid": "null",
                "form_request_id": f"{v.rng.getrandbits(60):015x}"[:10],
            }
        ]
    }


def _unsorted_update_source_data(v: Values, _: str) -> dict[str, Any]:
    form = _form(v)
    created = str(v.get("created_at"))
    return {
        "form_id": form["id"],
        "form_type": "1",
        "date": created,
        "from": str(v.get("source", "form_title")),
        "form_name": form["name"],
        "source_uid": str(v.account.field_id("source_uid")),
        "source": str(v.get("_source_id", "unsorted_source_id")),
        "uid": str(v.rng.randint(10_000_000, 99_999_999)),
        "origin": {
            "ip": ".".join(str(v.rng.randint(1, 254)) for _ in range(4)),
            "referer": f"https://{v.account.subdomain}.ru/",
            "visitor_uid": v.fake.uuid(),
            "datetime": created,
        },
    }


def _unsorted_update_data(v: Values, _: str) -> dict[str, Any]:
    created = str(v.get("created_at"))
    pipeline = str(v.get("pipeline_id"))
    return {
        "leads": [
            {
                "id": str(v.get("lead_id")),
                "status_id": str(v.get("status_id")),
                "pipeline_id": pipeline,
                "name": v.fake.pick("deal"),
                "created_user_id": "0",
                "date_create": created,
            }
        ],
        "pipeline_id": pipeline,
        "source": str(v.get("_source_id", "unsorted_source_id")),
        "source_uid": str(v.account.field_id("source_uid")),
        "created_at": created,
    }


def _unsorted_result(v: Values, action: str) -> dict[str, list[str]] | None:
    if v.get("action", "unsorted_action") != action:
        return None
    return {"leads": [str(v.get("lead_id"))]}


def _attachment(v: Values, _: str) -> dict[str, str] | None:
    kind = v.get("message_type", "attachment_type")
    if kind is None:
        return None
    name = {"picture": "file.jpeg", "voice": "voice.ogg"}.get(str(kind), v.fake.pick("file"))
    link = f"https://amojo.amocrm.ru/v2/{v.fake.uuid()}/attachments/{v.fake.uuid()}/{name}"
    return {"type": str(kind), "link": link, "file_name": name}


def _message_text(v: Values, _: str) -> str:
    kind = v.get("message_type", "attachment_type")
    return "" if kind in ("picture", "voice") else v.fake.pick("message")


# -- callbacks: Chats API hooks, Salesbot, OAuth ------------------------------------------

_EMOJI = ("👍", "❤️", "😂", "😮", "🙏", "😍", "🔥")

_MEDIA = {
    "picture": ("photo_{n}.jpg", True),
    "video": ("video_{n}.mp4", True),
    "file": ("invoice_{n}.pdf", False),
    "voice": ("voice_{n}.ogg", False),
    "audio": ("track_{n}.mp3", False),
    "sticker": ("sticker_{n}.webp", False),
}


def _sibling(name: str, leaf: str) -> str:
    return name.rpartition(".")[0] + "." + leaf


def _media(v: Values, name: str) -> str:
    kind = v.get(_sibling(name, "type"))
    if kind not in _MEDIA:
        return ""
    folder = v.fake.uuid()
    file_name = v.get(_sibling(name, "file_name")) or "file"
    return f"https://amojo.{v.account.domain}/attachments/{folder}/{file_name}"


def _file_name(v: Values, name: str) -> str:
    kind = v.get(_sibling(name, "type"))
    if kind not in _MEDIA:
        return ""
    return _MEDIA[kind][0].format(n=v.rng.randint(1000, 9999))


def _thumbnail(v: Values, name: str) -> str:
    kind = v.get(_sibling(name, "type"))
    if kind not in _MEDIA or not _MEDIA[kind][1]:
        return ""
    media = str(v.get(_sibling(name, "media")))
    stem, dot, _ = media.rpartition(".")
    return f"{stem}_320x200.jpg" if dot else media


def _file_size(v: Values, name: str) -> int:
    kind = v.get(_sibling(name, "type"))
    return v.rng.randint(8_000, 4_000_000) if kind in _MEDIA else 0


def _chat_text(v: Values, name: str) -> str:
    if v.get(_sibling(name, "type")) not in ("text", None) and v.rng.random() < 0.6:
        return ""
    return v.fake.pick("message")


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def _emoji(v: Values, name: str) -> str | None:
    if v.get(_sibling(name, "type")) == "unreact":
        return None
    return v.rng.choice(_EMOJI)


def _return_url(v: Values, _: str) -> str:
    bot = v.rng.randint(1_000, 99_999)
    step = v.rng.randint(100_000, 9_999_999)
    return f"{v.account.url}/api/v4/salesbot/{bot}/continue/{step}"


def _salesbot_data(v: Values, _: str) -> dict[str, Any]:
    first, last = v.person()
    entity = "lead" if v.get("claims.entity_type") == 2 else "customer"
    return {
        "contact": f"{first} {last}",
        entity: str(v.get("claims.entity_id")),
        "message": v.fake.pick("message"),
        "from": "widget",
    }


def _receiver_base(v: Values, _: str) -> str:
    parts = urlsplit(v.url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


RULES: dict[str, Rule] = {
    "contact_id": lambda v, _: v.rng.randint(10_000_000, 99_999_999),
    "company_id": lambda v, _: v.rng.randint(10_000_000, 99_999_999),
    "task_id": lambda v, _: v.rng.randint(10_000_000, 99_999_999),
    "talk_id": lambda v, _: v.rng.randint(1_000, 999_999),
    "catalog_id": lambda v, _: v.account.field_id("catalog") % 20_000,
    "catalog_element_id": lambda v, _: v.rng.randint(100_000, 9_999_999),
    "uuid": lambda v, _: v.fake.uuid(),
    "unsorted_uid": lambda v, _: f"{v.rng.getrandbits(240):060x}",
    "unsorted_category": lambda v, _: v.rng.choice(("chats", "forms")),
    "unsorted_any_category": lambda v, _: v.rng.choice(("chats", "forms", "mail", "sip")),
    "unsorted_source": lambda v, _: _chat(v)["source"] if _is_chat(v) else None,
    "unsorted_source_uid": lambda v, _: _chat(v)["source_uid"] if _is_chat(v) else None,
    "unsorted_source_data": _unsorted_source_data,
    "unsorted_data": _unsorted_data,
    "unsorted_request_id": lambda v, _: None if _is_chat(v) else 0,
    "unsorted_source_id": lambda v, _: v.account.field_id("source_id") * 37 % 90_000_000,
    "unsorted_update_source_data": _unsorted_update_source_data,
    "unsorted_update_data": _unsorted_update_data,
    "unsorted_action": lambda v, _: v.rng.choice(("accept", "decline")),
    "accept_result": lambda v, _: _unsorted_result(v, "accept"),
    "decline_result": lambda v, _: _unsorted_result(v, "decline"),
    "form_title": lambda v, _: _form(v)["name"],
    "lead_id_same": lambda v, _: v.get("element_id", "lead_id"),
    "user_id": lambda v, _: _user(v),
    "creator_id": lambda v, _: _user(v),
    "modifier_id": lambda v, _: _user(v),
    "same_user_id": lambda v, _: v.get("responsible_user_id", "user_id"),
    "old_user_id": lambda v, _: _another(
        v, _int(v.get("responsible_user_id", "user_id")), v.account.users()
    ),
    "lead_name": lambda v, _: "" if _from_chat(v) else v.fake.pick("deal"),
    "lead_price": lambda v, _: None if _from_chat(v) else v.fake.price(),
    "lead_user": _lead_user,
    "lead_modifier": _lead_user,
    "lead_creator": lambda v, _: 0 if _from_chat(v) else _user(v),
    # old_status_id is there only when the stage changed in this save
    "old_status_id_if_moved": lambda v, n: _old_status_id(v, n) if v.chance("moved", 0.4) else None,
    "contact_user": lambda v, _: 0 if v.chance("chat", 0.15) else _user(v),
    "contact_creator": lambda v, _: 0 if v.chance("chat", 0.15) else _user(v),
    "group_id": _group_id,
    "linked_leads": _linked_leads,
    "person_name": lambda v, _: " ".join(v.person()),
    "company_name": lambda v, _: v.fake.pick("company"),
    "product_name": lambda v, _: v.fake.pick("product"),
    "task_text": lambda v, _: v.fake.pick("task"),
    "task_type": lambda v, _: v.rng.choice((1, 1, 2, 3)),
    "task_element_type": lambda v, _: v.rng.choice((2, 2, 2, 1, 3)),
    "task_element_id": _task_element_id,
    "task_creator": lambda v, _: 0 if v.rng.random() < 0.1 else _user(v),
    "task_status": lambda v, _: 0,
    "task_status_any": lambda v, _: 1 if v.chance("done", 0.4) else 0,
    "task_result": _task_result,
    "action_close": _action_close,
    "old_text": _old_text,
    "task_date_create": lambda v, _: _stamp(_int(v.get("created_at"))),
    "task_last_modified": lambda v, _: _stamp(_int(v.get("updated_at"))),
    "complete_before": _complete_before,
    "complete_till": lambda v, _: _stamp(_int(v.get("complete_before"))),
    "message_text": _message_text,
    "attachment_type": lambda v, _: (
        None if v.rng.random() < 0.85 else v.rng.choice(("picture", "voice", "file"))
    ),
    "attachment": _attachment,
    "price": lambda v, _: v.fake.price(),
    "created_at": lambda v, _: v.rng.randint(*WINDOW),
    "updated_at": lambda v, _: _int(v.get("created_at")) + v.rng.randint(60, 14 * 86400),
    "same_created_at": lambda v, _: v.get("created_at"),
    "date_create": lambda v, _: v.get("created_at"),
    "last_modified": lambda v, _: v.get("updated_at"),
    "future_date": lambda v, _: _int(v.get("updated_at")) + v.rng.randint(1, 30) * 86400,
    "periodicity": lambda v, _: v.rng.choice((7, 14, 30, 90)),
    "origin": lambda v, _: v.rng.choice(("telegram", "whatsapp", "instagram", "avito", "vk")),
    "bool01": lambda v, _: v.rng.choice((0, 1)),
    "rate": lambda v, _: v.rng.choice((0, 0, 0, 4, 5)),
    "tags": _tags,
    "lead_custom_fields": _lead_custom_fields,
    "contact_custom_fields": _contact_custom_fields,
    "company_custom_fields": _company_custom_fields,
    "customer_custom_fields": lambda v, _: [
        _field(v, v.fake.table["lead_field"][0], [_enum(v, "source", v.fake.pick("source"))])
    ],
    "catalog_custom_fields": _catalog_custom_fields,
    "note": _note,
    "author": _author,
    "account_links": lambda v, _: {"self": v.account.url},
    "lead_id": lambda v, _: v.rng.randint(10_000_000, 99_999_999),
    "customer_id": lambda v, _: v.rng.randint(1_000_000, 9_999_999),
    "pipeline_id": lambda v, _: v.rng.choice(list(v.account.pipelines)),
    "status_id": _status_id,
    "old_pipeline_id": _old_pipeline_id,
    "old_status_id": _old_status_id,
    "period_id": lambda v, _: v.rng.choice(v.account.periods),
    "old_period_id": lambda v, _: _another(v, _int(v.get("period_id")), v.account.periods),
    "same_period_id": lambda v, _: v.get("period_id"),
    "account_id": lambda v, _: v.account.id,
    "subdomain": lambda v, _: v.account.subdomain,
    # Chats API hooks, Salesbot and OAuth
    "amojo_uuid": lambda v, _: v.fake.uuid(),
    "amojo_account_id": lambda v, _: v.fake.uuid(),
    "amojo_user_id": lambda v, _: v.made.setdefault("_manager", v.fake.uuid()),
    "amojo_conversation_id": lambda v, _: v.made.setdefault("_conversation", v.fake.uuid()),
    "conversation_client_id": lambda v, _: v.made.setdefault(
        "_conversation_client", f"my_int-{v.fake.hex(12)}"
    ),
    "client_user_id": lambda v, _: f"my_int-{v.fake.uuid()}",
    "client_message_id": lambda v, _: v.fake.uuid(),
    "message_client_id": lambda v, _: f"my_int-{v.fake.hex(13)}",
    "receiver_phone": lambda v, _: _digits(v.fake.phone()),
    "receiver_email": lambda v, _: v.fake.email(*v.person()),
    "manager_name": lambda v, _: " ".join(v.fake.person()),
    "source_external_id": lambda v, _: _digits(v.fake.phone()),
    "hook_time": lambda v, _: v.time,
    "message_time": lambda v, _: v.time - v.rng.randint(0, 1),
    "message_msec": lambda v, n: (
        int(v.get(_sibling(n, "timestamp"))) * 1000 + v.rng.randint(0, 999)
    ),
    "earlier_time": lambda v, _: v.time - v.rng.randint(600, 7 * 86400),
    "earlier_msec": lambda v, n: int(v.get(_sibling(n, "timestamp"))) * 1000,
    "typing_expires": lambda v, _: v.time + 5,
    "post_id": lambda v, _: str(v.rng.randint(1_000_000, 999_999_999)),
    "message_type": lambda v, _: "text" if v.rng.random() < 0.7 else v.rng.choice(list(_MEDIA)),
    "chat_text": _chat_text,
    "comment_text": lambda v, _: v.fake.pick("message"),
    "media_url": _media,
    "thumbnail_url": _thumbnail,
    "file_name": _file_name,
    "file_size": _file_size,
    "reaction_type": lambda v, _: "react" if v.rng.random() < 0.8 else "unreact",
    "emoji": _emoji,
    "salesbot_data": _salesbot_data,
    "return_url": _return_url,
    "account_url": lambda v, _: v.account.url,
    "receiver_base": _receiver_base,
    "now": lambda v, _: v.now,
    "token_expires": lambda v, _: v.now + 1800,
    "client_uuid": lambda v, _: v.client_uuid,
    "bot_entity_type": lambda v, _: 2 if v.rng.random() < 0.8 else 12,
    "bot_entity_id": lambda v, _: v.rng.randint(10_000_000, 99_999_999),
    "authorization_code": lambda v, _: "def50200" + v.fake.hex(1016),
    "oauth_state": lambda v, _: v.fake.hex(20),
    "account_host": lambda v, _: f"{v.account.subdomain}.{v.account.domain}",
    "platform": lambda v, _: "1" if v.account.domain == "amocrm.ru" else "2",
}
