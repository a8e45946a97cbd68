"""The read-only JSON API of a real `rq-obs serve` process (its own port, real HTTP requests): every answer
checked against the store and the analytics (`rq-obs flaky`'s figures), hostile requests answered with a
JSON 400/404 naming the parameter, a secret planted in the store never answered."""

from __future__ import annotations

import difflib
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.parse

import pytest

from rq_obs.analytics.reports import flaky_report
from rq_obs.config import Config
from rq_obs.store import Store
from tests.server.apistore import HOUR, NOW, PLANTED, SQLISH, build
from tests.server.conftest import request

@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from rq_obs.demo.processes import Service, Services

    tmp = tmp_path_factory.mktemp("api")
    path = build(tmp / "store.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RQ_OBS_")}
    with Services() as services:
        srv = services.start_on_free_port(lambda port: Service(
            "rq-obs serve", f"http://127.0.0.1:{port}",
            [sys.executable, "-m", "rq_obs", "serve", "--store", str(path), "--port", str(port),
             "--log-level", "info"], tmp / "serve.log", ready_path="/healthz", cwd=str(tmp), env=env), 60)
        yield srv.url, path, tmp / "serve.log"


def get(url: str, path: str, **params):
    reply = request(url + path + ("?" + urllib.parse.urlencode(params) if params else ""))
    assert reply.headers["Content-Type"].startswith("application/json"), reply.headers
    return reply.status, reply.json()


def rows(path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return [tuple(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def test_suites_are_the_stores(served):
    url, path, _ = served
    status, doc = get(url, "/api/v1/suites")
    assert status == 200
    assert [(r["suite"], r["runs"], r["last_run_id"]) for r in doc["rows"]] == [("nightly", 1, "nightly-1"),
                                                                                 ("shop", 13, "shop-12")]
    assert doc["rows"][1]["tests_in_last_run"] == 8


def test_history_is_the_stores_attempts_newest_first(served):
    url, path, _ = served
    status, doc = get(url, "/api/v1/tests/history", test="t::rerun", suite="shop")
    assert status == 200
    stored = rows(path, "SELECT a.outcome, a.duration, a.attempt, a.variant, a.started_at, r.run_id "
                        "FROM attempts a JOIN runs r ON r.run_id = a.run_id WHERE a.test = 't::rerun' "
                        "AND r.suite = 'shop' ORDER BY a.started_at DESC, a.attempt DESC")
    assert [(r["outcome"], r["duration"], r["attempt"], r["variant"], r["started_at"], r["run_id"])
            for r in doc["rows"]] == stored
    assert len(stored) == 15  # 12 runs, 3 of them with a rerun
    assert [r["failure_message"] for r in doc["rows"] if r["outcome"] == "failed"] == ["TimeoutError: order service"] * 3
    # every suite when none is named; a limit
    _, both = get(url, "/api/v1/tests/history", test="t::steady", limit="2")
    assert [(r["suite"], r["run_id"], r["outcome"]) for r in both["rows"]] == [("shop", "shop-12", "passed"),
                                                                              ("nightly", "nightly-1", "failed")]


def test_last_failure_is_the_latest_failed_attempt_and_its_message(served):
    url, _, _ = served
    _, doc = get(url, "/api/v1/tests/last-failure", test="t::broken", suite="shop")
    assert (doc["failure"]["run_id"], doc["failure"]["failure_message"]) == ("shop-12", "ValueError: boom 12")
    assert doc["rows"] == [doc["failure"]]
    _, never = get(url, "/api/v1/tests/last-failure", test="t::slow")
    assert never["failure"] is None and never["rows"] == []
    _, old = get(url, "/api/v1/tests/last-failure", test="t::steady", suite="shop")
    assert old["failure"]["failure_message"] == "old failure"  # not windowed: the latest, however old


def _analytics(path, window="7d") -> list:
    store = Store(path, readonly=True)
    try:
        return [t for t in flaky_report(store, Config(), time.time(), window) if t.suite == "shop"]
    finally:
        store.close()


@pytest.mark.parametrize("by", ["pass_rate", "failures", "retries", "flips", "duration"])
def test_worst_n_ranks_the_analytics_figures(served, by):
    url, path, _ = served
    status, doc = get(url, "/api/v1/tests/worst", suite="shop", by=by, limit="3")
    assert status == 200 and doc["by"] == by and doc["window"] == "7d"
    tests = _analytics(path)
    retries = dict(rows(path, "SELECT a.test, COUNT(*) FROM attempts a JOIN runs r ON r.run_id = a.run_id "
                              "WHERE r.suite = 'shop' AND a.attempt > 1 AND r.started_at >= ? GROUP BY a.test",
                        (NOW - 7 * 86400,)))
    figure = {"pass_rate": lambda t: t.pass_rate, "failures": lambda t: -t.failed,
              "retries": lambda t: -retries.get(t.test, 0), "flips": lambda t: -t.flips,
              "duration": lambda t: -t.duration_p95}[by]
    keep = {"pass_rate": lambda t: t.pass_rate < 1, "failures": lambda t: t.failed > 0,
            "retries": lambda t: retries.get(t.test, 0) > 0, "flips": lambda t: t.flips > 0,
            "duration": lambda t: True}[by]
    expected = sorted((t for t in tests if keep(t)), key=lambda t: (figure(t), t.test))[:3]
    assert [r["test"] for r in doc["rows"]] == [t.test for t in expected]
    for r, t in zip(doc["rows"], expected):  # the analytics' own figures, state included
        assert {k: r[k] for k in t.to_dict()} == t.to_dict()
    assert [r["rank"] for r in doc["rows"]] == list(range(1, len(expected) + 1))


def test_worst_n_agrees_with_rq_obs_flaky(served):
    """Parity with the CLI users already read: the states and pass rates `rq-obs flaky --format json` prints."""
    url, path, _ = served
    out = subprocess.run([sys.executable, "-m", "rq_obs", "flaky", "--store", str(path), "--all", "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    cli = {(t["suite"], t["test"]): t for t in json.loads(out)["tests"]}
    _, doc = get(url, "/api/v1/tests/worst", suite="shop", by="duration", limit="100")
    assert len(doc["rows"]) == len([k for k in cli if k[0] == "shop"]) == 7
    for r in doc["rows"]:
        t = cli[("shop", r["test"])]
        assert (r["state"], r["pass_rate"], r["flips"]) == (t["state"], t["pass_rate"], t["flips"])


def test_window_parameter_bounds_the_attempts(served):
    url, path, _ = served
    _, week = get(url, "/api/v1/tests/worst", suite="shop", by="failures", limit="100")
    _, month = get(url, "/api/v1/tests/worst", suite="shop", by="failures", limit="100", window="30d")
    assert "t::steady" not in [r["test"] for r in week["rows"]]  # its only failure is 20 days old
    assert [r["failed"] for r in month["rows"] if r["test"] == "t::steady"] == [1]
    _, day = get(url, "/api/v1/tests/worst", suite="shop", by="failures", limit="100", window="14h")
    assert {r["test"]: r["attempts"] for r in day["rows"]}["t::broken"] == 3  # runs 10, 11, 12
    assert month["rows"] == [dict(r, rank=i) for i, r in enumerate(
        sorted(month["rows"], key=lambda r: (-r["failed"], r["pass_rate"], r["test"])), start=1)]


def test_flips_are_the_analytics_flips(served):
    url, path, _ = served
    _, doc = get(url, "/api/v1/tests/flips", test="t::flaky", suite="shop")
    (t,) = [t for t in _analytics(path) if t.test == "t::flaky"]
    assert len(doc["rows"]) == t.flips == 11
    assert doc["flakiness"][0]["flips"] == t.flips and doc["flakiness"][0]["state"] == t.state == "flaky"
    # newest first, each the change from the previous run's outcome
    assert [(f["run_id"], f["previous_run_id"], f["from"], f["to"]) for f in doc["rows"][:2]] == [
        ("shop-12", "shop-11", "failed", "passed"), ("shop-11", "shop-10", "passed", "failed")]
    _, none = get(url, "/api/v1/tests/flips", test="t::broken", suite="shop")
    assert none["rows"] == []


def test_response_diff_is_difflibs_diff_of_the_stored_responses(served):
    url, path, _ = served
    stored = dict(rows(path, "SELECT r.run_id, json_extract(a.attributes, '$.response') FROM attempts a "
                             "JOIN runs r ON r.run_id = a.run_id WHERE a.test = 't::answer'"))
    for params, (ra, rb) in [({}, ("shop-11", "shop-12")), ({"run_a": "shop-03", "run_b": "shop-04"},
                                                           ("shop-03", "shop-04")),
                             ({"run_b": "shop-05"}, ("shop-04", "shop-05"))]:
        status, doc = get(url, "/api/v1/tests/response-diff", test="t::answer", suite="shop", **params)
        assert status == 200, doc
        want = list(difflib.unified_diff(stored[ra].splitlines(), stored[rb].splitlines(),
                                         f"t::answer @ run {ra}", f"t::answer @ run {rb}", lineterm=""))
        assert (doc["a"]["run_id"], doc["b"]["run_id"]) == (ra, rb)
        assert (doc["a"]["text"], doc["b"]["text"]) == (stored[ra], stored[rb])
        assert [r["line"] for r in doc["rows"]] == want and doc["diff"] == "".join(w + "\n" for w in want)
        assert doc["changed"] is (stored[ra] != stored[rb])
    _, same = get(url, "/api/v1/tests/response-diff", test="t::answer", run_a="shop-04", run_b="shop-05")
    assert same["changed"] is False and same["rows"] == []


def test_the_response_diff_command_prints_the_same_diff(served):
    _, path, _ = served
    base = [sys.executable, "-m", "rq_obs", "response-diff", "t::answer", "--store", str(path)]
    out = subprocess.run(base + ["--run", "shop-02", "--run", "shop-03", "--format", "json"], capture_output=True,
                         text=True, check=True).stdout
    doc = json.loads(out)
    text = subprocess.run(base + ["--run", "shop-02", "--run", "shop-03"], capture_output=True, text=True,
                          check=True).stdout
    assert text == doc["diff"] and "-route: billing" in text and "+route: unknown" in text
    differs = subprocess.run(base + ["--run", "shop-02", "--run", "shop-03", "--exit-code"], capture_output=True,
                             text=True)
    assert differs.returncode == 1
    missing = subprocess.run(base + ["--run", "nope", "--run", "shop-03"], capture_output=True, text=True)
    assert missing.returncode == 2 and "run 'nope' recorded no 'response' attribute" in missing.stderr


def test_a_secret_planted_in_the_store_is_never_answered(served):
    url, path, log = served
    assert rows(path, "SELECT COUNT(*) FROM attempts WHERE attributes LIKE ?", (f"%{PLANTED}%",))[0][0] == 12
    answers = [get(url, "/api/v1/tests/history", test="t::secret"),
               get(url, "/api/v1/tests/last-failure", test="t::secret"),
               get(url, "/api/v1/tests/response-diff", test="t::secret"),
               get(url, "/api/v1/tests/worst", by="failures", limit="100")]
    for status, doc in answers:
        assert status == 200 and PLANTED not in json.dumps(doc)
    assert answers[1][1]["failure"]["failure_message"] == "<redacted: GitHub token>"
    assert PLANTED not in log.read_text()


@pytest.mark.parametrize("path, params, status, parameter, expected", [
    ("/api/v1/tests/worst", {"limit": "0"}, 400, "limit", "an integer 1-1000"),
    ("/api/v1/tests/worst", {"limit": "9" * 40}, 400, "limit", "an integer 1-1000"),
    ("/api/v1/tests/worst", {"limit": "-5"}, 400, "limit", "an integer 1-1000"),
    ("/api/v1/tests/worst", {"limit": "1e3"}, 400, "limit", "an integer 1-1000"),
    ("/api/v1/tests/worst", {"by": "name; DROP TABLE runs"}, 400, "by", "pass_rate, failures"),
    ("/api/v1/tests/worst", {"window": "7x"}, 400, "window", "a duration"),
    ("/api/v1/tests/worst", {"window": "9" * 30 + "y"}, 400, "window", "a duration"),
    ("/api/v1/tests/worst", {"window": "7" * 4000 + "d"}, 400, "window", "a duration"),
    ("/api/v1/tests/worst", {"window": "11y"}, 400, "window", "a duration"),
    ("/api/v1/tests/worst", {"sort": "x"}, 400, "sort", "one of: by, limit, suite, window"),
    ("/api/v1/tests/history", {}, 400, "test", "a test id"),
    ("/api/v1/tests/history", {"test": "t::nope"}, 404, "test", None),
    ("/api/v1/tests/history", {"test": SQLISH + "x"}, 404, "test", None),
    ("/api/v1/tests/history", {"test": "x" * 5000}, 400, "test", "a test id"),
    ("/api/v1/tests/history", {"test": "t::steady", "limit": "10001"}, 400, "limit", "an integer 1-10000"),
    ("/api/v1/tests/flips", {"test": "t::steady", "suite": "' OR 1=1 --"}, 404, "test", None),
    ("/api/v1/tests/response-diff", {"test": "t::steady"}, 404, "run_b", None),
    ("/api/v1/tests/response-diff", {"test": "t::answer", "run_a": "shop-01' --"}, 404, "run_a", None),
])
def test_bad_requests_get_a_json_error_naming_the_parameter(served, path, params, status, parameter, expected):
    url, db, _ = served
    got, doc = get(url, path, **params)
    assert (got, doc.get("parameter")) == (status, parameter), doc
    assert doc["error"]
    if expected:
        assert expected in doc["expected"], doc
    assert rows(db, "SELECT COUNT(*) FROM runs")[0][0] == 14  # nothing dropped


def test_a_sql_like_test_id_is_just_a_name(served):
    url, _, _ = served
    status, doc = get(url, "/api/v1/tests/history", test=SQLISH)
    assert status == 200 and len(doc["rows"]) == 12 and {r["outcome"] for r in doc["rows"]} == {"skipped"}


def test_malformed_queries_and_unknown_routes(served):
    url, _, _ = served
    for target, status, parameter in [
        ("/api/v1/tests/history?test=%ff%fe", 400, None),  # not UTF-8
        ("/api/v1/tests/history?test=a&test=b", 400, "test"),
        ("/api/v1/tests/history?" + "&".join(f"p{i}=1" for i in range(40)), 400, None),
        ("/api/v1/tests/history?test=a%00b", 400, "test"),
        ("/api/v1/nope", 404, None),
        ("/api/v1/tests/worst/extra", 404, None),
    ]:
        reply = request(url + target)
        doc = reply.json()
        assert (reply.status, doc.get("parameter")) == (status, parameter), (target, doc)
        assert doc["error"]
    posted = request(url + "/api/v1/tests/worst", b"{}", {"Content-Type": "application/json"})
    assert posted.status == 405 and posted.headers["Allow"] == "GET, HEAD"
    index = request(url + "/api/v1/").json()["routes"]
    assert "/api/v1/tests/worst" in index and "limit" in index["/api/v1/tests/worst"]["parameters"]
    assert "/api/v1/" in request(url + "/").json()["routes"]


def test_the_api_reads_the_store_read_only(served, tmp_path):
    from rq_obs.server.api import Api

    _, path, _ = served
    with pytest.raises(ValueError, match="read-only"):
        Api(Config(), Store(tmp_path / "w.db"))
    api = Api(Config(), Store(path, readonly=True))
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        api.store.connect().execute("DELETE FROM runs")
    reply = api.answer("/api/v1/suites", "")
    assert reply.status == 200 and json.loads(reply.body)["rows"][0]["suite"] == "nightly"
    api.store.close()


def test_worst_n_is_recomputed_once_the_store_changes(tmp_path):
    """The figures behind worst-N are cached per (suite, window) while the store's fingerprint is unchanged;
    a new run changes it and the next answer has the run."""
    from rq_obs.server.api import Api
    from rq_obs.store import Attempt, Run
    from rq_obs.store.runs import save_run

    path = build(tmp_path / "store.db")
    api = Api(Config(), Store(path, readonly=True))

    def failures() -> dict[str, int]:
        reply = api.answer("/api/v1/tests/worst", "suite=shop&by=failures&limit=100")
        return {r["test"]: r["failed"] for r in json.loads(reply.body)["rows"]}

    before = failures()
    assert "t::slow" not in before and failures() == before
    writer = Store(path)
    save_run(writer, Run("shop-13", "shop", NOW - 60, NOW - 30, attempts=(Attempt("t::slow", "failed", 9.0,
                                                                                    started_at=NOW - 60),)))
    writer.close()
    assert failures() == {**before, "t::slow": 1}
    api.store.close()
