"""amodp: decode, generate, send and receive amoCRM (Kommo) webhooks.

The library is the standard library only: importing it never pulls in the
CLI (typer, rich), the HTTP client or the server.
"""

from .codec import Decoded, decode, encode, parse, to_json
from .errors import AmodpError, InputError, NetworkError, UnknownEventError, UsageError

__all__ = [
    "AmodpError",
    "Decoded",
    "InputError",
    "NetworkError",
    "UnknownEventError",
    "UsageError",
    "decode",
    "encode",
    "parse",
    "to_json",
]

__version__ = "0.1.0"
