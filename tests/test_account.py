"""Account-level webhooks (Settings -> Integrations): the catalog, the generated bodies, the CLI.

Every expected value here is written by hand from the wire-format notes
(FORMAT.md: "Account-level lead", "Account-level contact", "Incoming chat
message", "Note on a lead", "Realistic values", the account block) and from
the issue that asked for these webhooks, never copied from amodp's output.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from amodp import catalog, decode
from amodp.cli import app
from amodp.generator import generate

from .servers import recording_server

runner = CliRunner()


def run(*args: str, input: bytes | str | None = None):  # noqa: ANN201
    return runner.invoke(app, list(args), input=input)


# -- the reference, by hand ---------------------------------------------------------

#: The issue's list of entities and actions (messages come as ``message[add]``).
EXPECTED_EVENTS = (
    {("leads", e) for e in ("add", "update", "delete", "restore", "status", "responsible", "note")}
    | {
        (entity, e)
        for entity in ("contacts", "companies")
        for e in ("add", "update", "delete", "restore", "responsible", "note")
    }
    | {("customers", e) for e in ("add", "update", "delete")}
    | {("tasks", e) for e in ("add", "update", "delete", "responsible")}
    | {("catalogs", e) for e in ("add", "update", "delete")}
    | {("unsorted", e) for e in ("add", "update", "delete")}
    | {("talks", e) for e in ("add", "update")}
    | {("message", "add")}
)

#: FORMAT.md, "Account-level lead": the fields in amoCRM's order.
LEAD_ORDER = [
    "id",
    "name",
    "status_id",
    "old_status_id",  # status only
    "price",
    "responsible_user_id",
    "old_responsible_user_id",  # responsible only
    "last_modified",
    "modified_user_id",
    "created_user_id",
    "date_create",
    "pipeline_id",
    "account_id",
    "created_at",
    "updated_at",
    "tags",
    "custom_fields",
]
#: What may be missing from a full lead item: the event-specific fields, and
#: tags and custom fields (no [tags] keys at all when a lead has none).
LEAD_OPTIONAL = {"old_status_id", "old_responsible_user_id", "tags", "custom_fields"}

#: FORMAT.md, "Note on a lead": ``leads[note][0][note][...]``.
NOTE_ORDER = [
    "element_type",
    "element_id",
    "note_type",
    "text",
    "account_id",
    "date_create",
    "timestamp_x",
    "created_by",
    "modified_by",
    "main_user_id",
    "group_id",
    "id",
    "created_at",
    "updated_at",
]

#: FORMAT.md, "Incoming chat message": ``message[add][0][...]``; the last two
#: come only sometimes.
MESSAGE_ORDER = [
    "id",
    "chat_id",
    "talk_id",
    "contact_id",
    "text",
    "created_at",
    "element_type",
    "entity_type",
    "element_id",
    "entity_id",
    "type",
    "author",
    "origin",
    "message_type",
    "attachment",
]
MESSAGE_OPTIONAL = {"message_type", "attachment"}

#: FORMAT.md, "Realistic values": [low, high) per kind of id.
LEAD_IDS = (10**7, 10**8)
PIPELINE_IDS = (10**6, 10**7)
STATUS_IDS = (10**7, 10**8)
ACCOUNT_IDS = (10**7, 10**8)
USER_IDS = (10**6, 10**7)
SYSTEM_STAGES = {142, 143}  # won, lost
USER_FIELDS = (
    "responsible_user_id",
    "old_responsible_user_id",
    "created_user_id",
    "modified_user_id",
    "created_by",
    "modified_by",
    "main_user_id",
)
TIME_FIELDS = (
    "created_at",
    "updated_at",
    "last_modified",
    "date_create",
    "next_date",
    "complete_till",
)
#: Plausible Unix seconds: 2014-05-13 .. 2030-03-17.
PLAUSIBLE_TIME = (1_400_000_000, 1_900_000_000)

SEEDS = range(5)
LOCALES = ("ru", "en")
ALL = sorted(EXPECTED_EVENTS)
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
POSITIVE = re.compile(r"[1-9][0-9]*")
SUBDOMAIN = re.compile(r"[a-z][a-z0-9-]*")
EMAIL = re.compile(r"[a-z0-9._+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}")


def body(entity: str, event: str, seed: int, locale: str = "ru", count: int = 1) -> dict[str, Any]:
    """The generated request as a PHP receiver decodes its bytes."""
    hook = generate(event, entity, kind="account", seed=seed, locale=locale, count=count)
    data = decode(hook.body)
    assert isinstance(data, dict)
    return data


def items(entity: str, event: str, seed: int, locale: str = "ru") -> list[dict[str, Any]]:
    return body(entity, event, seed, locale)[entity][event]


def is_subsequence(keys: list[str], order: list[str]) -> bool:
    it = iter(order)
    return all(k in it for k in keys)


def in_range(value: Any, bounds: tuple[int, int]) -> bool:
    return (
        isinstance(value, str)
        and POSITIVE.fullmatch(value) is not None
        and (bounds[0] <= int(value) < bounds[1])
    )


def is_uuid(value: Any) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except (TypeError, ValueError):
        return False


# -- 1. the catalog ----------------------------------------------------------------------


def test_catalog_has_exactly_the_issues_entities_and_actions() -> None:
    found = [(e.entity, e.event) for e in catalog.events("account")]
    assert len(found) == len(set(found)) == 35
    assert set(found) == EXPECTED_EVENTS
    assert all(e.kind == "account" for e in catalog.events("account"))


def test_events_cli_lists_the_same_with_their_sources() -> None:
    result = run("events", "--kind", "account", "--json")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {(r["entity"], r["event"]) for r in rows} == EXPECTED_EVENTS
    assert len(rows) == 35
    for row in rows:
        assert row["kind"] == "account"
        assert row["source"].strip(), row
        assert row["fields"], row


def test_events_default_kind_is_dp() -> None:
    rows = [json.loads(line) for line in run("events", "--json").stdout.splitlines()]
    assert rows and {r["kind"] for r in rows} == {"dp"}
    assert not {(r["entity"], r["event"]) for r in rows} & {("contacts", "add"), ("talks", "add")}


def test_every_source_says_where_the_shape_comes_from() -> None:
    """A shape settled by the notes names FORMAT.md; any other says it is not
    settled by a capture ("no capture ...") or is made "by analogy"."""
    for e in catalog.events("account"):
        source = e.source.strip()
        assert source, e.name
        settled = source.startswith("FORMAT.md")
        unsettled = "no capture" in source or "by analogy" in source
        assert settled or unsettled, (e.name, source)
    # FORMAT.md has no shape for these: their sources must say so.
    for name in (
        "customers.add",
        "tasks.add",
        "catalogs.add",
        "unsorted.add",
        "talks.add",
        "contacts.delete",
        "companies.add",
        "companies.note",
    ):
        source = catalog.event(name, kind="account").source
        assert "no capture" in source or "by analogy" in source, (name, source)
    assert catalog.account_block("account").source.strip()


# -- 2. every body: two top-level keys, the account block, ids, times ----------------------


def _walk(value: Any, path: str = ""):  # noqa: ANN202
    """(key, value, path) of every dict entry at any depth."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v, f"{path}[{k}]"
            yield from _walk(v, f"{path}[{k}]")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")


def _check_ids_and_times(entity: str, item: dict[str, Any], account_id: str) -> None:
    for key, value, path in _walk(item):
        where = f"{entity}{path}={value!r}"
        if key in USER_FIELDS:
            assert in_range(value, USER_IDS), where
        elif key in ("status_id", "old_status_id"):
            assert int(value) in SYSTEM_STAGES or in_range(value, STATUS_IDS), where
        elif key == "pipeline_id":
            assert in_range(value, PIPELINE_IDS), where
        elif key == "account_id":
            assert value == account_id, where
        elif key == "date_create" and "[note]" in path:
            pass  # Y-m-d H:i:s, checked with the note
        elif key in TIME_FIELDS:
            assert in_range(value, PLAUSIBLE_TIME), where
        elif key == "group_id":
            assert value.isdigit(), where  # 0: no group
        elif key in ("chat_id",) or (key == "id" and path.endswith("[author][id]")):
            assert is_uuid(value), where
        elif key == "id" and entity == "message" and path.count("[") == 1:
            assert is_uuid(value), where
        elif key == "id" or key.endswith("_id") or key == "enum":
            assert isinstance(value, str) and POSITIVE.fullmatch(value), where
    if entity == "leads" and "id" in item:
        assert in_range(item["id"], LEAD_IDS)
    if "created_at" in item and "updated_at" in item:
        assert int(item["updated_at"]) >= int(item["created_at"])


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(("entity", "event"), ALL, ids=[f"{a}.{b}" for a, b in ALL])
def test_body_shape(entity: str, event: str, locale: str) -> None:
    for seed in SEEDS:
        hook = generate(event, entity, kind="account", seed=seed, locale=locale, count=2)
        data = decode(hook.body)
        assert data == hook.json
        assert set(data) == {entity, "account"} and len(data) == 2
        assert list(data[entity]) == [event]
        got = data[entity][event]
        assert isinstance(got, list) and len(got) == 2
        account = data["account"]
        assert set(account) == {"subdomain", "id", "_links"}
        assert SUBDOMAIN.fullmatch(account["subdomain"]), account
        assert in_range(account["id"], ACCOUNT_IDS), account
        assert set(account["_links"]) == {"self"}
        for item in got:
            assert isinstance(item, dict) and item
            _check_ids_and_times(entity, item, account["id"])


def test_russian_account_links_to_amocrm_ru() -> None:
    for entity, event in ALL:
        for seed in SEEDS:
            account = body(entity, event, seed, "ru")["account"]
            assert account["_links"]["self"] == f"https://{account['subdomain']}.amocrm.ru"


def test_english_account_links_to_an_international_domain() -> None:
    for entity, event in ALL:
        for seed in SEEDS:
            account = body(entity, event, seed, "en")["account"]
            sub = account["subdomain"]
            assert account["_links"]["self"] in (
                f"https://{sub}.amocrm.com",
                f"https://{sub}.kommo.com",
            )


def test_account_block_comes_first_on_the_wire() -> None:
    """2025 bodies put the account block first (FORMAT.md); the subdomain leads it."""
    hook = generate("add", "contacts", kind="account", seed=1)
    assert hook.body.startswith(b"account%5Bsubdomain%5D=")


# -- 3. field order ------------------------------------------------------------------------


@pytest.mark.parametrize("event", ["add", "update", "restore", "status", "responsible"])
def test_lead_fields_in_amocrm_order(event: str) -> None:
    required = [k for k in LEAD_ORDER if k not in LEAD_OPTIONAL]
    if event == "status":
        required.insert(required.index("price"), "old_status_id")
    if event == "responsible":
        required.insert(required.index("last_modified"), "old_responsible_user_id")
    for seed in range(20):
        for item in items("leads", event, seed):
            keys = list(item)
            assert is_subsequence(keys, LEAD_ORDER), keys
            assert set(required) <= set(keys), (set(required) - set(keys), keys)
            assert ("old_status_id" in keys) == (event == "status")
            assert ("old_responsible_user_id" in keys) == (event == "responsible")


def test_deleted_lead_keeps_the_lead_order() -> None:
    for seed in range(10):
        (item,) = items("leads", "delete", seed)
        assert "id" in item and is_subsequence(list(item), LEAD_ORDER), list(item)


def _check_custom_fields(fields: list[dict[str, Any]]) -> None:
    """``custom_fields[j][id|name|code]``, ``custom_fields[j][values][k][value|enum]``,
    or a date as a bare ``values[0]=<unix time>``."""
    assert isinstance(fields, list) and fields
    for field in fields:
        assert is_subsequence(list(field), ["id", "name", "code", "values"]), field
        assert {"id", "name", "values"} <= set(field), field
        assert POSITIVE.fullmatch(field["id"]) and field["name"]
        assert isinstance(field["values"], list) and field["values"]
        for value in field["values"]:
            if isinstance(value, dict):
                assert is_subsequence(list(value), ["value", "enum"]) and "value" in value
                if "enum" in value:
                    assert POSITIVE.fullmatch(value["enum"])
            else:
                assert in_range(value, PLAUSIBLE_TIME), field


def test_tags_and_custom_fields_shapes() -> None:
    for entity, event in ALL:
        for seed in range(3):
            for item in items(entity, event, seed):
                if "tags" in item:
                    assert isinstance(item["tags"], list)
                    for tag in item["tags"]:
                        assert list(tag) == ["id", "name"] and POSITIVE.fullmatch(tag["id"])
                        assert tag["name"]
                if "custom_fields" in item:
                    _check_custom_fields(item["custom_fields"])


def test_empty_tags_send_no_keys() -> None:
    """A lead without tags puts no ``[tags]`` key on the wire, and ``Webhook.json``
    (what ``$_POST`` holds) has none either."""
    untagged = 0
    for seed in range(30):
        hook = generate("add", "leads", kind="account", seed=seed)
        if b"%5Btags%5D" not in hook.body:
            untagged += 1
            assert "tags" not in hook.json["leads"]["add"][0]
            assert hook.json == decode(hook.body)
    assert untagged, "every lead in seeds 0..29 has tags"


@pytest.mark.parametrize("entity", ["leads", "contacts", "companies"])
def test_note_object_in_amocrm_order(entity: str) -> None:
    for seed in range(10):
        (item,) = items(entity, "note", seed)
        assert list(item) == ["note"]
        note = item["note"]
        assert list(note) == NOTE_ORDER
        stamp = note["date_create"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", stamp), stamp
        parsed = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
        # Y-m-d H:i:s is in the account's time zone: within a day of created_at.
        assert abs(parsed.timestamp() - int(note["created_at"])) < 86400 + 3600
        assert note["text"]
        for key in ("created_at", "updated_at"):
            assert in_range(note[key], PLAUSIBLE_TIME)
        for key in ("created_by", "modified_by", "main_user_id"):
            assert in_range(note[key], USER_IDS)
        if entity == "leads":
            assert in_range(note["element_id"], LEAD_IDS)


def test_message_in_amocrm_order() -> None:
    required = [k for k in MESSAGE_ORDER if k not in MESSAGE_OPTIONAL]
    for seed in range(10):
        for locale in LOCALES:
            (item,) = items("message", "add", seed, locale)
            keys = list(item)
            assert is_subsequence(keys, MESSAGE_ORDER) and set(required) <= set(keys), keys
            assert item["type"] == "incoming"
            assert is_uuid(item["id"])
            assert list(item["author"]) == ["id", "type", "name", "avatar_url"]
            assert item["author"]["name"] and item["text"]
            assert in_range(item["created_at"], PLAUSIBLE_TIME)


@pytest.mark.parametrize("event", ["add", "update", "restore", "responsible"])
def test_contact_is_a_lead_like_item_with_type_and_coded_fields(event: str) -> None:
    common = {
        "id",
        "name",
        "responsible_user_id",
        "last_modified",
        "modified_user_id",
        "created_user_id",
        "date_create",
        "account_id",
        "created_at",
        "updated_at",
    }
    for seed in range(10):
        (item,) = items("contacts", event, seed)
        assert item["type"] == "contact"
        assert common <= set(item), common - set(item)
        fields = item["custom_fields"]
        _check_custom_fields(fields)
        by_code = {f.get("code"): f for f in fields}
        for code in ("PHONE", "EMAIL"):
            field = by_code[code]
            assert list(field) == ["id", "name", "code", "values"]
            (value,) = field["values"]
            assert set(value) == {"value", "enum"}
            assert POSITIVE.fullmatch(value["enum"])


def test_deleted_contact_says_contact() -> None:
    (item,) = items("contacts", "delete", 3)
    assert item["type"] == "contact" and POSITIVE.fullmatch(item["id"])


# -- 4. coherence -------------------------------------------------------------------------


def test_status_change_has_a_different_old_stage() -> None:
    seen_system = False
    for seed in range(50):
        (item,) = items("leads", "status", seed)
        assert item["old_status_id"] != item["status_id"]
        seen_system |= int(item["status_id"]) in SYSTEM_STAGES
    assert seen_system, "142/143 never occur"


@pytest.mark.parametrize("entity", ["leads", "contacts", "companies", "tasks"])
def test_responsible_change_has_a_different_old_user(entity: str) -> None:
    for seed in range(50):
        (item,) = items(entity, "responsible", seed)
        assert item["old_responsible_user_id"] != item["responsible_user_id"]
        assert in_range(item["old_responsible_user_id"], USER_IDS)


def test_a_date_custom_field_comes_as_a_bare_value() -> None:
    """``custom_fields[j][values][0]=<unix time>``: a scalar where a map usually stands."""
    bare = []
    for seed in range(50):
        hook = generate("add", "leads", kind="account", seed=seed)
        item = decode(hook.body)["leads"]["add"][0]
        for j, field in enumerate(item.get("custom_fields", [])):
            first = field["values"][0]
            if isinstance(first, str):
                assert in_range(first, PLAUSIBLE_TIME)
                key = f"leads%5Badd%5D%5B0%5D%5Bcustom_fields%5D%5B{j}%5D%5Bvalues%5D%5B0%5D="
                assert key.encode() in hook.body
                bare.append(seed)
    assert bare, "no lead in seeds 0..49 has a date custom field"


def test_count_gives_distinct_items_of_one_account() -> None:
    data = body("leads", "update", seed=4, count=3)
    got = data["leads"]["update"]
    assert len({item["id"] for item in got}) == 3
    assert {item["account_id"] for item in got} == {data["account"]["id"]}


# -- 5. realistic people -------------------------------------------------------------------


def _phone_and_email(item: dict[str, Any]) -> tuple[str, str]:
    by_code = {f.get("code"): f for f in item["custom_fields"]}
    return by_code["PHONE"]["values"][0]["value"], by_code["EMAIL"]["values"][0]["value"]


def test_russian_people_and_texts() -> None:
    for seed in range(20):
        (contact,) = items("contacts", "add", seed, "ru")
        assert CYRILLIC.search(contact["name"]), contact["name"]
        phone, email = _phone_and_email(contact)
        digits = re.sub(r"[ ()-]", "", phone)
        assert re.fullmatch(r"\+79\d{9}", digits) and phone.startswith("+7 9"), phone
        assert EMAIL.fullmatch(email), email
        (message,) = items("message", "add", seed, "ru")
        assert CYRILLIC.search(message["text"]), message["text"]
        assert CYRILLIC.search(message["author"]["name"]), message["author"]
        (lead,) = items("leads", "add", seed, "ru")
        assert CYRILLIC.search(lead["name"]), lead["name"]
        assert POSITIVE.fullmatch(lead["price"]) or lead["price"] == "0"


def test_english_people_and_texts() -> None:
    for seed in range(20):
        (contact,) = items("contacts", "add", seed, "en")
        assert re.fullmatch(r"[A-Za-z]+( [A-Za-z]+)+", contact["name"]), contact["name"]
        phone, email = _phone_and_email(contact)
        digits = re.sub(r"[ ()-]", "", phone)
        assert re.fullmatch(r"\+1\d{10}", digits), phone
        assert EMAIL.fullmatch(email), email
        (message,) = items("message", "add", seed, "en")
        assert not CYRILLIC.search(message["text"]) and message["text"]
        assert re.fullmatch(r"[A-Za-z]+( [A-Za-z]+)+", message["author"]["name"])
        (lead,) = items("leads", "add", seed, "en")
        assert not CYRILLIC.search(lead["name"])


def test_the_default_locale_is_russian() -> None:
    hook = generate("add", "contacts", kind="account", seed=2)
    assert hook.body == generate("add", "contacts", kind="account", seed=2, locale="ru").body
    assert CYRILLIC.search(hook.json["contacts"]["add"][0]["name"])


def test_same_seed_same_bytes_other_seed_other_body() -> None:
    for entity, event in ALL:
        for locale in LOCALES:
            a = generate(event, entity, kind="account", seed=7, locale=locale)
            b = generate(event, entity, kind="account", seed=7, locale=locale)
            assert a.body == b.body and a.request_id == b.request_id
        bodies = {generate(event, entity, kind="account", seed=s).body for s in range(10)}
        assert len(bodies) == 10, f"{entity}.{event}"


def test_locales_differ_for_the_same_seed() -> None:
    ru = generate("add", "contacts", kind="account", seed=5, locale="ru")
    en = generate("add", "contacts", kind="account", seed=5, locale="en")
    assert ru.body != en.body


# -- 6. the CLI ----------------------------------------------------------------------------


def test_cli_generate_contacts() -> None:
    result = run("generate", "add", "--kind", "account", "--entity", "contacts", "--seed", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    data = decode(result.stdout.removesuffix("\n"))
    assert set(data) == {"contacts", "account"}
    assert data["contacts"]["add"][0]["type"] == "contact"


def test_cli_same_seed_same_bytes() -> None:
    args = ("generate", "status", "--kind", "account", "--lead", "--seed", "9", "-f", "http")
    first, second = run(*args), run(*args)
    assert first.exit_code == 0, first.stderr
    assert first.stdout_bytes == second.stdout_bytes
    other = run("generate", "status", "--kind", "account", "--lead", "--seed", "10", "-f", "http")
    assert other.stdout_bytes != first.stdout_bytes


@pytest.mark.parametrize(
    ("alias", "entity"),
    [("talk", "talks"), ("contact", "contacts"), ("messages", "message"), ("task", "tasks")],
)
def test_cli_entity_aliases(alias: str, entity: str) -> None:
    by_alias = run("generate", "add", "--kind", "account", "--entity", alias, "--seed", "2")
    by_name = run("generate", "add", "--kind", "account", "--entity", entity, "--seed", "2")
    assert by_alias.exit_code == 0, by_alias.stderr
    assert by_alias.stdout == by_name.stdout
    assert entity in decode(by_alias.stdout.strip())


def test_cli_lead_and_customer_shortcuts_with_account_kind() -> None:
    lead = run("generate", "status", "--kind", "account", "--lead", "--seed", "1", "-f", "json")
    assert lead.exit_code == 0, lead.stderr
    item = json.loads(lead.stdout)["leads"]["status"][0]
    assert "name" in item and "old_status_id" in item  # account-level, not DP
    customer = run("generate", "add", "--kind", "account", "--customer", "--seed", "1")
    assert customer.exit_code == 0, customer.stderr
    assert "customers" in decode(customer.stdout.strip())


def test_cli_default_kind_is_dp() -> None:
    result = run("generate", "add", "--entity", "contacts", "--seed", "1")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("Error: ")


def test_cli_unknown_event_for_entity_lists_the_choices() -> None:
    result = run("generate", "period", "--kind", "account", "--entity", "leads")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    for event in ("add", "update", "delete", "restore", "status", "responsible", "note"):
        assert re.search(rf"\b{event}\b", result.stderr), result.stderr


def test_cli_unknown_kind() -> None:
    for command in (
        ("generate", "add", "--kind", "nope"),
        ("events", "--kind", "nope"),
        ("send", "add", "--kind", "nope", "--dry-run", "--url", "http://127.0.0.1:9/"),
    ):
        result = run(*command)
        assert result.exit_code == 2, command
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
        assert "dp" in lines[0] and "account" in lines[0]


def test_cli_send_dry_run_prints_the_request_and_sends_nothing() -> None:
    with recording_server() as server:
        url = server.url + "/hook"
        args = ("send", "add", "--kind", "account", "--entity", "contacts", "--seed", "3")
        result = run(*args, "--dry-run", "--url", url)
        assert result.exit_code == 0, result.stderr
        assert server.requests == []
    text = result.stdout_bytes
    head, sep, rest = text.partition(b"\r\n\r\n")
    assert sep, text
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == "POST /hook HTTP/1.1"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert headers["User-Agent"] == "amoCRM-Webhooks/3.0"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert is_uuid(headers["X-Amocrm-Requestid"])
    sent = rest.removesuffix(b"\n")
    assert int(headers["Content-Length"]) == len(sent)
    data = decode(sent)
    assert set(data) == {"contacts", "account"} and "_links" in data["account"]
    # The same seed through generate gives the same body.
    form = run("generate", "add", "--kind", "account", "--entity", "contacts", "--seed", "3")
    assert form.stdout.removesuffix("\n").encode() == sent
