"""What the store says about quarantined attempts (the plugin flags them with the marker ``rq_obs_quarantined``)."""

from __future__ import annotations

from rq_obs.quarantine import MARKER

__all__ = ["quarantined_by_suite", "quarantined_failures"]

_FLAGGED = f"a.markers LIKE '%\"{MARKER}\"%'"


def quarantined_by_suite(store, since: float) -> dict[str, tuple[int, int]]:
    """suite -> (tests that ran quarantined, their failed or errored attempts) over runs started at ``since`` or
    later; every suite with a run there is present (0, 0 when nothing ran quarantined)."""
    out = {r[0]: (0, 0) for r in store.query("SELECT DISTINCT suite FROM runs WHERE started_at >= ?", (since,))}
    rows = store.query(
        "SELECT r.suite, COUNT(DISTINCT a.test), SUM(a.outcome IN ('failed', 'error')) FROM runs r "
        f"JOIN attempts a ON a.run_id = r.run_id WHERE r.started_at >= ? AND {_FLAGGED} GROUP BY r.suite", (since,))
    out.update({r[0]: (int(r[1]), int(r[2] or 0)) for r in rows})
    return out


def quarantined_failures(store, run_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    """run id -> [(test, outcome)] of its quarantined attempts that failed or errored, by test."""
    out: dict[str, list[tuple[str, str]]] = {}
    for run_id in run_ids:
        rows = store.query(f"SELECT a.test, a.outcome FROM attempts a WHERE a.run_id = ? AND {_FLAGGED} "
                           "AND a.outcome IN ('failed', 'error') ORDER BY a.test, a.attempt", (run_id,))
        out[run_id] = [(r[0], r[1]) for r in rows]
    return out
