"""Writing and reading runs, with the running totals counters are derived from.

Every write that adds attempts also adds to ``totals`` in the same transaction,
keyed by catalogue metric and labels. Counters on /metrics read ``totals`` only,
so they never go backwards: pruning raw rows (:func:`prune`) leaves totals alone.
"""

from __future__ import annotations

import json
import sqlite3
import time
from bisect import bisect_left
from collections import defaultdict
from typing import Callable, Iterable, Sequence

from rq_obs.catalog import M, Metric
from rq_obs.store.db import Store
from rq_obs.store.records import ApiCall, Attempt, Run, TrackedFile, status_class

__all__ = ["SaveResult", "Totals", "record_file_change", "mark_series_old", "save_run", "begin_run", "add_attempts", "finish_run", "read_totals", "labels_key",
           "prune", "get_run", "list_runs", "next_sequence", "PriceFn"]

#: (model, input, output, cached tokens) -> USD, or None when the model has no price.
PriceFn = Callable[[str, int, int, int], "float | None"]


def labels_key(labels: dict[str, str]) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class _Totals:
    """Accumulates counter increments for one transaction.

    Increments are keyed by (series, sorted label items) while accumulating and turned into
    the stored JSON label keys once per distinct series at :meth:`flush` (through ``keys``, a
    cache of those JSON texts that a :class:`Store` keeps across transactions: a label set's
    key never changes); histogram observations are counted per bucket and written as
    cumulative bucket rows at flush. :meth:`add` takes a dict; the hot path in
    :func:`_insert_attempts` adds to :attr:`values` directly with label items it builds
    already sorted by name.
    """

    def __init__(self, keys: dict | None = None) -> None:
        self.values: dict[tuple[str, tuple], float] = defaultdict(float)
        self._hist: dict[tuple[Metric, tuple], list] = {}
        self._keys = {} if keys is None else keys

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
        for k, v in self.values.items():
            text = keys.get(k)
            if text is None:
                text = keys[k] = labels_key(dict(k[1]))
            out.append((k[0], text, v))
        return out

    def flush(self, conn: sqlite3.Connection, now: float | None = None) -> None:
        """Add the increments to ``totals``; a series written for the first time gets ``created_at = now``
        (an existing one keeps its original ``created_at``)."""
        created = time.time() if now is None else now
        conn.executemany(
            "INSERT INTO totals (metric, labels, value, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (metric, labels) DO UPDATE SET value = value + excluded.value",
            [(m, labels, v, created) for m, labels, v in self.rows()],
        )


#: The public name of the running-totals accumulator (one per transaction): ``Totals(store.label_keys)``,
#: ``add``/``observe``, then ``flush(conn)`` inside the same transaction.
Totals = _Totals

_KEY_CACHE_MAX = 500_000


def _key_cache(store: Store) -> dict:
    """The store's cache of label-set -> JSON key (cleared when it grows past ``_KEY_CACHE_MAX``)."""
    keys = store.label_keys
    if len(keys) > _KEY_CACHE_MAX:
        keys.clear()
    return keys


def _le(x: float) -> str:
    return repr(float(x))


class SaveResult(tuple):
    """(stored: bool, sequence: int) — stored is False when the run id was already present."""

    @property
    def stored(self) -> bool:
        return self[0]

    @property
    def sequence(self) -> int:
        return self[1]


def next_sequence(conn: sqlite3.Connection, suite: str) -> int:
    row = conn.execute("SELECT COALESCE(MAX(sequence), 0) FROM runs WHERE suite = ?", (suite,)).fetchone()
    return int(row[0]) + 1


def _insert_run_row(conn: sqlite3.Connection, run: Run, status: str, now: float) -> int:
    seq = run.sequence if run.sequence is not None else next_sequence(conn, run.suite)
    conn.execute(
        "INSERT INTO runs (run_id, suite, sequence, started_at, finished_at, status, commit_sha, branch, experiment, "
        "host, source, trace_id, ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (run.run_id, run.suite, seq, run.started_at, run.finished_at, status, run.commit, run.branch,
         run.experiment or "none", run.host, run.source, run.trace_id, now),
    )
    return seq


def _cost(call: ApiCall, price: PriceFn | None) -> float:
    if call.cost_usd is not None:
        return float(call.cost_usd)
    if price is None:
        return 0.0
    est = price(call.model, call.input_tokens, call.output_tokens, call.cached_tokens)
    return float(est) if est is not None else 0.0


def _json_list(values: Sequence) -> str:
    return json.dumps(list(values)) if values else "[]"


def _insert_attempts(conn: sqlite3.Connection, run: Run, attempts: Sequence[Attempt], totals: _Totals,
                     price: PriceFn | None) -> None:
    """Insert a batch of attempts (one executemany; ids assigned here, under the write lock) and count them."""
    suite = run.suite
    base = conn.execute("SELECT COALESCE(MAX(id), 0) FROM attempts").fetchone()[0]
    rows = []
    call_rows = []
    add = totals.add
    values = totals.values  # a defaultdict(float) keyed by (series, label items sorted by name)
    observe_items = totals.observe_items
    attempts_total, retries_total, duration_total = M.TEST_ATTEMPTS.total, M.TEST_RETRIES.total, M.TEST_DURATION_SECONDS.total
    category_total, worker_total, busy_total = M.CATEGORY_ATTEMPTS.total, M.WORKER_ATTEMPTS.total, M.WORKER_BUSY_SECONDS.total
    attempt_hist = M.TEST_ATTEMPT_DURATION
    s_suite = ("suite", suite)
    run_id, run_started = run.run_id, run.started_at
    for n, a in enumerate(attempts, start=1):
        attempt_id = base + n
        test, outcome, duration, worker = a.test, a.outcome, a.duration, a.worker
        attrs = json.dumps(dict(a.attributes), sort_keys=True, default=str) if a.attributes else "{}"
        rows.append((attempt_id, run_id, test, outcome, duration, a.attempt, worker, a.category,
                     _json_list(a.markers), a.variant, a.started_at or run_started, a.trace_id, a.span_id, attrs))
        # label items sorted by name, as _Totals.add would sort them
        s_outcome, s_test, s_worker = ("outcome", outcome), ("test", test), ("worker", worker)
        values[(attempts_total, (s_outcome, s_suite, s_test, ("variant", a.variant)))] += 1.0
        if a.attempt > 1:
            values[(retries_total, (s_suite, s_test))] += 1.0
        values[(duration_total, (s_suite, s_test))] += duration
        observe_items(attempt_hist, (s_outcome, s_suite), duration)
        values[(category_total, (("category", a.category), s_outcome, s_suite))] += 1.0
        values[(worker_total, (s_outcome, s_suite, s_worker))] += 1.0
        values[(busy_total, (s_suite, s_worker))] += duration
        for c in a.api_calls:
            cost = _cost(c, price)
            call_rows.append((attempt_id, run.run_id, c.provider, c.model, c.status_code, c.error, c.latency,
                              c.retries, _json_list(c.retry_reasons), c.input_tokens, c.output_tokens,
                              c.cached_tokens, cost, c.started_at or a.started_at or run.started_at))
            pm = {"provider": c.provider, "model": c.model}
            code = str(c.status_code) if c.status_code is not None else (c.error or "error")
            add(M.API_REQUESTS.total, {**pm, "status_class": status_class(c.status_code), "code": code})
            totals.observe(M.API_REQUEST_DURATION, pm, c.latency)
            reasons = list(c.retry_reasons)
            for i in range(c.retries):
                add(M.API_RETRIES.total, {**pm, "reason": reasons[i] if i < len(reasons) else "other"})
            for kind, k in (("input", c.input_tokens), ("output", c.output_tokens), ("cached", c.cached_tokens)):
                if k:
                    add(M.TOKENS.total, {**pm, "token_type": kind}, k)
            add(M.COST.total, {"suite": suite, **pm}, cost)
    if rows:
        conn.executemany(
            "INSERT INTO attempts (id, run_id, test, outcome, duration, attempt, worker, category, markers, variant, "
            "started_at, trace_id, span_id, attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    if call_rows:
        conn.executemany(
            "INSERT INTO api_calls (attempt_id, run_id, provider, model, status_code, error, latency, retries, "
            "retry_reasons, input_tokens, output_tokens, cached_tokens, cost_usd, started_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            call_rows,
        )


def record_file_change(conn: sqlite3.Connection, totals: _Totals, path: str, old: str, new: str, commit: str,
                       author: str, added: int | None, removed: int | None, changed_at: float, run_id: str) -> bool:
    """Record one tracked-file change event and count it; False when it is already recorded.

    The one dedup rule, shared by the pytest plugin's save path and ``rq-obs impact --poll``
    (:mod:`rq_obs.analytics.gitpoll`), whichever notices a change first: an event is already
    recorded when ``file_changes`` has the same path with the same old -> new hash, or the same
    path, (non-empty) commit and new hash. Counts go to ``rqobs_tracked_file_changes_total`` and
    ``rqobs_tracked_file_changed_lines_total`` through ``totals`` (flushed by the caller in the
    same transaction).
    """
    dup = conn.execute(
        "SELECT 1 FROM file_changes WHERE path = ? AND ((old_sha256 = ? AND new_sha256 = ?) "
        "OR (? != '' AND commit_sha = ? AND new_sha256 = ?)) LIMIT 1",
        (path, old, new, commit, commit, new)).fetchone()
    if dup is not None:
        return False
    conn.execute(
        "INSERT INTO file_changes (path, old_sha256, new_sha256, commit_sha, author, lines_added, "
        "lines_removed, changed_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (path, old, new, commit, author, added, removed, changed_at, run_id),
    )
    totals.add(M.TRACKED_FILE_CHANGES.total, {"path": path})
    if added:
        totals.add(M.TRACKED_FILE_CHANGED_LINES.total, {"path": path, "kind": "added"}, added)
    if removed:
        totals.add(M.TRACKED_FILE_CHANGED_LINES.total, {"path": path, "kind": "removed"}, removed)
    return True


def _record_tracked_files(conn: sqlite3.Connection, run: Run, files: Iterable[TrackedFile], totals: _Totals,
                          now: float) -> None:
    for f in files:
        prev = conn.execute(
            "SELECT t.sha256 FROM tracked_files t JOIN runs r ON r.run_id = t.run_id "
            "WHERE t.path = ? AND r.suite = ? AND r.run_id != ? ORDER BY r.started_at DESC, r.sequence DESC LIMIT 1",
            (f.path, run.suite, run.run_id),
        ).fetchone()
        conn.execute("INSERT OR REPLACE INTO tracked_files (run_id, path, sha256) VALUES (?, ?, ?)",
                     (run.run_id, f.path, f.sha256))
        if prev is not None and prev[0] != f.sha256:
            record_file_change(conn, totals, f.path, prev[0], f.sha256, run.commit, f.author, f.lines_added,
                               f.lines_removed, run.started_at or now, run.run_id)


def _set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                 (key, value))


def save_run(store: Store, run: Run, price: PriceFn | None = None) -> SaveResult:
    """Store a whole run in one transaction. Idempotent on ``run_id``."""
    now = time.time()
    with store.transaction() as conn:
        row = conn.execute("SELECT sequence FROM runs WHERE run_id = ?", (run.run_id,)).fetchone()
        if row is not None:
            return SaveResult((False, int(row[0])))
        totals = _Totals(_key_cache(store))
        seq = _insert_run_row(conn, run, run.status, now)
        _record_tracked_files(conn, run, run.tracked_files, totals, now)
        _insert_attempts(conn, run, run.attempts, totals, price)
        totals.add(M.TEST_RUNS.total, {"suite": run.suite, "status": run.status})
        totals.flush(conn)
        _set_meta(conn, "last_ingest", repr(now))
    return SaveResult((True, seq))


def begin_run(store: Store, run: Run) -> int:
    """Start a run that attempts are added to in batches; it stays ``incomplete`` until finished."""
    now = time.time()
    with store.transaction() as conn:
        totals = _Totals(_key_cache(store))
        seq = _insert_run_row(conn, run, "incomplete", now)
        _record_tracked_files(conn, run, run.tracked_files, totals, now)
        totals.flush(conn)
    return seq


def add_attempts(store: Store, run: Run, attempts: Sequence[Attempt], price: PriceFn | None = None) -> None:
    """Add one batch of attempts to a run started with :func:`begin_run` (one transaction)."""
    with store.transaction() as conn:
        totals = _Totals(_key_cache(store))
        _insert_attempts(conn, run, attempts, totals, price)
        totals.flush(conn)


def finish_run(store: Store, run: Run, finished_at: float | None = None) -> None:
    now = time.time()
    with store.transaction() as conn:
        conn.execute("UPDATE runs SET status = 'complete', finished_at = ? WHERE run_id = ?",
                     (finished_at or now, run.run_id))
        totals = _Totals(_key_cache(store))
        totals.add(M.TEST_RUNS.total, {"suite": run.suite, "status": "complete"})
        totals.flush(conn)
        _set_meta(conn, "last_ingest", repr(now))


def mark_series_old(store: Store, created_before: float) -> int:
    """Series created at or before ``created_before`` are no longer new (``created_at`` NULL).

    For series whose history is already in Prometheus (backfilled): their live value must not
    restart at 0 for ``new_series_grace``, which Prometheus would read as a counter reset.
    """
    with store.transaction() as conn:
        return conn.execute("UPDATE totals SET created_at = NULL WHERE created_at <= ?", (created_before,)).rowcount


def read_totals(store: Store, series: str | None = None) -> list[tuple[str, dict[str, str], float]]:
    """(series name, labels, value) rows of the running totals, optionally for one series."""
    if series is None:
        rows = store.query("SELECT metric, labels, value FROM totals ORDER BY metric, labels")
    else:
        rows = store.query("SELECT metric, labels, value FROM totals WHERE metric = ? ORDER BY labels", (series,))
    return [(r[0], json.loads(r[1]), r[2]) for r in rows]


def prune(store: Store, older_than: float) -> int:
    """Delete raw runs (and their attempts, calls, file states) started before ``older_than``.

    Totals are untouched, so counters derived from them never go backwards.
    """
    with store.transaction() as conn:
        cur = conn.execute("DELETE FROM runs WHERE started_at < ?", (older_than,))
        return cur.rowcount


def get_run(store: Store, run_id: str) -> sqlite3.Row | None:
    rows = store.query("SELECT * FROM runs WHERE run_id = ?", (run_id,))
    return rows[0] if rows else None


def list_runs(store: Store, limit: int = 20) -> list[dict]:
    """Recent runs, newest first, with counts by outcome and pass rate."""
    runs = store.query(
        "SELECT run_id, suite, sequence, started_at, finished_at, status, commit_sha, branch FROM runs "
        "ORDER BY started_at DESC, sequence DESC LIMIT ?",
        (limit,),
    )
    out = []
    for r in runs:
        counts = {o: 0 for o in ("passed", "failed", "error", "skipped", "xfailed", "xpassed")}
        for o, n in store.query("SELECT outcome, COUNT(*) FROM attempts WHERE run_id = ? GROUP BY outcome",
                                (r["run_id"],)):
            counts[o] = n
        denom = counts["passed"] + counts["failed"] + counts["error"]
        out.append({
            "run_id": r["run_id"], "suite": r["suite"], "sequence": r["sequence"], "started_at": r["started_at"],
            "finished_at": r["finished_at"], "status": r["status"], "commit": r["commit_sha"], "branch": r["branch"],
            "counts": counts, "pass_rate": (counts["passed"] / denom) if denom else None,
        })
    return out
