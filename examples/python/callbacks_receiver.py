"""A Flask receiver for the callbacks amoCRM signs: check the signature, answer 200 or 401.

    pip install flask pyjwt
    CHANNEL_SECRET=... CLIENT_SECRET=... CLIENT_ID=... \\
        flask --app callbacks_receiver run --port 8000

POST /amo/chat      a Chats API hook: X-Signature is the HMAC-SHA1 of the raw body,
                    keyed with the channel secret (CHANNEL_SECRET)
POST /amo/salesbot  a Salesbot widget_request: token is a JWT signed HS512 with the
                    integration's client secret (CLIENT_SECRET)
GET  /amo/disabled  the hook sent when an account disables the integration: signature
                    is the HMAC-SHA256 of "client_uuid|account_id", keyed with the client
                    secret; client_uuid must be this integration's id (CLIENT_ID, if set)

The checks are the documented ones, in Python: hash the body as it arrived (never
JSON parsed and encoded again: that changes the bytes), compare in constant time.
Whatever fails is answered 401 with the reason; each accepted callback is logged as one
JSON line to the file WEBHOOK_LOG names (default: stderr) and kept in RECEIVED.
Answer at once: amoCRM waits 5 s for a chat hook and 2 s for a Salesbot step.
"""

import hashlib
import hmac
import json
import os
import sys
from collections import deque
from urllib.parse import urlsplit

import jwt
from flask import Flask, request

app = Flask(__name__)
RECEIVED: deque = deque(maxlen=1000)


def secret(name: str) -> bytes:
    return os.environ.get(name, "").encode()


def keep(kind: str, data: dict) -> None:
    RECEIVED.append((kind, data))
    line = json.dumps({"kind": kind, "data": data}, ensure_ascii=False)
    if log := os.environ.get("WEBHOOK_LOG"):
        with open(log, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    else:
        print(line, file=sys.stderr, flush=True)


def refuse(reason: str) -> tuple[str, int]:
    return reason, 401


@app.post("/amo/chat")
def chat():
    # hash_hmac('sha1', file_get_contents('php://input'), $secret) === $_SERVER['HTTP_X_SIGNATURE']
    body = request.get_data()
    expected = hmac.new(secret("CHANNEL_SECRET"), body, hashlib.sha1).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Signature", "")):
        return refuse("bad X-Signature")
    keep("chat", json.loads(body))
    return "OK"


@app.post("/amo/salesbot")
def salesbot():
    data = request.get_json(silent=True) or {}
    try:
        claims = jwt.decode(
            str(data.get("token", "")),
            secret("CLIENT_SECRET"),
            algorithms=["HS512"],  # what amoCRM signs with; never take the token's word for it
            audience=request.host_url.rstrip("/"),  # aud: the receiver's origin
            options={"require": ["exp", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        return refuse("token expired")
    except jwt.InvalidTokenError as e:
        return refuse(f"bad token: {e}")
    # Continue the bot only on the account's own domain (the token's iss).
    if urlsplit(str(data.get("return_url", ""))).netloc != urlsplit(claims["iss"]).netloc:
        return refuse("return_url is not on the account's domain")
    keep("salesbot", {"claims": claims, "data": data.get("data"), "return_url": data["return_url"]})
    return "OK"  # then POST return_url with the access token, outside this request


@app.get("/amo/disabled")
def disabled():
    # hash_hmac('sha256', sprintf('%s|%s', $clientId, $hookAccountId), $clientSecret)
    client_uuid = request.args.get("client_uuid", "")
    account_id = request.args.get("account_id", "")
    message = f"{client_uuid}|{account_id}".encode()
    expected = hmac.new(secret("CLIENT_SECRET"), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.args.get("signature", "")):
        return refuse("bad signature")
    if os.environ.get("CLIENT_ID") and client_uuid != os.environ["CLIENT_ID"]:
        return refuse("another integration's hook")
    keep("disabled", {"client_uuid": client_uuid, "account_id": account_id})
    return "OK"  # the account's tokens are revoked: forget them
