"""The store collector: every ``exporter="store"`` catalogue metric, read from the store.

Counters and histograms come from the running ``totals`` (never from raw rows), so they
survive restarts and pruning. Gauges come from the runs, tracked files and change events.
Label values pass through the shared :class:`~rq_obs.exporters.base.LabelGuard`: a suite
with more tests than ``max_tests_per_suite`` publishes its first tests (sorted by id) and
folds the rest into ``__other__``; long values are truncated; both are counted.
"""

from __future__ import annotations

import json
from typing import Iterable

from prometheus_client.metrics_core import Metric as PromMetric

from rq_obs.catalog import M, Metric, iter_exporter
from rq_obs.exporters.base import Family, LabelGuard
from rq_obs.store.db import Store

__all__ = ["StoreCollector", "collector"]

_SHA_DIGITS = 12


def _sample_index() -> dict[str, tuple[Metric, str]]:
    """sample name in ``totals`` -> (catalogue metric, part) where part is value/bucket/sum/count."""
    index: dict[str, tuple[Metric, str]] = {}
    for m in iter_exporter("store"):
        if m.type == "counter":
            index[m.total] = (m, "value")
        elif m.type == "histogram":
            index[m.bucket] = (m, "bucket")
            index[m.sum] = (m, "sum")
            index[m.count] = (m, "count")
    return index


class StoreCollector:
    """Publishes the store's counters, histograms and gauges (one SQL pass per scrape)."""

    name = "store"

    def __init__(self, store: Store, guard: LabelGuard):
        self.store = store
        self.guard = guard
        self._index = _sample_index()
        self._parsed: dict[str, dict[str, str]] = {}  # labels JSON -> dict (totals' label sets rarely change)

    def _labels(self, text: str) -> dict[str, str]:
        d = self._parsed.get(text)
        if d is None:
            d = self._parsed[text] = json.loads(text)
        return d

    def _allow_tests(self, rows: list) -> None:
        """Feed the guard every test per suite in sorted order, so the tests kept under the cap are stable."""
        per_suite: dict[str, set[str]] = {}
        for series, text, _ in rows:
            if series == M.TEST_ATTEMPTS.total:
                d = self._labels(text)
                per_suite.setdefault(d.get("suite", ""), set()).add(d.get("test", ""))
        for suite, tests in per_suite.items():
            if len(tests) > self.guard.max_values:
                for t in sorted(tests)[: self.guard.max_values]:
                    self.guard.value("test", t, suite)

    def collect(self) -> Iterable[PromMetric]:
        fams = {m.name: Family(m, self.guard) for m in iter_exporter("store")}
        conn = self.store.connect()
        rows = conn.execute("SELECT metric, labels, value FROM totals").fetchall()
        self._allow_tests(rows)
        hist: dict[tuple[str, str], dict] = {}  # (metric name, labels without le as JSON) -> parts
        for series, text, value in rows:
            hit = self._index.get(series)
            if hit is None:
                continue  # another exporter's totals (e.g. ingest counters)
            metric, part = hit
            labels = self._labels(text)
            if part == "value":
                fams[metric.name].add(labels, value)
                continue
            le = labels.get("le")
            base = {k: v for k, v in labels.items() if k != "le"} if le is not None else labels
            acc = hist.setdefault((metric.name, json.dumps(base, sort_keys=True)), {"labels": base, "buckets": {},
                                                                                   "sum": 0.0})
            if part == "bucket":
                acc["buckets"][le] = acc["buckets"].get(le, 0.0) + value
            elif part == "sum":
                acc["sum"] += value
        for (name, _), acc in hist.items():
            fams[name].add_histogram(acc["labels"], acc["buckets"], acc["sum"])

        for suite, seq in conn.execute("SELECT suite, MAX(sequence) FROM runs GROUP BY suite"):
            fams[M.RUN_SEQUENCE.name].add({"suite": suite}, seq)
        for suite, finished, started in conn.execute(
            "SELECT suite, MAX(finished_at), started_at FROM runs "
            "WHERE status = 'complete' AND finished_at IS NOT NULL GROUP BY suite"
        ):
            fams[M.LAST_RUN_TIMESTAMP.name].add({"suite": suite}, finished)
            fams[M.RUN_DURATION.name].add({"suite": suite}, max(0.0, finished - started))
        for path, sha in conn.execute(
            "SELECT path, sha256 FROM (SELECT t.path, t.sha256, ROW_NUMBER() OVER "
            "(PARTITION BY t.path ORDER BY r.started_at DESC, r.sequence DESC) AS rn "
            "FROM tracked_files t JOIN runs r ON r.run_id = t.run_id) WHERE rn = 1"
        ):
            fams[M.TRACKED_FILE.name].add({"path": path, "sha256": sha[:_SHA_DIGITS]}, 1.0)
        for path, changed in conn.execute("SELECT path, MAX(changed_at) FROM file_changes GROUP BY path"):
            fams[M.TRACKED_FILE_LAST_CHANGE.name].add({"path": path}, changed)
        return [f.build() for f in fams.values()]


def collector(store: Store, config, guard: LabelGuard) -> StoreCollector:
    return StoreCollector(store, guard)

