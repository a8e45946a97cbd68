"""Durations as Prometheus writes them (``30s``, ``5m``, ``24h``, ``7d``, ``1w``, ``1y``): one parser for all.

The config check, every ``--window``/``--step``/``--since`` flag and the Tempo retention use
this module, so a value accepted in one place is accepted everywhere.
"""

from __future__ import annotations

import re

from rq_obs.errors import UsageError

__all__ = ["PATTERN", "UNIT_SECONDS", "problem", "seconds"]

PATTERN = re.compile(r"^(\d+)(ms|s|m|h|d|w|y)$")
UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
EXPECTED = "a positive Prometheus duration such as 30s, 5m, 24h, 7d, 1w, 1y"


def problem(text: str) -> str | None:
    """None when ``text`` is a positive duration, else what was expected."""
    m = PATTERN.match(text.strip()) if isinstance(text, str) else None
    return None if m and int(m.group(1)) > 0 else EXPECTED


def seconds(text: str, what: str) -> float:
    """``7d`` -> 604800.0; a UsageError naming ``what`` (a flag or setting) otherwise."""
    if problem(text):
        raise UsageError(f"{what}: {text!r} is not a duration; expected {EXPECTED}")
    m = PATTERN.match(text.strip())
    return int(m.group(1)) * UNIT_SECONDS[m.group(2)]
