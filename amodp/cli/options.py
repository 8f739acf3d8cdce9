"""Options that several commands share, each declared once as an ``Annotated`` alias."""

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

# -- options shared by several commands, each declared once ----------------------


def _complete_event(incomplete: str) -> list[str]:
    from .. import catalog

    names = {e.event for kind in catalog.ALL_KINDS for e in catalog.events(kind)}
    return sorted(n for n in names if n.startswith(incomplete))


#: ``--redact`` on decode, generate and listen.
RedactOption = Annotated[
    bool,
    typer.Option(
        "--redact",
        help="Names, phones, e-mails and texts as placeholders (<name:1>...), ids kept.",
    ),
]
#: ``--json`` on events, send, listen and demo: JSON Lines on stdout.
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="JSON Lines on stdout, one object each (schema in the README)."),
]
#: ``--url`` on generate (shown in the request) and send (where it goes).
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        metavar="URL",
        help="The receiver: http(s)://host[:port]/path.",
        show_default=False,
    ),
]
#: ``--kind`` on events, generate and send.
KindOption = Annotated[
    str,
    typer.Option(
        "--kind",
        help="dp (digital pipeline), account; or the callbacks chat, salesbot, oauth.",
    ),
]

# Signed callbacks: generate, send and verify.
SecretOption = Annotated[
    str | None,
    typer.Option(
        "--secret",
        envvar="AMODP_SECRET",
        show_envvar=True,
        metavar="SECRET",
        show_default=False,
        help="The channel secret (chat) or client secret (salesbot, oauth); "
        "better in AMODP_SECRET, out of shell history.",
    ),
]
NowOption = Annotated[
    float | None,
    typer.Option(
        "--now",
        metavar="UNIX_TIME",
        show_default=False,
        help="The clock of Salesbot tokens (iat, nbf, exp): pins them for --seed; "
        "verify checks them as of then.",
    ),
]
ClientUuidOption = Annotated[
    str | None,
    typer.Option(
        "--client-uuid",
        metavar="UUID",
        show_default=False,
        help="The integration's id: in the token and the disable hook; verify requires it.",
    ),
]

# Negative tests and JSON bytes: generate and send.
BadSignatureOption = Annotated[
    bool, typer.Option("--bad-signature", help="Sign with another secret (a negative test).")
]
ExpiredOption = Annotated[
    bool, typer.Option("--expired", help="A Salesbot token that expired an hour ago.")
]
FlawOption = Annotated[
    str | None,
    typer.Option(
        "--flaw",
        metavar="NAME",
        show_default=False,
        help="Spoil the signature: wrong-secret, body-changed, expired, not-yet-valid.",
    ),
]
JsonStyleOption = Annotated[
    str,
    typer.Option(
        "--json-style",
        metavar="compact|pretty|php",
        help="How a callback's JSON body is written: no spaces; indented; PHP's \\/ and \\uXXXX.",
    ),
]

# What to generate: generate and send.
EventArgument = Annotated[
    str | None,
    typer.Argument(
        help="The event, e.g. status, call_in, period; message with --kind chat "
        "(see 'amodp events').",
        autocompletion=_complete_event,
        show_default=False,
    ),
]
LeadOption = Annotated[bool, typer.Option("--lead", help="A leads event.")]
CustomerOption = Annotated[bool, typer.Option("--customer", help="A customers event.")]
EntityOption = Annotated[
    str | None, typer.Option("--entity", help="Any entity by name.", show_default=False)
]
AllOption = Annotated[bool, typer.Option("--all", help="Every entity/event combination.")]
SeedOption = Annotated[
    int | None,
    typer.Option("--seed", help="Same seed (0 or more), same bytes.", show_default=False),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="FIELD=VALUE on every item, or a bracket path: 'account[subdomain]=acme'.",
        show_default=False,
    ),
]
CountOption = Annotated[int, typer.Option("--count", help="Items in one body.")]
LocaleOption = Annotated[str, typer.Option("--locale", help="Names and texts: ru or en.")]


#: ``--open`` on inspect and listen --ui.
OpenOption = Annotated[
    bool, typer.Option("--open", help="Open the inspector in the default browser.")
]

#: ``--platform`` on send and check: whose delivery rules judge the answers.
PlatformOption = Annotated[
    str,
    typer.Option(
        "--platform",
        metavar="amocrm|kommo",
        help="Whose delivery rules: amocrm (amocrm.ru: DP webhooks sent once) or kommo "
        "(developers.kommo.com: DP webhooks retried up to 4 times within an hour).",
    ),
]

#: ``--index``, ``--event``, ``--request-id`` on decode and send --replay.
IndexOption = Annotated[
    int | None,
    typer.Option(
        "--index", help="Only the Nth record of a capture file (from 1).", min=1, show_default=False
    ),
]
EventOption = Annotated[
    str | None,
    typer.Option(
        "--event",
        help="Only the records with this event (status, leads.status...).",
        show_default=False,
    ),
]
RequestIdOption = Annotated[
    str | None,
    typer.Option(
        "--request-id",
        help="Only the record with this X-Amocrm-Requestid header.",
        show_default=False,
    ),
]


def record_choice(index: int | None, event: str | None, request_id: str | None) -> Any:
    """What the record options ask for, as a function of the records; None: all."""
    if index is None and event is None and request_id is None:
        return None
    from ..records import select_records

    return functools.partial(select_records, index=index, event=event, request_id=request_id)


# -- what generate and send make: one declaration, one argument ------------------------

F = TypeVar("F", bound=Callable[..., Any])


class Making:
    """The options ``generate`` and ``send`` share: what to make. A command
    decorated with :func:`making_options` gets them as one ``making``."""

    event: str | None
    lead: bool
    customer: bool
    entity: str | None
    kind: str
    all_events: bool
    seed: int | None
    overrides: list[str] | None
    count: int
    locale: str
    secret: str | None
    bad_signature: bool
    expired: bool
    flaw: str | None
    now: float | None
    client_uuid: str | None
    json_style: str

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


#: each option of :class:`Making`: its name, its declaration and its default
_MAKING: list[tuple[str, Any, Any]] = [
    ("event", EventArgument, None),
    ("lead", LeadOption, False),
    ("customer", CustomerOption, False),
    ("entity", EntityOption, None),
    ("kind", KindOption, "dp"),
    ("all_events", AllOption, False),
    ("seed", SeedOption, None),
    ("overrides", SetOption, None),
    ("count", CountOption, 1),
    ("locale", LocaleOption, "ru"),
    ("secret", SecretOption, None),
    ("bad_signature", BadSignatureOption, False),
    ("expired", ExpiredOption, False),
    ("flaw", FlawOption, None),
    ("now", NowOption, None),
    ("client_uuid", ClientUuidOption, None),
    ("json_style", JsonStyleOption, "compact"),
]


def making_options(func: F) -> F:
    """Declare the options of :class:`Making` on a command (first in its
    ``--help``), and call it with them as one ``making`` argument, as
    sqlite-utils' ``output_options`` does for its commands."""
    own = inspect.signature(func, eval_str=True)
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    shared = [inspect.Parameter(n, kind, annotation=a, default=d) for n, a, d in _MAKING]
    rest = [p for p in own.parameters.values() if p.name != "making"]

    @functools.wraps(func)
    def command(**values: Any) -> Any:
        making = Making(**{name: values.pop(name) for name, _, _ in _MAKING})
        return func(making=making, **values)

    command.__signature__ = own.replace(parameters=shared + rest)  # type: ignore[attr-defined]
    return command  # type: ignore[return-value]
