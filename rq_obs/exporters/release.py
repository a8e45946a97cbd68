"""Release collector: publishes every ``exporter="release"`` catalogue metric from the stored snapshots.

The newest 50 snapshots are published (older releases drop out; the ``release`` label's cap).
Each release is compared with its baseline (the release recorded as its baseline when among
them, else the previous one) for regressions, dependency changes and environment drift.
Results are cached until the set of snapshots changes (a release added, removed or replaced:
the key holds each row's revision), so a scrape costs one small query.
A snapshot whose document cannot be read is logged and skipped.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Iterable

from prometheus_client.metrics_core import Metric as PromMetric

from rq_obs.catalog import OTHER, M, iter_exporter
from rq_obs.config import Config
from rq_obs.exporters.base import Family, LabelGuard
from rq_obs.snapshot.model import SEVERITIES, STATS, Snapshot
from rq_obs.store import Store

__all__ = ["ReleaseCollector", "MAX_RELEASES", "MAX_OPERATIONS", "MAX_LICENSES"]

log = logging.getLogger("rq_obs.exporters.release")

MAX_RELEASES = 50
MAX_OPERATIONS = 500
MAX_LICENSES = 50
_DIMENSIONS = ("code_quality", "test_coverage", "dependencies", "documentation", "performance")
_CHANGES = ("added", "removed", "major", "minor", "patch", "other")

Sample = tuple[str, dict, float]  # (metric name, labels, value)


class ReleaseCollector:
    name = "release"

    def __init__(self, store: Store, config: Config, guard: LabelGuard | None = None):
        self.store = store
        self.config = config
        self.guard = guard
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._samples: list[Sample] = []

    # -- data -----------------------------------------------------------------------
    def _load(self) -> tuple[tuple, list[Snapshot]]:
        from rq_obs.snapshot.model import snapshot_from_dict
        from rq_obs.snapshot.store import MIGRATIONS

        self.store.ensure("release", MIGRATIONS)
        rows = self.store.query("SELECT release, created_at, revision FROM release_snapshots "
                                "ORDER BY created_at DESC, release DESC LIMIT ?", (MAX_RELEASES,))
        # the revision changes when a push (or a re-snapshot) replaces a release's document
        key = tuple((r["release"], r["created_at"], r["revision"]) for r in rows)
        if key == self._key:
            return key, []
        snaps = []
        for r in self.store.query("SELECT release, document FROM release_snapshots ORDER BY created_at DESC, release DESC LIMIT ?",
                                  (MAX_RELEASES,)):
            try:
                snaps.append(snapshot_from_dict(json.loads(r["document"]), f"snapshot {r['release']!r}"))
            except Exception as exc:  # noqa: BLE001 - a bad document must not break the scrape
                log.warning("release collector: skipping snapshot %r: %s", r["release"], exc)
        return key, list(reversed(snaps))

    def _compute(self, snaps: list[Snapshot]) -> list[Sample]:
        from rq_obs.snapshot.history import views

        out: list[Sample] = []
        add = lambda m, labels, v: out.append((m.name, labels, float(v)))  # noqa: E731
        for v in views(snaps, self.config):
            s = v.snap
            rel = s.release
            add(M.RELEASE, {"release": rel, "commit": s.commit[:12]}, 1)
            add(M.RELEASE_TIMESTAMP, {"release": rel}, s.created_at)
            score = s.score or {}
            if score.get("total") is not None:
                add(M.QUALITY_SCORE, {"release": rel}, score["total"])
            dims = score.get("dimensions", {})
            for d in _DIMENSIONS:
                if dims.get(d) is not None:
                    add(M.QUALITY_DIMENSION, {"release": rel, "dimension": d}, dims[d])
                add(M.QUALITY_DIMENSION_MISSING, {"release": rel, "dimension": d}, 1 if dims.get(d) is None else 0)
            if s.tests.pass_rate is not None:
                add(M.RELEASE_PASS_RATE, {"release": rel}, s.tests.pass_rate)
            if s.quality.coverage is not None:
                add(M.RELEASE_COVERAGE, {"release": rel}, s.quality.coverage)
            for b in s.benchmarks[:MAX_OPERATIONS]:
                for stat in STATS:
                    x = b.stat(stat)
                    if x is not None:
                        add(M.BENCHMARK_SECONDS, {"release": rel, "operation": b.name, "stat": stat}, x)
                if b.peak_memory_bytes is not None:
                    add(M.BENCHMARK_MEMORY, {"release": rel, "operation": b.name}, b.peak_memory_bytes)
            if v.perf is not None and v.perf.ops:
                for sev, n in v.perf.by_severity().items():
                    add(M.REGRESSIONS, {"release": rel, "severity": sev}, n)
                for o in v.perf.regressions[:MAX_OPERATIONS]:
                    add(M.REGRESSION_RATIO, {"release": rel, "operation": o.operation, "severity": o.severity}, o.change)
            direct = sum(1 for d in s.dependencies if d.kind == "direct")
            add(M.DEPENDENCIES, {"release": rel, "kind": "direct"}, direct)
            add(M.DEPENDENCIES, {"release": rel, "kind": "transitive"}, len(s.dependencies) - direct)
            if v.base is not None:
                for ch in _CHANGES:
                    add(M.DEPENDENCY_CHANGES, {"release": rel, "change": ch}, v.dep_changes.get(ch, 0))
                add(M.ENV_DRIFT, {"release": rel}, v.env_drift or 0)
            if s.quality.vulnerability_scan:
                counts = {sev: 0 for sev in SEVERITIES}
                for vu in s.vulnerabilities:
                    counts[vu.severity] += 1
                for sev, n in counts.items():
                    add(M.VULNERABILITIES, {"release": rel, "severity": sev}, n)
            lic: dict[str, int] = {}
            for d in s.dependencies:
                lic[d.license] = lic.get(d.license, 0) + 1
            ranked = sorted(lic.items(), key=lambda kv: (-kv[1], kv[0]))
            folded = dict(ranked[:MAX_LICENSES])
            if len(ranked) > MAX_LICENSES:
                folded[OTHER] = folded.get(OTHER, 0) + sum(n for _, n in ranked[MAX_LICENSES:])
            for name, n in folded.items():
                add(M.LICENSES, {"release": rel, "license": name}, n)
            env = s.environment
            cpu, py, osd = env.get("cpu", {}), env.get("python", {}), env.get("os", {})
            add(M.ENVIRONMENT, {"release": rel, "os": osd.get("system", ""), "kernel": osd.get("kernel", ""),
                                "python_implementation": py.get("implementation", ""), "python_version": py.get("version", ""),
                                "cpu_model": cpu.get("model", ""), "container": env.get("container", "none")}, 1)
            for kind, key in (("physical", "cores_physical"), ("logical", "cores_logical")):
                if cpu.get(key) is not None:
                    add(M.ENV_CPU_CORES, {"release": rel, "kind": kind}, cpu[key])
            if env.get("memory", {}).get("total_bytes") is not None:
                add(M.ENV_MEMORY, {"release": rel}, env["memory"]["total_bytes"])
        return out

    # -- scrape ---------------------------------------------------------------------
    def collect(self) -> Iterable[PromMetric]:
        with self._lock:
            key, snaps = self._load()
            if key != self._key:
                self._samples = self._compute(snaps)
                self._key = key
            samples = self._samples
        fams = {m.name: Family(m, self.guard) for m in iter_exporter("release")}
        for name, labels, value in samples:
            fams[name].add(labels, value)
        for m in iter_exporter("release"):
            yield fams[m.name].build()
