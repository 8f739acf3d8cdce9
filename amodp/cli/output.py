"""stdout for commands that go on when their reader leaves (``| head -2``)."""

import os
import sys


def stdout_gone() -> None:
    """The reader of stdout has left: what is still buffered, and anything
    written later, goes to /dev/null (also at exit), so that the work goes on."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


class Stdout:
    """stdout for result lines: once the reader has gone, the lines go
    nowhere and the work goes on. ``flush_each``: flush after every line."""

    def __init__(self, flush_each: bool) -> None:
        self.flush_each = flush_each
        self.gone = False

    def write(self, text: str) -> None:
        if self.gone:
            return
        try:
            sys.stdout.write(text)
            if self.flush_each:
                sys.stdout.flush()
        except BrokenPipeError:
            self.reader_left()

    def flush(self) -> None:
        if not self.gone:
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                self.reader_left()

    def reader_left(self) -> None:
        self.gone = True
        stdout_gone()
