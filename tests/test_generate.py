"""The generator: realistic, coherent, deterministic, shaped like real captures."""

from __future__ import annotations

import inspect
import re
import socket
import uuid
from pathlib import Path

import pytest

from amodp import catalog, decode
from amodp.errors import UnknownEventError, UsageError
from amodp.generator import generate, generate_all
from amodp.values import RULES

from .servers import recording_server

CAPTURES = Path(__file__).parent / "data" / "captures"


def _shape(body: str) -> list[str]:
    """The key sequence of a body, item indexes and all."""
    return [pair.partition("=")[0] for pair in body.split("&")]


def test_dp_status_has_the_captured_shape() -> None:
    # A real DP stage-change body (FORMAT.md): same keys in the same order.
    captured = (CAPTURES / "dp_leads_status.txt").read_text().strip()
    made = generate("status", "leads", seed=3).body.decode()
    assert _shape(made) == _shape(captured)


@pytest.mark.parametrize("event", ["call_in", "mail_in"])
def test_dp_call_and_mail_have_the_captured_fields(event: str) -> None:
    # Captured: only id, status_id, pipeline_id (FORMAT.md).
    made = generate(event, "leads", seed=1).json
    assert list(made["leads"][event][0]) == ["id", "status_id", "pipeline_id"]
    assert list(made["account"]) == ["id", "subdomain"]


def test_customers_period_follows_the_seed_page() -> None:
    made = generate("period", "customers", seed=1).json
    item = made["customers"]["period"][0]
    assert list(item) == ["id", "old_period_id", "period_id"]
    assert item["old_period_id"] != item["period_id"]


def test_every_catalog_event_generates_its_fields() -> None:
    for spec in catalog.events("dp"):
        data = generate(spec.event, spec.entity, seed=5).json
        items = data[spec.entity][spec.event]
        assert [list(i) for i in items] == [spec.field_names]
        assert set(data) == {spec.entity, "account"}


def test_values_are_realistic_and_coherent() -> None:
    statuses = set()
    for seed in range(300):
        data = generate("status", "leads", seed=seed, count=2).json
        for item in data["leads"]["status"]:
            assert item["status_id"] != item["old_status_id"]
            assert 10**7 <= int(item["id"]) < 10**8
            assert 10**6 <= int(item["pipeline_id"]) < 10**7
            assert 10**6 <= int(item["old_pipeline_id"]) < 10**7
            assert all(v.isdigit() for v in item.values())  # strings on the wire
            statuses.add(int(item["status_id"]))
        account = data["account"]
        assert 10**7 <= int(account["id"]) < 10**8
        assert re.fullmatch(r"[a-z][a-z0-9]{1,30}", account["subdomain"])
    assert {142, 143} <= statuses  # won and lost occur
    assert any(10**7 <= s < 10**8 for s in statuses)


def test_same_seed_same_bytes_no_seed_fresh() -> None:
    a = generate("status", "leads", seed=42, count=3)
    b = generate("status", "leads", seed=42, count=3)
    assert (a.body, a.request_id) == (b.body, b.request_id)
    assert a.http() == b.http()
    c = generate("status", "leads", count=3)
    d = generate("status", "leads", count=3)
    assert c.body != d.body
    assert c.request_id != d.request_id
    assert uuid.UUID(a.request_id).version == 4


def test_count_batches_items() -> None:
    data = generate("call_in", "leads", seed=1, count=4).json
    assert len(data["leads"]["call_in"]) == 4
    with pytest.raises(UsageError):
        generate("call_in", "leads", count=0)


def test_set_field_on_every_item_keeps_coherence() -> None:
    for seed in range(50):
        data = generate(
            "status", "leads", seed=seed, count=3, overrides=[("status_id", "142")]
        ).json
        for item in data["leads"]["status"]:
            assert item["status_id"] == "142"
            assert item["old_status_id"] != "142"


def test_set_bracket_path_sets_anything() -> None:
    hook = generate(
        "status",
        "leads",
        seed=1,
        overrides=[("account[subdomain]", "acme"), ("leads[status][0][custom]", "x y")],
    )
    assert hook.json["account"]["subdomain"] == "acme"
    assert hook.json["leads"]["status"][0]["custom"] == "x y"
    assert decode(hook.body) == hook.json


def test_set_unknown_field_lists_the_fields() -> None:
    with pytest.raises(UsageError, match="old_status_id"):
        generate("status", "leads", overrides=[("nope", "1")])


@pytest.mark.parametrize(
    ("event", "entity", "valid"),
    [
        ("period", "leads", "call_in, chat, mail_in, site_visit, status"),
        ("status", "customers", "call_in, chat, mail_in, period, site_visit"),
    ],
)
def test_event_of_the_wrong_entity_lists_choices(event: str, entity: str, valid: str) -> None:
    with pytest.raises(UnknownEventError, match=valid):
        generate(event, entity)


def test_generate_all_covers_the_catalog() -> None:
    hooks = generate_all(seed=1)
    names = [h.event.name for h in hooks]
    assert names == [e.name for e in catalog.events("dp")]
    assert len(names) == 10
    for hook in hooks:
        assert list(decode(hook.body)) == [hook.event.entity, "account"]
    only_status = generate_all(seed=1, overrides=[("old_status_id", "1")])
    assert [h.event.name for h in only_status] == ["leads.status"]


def test_http_request_goes_over_a_real_socket() -> None:
    with recording_server() as server:
        hook = generate("status", "leads", seed=9, url=server.url + "/hook?x=1")
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(hook.http())
            reply = sock.recv(1024)
        assert reply.startswith(b"HTTP/1.1 200")
    (got,) = server.requests
    assert (got.method, got.path, got.body) == ("POST", "/hook?x=1", hook.body)
    headers = dict(got.headers)
    assert headers["User-Agent"] == "amoCRM-Webhooks/3.0"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["X-Amocrm-Requestid"] == hook.request_id
    assert headers["Accept-Encoding"] == "gzip"
    assert headers["Content-Length"] == str(len(hook.body))


def test_generate_all_is_one_account_and_still_deterministic() -> None:
    for kind in catalog.KINDS:
        hooks = generate_all(kind=kind, count=2)
        accounts = {(h.json["account"]["id"], h.json["account"]["subdomain"]) for h in hooks}
        assert len(accounts) == 1, kind
        again = [h.body for h in generate_all(kind=kind, seed=4)]
        assert again == [h.body for h in generate_all(kind=kind, seed=4)]


def test_generate_all_tells_which_events_it_skipped() -> None:
    skipped: list[tuple[str, list[str]]] = []
    hooks = generate_all(
        seed=1,
        overrides=[("old_status_id", "1"), ("id", "5")],
        on_skip=lambda spec, missing: skipped.append((spec.name, missing)),
    )
    assert [h.event.name for h in hooks] == ["leads.status"]
    names = [e.name for e in catalog.events("dp") if e.name != "leads.status"]
    assert skipped == [(name, ["old_status_id"]) for name in names]


def test_errors_name_the_parameter_not_an_option() -> None:
    with pytest.raises(UsageError) as seed:
        generate("status", "leads", seed=-7)
    assert (str(seed.value), seed.value.param) == ("seed must be 0 or more, got -7", "seed")
    with pytest.raises(UsageError) as count:
        generate_all(count=0)
    assert (str(count.value), count.value.param) == ("count must be at least 1, got 0", "count")
    with pytest.raises(UsageError) as field:
        generate("status", "leads", overrides=[("nope", "1")])
    assert field.value.param == "overrides" and "--" not in str(field.value)


def test_every_kind_names_its_rules_in_the_one_registry() -> None:
    # const is the data file's own value, the callbacks sign the other two once
    # the rest is made, and "same:<field>" repeats a field.
    built = {"const", "salesbot_token", "disable_signature"}
    named = set()
    for kind in catalog.ALL_KINDS:
        for spec in catalog.events(kind):
            named |= {f.gen for f in spec.fields}
            named |= {claim["gen"] for claim in spec.details.get("claims", [])}
    for kind in catalog.KINDS:
        named |= {f.gen for f in catalog.account_block(kind).fields}
    unknown = {g for g in named - built if not g.startswith("same:") and g not in RULES}
    assert unknown == set()
    assert set(RULES) <= named  # no rule that no data file names
    for rule in RULES.values():
        assert len(inspect.signature(rule).parameters) == 2  # (values, field name)
