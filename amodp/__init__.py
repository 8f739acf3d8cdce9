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
    from .outcome import Delivery, Failure
    from .request import Request

__all__ = [
    "AmodpError",
    "Decoded",
    "Delivery",
    "ExitCode",
    "Failure",
    "InputError",
    "NetworkError",
    "Request",
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

#: names loaded on first use, and their module: the generator pulls in random,
#: uuid and the catalog, which `amodp decode` must not pay for at start-up
_LAZY = {
    "Webhook": "generator",
    "generate": "generator",
    "generate_all": "generator",
    "Request": "request",
    "Delivery": "outcome",
    "Failure": "outcome",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'amodp' has no attribute {name!r}")
