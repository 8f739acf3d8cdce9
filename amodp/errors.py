"""The one exception family amodp raises.

The core never prints or exits; it raises one of these and the CLI turns it
into a one-line ``Error: ...`` on stderr and the exit code named here::

    AmodpError                 (exit 2 unless a subclass says otherwise)
    ├── InputError             bad input: empty, unreadable, wrong format
    ├── UsageError             options that do not fit together
    ├── UnknownEventError      an event or entity the catalog does not have
    └── NetworkError           refused, timed out, DNS (exit 3)
"""

from __future__ import annotations


class AmodpError(Exception):
    """Base class of every error amodp raises on purpose."""

    exit_code = 2


class InputError(AmodpError):
    """The input cannot be read or is not what was asked for."""


class UsageError(AmodpError):
    """Options or arguments that do not fit together."""


class UnknownEventError(AmodpError):
    """An entity or event that the catalog does not have."""


class NetworkError(AmodpError):
    """The other side could not be reached: refused, timeout, DNS."""

    exit_code = 3
