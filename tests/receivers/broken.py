"""A receiver that goes wrong on purpose, per event: slow on one, 500 on
another, a redirect, a connection closed without an answer; 200 on the rest.

The event is read from the body's first key that is not ``account``
(``leads%5Bstatus%5D%5B0%5D...`` is ``leads.status``), as a receiver would
route it. Every request is kept, in arrival order, with its request id.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote_plus

#: what the receiver does for an event: "slow" (200 after SLOW_S seconds),
#: "500", "302", "close" (hang up without answering); anything else is 200
SLOW_S = 2.3


@dataclass
class Broken:
    url: str
    #: (event, X-Amocrm-Requestid) per request, in arrival order
    received: list[tuple[str, str]] = field(default_factory=list)


def event_of(body: bytes) -> str:
    """``entity.event`` of a urlencoded webhook body."""
    for pair in body.split(b"&"):
        name = unquote_plus(pair.split(b"=", 1)[0].decode("ascii"))
        parts = name.replace("]", "").split("[")
        if parts[0] != "account" and len(parts) > 1:
            return f"{parts[0]}.{parts[1]}"
    return ""


@contextmanager
def serving(behaviour: Mapping[str, str]) -> Iterator[Broken]:
    """Serve on a free loopback port, behaving per ``behaviour`` (event -> what)."""
    broken = Broken(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            event = event_of(body)
            with lock:
                broken.received.append((event, self.headers.get("X-Amocrm-Requestid", "")))
            what = behaviour.get(event, "200")
            if what == "close":
                self.close_connection = True
                return
            if what == "slow":
                time.sleep(SLOW_S)
            status = int(what) if what.isdigit() else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128  # the default 5 drops concurrent connects for 1 s

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    broken.url = f"http://127.0.0.1:{server.server_address[1]}/amo/hook"
    try:
        yield broken
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
