"""The one exception family amodp raises, and the exit codes it maps to.

The core never prints or exits; it raises one of these and the CLI turns it
into a one-line ``Error: ...`` on stderr and the :class:`ExitCode` named here::

    AmodpError                 ExitCode.USAGE (2) unless a subclass says otherwise
    ├── InputError             bad input: empty, unreadable, wrong format
    ├── UsageError             a value out of range, options that do not fit together
    ├── UnknownEventError      an event or entity the catalog does not have
    └── NetworkError           refused, timed out, DNS: ExitCode.NETWORK (3)

Messages speak of the library's own parameters (``count must be at least
1``); an error about one parameter names it in ``param`` (``"count"``), and
the CLI says which option that is (``Error: --count: count must be at least 1``).
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes, the same for every command (the README's table)."""

    OK = 0
    #: the check failed: ``send`` got a non-2xx answer, ``listen --expect`` timed
    #: out, ``demo`` saw a webhook lost or changed.
    FAILED = 1
    #: bad usage or input: unknown option or event, unreadable or malformed input.
    USAGE = 2
    #: network: connection refused, timeout, DNS, TLS; ``listen``: port in use.
    NETWORK = 3
    #: stopped by Ctrl-C (SIGINT) or SIGTERM.
    INTERRUPTED = 130


class AmodpError(Exception):
    """Base class of every error amodp raises on purpose.

    ``param``: the parameter the message is about (``"url"``, ``"count"``...),
    or None when it is about no single one.
    """

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class InputError(AmodpError):
    """The input cannot be read or is not what was asked for."""


class UsageError(AmodpError):
    """A value out of range, or options and arguments that do not fit together."""


class UnknownEventError(AmodpError):
    """An entity or event that the catalog does not have."""


class NetworkError(AmodpError):
    """The other side could not be reached: refused, timeout, DNS."""

    exit_code = ExitCode.NETWORK
