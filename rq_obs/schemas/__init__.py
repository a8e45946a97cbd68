"""JSON Schemas of the commands' ``--format json`` output, one file per command (``<command>.schema.json``,
the command's words joined by ``-``: ``config-show``). Tests validate each command's real output against
its schema; the documentation site publishes them."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

__all__ = ["SCHEMAS", "load", "DIR"]

DIR = Path(__file__).parent

#: command (words joined by "-") -> schema file name
SCHEMAS = {p.name[: -len(".schema.json")]: p.name for p in sorted(DIR.glob("*.schema.json"))}


@lru_cache(maxsize=None)
def load(command: str) -> dict:
    return json.loads((DIR / SCHEMAS[command]).read_text(encoding="utf-8"))
