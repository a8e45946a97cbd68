"""The nightly suite's runs: two weeks of CI history that reach the demo through ``rq-obs push``.

Nightly CI of the example project stores its runs locally (a "CI" store) and pushes them to
``rq-obs serve``, like a real pipeline. Its previous week (10, 9 and 8 days ago) had one
test failing; its last week (3 days, 1 day ago and today) passed — the executive
dashboard's week-over-week delta. Each earlier nightly run made one ``gpt-4o`` call (the
cost-anomaly score needs days of spend history per model); today's makes none, so the
demo's "cost today" is the example suite's alone.
"""

from __future__ import annotations

from pathlib import Path

from rq_obs.demo.script import NIGHTLY_SUITE
from rq_obs.store.db import Store
from rq_obs.store.records import ApiCall, Attempt, Run
from rq_obs.store.runs import save_run

__all__ = ["DAYS_AGO", "TESTS", "nightly_run", "write_history"]

DAY = 86400.0
#: When the nightly runs happened, in days before now; the last (0) is pushed once Prometheus watches.
DAYS_AGO = (10, 9, 8, 3, 1)
TESTS = ("test_catalogue_loads", "test_routes_every_skill", "test_latency_budget")


#: USD of the one API call of each nightly run before today's.
NIGHTLY_CALL_USD = 0.02


def nightly_run(started_at: float, previous_week: bool, api_call: bool = True) -> Run:
    attempts = []
    t = started_at
    for i, test in enumerate(TESTS):
        failed = previous_week and test == "test_routes_every_skill"
        calls = (ApiCall("openai", "gpt-4o", latency=0.8, input_tokens=4000, output_tokens=500,
                         cost_usd=NIGHTLY_CALL_USD, started_at=t),) if api_call and i == 0 else ()
        attempts.append(Attempt(test=f"nightly/test_nightly.py::{test}", outcome="failed" if failed else "passed",
                                duration=0.5 + 0.25 * i, started_at=t, api_calls=calls))
        t += 0.5 + 0.25 * i
    return Run(run_id=f"nightly-{int(started_at)}", suite=NIGHTLY_SUITE, started_at=started_at, finished_at=t,
               branch="main", source="push", host="ci", attempts=tuple(attempts))


def write_history(path: Path, now: float, days_ago: tuple[float, ...] = DAYS_AGO) -> int:
    """Save the nightly runs ``days_ago`` before ``now`` into the CI store at ``path``; returns how many."""
    store = Store(path, create=True)
    try:
        for d in days_ago:
            save_run(store, nightly_run(now - d * DAY, previous_week=d >= 7, api_call=d > 0))
    finally:
        store.close()
    return len(days_ago)
