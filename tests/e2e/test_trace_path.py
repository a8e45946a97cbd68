"""The deployed trace path for real: pytest + plugin -> the rq-obs collector build -> Jaeger v2 and Prometheus.

The collector and Jaeger run the generated configurations (moved to loopback ports), built from their
Go modules by .ci/tools/build-otelcol.sh and build-jaeger.sh. What is checked is what a user relies
on: span-metric series with the suite and outcome labels the dashboards filter on, counts equal to the
store's, exemplars carrying the trace ids the store holds, each test's span fetched back from Jaeger's
API with its attributes, no deprecation warning in the collector's log, and nothing lost (one warning)
when the collector or Jaeger is down or restarted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import sqlite3

import pytest

from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.demo import tracing
from rq_obs.demo.processes import Services
from rq_obs.stack import distribution
from tests.helpers.procs import Prometheus, http_get, need_tool, wait_until

pytestmark = pytest.mark.e2e

SUITE = """
import pytest

@pytest.mark.parametrize("i", range(3))
def test_ok(i):
    assert True

def test_broken():
    assert 1 == 2

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass
"""

#: Labels the collector's prometheus exporter adds to every span-metric series beside the catalogue's.
EXTRA_LABELS = {"exported_job", "exported_instance", "otel_scope_name", "otel_scope_version", "otel_scope_schema_url"}

#: The collector flushes span metrics every second here (config.scrape_interval drives it).
CONFIG = dataclasses.replace(Config(), scrape_interval="1s", trace_backend="jaeger")


def _prometheus_config(collector: tracing.Collector) -> str:
    return (f"global: {{scrape_interval: 1s}}\nscrape_configs:\n"
            f"- job_name: spanmetrics\n  static_configs: [{{targets: ['{collector.metrics_target}']}}]\n"
            f"- job_name: otelcol\n  static_configs: [{{targets: ['{collector.telemetry_target}']}}]\n")


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    collector_bin = need_tool(distribution.BINARY, tracing.HOW_TO_GET[distribution.BINARY])
    jaeger_bin = need_tool("jaeger", tracing.HOW_TO_GET["jaeger"])
    work = tmp_path_factory.mktemp("trace-path")
    with Services() as services:
        jaeger = tracing.start_jaeger(services, jaeger_bin, CONFIG, work / "jaeger", work / "logs")
        collector = tracing.start_collector(services, collector_bin, CONFIG, work / "otelcol", work / "logs",
                                            jaeger.otlp_grpc)
        (work / "prometheus").mkdir()
        with Prometheus(work / "prometheus", _prometheus_config(collector),
                        extra_args=("--enable-feature=exemplar-storage",)) as prom:
            yield services, jaeger, collector, prom


def _run_suite(pytester, monkeypatch, store, endpoint: str, suite: str = "trace-path", source: str = SUITE,
               timeout_s: int = 2):
    for name in [n for n in os.environ if n.startswith(("RQ_OBS_", "OTEL_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("RQ_OBS_SUITE", suite)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", str(timeout_s))
    pytester.makepyfile(test_traced=source)
    return pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store}")


def _warnings(result) -> list[str]:
    return [line for line in result.stdout.str().splitlines() if line.startswith("rq-obs: warning:")]


def _store(store, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(store)
    try:
        return [tuple(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def _jaeger_trace(jaeger: tracing.Jaeger, trace_id: str) -> dict | None:
    status, body = http_get(f"{jaeger.query_url}/api/traces/{trace_id}")
    if status != 200:
        return None
    data = json.loads(body).get("data") or []
    return data[0] if data else None


def _tags(span: dict) -> dict:
    return {t["key"]: t["value"] for t in span["tags"]}


def test_spans_become_span_metrics_exemplars_and_jaeger_traces(path, pytester, monkeypatch, tmp_path):
    services, jaeger, collector, prom = path
    store = tmp_path / "store.db"
    result = _run_suite(pytester, monkeypatch, store, collector.otlp_http)
    result.assert_outcomes(passed=3, failed=1, skipped=1)
    assert _warnings(result) == []

    # calls per outcome, as Prometheus has them from the collector, equal the store's attempts
    by_status = {"pass": ("passed", "xfailed", "xpassed"), "fail": ("failed", "error")}
    expected = {status: _store(store, f"SELECT count(*) FROM attempts WHERE outcome IN "
                                      f"({','.join('?' * len(outcomes))})", outcomes)[0][0]
                for status, outcomes in by_status.items()}
    assert expected == {"pass": 3, "fail": 1}
    selector = f'{M.SPAN_CALLS.total}{{test_suite_name="trace-path", span_kind="SPAN_KIND_INTERNAL"}}'

    def counted():
        rows = prom.query(f"sum by (test_case_result_status) ({selector})")
        got = {r["metric"].get("test_case_result_status", ""): float(r["value"][1]) for r in rows}
        return got if got.get("pass") == 3 and got.get("fail") == 1 else None

    got = wait_until(counted, timeout=60, what="span metrics of the run in Prometheus")
    # the skipped test and the session span carry no outcome label
    assert got == {"pass": 3.0, "fail": 1.0, "": 2.0}
    # every label the dashboards filter on is there, named as the catalogue says
    series = prom.api("series", **{"match[]": selector})
    # the prometheus exporter also turns the resource's service.name / service.instance.id into job / instance,
    # which the scrape's own job / instance push to exported_job / exported_instance, and adds the scope
    assert set(M.SPAN_CALLS.labels) <= {name for labels in series for name in labels}
    for labels in series:  # only a span without an outcome (skipped, the session) lacks its label
        assert set(M.SPAN_CALLS.labels) - {"test_case_result_status"} <= set(labels), labels
        assert set(labels) - set(M.SPAN_CALLS.labels) - {"__name__", "job", "instance"} <= EXTRA_LABELS, labels
        assert labels["job"] == "spanmetrics" and labels["exported_job"] == CONFIG.service_name
    # the duration histogram: one observation per span, per test
    count = prom.value(f'sum({M.SPAN_DURATION.name}_count{{test_suite_name="trace-path", span_name=~".*test_ok.*"}})')
    assert count == 3.0

    # exemplars carry trace ids, the ones the store recorded for the run
    trace_ids = {r[0] for r in _store(store, "SELECT trace_id FROM attempts")}
    run_trace = _store(store, "SELECT trace_id FROM runs")[0][0]
    assert trace_ids == {run_trace} and re.fullmatch(r"[0-9a-f]{32}", run_trace)

    def exemplar_ids():
        data = prom.api("query_exemplars", query=f'{M.SPAN_DURATION.name}_bucket{{test_suite_name="trace-path"}}',
                        start="0", end="9999999999")
        return {e["labels"].get("trace_id") for group in data for e in group["exemplars"]}

    assert wait_until(exemplar_ids, timeout=30, what="exemplars") == {run_trace}

    # the trace, fetched back from Jaeger by that id: every attempt's span with its attributes
    trace = wait_until(lambda: (t := _jaeger_trace(jaeger, run_trace)) and len(t["spans"]) == 6 and t,
                       timeout=60, what=f"trace {run_trace} in Jaeger")
    spans = {(s["operationName"], _tags(s).get("test.attempt")): s for s in trace["spans"]}
    stored = _store(store, "SELECT test, outcome, span_id, duration FROM attempts ORDER BY test")
    assert len(stored) == 5
    for test, outcome, span_id, duration in stored:
        span = spans[(test, 1)]
        assert span["spanID"] == span_id and span["traceID"] == run_trace
        tags = _tags(span)
        assert tags["test.suite.name"] == "trace-path" and tags["test.outcome"] == outcome
        assert tags["test.case.name"] == test
        assert tags["test.duration_seconds"] == pytest.approx(duration)
    assert trace["processes"][trace["spans"][0]["processID"]]["serviceName"] == CONFIG.service_name

    # the collector's own metrics are scraped too (the SRE dashboard's collector panels)
    assert wait_until(lambda: prom.value('sum(otelcol_receiver_accepted_spans_total{job="otelcol"})'),
                      timeout=30, what="otelcol_receiver_accepted_spans_total") >= 6
    # no deprecated option or name in the generated config: the collector would say so in its log
    log = collector.log_path.read_text(errors="replace")
    assert "Everything is ready" in log
    assert not [line for line in log.splitlines() if re.search(r"deprecat", line, re.I)], log


def _attempts(store) -> int:
    return _store(store, "SELECT count(*) FROM attempts")[0][0]


@contextlib.contextmanager
def _stopped(service):
    """``service`` down for the block, started again (same ports) and ready afterwards."""
    service.stop()
    try:
        yield
    finally:
        tracing.restart(service, timeout=90)


def test_collector_down_costs_one_warning_and_nothing_in_the_store(path, pytester, monkeypatch, tmp_path):
    services, jaeger, collector, prom = path
    store = tmp_path / "store.db"
    with _stopped(collector.service):
        result = _run_suite(pytester, monkeypatch, store, collector.otlp_http, suite="collector-down")
    result.assert_outcomes(passed=3, failed=1, skipped=1)
    warnings = _warnings(result)
    assert len(warnings) == 1 and f"could not export spans to {collector.otlp_http}/v1/traces" in warnings[0], warnings
    assert _attempts(store) == 5


def test_jaeger_down_loses_no_test_data_and_span_metrics_still_count(path, pytester, monkeypatch, tmp_path):
    services, jaeger, collector, prom = path
    store = tmp_path / "store.db"
    with _stopped(jaeger.service):
        result = _run_suite(pytester, monkeypatch, store, collector.otlp_http, suite="backend-down")
        # the collector accepted the spans (it queues and retries towards Jaeger): no warning
        assert _warnings(result) == []
        assert _attempts(store) == 5
        selector = f'sum({M.SPAN_CALLS.total}{{test_suite_name="backend-down", test_case_result_status!=""}})'
        assert wait_until(lambda: prom.value(selector) == 4.0, timeout=60, what="span metrics without Jaeger")


def test_collector_restarted_mid_run(path, pytester, monkeypatch, tmp_path):
    """The collector goes away after the first test and is back before the run ends."""
    services, jaeger, collector, prom = path
    store = tmp_path / "store.db"
    flag = tmp_path / "restart-now"
    suite = (SUITE + f"""

def test_zz_collector_restarts():
    import pathlib, time, urllib.request
    pathlib.Path({str(flag)!r}).write_text("go")
    deadline = time.monotonic() + 60
    while pathlib.Path({str(flag)!r}).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
""")
    import threading

    def restarter():
        wait_until(flag.exists, timeout=120, what="the suite's restart request")
        tracing.restart(collector.service)
        flag.unlink()

    thread = threading.Thread(target=restarter, daemon=True)
    thread.start()
    # the exporter retries a refused connection with back-off within its timeout (10 s here)
    result = _run_suite(pytester, monkeypatch, store, collector.otlp_http, suite="restarted", source=suite,
                        timeout_s=10)
    thread.join(120)
    result.assert_outcomes(passed=4, failed=1, skipped=1)
    assert not flag.exists(), "the collector was not restarted during the run"
    assert _attempts(store) == 6  # every attempt is in the store
    assert _warnings(result) == []
    # and no span was lost: the whole trace (session + 6 attempts) reaches Jaeger through the new collector
    run_trace = _store(store, "SELECT trace_id FROM runs")[0][0]
    wait_until(lambda: (t := _jaeger_trace(jaeger, run_trace)) and len(t["spans"]) == 7, timeout=60,
               what="every span of the restarted run in Jaeger")
