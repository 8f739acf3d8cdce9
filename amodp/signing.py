"""Sign and check the callbacks amoCRM signs.

Three schemes, one per kind of callback (docs/callbacks.md has the sources):

``chat``
    Chats API hooks: header ``X-Signature`` = lower-case hex HMAC-SHA1 of the
    raw body, keyed with the channel secret.
``salesbot``
    Salesbot ``widget_request``: body field ``token``, a JWT signed HS512 with
    the integration's client secret (as the official PHP library checks it).
``disabled``
    The hook sent when an account disables the integration: query parameter
    ``signature`` = hex HMAC-SHA256 of ``client_uuid + "|" + account_id``,
    keyed with the client secret.

Requests an integration sends *to* amojo are signed differently (HMAC-SHA1
over method, Content-MD5, Content-Type, Date and path): :func:`amojo_signature`
makes that one, so that :func:`verify` can tell a user who mixed them up.

:func:`verify` finds which scheme a request carries and answers with a
:class:`Verdict`: valid, invalid (with the reason) or absent. Secrets never
appear in a repr, a reason or an error message.

Standard library and PyJWT only.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

import jwt

from .errors import UsageError
from .request import Request

__all__ = [
    "FLAWS",
    "SALESBOT_ALGORITHM",
    "SCHEMES",
    "Verdict",
    "amojo_signature",
    "chat_signature",
    "disable_signature",
    "other_secret",
    "resign",
    "salesbot_token",
    "verify",
]

Secret = str | bytes

#: What the official amocrm-api-php library checks the bot token with.
SALESBOT_ALGORITHM = "HS512"
#: Algorithms :func:`verify` accepts in a Salesbot token's header.
_HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"]

#: Ways to spoil a signature for negative tests (see amodp.callbacks.generate).
FLAWS = ("wrong-secret", "body-changed", "expired", "not-yet-valid")
Flaw = Literal["wrong-secret", "body-changed", "expired", "not-yet-valid"]


def _key(secret: Secret) -> bytes:
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not secret:
        raise UsageError("the secret is empty")
    return secret


def chat_signature(body: bytes, secret: Secret) -> str:
    """``X-Signature`` of a Chats API hook: hex HMAC-SHA1 of the raw body."""
    return hmac.new(_key(secret), body, hashlib.sha1).hexdigest()


def disable_signature(client_uuid: str, account_id: int | str, secret: Secret) -> str:
    """``signature`` of the disable hook: hex HMAC-SHA256 of ``client_uuid|account_id``."""
    message = f"{client_uuid}|{account_id}".encode()
    return hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def amojo_signature(
    method: str, body: bytes, content_type: str, date: str, path: str, secret: Secret
) -> tuple[str, str]:
    """``(Content-MD5, X-Signature)`` of a request sent TO amojo (not a hook).

    The signed string is method, Content-MD5, Content-Type, Date and the path
    (no query), joined by newlines; HMAC-SHA1 with the channel secret."""
    md5 = hashlib.md5(body).hexdigest()  # noqa: S324 - amojo's choice, not a security one
    text = "\n".join([method.upper(), md5, content_type, date, path])
    return md5, hmac.new(_key(secret), text.encode(), hashlib.sha1).hexdigest()


def salesbot_token(
    claims: Mapping[str, Any],
    secret: Secret,
    *,
    now: float | None = None,
    lifetime: int = 1800,
    flaw: Flaw | None = None,
    algorithm: str = SALESBOT_ALGORITHM,
) -> str:
    """A Salesbot ``widget_request`` token: ``claims`` plus ``iat``, ``nbf`` and
    ``exp`` (``now`` .. ``now + lifetime``) unless ``claims`` sets them.

    ``flaw`` spoils it for a negative test: ``"expired"`` (``exp`` an hour
    ago), ``"not-yet-valid"`` (``nbf`` an hour ahead), ``"wrong-secret"``
    (signed with another key), ``"body-changed"`` (a claim altered after
    signing)."""
    at = int(time.time() if now is None else now)
    payload: dict[str, Any] = {"iat": at, "nbf": at, "exp": at + lifetime}
    payload.update(claims)
    key = _key(secret)
    if flaw == "expired":
        payload["iat"] = payload["nbf"] = at - 3600 - lifetime
        payload["exp"] = at - 3600
    elif flaw == "not-yet-valid":
        payload["iat"] = at
        payload["nbf"] = at + 3600
        payload["exp"] = at + 3600 + lifetime
    elif flaw == "wrong-secret":
        key = other_secret(key)
    with _any_key_length():
        token = jwt.encode(payload, key, algorithm=algorithm)
        if flaw == "body-changed":
            forged = dict(payload, entity_id=_bump(payload.get("entity_id", 0)))
            other = jwt.encode(forged, key, algorithm=algorithm)
            head, _, signature = token.split(".")
            token = ".".join([head, other.split(".")[1], signature])
    return token


@contextmanager
def _any_key_length() -> Iterator[None]:
    """PyJWT warns of an HMAC key shorter than the hash (64 bytes for HS512);
    the secret is the integration's, whatever its length: sign and check with it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The HMAC key is")
        yield


def other_secret(secret: Secret) -> bytes:
    """A secret that is not ``secret`` (and as long, at least 64 bytes): what a
    ``"wrong-secret"`` flaw signs with."""
    key = _key(secret)
    return hashlib.sha512(b"another " + key).hexdigest()[: max(len(key), 64)].encode()


def _bump(value: Any) -> Any:
    return value + 1 if isinstance(value, int) else f"{value}0"


# -- verification ---------------------------------------------------------------------

Status = Literal["valid", "invalid", "absent"]


#: Where each scheme carries its signature, and how it is made.
SCHEMES = {
    "chat": ("X-Signature", "HMAC-SHA1"),
    "salesbot": ("token", "JWT HS512"),
    "disabled": ("signature", "HMAC-SHA256"),
    "amojo": ("X-Signature", "HMAC-SHA1 of method, Content-MD5, type, Date, path"),
}


@dataclass(frozen=True)
class Verdict:
    """What :func:`verify` found: the scheme (``chat``, ``salesbot``,
    ``disabled``, ``amojo`` or None), the status and why."""

    scheme: str | None
    status: Status
    reason: str
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "valid"

    @property
    def where(self) -> str | None:
        """Where the request carries the signature: ``X-Signature``, ``token``..."""
        return SCHEMES[self.scheme][0] if self.scheme in SCHEMES else None

    @property
    def algorithm(self) -> str | None:
        """How the scheme signs: ``HMAC-SHA1``, ``JWT HS512``..."""
        return SCHEMES[self.scheme][1] if self.scheme in SCHEMES else None

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "scheme": self.scheme,
            "status": self.status,
            "reason": self.reason,
            "where": self.where,
            "algorithm": self.algorithm,
        }
        if self.claims:
            found["claims"] = self.claims
        return found


def verify(
    request: Request | Mapping[str, Any],
    secret: Secret,
    *,
    client_uuid: str | None = None,
    now: float | None = None,
    leeway: int = 0,
) -> Verdict:
    """Check the signature ``request`` carries against ``secret``.

    ``request`` is an :class:`amodp.Request`: one amodp generated, or one
    received (:meth:`amodp.Request.received` from its parts), or a capture
    record as :mod:`amodp.records` writes it (a dict:
    :meth:`amodp.Request.from_record`).
    ``client_uuid``, if given, is the integration the disable hook must name.
    ``now`` checks a Salesbot token's times against that moment (a record's
    arrival, say) instead of the clock."""
    key = _key(secret)
    if isinstance(request, Mapping):
        request = Request.from_record(request)
    method = request.method.upper()
    headers = {name.lower(): value for name, value in request.headers}
    query = dict(parse_qsl(request.query.lstrip("?"), keep_blank_values=True))
    body = request.body
    if "x-signature" in headers:
        if "content-md5" in headers and "date" in headers:
            return _verify_amojo(method, headers, body, request.path, key)
        return _verify_chat(headers["x-signature"], body, key)
    if "signature" in query or ("client_uuid" in query and "account_id" in query):
        return _verify_disabled(query, key, client_uuid)
    token = _salesbot_token_of(body)
    if token is not None:
        return _verify_salesbot(token, key, now, leeway)
    return Verdict(
        None,
        "absent",
        "no signature: no X-Signature header, no signature parameter, no Salesbot token "
        "(OAuth redirects and DP/account webhooks are not signed)",
    )


def resign(request: Request, secret: Secret | None) -> tuple[Request, list[str]]:
    """``request`` signed again with ``secret`` where amoCRM signs it (what
    :func:`verify` checks): a Chats API ``X-Signature`` over the body as it is
    now; a Salesbot token with the same claims and ``iat``, ``nbf``, ``exp``
    from now (the body's bytes otherwise unchanged); the disable hook's
    ``signature`` of its ``client_uuid`` and ``account_id``. With no secret,
    the request as it is. Also what was done, one line each.

    An amojo request (``Content-MD5`` and ``Date`` with ``X-Signature``) is
    signed over its method, path and headers, and is left as it is."""
    from dataclasses import replace
    from urllib.parse import urlencode, urlsplit

    def said(what: str, how: str) -> list[str]:
        if secret is None:
            return [f"not signed again: no secret given ({what} is the old one)"]
        return [f"signed again: {how}"]

    headers = {name.lower() for name, _ in request.base_headers}
    if "x-signature" in headers:
        if "content-md5" in headers:
            return request, []
        notes = said("X-Signature", "X-Signature (HMAC-SHA1 of the new body)")
        if secret is not None:
            value = chat_signature(request.body, secret)
            request = replace(
                request,
                base_headers=tuple(
                    (k, value if k.lower() == "x-signature" else v) for k, v in request.base_headers
                ),
            )
        return request, notes
    query = dict(parse_qsl(request.query.lstrip("?"), keep_blank_values=True))
    if "signature" in query:
        notes = said("signature", "signature (HMAC-SHA256 of client_uuid|account_id)")
        if secret is not None:
            query["signature"] = disable_signature(
                query.get("client_uuid", ""), query.get("account_id", ""), secret
            )
            url = urlsplit(request.url)._replace(query=urlencode(query)).geturl()
            request = replace(request, url=url, data=query)
        return request, notes
    token = _salesbot_token_of(request.body)
    if not token:
        return request, []
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return request, ["not signed again: the token is not a JWT"]
    notes = said(
        "the Salesbot token", "the Salesbot token (the same claims; iat, nbf and exp from now)"
    )
    if secret is not None:
        kept = {k: v for k, v in claims.items() if k not in ("iat", "nbf", "exp")}
        fresh = salesbot_token(kept, secret)
        data = request.data
        if isinstance(data, dict) and "token" in data:
            data = {**data, "token": fresh}
        body = request.body.replace(token.encode(), fresh.encode())
        request = replace(request, body=body, data=data)
    return request, notes


def _verify_chat(sent: str, body: bytes, key: bytes) -> Verdict:
    if not sent:
        return Verdict("chat", "absent", "X-Signature header is empty")
    expected = chat_signature(body, key)
    if hmac.compare_digest(sent, expected):
        return Verdict("chat", "valid", "X-Signature is the HMAC-SHA1 of the body")
    if hmac.compare_digest(sent.lower(), expected):
        return Verdict(
            "chat",
            "invalid",
            "X-Signature matches only ignoring case: amoCRM sends lower-case hex and the "
            "documented check compares exactly",
        )
    stripped = body.rstrip(b"\r\n")
    if stripped != body and hmac.compare_digest(sent, chat_signature(stripped, key)):
        return Verdict(
            "chat",
            "invalid",
            "X-Signature matches the body without its trailing newline: something on the way "
            "added it",
        )
    return Verdict(
        "chat",
        "invalid",
        "X-Signature does not match the body: signed with another secret, or the body "
        "changed after signing (re-encoded JSON changes the bytes)",
    )


def _verify_amojo(
    method: str, headers: dict[str, str], body: bytes, path: str, key: bytes
) -> Verdict:
    content_type = headers.get("content-type", "")
    md5, expected = amojo_signature(method, body, content_type, headers["date"], path, key)
    note = (
        "; this is how requests TO amojo are signed, not the hooks amoCRM sends "
        "(those sign the body alone)"
    )
    if headers["content-md5"].lower() != md5:
        return Verdict("amojo", "invalid", "Content-MD5 does not match the body" + note)
    if hmac.compare_digest(headers["x-signature"].lower(), expected):
        return Verdict(
            "amojo", "valid", "X-Signature signs method, Content-MD5, type, Date, path" + note
        )
    return Verdict(
        "amojo",
        "invalid",
        "X-Signature does not sign method, Content-MD5, Content-Type, Date and path with "
        "this secret" + note,
    )


def _verify_disabled(query: dict[str, str], key: bytes, client_uuid: str | None) -> Verdict:
    missing = [n for n in ("client_uuid", "account_id", "signature") if not query.get(n)]
    if "signature" in missing:
        return Verdict("disabled", "absent", "no signature parameter")
    if missing:
        return Verdict("disabled", "invalid", f"missing parameter(s): {', '.join(missing)}")
    if client_uuid is not None and query["client_uuid"] != client_uuid:
        return Verdict("disabled", "invalid", "client_uuid names another integration")
    expected = disable_signature(query["client_uuid"], query["account_id"], key)
    if hmac.compare_digest(query["signature"], expected):
        return Verdict(
            "disabled", "valid", "signature is the HMAC-SHA256 of client_uuid|account_id"
        )
    return Verdict(
        "disabled",
        "invalid",
        "signature does not match client_uuid|account_id: another secret, or a parameter "
        "changed after signing",
    )


def _salesbot_token_of(body: bytes) -> str | None:
    from .records import json_object

    data = json_object(body)
    if data is None or "token" not in data:
        return None
    token = data["token"]
    return token if isinstance(token, str) else ""


def _verify_salesbot(token: str, key: bytes, now: float | None, leeway: int) -> Verdict:
    if not token:
        return Verdict("salesbot", "absent", "the token field is empty")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        return Verdict("salesbot", "invalid", "the token is not a JWT")
    algorithm = header.get("alg")
    if algorithm not in _HMAC_ALGORITHMS:
        return Verdict("salesbot", "invalid", f"the token is signed {algorithm!r}, not HMAC")
    # PyJWT checks the signature; the times are checked below, against ``now``.
    options: Any = {
        "verify_aud": False,
        "require": ["exp"],
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
    }
    try:
        with _any_key_length():
            claims = jwt.decode(token, key, algorithms=_HMAC_ALGORITHMS, options=options)
    except jwt.InvalidSignatureError:
        return Verdict(
            "salesbot",
            "invalid",
            "the token's signature does not match: signed with another secret, or the "
            "token changed after signing",
        )
    except jwt.MissingRequiredClaimError:
        return Verdict("salesbot", "invalid", "the token has no exp claim")
    except jwt.InvalidTokenError as e:
        return Verdict("salesbot", "invalid", f"the token is invalid: {type(e).__name__}")
    late = _out_of_date(claims, time.time() if now is None else now, leeway)
    if late:
        return Verdict("salesbot", "invalid", late, claims)
    note = "" if algorithm == SALESBOT_ALGORITHM else f" (signed {algorithm}; amoCRM uses HS512)"
    return Verdict(
        "salesbot", "valid", f"the token is signed with this secret and in date{note}", claims
    )


def _out_of_date(claims: Mapping[str, Any], now: float, leeway: int) -> str | None:
    """Why the token's ``iat``, ``nbf`` and ``exp`` refuse it at ``now`` (None if
    they do not): the checks PyJWT makes against its clock."""
    times = {}
    for name in ("iat", "nbf", "exp"):
        if name in claims:
            try:
                # As PyJWT reads it: "1700000000" is a time, "soon" (or null) is not.
                times[name] = int(claims[name])
            except (TypeError, ValueError, OverflowError):
                return f"the token is invalid: {name} is not a number"
    if times.get("iat", now) - leeway > now:
        return "the token is not valid yet (iat is ahead)"
    if times.get("nbf", now) - leeway > now:
        return "the token is not valid yet (nbf is ahead)"
    if times["exp"] + leeway <= now:
        return "the token has expired (exp is past)"
    return None
