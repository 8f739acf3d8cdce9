"""The ``amodp`` command line: thin commands over the core, a module per command group.

Each command parses its options, calls the core and prints: data on stdout,
talk on stderr. Errors from the core (:class:`amodp.errors.AmodpError`) become
one line ``Error: ...`` on stderr and the exit code of :class:`ExitCode`; a
mistake on the command line (unknown option, missing argument, bad value) is
one ``Error: ...`` line and a ``Try 'amodp CMD --help'.`` line, exit 2, for
every command (:class:`_Group`). A command's module is imported when the
command runs (:data:`amodp.cli.app.COMMANDS`). An option several commands
share is declared once, in :mod:`amodp.cli.options`.
"""

from ..errors import ExitCode
from .app import app

__all__ = ["ExitCode", "app"]
