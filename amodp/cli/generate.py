"""``amodp generate``: realistic requests of every kind, printed as amoCRM sends them.

:func:`make_requests` turns the options ``generate`` and ``send`` share into
requests of the generator.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import UsageError
from .app import app, handle_errors, stderr_line
from .decode import write_json
from .options import (
    AllOption,
    BadSignatureOption,
    ClientUuidOption,
    CountOption,
    CustomerOption,
    EntityOption,
    EventArgument,
    ExpiredOption,
    FlawOption,
    JsonStyleOption,
    KindOption,
    LeadOption,
    LocaleOption,
    NowOption,
    RedactOption,
    SecretOption,
    SeedOption,
    SetOption,
    UrlOption,
)

if TYPE_CHECKING:
    from ..request import Request

# -- generate ----------------------------------------------------------------------

FORMAT_CHOICES = ("form", "json", "http", "curl")


@app.command()
@handle_errors
def generate(
    event: EventArgument = None,
    lead: LeadOption = False,
    customer: CustomerOption = False,
    entity: EntityOption = None,
    kind: KindOption = "dp",
    all_events: AllOption = False,
    seed: SeedOption = None,
    overrides: SetOption = None,
    count: CountOption = 1,
    fmt: Annotated[str, typer.Option("--format", "-f", help="form, json, http or curl.")] = "form",
    url: UrlOption = None,
    locale: LocaleOption = "ru",
    redact: RedactOption = False,
    secret: SecretOption = None,
    bad_signature: BadSignatureOption = False,
    expired: ExpiredOption = False,
    flaw: FlawOption = None,
    now: NowOption = None,
    client_uuid: ClientUuidOption = None,
    json_style: JsonStyleOption = "compact",
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

    signing = signing_options(secret, bad_signature, expired, flaw, now, client_uuid, json_style)
    if redact and kind in _callback_kinds():
        raise UsageError(f"--redact is for dp and account webhooks, not {kind} callbacks")
    if fmt not in FORMAT_CHOICES:
        choices = ", ".join(FORMAT_CHOICES)
        raise UsageError(f"unknown format {fmt!r}; choose from: {choices}", param="fmt")
    if url is not None:
        from ..sender import check_url

        check_url(url)
    hooks = make_requests(
        event,
        lead=lead,
        customer=customer,
        entity=entity,
        kind=kind,
        all_events=all_events,
        seed=seed,
        overrides=overrides,
        count=count,
        url=url or DEFAULT_URL,
        locale=locale,
        signing=signing,
    )
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
            _write_body(hook, fmt, one_line=all_events)
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


def signing_options(
    secret: str | None,
    bad_signature: bool,
    expired: bool,
    flaw: str | None,
    now: float | None,
    client_uuid: str | None,
    style: str,
) -> dict[str, Any]:
    """What --secret and the options about signatures ask of the generator;
    ``given``: the signing options given (not --secret: AMODP_SECRET may be
    set for everything)."""
    from ..callbacks import STYLES

    flaws = [f for f, on in (("wrong-secret", bad_signature), ("expired", expired)) if on]
    if flaw is not None:
        flaws.append(flaw)
    if len(flaws) > 1:
        raise UsageError("choose one of --bad-signature, --expired and --flaw NAME")
    if style not in STYLES:
        raise UsageError(f"--json-style must be one of: {', '.join(STYLES)}")
    if secret == "":
        raise UsageError("--secret is empty (is AMODP_SECRET set to nothing?)")
    options = (
        ("--bad-signature", bad_signature),
        ("--expired", expired),
        ("--flaw", flaw is not None),
        ("--now", now is not None),
        ("--client-uuid", client_uuid is not None),
        ("--json-style", style != "compact"),
    )
    return {
        "secret": secret,
        "flaw": flaws[0] if flaws else None,
        "now": now,
        "client_uuid": client_uuid,
        "style": style,
        "given": [name for name, on in options if on],
    }


def make_requests(
    event: str | None,
    *,
    lead: bool,
    customer: bool,
    entity: str | None,
    kind: str,
    all_events: bool,
    seed: int | None,
    overrides: list[str] | None,
    count: int,
    url: str,
    locale: str,
    signing: dict[str, Any],
    other_ways: str = "or --all",
) -> list[Request]:
    """The requests generate and send make: one EVENT, or --all of them."""
    from .. import catalog
    from ..generator import generate, generate_all, parse_override

    signing = dict(signing)
    given = signing.pop("given")
    callback = kind in catalog.CALLBACK_KINDS
    if callback:
        webhook_only = [
            ("--lead", lead),
            ("--customer", customer),
            ("--entity", entity),
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
    chosen = _entity_choice(lead, customer, entity)
    pairs = [parse_override(s) for s in overrides or []]
    if all_events:
        if event is not None:
            raise UsageError("give an EVENT or --all, not both")
        skipped: dict[tuple[str, ...], list[str]] = {}
        hooks = generate_all(
            kind=kind,
            seed=seed,
            count=count,
            overrides=pairs,
            url=url,
            entity=chosen,
            locale=locale,
            on_skip=lambda spec, missing: skipped.setdefault(tuple(missing), []).append(spec.name),
            **signing,
        )
        for missing, names in skipped.items():
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
                seed=seed,
                count=count,
                overrides=pairs,
                url=url,
                locale=locale,
                **signing,
            )
        ]
    if callback:
        _signing_notes(hooks, kind, signing.get("secret"))
    return hooks


def _signing_notes(hooks: list[Request], kind: str, secret: str | None) -> None:
    """One line on stderr when the callbacks cannot be signed for real."""
    if secret and kind == "salesbot" and len(secret.encode()) < 64:
        stderr_line(
            f"Warning: the secret is {len(secret.encode())} bytes; amoCRM's client secrets "
            "are 64 characters (HS512 wants a key of 64 bytes or more)"
        )
    signed = [h.name for h in hooks if h.event is not None and h.event.details.get("signature")]
    if secret is None and signed:
        stderr_line(
            f"Note: no --secret (or AMODP_SECRET): {', '.join(signed)} signed with a throwaway "
            "key, which no receiver accepts"
        )


def _entity_choice(lead: bool, customer: bool, entity: str | None) -> str | None:
    chosen = [name for name, on in (("leads", lead), ("customers", customer)) if on]
    if entity:
        chosen.append(entity)
    if len(chosen) > 1:
        raise UsageError("choose one entity: --lead, --customer or --entity NAME")
    return chosen[0] if chosen else None
