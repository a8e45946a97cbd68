"""Writing and reading runs: raw rows, plus the running totals counters are derived from.

A save writes the run's raw rows (run, attempts, API calls, tracked-file states) in one
transaction; the counters its attempts and API calls add to are folded into ``totals``
later, in batches (:mod:`rq_obs.store.totals`), and counters on /metrics read ``totals``
only, so they never go backwards: :func:`prune` folds before it deletes raw rows and
leaves totals alone. Per-run counts (runs by status, tracked-file changes) are written
with the run.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Callable, Iterable, Sequence

from rq_obs.catalog import M
from rq_obs.store.db import Store
from rq_obs.store.records import OUTCOMES, ApiCall, Attempt, Run, TrackedFile
from rq_obs.store.texts import COMPONENT as TEXTS
from rq_obs.store.texts import TEXTS_MIGRATIONS, keep_texts
from rq_obs.store.totals import Totals, capped_totals, fold_in, key_cache, labels_key, next_attempt_id, read_totals

__all__ = ["SaveResult", "Totals", "record_file_change", "mark_series_old", "save_run", "begin_run", "add_attempts",
           "finish_run", "read_totals", "labels_key", "prune", "get_run", "list_runs", "next_sequence", "PriceFn",
           "Count"]

#: (model, input, output, cached tokens) -> USD, or None when the model has no price.
PriceFn = Callable[[str, int, int, int], "float | None"]

#: count(totals, stored): add increments that must commit with the save (e.g. ingest counters).
Count = Callable[[Totals, bool], None]


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


def _insert_attempts(conn: sqlite3.Connection, run: Run, attempts: Sequence[Attempt], price: PriceFn | None) -> None:
    """Insert a batch of attempts and their API calls (ids assigned here, under the write lock).

    Their counters are not touched here: :func:`rq_obs.store.totals.fold` counts them later.
    An API call's cost is settled now (given, or from the price table) and stored with it.
    """
    base = next_attempt_id(conn) - 1
    run_id, run_started = run.run_id, run.started_at
    dumps = json.dumps
    rows = []
    call_rows = []
    for n, a in enumerate(attempts, start=1):
        attempt_id = base + n
        markers = a.markers
        rows.append((attempt_id, run_id, a.test, a.outcome, a.duration, a.attempt, a.worker, a.category,
                     dumps(list(markers)) if markers else "[]", a.variant, a.started_at or run_started,
                     a.trace_id, a.span_id,
                     dumps(dict(a.attributes), sort_keys=True, default=str) if a.attributes else "{}",
                     getattr(a, "summary", "")))
        for c in a.api_calls:
            call_rows.append((attempt_id, run_id, c.provider, c.model, c.status_code, c.error, c.latency,
                              c.retries, _json_list(c.retry_reasons), c.input_tokens, c.output_tokens,
                              c.cached_tokens, _cost(c, price), c.started_at or a.started_at or run_started))
    if rows:
        conn.executemany(
            "INSERT INTO attempts (id, run_id, test, outcome, duration, attempt, worker, category, markers, variant, "
            "started_at, trace_id, span_id, attributes, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    if call_rows:
        conn.executemany(
            "INSERT INTO api_calls (attempt_id, run_id, provider, model, status_code, error, latency, retries, "
            "retry_reasons, input_tokens, output_tokens, cached_tokens, cost_usd, started_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            call_rows,
        )


def record_file_change(conn: sqlite3.Connection, totals: Totals, path: str, old: str, new: str, commit: str,
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


def _record_tracked_files(conn: sqlite3.Connection, run: Run, files: Iterable[TrackedFile], totals: Totals,
                          now: float) -> None:
    for f in files:
        prev = conn.execute(  # the suite's runs newest first (index runs_suite_started), first with this file
            "SELECT t.sha256 FROM runs r JOIN tracked_files t ON t.run_id = r.run_id AND t.path = ? "
            "WHERE r.suite = ? AND r.run_id != ? ORDER BY r.started_at DESC, r.sequence DESC LIMIT 1",
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


def save_run(store: Store, run: Run, price: PriceFn | None = None, count: Count | None = None) -> SaveResult:
    """Store a whole run in one transaction. Idempotent on ``run_id``.

    ``count``, when given, adds counter increments that commit in the same transaction, for
    a new run and for a duplicate alike (its second argument says which).
    """
    now = time.time()
    contents = {f.sha256: f.content.encode("utf-8") for f in run.tracked_files if f.content is not None}
    if contents:
        store.ensure(TEXTS, TEXTS_MIGRATIONS)
    with store.transaction() as conn:
        totals = capped_totals(store, conn)
        row = conn.execute("SELECT sequence FROM runs WHERE run_id = ?", (run.run_id,)).fetchone()
        if row is not None:
            if count is not None:
                count(totals, False)
                totals.flush(conn, now)
            return SaveResult((False, int(row[0])))
        seq = _insert_run_row(conn, run, run.status, now)
        _record_tracked_files(conn, run, run.tracked_files, totals, now)
        if contents:  # pushed with the run: redacted again here, whatever the sender did
            keep_texts(conn, contents)
        _insert_attempts(conn, run, run.attempts, price)
        totals.add(M.TEST_RUNS.total, {"suite": run.suite, "status": run.status})
        if count is not None:
            count(totals, True)
        totals.flush(conn, now)
        _set_meta(conn, "last_ingest", repr(now))
    return SaveResult((True, seq))


def begin_run(store: Store, run: Run) -> int:
    """Start a run that attempts are added to in batches; it stays ``incomplete`` until finished."""
    now = time.time()
    with store.transaction() as conn:
        return _begin_in(conn, store, run, now)


def _begin_in(conn: sqlite3.Connection, store: Store, run: Run, now: float) -> int:
    """The run's row (``incomplete``) and its tracked files, in the caller's transaction; its sequence number."""
    totals = Totals(key_cache(store))  # the plugin's path: no gate load per session
    seq = _insert_run_row(conn, run, "incomplete", now)
    _record_tracked_files(conn, run, run.tracked_files, totals, now)
    totals.flush(conn, now)
    return seq


def add_attempts(store: Store, run: Run, attempts: Sequence[Attempt], price: PriceFn | None = None) -> None:
    """Add one batch of attempts to a run started with :func:`begin_run` (one transaction)."""
    with store.transaction() as conn:
        _insert_attempts(conn, run, attempts, price)


def finish_run(store: Store, run: Run, finished_at: float | None = None, exit_code: int | None = None,
               counts: dict | None = None) -> None:
    """Mark a run complete, with pytest's exit code and summary counts when known (:mod:`rq_obs.store.outcomes`)."""
    now = time.time()
    with store.transaction() as conn:
        _finish_in(conn, store, run, finished_at or now, exit_code, counts, now)


def _finish_in(conn: sqlite3.Connection, store: Store, run: Run, finished_at: float, exit_code: int | None,
               counts: dict | None, now: float) -> None:
    from rq_obs.store.outcomes import set_outcome

    conn.execute("UPDATE runs SET status = 'complete', finished_at = ? WHERE run_id = ?", (finished_at, run.run_id))
    set_outcome(conn, run.run_id, exit_code, counts)
    totals = Totals(key_cache(store))  # the plugin's path: no gate load per session
    totals.add(M.TEST_RUNS.total, {"suite": run.suite, "status": "complete"})
    totals.flush(conn, now)
    _set_meta(conn, "last_ingest", repr(now))


def mark_series_old(store: Store, created_before: float) -> int:
    """Series created at or before ``created_before`` are no longer new (``created_at`` NULL).

    For series whose history is already in Prometheus (backfilled): their live value must not
    restart at 0 for ``new_series_grace``, which Prometheus would read as a counter reset.
    """
    with store.transaction() as conn:
        return conn.execute("UPDATE totals SET created_at = NULL WHERE created_at <= ?", (created_before,)).rowcount


def prune(store: Store, older_than: float) -> int:
    """Delete raw runs (and their attempts, calls, file states) started before ``older_than``.

    Attempts not yet counted are folded into the totals first, in the same transaction; the
    totals are untouched by the delete, so counters derived from them never go backwards.
    """
    with store.transaction() as conn:
        totals = capped_totals(store, conn)
        _, arrived = fold_in(conn, totals)
        totals.flush(conn, arrived)
        cur = conn.execute("DELETE FROM runs WHERE started_at < ?", (older_than,))
        return cur.rowcount


def get_run(store: Store, run_id: str) -> sqlite3.Row | None:
    rows = store.query("SELECT * FROM runs WHERE run_id = ?", (run_id,))
    return rows[0] if rows else None


def list_runs(store: Store, limit: int = 20) -> list[dict]:
    """Recent runs, newest first: pytest's summary counts, per-attempt counts, pass rate, exit code.

    ``counts`` are the counts of pytest's own summary line when the plugin recorded them (see
    :mod:`rq_obs.telemetry.summary`); for other runs (JUnit import, pushes) they are the attempt
    counts. ``attempt_counts`` counts stored attempts by outcome (each rerun is an attempt). The
    pass rate is passed / (passed + failed + error) of ``attempt_counts`` (as on the dashboards and in a
    snapshot); ``summary_pass_rate`` is the same ratio of ``counts``.
    """
    import json

    from rq_obs.store.outcomes import summary_columns
    from rq_obs.telemetry.summary import pass_rate

    extra = ", exit_code, summary" if summary_columns(store.connect()) else ", NULL AS exit_code, NULL AS summary"
    runs = store.query(
        "SELECT run_id, suite, sequence, started_at, finished_at, status, commit_sha, branch" + extra + " FROM runs "
        "ORDER BY started_at DESC, sequence DESC LIMIT ?",
        (limit,),
    )
    out = []
    for r in runs:
        attempt_counts = dict.fromkeys(OUTCOMES, 0)
        for o, n in store.query("SELECT outcome, COUNT(*) FROM attempts WHERE run_id = ? GROUP BY outcome",
                                (r["run_id"],)):
            attempt_counts[o] = n
        counts = dict.fromkeys(OUTCOMES, 0)
        counts.update(json.loads(r["summary"]) if r["summary"] else attempt_counts)
        out.append({
            "run_id": r["run_id"], "suite": r["suite"], "sequence": r["sequence"], "started_at": r["started_at"],
            "finished_at": r["finished_at"], "status": r["status"], "commit": r["commit_sha"], "branch": r["branch"],
            "exit_code": r["exit_code"], "counts": counts, "attempt_counts": attempt_counts,
            # pass rate: of attempts, every rerun counted (the word's one meaning: docs/ANALYTICS.md, "Words");
            # summary pass rate: of pytest's summary line (each test's final outcome once, a rerun apart)
            "pass_rate": pass_rate(attempt_counts), "summary_pass_rate": pass_rate(counts),
        })
    return out
