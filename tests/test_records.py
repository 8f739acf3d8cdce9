"""Capture records: the events of a record are what detection finds."""

from __future__ import annotations

import json

import pytest

from amodp import generate_all
from amodp.catalog import detect
from amodp.records import make_record, record_bytes, record_line

FORM = [("content-type", "application/x-www-form-urlencoded")]


def _record(body: bytes) -> dict:
    return make_record(
        remote="127.0.0.1:1", method="POST", path="/", query="", headers=FORM, body=body, status=200
    )


@pytest.mark.parametrize("kind", ["dp", "account"])
def test_events_are_what_detection_finds(kind: str) -> None:
    for seed in range(4):
        for count in (1, 3):
            for hook in generate_all(kind=kind, seed=seed, count=count):
                want = [found.as_dict() for found in detect(hook.json)]
                assert want, hook.event.name
                record = _record(hook.body)
                assert record["events"] == want, hook.event.name
                assert record["decoded"] == hook.json, hook.event.name


def test_bodies_with_the_same_names_and_other_ids() -> None:
    bodies = [
        b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=" + str(i).encode() + b"&account%5Bid%5D=1"
        for i in range(5)
    ]
    for i, body in enumerate(bodies):
        (event,) = _record(body)["events"]
        assert event["ids"] == [str(i)]
        assert (event["entity"], event["event"]) == ("leads", "status")


def test_record_bytes_is_record_line_and_a_newline() -> None:
    record = _record(b"a%5Bx%E2%80%A8y%5D=%FF%ED%A0%80&b%5B2%5D=1&b%5B0%5D=2&c=%F0%9F%98%80")
    others = [
        b"a=x%E2%80%A9y",  # U+2029 in a value, no int keys
        b"a%5B5%5D=%D0%96",  # an int key and Cyrillic
        "имя=значение".encode(),  # raw UTF-8, not encoded
        generate_all(seed=1)[0].body,
        generate_all(seed=1, kind="account")[0].body,
    ]
    for rec in (record, *(_record(body) for body in others)):
        line = record_bytes(rec)
        assert line == (record_line(rec) + "\n").encode("utf-8")
        assert json.loads(line) == json.loads(record_line(rec))
