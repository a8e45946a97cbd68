"""Per-release figures over a run of snapshots (for trends, export and the release exporter).

Each snapshot is compared with its baseline: the release recorded as its baseline when it is
among the given snapshots, else the snapshot before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from rq_obs.compare.deps import diff_dependencies
from rq_obs.compare.env import diff_environment
from rq_obs.compare.perf import PerfDiff, compare_performance
from rq_obs.config import Config
from rq_obs.snapshot.model import Snapshot

__all__ = ["ReleaseView", "views", "rows", "METRICS", "value_of"]


@dataclass(frozen=True)
class ReleaseView:
    snap: Snapshot
    base: Snapshot | None
    perf: PerfDiff | None
    dep_changes: dict[str, int]
    env_drift: int | None


def views(snaps: Sequence[Snapshot], config: Config) -> list[ReleaseView]:
    by_name = {s.release: s for s in snaps}
    out = []
    for i, s in enumerate(snaps):
        base = by_name.get(s.baseline) if s.baseline and s.baseline != s.release else None
        if base is None and i > 0:
            base = snaps[i - 1]
        if base is None:
            out.append(ReleaseView(s, None, None, {}, None))
            continue
        perf = compare_performance(base, s, config.regression_threshold, config.regression_alpha)
        deps = diff_dependencies(base.dependencies, s.dependencies, base.vulnerabilities, s.vulnerabilities)
        env = diff_environment(base.environment, s.environment)
        out.append(ReleaseView(s, base, perf, dict(deps.counts), len(env.changes)))
    return out


#: Metrics available to trends and export: name -> (description, higher is better).
METRICS = {
    "quality_score": ("quality score 0-100", True),
    "pass_rate": ("pass rate 0-1", True),
    "coverage": ("line coverage 0-1", True),
    "dependencies": ("dependencies (all)", False),
    "vulnerabilities": ("known vulnerabilities", False),
    "regressions": ("performance regressions vs baseline", False),
}


def value_of(v: ReleaseView, metric: str) -> float | None:
    s = v.snap
    if metric == "quality_score":
        return s.score.get("total")
    if metric == "pass_rate":
        return s.tests.pass_rate
    if metric == "coverage":
        return s.quality.coverage
    if metric == "dependencies":
        return float(len(s.dependencies))
    if metric == "vulnerabilities":
        return float(len(s.vulnerabilities)) if s.quality.vulnerability_scan else None
    if metric == "regressions":
        return float(len(v.perf.regressions)) if v.perf and v.perf.ops else None
    if metric.startswith("benchmark:"):
        b = s.benchmark(metric.split(":", 1)[1])
        return b.mean if b else None
    raise KeyError(metric)


def rows(vs: Sequence[ReleaseView]) -> list[dict[str, Any]]:
    """One flat row per release (columns stable, None for missing values)."""
    out = []
    for v in vs:
        s = v.snap
        dims = s.score.get("dimensions", {})
        sev = v.perf.by_severity() if v.perf else {}
        row: dict[str, Any] = {
            "release": s.release, "commit": s.commit, "created_at": s.created_at, "baseline": v.base.release if v.base else "",
            "quality_score": s.score.get("total"),
            **{f"quality_{d}": dims.get(d) for d in ("code_quality", "test_coverage", "dependencies", "documentation", "performance")},
            "pass_rate": s.tests.pass_rate, "coverage": s.quality.coverage,
            "dependencies_direct": sum(1 for d in s.dependencies if d.kind == "direct"),
            "dependencies_transitive": sum(1 for d in s.dependencies if d.kind == "transitive"),
            "vulnerabilities": len(s.vulnerabilities) if s.quality.vulnerability_scan else None,
            "benchmarks": len(s.benchmarks),
            "regressions_minor": sev.get("minor"), "regressions_major": sev.get("major"), "regressions_critical": sev.get("critical"),
            "dependency_changes": sum(v.dep_changes.values()) if v.dep_changes else None,
            "environment_drift": v.env_drift,
            "python_version": s.environment.get("python", {}).get("version"),
            "os": s.environment.get("os", {}).get("system"),
        }
        out.append(row)
    return out
