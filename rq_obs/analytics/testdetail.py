"""Per-test questions answered from the store: worst tests of a suite, one test's attempts, its last
failure, its flips, the suites. What ``rq-obs serve``'s read-only API (:mod:`rq_obs.server.api`) and the
Grafana test detail dashboard show.

The words mean what docs/ANALYTICS.md says: worst-N ranks the figures of
:func:`rq_obs.analysis.flaky.analyse` (pass rate, flips, p95 duration, state) over the same window (attempts
of runs *started* in it), and a flip is :func:`rq_obs.analysis.flaky.flip_points`'. Retries are attempts
after the first (``attempt > 1``), as ``rqobs_test_retries_total`` counts them.
"""

from __future__ import annotations

import json
from typing import Any

from rq_obs.analysis import flaky as fl
from rq_obs.analytics import queries as q
from rq_obs.config import Config
from rq_obs.errors import UsageError
from rq_obs.redact import redact
from rq_obs.store.db import Store
from rq_obs.telemetry.failures import ATTRIBUTE as FAILURE_ATTRIBUTE

__all__ = ["NotFound", "WORST_BY", "suites", "test_names", "figures", "rank", "worst", "history", "last_failure",
           "flips", "attributes_of"]

#: worst-N orders: name -> (what it ranks, as the API and docs/API.md say)
WORST_BY = {
    "pass_rate": "lowest pass rate first (tests that always passed are left out)",
    "failures": "most failed + error attempts first (tests without one are left out)",
    "retries": "most attempts after the first (reruns) first (tests without one are left out)",
    "flips": "most flips first, then highest flip rate (tests without one are left out)",
    "duration": "highest p95 duration of counted attempts first",
}


class NotFound(UsageError):
    """Nothing in the store answers the question (an unknown test, a run without the test)."""

    def __init__(self, message: str, parameter: str):
        super().__init__(message)
        self.parameter = parameter


def attributes_of(text: str | None) -> dict[str, Any]:
    """An attempt's stored attributes, every text value redacted again (the store is already redacted at
    record and ingest time; this guards rows written by anything else)."""
    try:
        attrs = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(attrs, dict):
        return {}
    return {k: redact(v) if isinstance(v, str) else v for k, v in attrs.items()}


def suites(store: Store) -> list[dict[str, Any]]:
    """Every suite: runs stored, the latest run (id, start) and the tests in it."""
    rows = store.query(
        "SELECT r.suite, COUNT(*), MAX(r.started_at), "
        "(SELECT run_id FROM runs l WHERE l.suite = r.suite ORDER BY l.started_at DESC, l.sequence DESC LIMIT 1) "
        "FROM runs r GROUP BY r.suite ORDER BY r.suite")
    out = []
    for suite, runs, last_at, last_run in rows:
        tests = store.query("SELECT COUNT(DISTINCT test) FROM attempts WHERE run_id = ?", (last_run,))[0][0]
        out.append({"suite": suite, "runs": runs, "last_run_id": last_run, "last_run_at": last_at,
                    "tests_in_last_run": tests})
    return out


def test_names(store: Store, since: float, suite: str | None = None, contains: str = "", limit: int = 100) -> list[str]:
    """Names of tests with attempts in runs started since ``since`` (of one suite), containing ``contains``."""
    sql = "SELECT DISTINCT a.test FROM runs r JOIN attempts a ON a.run_id = r.run_id WHERE r.started_at >= ?"
    params: list = [since]
    sql += q.and_equal(params, {"r.suite": suite})
    if contains:
        sql += " AND instr(a.test, ?) > 0"
        params.append(contains)
    sql += " ORDER BY a.test LIMIT ?"
    params.append(limit)
    return [r[0] for r in store.query(sql, params)]


def _retries(rows: list[fl.AttemptRow]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for r in rows:
        if r.attempt > 1:
            out[(r.suite, r.test)] = out.get((r.suite, r.test), 0) + 1
    return out


def _key(by: str, t: fl.TestFlakiness, retries: int):
    """(keep?, sort key) of one test for a worst-N order."""
    if by == "pass_rate":
        return t.pass_rate is not None and t.pass_rate < 1.0, (t.pass_rate, -t.failed, t.suite, t.test)
    if by == "failures":
        return t.failed > 0, (-t.failed, t.pass_rate, t.suite, t.test)
    if by == "retries":
        return retries > 0, (-retries, t.suite, t.test)
    if by == "flips":
        return t.flips > 0, (-t.flips, -(t.flip_rate or 0.0), t.suite, t.test)
    return True, (-(t.duration_p95 or 0.0), t.suite, t.test)


def figures(store: Store, config: Config, now: float, since: float,
            suite: str | None = None) -> list[tuple[fl.TestFlakiness, int]]:
    """Every test's flakiness (:func:`rq_obs.analysis.flaky.analyse`) and retries over runs started in
    [since, now), of one suite or all: what :func:`rank` orders (the costly part: every attempt is read)."""
    rows = q.window_attempts(store, since, now, suite=suite)
    retries = _retries(rows)
    return [(t, retries.get((t.suite, t.test), 0))
            for t in fl.analyse(rows, config.flaky_band, config.flaky_min_attempts)]


def rank(tests: list[tuple[fl.TestFlakiness, int]], by: str, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` worst of :func:`figures` by ``by`` (one of :data:`WORST_BY`), with their rank."""
    if by not in WORST_BY:
        raise UsageError(f"worst tests by {by!r}: expected one of {', '.join(WORST_BY)}")
    ranked = []
    for t, n in tests:
        keep, key = _key(by, t, n)
        if keep:
            ranked.append((key, t, n))
    ranked.sort(key=lambda x: x[0])
    return [{**t.to_dict(), "retries": n, "rank": i} for i, (_, t, n) in enumerate(ranked[:limit], start=1)]


def worst(store: Store, config: Config, now: float, since: float, by: str, limit: int,
          suite: str | None = None) -> list[dict[str, Any]]:
    """The ``limit`` worst tests (of one suite, or all) over runs started in [since, now), ranked ``by``."""
    return rank(figures(store, config, now, since, suite), by, limit)


def _where_test(test: str, suite: str | None) -> tuple[str, list]:
    params: list = [test]
    return "a.test = ?" + q.and_equal(params, {"r.suite": suite}), params


def _known(store: Store, test: str, suite: str | None) -> None:
    where, params = _where_test(test, suite)
    if not store.query(f"SELECT 1 FROM attempts a JOIN runs r ON r.run_id = a.run_id WHERE {where} LIMIT 1", params):
        raise NotFound(f"no attempt of test {test!r}" + (f" in suite {suite!r}" if suite is not None else "")
                       + " in the store", "test")


_ATTEMPT_COLUMNS = ("a.outcome, a.duration, a.attempt, a.variant, a.started_at, r.run_id, r.suite, r.sequence, "
                    "r.commit_sha, r.branch, a.trace_id, a.attributes")


def _attempt(row) -> dict[str, Any]:
    attrs = attributes_of(row[11])
    return {"outcome": row[0], "duration": row[1], "attempt": row[2], "variant": row[3], "started_at": row[4],
            "run_id": row[5], "suite": row[6], "sequence": row[7], "commit": row[8], "branch": row[9],
            "trace_id": row[10], "failure_message": attrs.get(FAILURE_ATTRIBUTE, "")
            if row[0] in ("failed", "error") else ""}


def history(store: Store, test: str, suite: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The test's attempts, newest first (every attempt, reruns and skips included)."""
    _known(store, test, suite)
    where, params = _where_test(test, suite)
    rows = store.query(f"SELECT {_ATTEMPT_COLUMNS} FROM attempts a JOIN runs r ON r.run_id = a.run_id "
                       f"WHERE {where} ORDER BY a.started_at DESC, r.sequence DESC, a.attempt DESC LIMIT ?",
                       [*params, limit])
    return [_attempt(r) for r in rows]


def last_failure(store: Store, test: str, suite: str | None = None) -> dict[str, Any] | None:
    """The test's latest failed or error attempt with its message (None when it never failed)."""
    _known(store, test, suite)
    where, params = _where_test(test, suite)
    rows = store.query(f"SELECT {_ATTEMPT_COLUMNS} FROM attempts a JOIN runs r ON r.run_id = a.run_id "
                       f"WHERE {where} AND a.outcome IN ('failed', 'error') "
                       f"ORDER BY a.started_at DESC, r.sequence DESC, a.attempt DESC LIMIT 1", params)
    return _attempt(rows[0]) if rows else None


def flips(store: Store, config: Config, test: str, now: float, since: float,
          suite: str | None = None) -> tuple[list[dict[str, Any]], list[fl.TestFlakiness]]:
    """Each flip of the test over runs started in [since, now), newest first, and its flakiness per suite
    (:func:`rq_obs.analysis.flaky.analyse` of the same attempts)."""
    _known(store, test, suite)
    rows = q.window_attempts(store, since, now, suite=suite, test=test)
    out = []
    by_suite: dict[str, list[fl.AttemptRow]] = {}
    for r in rows:
        by_suite.setdefault(r.suite, []).append(r)
    for group in by_suite.values():
        for a, b in fl.flip_points(group):
            out.append({"suite": b.suite, "from": a.outcome, "to": b.outcome, "started_at": b.started_at,
                        "run_id": b.run_id, "sequence": b.sequence, "commit": b.commit, "variant": b.variant,
                        "attempt": b.attempt, "previous_run_id": a.run_id, "previous_started_at": a.started_at})
    out.sort(key=lambda f: (-f["started_at"], -f["sequence"], -f["attempt"], f["suite"]))
    return out, fl.analyse(rows, config.flaky_band, config.flaky_min_attempts)
