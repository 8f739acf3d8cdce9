"""``amodp events``: the catalog."""

import json
import sys

from .app import commands, handle_errors
from .options import JsonOption, KindOption

# -- events ------------------------------------------------------------------------

#: this module's commands (amodp.cli.app.COMMANDS)
app = commands()


@app.command()
@handle_errors
def events(kind: KindOption = "dp", as_json: JsonOption = False) -> None:
    """List the webhook events amodp knows, with their fields.

    Example: amodp events --json | jq -r .event
    """
    from .. import catalog
    from ..render import table

    found = catalog.events(kind)
    if as_json:
        for e in found:
            sys.stdout.write(json.dumps(e.as_dict(), ensure_ascii=False) + "\n")
        return

    def wire(e: catalog.Event) -> str:
        return e.wire_key + (f" type={e.item_type}" if e.item_type else "")

    rows = [[e.name, wire(e), e.description, ", ".join(e.field_names)] for e in found]
    acct = catalog.account_block(kind)
    carried = ", ".join(f"account[{f.name}]" for f in acct.fields)
    title = f"{kind} callbacks"
    if carried:
        title = f"{kind} webhooks (every body also carries {carried})"
    table(["event", "wire key", "description", "fields"], rows, sys.stdout, title=title)
