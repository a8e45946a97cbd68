"""Tracked-file change impact: pass rate before vs after a change of SKILL.md, a prompt, any tracked glob.

Definitions (docs/ANALYTICS.md): for a change of ``path`` at time T, *before* is the
first attempts (attempt = 1) of runs started in [max(T − window, previous change of the
path), T) and *after* those of runs started in [T, min(T + window, next change of the
path)). Runs are those of the suite whose run recorded the change (all suites when the
change came from git polling). Pass rate = passed / (passed + failed + error); the
difference is tested with a two-proportion z-test, for the file and for every test
seen on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, NamedTuple, Sequence

from rq_obs.analysis.stats import Comparison, two_proportions

__all__ = ["ChangeEvent", "Outcome", "TestImpact", "Impact", "bounds", "analyse_change"]


class ChangeEvent(NamedTuple):
    id: int
    path: str
    old_sha256: str
    new_sha256: str
    commit: str
    author: str
    lines_added: int | None
    lines_removed: int | None
    changed_at: float
    run_id: str
    suite: str  # '' when the change is not tied to a run (git polling)


class Outcome(NamedTuple):
    test: str
    outcome: str
    started_at: float


@dataclass(frozen=True)
class TestImpact:
    test: str
    before: tuple[int, int]  # (passed, counted)
    after: tuple[int, int]
    comparison: Comparison | None

    @property
    def delta(self) -> float | None:
        return self.comparison.diff if self.comparison else None


@dataclass(frozen=True)
class Impact:
    change: ChangeEvent
    window: tuple[float, float, float]  # before-start, T, after-end
    before: tuple[int, int]
    after: tuple[int, int]
    comparison: Comparison | None
    tests: tuple[TestImpact, ...]
    significant: bool

    @staticmethod
    def _rate(pc: tuple[int, int]) -> float | None:
        return pc[0] / pc[1] if pc[1] else None

    @property
    def before_rate(self) -> float | None:
        return self._rate(self.before)

    @property
    def after_rate(self) -> float | None:
        return self._rate(self.after)

    def to_dict(self) -> dict:
        c = self.change
        comp = self.comparison
        return {
            "path": c.path, "commit": c.commit, "author": c.author, "old_sha256": c.old_sha256,
            "new_sha256": c.new_sha256, "lines_added": c.lines_added, "lines_removed": c.lines_removed,
            "changed_at": c.changed_at, "run_id": c.run_id, "suite": c.suite,
            "window": {"before_from": self.window[0], "change": self.window[1], "after_to": self.window[2]},
            "before": {"passed": self.before[0], "counted": self.before[1], "pass_rate": self.before_rate},
            "after": {"passed": self.after[0], "counted": self.after[1], "pass_rate": self.after_rate},
            "delta": comp.diff if comp else None, "ci95": list(comp.ci) if comp and comp.ci else None,
            "p_value": comp.p_value if comp else None, "significant": self.significant,
            "tests": [{"test": t.test, "before": {"passed": t.before[0], "counted": t.before[1]},
                       "after": {"passed": t.after[0], "counted": t.after[1]}, "delta": t.delta,
                       "p_value": t.comparison.p_value if t.comparison else None} for t in self.tests],
        }


def bounds(changed_at: float, window: float, previous_at: float | None, next_at: float | None) -> tuple[float, float, float]:
    """(before-start, change time, after-end) of a change's comparison windows."""
    start = changed_at - window if previous_at is None else max(changed_at - window, previous_at)
    end = changed_at + window if next_at is None else min(changed_at + window, next_at)
    return start, changed_at, end


def _tally(rows: Iterable[Outcome]) -> tuple[tuple[int, int], dict[str, list[int]]]:
    total = [0, 0]
    per: dict[str, list[int]] = {}
    for r in rows:
        if r.outcome not in ("passed", "failed", "error"):
            continue
        ok = 1 if r.outcome == "passed" else 0
        total[0] += ok
        total[1] += 1
        t = per.setdefault(r.test, [0, 0])
        t[0] += ok
        t[1] += 1
    return (total[0], total[1]), per


def analyse_change(change: ChangeEvent, window: tuple[float, float, float], rows: Sequence[Outcome],
                   alpha: float) -> Impact:
    """Compare first attempts in [window[0], window[1]) with those in [window[1], window[2])."""
    start, t0, end = window
    before_rows = [r for r in rows if start <= r.started_at < t0]
    after_rows = [r for r in rows if t0 <= r.started_at < end]
    before, bt = _tally(before_rows)
    after, at = _tally(after_rows)
    comp = two_proportions(before[0], before[1], after[0], after[1], alpha)
    tests = []
    for name in sorted(set(bt) & set(at)):
        b, a = bt[name], at[name]
        tests.append(TestImpact(name, (b[0], b[1]), (a[0], a[1]), two_proportions(b[0], b[1], a[0], a[1], alpha)))
    significant = bool(comp and comp.p_value is not None and comp.p_value < alpha)
    return Impact(change, window, before, after, comp, tuple(tests), significant)
