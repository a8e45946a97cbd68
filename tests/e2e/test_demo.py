"""End to end: the demo's data through real Prometheus and Alertmanager, panel by panel.

The module fixture (``conftest.demo``) does what ``rq-obs demo`` does: 8 recorded runs of
the example suite, two release snapshots, the store backfilled into Prometheus' data
directory, ``rq-obs serve``, Alertmanager (Slack receiver -> local sink) and Prometheus with
the generated rules, plus the nightly suite pushed through the ingest API.

Panels are queried as Grafana would: a range query over the demo's time span (step = the
scrape interval, 2 s) with ``$__rate_interval`` = 4 x scrape interval (8 s, Grafana's
minimum for it), ``$__interval`` = the step, ``$__range`` = the span; query variables are
resolved from ``/api/v1/label/<label>/values`` with the variable's series as ``match[]``
(multi-value/All -> a regex alternation of every value, escaped), custom variables take their
default, and the release comparison uses base = the oldest release, head = the newest.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse

import pytest

from rq_obs.catalog import M, iter_exporter
from rq_obs.dashboards import render_all
from rq_obs.demo import history, script
from rq_obs.rules.definitions import N
from tests.helpers.procs import http_get, wait_until
from tests.helpers.promql import extract_exprs, metric_names

pytestmark = pytest.mark.e2e

#: Metrics only the OpenTelemetry Collector produces (the demo runs the rq-obs build of it) and only the
#: instrumented example web app publishes (the demo serves it with traffic): their panels need data too.
COLLECTOR_ONLY = {M.SPAN_DURATION.bucket, M.SPAN_CALLS.total} | {m.series for m in iter_exporter("otelcol")}
INSTRUMENTED_ONLY = {
    M.HTTP_SERVER_DURATION.count, M.HTTP_SERVER_DURATION.bucket, M.HTTP_SERVER_ACTIVE.name,
    M.APP_FUNCTION_DURATION.bucket, M.APP_FUNCTION_CPU.bucket, M.APP_FUNCTION_MEMORY.bucket, N.app_error_ratio,
}

from rq_obs.stack.prometheus import APP_JOB  # noqa: E402 - beside the sets it completes

STEP = script.SCRAPE_SECONDS
RATE_INTERVAL = f"{4 * script.SCRAPE_SECONDS}s"


def api(prom: str, path: str, **params) -> dict:
    url = f"{prom}/api/v1/{path}?" + urllib.parse.urlencode(params, doseq=True)
    status, body = http_get(url, timeout=30)
    doc = json.loads(body)
    if status != 200 or doc.get("status") != "success":
        raise AssertionError(f"{path} {params}: HTTP {status}: {doc.get('error')}")
    return doc["data"]


def _regex(value: str) -> str:
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", value).replace("\\", "\\\\")


def substitute(expr: str, values: dict[str, str]) -> str:
    def one(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        assert name in values, f"unknown variable ${name} in {expr}"
        return values[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", one, expr)


def resolve_variables(prom: str, dashboard: dict, builtins: dict[str, str]) -> dict[str, str]:
    values = dict(builtins)
    for v in dashboard["templating"]["list"]:
        if v["type"] == "datasource":
            continue
        if v["type"] in ("custom", "textbox"):  # a text box: its default, as typed (the test detail's API inputs)
            values[v["name"]] = v["current"]["value"]
            continue
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", q, re.S)
        assert m, f"variable {v['name']}: unsupported query {q}"
        found = sorted(api(prom, f"label/{m.group(2)}/values", **{"match[]": substitute(m.group(1), values)}))
        assert found, f"dashboard {dashboard['uid']}: variable ${v['name']} has no values ({q})"
        if v.get("multi") or v.get("includeAll"):
            values[v["name"]] = "(" + "|".join(_regex(x) for x in found) + ")"
        else:
            values[v["name"]] = found[-1] if v["name"] == "head" else found[0]
    return values


def has_data(result: list[dict]) -> bool:
    """A range result with at least one finite value (Grafana draws NaN as a gap)."""
    return any(v not in ("NaN", "+Inf", "-Inf") for s in result for _, v in s.get("values", []))


def test_every_panel_query_of_every_dashboard_returns_data(demo):
    prepared, ep = demo
    dashboards = render_all(prepared.config)
    start = prepared.first_run_at - 5

    def check() -> list[str]:
        end = time.time()
        builtins = {"__rate_interval": RATE_INTERVAL, "__interval": f"{STEP}s", "__range": f"{int(end - start)}s"}
        empty, spans, apps = [], 0, 0
        for name, doc in dashboards.items():
            values = resolve_variables(ep.prometheus, doc, builtins)
            for where, expr in extract_exprs(doc):
                if where.startswith("variable"):
                    continue
                result = api(ep.prometheus, "query_range", query=substitute(expr, values), start=start, end=end,
                             step=STEP)["result"]  # raises on a query error
                spans += bool(metric_names(expr) & COLLECTOR_ONLY)
                apps += bool(metric_names(expr) & INSTRUMENTED_ONLY or f'job="{APP_JOB}"' in expr)
                if not has_data(result):
                    empty.append(f"{name}: {where}: {expr}")
        # the targets that only the collector (span metrics, its own telemetry) and the instrumented app feed
        assert (spans, apps) == (17, 14), "the collector / instrumented-app targets changed: review the sets above"
        return empty

    # every scrape after the nightly push brings the last rates and recording rules in
    last: list[list[str]] = []

    def all_have_data() -> bool:
        last.append(check())
        return not last[-1]

    try:
        wait_until(all_have_data, 90, interval=1.0, what="data in every panel")
    except AssertionError as exc:
        pytest.fail("panels without data:\n" + "\n".join(last[-1]) if last else str(exc))


# --- exact values, derived from the script (rq_obs/demo/script.py, example/tests/test_router.py) -----
def expected(reruns: bool) -> dict[str, float]:
    runs = range(1, script.RUNS + 1)
    tests = 8
    attempts = tests * script.RUNS + (1 if reruns else 0)  # test_order_lookup's rerun in run 2
    failed = (script.RUNS  # test_escalation_summary always fails
              + sum(1 for r in runs if r % 3 == 1)  # test_ambiguous_intent: runs 1, 4, 7
              + 1  # test_order_lookup: first attempt of run 2
              + script.CHANGE_AFTER)  # test_skill_has_examples until SKILL.md changed
    price = script.SETTINGS["price_table"]["gpt-4o"]

    def usd(inp: int, out: int, cached: int = 0) -> float:
        return ((inp - cached) * price["input"] + cached * price["cached"] + out * price["output"]) / 1e6

    cost = sum(usd(3000 if script.variant_of(r) == "v2" else 4000, 500) + usd(2000, 300, 1000) for r in runs)
    # quality: code quality, coverage 200/250, dependencies 100 - 8 per unknown-severity vulnerability,
    # documentation, performance 100 - 50 per critical regression (1.1.0's benchmark is 3x slower)
    dims_110 = {"code_quality": script.CODE_QUALITY, "test_coverage": 80.0, "dependencies": 92.0,
                "documentation": script.DOCUMENTATION, "performance": 50.0}
    dims_100 = {**dims_110, "dependencies": 100.0}
    del dims_100["performance"]  # no baseline to compare with
    weights = {"code_quality": 25, "test_coverage": 20, "dependencies": 20, "documentation": 15, "performance": 20}

    def score(d: dict) -> float:
        return sum(weights[k] * v for k, v in d.items()) / sum(weights[k] for k in d)

    return {"pass_rate": (attempts - failed) / attempts,
            # test_ambiguous_intent (in the band, 5/8) and test_order_lookup (fail and pass in one run)
            "flaky": 2 if reruns else 1, "broken": 1, "cost_today": cost,
            "quality": score(dims_110), "quality_delta": score(dims_110) - score(dims_100)}


def test_expected_figures_are_what_the_script_says():
    e = expected(reruns=True)
    assert e["pass_rate"] == 51 / 65
    assert e["cost_today"] == pytest.approx(0.164, abs=1e-12)
    assert (e["quality"], e["quality_delta"]) == (pytest.approx(77.4), pytest.approx(77.4 - 86.25))


def panel_value(prom: str, dashboard: dict, title: str, suite: str | None = None, ref: str = "A") -> list[dict]:
    panel = next(p for p in dashboard["panels"] if p["title"] == title)
    expr = next(t["expr"] for t in panel["targets"] if t["refId"] == ref)
    values = {"suite": suite or ".*", "__rate_interval": RATE_INTERVAL, "__range": "1h", "__interval": f"{STEP}s"}
    return api(prom, "query", query=substitute(expr, values))["result"]


def test_key_panels_show_the_exact_figures(demo):
    prepared, ep = demo
    e = expected(prepared.reruns)
    dash = render_all(prepared.config)
    ex, qa = dash["executive"], dash["qa"]

    def only(result: list[dict]) -> float:
        assert len(result) == 1, result
        return float(result[0]["value"][1])

    # the nightly suite's rate needs the scrape after its last push and a rule evaluation: poll
    wait_until(lambda: panel_value(ep.prometheus, ex, "Pass rate vs SLO", script.NIGHTLY_SUITE), 60,
               what="the nightly suite's pass rate")

    wait_until(lambda: panel_value(ep.prometheus, ex, "Pass rate vs SLO", script.SUITE), 60,
               what="the 7-day pass-rate recording rule")
    # pass rate of the example suite: every attempt since its first run, reruns included
    assert only(panel_value(ep.prometheus, ex, "Pass rate vs SLO", script.SUITE)) == pytest.approx(e["pass_rate"], rel=1e-12)
    assert only(panel_value(ep.prometheus, qa, "Suite pass rate (1h / 1d / 7d)", script.SUITE, "B")) == \
        pytest.approx(e["pass_rate"], rel=1e-12)
    # the nightly suite passed every run of the last week
    assert only(panel_value(ep.prometheus, ex, "Pass rate vs SLO", script.NIGHTLY_SUITE)) == 1.0
    assert only(panel_value(ep.prometheus, ex, "Flaky tests")) == e["flaky"]
    assert only(panel_value(ep.prometheus, ex, "Broken tests")) == e["broken"]
    assert only(panel_value(ep.prometheus, ex, "Cost today")) == pytest.approx(e["cost_today"], rel=1e-12)
    assert only(panel_value(ep.prometheus, ex, "Budget used today")) == \
        pytest.approx(e["cost_today"] / script.SETTINGS["daily_budget_usd"], rel=1e-12)
    q = panel_value(ep.prometheus, ex, "Quality score (latest release)")
    assert q[0]["metric"]["release"] == script.RELEASES[-1][0]
    assert only(q) == pytest.approx(e["quality"], rel=1e-12)
    assert only(panel_value(ep.prometheus, ex, "Quality vs previous release")) == pytest.approx(e["quality_delta"], rel=1e-12)
    # week over week: the nightly suite's last 7 days (3 runs, all passed) vs the 7 before (2 of 3 tests passed)
    wow = {r["metric"]["suite"]: float(r["value"][1]) for r in panel_value(ep.prometheus, ex, "Pass rate, week over week")}
    assert wow == {script.NIGHTLY_SUITE: pytest.approx(1 - 2 / 3)}
    assert len(history.DAYS_AGO) == 5


def test_an_alert_reaches_the_slack_webhook_through_alertmanager(demo):
    prepared, ep = demo
    e = expected(prepared.reruns)
    summary = f"Pass rate of {script.SUITE} below the SLO"

    def delivered():
        return [m for m in ep.sink.messages()
                for a in m["payload"].get("attachments", []) if "RqObsPassRateBelowSLO" in a.get("title", "")]

    msgs = wait_until(delivered, 90, interval=0.5, what="RqObsPassRateBelowSLO in the Slack sink")
    att = msgs[0]["payload"]["attachments"][0]
    assert att["title"] == f"[FIRING:1] RqObsPassRateBelowSLO: {summary}"
    assert att["text"].startswith(f"*{summary}* (critical)\nThe 1-day pass rate of suite {script.SUITE} is "
                                  f"{100 * e['pass_rate']:.4g}%, below the SLO of 85%.\n")
    assert att["color"] == "danger"
    assert msgs[0]["payload"]["channel"] == prepared.config.slack_channel
    assert msgs[0]["path"] == "/services/demo"  # the URL Alertmanager read from the webhook file
    # the Slack receiver's URL came from a file, never from the generated config
    assert "api_url_file" in (prepared.layout.alertmanager / "alertmanager.yml").read_text()


def test_span_metrics_and_the_app_panels_count_what_was_sent(demo):
    """The collector's span metrics equal the example suite's stored attempts and runs (the demo's store plus
    the live run's scratch store), per outcome; the instrumented app's request counts equal the traffic sent."""
    import sqlite3

    prepared, ep = demo
    assert ep.traces.collector and ep.traces.jaeger and ep.app, "the demo runs the collector, Jaeger and the app"
    expected_spans: dict[str, int] = {}
    status = "CASE WHEN outcome IN ('passed','xfailed','xpassed') THEN 'pass' " \
             "WHEN outcome IN ('failed','error') THEN 'fail' ELSE '' END"
    for path in (prepared.layout.store, prepared.layout.root / "live" / "store.db"):
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute(f"SELECT {status}, count(*) FROM attempts a JOIN runs r ON a.run_id = r.run_id "
                                "WHERE r.suite = ? GROUP BY 1", (script.SUITE,)).fetchall()
            rows.append(("", conn.execute("SELECT count(*) FROM runs WHERE suite = ?", (script.SUITE,)).fetchone()[0]))
        finally:
            conn.close()
        for key, n in rows:
            expected_spans[key] = expected_spans.get(key, 0) + n
    got = {r["metric"].get("test_case_result_status", ""): float(r["value"][1]) for r in api(
        ep.prometheus, "query", query=f'sum by (test_case_result_status) '
                                      f'({M.SPAN_CALLS.total}{{test_suite_name="{script.SUITE}"}})')["result"]}
    assert got == {k: float(v) for k, v in expected_spans.items()}

    # the app: stop the traffic, then Prometheus' counts per route and status are exactly what was sent
    ep.app.traffic.stop()
    assert ep.app.traffic.unexpected == []
    sent: dict[tuple[str, str], int] = {}
    for (method, path, code), n in ep.app.traffic.sent.items():
        route = "/notes/<int:note_id>" if path.startswith("/notes/") else ("" if path == "/nope" else path)
        sent[(route, str(code))] = sent.get((route, str(code)), 0) + n
    query = f'sum by (http_route, http_response_status_code) ({M.HTTP_SERVER_DURATION.count}{{job="apps"}})'

    def counted():
        result = api(ep.prometheus, "query", query=query)["result"]
        return {(r["metric"].get("http_route", ""), r["metric"]["http_response_status_code"]): round(float(r["value"][1]))
                for r in result}

    wait_until(lambda: counted() == sent, 30, what=f"the app's request counts in Prometheus = {sent}")
    assert sent[("/boom", "500")] >= 2 and sent[("", "404")] >= 2 and sent[("/slow", "200")] >= 2


def test_routing_panels_show_the_figures_of_the_store_and_the_script(demo):
    """Disambiguation and input-term panels (example/tests/test_router.py attaches inputs and routes)."""
    from rq_obs.analytics.reports import inputs_report
    from rq_obs.store import Store

    prepared, ep = demo
    qa = render_all(prepared.config)["qa"]
    store = Store(prepared.layout.store, create=False)
    try:
        report = inputs_report(store, prepared.config, time.time())
    finally:
        store.close()
    # test_ambiguous_intent routes "my invoice is wrong" to billing; it expected "unknown" on runs 1, 4 and 7
    misroutes = sum(1 for r in range(1, script.RUNS + 1) if r % 3 == 1)
    right = script.RUNS - misroutes
    want = {("billing", "billing"): (right, right), ("unknown", "billing"): (misroutes, 0)}
    assert {(c.expected, c.chosen): (c.attempts, c.passed) for c in report.routes if c.ambiguous} == want

    def by_pair(ref: str) -> dict:
        return {(r["metric"]["expected_route"], r["metric"]["chosen_route"]): float(r["value"][1])
                for r in panel_value(ep.prometheus, qa, "Disambiguation: expected vs chosen route", ref=ref)}

    wait_until(lambda: by_pair("B"), 60, what="the disambiguation table")
    assert by_pair("A") == {k: p / n for k, (n, p) in want.items()}
    assert by_pair("B") == {k: float(n) for k, (n, _) in want.items()}
    stat = panel_value(ep.prometheus, qa, "Ambiguous inputs: pass rate")
    assert float(stat[0]["value"][1]) == right / script.RUNS

    def by_term(ref: str) -> dict:
        return {r["metric"]["term"]: float(r["value"][1])
                for r in panel_value(ep.prometheus, qa, "Terms in failing inputs", ref=ref)}

    totals = {t.term: t for t in report.terms.totals()}
    assert by_term("A") == {t: float(s.failed) for t, s in totals.items()}
    assert by_term("B") == {t: float(s.attempts) for t, s in totals.items()}
    assert by_term("C") == {t: s.failure_share for t, s in totals.items()}
    # test_escalation_summary fails every run; its input's terms fail every time
    assert (totals["escalation contact"].failed, totals["escalation contact"].failure_share) == (script.RUNS, 1.0)
    assert (totals["invoice"].failed, totals["invoice"].attempts) == (misroutes, script.RUNS)
