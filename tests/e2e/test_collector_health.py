"""The SRE dashboard's "Collector resources" row on the real collector and a real Prometheus.

The rq-obs collector build runs the generated pipeline with its trace exporter pointed at a port
nobody listens on (a dead backend) and short retries, Prometheus scrapes its own telemetry (job
otelcol, as the generated prometheus.yml does), and a pytest run sends its spans through it. Checked:
every target of the row answers, the accepted spans equal the spans the run sent (the store's
attempts plus one session span per run), the queue holds them while the exporter retries and the
send-failed figures then count every one of them.
"""

from __future__ import annotations

import pytest

from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.dashboards import render_all
from rq_obs.demo import tracing
from rq_obs.demo.processes import Services, free_port
from rq_obs.stack import distribution
from tests.e2e.test_trace_path import CONFIG, _run_suite, _store
from tests.helpers.procs import Prometheus, need_tool, wait_until

pytestmark = pytest.mark.e2e

ROW = "Collector resources"
#: Grafana's variables at a 1 s scrape interval ($__rate_interval: 4 x the scrape interval).
VALUES = {"$__rate_interval": "4s", "$__range": "5m", "$__interval": "1s"}
#: The retries end quickly here; the collector's default keeps retrying for 5 minutes.
RETRY = {"enabled": True, "initial_interval": "200ms", "max_interval": "500ms", "max_elapsed_time": "4s"}


def _targets() -> list[tuple[str, str, str]]:
    """(panel title, refId, expr) of every target of the row, as the generated dashboard has them."""
    panels = render_all(Config())["sre"]["panels"]
    start = next(i for i, p in enumerate(panels) if p["type"] == "row" and p["title"] == ROW)
    out = []
    for p in panels[start + 1:]:
        if p["type"] == "row":
            break
        out += [(p["title"], t["refId"], t["expr"]) for t in p["targets"]]
    return out


def _expr(expr: str) -> str:
    for name, value in VALUES.items():
        expr = expr.replace(name, value)
    return expr


@pytest.fixture(scope="module")
def dead_backend(tmp_path_factory):
    collector_bin = need_tool(distribution.BINARY, tracing.HOW_TO_GET[distribution.BINARY])
    work = tmp_path_factory.mktemp("collector-health")
    with Services() as services:
        collector = tracing.start_collector(services, collector_bin, CONFIG, work / "otelcol", work / "logs",
                                            f"127.0.0.1:{free_port()}", retry_on_failure=RETRY)
        (work / "prometheus").mkdir()
        config = (f"global: {{scrape_interval: 1s}}\nscrape_configs:\n"
                  f"- job_name: otelcol\n  static_configs: [{{targets: ['{collector.telemetry_target}']}}]\n")
        with Prometheus(work / "prometheus", config) as prom:
            yield collector, prom


def test_the_row_reads_the_collectors_own_metrics(dead_backend, pytester, monkeypatch, tmp_path):
    collector, prom = dead_backend
    targets = _targets()
    assert [t[0] for t in targets if t[1] == "A"] == ["Collector CPU", "Collector memory", "Exporter queue",
                                                       "Spans accepted", "Refused and dropped spans",
                                                       "Exporter send failures"]
    store = tmp_path / "store.db"
    result = _run_suite(pytester, monkeypatch, store, collector.otlp_http, suite="collector-health")
    result.assert_outcomes(passed=3, failed=1, skipped=1)
    # spans the run sent: one per attempt (skipped included) and the run's session span
    sent = _store(store, "SELECT count(*) FROM attempts")[0][0] + _store(store, "SELECT count(*) FROM runs")[0][0]
    assert sent == 6

    def panel(title: str, ref: str = "A") -> list[dict]:
        expr = next(e for t, r, e in targets if (t, r) == (title, ref))
        return prom.query(_expr(expr))

    def value(title: str, ref: str = "A") -> float | None:
        rows = panel(title, ref)
        return sum(float(r["value"][1]) for r in rows) if rows else None

    # accepted spans equal the spans sent, as the panel shows them
    assert wait_until(lambda: value("Spans accepted") == sent, timeout=60, what="accepted spans") is True
    assert prom.value(f'sum({M.OTELCOL_REFUSED_SPANS.total}{{job="otelcol"}})') == 0.0
    # the dead backend: the batch waits in the trace exporter's queue while it is retried ...
    queue = next(e for t, r, e in targets if (t, r) == ("Exporter queue", "A"))
    assert wait_until(lambda: prom.value(f"max(max_over_time(({_expr(queue)})[2m:1s]))") == 1.0, timeout=60,
                      what="a batch in the queue")
    capacity = {r["metric"]["exporter"]: float(r["value"][1]) for r in panel("Exporter queue", "B")}
    assert capacity == {"otlp/jaeger": 1000.0}  # the exporterhelper default, in batches
    # ... then, its retries over, every span counts as failed to send, and none as sent
    def per_exporter(ref: str) -> dict[str, float]:
        return {r["metric"].get("exporter", ""): float(r["value"][1]) for r in panel("Exporter send failures", ref)}

    assert wait_until(lambda: per_exporter("A").get("otlp/jaeger") == sent, timeout=60, what="send failures")
    assert per_exporter("B") == {"prometheus": 0.0}  # the span metrics reach Prometheus' scrape
    assert per_exporter("C") == {"otlp/jaeger": 0.0}  # none sent
    assert wait_until(lambda: prom.value(f"sum({M.OTELCOL_QUEUE_SIZE.name})") == 0.0, timeout=30,
                      what="the queue emptied")

    # every target of the row answers (a CPU rate, the memory figures, zeros where nothing was dropped)
    def empty() -> list[str]:
        return [f"{t} {r}: {e}" for t, r, e in targets if not prom.query(_expr(e))]

    assert wait_until(lambda: not empty(), timeout=30, what="data in every target"), empty()
    assert value("Collector memory", "A") > 10e6  # RSS of a Go program of this size: tens of MB
    assert 0 < value("Collector memory", "B") < value("Collector memory", "A")  # heap in use < RSS
    # the process CPU counter moves in scheduler ticks: on an idle machine two close scrapes can read the same value
    assert wait_until(lambda: (value("Collector CPU") or 0) > 0, timeout=60, what="collector CPU above 0")
    assert value("Refused and dropped spans", "D") == 0.0  # nothing dropped: the queue never filled
