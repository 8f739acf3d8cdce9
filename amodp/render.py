"""Terminal output: colour when (and only when) it is wanted.

The only module besides ``cli`` that may import rich, and it does so lazily:
piped output never loads it. :func:`use_colour` is the one place that decides
whether to colour.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .catalog import Detected
    from .outcome import Delivery
    from .sender import Summary

COLOUR_CHOICES = ("auto", "always", "never")


#: The ``--color`` of the running command: one per process, as ``NO_COLOR`` is.
_colour_choice = "auto"


def choose_colour(choice: str) -> None:
    """``always``, ``never`` or ``auto`` (decided per stream by :func:`use_colour`)."""
    if choice not in COLOUR_CHOICES:
        raise ValueError(f"colour must be one of {', '.join(COLOUR_CHOICES)}, got {choice!r}")
    global _colour_choice
    _colour_choice = choice


def use_colour(stream: IO[str]) -> bool:
    """Whether to colour what goes to ``stream``.

    ``--color always`` or ``never`` decides; with ``auto`` (the default), a
    non-empty ``NO_COLOR`` turns colour off, then a non-empty ``FORCE_COLOR``
    turns it on, then ``TERM=dumb`` turns it off; otherwise colour on a terminal.
    """
    if _colour_choice != "auto":
        return _colour_choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def console(stream: IO[str]) -> Any:
    from rich.console import Console

    colour = use_colour(stream)
    return Console(
        file=stream,
        highlight=False,
        soft_wrap=True,
        no_color=not colour,
        force_terminal=colour,
        color_system="auto" if colour else None,
    )


def write_json(text: str, stream: IO[str] | None = None) -> None:
    """Print JSON text as is; highlighted on a terminal (same characters)."""
    stream = stream or sys.stdout
    if not use_colour(stream):
        stream.write(text + "\n")
        return
    from rich.highlighter import JSONHighlighter
    from rich.text import Text

    console(stream).print(JSONHighlighter()(Text(text)))


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    stream: IO[str],
    title: str | None = None,
) -> None:
    """A table on a terminal; tab-separated lines otherwise."""
    if not use_colour(stream) and not _is_terminal(stream):
        if title:
            stream.write(title + "\n")
        stream.write("\t".join(headers) + "\n")
        for row in rows:
            stream.write("\t".join(row) + "\n")
        return
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=title, header_style="bold", show_lines=False)
    for h in headers:
        t.add_column(escape(h), overflow="fold")
    for row in rows:
        t.add_row(*(escape(cell) for cell in row))  # "leads.status[retry]" is text
    console(stream).print(t)


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def show_record(record: dict[str, Any], stream: IO[str]) -> None:
    """One received webhook, readably: a heading line, the summary, the JSON."""
    from .catalog import detect, summary_line
    from .codec import to_json

    when = record["received_at"][11:23]
    target = record["path"] + (f"?{record['query']}" if record.get("query") else "")
    found = detect(record.get("decoded"))
    continued = continuation_of(record)
    names = ", ".join(f"{f.name} ({f.kind})" for f in found)
    if not names:  # not a form: the events the listener found (a callback, a continuation)
        listed = record.get("events") or []
        names = ", ".join(f"{e['entity']}.{e['event']} ({e['kind']})" for e in listed) or "-"
    heading = f"{when}  {record['method']} {target}  {record['status']}  {names}"
    forward = record.get("forward")
    if forward:
        result = forward["status"] if forward["status"] is not None else forward["error"]
        heading += f"  -> app {result} in {forward['latency_ms']:g} ms"
    lines = []
    for group in found:
        lines += [summary_line(group, item) for item in group.items]
    callback = None if found else callback_in(record)
    if callback is not None:
        lines.append(summary_line(callback, callback.items[0]))
    if continued:
        lines.append(continuation_line(record, continued))
    if "signature" in record:
        lines.append(signature_text(record))
    if record.get("note"):
        lines.append(f"note: {record['note']}")
    if record.get("decoded") is not None:
        body_text = to_json(record["decoded"])
    elif "body" in record:
        body_text = record["body"][:2000] + ("..." if len(record["body"]) > 2000 else "")
    else:
        body_text = f"({len(record['body_base64']) * 3 // 4} bytes of binary, base64 in the record)"
    if not use_colour(stream):
        stream.write("\n".join([heading, *lines, body_text]) + "\n\n")
        stream.flush()
        return
    from rich.highlighter import JSONHighlighter
    from rich.text import Text

    out = console(stream)
    style = "bold green" if 200 <= record["status"] < 300 else "bold red"
    out.print(Text(heading, style=style))
    for line in lines:
        out.print(Text(line, style=_line_style(line)))
    if record.get("decoded") is not None:
        out.print(JSONHighlighter()(Text(body_text)))
    else:
        out.print(Text(body_text))
    out.print()


def _line_style(line: str) -> str:
    if line.startswith("note:"):
        return "yellow"
    if line.startswith("signature "):
        return "green" if line.startswith("signature valid") else "red"
    return "cyan"


def signature_text(record: dict[str, Any]) -> str:
    """``signature valid (chat)``, ``signature invalid (salesbot): why`` or
    ``signature absent``: what ``listen --secret`` found."""
    text = f"signature {record['signature']}"
    if record.get("signature_scheme"):
        text += f" ({record['signature_scheme']})"
    if record.get("signature_reason"):
        text += f": {record['signature_reason']}"
    return text


def continuation_of(record: dict[str, Any]) -> dict[str, Any] | None:
    """The ``salesbot.continue`` event of a record, if it is one."""
    for found in record.get("events") or []:
        if found.get("kind") == "salesbot" and found.get("event") == "continue":
            return dict(found)
    return None


def continuation_line(record: dict[str, Any], event: dict[str, Any]) -> str:
    """``salesbot continue 9876: data {...}; handlers show, goto``: what a
    Salesbot's receiver sent back to its ``return_url``."""
    import json

    ids = ",".join(str(i) for i in event.get("ids") or [])
    head = f"{event['entity']} continue {ids}: "
    try:
        sent = json.loads(record.get("body") or "")
    except ValueError:
        if "body redacted" in (record.get("note") or ""):
            return head + "(body redacted)"
        return (
            head + 'the body is not JSON (amoCRM expects {"data": ..., "execute_handlers": [...]})'
        )
    if not isinstance(sent, dict):
        return head + f"the body is a JSON {type(sent).__name__}, not an object"
    parts = []
    if "data" in sent:
        parts.append("data " + json.dumps(sent["data"], ensure_ascii=False, separators=(",", ":")))
    handlers = sent.get("execute_handlers")
    if isinstance(handlers, list):
        names = [h.get("handler", "?") if isinstance(h, dict) else "?" for h in handlers]
        parts.append(f"handlers {', '.join(map(str, names)) or 'none'}")
    return head + ("; ".join(parts) or "no data, no execute_handlers")


def callback_in(record: dict[str, Any]) -> Detected | None:
    """The callback a record's body (or a GET's query) is, read again, when
    its ``events`` name one (not a Salesbot's continuation); None when it
    cannot be read again (a redacted or compressed body)."""
    from .catalog import CALLBACK_KINDS

    if not any(
        e.get("kind") in CALLBACK_KINDS and e.get("event") != "continue"
        for e in record.get("events") or []
    ):
        return None
    from .errors import InputError
    from .records import body_of, callback_of

    try:
        body = body_of(record)
    except InputError:
        return None
    return callback_of(body, record.get("query") or "", record.get("method") or "POST")


def event_text(record: dict[str, Any], event: dict[str, Any]) -> str:
    """What ``listen --lines`` says of one event: its name and ids
    (``leads.status 66978001``, ``?`` for an item without one); for a
    callback, whose items have no id, what it is (``chat.message: text
    message 5e0f...``, ``oauth.disabled: account 30307558``), or its name
    alone when its body cannot be read again (redacted)."""
    name = f"{event['entity']}.{event['event']}"
    ids = event.get("ids") or []
    if ids and all(i is None for i in ids):
        callback = callback_in(record)
        if callback is not None:
            from .catalog import summary_line

            said = summary_line(callback, callback.items[0])
            return f"{name}: {said.partition('  ')[2]}"
        from .catalog import CALLBACK_KINDS

        if event.get("kind") in CALLBACK_KINDS:
            return name
    shown = ",".join("?" if i is None else str(i) for i in ids)
    return name + (f" {shown}" if shown else "")


def summary_table(rows: Sequence[Sequence[str]], stream: IO[str], title: str) -> None:
    """The title, then (when there are rows) a table of them."""
    if not rows:
        stream.write(title + "\n")
        return
    table(["event", "status", "count"], rows, stream, title=title)


def request_line(record: dict[str, Any]) -> str:
    """One received request on one line (``listen --lines``): time, method,
    path, status, then each event recognised with its ids."""
    when = record["received_at"][11:23]
    target = record["path"] + (f"?{record['query']}" if record.get("query") else "")
    events = [event_text(record, found) for found in record.get("events") or []]
    parts = [when, f"{record['method']} {target}", str(record["status"]), "  ".join(events) or "-"]
    forward = record.get("forward")
    if forward:
        result = forward["status"] if forward["status"] is not None else forward["error"]
        parts.append(f"-> app {result} in {forward['latency_ms']:g} ms")
    if "signature" in record:
        parts.append(signature_text(record))
    if record.get("note"):
        parts.append(f"({record['note']})")
    return "  ".join(parts)


def show_line(record: dict[str, Any], stream: IO[str]) -> None:
    """:func:`request_line`, its status in colour on a terminal."""
    text = request_line(record)
    if not use_colour(stream):
        stream.write(text + "\n")
        stream.flush()
        return
    from rich.text import Text

    style = "green" if 200 <= record["status"] < 300 else "red"
    line = Text(text)
    start = len(record["received_at"][11:23]) + 2
    start = text.index(f"  {record['status']}", start) + 2
    line.stylize(style, start, start + len(str(record["status"])))
    console(stream).print(line)


def delivery_line(delivery: Delivery) -> str:
    """``leads.status  200  'ok'  12.3 ms``, and amoCRM's reason when it was not delivered."""
    if delivery.failure is not None:
        result = delivery.error
    else:
        result = f"{delivery.status}  {delivery.response[:60].strip()!r}"
    line = f"{delivery.name}  {result}  {delivery.latency_ms:.1f} ms"
    if delivery.verdict is not None and not delivery.ok:
        line += f"  {delivery.verdict.reason}"
    return line + "\n"


def load_table(summary: Summary, stream: IO[str]) -> None:
    """The table of a load (``send --repeat``): counts, rate, latency percentiles."""
    two = sum(n for s, n in summary.statuses.items() if 200 <= s < 300)
    rate = summary.sent / summary.seconds if summary.seconds else 0.0
    rows = [
        ["sent", str(summary.sent)],
        ["2xx", str(two)],
        ["other statuses", str(summary.answered - two)],
        ["errors", str(sum(summary.failures.values()))],
        ["rate", f"{rate:.0f}/s"],
        ["latency p50", f"{summary.percentile(50):.1f} ms"],
        ["latency p95", f"{summary.percentile(95):.1f} ms"],
        ["latency p99", f"{summary.percentile(99):.1f} ms"],
    ]
    stopped = " (interrupted)" if summary.interrupted else ""
    title = f"{summary.sent} deliveries in {summary.seconds:.2f} s{stopped}"
    table(["measure", "value"], rows, stream, title=title)


class ProgressBar:
    """A progress bar on a terminal's stream."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        from rich.progress import Progress

        self.bar = Progress(console=console(stream), transient=True)
        self.task = self.bar.add_task("sending", total=total)
        self.bar.start()

    def advance(self) -> None:
        self.bar.advance(self.task)

    def close(self) -> None:
        self.bar.stop()
