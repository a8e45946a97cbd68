"""Owners of a test from the repository's CODEOWNERS (GitHub / GitLab syntax: the last matching line wins).

Patterns follow gitignore rules, which is what GitHub documents for CODEOWNERS; they are matched
with ``pathspec`` (the maintained implementation of gitignore matching pip, black and others use)
rather than a hand-written translation. GitLab's ``[Section]`` headers are skipped; a line with a
pattern and no owner clears ownership (GitHub's rule), so it yields no owner.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["LOCATIONS", "find", "parse", "owners_for"]

#: Where GitHub and GitLab look, in their order.
LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")


def find(root: str | os.PathLike) -> Path | None:
    for rel in LOCATIONS:
        p = Path(root) / rel
        if p.is_file():
            return p
    return None


def parse(text: str) -> list[tuple[object, tuple[str, ...]]]:
    """[(compiled pattern, owners)] in file order."""
    import pathspec

    rules = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#") or (line.startswith("[") or line.startswith("^[")):
            continue
        parts = line.split()
        rules.append((pathspec.PathSpec.from_lines("gitignore", [parts[0]]), tuple(parts[1:])))
    return rules


def owners_for(rules: list[tuple[object, tuple[str, ...]]], path: str) -> str:
    """Space-separated owners of ``path`` (relative to the repository root), '' when none."""
    owners: tuple[str, ...] = ()
    for spec, who in rules:
        if spec.match_file(path):
            owners = who
    return " ".join(owners)
