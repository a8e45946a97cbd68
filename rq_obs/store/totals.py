"""Running totals: the counters /metrics publishes, kept apart from the raw rows they count.

``totals`` holds one row per counter sample (catalogue series name + labels JSON) with its
running value; counters read it only, so they never go backwards: pruning raw rows leaves
it alone (:func:`rq_obs.store.runs.prune` folds first, see below).

Two ways in:

* :class:`Totals` accumulates increments for one transaction and :meth:`Totals.flush` adds
  them (runs per status, tracked-file changes, ingest counts);
* :func:`fold` counts raw test attempts and API calls. Saving a run writes only its raw
  rows; their counters (attempts, retries, durations, categories, workers, the attempt
  duration histogram, API requests, retries, tokens, cost) are folded in later, many runs
  at a time: every reader of ``totals`` (:func:`read_totals`, the store exporter) folds
  first, ``rq-obs serve`` folds in the background after pushes, and pruning folds before it
  deletes. A run is on disk as soon as its raw rows are; the fold is one more transaction
  that turns them into counter increments, exactly once: the ``folded_attempt_id``
  watermark in ``meta`` (the highest attempt id counted) moves in the same transaction as
  the increments, and attempt ids only grow (:func:`next_attempt_id`).

Folding in batches is what makes a push cheap: a push writes its 1,000 attempt rows, not the
~2,000 counter rows they touch, and the fold touches each distinct counter row once per batch
however many runs the batch holds.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from bisect import bisect_left
from collections import defaultdict

from rq_obs.catalog import M, Metric
from rq_obs.store.cardinality import gate_for
from rq_obs.store.db import Store
from rq_obs.store.records import status_class

__all__ = ["Totals", "Folder", "labels_key", "key_cache", "capped_totals", "fold", "fold_in", "pending", "next_attempt_id",
           "read_totals", "WATERMARK"]

log = logging.getLogger("rq_obs.store")

#: ``meta`` key: the highest attempt id whose counts are in ``totals``.
WATERMARK = "folded_attempt_id"


def labels_key(labels: dict[str, str]) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _le(x: float) -> str:
    return repr(float(x))


class Totals:
    """Accumulates counter increments for one transaction.

    Increments are keyed by (series, sorted label items) while accumulating and turned into
    the stored JSON label keys once per distinct series at :meth:`flush` (through ``keys``, a
    cache of those JSON texts that a :class:`Store` keeps across transactions: a label set's
    key never changes); histogram observations are counted per bucket and written as
    cumulative bucket rows at flush. :meth:`add` takes a dict; the hot path in :func:`fold_in`
    adds to :attr:`values` directly with label items it builds already sorted by name.
    """

    def __init__(self, keys: dict | None = None, gate=None) -> None:
        self.values: dict[tuple[str, tuple], float] = defaultdict(float)
        self._hist: dict[tuple[Metric, tuple], list] = {}
        self._keys = {} if keys is None else keys
        self.gate = gate  # rq_obs.store.cardinality.Gate: label values over a cap become OTHER at flush

    def add(self, series: str, labels: dict[str, str], value: float = 1.0) -> None:
        self.values[(series, tuple(sorted(labels.items())))] += value

    def observe(self, metric: Metric, labels: dict[str, str], value: float) -> None:
        self.observe_items(metric, tuple(sorted(labels.items())), value)

    def observe_items(self, metric: Metric, items: tuple, value: float) -> None:
        key = (metric, items)
        h = self._hist.get(key)
        if h is None:
            h = self._hist[key] = [[0] * (len(metric.buckets) + 1), 0.0, 0]
        h[0][bisect_left(metric.buckets, value)] += 1  # first bucket with value <= le (last slot: +Inf only)
        h[1] += value
        h[2] += 1

    def add_histogram(self, metric: Metric, items: tuple, counts: list, total: float, n: int) -> None:
        """Add observations already counted per bucket slot (as :meth:`observe_items` counts them)."""
        key = (metric, items)
        h = self._hist.get(key)
        if h is None:
            self._hist[key] = [list(counts), total, n]
        else:
            h[0] = [a + b for a, b in zip(h[0], counts)]
            h[1] += total
            h[2] += n

    def _merge(self) -> None:
        values = self.values
        for (metric, items), (counts, total, n) in self._hist.items():
            cumulative = 0
            for le, c in zip(metric.buckets, counts):
                cumulative += c
                if cumulative:
                    values[(metric.bucket, tuple(sorted(items + (("le", _le(le)),))))] += cumulative
            values[(metric.bucket, tuple(sorted(items + (("le", "+Inf"),))))] += n
            values[(metric.sum, items)] += total
            values[(metric.count, items)] += n
        self._hist.clear()

    def rows(self) -> list[tuple[str, str, float]]:
        """(series, labels JSON, increment) for every series touched."""
        self._merge()
        keys = self._keys
        out = []
        values = self.values
        if self.gate is not None:
            admit = self.gate.admit
            values = defaultdict(float)
            for (series, items), v in self.values.items():
                values[(series, admit(series, items))] += v
        for k, v in values.items():
            text = keys.get(k)
            if text is None:
                text = keys[k] = labels_key(dict(k[1]))
            out.append((k[0], text, v))
        return out

    def flush(self, conn: sqlite3.Connection, now: float | None = None) -> None:
        """Add the increments to ``totals``; a series written for the first time gets ``created_at = now``
        (an existing one keeps its original ``created_at``)."""
        rows = self.rows()
        if not rows:
            return
        created = time.time() if now is None else now
        conn.executemany(
            "INSERT INTO totals (metric, labels, value, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (metric, labels) DO UPDATE SET value = value + excluded.value",
            [(m, labels, v, created) for m, labels, v in rows],
        )
        self.values.clear()


_KEY_CACHE_MAX = 500_000


def capped_totals(store: Store, conn: sqlite3.Connection) -> Totals:
    """A :class:`Totals` for a write transaction on ``store`` (``conn``) whose series pass the store's cardinality
    gate (:mod:`rq_obs.store.cardinality`)."""
    gate = gate_for(store)
    gate.load(conn)
    return Totals(key_cache(store), gate)


def key_cache(store: Store) -> dict:
    """The store's cache of label-set -> JSON key (cleared when it grows past ``_KEY_CACHE_MAX``)."""
    keys = store.label_keys
    if len(keys) > _KEY_CACHE_MAX:
        keys.clear()
    return keys


# --------------------------------------------------------------------------- the fold

_WATERMARK_SQL = f"SELECT CAST(value AS INTEGER) FROM meta WHERE key = '{WATERMARK}'"


def _watermark(conn: sqlite3.Connection) -> int:
    row = conn.execute(_WATERMARK_SQL).fetchone()
    return int(row[0]) if row is not None else 0


def next_attempt_id(conn: sqlite3.Connection) -> int:
    """The first free attempt id (call inside the write transaction that inserts attempts).

    Above both the highest stored id and the fold watermark, so ids never repeat even after
    pruning deleted the newest attempts: the fold counts each id once.
    """
    top = conn.execute("SELECT COALESCE(MAX(id), 0) FROM attempts").fetchone()[0]
    return max(top, _watermark(conn)) + 1


def pending(conn: sqlite3.Connection) -> bool:
    """Whether attempts are stored that :func:`fold` has not counted yet (a read, no lock)."""
    top = conn.execute("SELECT MAX(id) FROM attempts").fetchone()[0]
    return top is not None and top > _watermark(conn)


_PENDING = "FROM attempts a JOIN runs r ON r.run_id = a.run_id WHERE a.id > ? AND a.id <= ?"


def _count_attempts(conn: sqlite3.Connection, low: int, high: int, totals: Totals) -> None:
    """Add the counters of the attempts with ids in (low, high].

    SQLite groups the attempts once, by every label any of their counters has plus the
    duration bucket (one sort, in C); Python adds each group to the series of every counter
    family and turns each distinct series' label values into its label items (sorted by
    label name, as :meth:`Totals.add` sorts them). A batch of runs of the same suite has far
    fewer groups than attempts.
    """
    h = M.TEST_ATTEMPT_DURATION
    # the histogram slot = how many bucket bounds lie below the duration: bisect_left's index, the first
    # bucket with duration <= le (the last slot is +Inf only); the bounds are bound as parameters
    slot = " + ".join("(a.duration > ?)" for _ in h.buckets)
    groups = conn.execute(
        f"SELECT r.suite, a.test, a.outcome, a.variant, a.worker, a.category, a.attempt > 1, {slot}, "
        f"COUNT(*), SUM(a.duration) {_PENDING} GROUP BY 1, 2, 3, 4, 5, 6, 7, 8", (*h.buckets, low, high))
    attempts: dict = defaultdict(int)  # (suite, test, outcome, variant)
    per_test: dict = {}  # (suite, test) -> [duration sum, retries]
    per_category: dict = defaultdict(int)  # (category, outcome, suite)
    per_worker: dict = {}  # (outcome, suite, worker) -> [attempts, duration sum]
    hist: dict = {}  # (outcome, suite) -> [[count per slot], sum, n]
    slots = len(h.buckets) + 1
    for suite, test, outcome, variant, worker, category, retried, k, n, seconds in groups:
        attempts[(suite, test, outcome, variant)] += n
        t = per_test.get((suite, test))
        if t is None:
            t = per_test[(suite, test)] = [0.0, 0]
        t[0] += seconds
        if retried:
            t[1] += n
        per_category[(category, outcome, suite)] += n
        w = per_worker.get((outcome, suite, worker))
        if w is None:
            w = per_worker[(outcome, suite, worker)] = [0, 0.0]
        w[0] += n
        w[1] += seconds
        acc = hist.get((outcome, suite))
        if acc is None:
            acc = hist[(outcome, suite)] = [[0] * slots, 0.0, 0]
        acc[0][k] += n
        acc[1] += seconds
        acc[2] += n
    values = totals.values
    name = M.TEST_ATTEMPTS.total
    for (suite, test, outcome, variant), n in attempts.items():
        values[(name, (("outcome", outcome), ("suite", suite), ("test", test), ("variant", variant)))] += n
    duration_total, retries_total = M.TEST_DURATION_SECONDS.total, M.TEST_RETRIES.total
    for (suite, test), (seconds, retried) in per_test.items():
        items = (("suite", suite), ("test", test))
        values[(duration_total, items)] += seconds
        if retried:
            values[(retries_total, items)] += retried
    name = M.CATEGORY_ATTEMPTS.total
    for (category, outcome, suite), n in per_category.items():
        values[(name, (("category", category), ("outcome", outcome), ("suite", suite)))] += n
    attempts_name, busy_name = M.WORKER_ATTEMPTS.total, M.WORKER_BUSY_SECONDS.total
    for (outcome, suite, worker), (n, seconds) in per_worker.items():
        values[(attempts_name, (("outcome", outcome), ("suite", suite), ("worker", worker)))] += n
        values[(busy_name, (("suite", suite), ("worker", worker)))] += seconds
    for (outcome, suite), (counts, seconds, n) in hist.items():
        totals.add_histogram(h, (("outcome", outcome), ("suite", suite)), counts, seconds, n)


def fold_in(conn: sqlite3.Connection, totals: Totals) -> tuple[int, float | None]:
    """Count the attempts (and their API calls) above the watermark into ``totals`` and move the watermark.

    Runs inside the caller's write transaction; the caller flushes ``totals`` in it, with the
    second value returned as the time series first written now were created: when the newest
    of the folded runs was saved (``runs.ingested_at``), so a series is new from when its data
    arrived, not from when it was folded. Returns (attempts counted, that time or None).
    """
    mark = _watermark(conn)
    top = conn.execute("SELECT MAX(id), COUNT(*) FROM attempts WHERE id > ?", (mark,)).fetchone()
    if not top[1]:
        return 0, None
    high, count = top
    arrived = conn.execute("SELECT MAX(ingested_at) FROM runs WHERE run_id IN "
                           "(SELECT DISTINCT run_id FROM attempts WHERE id > ?)", (mark,)).fetchone()[0]
    _count_attempts(conn, mark, high, totals)
    for (suite, provider, model, code, error, latency, retries, reasons, inp, out, cached, cost) in conn.execute(
            "SELECT r.suite, c.provider, c.model, c.status_code, c.error, c.latency, c.retries, c.retry_reasons, "
            "c.input_tokens, c.output_tokens, c.cached_tokens, c.cost_usd "
            "FROM api_calls c JOIN runs r ON r.run_id = c.run_id WHERE c.attempt_id > ? AND c.attempt_id <= ? ORDER BY c.id",
            (mark, high)):
        pm = {"provider": provider, "model": model}
        shown = str(code) if code is not None else (error or "error")
        totals.add(M.API_REQUESTS.total, {**pm, "status_class": status_class(code), "code": shown})
        totals.observe(M.API_REQUEST_DURATION, pm, latency)
        why = json.loads(reasons) if reasons != "[]" else []
        for i in range(retries):
            totals.add(M.API_RETRIES.total, {**pm, "reason": why[i] if i < len(why) else "other"})
        for kind, k in (("input", inp), ("output", out), ("cached", cached)):
            if k:
                totals.add(M.TOKENS.total, {**pm, "token_type": kind}, k)
        totals.add(M.COST.total, {"suite": suite, **pm}, cost)
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                 (WATERMARK, str(high)))
    return count, arrived


def fold(store: Store, now: float | None = None) -> int:
    """Fold every attempt not yet counted into ``totals`` (one transaction); the number folded.

    New series are created at ``now`` when given, else when their data arrived (see :func:`fold_in`).

    Cheap when there is nothing to fold (one read, no write lock).
    """
    conn = store.connect()
    if not pending(conn):
        return 0
    with store.transaction() as tx:
        totals = capped_totals(store, tx)
        n, arrived = fold_in(tx, totals)
        totals.flush(tx, arrived if now is None else now)
    return n


def read_totals(store: Store, series: str | None = None) -> list[tuple[str, dict[str, str], float]]:
    """(series name, labels, value) rows of the running totals, optionally for one series (folds first)."""
    fold(store)
    if series is None:
        rows = store.query("SELECT metric, labels, value FROM totals ORDER BY metric, labels")
    else:
        rows = store.query("SELECT metric, labels, value FROM totals WHERE metric = ? ORDER BY labels", (series,))
    return [(r[0], json.loads(r[1]), r[2]) for r in rows]


class Folder:
    """Folds new attempts into ``totals`` in a daemon thread, at most once per ``interval`` seconds.

    :meth:`poke` after a write; the thread waits ``interval`` more seconds (the pushes of that
    second join the same fold), then folds everything pending. Readers fold for themselves
    anyway, so this only keeps their share small. :meth:`stop` ends the thread; what is still
    pending stays on disk for the next fold.
    """

    def __init__(self, store: Store, interval: float = 1.0):
        self.store, self.interval = store, interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rq-obs-fold", daemon=True)

    def start(self) -> "Folder":
        self._thread.start()
        return self

    def poke(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        try:
            while True:
                self._wake.wait()
                if self._stop.wait(self.interval):
                    return
                self._wake.clear()
                try:
                    fold(self.store)
                except Exception:  # noqa: BLE001 - a failed fold is retried by the next one; readers fold too
                    log.exception("folding new attempts into the running totals failed; will retry")
        finally:
            self.store.close()  # this thread's connection

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(5)
