"""Terminal output: colour when (and only when) a terminal is there.

The only module besides ``cli`` that may import rich, and it does so lazily:
piped output never loads it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import IO, Any


def use_colour(stream: IO[str]) -> bool:
    """Colour on a terminal, unless ``NO_COLOR`` is set or ``TERM=dumb``."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def console(stream: IO[str]) -> Any:
    from rich.console import Console

    colour = use_colour(stream)
    return Console(
        file=stream,
        highlight=False,
        soft_wrap=True,
        no_color=not colour,
        force_terminal=colour,
        color_system="auto" if colour else None,
    )


def write_json(text: str, stream: IO[str] | None = None) -> None:
    """Print JSON text as is; highlighted on a terminal (same characters)."""
    stream = stream or sys.stdout
    if not use_colour(stream):
        stream.write(text + "\n")
        return
    from rich.highlighter import JSONHighlighter
    from rich.text import Text

    console(stream).print(JSONHighlighter()(Text(text)))


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    stream: IO[str],
    title: str | None = None,
) -> None:
    """A table on a terminal; tab-separated lines otherwise."""
    if not use_colour(stream) and not stream.isatty():
        if title:
            stream.write(title + "\n")
        stream.write("\t".join(headers) + "\n")
        for row in rows:
            stream.write("\t".join(row) + "\n")
        return
    from rich.table import Table

    t = Table(title=title, header_style="bold", show_lines=False)
    for h in headers:
        t.add_column(h, overflow="fold")
    for row in rows:
        t.add_row(*row)
    console(stream).print(t)
