"""A live status line for long operations (snapshot --sample-command, the demo's start, backfill phases).

On a terminal it rewrites one stderr line in place, with the time elapsed; with ``--quiet``, or
when stderr is not a terminal (CI logs, pipes, files), it prints nothing, so machine-read output
and logs stay clean — unless ``lines`` (a long start with nothing else to show, the demo's): then
each step is a line of its own in the log. Library code receives :meth:`Status.step` as a plain ``Callable[[str], None]``.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

__all__ = ["Status", "NULL"]

#: A progress callback that does nothing.
NULL: Callable[[str], None] = lambda text: None  # noqa: E731


class Status:
    """One stderr line rewritten in place: ``[  12s] what is happening``."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic,
                 *, lines: bool = False):
        self.stream = stream if stream is not None else sys.stderr
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = not quiet and (tty or lines)
        self.in_place = tty
        self.clock = clock
        self.started = clock()
        self.shown = False

    def step(self, text: str) -> None:
        if not self.enabled:
            return
        line = f"[{self.clock() - self.started:5.0f}s] {text}"
        if not self.in_place:  # a log: one line a step
            self.stream.write(line + "\n")
            self.stream.flush()
            return
        self.stream.write("\r\x1b[K" + line)  # back to column 0, clear to the end of the line
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        """Clear the status line, so what is printed next starts on a clean line."""
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False

    def __enter__(self) -> "Status":
        return self

    def __exit__(self, *exc) -> None:
        self.done()
