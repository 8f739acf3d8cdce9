"""A minimal Flask receiver for amoCRM (Kommo) webhooks: log what arrived, answer 200 at once.

    pip install flask, and amodp from its checkout (pip install .)
    WEBHOOK_LOG=hooks.jsonl flask --app receiver run --port 8000

amodp.decode() turns the body into exactly what PHP's $_POST would hold. Each webhook is
logged as one JSON line to the file WEBHOOK_LOG names (default: stderr) and kept in
RECEIVED, the last 1000 in arrival order, for tests and debugging.
"""

import os
import sys
from collections import deque

from flask import Flask, request

from amodp import decode, to_json

app = Flask(__name__)
RECEIVED: deque = deque(maxlen=1000)


@app.post("/", defaults={"path": ""})
@app.post("/<path:path>")
def webhook(path: str) -> str:
    data = decode(request.get_data())  # data["leads"]["status"][0]["id"], ...
    RECEIVED.append(data)
    line = to_json(data, indent=None)  # like PHP's json_encode: compact, Unicode kept
    if log := os.environ.get("WEBHOOK_LOG"):
        with open(log, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    else:
        print(line, file=sys.stderr, flush=True)
    return "OK"  # amoCRM resends a webhook that got no 2xx: do slow work elsewhere
