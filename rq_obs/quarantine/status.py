"""The state of an entry at a time: active, expiring (within a week), expired."""

from __future__ import annotations

from rq_obs.quarantine.listfile import Entry

__all__ = ["EXPIRING_SECONDS", "entry_state"]

#: An entry that ends within this long is "expiring" (the dashboard's and `list`'s week).
EXPIRING_SECONDS = 7 * 86400


def entry_state(entry: Entry, now: float) -> str:
    left = entry.expires.timestamp() - now
    if left <= 0:
        return "expired"
    return "expiring" if left <= EXPIRING_SECONDS else "active"
