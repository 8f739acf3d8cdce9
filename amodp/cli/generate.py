"""``amodp generate``: realistic requests of every kind, printed as amoCRM sends them.

:func:`make_requests` turns the options ``generate`` and ``send`` share into
requests of the generator.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import UsageError
from .app import commands, handle_errors, stderr_line
from .decode import write_json
from .options import Making, RedactOption, UrlOption, making_options

if TYPE_CHECKING:
    from ..request import Request

# -- generate ----------------------------------------------------------------------

FORMAT_CHOICES = ("form", "json", "http", "curl")

#: this module's commands (amodp.cli.app.COMMANDS)
app = commands()


@app.command()
@handle_errors
@making_options
def generate(
    making: Making,
    fmt: Annotated[str, typer.Option("--format", "-f", help="form, json, http or curl.")] = "form",
    url: UrlOption = None,
    redact: RedactOption = False,
) -> None:
    """Print a realistic webhook body, exactly as amoCRM sends it.

    --url is what --format http and curl show (default http://localhost:8000/).
    With --redact, as 'amodp decode --redact' would show it: the personal
    values replaced by placeholders in every format (Content-Length follows).

    Callbacks (--kind chat, salesbot, oauth) come signed with --secret (or
    AMODP_SECRET); form and json print a JSON body as sent, a GET as its
    request line. A Salesbot token is valid from now on: --now pins it.

    Example: amodp generate status --lead --seed 7 --set status_id=142
    """
    from ..generator import DEFAULT_URL

    if redact and making.kind in _callback_kinds():
        raise UsageError(f"--redact is for dp and account webhooks, not {making.kind} callbacks")
    if fmt not in FORMAT_CHOICES:
        choices = ", ".join(FORMAT_CHOICES)
        raise UsageError(f"unknown format {fmt!r}; choose from: {choices}", param="fmt")
    if url is not None:
        from ..sender import check_url

        check_url(url)
    hooks = make_requests(making, url or DEFAULT_URL)
    if redact:
        from dataclasses import replace

        from ..redact import Redactor

        redactor = Redactor()
        hooks = [
            replace(h, body=redactor.redact_body(h.body), data=redactor.redact(h.data))
            for h in hooks
        ]
    for hook in hooks:
        if fmt in ("form", "json"):
            _write_body(hook, fmt, one_line=making.all_events)
        elif fmt == "http":
            if len(hooks) > 1:
                sys.stdout.write(f"### {hook.name}\n")
            _write_bytes(hook.http() + b"\n")
        else:
            sys.stdout.write(hook.curl() + "\n")


def _write_body(hook: Request, fmt: str, one_line: bool) -> None:
    """--format form or json: a form body as sent or as the JSON PHP sees;
    a JSON body as sent; a GET, which has no body, as its request line."""
    if hook.method == "GET":
        sys.stdout.write(f"GET {hook.target}\n")
    elif not is_form(hook):
        _write_bytes(hook.body + b"\n")
    elif fmt == "form":
        sys.stdout.write(hook.body.decode("ascii") + "\n")
    else:
        from ..codec import to_json

        if one_line:
            sys.stdout.write(to_json(hook.json, indent=None) + "\n")
        else:
            write_json(to_json(hook.json))


def is_form(request: Request) -> bool:
    from ..records import FORM_TYPE

    return (request.header("content-type") or "").startswith(FORM_TYPE)


def _write_bytes(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _callback_kinds() -> tuple[str, ...]:
    from .. import catalog

    return catalog.CALLBACK_KINDS


def signing_options(making: Making) -> dict[str, Any]:
    """What --secret and the options about signatures ask of the generator;
    ``given``: the signing options given (not --secret: AMODP_SECRET may be
    set for everything)."""
    from ..callbacks import STYLES

    on = (("wrong-secret", making.bad_signature), ("expired", making.expired))
    flaws = [f for f, given in on if given]
    if making.flaw is not None:
        flaws.append(making.flaw)
    if len(flaws) > 1:
        raise UsageError("choose one of --bad-signature, --expired and --flaw NAME")
    if making.json_style not in STYLES:
        raise UsageError(f"--json-style must be one of: {', '.join(STYLES)}")
    if making.secret == "":
        raise UsageError("--secret is empty (is AMODP_SECRET set to nothing?)")
    options = (
        ("--bad-signature", making.bad_signature),
        ("--expired", making.expired),
        ("--flaw", making.flaw is not None),
        ("--now", making.now is not None),
        ("--client-uuid", making.client_uuid is not None),
        ("--json-style", making.json_style != "compact"),
    )
    return {
        "secret": making.secret,
        "flaw": flaws[0] if flaws else None,
        "now": making.now,
        "client_uuid": making.client_uuid,
        "style": making.json_style,
        "given": [name for name, given in options if given],
    }


def make_requests(
    making: Making, url: str, other_ways: str = "or --all", notes: bool = True
) -> list[Request]:
    """The requests generate and send make: one EVENT, or --all of them;
    ``notes``: say on stderr what was skipped or cannot be signed for real."""
    from .. import catalog
    from ..generator import generate, generate_all, parse_override

    signing = signing_options(making)
    given = signing.pop("given")
    event, kind, count, overrides = making.event, making.kind, making.count, making.overrides
    callback = kind in catalog.CALLBACK_KINDS
    if callback:
        webhook_only = [
            ("--lead", making.lead),
            ("--customer", making.customer),
            ("--entity", making.entity),
            ("--set", overrides),
            ("--count", count != 1),
        ]
        for name, on in webhook_only:
            if on:
                raise UsageError(f"{name} is for dp and account webhooks, not {kind} callbacks")
    else:
        if given:
            raise UsageError(f"{given[0]} is for the callbacks (--kind chat, salesbot, oauth)")
        signing = {}
    chosen = entity_choice(making.lead, making.customer, making.entity)
    pairs = [parse_override(s) for s in overrides or []]
    if making.all_events:
        if event is not None:
            raise UsageError("give an EVENT or --all, not both")
        skipped: dict[tuple[str, ...], list[str]] = {}
        hooks = generate_all(
            kind=kind,
            seed=making.seed,
            count=count,
            overrides=pairs,
            url=url,
            entity=chosen,
            locale=making.locale,
            on_skip=lambda spec, missing: skipped.setdefault(tuple(missing), []).append(spec.name),
            **signing,
        )
        for missing, names in skipped.items() if notes else ():
            stderr_line(f"Warning: skipped {', '.join(names)}: no field {', '.join(missing)}")
    elif event is None:
        more = f"see 'amodp events --kind {kind}'" if callback else "see 'amodp events'"
        raise UsageError(f"name an EVENT ({more}) {other_ways}")
    else:
        entity_of = None if callback else catalog.default_entity(event, chosen, kind)
        hooks = [
            generate(
                event,
                entity_of,
                kind=kind,
                seed=making.seed,
                count=count,
                overrides=pairs,
                url=url,
                locale=making.locale,
                **signing,
            )
        ]
    if callback and notes:
        _signing_notes(hooks, kind, signing.get("secret"))
    return hooks


def _signing_notes(hooks: list[Request], kind: str, secret: str | None) -> None:
    """One line on stderr when the callbacks cannot be signed for real."""
    if secret and kind == "salesbot" and len(secret.encode()) < 64:
        stderr_line(
            f"Warning: the secret is {len(secret.encode())} bytes; amoCRM's client secrets "
            "are 64 characters (HS512 wants a key of 64 bytes or more)"
        )
    signed = [h.name for h in hooks if h.event is not None and h.event.signature_scheme]
    if secret is None and signed:
        stderr_line(
            f"Note: no --secret (or AMODP_SECRET): {', '.join(signed)} signed with a throwaway "
            "key, which no receiver accepts"
        )


def entity_choice(lead: bool, customer: bool, entity: str | None) -> str | None:
    chosen = [name for name, on in (("leads", lead), ("customers", customer)) if on]
    if entity:
        chosen.append(entity)
    if len(chosen) > 1:
        raise UsageError("choose one entity: --lead, --customer or --entity NAME")
    return chosen[0] if chosen else None
