"""The demo environment, set up once for the e2e tests (the same code ``rq-obs demo`` runs)."""

from __future__ import annotations

import pytest

from tests.helpers.procs import ALERTMANAGER, PROMETHEUS, PROMTOOL, need, need_tool


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    from rq_obs.demo import runner
    from rq_obs.demo.processes import Services

    need(PROMETHEUS, "prometheus")
    need(PROMTOOL, "prometheus")
    need(ALERTMANAGER, "prometheus-alertmanager")
    from rq_obs.demo.tracing import HOW_TO_GET

    for tool, how in HOW_TO_GET.items():  # the demo runs the collector and Jaeger: every panel has data
        need_tool(tool, how)
    with Services() as services:
        prepared = runner.prepare(tmp_path_factory.mktemp("demo") / "demo", services=services)
        endpoints = runner.start(prepared, services)
        runner.push_latest(prepared, endpoints)
        yield prepared, endpoints


@pytest.fixture(scope="module")
def trace_backend(tmp_path_factory):
    """The rq-obs collector build in front of Jaeger v2, on loopback, with the generated configurations:
    ``(collector, jaeger)``; apps send OTLP/HTTP to ``collector.otlp_http`` and spans are read back from
    Jaeger's query API (:func:`jaeger_server_spans`)."""
    import dataclasses

    from rq_obs.config import Config
    from rq_obs.demo import tracing
    from rq_obs.demo.processes import Services
    from rq_obs.stack import distribution

    collector_bin = need_tool(distribution.BINARY, tracing.HOW_TO_GET[distribution.BINARY])
    jaeger_bin = need_tool("jaeger", tracing.HOW_TO_GET["jaeger"])
    config = dataclasses.replace(Config(), scrape_interval="1s", trace_backend="jaeger")
    work = tmp_path_factory.mktemp("trace-backend")
    with Services() as services:
        jaeger = tracing.start_jaeger(services, jaeger_bin, config, work / "jaeger", work / "logs")
        collector = tracing.start_collector(services, collector_bin, config, work / "otelcol", work / "logs",
                                            jaeger.otlp_grpc)
        yield collector, jaeger


def jaeger_server_spans(jaeger, service: str) -> list[dict]:
    """Every SERVER span Jaeger holds for ``service``: dicts of the span's tags plus ``operationName``."""
    import json
    import urllib.parse

    from tests.helpers.procs import http_get

    status, body = http_get(f"{jaeger.query_url}/api/traces?" + urllib.parse.urlencode(
        {"service": service, "limit": 1000, "lookback": "1h"}))
    if status != 200:
        return []
    out = []
    for trace in json.loads(body).get("data") or []:
        for span in trace["spans"]:
            tags = {t["key"]: t["value"] for t in span.get("tags", [])}
            if tags.get("span.kind") == "server":
                out.append({**tags, "operationName": span["operationName"]})
    return out
