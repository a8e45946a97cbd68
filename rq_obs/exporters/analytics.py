"""The analytics collector: flakiness, change impact, experiments and executive figures as gauges.

Computing them reads a window of raw attempts, which takes far longer than a scrape
may (the exporter's goal is ≤ 150 ms for 10,000 tests). So the collector publishes a
cached set of families and recomputes:

- synchronously on the first scrape (nothing to serve yet);
- in a background thread when the cache is stale — the store's fingerprint (last
  ingest, change events) changed and the cache is at least ``min_interval`` seconds old,
  or the cache is older than ``max_age`` seconds (windows slide, days roll over) —
  while the scrape that noticed it is served the previous result.

A failed recomputation is logged and the previous result kept (collectors never
raise during a scrape).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Iterable

from prometheus_client.metrics_core import Metric as PromMetric

from rq_obs.catalog import CAPS, OTHER, M
from rq_obs.config import Config
from rq_obs.exporters import routing
from rq_obs.exporters.base import Family, LabelGuard
from rq_obs.store.db import Store

__all__ = ["AnalyticsCollector", "build_families"]

log = logging.getLogger("rq_obs.exporters.analytics")


def build_families(snap, config: Config, guard: LabelGuard | None = None) -> list[PromMetric]:
    """Every ``exporter="analytics"`` catalogue family from a :class:`rq_obs.analytics.reports.Snapshot`.

    Values that are undefined (no samples, no variance) are left out rather than published as NaN.
    Every test gets its state and p95 duration (state counts and "slowest tests" need them
    all); pass rate, flip rate and stability of tests that passed every attempt in the window
    (1, 0, 100) and per-test change deltas of 0 are left out unless
    ``config.analytics_all_tests`` (at 10,000 tests they would be most of the scrape).
    Per-test series of tests folded by the cardinality cap are left out too (a pass rate of
    ``__other__`` would mean nothing); suite counts still include them.
    """
    fam = {m: Family(m, guard) for m in (
        M.TEST_PASS_RATE, M.TEST_FLIP_RATE, M.TEST_STABILITY, M.TEST_STATE, M.TEST_DURATION_P95, M.TEST_LAST_FLAKE,
        M.FLAKY_TESTS, M.BROKEN_TESTS, M.CHANGE_PASS_RATE, M.CHANGE_DELTA, M.CHANGE_P_VALUE, M.CHANGE_TEST_DELTA,
        M.EXPERIMENT_SAMPLES, M.EXPERIMENT_VALUE, M.EXPERIMENT_LIFT, M.EXPERIMENT_CI_LOWER, M.EXPERIMENT_CI_UPPER,
        M.EXPERIMENT_P_VALUE, M.EXPERIMENT_SRM_P_VALUE, M.EXPERIMENT_POWER, M.EXPERIMENT_MDE, M.EXPERIMENT_VERDICT,
        M.PASS_RATE_WOW_DELTA, M.COST_TODAY, M.COST_MONTH_PROJECTED, M.BUDGET_BURN, M.COST_ANOMALY,
        M.SLO_PASS_RATE, M.DAILY_BUDGET)}

    def put(metric, labels: dict, value) -> None:
        if value is not None:
            fam[metric].add(labels, float(value))

    # --- flakiness
    counts: dict[str, dict[str, int]] = {}
    for t in snap.tests:
        c = counts.setdefault(t.suite, {"flaky": 0, "broken": 0})
        if t.state in c:
            c[t.state] += 1
        if guard is not None and guard.value("test", t.test, t.suite) == OTHER:
            continue
        lab = {"suite": t.suite, "test": t.test}
        put(M.TEST_STATE, {**lab, "state": t.state}, 1)
        put(M.TEST_DURATION_P95, lab, t.duration_p95)
        if not config.analytics_all_tests and t.passed == t.attempts:
            continue  # always passed: pass rate 1, flip rate 0, stability 100 — left out unless asked for
        put(M.TEST_PASS_RATE, lab, t.pass_rate)
        put(M.TEST_FLIP_RATE, lab, t.flip_rate)
        put(M.TEST_STABILITY, lab, t.stability)
        put(M.TEST_LAST_FLAKE, lab, t.last_flake)
    for suite, c in sorted(counts.items()):
        put(M.FLAKY_TESTS, {"suite": suite}, c["flaky"])
        put(M.BROKEN_TESTS, {"suite": suite}, c["broken"])

    # --- change impact (last change per tracked file)
    for imp in snap.impacts:
        path = imp.change.path
        put(M.CHANGE_PASS_RATE, {"path": path, "period": "before"}, imp.before_rate)
        put(M.CHANGE_PASS_RATE, {"path": path, "period": "after"}, imp.after_rate)
        if imp.comparison is not None:
            put(M.CHANGE_DELTA, {"path": path}, imp.comparison.diff)
            put(M.CHANGE_P_VALUE, {"path": path}, imp.comparison.p_value)
        for t in imp.tests:
            if not config.analytics_all_tests and not t.delta:
                continue  # unchanged pass rate: left out unless asked for (10,000 zeros per file otherwise)
            if guard is not None and guard.value("test", t.test) == OTHER:
                continue
            put(M.CHANGE_TEST_DELTA, {"path": path, "test": t.test}, t.delta)

    # --- experiments (at most CAPS["experiment"]: statistics of different experiments cannot be folded into one
    # __other__ series, so the rest are left out and counted in rqobs_cardinality_capped_total{label="experiment"})
    experiments = list(snap.experiments)
    if len(experiments) > CAPS["experiment"]:
        if guard is not None:
            guard.capped["experiment"] += len(experiments) - CAPS["experiment"]
        experiments = experiments[: CAPS["experiment"]]
    for r in experiments:
        e = r.experiment
        if r.srm is not None:
            put(M.EXPERIMENT_SRM_P_VALUE, {"experiment": e}, r.srm.p_value)
        for v, arm in sorted(r.arms.items()):
            put(M.EXPERIMENT_SAMPLES, {"experiment": e, "variant": v}, arm.samples)
            for m in r.metrics:
                put(M.EXPERIMENT_VALUE, {"experiment": e, "variant": v, "metric": m}, arm.value(m))
        for v, verdict in sorted(r.verdicts.items()):
            put(M.EXPERIMENT_VERDICT, {"experiment": e, "variant": v, "verdict": verdict}, 1)
        for (v, m), c in sorted(r.comparisons.items()):
            lab = {"experiment": e, "variant": v, "metric": m}
            put(M.EXPERIMENT_LIFT, {**lab, "kind": "absolute"}, c.diff)
            put(M.EXPERIMENT_LIFT, {**lab, "kind": "relative"}, c.relative)
            if c.ci is not None:
                put(M.EXPERIMENT_CI_LOWER, lab, c.ci[0])
                put(M.EXPERIMENT_CI_UPPER, lab, c.ci[1])
            put(M.EXPERIMENT_P_VALUE, lab, c.p_value)
            put(M.EXPERIMENT_POWER, lab, c.power)
            put(M.EXPERIMENT_MDE, lab, c.mde)

    # --- executive
    x = snap.executive
    for suite, delta in sorted(x.wow.items()):
        put(M.PASS_RATE_WOW_DELTA, {"suite": suite}, delta)
    put(M.COST_TODAY, {}, x.cost_today)
    put(M.COST_MONTH_PROJECTED, {}, x.month_projected)
    put(M.BUDGET_BURN, {}, x.burn_ratio)
    for model, z in sorted(x.anomalies.items()):
        put(M.COST_ANOMALY, {"model": model}, z)
    put(M.SLO_PASS_RATE, {}, config.slo_pass_rate)
    put(M.DAILY_BUDGET, {}, config.daily_budget_usd)
    return [f.build() for f in fam.values()] + routing.families(snap.inputs, guard)


class AnalyticsCollector:
    """``AnalyticsCollector(store, config, guard)``: register on a CollectorRegistry; see the module doc."""

    name = "analytics"

    def __init__(self, store: Store, config: Config, guard: LabelGuard | None = None, *, min_interval: float = 30.0,
                 max_age: float = 300.0, background: bool = True, clock: Callable[[], float] = time.time):
        self.store = store
        self.config = config
        self.guard = guard
        self.min_interval = min_interval
        self.max_age = max_age
        self.background = background
        self.clock = clock
        self._lock = threading.Lock()
        self._families: list[PromMetric] | None = None
        self._computed_at = 0.0
        self._fingerprint: tuple | None = None
        self._worker: threading.Thread | None = None
        self.last_compute_seconds: float | None = None

    # -- computing ----------------------------------------------------------------
    def refresh(self) -> None:
        """Recompute now, in the calling thread."""
        from rq_obs.analytics import queries, reports

        started = time.perf_counter()
        fp = queries.fingerprint(self.store)
        now = self.clock()
        snap = reports.snapshot(self.store, self.config, now)
        families = build_families(snap, self.config, self.guard)
        with self._lock:
            self._families, self._computed_at, self._fingerprint = families, now, fp
        self.last_compute_seconds = time.perf_counter() - started

    def _refresh_logged(self) -> None:
        try:
            self.refresh()
        except Exception:  # noqa: BLE001 - a background failure must not kill the exporter
            log.exception("analytics recomputation failed; serving the previous result")

    def stale(self) -> bool:
        with self._lock:
            if self._families is None:
                return True
            age = self.clock() - self._computed_at
            fp = self._fingerprint
        if age >= self.max_age:
            return True
        if age < self.min_interval:
            return False
        from rq_obs.analytics import queries

        return queries.fingerprint(self.store) != fp

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a running background recomputation (tests and benchmarks)."""
        w = self._worker
        if w is not None:
            w.join(timeout)

    # -- the collector protocol ------------------------------------------------------
    def collect(self) -> Iterable[PromMetric]:
        if self._families is None:
            self.refresh()
        elif self.stale():
            if not self.background:
                self.refresh()
            else:
                with self._lock:
                    running = self._worker is not None and self._worker.is_alive()
                    if not running:
                        self._worker = threading.Thread(target=self._refresh_logged, name="rq-obs-analytics",
                                                        daemon=True)
                        self._worker.start()
        yield from self._families or []
