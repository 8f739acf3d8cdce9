"""amodp.callbacks and the callback data files: shapes against the documented
examples in tests/fixtures/callbacks, signatures with hmac and PyJWT, bytes on a
real socket."""

from __future__ import annotations

import doctest
import hashlib
import hmac
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from typer.testing import CliRunner

from amodp import callbacks, catalog, signing
from amodp.cli import app
from amodp.errors import UnknownEventError, UsageError
from amodp.generator import generate

from .conftest import require_tools
from .servers import recording_server

FIXTURES = Path(__file__).parent / "fixtures" / "callbacks"
CHANNEL_SECRET = "5a44c5dff55f3c15a4cce8d7c4cc27e207c7e189"
CLIENT_SECRET = "Xq3vT9sLk2mN8pR4wY6zB1cD5fG7hJ0aQeUiOtSrVbNmKlJhGfDsApOiUyTrEwQz"
SEEDS = range(40)
ALL = [e.name for kind in catalog.CALLBACK_KINDS for e in catalog.events(kind)]


def paths(value: Any, prefix: str = "") -> set[str]:
    """Every leaf path of a JSON value (objects only: lists and null are leaves)."""
    if isinstance(value, dict):
        found: set[str] = set()
        for key, inner in value.items():
            found |= paths(inner, f"{prefix}{key}.")
        return found
    return {prefix.removesuffix(".")}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def generated_paths(name: str) -> set[str]:
    found: set[str] = set()
    for seed in SEEDS:
        found |= paths(callbacks.generate(name, seed=seed).json)
    return found


# -- the data files --------------------------------------------------------------------


def test_catalog_lists_the_callback_kinds() -> None:
    assert {e.name for e in catalog.events("chat")} == {
        "chat.message",
        "chat.typing",
        "chat.reaction",
        "chat.comment_reply",
    }
    assert [e.name for e in catalog.events("salesbot")] == ["salesbot.widget_request"]
    assert {e.name for e in catalog.events("oauth")} == {
        "oauth.disabled",
        "oauth.redirect",
        "oauth.denied",
    }
    assert set(catalog.KINDS) == {"dp", "account"}  # detection looks at webhooks only


@pytest.mark.parametrize("name", ALL)
def test_every_data_file_says_what_settles_it(name: str) -> None:
    kind = name.partition(".")[0]
    path = catalog.EVENTS_DIR / kind / f"{name}.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    for key in ("kind", "event", "description", "source", "method", "content_type", "fields"):
        assert key in raw, (name, key)
    assert raw["kind"] == kind
    assert raw["method"] in ("GET", "POST")
    assert raw["source"].startswith("documented: https://"), name
    assert "capture" in raw["source"], name  # says whether a capture settles it
    assert all({"name", "gen"} <= set(f) for f in raw["fields"])


def test_events_command_lists_callbacks_as_json() -> None:
    result = CliRunner().invoke(app, ["events", "--kind", "chat", "--json"])
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["event"] for r in rows} == {"message", "typing", "reaction", "comment_reply"}
    for row in rows:
        assert row["method"] == "POST" and row["content_type"] == "application/json"
        assert row["signature"]["scheme"] == "chat"
        assert row["answer"]["timeout_seconds"] == 5


def test_events_command_table_for_a_callback_kind() -> None:
    result = CliRunner().invoke(app, ["events", "--kind", "oauth"])
    assert result.exit_code == 0, result.stderr
    assert "oauth.disabled" in result.stdout and "carries )" not in result.stdout


# -- shapes against the documented examples --------------------------------------------


@pytest.mark.parametrize(
    ("name", "example"),
    [
        ("chat.message", "chat.message.json"),
        ("chat.typing", "chat.typing.json"),
        ("chat.comment_reply", "chat.comment_reply.json"),
    ],
)
def test_chat_shapes_match_the_documented_example(name: str, example: str) -> None:
    documented = paths(fixture(example))
    made = generated_paths(name)
    assert made <= documented, sorted(made - documented)
    # The fields the example shows and amodp always sends, nested the same way.
    spec = catalog.event(name, kind="chat")
    required = {f.name for f in spec.fields if "optional" not in f.options}
    assert required <= documented
    assert required <= made


def test_chat_message_key_order_is_the_documented_one() -> None:
    example = fixture("chat.message.json")
    for seed in SEEDS:
        got = callbacks.generate("chat.message", seed=seed).json
        assert list(got) == list(example)
        assert [k for k in example["message"] if k in got["message"]] == list(got["message"])


def test_reaction_follows_the_parameter_table() -> None:
    lines = (FIXTURES / "chat.reaction.parameters.txt").read_text(encoding="utf-8")
    table = {line for line in lines.splitlines() if line and not line.startswith("#")}
    made = generated_paths("chat.reaction")
    assert made <= table, sorted(made - table)
    # What the example and the table agree on is where the example has it.
    example = paths(fixture("chat.reaction.json")) - {"action.reaction.msgid"}
    assert example <= made


def test_reaction_emoji_only_on_react() -> None:
    kinds = set()
    for seed in SEEDS:
        reaction = callbacks.generate("chat.reaction", seed=seed).json["action"]["reaction"]
        kinds.add(reaction["type"])
        assert ("emoji" in reaction) == (reaction["type"] == "react")
    assert kinds == {"react", "unreact"}


def test_chat_values_are_coherent() -> None:
    for seed in SEEDS:
        hook = callbacks.generate("chat.message", seed=seed).json
        inner = hook["message"]
        assert inner["msec_timestamp"] // 1000 == inner["timestamp"] <= hook["time"]
        message = inner["message"]
        assert message["type"] in ("text", "file", "video", "picture", "voice", "audio", "sticker")
        if message["type"] == "text":
            assert message["text"] and message["media"] == "" and message["file_size"] == 0
        else:
            assert message["media"].startswith("https://amojo.")
        typing = callbacks.generate("chat.typing", seed=seed).json
        assert typing["action"]["typing"]["expired_at"] == typing["time"] + 5


def test_salesbot_body_has_the_documented_fields() -> None:
    text = (FIXTURES / "salesbot.widget_request.txt").read_text(encoding="utf-8")
    documented = re.findall(r'^ {6}"(\w+)":', text, re.MULTILINE)
    assert documented == ["token", "data", "return_url"]
    example = re.escape(re.search(r'"return_url": "([^"]+)"', text)[1])
    # https://subdomain.amocrm.ru/api/v4/salesbot/321/continue/123, any subdomain and ids
    pattern = example.replace("subdomain", "[a-z0-9]+").replace("321", r"\d+")
    pattern = pattern.replace("123", r"\d+")
    for seed in SEEDS:
        hook = callbacks.generate("salesbot.widget_request", seed=seed, locale="ru")
        assert list(hook.json) == documented
        assert re.fullmatch(pattern, hook.json["return_url"]), hook.json["return_url"]
        assert all(isinstance(v, str) for v in hook.json["data"].values())


def test_salesbot_token_checked_with_pyjwt() -> None:
    lines = (FIXTURES / "salesbot.claims.txt").read_text(encoding="utf-8").splitlines()
    documented = {line.split()[0] for line in lines if line and not line.startswith("#")}
    url = "https://receiver.example.com/salesbot/hook"
    for seed in range(10):
        hook = callbacks.generate(
            "salesbot.widget_request", seed=seed, secret=CLIENT_SECRET, url=url
        )
        token = hook.json["token"]
        assert jwt.get_unverified_header(token)["alg"] == "HS512"
        claims = jwt.decode(
            token, CLIENT_SECRET, algorithms=["HS512"], audience="https://receiver.example.com"
        )
        assert set(claims) == documented
        now = time.time()
        assert claims["nbf"] <= now < claims["exp"]
        account = urlsplit(claims["iss"])
        assert (
            account.scheme == "https" and account.netloc == urlsplit(hook.json["return_url"]).netloc
        )
        assert account.netloc == f"{claims['subdomain']}.amocrm.ru"
        assert claims["entity_type"] in (2, 12) and claims["bot_type"] == "salesbot"
        entity = "lead" if claims["entity_type"] == 2 else "customer"
        assert hook.json["data"][entity] == str(claims["entity_id"])


def test_salesbot_international_account_is_on_kommo() -> None:
    hook = callbacks.generate("salesbot.widget_request", seed=1, locale="en")
    assert ".kommo.com/api/v4/salesbot/" in hook.json["return_url"]


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_a_seed_gives_webhooks_and_callbacks_one_account(locale: str) -> None:
    for seed in range(10):
        account = generate("add", "leads", kind="account", seed=seed, locale=locale).json["account"]
        bot = callbacks.generate("salesbot.widget_request", seed=seed, locale=locale)
        claims = jwt.decode(bot.json["token"], options={"verify_signature": False})
        made = (str(claims["account_id"]), claims["subdomain"], claims["iss"])
        assert made == (account["id"], account["subdomain"], account["_links"]["self"])
        redirect = callbacks.generate("oauth.redirect", seed=seed, locale=locale)
        assert "https://" + dict(parse_qsl(redirect.query))["referer"] == claims["iss"]
        disabled = dict(parse_qsl(callbacks.generate("oauth.disabled", seed=seed).query))
        assert disabled["account_id"] == account["id"]


def test_disable_hook_matches_the_captured_example() -> None:
    text = (FIXTURES / "oauth.disabled.txt").read_text(encoding="utf-8")
    documented = urlsplit(re.search(r"'(https://[^']+)'", text)[1])
    agent = re.search(r"-H 'user-agent: ([^']+)'", text)[1]
    for seed in range(10):
        hook = callbacks.generate("oauth.disabled", seed=seed, secret=CLIENT_SECRET)
        assert hook.method == "GET" and hook.body == b""
        names = [k for k, _ in parse_qsl(hook.query)]
        assert names == [k for k, _ in parse_qsl(documented.query)]
        assert dict(hook.headers)["User-Agent"] == agent
        query = dict(parse_qsl(hook.query))
        assert re.fullmatch(r"[0-9a-f]{64}", query["signature"])
        message = f"{query['client_uuid']}|{query['account_id']}".encode()
        want = hmac.new(CLIENT_SECRET.encode(), message, hashlib.sha256).hexdigest()
        assert query["signature"] == want


@pytest.mark.parametrize(
    ("name", "example"),
    [("oauth.redirect", "oauth.redirect.txt"), ("oauth.denied", "oauth.denied.txt")],
)
def test_redirects_carry_the_documented_parameters(name: str, example: str) -> None:
    text = (FIXTURES / example).read_text(encoding="utf-8").strip()
    documented = [k for k, _ in parse_qsl(text.partition("?")[2])]
    seen: set[str] = set()
    for seed in SEEDS:
        hook = callbacks.generate(name, seed=seed)
        names = [k for k, _ in parse_qsl(hook.query)]
        seen |= set(names)
        assert [n for n in documented if n in names] == [n for n in names if n in documented]
        if name == "oauth.redirect":
            query = dict(parse_qsl(hook.query))
            assert query["referer"].endswith(".amocrm.ru") and query["platform"] == "1"
            assert query["code"].startswith("def50200")
    assert set(documented) <= seen


# -- signatures, flaws, determinism -----------------------------------------------------


@pytest.mark.parametrize("name", [n for n in ALL if n.startswith("chat.")])
def test_chat_x_signature_is_hmac_sha1_of_the_exact_body(name: str) -> None:
    for seed in range(5):
        hook = callbacks.generate(name, seed=seed, secret=CHANNEL_SECRET)
        sent = dict(hook.headers)["X-Signature"]
        assert sent == hmac.new(CHANNEL_SECRET.encode(), hook.body, hashlib.sha1).hexdigest()


def test_without_a_secret_signatures_are_well_formed_but_unverifiable() -> None:
    hook = callbacks.generate("chat.message", seed=1)
    sent = dict(hook.headers)["X-Signature"]
    assert re.fullmatch(r"[0-9a-f]{40}", sent)
    assert sent != hmac.new(CHANNEL_SECRET.encode(), hook.body, hashlib.sha1).hexdigest()


@pytest.mark.parametrize("flaw", ["wrong-secret", "body-changed"])
def test_chat_flaws_fail_an_independent_check(flaw: str) -> None:
    hook = callbacks.generate("chat.message", seed=1, secret=CHANNEL_SECRET, flaw=flaw)
    sent = dict(hook.headers)["X-Signature"]
    assert sent != hmac.new(CHANNEL_SECRET.encode(), hook.body, hashlib.sha1).hexdigest()


@pytest.mark.parametrize(
    ("flaw", "error"),
    [
        ("expired", jwt.ExpiredSignatureError),
        ("not-yet-valid", jwt.ImmatureSignatureError),
        ("wrong-secret", jwt.InvalidSignatureError),
        ("body-changed", jwt.InvalidSignatureError),
    ],
)
def test_salesbot_flaws_fail_pyjwt(flaw: str, error: type[Exception]) -> None:
    hook = callbacks.generate("salesbot.widget_request", seed=1, secret=CLIENT_SECRET, flaw=flaw)
    with pytest.raises(error):
        jwt.decode(
            hook.json["token"], CLIENT_SECRET, algorithms=["HS512"], options={"verify_aud": False}
        )


SIGNED = [
    e.name
    for kind in catalog.CALLBACK_KINDS
    for e in catalog.events(kind)
    if e.details["signature"]
]


@pytest.mark.parametrize("name", SIGNED)
def test_verify_agrees_on_generated_callbacks(name: str) -> None:
    secret = CHANNEL_SECRET if name.startswith("chat.") else CLIENT_SECRET
    assert signing.verify(callbacks.generate(name, seed=1, secret=secret), secret).ok
    flaws = signing.FLAWS if name.startswith("salesbot.") else ("wrong-secret", "body-changed")
    for flaw in flaws:
        hook = callbacks.generate(name, seed=1, secret=secret, flaw=flaw)
        verdict = signing.verify(hook, secret)
        assert verdict.status == "invalid", (flaw, verdict)
        assert verdict.scheme == name.partition(".")[0].replace("oauth", "disabled")


def test_bad_options_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="only a Salesbot token"):
        callbacks.generate("chat.message", flaw="expired")
    with pytest.raises(UsageError, match="not signed"):
        callbacks.generate("oauth.redirect", flaw="wrong-secret")
    with pytest.raises(UsageError, match="unknown flaw"):
        callbacks.generate("chat.message", flaw="nope")
    with pytest.raises(UsageError, match="JSON style"):
        callbacks.generate("chat.message", style="nope")
    with pytest.raises(UsageError, match="say which callback"):
        callbacks.generate("message")
    with pytest.raises(UnknownEventError):
        callbacks.generate("chat.nope")


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_bytes(name: str) -> None:
    first = callbacks.generate(name, seed=5, secret=CLIENT_SECRET, now=1_800_000_000)
    again = callbacks.generate(name, seed=5, secret=CLIENT_SECRET, now=1_800_000_000)
    other = callbacks.generate(name, seed=6, secret=CLIENT_SECRET, now=1_800_000_000)
    assert first.http() == again.http()
    assert first.http() != other.http()


def test_generate_all_makes_one_per_event() -> None:
    hooks = callbacks.generate_all("chat", seed=1)
    assert [h.event.name for h in hooks] == [e.name for e in catalog.events("chat")]
    with pytest.raises(UsageError):
        callbacks.generate_all("dp")


def test_secret_is_nowhere_in_the_callback() -> None:
    for name in ALL:
        hook = callbacks.generate(name, seed=1, secret=CLIENT_SECRET)
        shown = repr(hook) + hook.http().decode() + hook.curl()
        assert CLIENT_SECRET not in shown


# -- JSON bytes -----------------------------------------------------------------------


def test_json_styles() -> None:
    compact = callbacks.generate("salesbot.widget_request", seed=2)
    php = callbacks.generate("salesbot.widget_request", seed=2, style="php")
    pretty = callbacks.generate("salesbot.widget_request", seed=2, style="pretty")
    data = json.loads(compact.body)
    assert data == json.loads(php.body) == json.loads(pretty.body)
    # compact: no whitespace between tokens, '/' and non-ASCII as they are
    assert compact.body == json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    assert b'"return_url":"https://' in compact.body and not compact.body.isascii()
    # php: json_encode's defaults
    assert php.body.isascii() and b'"return_url":"https:\\/\\/' in php.body
    assert b'\n  "token": ' in pretty.body


def test_chat_scope_id_goes_into_the_url() -> None:
    hook = callbacks.generate("chat.typing", seed=1, url="https://example.com/amo/:scope_id")
    scope = hook.path.rsplit("/", 1)[1]
    channel, _, account = scope.rpartition("_")
    assert account == hook.json["account_id"] and len(channel) == 36


# -- Webhook-compatible output, over a real socket ---------------------------------------


def test_http_is_a_complete_request() -> None:
    hook = callbacks.generate("chat.message", seed=3, url="http://127.0.0.1:9/hook?x=1")
    head, _, body = hook.http().partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == "POST /hook?x=1 HTTP/1.1"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert headers["Content-Length"] == str(len(body)) and body == hook.body
    get = callbacks.generate("oauth.disabled", seed=3).http()
    assert get.startswith(b"GET /?client_uuid=") and get.endswith(b"\r\n\r\n")


@pytest.mark.parametrize(
    "name", ["chat.comment_reply", "salesbot.widget_request", "oauth.disabled"]
)
def test_curl_delivers_the_exact_request(name: str) -> None:
    require_tools("curl")
    with recording_server() as server:
        secret = CHANNEL_SECRET if name.startswith("chat.") else CLIENT_SECRET
        hook = callbacks.generate(name, seed=4, secret=secret, url=server.url + "/cb")
        subprocess.run(["sh", "-c", hook.curl()], check=True, capture_output=True, timeout=30)
    (got,) = server.requests
    assert got.method == hook.method and got.path == hook.target
    assert got.body == hook.body
    received = {k.lower(): v for k, v in got.headers}
    for name_, value in hook.headers:
        if name_ not in ("Host", "Content-Length"):
            assert received[name_.lower()] == value
    if name.startswith("chat."):
        want = hmac.new(CHANNEL_SECRET.encode(), got.body, hashlib.sha1).hexdigest()
        assert received["x-signature"] == want


def test_docstrings_and_the_docs_page_run() -> None:
    failures, tries = doctest.testmod(callbacks)
    assert failures == 0 and tries > 0
    page = Path(__file__).parent.parent / "docs" / "callbacks.md"
    failures, tries = doctest.testfile(str(page), module_relative=False)
    assert failures == 0 and tries > 0


# -- the CLI: generate and send ---------------------------------------------------------

NOW = 1_780_000_000  # pins the Salesbot token's clock (2026-05-28)


def cli(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env=env)


def split_http(data: bytes) -> tuple[str, dict[str, str], bytes]:
    """(request line, headers, body) of one request as --format http prints it."""
    head, _, body = data.partition(b"\r\n\r\n")
    line, *rest = head.decode("latin-1").split("\r\n")
    headers = dict(h.split(": ", 1) for h in rest)
    length = int(headers.get("Content-Length", "0"))
    assert body[length:] == b"\n"  # one newline after each request
    return line, headers, body[:length]


def sha1(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


@pytest.mark.parametrize("name", ALL)
def test_generate_prints_every_callback_in_every_format(name: str) -> None:
    kind, _, event = name.partition(".")
    secret = CHANNEL_SECRET if kind == "chat" else CLIENT_SECRET
    base = [event, "--kind", kind, "--seed", "3", "--secret", secret, "--now", str(NOW)]
    url = "http://127.0.0.1:9/cb?x=1"
    http = cli("generate", *base, "--format", "http", "--url", url)
    assert (http.exit_code, http.stderr) == (0, "")
    line, headers, body = split_http(http.stdout_bytes)
    method, target, version = line.split(" ")
    assert version == "HTTP/1.1" and target.startswith("/cb?x=1")
    for fmt in ("form", "json"):
        shown = cli("generate", *base, "--format", fmt, "--url", url)
        assert (shown.exit_code, shown.stderr) == (0, "")
        if method == "GET":
            assert body == b"" and shown.stdout == f"GET {target}\n"
        else:
            # The body bytes as sent, then a newline; JSON in every format.
            assert shown.stdout_bytes == body + b"\n"
            assert headers["Content-Type"] == "application/json"
            assert isinstance(json.loads(body), dict)
    again = cli("generate", *base, "--format", "http", "--url", url)
    assert again.stdout_bytes == http.stdout_bytes  # --seed and --now: the same bytes
    if kind == "chat":
        assert headers["X-Signature"] == sha1(CHANNEL_SECRET, body)


def test_generate_all_of_a_kind() -> None:
    result = cli("generate", "--all", "--kind", "chat", "--seed", "1", "--secret", CHANNEL_SECRET)
    assert (result.exit_code, result.stderr) == (0, "")
    bodies = result.stdout_bytes.splitlines()
    events = {"message", "typing", "reaction", "comment_reply"}
    assert len(bodies) == 4
    found = {catalog.detect_callback(json.loads(b)).event for b in bodies}  # type: ignore[union-attr]
    assert found == events
    http = cli(
        "generate",
        "--all",
        "--kind",
        "chat",
        "--seed",
        "1",
        "--format",
        "http",
        "--secret",
        CHANNEL_SECRET,
    )
    chunks = http.stdout_bytes.split(b"### ")[1:]
    assert [c.split(b"\n", 1)[0].decode() for c in chunks] == [
        e.name for e in catalog.events("chat")
    ]
    for chunk in chunks:
        _, headers, body = split_http(chunk.split(b"\n", 1)[1])
        assert body in bodies and headers["X-Signature"] == sha1(CHANNEL_SECRET, body)


def test_salesbot_token_from_the_cli_is_valid_now_and_signed_with_the_secret() -> None:
    result = cli(
        "generate",
        "widget_request",
        "--kind",
        "salesbot",
        "--secret",
        CLIENT_SECRET,
        "--url",
        "https://bot.example.com/amo/salesbot",
    )
    assert (result.exit_code, result.stderr) == (0, "")
    body = json.loads(result.stdout)
    claims = jwt.decode(
        body["token"], CLIENT_SECRET, algorithms=["HS512"], audience="https://bot.example.com"
    )
    assert claims["nbf"] <= time.time() < claims["exp"]
    assert jwt.get_unverified_header(body["token"])["alg"] == "HS512"
    account = urlsplit(claims["iss"]).netloc
    assert account == f"{claims['subdomain']}.amocrm.ru"
    assert urlsplit(body["return_url"]).netloc == account


def test_the_disable_hook_from_the_cli_is_signed() -> None:
    uuid = "01d01160-d7a0-4087-b4af-6a1bb83fcd1d"
    args = ["disabled", "--kind", "oauth", "--seed", "2", "--secret", CLIENT_SECRET]
    result = cli("generate", *args, "--client-uuid", uuid)
    assert result.exit_code == 0
    line = result.stdout.strip()
    assert line.startswith("GET /?client_uuid=01d01160-d7a0-4087-b4af-6a1bb83fcd1d&account_id=")
    query = dict(parse_qsl(line.partition("?")[2]))
    message = f"{query['client_uuid']}|{query['account_id']}".encode()
    assert (
        query["signature"] == hmac.new(CLIENT_SECRET.encode(), message, hashlib.sha256).hexdigest()
    )


def test_the_secret_comes_from_the_environment_and_is_never_shown() -> None:
    env = {"AMODP_SECRET": CHANNEL_SECRET}
    result = cli(
        "generate", "message", "--kind", "chat", "--seed", "1", "--format", "http", env=env
    )
    assert (result.exit_code, result.stderr) == (0, "")
    _, headers, body = split_http(result.stdout_bytes)
    assert headers["X-Signature"] == sha1(CHANNEL_SECRET, body)
    shown = [result.stdout]
    for args in (
        ["generate", "--help"],
        ["send", "--help"],
        ["verify", "--help"],
        ["generate", "message", "--kind", "chat", "--format", "curl"],
        ["generate", "message", "--kind", "chat", "--expired"],
        ["generate", "message", "--kind", "chat", "--bad-signature", "--expired"],
        ["generate", "nope", "--kind", "chat"],
        ["send", "message", "--kind", "chat", "--url", "http://127.0.0.1:99999/"],
    ):
        other = cli(*args, env=env)
        shown += [other.stdout, other.stderr]
    assert "AMODP_SECRET" in shown[1]
    assert not [text for text in shown if CHANNEL_SECRET in text]


def test_without_a_secret_one_line_says_so() -> None:
    result = cli("generate", "--all", "--kind", "oauth", "--seed", "1", env={"AMODP_SECRET": None})  # type: ignore[dict-item]
    assert result.exit_code == 0
    assert result.stderr.count("\n") == 1 and "oauth.disabled" in result.stderr
    assert "throwaway key" in result.stderr and "--secret" in result.stderr
    unsigned = cli("generate", "redirect", "--kind", "oauth", env={"AMODP_SECRET": None})  # type: ignore[dict-item]
    assert (unsigned.exit_code, unsigned.stderr) == (0, "")  # nothing to sign


def test_negative_tests_from_the_cli() -> None:
    chat = ["message", "--kind", "chat", "--seed", "1", "--secret", CHANNEL_SECRET, "-f", "http"]
    for flaw in (["--bad-signature"], ["--flaw", "body-changed"]):
        result = cli("generate", *chat, *flaw)
        assert result.exit_code == 0
        _, headers, body = split_http(result.stdout_bytes)
        assert re.fullmatch(r"[0-9a-f]{40}", headers["X-Signature"])
        assert headers["X-Signature"] != sha1(CHANNEL_SECRET, body)
    bot = ["widget_request", "--kind", "salesbot", "--secret", CLIENT_SECRET]
    options = {"verify_aud": False}
    expired = json.loads(cli("generate", *bot, "--expired").stdout)["token"]
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(expired, CLIENT_SECRET, algorithms=["HS512"], options=options)
    early = json.loads(cli("generate", *bot, "--flaw", "not-yet-valid").stdout)["token"]
    with pytest.raises(jwt.ImmatureSignatureError):
        jwt.decode(early, CLIENT_SECRET, algorithms=["HS512"], options=options)
    wrong = json.loads(cli("generate", *bot, "--bad-signature").stdout)["token"]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(wrong, CLIENT_SECRET, algorithms=["HS512"], options=options)
    off = cli(
        "generate", "disabled", "--kind", "oauth", "--secret", CLIENT_SECRET, "--bad-signature"
    )
    query = dict(parse_qsl(off.stdout.strip().partition("?")[2]))
    message = f"{query['client_uuid']}|{query['account_id']}".encode()
    assert (
        query["signature"] != hmac.new(CLIENT_SECRET.encode(), message, hashlib.sha256).hexdigest()
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["generate", "message", "--kind", "chat", "--expired"],
            "only a Salesbot token can be expired",
        ),
        (["generate", "redirect", "--kind", "oauth", "--bad-signature"], "is not signed"),
        (["generate", "message", "--kind", "chat", "--flaw", "nope"], "unknown flaw 'nope'"),
        (
            ["generate", "message", "--kind", "chat", "--bad-signature", "--expired"],
            "choose one of",
        ),
        (["generate", "message", "--kind", "chat", "--lead"], "--lead is for dp and account"),
        (["generate", "message", "--kind", "chat", "--set", "a=1"], "--set is for dp and account"),
        (
            ["generate", "message", "--kind", "chat", "--count", "2"],
            "--count is for dp and account",
        ),
        (["generate", "message", "--kind", "chat", "--redact"], "--redact is for dp and account"),
        (["generate", "message", "--kind", "chat", "--json-style", "x"], "--json-style must be"),
        (["generate", "status", "--bad-signature"], "--bad-signature is for the callbacks"),
        (["generate", "status", "--now", "1"], "--now is for the callbacks"),
        (["generate", "status", "--json-style", "php"], "--json-style is for the callbacks"),
        (["generate", "--kind", "chat"], "name an EVENT (see 'amodp events --kind chat')"),
        (["generate", "status", "--kind", "chat"], "chat events: comment_reply, message, reaction"),
        (
            [
                "send",
                "--all",
                "--kind",
                "salesbot",
                "--expired",
                "--bad-signature",
                "--url",
                "http://127.0.0.1:9/",
            ],
            "choose one of",
        ),
    ],
)
def test_callback_options_that_do_not_fit_are_one_line_errors(args: list[str], error: str) -> None:
    result = cli(*args, env={"AMODP_SECRET": None})  # type: ignore[dict-item]
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert error in result.stderr, result.stderr


def test_a_dp_webhook_ignores_amodp_secret() -> None:
    env = {"AMODP_SECRET": CHANNEL_SECRET}
    assert (
        cli("generate", "status", "--seed", "7", env=env).stdout
        == cli("generate", "status", "--seed", "7").stdout
    )


def test_json_styles_from_the_cli() -> None:
    base = ["message", "--kind", "chat", "--seed", "4", "--secret", CHANNEL_SECRET, "-f", "http"]
    bodies = {}
    for style in ("compact", "pretty", "php"):
        result = cli("generate", *base, "--json-style", style)
        _, headers, body = split_http(result.stdout_bytes)
        assert headers["X-Signature"] == sha1(CHANNEL_SECRET, body)
        bodies[style] = body
    assert (
        json.loads(bodies["compact"]) == json.loads(bodies["pretty"]) == json.loads(bodies["php"])
    )
    assert b"\n  " in bodies["pretty"] and bodies["php"].isascii()


def test_curl_from_the_cli_sends_the_same_request() -> None:
    require_tools("curl")
    with recording_server() as server:
        for args in (["message", "--kind", "chat"], ["disabled", "--kind", "oauth"]):
            common = [*args, "--seed", "5", "--secret", CHANNEL_SECRET, "--url", server.url + "/cb"]
            curl = cli("generate", *common, "--format", "curl").stdout
            assert CHANNEL_SECRET not in curl
            subprocess.run(["sh", "-c", curl], check=True, capture_output=True, timeout=30)
            line, headers, body = split_http(
                cli("generate", *common, "--format", "http").stdout_bytes
            )
            got = server.requests[-1]
            assert f"{got.method} {got.path} HTTP/1.1" == line and got.body == body
            received = {k.lower(): v for k, v in got.headers}
            if "X-Signature" in headers:
                assert received["x-signature"] == sha1(CHANNEL_SECRET, got.body)
            else:
                query = dict(parse_qsl(urlsplit(got.path).query))
                message = f"{query['client_uuid']}|{query['account_id']}".encode()
                want = hmac.new(CHANNEL_SECRET.encode(), message, hashlib.sha256).hexdigest()
                assert query["signature"] == want


@pytest.mark.parametrize("kind", catalog.CALLBACK_KINDS)
def test_send_delivers_exactly_what_generate_prints(kind: str) -> None:
    secret = CHANNEL_SECRET if kind == "chat" else CLIENT_SECRET
    with recording_server() as server:
        args = ["--all", "--kind", kind, "--seed", "8", "--now", str(NOW), "--url",
                server.url + "/amo?k=1", "--secret", secret]  # fmt: skip
        sent = cli("send", *args, "--json", "-H", "X-Extra: 1")
        assert sent.exit_code == 0, sent.stderr
        records = [json.loads(line) for line in sent.stdout.splitlines()]
        printed = cli("generate", *args, "--format", "http").stdout_bytes
    expected = [split_http(chunk.split(b"\n", 1)[1]) for chunk in printed.split(b"### ")[1:]] or [
        split_http(printed)
    ]
    assert [r["status"] for r in records] == [200] * len(expected)
    assert len(server.requests) == len(expected)
    by_request = {(line, body): headers for line, headers, body in expected}
    for got in server.requests:
        headers = by_request.pop((f"{got.method} {got.path} HTTP/1.1", got.body))
        received = {k.lower(): v for k, v in got.headers}
        assert received["x-extra"] == "1"
        for name, value in headers.items():
            if name not in ("Host", "Content-Length"):
                assert received[name.lower()] == value, name
        assert got.method == ("GET" if kind == "oauth" else "POST")
        if kind == "chat":
            assert received["x-signature"] == sha1(CHANNEL_SECRET, got.body)
        if kind == "salesbot":
            token = json.loads(got.body)["token"]
            jwt.decode(
                token,
                CLIENT_SECRET,
                algorithms=["HS512"],
                options={"verify_aud": False, "verify_exp": False},
            )
        if kind == "oauth":
            assert urlsplit(got.path).query.startswith("k=1&")


def test_decode_summary_names_callbacks() -> None:
    for name in ALL:
        kind, _, event = name.partition(".")
        for fmt in ("form", "http", "curl"):
            shown = cli("generate", event, "--kind", kind, "--seed", "2", "--format", fmt)
            result = CliRunner().invoke(app, ["decode", "--summary"], input=shown.stdout_bytes)
            assert result.exit_code == 0, result.stderr
            assert f"\n{name} ({kind})  " in "\n" + result.stderr, (fmt, result.stderr)
    line = cli("generate", "disabled", "--kind", "oauth", "--seed", "2").stdout
    result = CliRunner().invoke(app, ["decode", "--summary"], input=line)
    account = dict(parse_qsl(line.strip().partition("?")[2]))["account_id"]
    assert result.stderr.endswith(f"oauth.disabled (oauth)  account {account}\n")


@pytest.mark.parametrize("name", ["chat.message.json", "chat.typing.json", "chat.reaction.json"])
def test_decode_shows_a_json_callback_as_sent(name: str) -> None:
    """A Chats API hook is JSON: PHP's $_POST stays empty and the receiver
    reads the body, so decode shows the JSON as it was sent (not as a form
    made of it), says so, and does not take it for a REST API answer."""
    result = CliRunner().invoke(app, ["decode", str(FIXTURES / name)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == fixture(name)
    event = name.removesuffix(".json")
    assert f"a JSON body ({event}): PHP's $_POST is empty" in result.stderr
    assert "REST API" not in result.stderr


def test_decode_of_oauth_parameters_as_json_is_not_taken_for_a_json_body() -> None:
    """OAuth callbacks come as a GET's query: written as a JSON object they
    are decoded as form data, without the note of a JSON body."""
    query = "code=def502&state=x7&referer=acme.amocrm.ru&platform=1&client_id=abc"
    data = json.dumps(dict(parse_qsl(query)))
    assert catalog.detect_callback(json.loads(data)) is not None  # it is an OAuth callback
    result = CliRunner().invoke(app, ["decode"], input=data)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == dict(parse_qsl(query))
    assert "JSON body" not in result.stderr


def test_decode_reads_a_json_callback_back_from_a_listeners_capture(tmp_path: Path) -> None:
    from amodp.listener import Background, Options
    from amodp.testing import post

    save = tmp_path / "s.jsonl"
    body = (FIXTURES / "chat.message.json").read_bytes()
    with Background(Options(port=0, save=save), lambda *_: None) as running:
        answer = post(running.url + "/chat", body, [("Content-Type", "application/json")])
        assert answer.status == 200
    result = CliRunner().invoke(app, ["decode", "--summary", str(save)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(body)
    assert "chat.message (chat)  " in result.stderr


def test_a_short_secret_signs_with_one_warning() -> None:
    import warnings

    result = cli("generate", "widget_request", "--kind", "salesbot", "--secret", "short")
    assert result.exit_code == 0
    assert result.stderr == (
        "Warning: the secret is 5 bytes; amoCRM's client secrets are 64 characters "
        "(HS512 wants a key of 64 bytes or more)\n"
    )
    token = json.loads(result.stdout)["token"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT's own warning about the key's length
        jwt.decode(token, "short", algorithms=["HS512"], options={"verify_aud": False})
    checked = CliRunner().invoke(app, ["verify", "--secret", "short"], input=result.stdout)
    assert (checked.exit_code, checked.stderr) == (
        0,
        "salesbot.widget_request: valid (token, JWT HS512)\n",
    )


@pytest.mark.parametrize("name", ALL)
def test_a_secret_changes_the_signature_and_nothing_else(name: str) -> None:
    plain = callbacks.generate(name, seed=9, now=NOW)
    signed = callbacks.generate(name, seed=9, now=NOW, secret=CLIENT_SECRET)
    assert plain.request_id == signed.request_id
    if plain.method == "GET":
        unsigned = [(k, v) for k, v in parse_qsl(plain.query) if k != "signature"]
        assert unsigned == [(k, v) for k, v in parse_qsl(signed.query) if k != "signature"]
    else:
        plain.json.pop("token", None), signed.json.pop("token", None)
        assert plain.json == signed.json
