"""Quarantine suggestions from the store: tests to quarantine, entries that can end.

* **add**: a test whose state is ``flaky`` by :mod:`rq_obs.analysis.flaky` (the definition
  ``rq-obs flaky`` uses, over the same window), not already under an active entry; the evidence
  is that analysis's flips, pass rate and last flake. Broken tests (never passing) are not
  suggested: a quarantine is for flakes, a broken test needs fixing or skipping.
* **remove**: an entry (active or expired) whose tests passed ``end_after`` runs in a row since the
  entry was added (a run counts as passed when every counted attempt of the entry's tests in it
  passed; runs where they did not run do not count either way).

Pure functions over :class:`~rq_obs.analysis.flaky.TestFlakiness` and attempt rows; the command
reads the store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from rq_obs.analysis.flaky import COUNTED, AttemptRow, TestFlakiness
from rq_obs.quarantine.listfile import Entry, covers

__all__ = ["Suggestion", "to_add", "to_end", "added_at", "reason_for"]


@dataclass(frozen=True)
class Suggestion:
    action: str  # "add" or "remove"
    nodeid: str
    suites: tuple[str, ...]
    evidence: dict = field(default_factory=dict)
    owner: str = ""

    def to_dict(self) -> dict:
        return {"action": self.action, "nodeid": self.nodeid, "suites": list(self.suites), "evidence": self.evidence,
                "owner": self.owner}


def reason_for(t: TestFlakiness) -> str:
    """The reason ``--apply`` writes: the evidence, so a reviewer sees why without running anything."""
    return (f"flaky: {t.flips} flips in {t.attempts} attempts, pass rate {t.pass_rate:.0%}, "
            f"{t.flaky_commits} commit(s) with a pass and a fail (rq-obs quarantine suggest)")


def to_add(tests: Iterable[TestFlakiness], active: Sequence[Entry], owner_of: Callable[[str], str]) -> list[Suggestion]:
    """One suggestion per flaky node id not covered by an active entry (suites merged), by node id."""
    by_id: dict[str, list[TestFlakiness]] = {}
    for t in tests:
        if t.state != "flaky" or any(covers(e.nodeid, t.test) for e in active):
            continue
        by_id.setdefault(t.test, []).append(t)
    out = []
    for nodeid, group in sorted(by_id.items()):
        worst = min(group, key=lambda t: (t.stability if t.stability is not None else 0.0, t.suite))
        evidence = {"flips": worst.flips, "attempts": worst.attempts, "pass_rate": worst.pass_rate,
                    "flip_rate": worst.flip_rate, "flaky_commits": worst.flaky_commits,
                    "last_flake": worst.last_flake, "stability": worst.stability, "reason": reason_for(worst)}
        out.append(Suggestion("add", nodeid, tuple(sorted(t.suite for t in group)), evidence, owner_of(nodeid)))
    return out


def added_at(entry: Entry) -> float | None:
    """When the entry was added (its ``added`` date, 00:00 UTC), None when it has none or it is unreadable."""
    try:
        day = dt.date.fromisoformat(entry.added[:10])
    except ValueError:
        return None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc).timestamp()


def to_end(entries: Sequence[Entry], rows: Iterable[AttemptRow], end_after: int, since_default: float) -> list[Suggestion]:
    """Entries whose tests passed ``end_after`` runs in a row since the entry was added (else since ``since_default``)."""
    rows = [r for r in rows if r.outcome in COUNTED]
    out = []
    for e in entries:
        since = added_at(e)
        since = since_default if since is None else since
        runs: dict[str, list] = {}  # run -> [started, sequence, all passed, suite]
        for r in rows:
            if r.started_at < since or not covers(e.nodeid, r.test):
                continue
            run = runs.setdefault(r.run_id, [r.started_at, r.sequence, True, r.suite])
            run[0] = min(run[0], r.started_at)
            run[2] = run[2] and r.outcome == "passed"
        ordered = sorted(runs.values(), key=lambda v: (v[0], v[1]))
        streak = 0
        for run in reversed(ordered):
            if not run[2]:
                break
            streak += 1
        if streak >= end_after:
            out.append(Suggestion("remove", e.nodeid, tuple(sorted({v[3] for v in ordered})),
                                  {"passing_runs": streak, "runs_since_added": len(ordered),
                                   "since": e.added or None, "owner": e.owner}, e.owner))
    return out
