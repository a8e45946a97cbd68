"""Thin store readers for the analyses: plain rows in, no statistics here.

Windows are on the *run's* start time (``runs.started_at`` is indexed), so all
attempts of a run fall on the same side of a window boundary.
"""

from __future__ import annotations

import json
from typing import Sequence

from rq_obs.analysis.disambiguation import AttributedAttempt
from rq_obs.analysis.executive import ANOMALY_DAYS, DAY, WEEK, midnight_utc
from rq_obs.analysis.experiments import Arm
from rq_obs.analysis.flaky import AttemptRow
from rq_obs.analysis.impact import ChangeEvent
from rq_obs import durations
from rq_obs.telemetry import attributes as A
from rq_obs.store.db import Store

__all__ = ["duration_seconds", "and_equal", "window_attempts", "first_seen", "experiment_arms", "change_events",
           "first_attempt_tallies", "week_counts", "costs", "fingerprint", "attributed_attempts"]

def duration_seconds(text: str, what: str = "--window") -> float:
    """``7d`` -> 604800.0; a UsageError naming ``what`` otherwise."""
    return durations.seconds(text, what)


def and_equal(params: list, columns: dict[str, object]) -> str:
    """`` AND column = ?`` for each column whose value is not None (the values appended to ``params``)."""
    sql = ""
    for column, value in columns.items():
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    return sql


def window_attempts(store: Store, since: float, until: float | None = None, suite: str | None = None,
                    test: str | None = None) -> list[AttemptRow]:
    """Every attempt of runs started in [since, until) (of one suite, of one test, when given)."""
    # one test: its attempts through their (test, started_at) index first (SQLite keeps a CROSS JOIN's order),
    # not every attempt of the window's runs
    source = "attempts a CROSS JOIN runs r ON r.run_id = a.run_id" if test is not None else \
        "runs r JOIN attempts a ON a.run_id = r.run_id"
    sql = ("SELECT r.suite, a.test, a.outcome, a.duration, a.started_at, a.attempt, r.run_id, r.commit_sha, r.sequence, "
           f"a.variant FROM {source} WHERE r.started_at >= ?")
    params: list = [since]
    if until is not None:
        sql += " AND r.started_at < ?"
        params.append(until)
    sql += and_equal(params, {"r.suite": suite, "a.test": test})
    cur = store.connect().cursor()
    cur.row_factory = None  # plain tuples: sqlite3.Row costs more than the analysis on 100,000s of rows
    return list(map(AttemptRow._make, cur.execute(sql, params)))


def attributed_attempts(store: Store, since: float, until: float | None = None,
                        suite: str | None = None) -> list[AttributedAttempt]:
    """Attempts of runs started in [since, until) (of one suite, or all) that attached an input or an expected
    route; their ``attributes`` hold only the routing attributes (rq_obs.telemetry.attributes.READ), extracted
    by SQLite's JSON functions rather than decoding every attribute in Python."""
    keys = A.READ
    cols = ", ".join("json_extract(a.attributes, ?)" for _ in keys)
    paths = [f'$."{k}"' for k in keys]
    sql = (f"SELECT r.suite, a.test, a.outcome, a.markers, {cols} FROM runs r JOIN attempts a ON a.run_id = r.run_id "
           "WHERE r.started_at >= ? AND a.attributes != '{}'")
    params: list = [*paths, since]
    if until is not None:
        sql += " AND r.started_at < ?"
        params.append(until)
    if suite is not None:
        sql += " AND r.suite = ?"
        params.append(suite)
    sql += " ORDER BY a.id"
    cur = store.connect().cursor()
    cur.row_factory = None
    out = []
    for row in cur.execute(sql, params):
        attrs = {k: v for k, v in zip(keys, row[4:]) if v is not None}
        if attrs:
            markers = row[3]
            out.append(AttributedAttempt(row[0], row[1], row[2], tuple(json.loads(markers)) if markers != "[]" else (),
                                         attrs))
    return out


def first_seen(store: Store) -> dict[tuple[str, str], float]:
    """(suite, test) -> earliest attempt start in the store."""
    rows = store.query("SELECT r.suite, a.test, MIN(a.started_at) FROM attempts a JOIN runs r ON r.run_id = a.run_id "
                       "GROUP BY r.suite, a.test")
    return {(r[0], r[1]): r[2] for r in rows}


def experiment_arms(store: Store, experiment: str | None = None) -> list[Arm]:
    """Counts and sums per (experiment, variant) over first attempts of runs with an experiment."""
    where = "r.experiment != 'none'" + (" AND r.experiment = ?" if experiment is not None else "")
    params: Sequence = (experiment,) if experiment is not None else ()
    sql = f"""
        SELECT r.experiment, a.variant, COUNT(*),
               SUM(a.outcome = 'passed'), SUM(a.outcome IN ('passed', 'failed', 'error')),
               SUM(a.duration), SUM(a.duration * a.duration),
               SUM(COALESCE(c.tokens, 0)), SUM(COALESCE(c.tokens, 0) * COALESCE(c.tokens, 0)),
               SUM(COALESCE(c.cost, 0)), SUM(COALESCE(c.cost, 0) * COALESCE(c.cost, 0)), SUM(COALESCE(c.calls, 0))
        FROM runs r JOIN attempts a ON a.run_id = r.run_id
        LEFT JOIN (
            SELECT attempt_id, SUM(input_tokens + output_tokens) AS tokens, SUM(cost_usd) AS cost, COUNT(*) AS calls
            FROM api_calls WHERE run_id IN (SELECT run_id FROM runs r WHERE {where}) GROUP BY attempt_id
        ) c ON c.attempt_id = a.id
        WHERE {where} AND a.attempt = 1
        GROUP BY r.experiment, a.variant ORDER BY r.experiment, a.variant"""
    rows = store.query(sql, tuple(params) * 2)
    return [Arm(experiment=r[0], variant=r[1], samples=r[2], passed=r[3], counted=r[4], duration_sum=r[5],
                duration_sq=r[6], tokens_sum=r[7], tokens_sq=r[8], cost_sum=r[9], cost_sq=r[10], api_calls=r[11])
            for r in rows]


def change_events(store: Store, path: str | None = None) -> list[ChangeEvent]:
    """Recorded changes of tracked files (one path or all), oldest first."""
    sql = ("SELECT f.id, f.path, f.old_sha256, f.new_sha256, f.commit_sha, f.author, f.lines_added, f.lines_removed, "
           "f.changed_at, f.run_id, COALESCE(r.suite, '') FROM file_changes f LEFT JOIN runs r ON r.run_id = f.run_id")
    params: tuple = ()
    if path is not None:
        sql += " WHERE f.path = ?"
        params = (path,)
    sql += " ORDER BY f.path, f.changed_at, f.id"
    return [ChangeEvent(*row) for row in store.query(sql, params)]


def first_attempt_tallies(store: Store, start: float, split: float, end: float, suite: str = "") -> dict[str, list[int]]:
    """test -> [passed, counted] of first attempts (attempt = 1) of runs started in [start, split), then the same
    for [split, end); one suite ('' = all). Counted = passed + failed + error."""
    sql = ("SELECT a.test, r.started_at >= ?, SUM(a.outcome = 'passed'), COUNT(*) FROM runs r "
           "JOIN attempts a ON a.run_id = r.run_id WHERE r.started_at >= ? AND r.started_at < ? AND a.attempt = 1 "
           "AND a.outcome IN ('passed', 'failed', 'error')")
    params: list = [split, start, end]
    if suite:
        sql += " AND r.suite = ?"
        params.append(suite)
    sql += " GROUP BY a.test, r.started_at >= ?"
    params.append(split)
    out: dict[str, list[int]] = {}
    cur = store.connect().cursor()
    cur.row_factory = None
    for test, after, passed, counted in cur.execute(sql, params):
        t = out.setdefault(test, [0, 0, 0, 0])
        t[2 * after], t[2 * after + 1] = int(passed), int(counted)
    return out


def week_counts(store: Store, now: float) -> dict[str, tuple[tuple[int, int], tuple[int, int]]]:
    """suite -> ((passed, counted) in [now − 7 d, now), (passed, counted) in [now − 14 d, now − 7 d))."""
    rows = store.query(
        "SELECT r.suite, r.started_at >= ?, SUM(a.outcome = 'passed'), SUM(a.outcome IN ('passed', 'failed', 'error')) "
        "FROM runs r JOIN attempts a ON a.run_id = r.run_id WHERE r.started_at >= ? AND r.started_at < ? "
        "GROUP BY r.suite, r.started_at >= ?",
        (now - WEEK, now - 2 * WEEK, now, now - WEEK),
    )
    out: dict[str, list[tuple[int, int]]] = {}
    for suite, recent, passed, counted in rows:
        d = out.setdefault(suite, [(0, 0), (0, 0)])
        d[0 if recent else 1] = (int(passed or 0), int(counted or 0))
    return {s: (v[0], v[1]) for s, v in out.items()}


def costs(store: Store, now: float) -> tuple[float, float, dict[str, float], dict[str, list[float]]]:
    """(cost today, cost of the last 7 days, today's cost per model, the 14 previous days' costs per model)."""
    today = midnight_utc(now)
    start = today - ANOMALY_DAYS * DAY
    rows = store.query(
        "SELECT model, CAST((started_at - ?) / 86400 AS INTEGER), SUM(cost_usd) FROM api_calls "
        "WHERE started_at >= ? AND started_at < ? GROUP BY model, 2",
        (start, start, now),
    )
    today_by_model: dict[str, float] = {}
    history: dict[str, list[float]] = {}
    for model, day, cost in rows:
        if day >= ANOMALY_DAYS:
            today_by_model[model] = today_by_model.get(model, 0.0) + cost
        else:
            history.setdefault(model, [0.0] * ANOMALY_DAYS)[day] += cost
    for model in today_by_model:
        history.setdefault(model, [0.0] * ANOMALY_DAYS)
    week = store.query("SELECT COALESCE(SUM(cost_usd), 0) FROM api_calls WHERE started_at >= ? AND started_at < ?",
                       (now - WEEK, now))[0][0]
    return sum(today_by_model.values()), float(week), today_by_model, history


def fingerprint(store: Store) -> tuple:
    """Changes whenever a run is stored or a change event recorded (cheap: two indexed lookups)."""
    row = store.query("SELECT (SELECT value FROM meta WHERE key = 'last_ingest'), (SELECT MAX(id) FROM file_changes), "
                      "(SELECT COUNT(*) FROM file_changes)")[0]
    return tuple(row)
