"""Per-operation performance deltas between two snapshots, each with the regression rule's verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rq_obs.analysis.regression import OpChange, compare_benchmarks
from rq_obs.snapshot.model import Snapshot

__all__ = ["PerfDiff", "compare_performance", "busy_note"]


@dataclass(frozen=True)
class PerfDiff:
    ops: tuple[OpChange, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    threshold: float
    alpha: float

    def with_status(self, status: str) -> list[OpChange]:
        return [o for o in self.ops if o.status == status]

    @property
    def regressions(self) -> list[OpChange]:
        return self.with_status("regression")

    def by_severity(self) -> dict[str, int]:
        out = {"minor": 0, "major": 0, "critical": 0}
        for o in self.regressions:
            out[o.severity] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "alpha": self.alpha, "operations": [o.to_dict() for o in self.ops],
                "added": list(self.added), "removed": list(self.removed), "regressions_by_severity": self.by_severity()}


def compare_performance(base: Snapshot, head: Snapshot, threshold: float, alpha: float) -> PerfDiff:
    b = {x.name: x for x in base.benchmarks}
    h = {x.name: x for x in head.benchmarks}
    ops = tuple(compare_benchmarks(b[n], h[n], threshold, alpha) for n in sorted(set(b) & set(h)))
    return PerfDiff(ops, tuple(sorted(set(h) - set(b))), tuple(sorted(set(b) - set(h))), threshold, alpha)


def busy_note(base: Snapshot, head: Snapshot, perf: PerfDiff) -> str | None:
    """A review note when a performance change may be the machine: benchmarks the built-in runner timed
    while the machine was busy (load per CPU at snapshot time >= BUSY_LOAD)."""
    from rq_obs.snapshot.environment import BUSY_LOAD

    changed = [o for o in perf.ops if o.status in ("regression", "improvement", "unverified")]
    if not changed:
        return None
    busy = []
    for label, snap in (("base", base), ("head", head)):
        load = (snap.environment.get("load") or {}).get("per_cpu_1m")
        if any(b.source == "runner" for b in snap.benchmarks) and isinstance(load, (int, float)) and load >= BUSY_LOAD:
            busy.append(f"{label} {snap.release} at load {load:g} per CPU")
    if not busy:
        return None
    return (f"{len(changed)} performance changes, but benchmarks were timed on a busy machine ({', '.join(busy)}): "
            f"rerun the snapshot on an idle machine before trusting them")
