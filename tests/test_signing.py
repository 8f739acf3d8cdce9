"""amodp.signing: every signature is checked with independent code (hmac,
PyJWT, and for the schemes whose documentation prints a PHP check, that PHP),
never with amodp's verifier alone."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import time

import jwt
import pytest

from amodp import signing
from amodp.errors import UsageError
from amodp.request import Request as _Request
from amodp.signing import verify

from .conftest import require_php

#: a request as a receiver got it, from its parts
Request = _Request.received

# The channel secret of the documentation's PHP example (chats/chat-webhooks).
CHANNEL_SECRET = "5a44c5dff55f3c15a4cce8d7c4cc27e207c7e189"
# amoCRM client secrets are 64 characters: HS512 wants at least 64 bytes.
CLIENT_SECRET = "Xq3vT9sLk2mN8pR4wY6zB1cD5fG7hJ0aQeUiOtSrVbNmKlJhGfDsApOiUyTrEwQz"
CLIENT_UUID = "01d01160-d7a0-4087-b4af-6a1bb83fcd1d"
BODY = json.dumps(
    {"account_id": "52e591f7-c98f-4255-8495-827210138c81", "time": 1639572261, "text": "Привет/🙂"},
    ensure_ascii=False,
    separators=(",", ":"),
).encode()


def sha1_hex(key: str, body: bytes) -> str:
    return hmac.new(key.encode(), body, hashlib.sha1).hexdigest()


def php(code: str, *args: str, stdin: bytes = b"") -> str:
    require_php()
    done = subprocess.run(
        ["php", "-r", code, "--", *args], input=stdin, capture_output=True, check=True, timeout=60
    )
    return done.stdout.decode()


# -- signing ---------------------------------------------------------------------------


def test_chat_signature_is_lower_hex_hmac_sha1_of_the_raw_body() -> None:
    got = signing.chat_signature(BODY, CHANNEL_SECRET)
    assert got == sha1_hex(CHANNEL_SECRET, BODY)
    assert got == got.lower() and len(got) == 40


def test_chat_signature_passes_the_documented_php_check() -> None:
    # chats/chat-webhooks: hash_hmac('sha1', file_get_contents('php://input'), $secret)
    code = 'echo hash_hmac("sha1", stream_get_contents(STDIN), $argv[1]);'
    assert signing.chat_signature(BODY, CHANNEL_SECRET) == php(code, CHANNEL_SECRET, stdin=BODY)


def test_disable_signature_is_hmac_sha256_of_uuid_bar_account() -> None:
    want = hmac.new(
        CLIENT_SECRET.encode(), f"{CLIENT_UUID}|32720107".encode(), hashlib.sha256
    ).hexdigest()
    assert signing.disable_signature(CLIENT_UUID, 32720107, CLIENT_SECRET) == want
    assert signing.disable_signature(CLIENT_UUID, "32720107", CLIENT_SECRET) == want


def test_disable_signature_passes_the_documented_php_check() -> None:
    # oauth/step-by-step: hash_hmac('sha256', sprintf('%s|%s', $clientId, $hookAccountId), $secret)
    code = 'echo hash_hmac("sha256", sprintf("%s|%s", $argv[1], (int) $argv[2]), $argv[3]);'
    got = signing.disable_signature(CLIENT_UUID, 32720107, CLIENT_SECRET)
    assert got == php(code, CLIENT_UUID, "32720107", CLIENT_SECRET)


def test_salesbot_token_is_hs512_with_the_claims_and_valid_now() -> None:
    claims = {"account_id": 41939071, "subdomain": "acme", "entity_type": 2, "entity_id": 5}
    token = signing.salesbot_token(claims, CLIENT_SECRET)
    assert jwt.get_unverified_header(token)["alg"] == "HS512"
    got = jwt.decode(token, CLIENT_SECRET, algorithms=["HS512"])
    assert {k: got[k] for k in claims} == claims
    now = time.time()
    assert got["nbf"] <= now < got["exp"]
    assert got["iat"] <= now


@pytest.mark.parametrize(
    ("flaw", "error"),
    [
        ("expired", jwt.ExpiredSignatureError),
        ("not-yet-valid", jwt.ImmatureSignatureError),
        ("wrong-secret", jwt.InvalidSignatureError),
        ("body-changed", jwt.InvalidSignatureError),
    ],
)
def test_salesbot_token_flaws_fail_pyjwt(flaw: str, error: type[Exception]) -> None:
    token = signing.salesbot_token({"entity_id": 5}, CLIENT_SECRET, flaw=flaw)  # type: ignore[arg-type]
    with pytest.raises(error):
        jwt.decode(token, CLIENT_SECRET, algorithms=["HS512"])


def test_amojo_signature_follows_the_documented_recipe() -> None:
    date = "Thu, 01 Jan 2023 12:00:00 +0000"
    path = "/v2/origin/custom/abc_def"
    md5, sig = signing.amojo_signature("post", BODY, "application/json", date, path, CHANNEL_SECRET)
    assert md5 == hashlib.md5(BODY).hexdigest()
    text = "\n".join(["POST", md5, "application/json", date, path])
    assert sig == sha1_hex(CHANNEL_SECRET, text.encode())


def test_empty_secret_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        signing.chat_signature(BODY, "")


# -- verify: requests signed by independent code ---------------------------------------


def chat_request(body: bytes, signature: str | None) -> Request:
    headers = [("Content-Type", "application/json")]
    if signature is not None:
        headers.append(("X-Signature", signature))
    return Request("POST", headers, "", body)


def test_verify_chat_valid() -> None:
    verdict = verify(chat_request(BODY, sha1_hex(CHANNEL_SECRET, BODY)), CHANNEL_SECRET)
    assert (verdict.scheme, verdict.status) == ("chat", "valid")
    assert verdict.ok


def test_verify_chat_header_name_is_case_insensitive() -> None:
    request = Request("POST", {"x-signature": sha1_hex(CHANNEL_SECRET, BODY)}, "", BODY)
    assert verify(request, CHANNEL_SECRET).ok


def test_verify_chat_wrong_secret_or_changed_body() -> None:
    other = verify(chat_request(BODY, sha1_hex("another-secret", BODY)), CHANNEL_SECRET)
    changed = verify(chat_request(BODY + b" ", sha1_hex(CHANNEL_SECRET, BODY)), CHANNEL_SECRET)
    for verdict in (other, changed):
        assert (verdict.scheme, verdict.status) == ("chat", "invalid")
        assert "another secret" in verdict.reason and "changed" in verdict.reason


def test_verify_chat_explains_a_trailing_newline_and_upper_case() -> None:
    newline = verify(chat_request(BODY + b"\n", sha1_hex(CHANNEL_SECRET, BODY)), CHANNEL_SECRET)
    assert newline.status == "invalid" and "trailing newline" in newline.reason
    upper = verify(chat_request(BODY, sha1_hex(CHANNEL_SECRET, BODY).upper()), CHANNEL_SECRET)
    assert upper.status == "invalid" and "case" in upper.reason


def test_verify_chat_empty_header_is_absent() -> None:
    verdict = verify(chat_request(BODY, ""), CHANNEL_SECRET)
    assert (verdict.scheme, verdict.status) == ("chat", "absent")


def test_verify_tells_an_amojo_api_request_from_a_hook() -> None:
    date = "Thu, 01 Jan 2023 12:00:00 +0000"
    path = "/v2/origin/custom/scope"
    md5 = hashlib.md5(BODY).hexdigest()
    text = "\n".join(["POST", md5, "application/json", date, path])
    headers = {
        "Content-Type": "application/json",
        "Date": date,
        "Content-MD5": md5,
        "X-Signature": sha1_hex(CHANNEL_SECRET, text.encode()),
    }
    verdict = verify(Request("POST", headers, "", BODY, path), CHANNEL_SECRET)
    assert (verdict.scheme, verdict.status) == ("amojo", "valid")
    assert "TO amojo" in verdict.reason
    headers["X-Signature"] = sha1_hex(CHANNEL_SECRET, BODY)  # signed like a hook
    wrong = verify(Request("POST", headers, "", BODY, path), CHANNEL_SECRET)
    assert (wrong.scheme, wrong.status) == ("amojo", "invalid")


def disable_query(account: str = "32720107", secret: str = CLIENT_SECRET) -> str:
    sig = hmac.new(secret.encode(), f"{CLIENT_UUID}|{account}".encode(), hashlib.sha256)
    return f"client_uuid={CLIENT_UUID}&account_id={account}&signature={sig.hexdigest()}"


def test_verify_disable_hook() -> None:
    good = verify(Request("GET", {}, disable_query()), CLIENT_SECRET, client_uuid=CLIENT_UUID)
    assert (good.scheme, good.status) == ("disabled", "valid")
    tampered = disable_query().replace("account_id=32720107", "account_id=32720108")
    bad = verify(Request("GET", {}, tampered), CLIENT_SECRET)
    assert (bad.scheme, bad.status) == ("disabled", "invalid")
    other = verify(Request("GET", {}, disable_query()), CLIENT_SECRET, client_uuid="x")
    assert other.status == "invalid" and "another integration" in other.reason
    unsigned = verify(Request("GET", {}, f"client_uuid={CLIENT_UUID}&account_id=1"), CLIENT_SECRET)
    assert (unsigned.scheme, unsigned.status) == ("disabled", "absent")
    as_mapping = dict(p.split("=") for p in disable_query().split("&"))
    assert verify(Request("GET", {}, as_mapping), CLIENT_SECRET).ok


def salesbot_body(token: str) -> bytes:
    return json.dumps(
        {"token": token, "data": {"from": "widget"}, "return_url": "https://a.amocrm.ru/x"}
    ).encode()


def pyjwt_token(secret: str = CLIENT_SECRET, algorithm: str = "HS512", **times: int) -> str:
    now = int(time.time())
    claims = {"iat": now, "nbf": now, "exp": now + 600, "account_id": 1, **times}
    return jwt.encode(claims, secret, algorithm=algorithm)


def test_verify_salesbot_valid() -> None:
    verdict = verify(Request("POST", {}, "", salesbot_body(pyjwt_token())), CLIENT_SECRET)
    assert (verdict.scheme, verdict.status) == ("salesbot", "valid")
    assert verdict.claims["account_id"] == 1


def test_verify_salesbot_other_hmac_algorithm_is_valid_with_a_note() -> None:
    token = pyjwt_token(algorithm="HS256")
    verdict = verify(Request("POST", {}, "", salesbot_body(token)), CLIENT_SECRET)
    assert verdict.ok and "HS256" in verdict.reason


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (pyjwt_token(exp=int(time.time()) - 60), "expired"),
        (pyjwt_token(nbf=int(time.time()) + 3600), "not valid yet (nbf is ahead)"),
        (pyjwt_token(iat=int(time.time()) + 3600), "not valid yet (iat is ahead)"),
        (pyjwt_token(secret="Z" * 64), "another secret"),
        ("not-a-jwt", "not a JWT"),
    ],
)
def test_verify_salesbot_invalid_reasons(token: str, reason: str) -> None:
    verdict = verify(Request("POST", {}, "", salesbot_body(token)), CLIENT_SECRET)
    assert (verdict.scheme, verdict.status) == ("salesbot", "invalid")
    assert reason in verdict.reason


def test_verify_salesbot_at_a_given_time() -> None:
    token = pyjwt_token()
    later = time.time() + 3600
    verdict = verify(Request("POST", {}, "", salesbot_body(token)), CLIENT_SECRET, now=later)
    assert verdict.status == "invalid" and "expired" in verdict.reason


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_verify_salesbot_a_time_claim_that_is_not_a_number_is_invalid(claim: str) -> None:
    at = int(time.time())
    claims = {"iat": at, "nbf": at, "exp": at + 600, claim: "soon"}
    token = jwt.encode(claims, CLIENT_SECRET, algorithm="HS512")
    with pytest.raises(jwt.InvalidTokenError):  # PyJWT refuses it too
        jwt.decode(token, CLIENT_SECRET, algorithms=["HS512"])
    request = Request("POST", {}, "", salesbot_body(token))
    for now in (None, at + 60):
        verdict = verify(request, CLIENT_SECRET, now=now)
        assert (verdict.scheme, verdict.status, verdict.reason) == (
            "salesbot",
            "invalid",
            f"the token is invalid: {claim} is not a number",
        )


def test_verify_salesbot_times_written_as_numeric_strings_are_read_as_pyjwt_reads_them() -> None:
    at = int(time.time())
    claims = {"iat": str(at), "nbf": str(at), "exp": str(at + 600)}
    token = jwt.encode(claims, CLIENT_SECRET, algorithm="HS512")
    assert jwt.decode(token, CLIENT_SECRET, algorithms=["HS512"])["exp"] == str(at + 600)
    request = Request("POST", {}, "", salesbot_body(token))
    assert verify(request, CLIENT_SECRET).ok
    assert verify(request, CLIENT_SECRET, now=at + 60).ok
    late = verify(request, CLIENT_SECRET, now=at + 600)
    assert (late.status, late.reason) == ("invalid", "the token has expired (exp is past)")


def test_verify_unsigned_requests_are_absent() -> None:
    redirect = Request("GET", {}, "code=def502&referer=acme.amocrm.ru&platform=1")
    dp = Request("POST", {}, "", b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=1")
    for request in (redirect, dp):
        verdict = verify(request, CLIENT_SECRET)
        assert (verdict.scheme, verdict.status) == (None, "absent")


def test_secrets_never_appear_in_verdicts_or_errors() -> None:
    requests = [
        chat_request(BODY, sha1_hex("x", BODY)),
        Request("GET", {}, disable_query(secret="y" * 64)),
        Request("POST", {}, "", salesbot_body(pyjwt_token(secret="z" * 64))),
    ]
    for request in requests:
        verdict = verify(request, CLIENT_SECRET)
        assert CLIENT_SECRET not in repr(verdict) + json.dumps(verdict.as_dict())
    with pytest.raises(UsageError) as caught:
        verify(requests[0], "")
    assert "secret" in str(caught.value)
