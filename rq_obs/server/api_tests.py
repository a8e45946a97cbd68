"""The per-test routes of the read-only API (:mod:`rq_obs.server.api`): suites, tests, worst-N, history,
last failure, flips, response diff. Figures come from :mod:`rq_obs.analytics.testdetail` and
:mod:`rq_obs.analytics.responses` (definitions: docs/ANALYTICS.md)."""

from __future__ import annotations

from typing import Any

from rq_obs.analytics import responses, testdetail
from rq_obs.server.api import Api, Params, route

__all__: list[str] = []

_SUITE = "a suite name (optional: every suite when absent)"
_TEST = "a test id as stored (pytest node id), required"
_WINDOW = "a duration such as 24h, 7d, 30d (attempts of runs started in the window; default flaky_window)"


def _window(api: Api, p: Params) -> tuple[float, float, str]:
    now = api.clock()
    default = api.config.flaky_window
    seconds = p.window("window", default)
    return now, now - seconds, p.values.get("window") or default


@route("suites", "every suite: runs stored, the latest run and the tests in it")
def suites(api: Api, p: Params) -> dict[str, Any]:
    return {"rows": testdetail.suites(api.store)}


@route("tests", "names of the tests with attempts in the window, sorted",
       suite=_SUITE, contains="text the test id contains (optional)", window=_WINDOW,
       limit="an integer 1-10000 (default 1000)")
def tests(api: Api, p: Params) -> dict[str, Any]:
    suite, contains = p.text("suite"), p.text("contains") or ""
    limit = p.integer("limit", 1000, 1, 10_000)
    now, since, window = _window(api, p)
    names = testdetail.test_names(api.store, since, suite, contains, limit)
    return {"suite": suite, "window": window, "rows": [{"test": n} for n in names]}


@route("tests/worst", "the worst tests of a suite (docs/ANALYTICS.md definitions)",
       suite=_SUITE, by="one of " + ", ".join(testdetail.WORST_BY) + " (default pass_rate)",
       limit="an integer 1-1000 (default 10)", window=_WINDOW)
def worst(api: Api, p: Params) -> dict[str, Any]:
    suite = p.text("suite")
    by = p.choice("by", tuple(testdetail.WORST_BY), "pass_rate")
    limit = p.integer("limit", 10, 1, 1000)
    now, since, window = _window(api, p)
    # every test's figures over the window (the costly part) are shared by every order and N (docs/API.md)
    tests = api.figures(suite, window, now, since)
    rows = testdetail.rank(tests, by, limit)
    return {"suite": suite, "by": by, "order": testdetail.WORST_BY[by], "window": window, "rows": rows}


@route("tests/history", "one test's attempts, newest first", test=_TEST, suite=_SUITE,
       limit="an integer 1-10000 (default 100)")
def history(api: Api, p: Params) -> dict[str, Any]:
    test, suite = p.text("test", required=True), p.text("suite")
    limit = p.integer("limit", 100, 1, 10_000)
    return {"test": test, "suite": suite, "rows": testdetail.history(api.store, test, suite, limit)}


@route("tests/last-failure", "one test's latest failed or error attempt and its message", test=_TEST, suite=_SUITE)
def last_failure(api: Api, p: Params) -> dict[str, Any]:
    test, suite = p.text("test", required=True), p.text("suite")
    found = testdetail.last_failure(api.store, test, suite)
    return {"test": test, "suite": suite, "failure": found, "rows": [found] if found else []}


@route("tests/flips", "one test's flips (pass <-> fail between consecutive counted attempts), newest first",
       test=_TEST, suite=_SUITE, window=_WINDOW)
def flips(api: Api, p: Params) -> dict[str, Any]:
    test, suite = p.text("test", required=True), p.text("suite")
    now, since, window = _window(api, p)
    rows, analysed = testdetail.flips(api.store, api.config, test, now, since, suite)
    return {"test": test, "suite": suite, "window": window, "rows": rows,
            "flakiness": [t.to_dict() for t in analysed]}


@route("tests/response-diff", "one test's recorded response (attribute 'response') in two runs, as a unified diff",
       test=_TEST, suite=_SUITE, run_a="a run id (default: the latest run with a response before run_b)",
       run_b="a run id (default: the latest run with a response)")
def response_diff(api: Api, p: Params) -> dict[str, Any]:
    test, suite = p.text("test", required=True), p.text("suite")
    d = responses.diff(api.store, test, p.text("run_a"), p.text("run_b"), suite)
    out = d.to_dict()
    out["rows"] = out.pop("lines")
    return {**out, "suite": suite}
