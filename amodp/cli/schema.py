"""``amodp schema``: the JSON Schema of an event's decoded body, from the catalog."""

import sys

from ..errors import UsageError
from .app import commands, handle_errors
from .options import AllOption, CustomerOption, EntityOption, EventArgument, KindOption, LeadOption

#: this module's commands (amodp.cli.app.COMMANDS)
app = commands()


@app.command()
@handle_errors
def schema(
    event: EventArgument = None,
    lead: LeadOption = False,
    customer: CustomerOption = False,
    entity: EntityOption = None,
    kind: KindOption = "dp",
    all_events: AllOption = False,
) -> None:
    """Print the JSON Schema (draft 2020-12) of what amodp decode prints for an event.

    Every value of a form is a string, as amoCRM sends it, with a pattern
    where the catalog knows its format (ids, Unix times, dates); fields
    amoCRM sends only sometimes are optional. A callback's schema is its JSON
    body (chat, salesbot) or its query as PHP's $_GET (oauth). --all prints
    one JSON line per event: {"event", "kind", "schema"}.

    Example: amodp schema status --lead
    """
    from .. import catalog
    from ..codec import to_json
    from ..schema import body_schema, schemas
    from .decode import write_json
    from .generate import entity_choice

    callback = kind in catalog.CALLBACK_KINDS
    if callback and (lead or customer or entity):
        raise UsageError(f"--lead, --customer and --entity are for dp and account, not {kind}")
    chosen = entity_choice(lead, customer, entity)
    if all_events:
        if event is not None:
            raise UsageError("give an EVENT or --all, not both")
        for spec, found in schemas(kind, chosen):
            line = {"event": spec.name, "kind": spec.kind, "schema": found}
            sys.stdout.write(to_json(line, indent=None) + "\n")
        return
    if event is None:
        raise UsageError(f"name an EVENT (see 'amodp events --kind {kind}') or --all")
    entity_of = None if callback else catalog.default_entity(event, chosen, kind)
    spec = catalog.event(event, entity_of if not callback else kind, kind)
    write_json(to_json(body_schema(spec), indent=2))
