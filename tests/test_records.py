"""Capture records: the events of a record are what detection finds; one
reader, used by every command, reads every layout back to the bytes the
writer wrote."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from amodp import decode, generate_all
from amodp.catalog import detect, detect_events
from amodp.cli import app
from amodp.codec import parse
from amodp.errors import InputError
from amodp.records import (
    Forms,
    body_of,
    build_record,
    looks_like_records,
    make_record,
    read_records,
    record_bytes,
    record_line,
    select_records,
)

from .servers import recording_server

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


# -- one reader ------------------------------------------------------------------------

# Bodies as amoCRM sends them (FORMAT.md), and one that is not UTF-8.
STATUS = (
    b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=10754147&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142"
    b"&leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=6344290"
    b"&leads%5Bstatus%5D%5B0%5D%5Bold_status_id%5D=54435014"
    b"&leads%5Bstatus%5D%5B0%5D%5Bold_pipeline_id%5D=6344290"
    b"&account%5Bid%5D=30307558&account%5Bsubdomain%5D=example"
)
CHAT = (
    b"leads%5Bchat%5D%5B0%5D%5Bid%5D=10754147&leads%5Bchat%5D%5B0%5D%5Bstatus_id%5D=142"
    b"&leads%5Bchat%5D%5B0%5D%5Bpipeline_id%5D=6344290"
    b"&account%5Bid%5D=30307558&account%5Bsubdomain%5D=example"
)
NOT_UTF8 = b"leads%5Bnote%5D%5B0%5D%5Bnote%5D%5Btext%5D=\xff\xfe\xed\xa0\x80&account%5Bid%5D=1"
REQUEST_IDS = ["0b8c4a7e-3f2d-4d7e-9a51-2f6c1d0e9b3a", "f29d0da9-953f-48f1-a09f-76b5a170b338"]


def _captured(body: bytes, request_id: str, host: str = "127.0.0.1:8000") -> dict:
    headers = [
        ("host", host),
        ("user-agent", "amoCRM-Webhooks/3.0"),
        *FORM,
        ("x-amocrm-requestid", request_id),
        ("content-length", str(len(body))),
    ]
    return make_record(
        remote="127.0.0.1:40000",
        method="POST",
        path="/amo/hook",
        query="",
        headers=headers,
        body=body,
        status=200,
    )


def _file(*bodies: bytes, host: str = "127.0.0.1:8000") -> list[dict]:
    return [_captured(body, REQUEST_IDS[i % 2], host) for i, body in enumerate(bodies)]


def _jsonl(records: list[dict]) -> bytes:
    return b"".join(record_bytes(r) for r in records)


def _by_hand(records: list[dict]) -> bytes:
    """JSON Lines the writer would not write (lone surrogates, missing fields)."""
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def _layouts(records: list[dict]) -> dict[str, bytes]:
    """The same records in every layout a capture file may have."""
    plain = [json.loads(record_line(r)) for r in records]
    out = {
        "json lines": _jsonl(records),
        "json lines, CRLF and blank lines": b"\r\n\r\n".join(
            record_line(r).encode() for r in records
        ),
        "json array": json.dumps(plain).encode(),
        "json array, pretty": json.dumps(plain, indent=2, ensure_ascii=False).encode(),
    }
    if len(records) == 1:
        out["one record, pretty"] = json.dumps(plain[0], indent=4).encode()
    return out


@pytest.mark.parametrize("count", [1, 3])
def test_every_layout_reads_the_same_records(count: int) -> None:
    written = _file(*[STATUS, NOT_UTF8, CHAT][:count])
    for layout, data in _layouts(written).items():
        got = read_records(data)
        assert [r.number for r in got] == list(range(1, count + 1)), layout
        assert [r.body for r in got] == [STATUS, NOT_UTF8, CHAT][:count], layout
        assert [r.fields for r in got] == [json.loads(record_line(r)) for r in written], layout


@settings(deadline=None, max_examples=200)
@given(body=st.binary(max_size=200))
def test_any_body_round_trips_through_the_writer_and_the_reader(body: bytes) -> None:
    record = _captured(body, REQUEST_IDS[0])
    assert ("body" in record) != ("body_base64" in record)
    (back,) = read_records(record_bytes(record))
    assert back.body == body
    assert body_of(record) == body


def test_a_body_that_is_not_utf8_is_written_as_base64() -> None:
    record = _captured(NOT_UTF8, REQUEST_IDS[0])
    assert "body" not in record
    assert base64.b64decode(record["body_base64"]) == NOT_UTF8


def test_a_surrogateescape_byte_is_that_byte() -> None:
    data = json.dumps({"received_at": "x", "body": "a=\udcff"}).encode()
    assert read_records(data)[0].body == b"a=\xff"


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"body_base64": "not base64!"}, "record 2: body_base64 is not valid base64"),
        ({"body_base64": 12}, "record 2: body_base64 is not a string"),
        ({"body": None}, "record 2: body is not a string"),
        ({"body": "a=\ud800"}, r"record 2: body holds a lone surrogate \(\\ud800\)"),
    ],
)
def test_a_record_that_cannot_be_read_is_named(fields: dict, why: str) -> None:
    good = {"received_at": "2026-11-25T13:30:34.896120Z", "body": "a=1"}
    for data in (
        _by_hand([good, {"received_at": "x", **fields}]),
        json.dumps([good, {"received_at": "x", **fields}]).encode(),
    ):
        with pytest.raises(InputError, match=f"^{why}"):
            read_records(data)


def test_blank_lines_before_the_first_record() -> None:
    line = record_bytes(_captured(STATUS, REQUEST_IDS[0]))
    assert [r.body for r in read_records(b"\n \r\n" * 100 + line + b"\n\n" + line)] == [
        STATUS,
        STATUS,
    ]


def test_what_is_not_a_capture_file() -> None:
    good = record_line(_captured(STATUS, REQUEST_IDS[0])).encode()
    with pytest.raises(InputError, match="^empty input$"):
        read_records(b" \n\n")
    with pytest.raises(InputError, match="^line 3 is not a capture record"):
        read_records(good + b"\n" + good + b'\n{"note": "hi"}\n')
    with pytest.raises(InputError, match="^record 2 is not a capture record"):
        read_records(b"[" + good + b', {"note": "hi"}]')
    with pytest.raises(InputError, match="^line 1 is not a capture record"):
        read_records(STATUS)
    assert looks_like_records(good) and looks_like_records(b"[" + good + b"]")
    assert not looks_like_records(b'{"account[id]": "1"}') and not looks_like_records(STATUS)


# -- choosing records ------------------------------------------------------------------


def test_select_by_index_event_and_request_id() -> None:
    found = read_records(_jsonl(_file(STATUS, CHAT, STATUS)))

    def numbers(**asked: object) -> list[int]:
        return [r.number for r in select_records(found, **asked)]  # type: ignore[arg-type]

    assert numbers() == [1, 2, 3]
    assert numbers(index=2) == [2]
    assert numbers(event="status") == numbers(event="leads.status") == [1, 3]
    assert numbers(event="chat") == [2]
    assert numbers(request_id=REQUEST_IDS[0]) == [1, 3]
    assert numbers(event="status", request_id=REQUEST_IDS[0], index=3) == [3]
    with pytest.raises(InputError, match="^there is no record 4: 3 records in all$"):
        numbers(index=4)
    with pytest.raises(InputError, match="no record with the event 'period'; events there: "):
        numbers(event="period")
    with pytest.raises(InputError, match="^no record with the request id 'nope'$"):
        numbers(request_id="nope")


def test_a_record_without_events_is_matched_by_its_body() -> None:
    data = json.dumps({"received_at": "x", "body": CHAT.decode()}).encode()
    (chosen,) = select_records(read_records(data), event="leads.chat")
    assert chosen.body == CHAT


# -- every command reads the same files --------------------------------------------------

runner = CliRunner()


def _run(*args: str, input: bytes | str | None = None):  # noqa: ANN202
    return runner.invoke(app, list(args), input=input)


@pytest.mark.parametrize("layout", list(_layouts(_file(STATUS))))
def test_decode_and_replay_read_every_layout(layout: str, tmp_path: Path) -> None:
    written = _file(STATUS, NOT_UTF8, CHAT)
    layouts = _layouts(written) if layout != "one record, pretty" else _layouts(written[:1])
    path = tmp_path / "hooks.json"
    path.write_bytes(layouts[layout])
    decoded = _run("decode", "--compact", str(path))
    assert decoded.exit_code == 0, decoded.stderr
    assert [json.loads(line) for line in decoded.stdout.splitlines()] == [
        r["decoded"] for r in written[: len(decoded.stdout.splitlines())]
    ]
    with recording_server() as server:
        sent = _run("send", "--replay", str(path), "--url", server.url)
    assert sent.exit_code == 0, sent.stderr
    assert [got.body for got in server.requests] == [STATUS, NOT_UTF8, CHAT][: len(server.requests)]


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"body": "a=\ud800"}, r"record 2: body holds a lone surrogate \(\\ud800\)"),
        ({"body_base64": "%%%"}, "record 2: body_base64 is not valid base64"),
        ({"method": None}, "record 2: no method to send it with"),
        ({"path": ""}, "record 2: no path to send it to"),
        ({"method": "PO ST"}, "record 2: 'PO ST' is not an HTTP method"),
        ({"headers": [["x-note", "Иван"]]}, "record 2: the x-note header cannot be sent"),
    ],
)
def test_a_record_that_cannot_be_sent_is_one_error_line(
    fields: dict, why: str, tmp_path: Path
) -> None:
    good, bad = _file(STATUS, STATUS)
    bad.update(fields)
    path = tmp_path / "hooks.jsonl"
    path.write_bytes(_by_hand([good, bad]))
    with recording_server() as server:
        result = _run("send", "--replay", str(path), "--url", server.url)
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert re.fullmatch(f"Error: {re.escape(str(path))}: {why}[^\n]*\n", result.stderr)
    assert server.requests == []


def test_replay_chooses_records(tmp_path: Path) -> None:
    path = tmp_path / "hooks.jsonl"
    path.write_bytes(_jsonl(_file(STATUS, CHAT, NOT_UTF8)))
    with recording_server() as server:
        for asked in (["--index", "3"], ["--event", "chat"], ["--request-id", REQUEST_IDS[1]]):
            result = _run("send", "--replay", str(path), "--url", server.url, *asked)
            assert result.exit_code == 0, result.stderr
    assert [got.body for got in server.requests] == [NOT_UTF8, CHAT, CHAT]
    decoded = _run("decode", "--compact", "--event", "leads.status", str(path))
    assert decoded.stdout == json.dumps(decode(STATUS), separators=(",", ":")) + "\n"


def test_choosing_needs_a_capture_file() -> None:
    result = _run("decode", "--index", "1", input=STATUS)
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: stdin: it is not a capture file, so there are no records to choose from\n"
    )
    result = _run("send", "status", "--url", "http://127.0.0.1:9/", "--event", "status")
    assert result.exit_code == 2
    assert "--replay FILE" in result.stderr


def test_replay_without_url_goes_back_to_the_loopback_host(tmp_path: Path) -> None:
    with recording_server() as server:
        host = server.url.removeprefix("http://")
        path = tmp_path / "hooks.jsonl"
        path.write_bytes(_jsonl(_file(STATUS, CHAT, host=host)))
        result = _run("send", "--replay", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        f"No --url: the requests go to {server.url}, where the records were received\n"
    )
    assert [(got.path, got.body) for got in server.requests] == [
        ("/amo/hook", STATUS),
        ("/amo/hook", CHAT),
    ]


@pytest.mark.parametrize("host", ["hooks.example.com", "10.0.0.7:8000", None])
def test_replay_without_url_elsewhere_wants_a_url(host: str | None, tmp_path: Path) -> None:
    record = _captured(STATUS, REQUEST_IDS[0], host or "")
    if host is None:
        record["headers"] = [h for h in record["headers"] if h[0] != "host"]
    path = tmp_path / "hooks.jsonl"
    path.write_bytes(record_bytes(record))
    result = _run("send", "--replay", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path}: record 1 ")
    assert result.stderr.endswith("say where to send it with --url\n")


@pytest.mark.parametrize(
    "args", [["decode"], ["decode", "-"], ["encode"], ["send", "--replay", "-"]]
)
def test_empty_input_is_said_the_same_everywhere(args: list[str]) -> None:
    for empty in ("", " \n"):
        result = _run(*args, input=empty)
        assert result.exit_code == 2
        assert result.stderr == "Error: stdin: empty input\n"


def test_encode_points_capture_records_at_decode(tmp_path: Path) -> None:
    for layout, data in _layouts(_file(STATUS)).items():
        path = tmp_path / "hooks.jsonl"
        path.write_bytes(data)
        result = _run("encode", str(path))
        assert result.exit_code == 2, layout
        assert result.stderr == (
            f"Error: {path} looks like capture records; to read them use amodp decode\n"
        )


@pytest.mark.parametrize(
    ("kind", "event"),
    [
        ("chat", "message"),
        ("chat", "typing"),
        ("salesbot", "widget_request"),
        ("oauth", "disabled"),
    ],
)
def test_a_record_names_the_callback_it_holds(kind: str, event: str) -> None:
    """What the listener keeps of a Chats API hook, a Salesbot call (JSON bodies)
    or an OAuth GET (a query, no body) names the callback."""
    from amodp import callbacks

    made = callbacks.generate(event, kind=kind, seed=3)
    content_type = dict((k.lower(), v) for k, v in made.headers).get("content-type")
    record = build_record(
        "127.0.0.1:5000", made.method, "/hook", made.query or "",
        [[k.lower(), v] for k, v in made.headers], content_type, made.body, 200, "t",
    )  # fmt: skip
    assert [(e["kind"], e["event"]) for e in record["events"]] == [(kind, event)]
    assert record["decoded"] is None  # not a form: $_POST would be empty


# -- the listener's Forms: the same decoding and events, learnt once per shape -----------

CAPTURES = Path(__file__).parent / "fixtures" / "captures"


def _form_bodies() -> list[bytes]:
    """Every kept capture and documentation example, and generated bodies of
    every DP and account-level event with several seeds and batch sizes."""
    from amodp import encode

    bodies = []
    for path in sorted(CAPTURES.iterdir()):
        if path.suffix == ".txt":
            bodies.append(path.read_bytes())
        elif path.suffix == ".json":
            bodies.append(encode(json.loads(path.read_text(encoding="utf-8"))).encode())
    for kind in ("dp", "account"):
        for seed, count in ((1, 1), (2, 3), (3, 1), (4, 2)):
            bodies += [w.body for w in generate_all(kind=kind, seed=seed, count=count)]
    return bodies


def _plain(body: bytes) -> tuple[object, list[str], list[dict]]:
    """What the plain decoder and detection make of a body."""
    result = parse(body)
    return result.value, result.warnings, detect_events(result.value)


def test_forms_read_every_body_as_the_plain_decoder_and_detection_do() -> None:
    bodies = _form_bodies()
    assert len(bodies) > 150
    forms = Forms(size=16)  # small: shapes are forgotten and learnt again too
    for round_ in range(2):  # learning the shapes, then filling them in
        for body in bodies:
            result, events = forms.read(body)
            assert (result.value, result.warnings, events) == _plain(body), (round_, body[:80])
    assert any(plan is not None for plan in forms.plans.values())


def test_forms_tell_a_company_from_a_contact_in_bodies_of_one_shape() -> None:
    """contacts[update] holds contacts and companies alike, and a change of
    the responsible user looks like any update but for a value: events that
    depend on values are found anew for every body."""

    def body(kind: str, old_responsible: str) -> bytes:
        return (
            f"contacts%5Bupdate%5D%5B0%5D%5Bid%5D=7&contacts%5Bupdate%5D%5B0%5D%5Btype%5D={kind}"
            "&contacts%5Bupdate%5D%5B0%5D%5Bresponsible_user_id%5D=5"
            f"&contacts%5Bupdate%5D%5B0%5D%5Bold_responsible_user_id%5D={old_responsible}"
            "&account%5Bid%5D=1&account%5Bsubdomain%5D=acme"
        ).encode()

    forms = Forms()
    seen = set()
    for kind in ("contact", "company", "contact"):
        for old in ("5", "9", "5"):
            _, events = forms.read(body(kind, old))
            assert events == _plain(body(kind, old))[2]
            seen.add((events[0]["entity"], events[0]["event"]))
    assert len(seen) == 4, seen  # contact/company, update/responsible change


def _json_record(body: bytes) -> dict:
    return build_record(
        "127.0.0.1:5000", "POST", "/amo/chat", "", [["content-type", "application/json"]],
        "application/json", body, 200, "t",
    )  # fmt: skip


def test_a_json_callback_is_named_as_json_decode_reads_it(php) -> None:
    """The documentation's chat hook, with a newline before it (JSON allows it, and
    so does PHP's json_decode), and with a NaN in it (neither allows that)."""
    import subprocess

    body = (Path(__file__).parent / "fixtures" / "callbacks" / "chat.message.json").read_bytes()
    nan = body.replace(b'"time": 1639572261', b'"time": NaN', 1)
    assert nan != body
    script = "var_dump(is_array(json_decode(file_get_contents('php://stdin'), true)));"
    for data, php_reads in ((b"\n" + body, b"bool(true)"), (nan, b"bool(false)")):
        done = subprocess.run(
            [php.php_binary(), *php.PHP_ARGS, "-r", script],
            input=data, capture_output=True, check=True, timeout=60,
        )  # fmt: skip
        assert done.stdout.strip() == php_reads
        events = [(e["kind"], e["event"]) for e in _json_record(data)["events"]]
        assert events == ([("chat", "message")] if php_reads == b"bool(true)" else [])


def test_callback_of_a_body_or_a_get_query() -> None:
    from amodp.records import callback_of

    body = (Path(__file__).parent / "fixtures" / "callbacks" / "chat.message.json").read_bytes()
    # The documentation's disable hook, a curl command: its query.
    curl = (Path(__file__).parent / "fixtures" / "callbacks" / "oauth.disabled.txt").read_text()
    query = re.search(r"\?([^' ]+)'", curl).group(1)  # type: ignore[union-attr]
    found = callback_of(body)
    assert found is not None and found.name == "chat.message"
    found = callback_of(b"", query, "GET")
    assert found is not None and found.name == "oauth.disabled"
    assert callback_of(b"", query, "POST") is None  # the callbacks sent as a query are GETs
    assert callback_of(b"leads[status][0][id]=1") is None  # a form: a webhook, not a callback
    assert callback_of(b"[1, 2]") is None
