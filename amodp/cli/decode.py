"""``amodp decode`` and ``amodp encode``: bodies to JSON and back."""

import sys
from typing import Annotated, Any

import typer

from ..errors import InputError, UsageError
from ..inputs import FORMS as FORM_CHOICES
from .app import commands, handle_errors, read_input, stderr_line
from .options import EventOption, IndexOption, RedactOption, RequestIdOption, record_choice

#: Output longer than this is printed without colour: highlighting builds it
#: all in memory, many times its size.
COLOUR_LIMIT = 1 << 20

# -- decode ------------------------------------------------------------------------

#: this module's commands (amodp.cli.app.COMMANDS)
app = commands()


@app.command()
@handle_errors
def decode(
    files: Annotated[
        list[str] | None,
        typer.Argument(help="Files to read; '-' or nothing reads stdin.", show_default=False),
    ] = None,
    form: Annotated[
        str,
        typer.Option(
            "--from",
            help=(
                "What the input is: auto, body, http, curl, json (an object, or one per "
                "line), python, capture, php (print_r, var_dump, var_export or dd() "
                "output), log (a line with a JSON object after its prefix) or form-view "
                "(DevTools' Form Data copied as text)."
            ),
        ),
    ] = "auto",
    compact: Annotated[bool, typer.Option("--compact", help="One line of JSON each.")] = False,
    summary: Annotated[
        bool, typer.Option("--summary", help="One human line per event item, on stderr.")
    ] = False,
    redact: RedactOption = False,
    index: IndexOption = None,
    only_event: EventOption = None,
    request_id: RequestIdOption = None,
    drift: Annotated[
        bool,
        typer.Option(
            "--drift",
            help="Say on stderr where a body differs from the catalog's shape of its event.",
        ),
    ] = False,
) -> None:
    """Decode a captured webhook into JSON, exactly as PHP's $_POST sees it.

    Reads a urlencoded body, a raw HTTP request, a curl command, a JSON object
    of bracket keys (or decoded JSON, one object per line), a logged Python
    dict, amodp capture records (all of them, or those --index, --event and
    --request-id choose), PHP's print_r, var_dump or var_export of $_POST,
    Laravel's dd(), a log line ending in JSON, or DevTools' Form Data; gzip is
    undone. Input that is none of them is an error. A body typed on the
    command line goes through a pipe. With --redact, personal data is
    replaced by placeholders, the same value by the same placeholder across
    all the inputs, so the output can go in a bug report. With --drift, one
    line on stderr for each event, field or form the catalog does not know
    and each field it always has that the body lacks.

    Example: amodp decode payload.txt --summary
    """
    from ..codec import parse, to_json
    from ..inputs import NotTextError, read_sources

    if form not in FORM_CHOICES:
        raise UsageError(f"--from must be one of: {', '.join(FORM_CHOICES)}")
    choose = record_choice(index, only_event, request_id)
    redactor = None
    if redact:
        from ..redact import Redactor

        redactor = Redactor()
    names = files or ["-"]
    for name in names:
        label = "stdin" if name == "-" else name
        data = read_input(name, "decode")
        try:
            sources = read_sources(data, form, choose)
        except NotTextError as exc:
            raise InputError(f"{label} {exc}") from None
        except InputError as exc:
            raise InputError(f"{label}: {exc}") from None
        from ..bodies import sent_json

        for source in sources:
            where = f"{label} ({source.label})" if source.label else label
            sent = sent_json(source, data)
            if sent is not None:
                # A Chats API hook or a Salesbot call: $_POST stays empty,
                # the receiver reads the body itself.
                json_value, callback = sent
                what = f"a JSON body ({callback})" if callback else "a JSON body"
                stderr_line(
                    f"Note: {where}: {what}: PHP's $_POST is empty for it, the receiver "
                    "reads php://input; shown as sent"
                )
                if drift:
                    _print_drift(where, json_value)
                if redactor is not None:
                    json_value = redactor.redact(json_value)
                write_json(to_json(json_value, indent=None if compact else 4))
                if summary:
                    _print_summary(json_value)
                continue
            for warning in source.warnings:
                stderr_line(f"Warning: {where}: {warning}")
            decoded = parse(source.body)
            for warning in decoded.warnings:
                stderr_line(f"Warning: {where}: {warning}")
            if not summary and not _holds_event(decoded.value):
                stderr_line(
                    f"Note: {where}: no amoCRM webhook event in it "
                    "(no leads[status][0][...] or the like); decoded all the same"
                )
            if drift:
                _print_drift(where, decoded.value)
            value = decoded.value if redactor is None else redactor.redact(decoded.value)
            text = to_json(value, indent=None if compact else 4)
            write_json(text)
            if summary:
                _print_summary(value, source.body)


def _print_drift(where: str, value: Any) -> None:
    """--drift: a line per difference from the catalog (:mod:`amodp.drift`)."""
    from ..drift import drift

    report = drift(value)
    if report.older is not None:
        older = report.older
        stderr_line(
            f"Note: {where}: the shape amoCRM sent in {older.year} ({older.what}): not drift"
        )
    for found in report.drifts:
        stderr_line(f"Drift: {where}: {found.line}")


def _holds_event(value: Any) -> bool:
    """Whether a decoded body holds a webhook event (or is a callback's query).

    A body with an account block and an ``{entity: {event: [items]}}`` part
    always does (catalog.detect takes any key then), so the catalog is
    imported only for the others: a webhook decodes without it."""
    if not isinstance(value, dict):
        return False
    account = value.get("account")
    if isinstance(account, dict) and account:
        for key, actions in value.items():
            if key != "account" and isinstance(actions, dict):
                for items in actions.values():
                    items = list(items.values()) if isinstance(items, dict) else items
                    if isinstance(items, list) and items:
                        if all(isinstance(item, dict) for item in items):
                            return True
    from ..catalog import detect, detect_callback

    return bool(detect(value)) or detect_callback(value) is not None


def write_json(text: str) -> None:
    """JSON text on stdout, as is: highlighted on a terminal
    (:func:`amodp.render.write_json`) unless longer than :data:`COLOUR_LIMIT`."""
    from .. import render

    if len(text) <= COLOUR_LIMIT and render.use_colour(sys.stdout):
        render.write_json(text)
    else:
        sys.stdout.write(text + "\n")


def _print_summary(value: Any, body: bytes = b"") -> None:
    from ..catalog import detect, detect_callback, summary_line
    from ..records import json_object

    found = detect(value)
    if not found:
        # A callback: a JSON body (as sent, in a request or a record), or a
        # query string decoded as a form.
        callback = detect_callback(json_object(body) or value)
        found = [callback] if callback else []
    if not found:
        stderr_line("(no amoCRM webhook event recognised)")
    for item_group in found:
        for item in item_group.items:
            stderr_line(summary_line(item_group, item))


# -- encode ------------------------------------------------------------------------


@app.command()
@handle_errors
def encode(
    file: Annotated[
        str, typer.Argument(help="A JSON file; '-' or nothing reads stdin.", show_default=False)
    ] = "-",
) -> None:
    """Encode a JSON object as the urlencoded body PHP's http_build_query makes.

    Example: echo '{"leads":{"status":[{"id":"1"}]}}' | amodp encode
    """
    from ..codec import encode as encode_body
    from ..codec import load_json
    from ..records import looks_like_records

    label = "stdin" if file == "-" else file
    data = read_input(file, "encode")
    if not data.strip():
        raise InputError(f"{label}: empty input")
    if looks_like_records(data):
        raise InputError(f"{label} looks like capture records; to read them use amodp decode")
    try:
        value = load_json(data)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{label}: not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InputError(f"{label}: the JSON is a {type(value).__name__}, not an object")
    sys.stdout.write(encode_body(value) + "\n")
