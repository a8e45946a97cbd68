"""Test deltas between two snapshots: pass rate, new / removed tests, tests that flaked in the head.

A test *flaked* in a snapshot when its recorded attempts include both a pass and a failure or
error: a flake (docs/ANALYTICS.md, "Words"), the snapshot's attempts being one release's commit.
That is not the *flaky* state of ``rq-obs flaky``, which needs the window's attempts in order
(a test that started failing and kept failing is broken, not flaky).
*Quarantined* tests are those whose failures in the head were absorbed by the quarantine (the
snapshot counts them under ``quarantined``): listed apart from real failures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from rq_obs.snapshot.model import TestSummary

__all__ = ["TestDiff", "diff_tests", "flaked_tests"]


def flaked_tests(tests: Mapping[str, Mapping[str, int]]) -> list[str]:
    return sorted(t for t, o in tests.items() if o.get("passed", 0) and (o.get("failed", 0) or o.get("error", 0)))


@dataclass(frozen=True)
class TestDiff:
    __test__ = False  # not a pytest test class

    base_pass_rate: float | None
    head_pass_rate: float | None
    new: tuple[str, ...]
    removed: tuple[str, ...]
    flaked: tuple[str, ...]
    newly_flaked: tuple[str, ...]
    quarantined: tuple[str, ...] = ()  # head tests whose failures the quarantine absorbed (not blocking)

    @property
    def pass_rate_delta(self) -> float | None:
        if self.base_pass_rate is None or self.head_pass_rate is None:
            return None
        return self.head_pass_rate - self.base_pass_rate

    def to_dict(self) -> dict[str, Any]:
        return {"base_pass_rate": self.base_pass_rate, "head_pass_rate": self.head_pass_rate,
                "pass_rate_delta": self.pass_rate_delta, "new": list(self.new), "removed": list(self.removed),
                "flaked": list(self.flaked), "newly_flaked": list(self.newly_flaked), "quarantined": list(self.quarantined)}


def diff_tests(base: TestSummary, head: TestSummary) -> TestDiff:
    bt, ht = set(base.tests), set(head.tests)
    # new/removed are only meaningful when both snapshots saw tests
    new = tuple(sorted(ht - bt)) if bt else ()
    removed = tuple(sorted(bt - ht)) if ht else ()
    fh, fb = flaked_tests(head.tests), set(flaked_tests(base.tests))
    quarantined = tuple(sorted(t for t, o in head.tests.items() if o.get("quarantined", 0)))
    return TestDiff(base.pass_rate, head.pass_rate, new, removed, tuple(fh), tuple(t for t in fh if t not in fb),
                    quarantined)
