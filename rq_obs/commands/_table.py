"""Aligned text tables for the terminal, with colour only where it helps and only where it is wanted.

Colour is used when stdout is a terminal and ``NO_COLOR`` is unset or empty (https://no-color.org/);
piped or redirected output is plain text. Columns are aligned on the visible text, so a coloured
cell takes the same width as a plain one.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Mapping, Sequence, TextIO

import click

__all__ = ["colour_wanted", "format_table", "echo_table", "STATE_COLOURS"]

#: colour per cell value, for the columns that carry a verdict
STATE_COLOURS = {"broken": "red", "flaky": "yellow", "healthy": "green", "incomplete": "yellow"}


def colour_wanted(stream: TextIO | None = None, env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    stream = sys.stdout if stream is None else stream
    return not env.get("NO_COLOR") and bool(getattr(stream, "isatty", lambda: False)())


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], colours: Mapping[int, Mapping[str, str]] | None = None,
                 colour: bool = False, last_unpadded: bool = True) -> list[str]:
    """Lines of the table; ``colours`` maps a column index to {cell value: colour name}."""
    table = [list(map(str, header)), *[list(map(str, r)) for r in rows]]
    n = len(table[0])
    widths = [max(len(r[i]) for r in table) for i in range(n)]
    lines = []
    for k, row in enumerate(table):
        cells = []
        for i, cell in enumerate(row):
            pad = "" if (last_unpadded and i == n - 1) else " " * (widths[i] - len(cell))
            fg = (colours or {}).get(i, {}).get(cell) if k > 0 and colour else None
            cells.append((click.style(cell, fg=fg) if fg else cell) + pad)
        lines.append("  ".join(cells).rstrip())
    return lines


def echo_table(header: Sequence[str], rows: Sequence[Sequence[str]], colours: Mapping[int, Mapping[str, str]] | None = None,
               echo: Callable[..., None] = click.echo) -> None:
    on = colour_wanted()
    for line in format_table(header, rows, colours, on):
        echo(line, color=on)
