"""amodp: decode, generate, send and receive amoCRM (Kommo) webhooks.

The library is the standard library only: importing it never pulls in the
CLI (typer, rich), the HTTP client or the server.
"""

from typing import TYPE_CHECKING, Any

from .codec import Decoded, decode, encode, parse, to_json
from .errors import (
    AmodpError,
    ExitCode,
    InputError,
    NetworkError,
    UnknownEventError,
    UsageError,
)

if TYPE_CHECKING:
    from .generator import Webhook, generate, generate_all

__all__ = [
    "AmodpError",
    "Decoded",
    "ExitCode",
    "InputError",
    "NetworkError",
    "UnknownEventError",
    "UsageError",
    "Webhook",
    "decode",
    "encode",
    "generate",
    "generate_all",
    "parse",
    "to_json",
]

__version__ = "0.1.0"

_LAZY = {"Webhook", "generate", "generate_all"}


def __getattr__(name: str) -> Any:
    # The generator pulls in random, uuid and the catalog: load it on first
    # use, so that `amodp decode` does not pay for it at start-up.
    if name in _LAZY:
        from . import generator

        return getattr(generator, name)
    raise AttributeError(f"module 'amodp' has no attribute {name!r}")
