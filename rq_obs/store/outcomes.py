"""What pytest reported about a run, beside its attempts: exit code, summary counts, per-attempt categories.

A component of its own (:meth:`Store.ensure` ``"outcomes"``), so its columns migrate apart
from the core tables:

* ``runs.exit_code``: pytest's exit status (0 passed, 1 tests failed, 2 interrupted or collection
  errors, 3 internal error, 4 usage error, 5 no tests), NULL for runs not recorded by the plugin;
* ``runs.summary``: the counts of pytest's terminal summary line as JSON (``{"passed": 3,
  "error": 1}``; see :mod:`rq_obs.telemetry.summary`), NULL when unknown (imported runs);
* ``attempts.summary``: the categories the attempt added to that line, space-separated
  (``"passed error"`` for a pass with a teardown error, ``"rerun"``), empty when unknown.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Mapping

__all__ = ["OUTCOMES_MIGRATIONS", "set_outcome", "summary_columns"]

OUTCOMES_MIGRATIONS: tuple[str, ...] = (
    """
    ALTER TABLE runs ADD COLUMN exit_code INTEGER;
    ALTER TABLE runs ADD COLUMN summary TEXT;
    ALTER TABLE attempts ADD COLUMN summary TEXT NOT NULL DEFAULT ''
    """,
)


def set_outcome(conn: sqlite3.Connection, run_id: str, exit_code: int | None, counts: Mapping[str, int] | None) -> None:
    """Store a run's exit code and summary counts (inside the caller's transaction)."""
    conn.execute("UPDATE runs SET exit_code = ?, summary = ? WHERE run_id = ?",
                 (exit_code, None if counts is None else json.dumps(dict(counts), sort_keys=True), run_id))


def summary_columns(conn: sqlite3.Connection) -> bool:
    """Whether the store has these columns (a store opened read-only may predate them)."""
    return any(r[1] == "summary" for r in conn.execute("PRAGMA table_info(runs)"))
