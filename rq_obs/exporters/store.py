"""The store collector: every ``exporter="store"`` catalogue metric, read from the store.

Counters and histograms come from the running ``totals`` (never from raw rows), so they
survive restarts and pruning; each scrape first folds attempts not yet counted into them
(:func:`rq_obs.store.totals.fold`). Gauges come from the runs, tracked files and change events.
Label values pass through the shared :class:`~rq_obs.exporters.base.LabelGuard`: a suite
with more tests than ``max_tests_per_suite`` publishes its first tests (sorted by id) and
folds the rest into ``__other__``; long values are truncated; both are counted.

Two ways to read it, with identical output:

* :meth:`StoreCollector.collect` - prometheus_client families (the collector protocol);
* :meth:`StoreCollector.render` - the exposition text, fast. Counter series (the bulk: one
  per test x outcome x variant) are laid out once - which ``totals`` row feeds which
  series, each series' ``name{labels} `` prefix rendered once - and each scrape then reads
  only the values (``SELECT value FROM totals ORDER BY metric, labels``) and re-formats the
  lines whose value changed. The layout is rebuilt when the number of ``totals`` rows
  changes: rows are only ever added (running totals are never deleted, see
  :mod:`rq_obs.store.totals`), so an unchanged count means an unchanged set of series.

New series start at 0. A counter or histogram series first written (``totals.created_at``)
less than ``grace`` seconds ago (the ``new_series_grace`` setting) is shown with value 0
(a histogram: every bucket, its sum and count), and with its total once the grace has
passed. Prometheus 2.x does not ingest created timestamps, so without this a series that
appears with its first value already set (a new test's first failure, a new model's first
cost) is invisible to increase()/rate(): they need two samples, and the first one seen
would already include the increment. The price is that dashboards see a new series up to
``new_series_grace`` late; a series is never shown going backwards (older than the grace:
always its total; new: 0 until the grace passes). Series written before the column
existed (``created_at`` NULL) count as old. A series folded from several stored ones (the
cardinality cap) is as old as its oldest.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from operator import itemgetter
from typing import Iterable

from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric as PromMetric
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.utils import floatToGoString

from rq_obs import durations
from rq_obs.catalog import M, Metric, iter_exporter
from rq_obs.exporters.base import Family, LabelGuard
from rq_obs.store.db import Store
from rq_obs.store.totals import fold

log = logging.getLogger("rq_obs.exporters")

__all__ = ["StoreCollector", "collector"]

_SHA_DIGITS = 12
_EOF = "# EOF\n"


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


def _escape(value: str) -> str:
    """Label value escaping of both exposition formats (prometheus_client's, for UTF-8 values)."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


class _One:
    def __init__(self, families: list[PromMetric]):
        self.families = families

    def collect(self) -> list[PromMetric]:
        return self.families


def _encode(families: list[PromMetric], openmetrics: bool) -> str:
    if openmetrics:
        return generate_openmetrics(_One(families)).decode("utf-8")[: -len(_EOF)]
    return generate_latest(_One(families)).decode("utf-8")


class _Layout:
    """Where each ``totals`` row (in primary-key order) goes in the counter exposition."""

    def __init__(self, rows: int, slot_of_row: list[int], prefixes: list[str], spans: dict[str, tuple[int, int]],
                 capped: dict[str, int], young: list[tuple[int, float]]):
        self.rows = rows
        self.young = young  # (slot, created) of series still inside the grace when laid out; shrinks per scrape
        self.slot_of_row = slot_of_row
        self.prefixes = prefixes
        self.spans = spans  # counter metric name -> (first slot, end slot)
        self.capped = capped  # label -> values folded or truncated per scrape
        self.sums: list[float] | None = None
        self.lines: list[str] = [""] * len(prefixes)
        # when no two rows feed one series (nothing folded), each slot is one row: permute at C speed
        fed = [s for s in slot_of_row if s >= 0]
        self.gather = None
        if len(fed) == len(prefixes) and len(set(fed)) == len(fed):
            row_of_slot = [0] * len(prefixes)
            for row, s in enumerate(slot_of_row):
                if s >= 0:
                    row_of_slot[s] = row
            if len(row_of_slot) > 1:
                self.gather = itemgetter(*row_of_slot)
            elif row_of_slot:
                self.gather = lambda values, r=row_of_slot[0]: (values[r],)


#: milliseconds a scrape waits for the store's write lock to fold new attempts
FOLD_WAIT_MS = 200


class StoreCollector:
    """Publishes the store's counters, histograms and gauges."""

    name = "store"

    def __init__(self, store: Store, guard: LabelGuard, grace: float = 0.0, clock=time.time):
        self.store = store
        self.guard = guard
        self.grace = grace
        self.clock = clock
        self._index = _sample_index()
        self._metrics = tuple(iter_exporter("store"))
        self._parsed: dict[str, dict[str, str]] = {}  # labels JSON -> dict (label sets rarely change)
        self._layout: _Layout | None = None
        self._headers: dict[tuple[str, bool], str] = {}
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    # -- reading --------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        """A connection of its own (scrapes are serialised by the lock), plain tuples for speed."""
        if self._conn is None:
            self._conn = sqlite3.connect(self.store.path, timeout=30.0, isolation_level=None,
                                         check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout=30000")
        return self._conn

    def _fold(self) -> None:
        """Count attempts stored since the last fold; on failure the scrape shows the totals as they are.
        A scrape waits at most ``FOLD_WAIT_MS`` for the write lock: while another writer holds the store
        (a saturated ingest, a backup) it answers with the totals as they are rather than time out."""
        try:
            with self.store.lock_wait(FOLD_WAIT_MS):
                fold(self.store)
        except sqlite3.Error as exc:
            log.warning("scrape: could not fold new attempts into the running totals (%s); counters lag", exc)

    def _labels(self, text: str) -> dict[str, str]:
        d = self._parsed.get(text)
        if d is None:
            d = self._parsed[text] = json.loads(text)
        return d

    def _allow_tests(self, rows: Iterable) -> None:
        """Feed the guard every test per suite in sorted order, so the tests kept under the cap are stable."""
        per_suite: dict[str, set[str]] = {}
        for row in rows:
            if row[0] == M.TEST_ATTEMPTS.total:
                d = self._labels(row[1])
                per_suite.setdefault(d.get("suite", ""), set()).add(d.get("test", ""))
        for suite, tests in per_suite.items():
            if len(tests) > self.guard.max_values:
                for t in sorted(tests)[: self.guard.max_values]:
                    self.guard.value("test", t, suite)

    def _small(self, conn: sqlite3.Connection, hist_rows: Iterable) -> dict[str, Family]:
        """Histogram and gauge families (few series), filled for this scrape."""
        fams = {m.name: Family(m, self.guard) for m in self._metrics if m.type != "counter"}
        hist: dict[tuple[str, str], dict] = {}  # (metric name, labels without le) -> parts
        for series, text, value, created in hist_rows:
            hit = self._index.get(series)
            if hit is None or hit[1] == "value":
                continue
            metric, part = hit
            labels = self._labels(text)
            le = labels.get("le")
            base = {k: v for k, v in labels.items() if k != "le"} if le is not None else labels
            acc = hist.setdefault((metric.name, json.dumps(base, sort_keys=True)),
                                  {"labels": base, "buckets": {}, "sum": 0.0, "created": created})
            if acc["created"] is not None and (created is None or created < acc["created"]):
                acc["created"] = created  # the series is as old as its oldest row (+Inf and count come first)
            if part == "bucket":
                acc["buckets"][le] = acc["buckets"].get(le, 0.0) + value
            elif part == "sum":
                acc["sum"] += value
        for (name, _), acc in sorted(hist.items()):
            fams[name].add_histogram(acc["labels"], acc["buckets"], acc["sum"], acc["created"])

        for suite, seq in conn.execute("SELECT suite, MAX(sequence) FROM runs GROUP BY suite"):
            fams[M.RUN_SEQUENCE.name].add({"suite": suite}, seq)
        for suite, finished, started in conn.execute(
            "SELECT suite, MAX(finished_at), started_at FROM runs "
            "WHERE status = 'complete' AND finished_at IS NOT NULL GROUP BY suite"
        ):
            fams[M.LAST_RUN_TIMESTAMP.name].add({"suite": suite}, finished)
            fams[M.RUN_DURATION.name].add({"suite": suite}, max(0.0, finished - started))
        for path, sha in conn.execute(  # per path, runs newest first (index runs_started) until one has it
            "SELECT p.path, (SELECT t.sha256 FROM runs r CROSS JOIN tracked_files t "
            "ON t.run_id = r.run_id AND t.path = p.path ORDER BY r.started_at DESC, r.sequence DESC LIMIT 1) "
            "FROM (SELECT DISTINCT path FROM tracked_files) p ORDER BY p.path"
        ):
            fams[M.TRACKED_FILE.name].add({"path": path, "sha256": sha[:_SHA_DIGITS]}, 1.0)
        for path, changed in conn.execute("SELECT path, MAX(changed_at) FROM file_changes GROUP BY path"):
            fams[M.TRACKED_FILE_LAST_CHANGE.name].add({"path": path}, changed)
        return fams

    def _hist_rows(self, conn: sqlite3.Connection) -> list:
        names = [n for n, (_, part) in self._index.items() if part != "value"]
        return conn.execute(f"SELECT metric, labels, value, created_at FROM totals WHERE metric IN ({','.join('?' * len(names))})",
                            names).fetchall()

    # -- the collector protocol -----------------------------------------------------
    def collect(self) -> Iterable[PromMetric]:
        with self._lock:
            self._fold()
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                new_after = self.clock() - self.grace
                rows = conn.execute(
                    "SELECT metric, labels, value, created_at FROM totals ORDER BY metric, labels").fetchall()
                self._allow_tests(rows)
                counters = {m.name: Family(m, self.guard) for m in self._metrics if m.type == "counter"}
                for series, text, value, created in rows:
                    hit = self._index.get(series)
                    if hit is not None and hit[1] == "value":
                        counters[hit[0].name].add(self._labels(text), value, created)
                small = self._small(conn, rows)
            finally:
                conn.execute("COMMIT")
        return [(counters[m.name] if m.name in counters else small[m.name]).build(new_after) for m in self._metrics]

    # -- the fast path --------------------------------------------------------------
    def _build_layout(self, rows: list, new_after: float) -> _Layout:
        before = dict(self.guard.capped)
        self._allow_tests(rows)
        keys: dict[str, dict[tuple[str, ...], int]] = {m.name: {} for m in self._metrics if m.type == "counter"}
        families = {m.name: Family(m, self.guard) for m in self._metrics if m.type == "counter"}
        row_key: list[tuple[str, tuple[str, ...]] | None] = []
        for series, text, _, _ in rows:
            hit = self._index.get(series)
            if hit is None or hit[1] != "value":
                row_key.append(None)
                continue
            metric = hit[0]
            key = families[metric.name]._key(self._labels(text))
            keys[metric.name].setdefault(key, 0)
            row_key.append((metric.name, key))
        prefixes: list[str] = []
        spans: dict[str, tuple[int, int]] = {}
        slot: dict[tuple[str, tuple[str, ...]], int] = {}
        for m in self._metrics:
            if m.type != "counter":
                continue
            start = len(prefixes)
            order = sorted(range(len(m.labels)), key=lambda i: m.labels[i])
            for key in sorted(keys[m.name]):
                slot[(m.name, key)] = len(prefixes)
                inner = ",".join(f'{m.labels[i]}="{_escape(key[i])}"' for i in order)
                prefixes.append(f"{m.total}{{{inner}}} " if inner else f"{m.total} ")
            spans[m.name] = (start, len(prefixes))
        slot_of_row = [slot[k] if k is not None else -1 for k in row_key]
        capped = {k: v - before.get(k, 0) for k, v in self.guard.capped.items() if v != before.get(k, 0)}
        # a slot is as old as its oldest row (NULL created_at: old); keep the ones still new
        created: dict[int, float | None] = {}
        for s, row in zip(slot_of_row, rows):
            if s < 0:
                continue
            c = row[3]
            if s not in created:
                created[s] = c
            elif created[s] is not None and (c is None or c < created[s]):
                created[s] = c
        young = sorted((s, c) for s, c in created.items() if c is not None and c > new_after)
        return _Layout(len(rows), slot_of_row, prefixes, spans, capped, young)

    def _header(self, metric: Metric, openmetrics: bool) -> str:
        key = (metric.name, openmetrics)
        if key not in self._headers:
            self._headers[key] = _encode([Family(metric).build()], openmetrics)
        return self._headers[key]

    def render(self, openmetrics: bool = False) -> str:
        """The exposition text of every store metric (no ``# EOF``), equal to encoding :meth:`collect`."""
        with self._lock:
            self._fold()
            conn = self._connection()
            conn.execute("BEGIN")  # one snapshot for the whole scrape
            try:
                new_after = self.clock() - self.grace
                values = [r[0] for r in conn.execute("SELECT value FROM totals ORDER BY metric, labels")]
                layout = self._layout
                if layout is None or layout.rows != len(values):
                    rows = conn.execute(
                        "SELECT metric, labels, value, created_at FROM totals ORDER BY metric, labels").fetchall()
                    values = [r[2] for r in rows]
                    layout = self._layout = self._build_layout(rows, new_after)
                else:
                    for label, n in layout.capped.items():  # the same values are folded as when it was built
                        self.guard.capped[label] += n
                small = self._small(conn, self._hist_rows(conn))
            finally:
                conn.execute("COMMIT")
        if layout.gather is not None:
            sums = list(layout.gather(values))
        else:
            sums = [0.0] * len(layout.prefixes)
            for s, v in zip(layout.slot_of_row, values):
                if s >= 0:
                    sums[s] += v
        if layout.young:  # new series show 0 until the grace passes (once old, always old)
            layout.young = [(s, c) for s, c in layout.young if c > new_after]
            for s, _ in layout.young:
                sums[s] = 0.0
        old, lines, prefixes = layout.sums, layout.lines, layout.prefixes
        if old is None:
            for i, v in enumerate(sums):
                lines[i] = f"{prefixes[i]}{floatToGoString(v)}\n"
        elif old != sums:
            for i, (v, o) in enumerate(zip(sums, old)):
                if v != o:
                    lines[i] = f"{prefixes[i]}{floatToGoString(v)}\n"
        layout.sums = sums
        out: list[str] = []
        for m in self._metrics:
            if m.type == "counter":
                start, end = layout.spans[m.name]
                out.append(self._header(m, openmetrics))
                out.extend(lines[start:end])
            else:
                out.append(_encode([small[m.name].build(new_after)], openmetrics))
        return "".join(out)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def collector(store: Store, config, guard: LabelGuard) -> StoreCollector:
    return StoreCollector(store, guard, durations.seconds(config.new_series_grace, "new_series_grace"))
