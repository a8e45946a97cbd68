"""Constructed histories for the analytics tests: runs saved through the real store API."""

from __future__ import annotations

from typing import Iterable, Sequence

from rq_obs.store import Store
from rq_obs.store.records import ApiCall, Attempt, Run, TrackedFile
from rq_obs.store.runs import save_run

HOUR = 3600.0
DAY = 86400.0


def add_run(store: Store, run_id: str, at: float, results: Iterable[tuple], *, suite: str = "suite", commit: str = "",
            experiment: str = "none", tracked: Sequence[tuple[str, str]] = ()) -> None:
    """``results``: (test, outcome[, duration[, attempt[, variant[, cost, tokens[, model]]]]]) per attempt."""
    attempts = []
    for i, r in enumerate(results):
        test, outcome = r[0], r[1]
        duration = r[2] if len(r) > 2 else 1.0
        attempt = r[3] if len(r) > 3 else 1
        variant = r[4] if len(r) > 4 else "control"
        calls = ()
        if len(r) > 5:
            model = r[7] if len(r) > 7 else "gpt-4o"
            calls = (ApiCall("openai", model, cost_usd=r[5], input_tokens=r[6], started_at=at + i),)
        attempts.append(Attempt(test, outcome, duration, attempt=attempt, variant=variant, started_at=at + i,
                                api_calls=calls))
    save_run(store, Run(run_id, suite, at, finished_at=at + len(attempts) + 1, commit=commit, experiment=experiment,
                        tracked_files=tuple(TrackedFile(p, h) for p, h in tracked), attempts=tuple(attempts)))


def store_at(tmp_path) -> Store:
    return Store(tmp_path / "store.db")
