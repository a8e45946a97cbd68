"""The demo's per-test views: `rq-obs serve`'s read-only JSON API (what the Test detail dashboard reads through
the Infinity data source) answers the demo's questions with the store's own values."""

from __future__ import annotations

import difflib
import json
import re
import sqlite3
import time
import urllib.parse

import pytest

from rq_obs.analytics.reports import flaky_report
from rq_obs.dashboards import render_all
from rq_obs.demo import script
from rq_obs.store import Store
from tests.helpers.procs import http_get

pytestmark = pytest.mark.e2e

AMBIGUOUS = "tests/test_router.py::test_ambiguous_intent"
ESCALATION = "tests/test_router.py::test_escalation_summary"


def get(serve: str, route: str, **params) -> dict:
    status, body = http_get(f"{serve}/api/v1/{route}?" + urllib.parse.urlencode(params), timeout=30)
    doc = json.loads(body)
    assert status == 200, (route, params, doc)
    return doc


def stored(path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def test_history_last_failure_and_response_diff_are_the_stores(demo):
    prepared, ep = demo
    db = prepared.layout.store
    history = get(ep.serve, "tests/history", test=AMBIGUOUS, suite=script.SUITE)["rows"]
    want = stored(db, "SELECT r.run_id, a.outcome, a.duration, a.attempt, a.variant FROM attempts a JOIN runs r "
                      "ON r.run_id = a.run_id WHERE a.test = ? AND r.suite = ? ORDER BY a.started_at DESC, "
                      "r.sequence DESC, a.attempt DESC", (AMBIGUOUS, script.SUITE))
    assert [(h["run_id"], h["outcome"], h["duration"], h["attempt"], h["variant"]) for h in history] == want
    assert len(want) == script.RUNS and sum(h["outcome"] == "failed" for h in history) == 3  # runs 1, 4, 7

    failure = get(ep.serve, "tests/last-failure", test=ESCALATION, suite=script.SUITE)["failure"]
    message = stored(db, "SELECT json_extract(a.attributes, '$.failure_message') FROM attempts a JOIN runs r "
                         "ON r.run_id = a.run_id WHERE a.test = ? ORDER BY a.started_at DESC LIMIT 1", (ESCALATION,))
    assert failure["failure_message"] == message[0][0]
    assert failure["failure_message"].startswith("AssertionError: summary misses the escalation contact")

    diff = get(ep.serve, "tests/response-diff", test=AMBIGUOUS, suite=script.SUITE)
    responses = stored(db, "SELECT r.run_id, json_extract(a.attributes, '$.response') FROM attempts a JOIN runs r "
                           "ON r.run_id = a.run_id WHERE a.test = ? ORDER BY r.started_at DESC, r.sequence DESC",
                       (AMBIGUOUS,))
    (b_run, b), (a_run, a) = responses[0], responses[1]
    assert (diff["a"]["run_id"], diff["b"]["run_id"]) == (a_run, b_run)
    assert [r["line"] for r in diff["rows"]] == list(difflib.unified_diff(
        a.splitlines(), b.splitlines(), f"{AMBIGUOUS} @ run {a_run}", f"{AMBIGUOUS} @ run {b_run}", lineterm=""))
    assert diff["changed"] and f"+run: {script.RUNS}" in diff["diff"]


def test_worst_tests_and_flips_are_the_analytics(demo):
    prepared, ep = demo
    store = Store(prepared.layout.store, readonly=True)
    try:
        tests = {t.test: t for t in flaky_report(store, prepared.config, time.time()) if t.suite == script.SUITE}
    finally:
        store.close()
    worst = get(ep.serve, "tests/worst", suite=script.SUITE, by="pass_rate", limit="3")["rows"]
    assert [w["test"] for w in worst] == [t.test for t in sorted(
        (t for t in tests.values() if t.pass_rate < 1), key=lambda t: (t.pass_rate, -t.failed, t.test))][:3]
    assert worst[0]["test"] == ESCALATION and worst[0]["state"] == "broken" == tests[ESCALATION].state
    flips = get(ep.serve, "tests/flips", test=AMBIGUOUS, suite=script.SUITE)
    assert len(flips["rows"]) == tests[AMBIGUOUS].flips == 5  # F P P F P P F P
    assert flips["flakiness"][0]["state"] == tests[AMBIGUOUS].state == "flaky"


def test_every_test_detail_panel_has_data_in_the_demo(demo):
    """Each Infinity target of the Test detail dashboard, sent as Grafana would (its variables at the demo's
    suite and flaky test), answers 200 with rows holding every column the panel shows."""
    prepared, ep = demo
    doc = render_all(prepared.config)["test"]
    values = {"suite": script.SUITE, "test": AMBIGUOUS, "run_a": "", "run_b": ""}
    values.update({v["name"]: v["current"]["value"] for v in doc["templating"]["list"] if v["type"] == "custom"})
    for p in doc["panels"]:
        for t in p.get("targets", []):
            if "url" not in t:
                continue
            params = [(kv["key"], re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], kv["value"]))
                      for kv in t["url_options"]["params"]]
            rows = get(ep.serve, t["url"].replace("${api_url}/api/v1/", ""), **dict(params))[t["root_selector"]]
            assert rows, p["title"]
            assert all(c["selector"] in r for c in t["columns"] for r in rows), p["title"]
