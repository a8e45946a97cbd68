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
from typing import Mapping, NamedTuple, Sequence

from rq_obs.analysis.stats import Comparison, two_proportions

__all__ = ["ChangeEvent", "TestImpact", "Impact", "bounds", "analyse_change"]


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


def analyse_change(change: ChangeEvent, window: tuple[float, float, float], tallies: Mapping[str, Sequence[int]],
                   alpha: float) -> Impact:
    """``tallies``: test -> (passed before, counted before, passed after, counted after) of first attempts
    in [window[0], window[1]) and [window[1], window[2])."""
    bp = sum(t[0] for t in tallies.values())
    bc = sum(t[1] for t in tallies.values())
    ap = sum(t[2] for t in tallies.values())
    ac = sum(t[3] for t in tallies.values())
    comp = two_proportions(bp, bc, ap, ac, alpha)
    tests = []
    for name in sorted(tallies):
        b0, b1, a0, a1 = tallies[name]
        if b1 and a1:
            tests.append(TestImpact(name, (b0, b1), (a0, a1), two_proportions(b0, b1, a0, a1, alpha)))
    significant = bool(comp and comp.p_value is not None and comp.p_value < alpha)
    return Impact(change, window, (bp, bc), (ap, ac), comp, tuple(tests), significant)
