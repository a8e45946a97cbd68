"""Per-operation performance deltas between two snapshots, each with the regression rule's verdict.

Timing (``ops``) follows :mod:`rq_obs.analysis.regression`'s statistical rule; peak memory
(``memory``) its threshold rule, for operations whose peak memory is known on both sides.
:func:`performance_diff` applies the config's thresholds: every command that counts regressions
for a gate (``gate``, ``compare``) goes through it, so they count the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rq_obs.analysis.regression import MEMORY_FLOOR_BYTES, MemChange, OpChange, compare_benchmarks, compare_memory
from rq_obs.snapshot.model import Snapshot

__all__ = ["PerfDiff", "compare_performance", "performance_diff", "busy_note"]


@dataclass(frozen=True)
class PerfDiff:
    ops: tuple[OpChange, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    threshold: float
    alpha: float
    memory: tuple[MemChange, ...] = ()
    memory_threshold: float | None = None  # None: memory not compared

    def with_status(self, status: str) -> list[OpChange]:
        return [o for o in self.ops if o.status == status]

    @property
    def regressions(self) -> list[OpChange]:
        return self.with_status("regression")

    @property
    def memory_regressions(self) -> list[MemChange]:
        return [m for m in self.memory if m.status == "regression"]

    @property
    def regression_count(self) -> int:
        """Timing plus memory regressions: what ``max_regressions`` limits."""
        return len(self.regressions) + len(self.memory_regressions)

    @property
    def inconclusive(self) -> list[OpChange]:
        return self.with_status("inconclusive")

    def by_severity(self) -> dict[str, int]:
        """Timing regressions by severity (the quality score's performance dimension)."""
        return _count(self.regressions)

    def memory_by_severity(self) -> dict[str, int]:
        return _count(self.memory_regressions)

    def to_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "alpha": self.alpha, "operations": [o.to_dict() for o in self.ops],
                "added": list(self.added), "removed": list(self.removed), "regressions_by_severity": self.by_severity(),
                "memory": {"threshold": self.memory_threshold, "floor_bytes": MEMORY_FLOOR_BYTES,
                           "operations": [m.to_dict() for m in self.memory],
                           "regressions_by_severity": self.memory_by_severity()},
                "regression_count": self.regression_count}


def _count(changes) -> dict[str, int]:
    out = {"minor": 0, "major": 0, "critical": 0}
    for o in changes:
        out[o.severity] += 1
    return out


def compare_performance(base: Snapshot, head: Snapshot, threshold: float, alpha: float,
                        memory_threshold: float | None = None) -> PerfDiff:
    """Timing of every operation in both snapshots; peak memory too when ``memory_threshold`` is given."""
    b = {x.name: x for x in base.benchmarks}
    h = {x.name: x for x in head.benchmarks}
    common = sorted(set(b) & set(h))
    ops = tuple(compare_benchmarks(b[n], h[n], threshold, alpha) for n in common)
    memory: tuple[MemChange, ...] = ()
    if memory_threshold is not None:
        memory = tuple(compare_memory(n, b[n].peak_memory_bytes, h[n].peak_memory_bytes, memory_threshold)
                       for n in common if b[n].peak_memory_bytes is not None and h[n].peak_memory_bytes is not None)
    return PerfDiff(ops, tuple(sorted(set(h) - set(b))), tuple(sorted(set(b) - set(h))), threshold, alpha,
                    memory, memory_threshold)


def performance_diff(base: Snapshot, head: Snapshot, config) -> PerfDiff:
    """:func:`compare_performance` with the config's timing and memory thresholds."""
    return compare_performance(base, head, config.regression_threshold, config.regression_alpha,
                               config.memory_regression_threshold)


def busy_note(base: Snapshot, head: Snapshot, perf: PerfDiff) -> str | None:
    """A review note whenever the built-in runner timed benchmarks on a busy machine (load per CPU at snapshot
    time >= BUSY_LOAD) on either side: ``rq-obs snapshot`` warned that compare would say so, and it does, whatever
    the verdicts (noise can hide a change as well as fake one)."""
    from rq_obs.snapshot.environment import BUSY_LOAD

    changed = [o for o in perf.ops if o.status != "unchanged"]
    busy = []
    for label, snap in (("base", base), ("head", head)):
        load = (snap.environment.get("load") or {}).get("per_cpu_1m")
        if any(b.source == "runner" for b in snap.benchmarks) and isinstance(load, (int, float)) and load >= BUSY_LOAD:
            busy.append(f"{label} {snap.release} at load {load:g} per CPU")
    if not busy:
        return None
    what = (f"{len(changed)} of {len(perf.ops)} operations not unchanged" if perf.ops else "no operation in common")
    return (f"benchmarks were timed on a busy machine ({', '.join(busy)}; {what}): "
            f"rerun the snapshot on an idle machine before trusting the performance verdicts")
