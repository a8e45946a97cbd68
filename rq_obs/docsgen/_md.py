"""Markdown helpers for the generated pages: escaping outside code spans, tables, anchors."""

from __future__ import annotations

import re

__all__ = ["text", "cell", "table", "code", "anchor"]

_SPECIAL = re.compile(r"([\\*_<>\[\]|])")


def text(s: str) -> str:
    """Escape Markdown/HTML specials outside `code spans`, keep the code spans as they are."""
    parts = re.split(r"(`[^`]*`)", s)
    return "".join(p if p.startswith("`") and p.endswith("`") and len(p) > 1 else _SPECIAL.sub(r"\\\1", p)
                   for p in parts)


def cell(s: str) -> str:
    """A table cell: one line, escaped; a ``|`` inside a code span is escaped too (tables split on it)."""
    return text(" ".join(str(s).split())).replace("`|`", "`\\|`") if s != "" else ""


def code(s: str) -> str:
    """An inline code span (one line) that may itself hold backticks."""
    s = " ".join(str(s).split())
    fence = "``" if "`" in s else "`"
    pad = " " if "`" in s else ""
    return f"{fence}{pad}{s}{pad}{fence}".replace("|", "\\|")


def table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def anchor(s: str) -> str:
    """The id MkDocs' toc extension gives a heading (lower case, words joined by '-')."""
    s = re.sub(r"[^\w\- ]", "", s.lower()).strip()
    return re.sub(r"[\s-]+", "-", s)
