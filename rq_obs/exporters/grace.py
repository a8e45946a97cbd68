"""What serve says, once, about the new-series grace (see :mod:`rq_obs.exporters.store`).

A counter series first written less than ``new_series_grace`` ago reads 0 on /metrics until the grace
has passed, so Prometheus scrapes a 0 before the value and ``increase()`` counts it. A user who
records a run and curls /metrics a minute later sees zeros and thinks it broken: :func:`notice`
gives the one line that says when the totals show and why.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from rq_obs.store import Store

__all__ = ["young_series", "notice"]


def young_series(store: Store, grace: float, now: float) -> tuple[int, float | None]:
    """(series still inside the grace, when the last of them leaves it) after folding pending attempts."""
    from rq_obs.store.totals import fold

    fold(store)
    row = store.query("SELECT COUNT(*), MAX(created_at) FROM totals WHERE created_at > ?", (now - grace,))[0]
    return int(row[0]), (row[1] + grace if row[1] is not None else None)


def notice(store: Store, grace: float, grace_text: str, now: float | None = None) -> str | None:
    """One line when some series are still new, else None."""
    now = time.time() if now is None else now
    n, until = young_series(store, grace, now)
    if not n or until is None:
        return None
    at = datetime.fromtimestamp(until, timezone.utc).strftime("%H:%M:%S UTC")
    return (f"{n} counter series were first recorded less than new_series_grace ({grace_text}) ago: /metrics shows "
            f"them as 0 until {at} (in {until - now:.0f} s), then their stored totals. Prometheus must scrape a 0 "
            f"before a counter's first value for increase() and rate() to count it.")
