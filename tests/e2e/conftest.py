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
