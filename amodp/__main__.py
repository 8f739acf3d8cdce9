"""``python -m amodp``."""

from .cli import app

app(prog_name="amodp")
