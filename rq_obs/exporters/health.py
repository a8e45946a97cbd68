"""The service's own health (``exporter="self"``): build, ingest, store and scrape figures.

Ingest counters live in the store's ``totals`` (a stored or duplicate push counts in the
transaction that saves it, through :func:`ingest_count`; a rejected one with
:func:`record_ingest`), so a restart never resets them. Scrape durations, scrape
errors and cardinality caps are per process: :class:`ScrapeStats` holds them.
"""

from __future__ import annotations

import threading
from typing import Iterable

from prometheus_client.metrics_core import Metric as PromMetric

from rq_obs import __version__
from rq_obs.catalog import M
from rq_obs.exporters.base import Family, LabelGuard
from rq_obs.store.db import Store
from rq_obs.snapshot.store import DUPLICATE
from rq_obs.store.totals import Totals, read_totals

__all__ = ["ScrapeStats", "HealthCollector", "record_ingest", "ingest_count", "snapshot_count", "INGEST_RESULTS"]

INGEST_RESULTS = ("stored", "duplicate", "rejected")


class ScrapeStats:
    """Per-process scrape figures, shared by the scrape wrapper and :class:`HealthCollector`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.durations: dict[str, float] = {}
        self.errors: dict[str, int] = {}

    def timed(self, collector: str, seconds: float) -> None:
        with self._lock:
            self.durations[collector] = seconds

    def failed(self, collector: str) -> None:
        with self._lock:
            self.errors[collector] = self.errors.get(collector, 0) + 1

    def snapshot(self) -> tuple[dict[str, float], dict[str, int]]:
        with self._lock:
            return dict(self.durations), dict(self.errors)


def ingest_count(attempts: int):
    """A ``count`` for :func:`rq_obs.store.runs.save_run`: one pushed run, stored (with its attempts) or duplicate."""
    def count(totals: Totals, stored: bool) -> None:
        totals.add(M.INGEST_RUNS.total, {"result": "stored" if stored else "duplicate"})
        if stored and attempts:
            totals.add(M.INGEST_ATTEMPTS.total, {}, attempts)
    return count


def snapshot_count(totals: Totals, outcome: str) -> None:
    """The ``count`` of :func:`rq_obs.snapshot.store.put_snapshot`: one pushed snapshot, stored (new or replacing
    its release's) or duplicate, committed with it."""
    totals.add(M.INGEST_SNAPSHOTS.total, {"result": "duplicate" if outcome == DUPLICATE else "stored"})


def record_ingest(store: Store, result: str, attempts: int = 0, metric=M.INGEST_RUNS) -> None:
    """Count one pushed run (stored, duplicate or rejected) in the store's running totals
    (``metric=M.INGEST_SNAPSHOTS``: one pushed snapshot).

    Committed without its own fsync (``synchronous=NORMAL`` in WAL mode survives a
    process crash, and the next run saved fsyncs the log): a health counter does not
    need to cost a second disk flush per push. The run itself is saved with FULL.
    """
    totals = Totals(store.label_keys)
    totals.add(metric.total, {"result": result})
    if attempts:
        totals.add(M.INGEST_ATTEMPTS.total, {}, attempts)
    conn = store.connect()
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        with store.transaction() as tx:
            totals.flush(tx)
    finally:
        conn.execute("PRAGMA synchronous=FULL")


class HealthCollector:
    name = "self"

    def __init__(self, store: Store, guard: LabelGuard, stats: ScrapeStats, collectors: Iterable[str] = ()):
        self.store = store
        self.guard = guard
        self.stats = stats
        self.collectors = tuple(collectors)

    def collect(self) -> Iterable[PromMetric]:
        f = {m.name: Family(m) for m in (M.BUILD_INFO, M.INGEST_RUNS, M.INGEST_SNAPSHOTS, M.INGEST_ATTEMPTS, M.INGEST_LAST, M.STORE_SIZE,
                                         M.STORE_ROWS, M.SCRAPE_DURATION, M.SCRAPE_ERRORS, M.CARDINALITY_CAPPED)}
        f[M.BUILD_INFO.name].add({"version": __version__}, 1)
        for metric in (M.INGEST_RUNS, M.INGEST_SNAPSHOTS):
            for result in INGEST_RESULTS:
                f[metric.name].add({"result": result}, 0.0)
            for _, labels, value in read_totals(self.store, metric.total):
                f[metric.name].add(labels, value)
        f[M.INGEST_ATTEMPTS.name].add({}, sum(v for _, _, v in read_totals(self.store, M.INGEST_ATTEMPTS.total)))
        conn = self.store.connect()
        row = conn.execute("SELECT value FROM meta WHERE key = 'last_ingest'").fetchone()
        if row is not None:
            f[M.INGEST_LAST.name].add({}, float(row[0]))
        f[M.STORE_SIZE.name].add({}, self.store.size_bytes())
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        for table in tables:
            n = conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
            f[M.STORE_ROWS.name].add({"table": table}, n)
        durations, errors = self.stats.snapshot()
        for name in self.collectors:
            if name in durations:
                f[M.SCRAPE_DURATION.name].add({"collector": name}, durations[name])
            f[M.SCRAPE_ERRORS.name].add({"collector": name}, errors.get(name, 0))
        from rq_obs.store.cardinality import gate_for

        capped = dict(self.guard.capped)  # folded at scrape time (per suite, length) and at ingest (global caps)
        for label, n in gate_for(self.store).capped.items():
            capped[label] = capped.get(label, 0) + n
        for label, n in sorted(capped.items()):
            f[M.CARDINALITY_CAPPED.name].add({"label": label}, n)
        return [fam.build() for fam in f.values()]

