"""What a Dockerfile takes from its build context: the sources of its COPY and ADD instructions.

Enough of the Dockerfile syntax for ``rq-obs validate`` to tell, without a Docker engine, whether
a build would stop at "COPY failed: file not found": line continuations (``\\``, or the
character an ``# escape=`` directive names), comment lines (also inside a continuation), flags
(``--chown=...``), the JSON form (``COPY ["a b", "dest/"]``). Left out, as nothing to check in
the context: ``--from=`` (another stage or image), URLs and git sources of ADD, heredocs
(``COPY <<EOF``) and sources with ``$`` variables (their value is only known to the builder).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

__all__ = ["Source", "context_sources"]

_DIRECTIVE = re.compile(r"#\s*(\w+)\s*=\s*(\S+)\s*$")
_HEREDOC = re.compile(r"(?:^|\s)<<(-?)[\"']?(\w+)[\"']?")


@dataclass(frozen=True)
class Source:
    line: int  # 1-based line of the instruction
    instruction: str  # "COPY" | "ADD"
    path: str  # as written in the Dockerfile


def _escape_char(lines: list[str]) -> str:
    """The escape character: ``\\`` unless a parser directive at the top says otherwise."""
    for line in lines:
        m = _DIRECTIVE.match(line.strip())
        if not m:
            break  # directives only count before the first comment, blank line or instruction
        if m.group(1).lower() == "escape" and m.group(2) in ("\\", "`"):
            return m.group(2)
    return "\\"


def _instructions(text: str) -> list[tuple[int, str]]:
    """(first line, whole instruction) with continuations joined, comment lines and heredoc bodies dropped."""
    lines = text.splitlines()
    escape = _escape_char(lines)
    out: list[tuple[int, str]] = []
    current, start = "", 0
    heredoc: list[tuple[bool, str]] = []  # (<<- strips tabs, terminator) still to meet, in order
    for number, raw in enumerate(lines, 1):
        stripped = raw.strip()
        if heredoc:
            if (raw.lstrip("\t") if heredoc[0][0] else raw) == heredoc[0][1]:
                heredoc.pop(0)
            continue
        if stripped.startswith("#") or (not stripped and not current):
            continue  # a comment (Docker drops them even inside a continuation) or a blank line
        if not current:
            start = number
        body = raw.rstrip()
        if body.endswith(escape):
            current += body[:-1] + " "
            continue
        out.append((start, current + body))
        heredoc = [(dash == "-", word) for dash, word in _HEREDOC.findall(current + body)]
        current = ""
    if current.strip():
        out.append((start, current))
    return out


def context_sources(text: str) -> list[Source]:
    """Every COPY/ADD source a build reads from its context, in Dockerfile order."""
    found: list[Source] = []
    for number, instruction in _instructions(text):
        word, _, rest = instruction.strip().partition(" ")
        word = word.upper()
        if word not in ("COPY", "ADD"):
            continue
        args = rest.strip()
        flags: list[str] = []
        while args.startswith("--"):
            flag, _, args = args.partition(" ")
            flags.append(flag)
            args = args.strip()
        if any(f.startswith("--from") for f in flags):
            continue
        if args.startswith("["):
            try:
                parts = json.loads(args)
            except ValueError:
                parts = args.split()  # not valid JSON: Docker then reads the shell form
            else:
                parts = [str(p) for p in parts] if isinstance(parts, list) else args.split()
        else:
            parts = args.split()
        for path in parts[:-1]:  # the last one is the destination
            if path.startswith("<<") or "$" in path or "://" in path or path.startswith("git@"):
                continue
            found.append(Source(number, word, path))
    return found
