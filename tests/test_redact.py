"""--redact: personal data replaced by stable placeholders, ids kept.

Expected values are written by hand from the inputs; the properties check
``decode(redact_body(b)) == redact(decode(b))`` and that nothing the
generator made up about people survives in the redacted bytes.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import amodp
from amodp import catalog, decode
from amodp.cli import ExitCode, app
from amodp.errors import InputError
from amodp.redact import Redactor, redact, redact_body, redact_record

PROPS = settings(max_examples=150, deadline=None, database=None)
runner = CliRunner()

CONTACT = (
    "account[subdomain]=acme&account[id]=30307558"
    "&account[_links][self]=https://acme.amocrm.ru"
    "&contacts[add][0][id]=85962740&contacts[add][0][name]=Андрей Лебедев"
    "&contacts[add][0][responsible_user_id]=9445002&contacts[add][0][created_at]=1767675692"
    "&contacts[add][0][tags][0][id]=153897&contacts[add][0][tags][0][name]=сайт"
    "&contacts[add][0][custom_fields][0][id]=194547&contacts[add][0][custom_fields][0][name]=Телефон"
    "&contacts[add][0][custom_fields][0][code]=PHONE"
    "&contacts[add][0][custom_fields][0][values][0][value]=+7 947 112-88-95"
    "&contacts[add][0][custom_fields][0][values][0][enum]=256964"
    "&contacts[add][0][custom_fields][0][values][1][value]=8 (947) 112-88-95"
    "&contacts[add][0][custom_fields][0][values][1][enum]=256965"
    "&contacts[add][0][custom_fields][1][id]=240948&contacts[add][0][custom_fields][1][name]=Email"
    "&contacts[add][0][custom_fields][1][code]=EMAIL"
    "&contacts[add][0][custom_fields][1][values][0][value]=Andrey.Lebedev53@mail.ru"
    "&contacts[add][0][custom_fields][2][id]=346545"
    "&contacts[add][0][custom_fields][2][name]=Должность"
    "&contacts[add][0][custom_fields][2][code]=POSITION"
    "&contacts[add][0][custom_fields][2][values][0][value]=Директор"
    "&contacts[add][0][custom_fields][3][id]=791682&contacts[add][0][custom_fields][3][name]=Источник"
    "&contacts[add][0][custom_fields][3][values][0][value]=Сайт"
    "&contacts[add][0][custom_fields][3][values][0][enum]=558093"
    "&contacts[add][0][custom_fields][4][id]=498124"
    "&contacts[add][0][custom_fields][4][name]=Дата замера"
    "&contacts[add][0][custom_fields][4][values][0]=1750885821"
    "&contacts[add][1][id]=85962741&contacts[add][1][name]=Андрей Лебедев"
    "&contacts[add][1][custom_fields][0][id]=240948&contacts[add][1][custom_fields][0][code]=EMAIL"
    "&contacts[add][1][custom_fields][0][values][0][value]=andrey.lebedev53@MAIL.ru"
)

CONTACT_REDACTED = {
    "account": {
        "subdomain": "acme",
        "id": "30307558",
        "_links": {"self": "https://acme.amocrm.ru"},
    },
    "contacts": {
        "add": [
            {
                "id": "85962740",
                "name": "<name:1>",
                "responsible_user_id": "9445002",
                "created_at": "1767675692",
                "tags": [{"id": "153897", "name": "сайт"}],
                "custom_fields": [
                    {
                        "id": "194547",
                        "name": "Телефон",
                        "code": "PHONE",
                        "values": [
                            {"value": "<phone:1>", "enum": "256964"},
                            # the same number with a trunk 8: the same placeholder
                            {"value": "<phone:1>", "enum": "256965"},
                        ],
                    },
                    {
                        "id": "240948",
                        "name": "Email",
                        "code": "EMAIL",
                        "values": [{"value": "<email:1>"}],
                    },
                    {
                        "id": "346545",
                        "name": "Должность",
                        "code": "POSITION",
                        "values": [{"value": "<text:1>"}],
                    },
                    {
                        "id": "791682",
                        "name": "Источник",
                        "values": [{"value": "Сайт", "enum": "558093"}],
                    },
                    {"id": "498124", "name": "Дата замера", "values": ["1750885821"]},
                ],
            },
            {
                "id": "85962741",
                "name": "<name:1>",
                "custom_fields": [
                    {
                        "id": "240948",
                        "code": "EMAIL",
                        "values": [{"value": "<email:1>"}],  # e-mails ignore case
                    }
                ],
            },
        ]
    },
}

MESSAGE = (
    "message[add][0][id]=eb70399f-027b-47bf-b3cc-3e09898b2252"
    "&message[add][0][chat_id]=612753f1-21f0-4771-a497-68d9d0b2b05c"
    "&message[add][0][talk_id]=784274&message[add][0][contact_id]=85418788"
    "&message[add][0][text]=Здравствуйте! Сколько стоит доставка до Казани?"
    "&message[add][0][created_at]=1764155228&message[add][0][type]=incoming"
    "&message[add][0][author][id]=5ec1c3d1-eefb-48a9-86ac-0cee6c1a7ddc"
    "&message[add][0][author][type]=external&message[add][0][author][name]=Юлия Фёдорова"
    "&message[add][0][author][avatar_url]=https://cdn.example.com/u/5ec1c3d1.jpg"
    "&message[add][0][origin]=avito"
    "&account[subdomain]=acme&account[id]=30307558"
)

NOTE = (
    "leads[note][0][note][element_type]=2&leads[note][0][note][element_id]=11651090"
    "&leads[note][0][note][text]=Клиент просил перезвонить после 18:00"
    "&leads[note][0][note][date_create]=2025-08-28 03:12:33"
    "&leads[note][0][note][id]=534280104&leads[note][0][note][created_by]=5387750"
    "&account[subdomain]=acme&account[id]=30307558"
)


def run(*args: str, input: bytes | str | None = None):  # noqa: ANN201
    return runner.invoke(app, list(args), input=input)


# -- redact ------------------------------------------------------------------------------


def test_contact_names_phones_emails_and_free_text_fields() -> None:
    assert redact(decode(CONTACT)) == CONTACT_REDACTED


def test_message_text_author_name_and_avatar() -> None:
    item = redact(decode(MESSAGE))["message"]["add"][0]
    assert item == {
        "id": "eb70399f-027b-47bf-b3cc-3e09898b2252",
        "chat_id": "612753f1-21f0-4771-a497-68d9d0b2b05c",
        "talk_id": "784274",
        "contact_id": "85418788",
        "text": "<text:1>",
        "created_at": "1764155228",
        "type": "incoming",
        "author": {
            "id": "5ec1c3d1-eefb-48a9-86ac-0cee6c1a7ddc",
            "type": "external",
            "name": "<name:1>",
            "avatar_url": "<url:1>",
        },
        "origin": "avito",
    }


def test_note_text_is_replaced_its_dates_and_ids_kept() -> None:
    assert redact(decode(NOTE))["leads"]["note"][0]["note"] == {
        "element_type": "2",
        "element_id": "11651090",
        "text": "<text:1>",
        "date_create": "2025-08-28 03:12:33",
        "id": "534280104",
        "created_by": "5387750",
    }


def test_task_text_lead_name_and_empty_values() -> None:
    data = {
        "tasks": {"add": [{"id": "1", "text": "Позвонить Ивану", "complete_till": "1778355810"}]},
        "leads": {"add": [{"id": "2", "name": "Кухня на заказ", "price": "25000"}]},
        "message": {"add": [{"author": {"name": "", "avatar_url": ""}}]},
    }
    assert redact(data) == {
        "tasks": {"add": [{"id": "1", "text": "<text:1>", "complete_till": "1778355810"}]},
        "leads": {"add": [{"id": "2", "name": "<name:1>", "price": "25000"}]},
        "message": {"add": [{"author": {"name": "", "avatar_url": ""}}]},
    }


def test_numbered_in_order_of_first_appearance_per_category() -> None:
    data = {"a": [{"name": "X"}, {"name": "Y"}, {"name": "X"}, {"text": "X"}, {"name": "Z"}]}
    assert redact(data) == {
        "a": [
            {"name": "<name:1>"},
            {"name": "<name:2>"},
            {"name": "<name:1>"},
            {"text": "<text:1>"},
            {"name": "<name:3>"},
        ]
    }


def test_one_redactor_keeps_placeholders_stable_across_inputs() -> None:
    redactor = Redactor()
    first = redactor.redact({"contacts": {"add": [{"name": "Анна"}, {"name": "Олег"}]}})
    second = redactor.redact({"contacts": {"update": [{"name": "Олег"}]}})
    assert first["contacts"]["add"][1]["name"] == "<name:2>"
    assert second == {"contacts": {"update": [{"name": "<name:2>"}]}}
    # without a shared one, each input starts at 1
    assert redact({"contacts": {"update": [{"name": "Олег"}]}})["contacts"]["update"] == [
        {"name": "<name:1>"}
    ]


def test_phones_and_emails_inside_unknown_fields() -> None:
    data = {
        "unsorted": {
            "add": [
                {
                    "uid": "e7c7999c9d173f5b62e8c79c262d9d551b17a754",
                    "source_data": {
                        "from": "79161234567",
                        "comment": "x",
                        "summary": "Звонок с +7 916 123-45-67, ответ на ivan@mail.ru.",
                        "when": "2025-08-28 03:12:33",
                        "pipeline": "1750885821",
                        "ip": "10.1.2.3",
                    },
                }
            ]
        }
    }
    assert redact(data)["unsorted"]["add"][0] == {
        "uid": "e7c7999c9d173f5b62e8c79c262d9d551b17a754",
        "source_data": {
            "from": "<phone:1>",
            "comment": "<text:1>",
            "summary": "Звонок с <phone:1>, ответ на <email:1>.",
            "when": "2025-08-28 03:12:33",
            "pipeline": "1750885821",
            "ip": "<ip:1>",
        },
    }


def test_a_name_that_is_an_email_keeps_its_kind() -> None:
    data = {
        "contacts": {
            "add": [
                {"name": "ivan@mail.ru"},
                {"custom_fields": [{"code": "EMAIL", "values": [{"value": "IVAN@mail.ru"}]}]},
            ]
        }
    }
    result = redact(data)["contacts"]["add"]
    assert result[0]["name"] == "<email:1>"
    assert result[1]["custom_fields"][0]["values"][0]["value"] == "<email:1>"


def test_kommo_custom_fields_values_and_im_fields() -> None:
    data = {
        "leads": {
            "update": [
                {
                    "custom_fields_values": [
                        {
                            "field_id": "5",
                            "field_name": "Мессенджер",
                            "field_code": "IM",
                            "values": [{"value": "@ivan_tg", "enum_id": "7", "enum_code": "TG"}],
                        },
                        {"field_id": "6", "field_name": "Бюджет", "values": [{"value": "150000"}]},
                    ]
                }
            ]
        }
    }
    assert redact(data)["leads"]["update"][0]["custom_fields_values"] == [
        {
            "field_id": "5",
            "field_name": "Мессенджер",
            "field_code": "IM",
            "values": [{"value": "<text:1>", "enum_id": "7", "enum_code": "TG"}],
        },
        {"field_id": "6", "field_name": "Бюджет", "values": [{"value": "150000"}]},
    ]


def test_redact_is_idempotent_and_does_not_touch_its_input() -> None:
    data = decode(CONTACT)
    before = json.dumps(data, ensure_ascii=False)
    once = redact(data)
    assert json.dumps(data, ensure_ascii=False) == before
    assert redact(once) == once


def test_dp_webhooks_have_nothing_personal() -> None:
    for hook in amodp.generate_all(seed=5):
        assert redact(hook.json) == hook.json
        assert redact_body(hook.body) == hook.body


# -- redact_body ---------------------------------------------------------------------------


def test_redact_body_changes_only_the_personal_values() -> None:
    body = (
        b"contacts%5Badd%5D%5B0%5D%5Bid%5D=5&contacts[add][0][name]=Ivan+Petrov"
        b"&contacts[add][0][custom_fields][0][code]=PHONE"
        b"&contacts[add][0][custom_fields][0][values][0][value]=12-34"
        b"&contacts[add][0][custom_fields][1][values][0][value]=42"
        b"&account[subdomain]=acme&&junk"
    )
    assert redact_body(body) == (
        b"contacts%5Badd%5D%5B0%5D%5Bid%5D=5&contacts[add][0][name]=%3Cname%3A1%3E"
        b"&contacts[add][0][custom_fields][0][code]=PHONE"
        b"&contacts[add][0][custom_fields][0][values][0][value]=%3Cphone%3A1%3E"
        b"&contacts[add][0][custom_fields][1][values][0][value]=42"
        b"&account[subdomain]=acme&&junk"
    )


def test_redact_body_also_replaces_values_that_a_later_pair_overwrites() -> None:
    body = b"leads[add][0][name]=Old+Name&leads[add][0][id]=7&leads[add][0][name]=New+Name"
    redacted = redact_body(body)
    assert redacted == (
        b"leads[add][0][name]=%3Cname%3A2%3E&leads[add][0][id]=7&leads[add][0][name]=%3Cname%3A1%3E"
    )
    assert decode(redacted) == {"leads": {"add": [{"name": "<name:1>", "id": "7"}]}}


def test_redact_body_str_and_bytes_agree_and_wrong_types_are_input_errors() -> None:
    assert redact_body(NOTE) == redact_body(NOTE.encode())
    with pytest.raises(InputError):
        redact_body(123)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        redact_record("not a record")  # type: ignore[arg-type]


# -- properties ----------------------------------------------------------------------------

ACCOUNT_EVENTS = [(e.entity, e.event) for e in catalog.events("account")]


def _leaves(value: Any, key: str = "", path: tuple[str, ...] = ()) -> list[tuple[tuple, str]]:
    """(path of string keys, leaf) for every leaf."""
    if isinstance(value, dict):
        items = [(k, v) for k, v in value.items()]
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return [(path, value)]
    out = []
    for k, v in items:
        out += _leaves(v, str(k), path + ((str(k),) if isinstance(k, str) else ()))
    return out


def _personal(data: Any) -> set[str]:
    """What the generator made up about people, read from the unredacted JSON."""
    found = set()
    for path, leaf in _leaves(data):
        if not leaf:
            continue
        last = path[-1]
        # An incoming lead's form: source_data[data][name_1][value] is what the
        # visitor typed; the entry's name ("Phone") is the form's label.
        in_form = path[:-2][-2:] == ("source_data", "data")
        if last in ("text", "avatar_url") or (in_form and last == "value"):
            found.add(leaf)
        elif last == "name" and not in_form and "tags" not in path:
            if path[-2:-1] != ("custom_fields",):
                found.add(leaf)
    for fields in _find(data, "custom_fields"):
        for field in fields:
            if field.get("code") in ("PHONE", "EMAIL", "POSITION"):
                found |= {v["value"] for v in field.get("values", [])}
    return found


def _find(value: Any, key: str) -> list[Any]:
    if isinstance(value, dict):
        hits = [value[key]] if key in value else []
        return hits + [h for v in value.values() for h in _find(v, key)]
    if isinstance(value, list):
        return [h for v in value for h in _find(v, key)]
    return []


def _ids(data: Any) -> list[tuple[tuple, str]]:
    return [
        (p, v)
        for p, v in _leaves(data)
        if p and (p[-1] == "id" or p[-1].endswith(("_id", "_at")) or p[0] == "account")
    ]


generated = st.builds(
    lambda event, seed, locale, count: amodp.generate(
        event[1], event[0], kind="account", seed=seed, locale=locale, count=count
    ),
    st.sampled_from(ACCOUNT_EVENTS),
    st.integers(0, 10**6),
    st.sampled_from(["ru", "en"]),
    st.integers(1, 3),
)


@PROPS
@given(generated)
def test_redact_body_agrees_with_redact_on_generated_bodies(hook: Any) -> None:
    assert decode(redact_body(hook.body)) == redact(decode(hook.body))


@settings(max_examples=20, deadline=None, database=None)
@given(st.integers(0, 10**6), st.sampled_from(["ru", "en"]))
def test_nothing_personal_survives_generate_all(seed: int, locale: str) -> None:
    redactor = Redactor()
    for hook in amodp.generate_all(kind="account", seed=seed, locale=locale):
        personal = _personal(hook.json)
        body, value = redactor.redact_form(hook.body)
        assert decode(body) == value
        for secret in personal:
            assert quote_plus(secret).encode() not in body, (hook.event.name, secret)
            for _, leaf in _leaves(value):
                assert secret not in leaf, (hook.event.name, secret)
        assert _ids(value) == _ids(hook.json)


@PROPS
@given(generated)
def test_generated_personal_values_never_reach_the_output(hook: Any) -> None:
    personal = _personal(hook.json)
    assert (
        personal
        or hook.event.entity in ("talk", "unsorted", "catalogs")
        or (hook.event.event == "delete")
        # A lead created from a chat has no name yet.
        or all(
            item.get("name") == "" for item in hook.json.get("leads", {}).get(hook.event.event, [0])
        )
    )
    redacted = redact_body(hook.body)
    text = json.dumps(decode(redacted), ensure_ascii=False)
    for secret in personal:
        assert quote_plus(secret).encode() not in redacted
        assert secret not in text.replace("\\", "")


TOKENS = [
    b"a", b"name", b"text", b"phone", b"tags", b"custom_fields", b"values", b"value",
    b"code", b"enum", b"id", b"_links", b"0", b"1", b"[", b"]", b"%5B", b"%5D", b"=", b"=",
    b"&", b"&", b"PHONE", b"EMAIL", b"+7 916 123-45-67", b"a@b.ru", b"%D0%98", b"%D0",
    b"%zz", b"+", b" ", b".", b"\xff", b"\x00", b"142", b"<name:1>", b"%3C",
]  # fmt: skip


@PROPS
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map(b"".join))
def test_redact_body_agrees_with_redact_on_bracket_soup(body: bytes) -> None:
    assert decode(redact_body(body)) == redact(decode(body))


@PROPS
@given(st.binary(max_size=200))
def test_redact_body_agrees_with_redact_on_any_bytes(body: bytes) -> None:
    assert decode(redact_body(body)) == redact(decode(body))


@PROPS
@given(st.text(max_size=100))
def test_redact_body_agrees_with_redact_on_any_text(body: str) -> None:
    assert decode(redact_body(body)) == redact(decode(body))


# The OAuth redirect as documented (kommo.com/developers/content/oauth/step-by-step:
# ?code=XXX&state={state}&referer={subdomain}.kommo.com&client_id={Integration Id}):
# code is the authorization code the integration exchanges for the account's
# tokens, a credential.
REDIRECT = (
    "code=def50200a1b2c3d4e5f6&state=csrf-9&referer=acme.amocrm.ru&platform=1"
    "&client_id=01d01160-d7a0-4087-b4af-6a1bb83fcd1d"
)
REDIRECT_REDACTED = {
    "code": "<secret:1>",
    "state": "csrf-9",
    "referer": "acme.amocrm.ru",
    "platform": "1",
    "client_id": "01d01160-d7a0-4087-b4af-6a1bb83fcd1d",
}


def test_the_code_of_an_oauth_redirect_is_a_secret() -> None:
    assert redact(decode(REDIRECT)) == REDIRECT_REDACTED
    rest = REDIRECT.partition("&")[2]
    assert redact_body(REDIRECT) == f"code=%3Csecret%3A1%3E&{rest}".encode()
    # A code a later pair overwrites is gone from the bytes too (numbered after
    # the values the decoded body holds).
    assert redact_body(f"code=first-code&{REDIRECT}") == (
        f"code=%3Csecret%3A2%3E&code=%3Csecret%3A1%3E&{rest}".encode()
    )
    assert redact_body(redact_body(REDIRECT)) == redact_body(REDIRECT)  # twice changes nothing


def test_a_custom_fields_code_is_not_a_secret() -> None:
    value = {
        "code": "def502",
        "leads": {"add": [{"custom_fields": [{"id": "1", "code": "PHONE"}]}]},
    }
    assert redact(value) == {
        "code": "<secret:1>",
        "leads": {"add": [{"custom_fields": [{"id": "1", "code": "PHONE"}]}]},
    }


# -- redact_record -------------------------------------------------------------------------


def _record(body: bytes, content_type: str = "application/x-www-form-urlencoded", **extra: Any):
    from amodp.records import make_record

    return make_record(
        remote="127.0.0.1:5000",
        method="POST",
        path="/hook",
        query=extra.pop("query", ""),
        headers=[("content-type", content_type), ("x-amocrm-requestid", "r-1")],
        body=body,
        status=200,
        received_at="2026-01-01T00:00:00.000000Z",
    )


def test_redact_record_of_a_form() -> None:
    record = _record(MESSAGE.encode())
    original = json.loads(json.dumps(record))
    out = redact_record(record)
    assert record == original  # not changed in place
    assert out["decoded"] == redact(decode(MESSAGE))
    assert decode(out["body"]) == out["decoded"]
    assert "Фёдорова" not in out["body"] and "%D0%A4" not in out["body"]
    assert out["headers"] == record["headers"]
    assert out["events"] == record["events"] and out["status"] == 200
    assert "note" not in out and "body_base64" not in out


def test_redact_record_of_a_body_that_is_not_utf8() -> None:
    body = b"leads[add][0][name]=\xff\xfe&leads[add][0][id]=9&leads[add][0][x]=\xff"
    out = redact_record(_record(body))
    assert "body" not in out
    assert base64.b64decode(out["body_base64"]) == (
        b"leads[add][0][name]=%3Cname%3A1%3E&leads[add][0][id]=9&leads[add][0][x]=\xff"
    )
    assert out["decoded"] == {"leads": {"add": [{"name": "<name:1>", "id": "9", "x": "\ufffd"}]}}


def test_redact_record_of_json_keeps_nothing_of_the_body() -> None:
    body = b'{"name": "Ivan Petrov", "phone": "+79161234567"}'
    record = _record(body, "application/json")
    out = redact_record(record)
    assert out["decoded"] is None
    assert out["body"] == f"<body: {len(body)} bytes, redacted>"
    assert out["note"] == (
        "body is application/json, not a form: kept raw; body redacted: not a form, "
        "so amodp cannot tell what in it is personal"
    )


def test_redact_record_query_and_empty_body() -> None:
    out = redact_record(_record(b"", query="name=Ivan&id=5"))
    assert out["query"] == "name=%3Cname%3A1%3E&id=5"
    assert out["body"] == "" and "note" in out  # make_record's "empty body" note, kept


def test_redact_record_of_an_oauth_redirect_and_keys_of_its_own() -> None:
    from amodp.records import make_record

    record = make_record(
        remote="127.0.0.1:5000",
        method="GET",
        path="/oauth",
        query=REDIRECT,
        headers=[("host", "example.com")],
        body=b"",
        status=200,
        received_at="2026-01-01T00:00:00.000000Z",
    )
    record["_ticket"] = "OPS-12"  # a key amodp does not write: kept, as the docstring says
    out = redact_record(record)
    assert out["query"] == "code=%3Csecret%3A1%3E&" + REDIRECT.partition("&")[2]
    assert out["_ticket"] == "OPS-12"
    assert {k: v for k, v in out.items() if k != "query"} == {
        k: v for k, v in record.items() if k != "query"
    }


def test_redact_record_reads_back_what_the_listener_saves() -> None:
    from amodp.records import record_line

    hook = amodp.generate("add", "contacts", kind="account", seed=3)
    record = json.loads(record_line(_record(hook.body)))
    out = redact_record(record)
    assert out["decoded"] == redact(decode(hook.body))
    assert decode(out["body"]) == out["decoded"]


def test_redact_record_of_a_record_read_back_from_any_layout() -> None:
    from amodp.records import read_records, record_line

    hook = amodp.generate("add", "contacts", kind="account", seed=3)
    line = record_line(_record(hook.body))
    for data in (line, f"[{line}]", json.dumps(json.loads(line), indent=2)):
        (read,) = read_records(data.encode())
        assert redact_record(read.fields) == redact_record(json.loads(line))


def test_redact_record_whose_body_cannot_be_read_is_an_input_error() -> None:
    record = {**_record(b"a=1"), "body": "a=\ud800"}
    with pytest.raises(InputError, match="body holds a lone surrogate"):
        redact_record(record)
    record = {**_record(b"a=1"), "body_base64": "???"}
    with pytest.raises(InputError, match="body_base64 is not valid base64"):
        redact_record(record)


# -- CLI ------------------------------------------------------------------------------------


def test_decode_redact_prints_placeholders() -> None:
    result = run("decode", "--redact", "--compact", input=NOTE)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == (
        '{"leads":{"note":[{"note":{"element_type":"2","element_id":"11651090",'
        '"text":"<text:1>","date_create":"2025-08-28 03:12:33","id":"534280104",'
        '"created_by":"5387750"}}]},"account":{"subdomain":"acme","id":"30307558"}}\n'
    )


def test_decode_redact_summary_line_is_redacted_too() -> None:
    result = run("decode", "--redact", "--summary", input=MESSAGE)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == redact(decode(MESSAGE))
    item = "message eb70399f-027b-47bf-b3cc-3e09898b2252"
    assert result.stderr == f"message.add (account)  {item}: <text:1>  account acme (30307558)\n"


def test_decode_without_redact_is_unchanged() -> None:
    result = run("decode", "--compact", input=NOTE)
    assert "Клиент просил" in result.stdout


def test_decode_redact_placeholders_are_shared_by_all_inputs(tmp_path) -> None:  # noqa: ANN001
    one = tmp_path / "one.txt"
    two = tmp_path / "two.txt"
    one.write_text("contacts[add][0][name]=Анна&contacts[add][1][name]=Олег", encoding="utf-8")
    two.write_text("contacts[update][0][name]=Олег", encoding="utf-8")
    result = run("decode", "--redact", "--compact", str(one), str(two))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        '{"contacts":{"add":[{"name":"<name:1>"},{"name":"<name:2>"}]}}\n'
        '{"contacts":{"update":[{"name":"<name:2>"}]}}\n'
    )


def test_decode_redact_capture_records() -> None:
    from amodp.records import record_line

    lines = [record_line(_record(body.encode())) for body in (MESSAGE, NOTE)]
    result = run("decode", "--redact", "--compact", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["message"]["add"][0]["text"] == "<text:1>"
    assert second["leads"]["note"][0]["note"]["text"] == "<text:2>"


def test_decode_redact_of_an_oauth_redirect() -> None:
    request = f"GET /oauth?{REDIRECT} HTTP/1.1\r\nHost: example.com\r\n\r\n"
    for data in (REDIRECT, request):
        result = run("decode", "--redact", "--compact", input=data)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == json.dumps(REDIRECT_REDACTED, separators=(",", ":")) + "\n"


def test_decode_redact_bad_input_is_still_an_error() -> None:
    result = run("decode", "--redact", input="")
    assert result.exit_code == ExitCode.USAGE
    assert result.stdout == "" and result.stderr.startswith("Error: ")


GEN = ("generate", "add", "--kind", "account", "--entity", "contacts", "--seed", "3")


def _hook() -> Any:
    return amodp.generate("add", "contacts", kind="account", seed=3)


def test_generate_redact_form() -> None:
    result = run(*GEN, "--redact")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == redact_body(_hook().body).decode() + "\n"
    assert decode(result.stdout.strip()) == redact(decode(_hook().body))


def test_generate_redact_json() -> None:
    result = run(*GEN, "--redact", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    # JSON has string keys where PHP has integer ones (linked_leads_id[<id>]).
    assert json.loads(result.stdout) == json.loads(json.dumps(redact(_hook().json)))
    for secret in _personal(_hook().json):
        assert secret not in result.stdout


def test_generate_redact_http_fixes_content_length() -> None:
    result = runner.invoke(app, [*GEN, "--redact", "--format", "http"])
    assert result.exit_code == 0, result.stderr
    head, _, body = result.stdout_bytes.partition(b"\r\n\r\n")
    body = body.removesuffix(b"\n")
    assert body == redact_body(_hook().body)
    assert f"Content-Length: {len(body)}".encode() in head.split(b"\r\n")
    assert len(body) != len(_hook().body)


def test_generate_redact_curl() -> None:
    result = run(*GEN, "--redact", "--format", "curl")
    assert result.exit_code == 0, result.stderr
    body = redact_body(_hook().body).decode()
    assert result.stdout.endswith(f"--data-binary '{body}'\n")
    assert "%3Cname%3A1%3E" in result.stdout


def test_generate_redact_all_shares_the_placeholders() -> None:
    result = run("generate", "--all", "--kind", "account", "--seed", "1", "-f", "json", "--redact")
    assert result.exit_code == 0, result.stderr
    redactor = Redactor()
    hooks = amodp.generate_all(kind="account", seed=1)
    lines = result.stdout.splitlines()
    want = [json.loads(json.dumps(redactor.redact(h.json))) for h in hooks]
    assert [json.loads(line) for line in lines] == want
    for hook, line in zip(hooks, lines, strict=True):
        for secret in _personal(hook.json):
            assert secret not in line


def test_generate_redact_dp_changes_nothing() -> None:
    plain = run("generate", "status", "--seed", "7", "-f", "http")
    redacted = run("generate", "status", "--seed", "7", "-f", "http", "--redact")
    assert redacted.exit_code == 0 and redacted.stdout == plain.stdout


def test_what_a_visitor_typed_in_a_form_is_redacted() -> None:
    # Incoming leads from a form carry the visitor's answers in
    # unsorted[add][i][source_data][data][<field>][value].
    typed = set()
    for seed in range(40):
        hook = amodp.generate("add", "unsorted", kind="account", seed=seed, count=3)
        answers = [
            entry["value"]
            for source in _find(hook.json, "source_data")
            if isinstance(source.get("data"), dict)  # a form's (a chat's is a list)
            for entry in source["data"].values()
            if isinstance(entry, dict) and entry.get("value")
        ]
        typed |= set(answers)
        redacted = redact_body(hook.body)
        text = json.dumps(decode(redacted), ensure_ascii=False)
        for answer in answers:
            assert answer not in text, answer
            assert quote_plus(answer).encode() not in redacted
    assert len(typed) > 10  # forms with answers were made


def test_the_author_in_a_notes_metadata_is_redacted() -> None:
    # Kommo's example of a note webhook (tests/fixtures/captures, with its
    # source): the note's metadata is a JSON string naming its author.
    from pathlib import Path

    path = Path(__file__).parent / "fixtures" / "captures" / "docs_2024_contacts.note.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    [note] = data["contacts"]["note"]
    author = json.loads(note["note"]["metadata"])["event_source"]["author_name"]
    assert author  # the example names one
    body = amodp.encode(data).encode()
    redacted = redact_body(body)
    assert quote_plus(author).encode() not in redacted
    [after] = decode(redacted)["contacts"]["note"]
    inside = json.loads(after["note"]["metadata"])
    assert inside["event_source"]["author_name"] == "<name:1>"
    assert inside["event_source"]["id"] == 11087123 and inside["event_source"]["type"] == 1
    assert decode(redacted) == redact(decode(body))
    assert redact_body(redacted) == redacted  # twice changes nothing


def test_a_string_that_only_looks_like_json_is_left_alone() -> None:
    value = {"leads": {"update": [{"id": "1", "comment_x": "{not json}", "data_x": "{}"}]}}
    assert redact(value) == value
    deep = {"leads": {"update": [{"id": "1", "extra": '{"a":' * 5000 + "1" + "}" * 5000}]}}
    assert redact(deep) == deep  # too deep to read: kept as it is, no RecursionError


def test_free_text_that_holds_json_is_still_replaced_whole() -> None:
    value = {"leads": {"note": [{"note": {"text": '{"said": "call me at home"}'}}]}}
    assert redact(value)["leads"]["note"][0]["note"]["text"] == "<text:1>"


def test_redacting_keeps_raw_utf8_names_as_php_reads_them(php: Any) -> None:
    # A name sent as raw UTF-8 bytes, not percent-encoded: PHP keeps the bytes.
    body = "leads[add][0][имя]=Иван&leads[add][0][id]=7&account[subdomain]=acme".encode()
    [expected] = php.php_decode_many([body])
    _, value = amodp.redact.Redactor().redact_form(body)
    names = set(value["leads"]["add"][0])
    assert names == set(json.loads(expected)["leads"]["add"][0])  # {"имя", "id"}


def test_json_after_whitespace_without_a_content_type_is_not_a_form() -> None:
    from amodp.records import is_form

    assert is_form(None, b'  \n{"leads": {"status": []}}') == (
        False,
        "body looks like JSON and has no Content-Type: kept raw",
    )
    assert is_form(None, b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=1")[0]
