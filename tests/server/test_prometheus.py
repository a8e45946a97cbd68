"""A real Prometheus scrapes a real rq-obs server; values queried back equal what was stored."""

from __future__ import annotations

import pytest

from rq_obs.catalog import M
from tests.helpers.procs import Prometheus, wait_until
from tests.server.runs import api_run, doc
from rq_obs.store import run_to_dict

pytestmark = pytest.mark.e2e


def test_prometheus_scrape_matches_the_store(serve, tmp_path):
    srv = serve()
    outcomes = [("passed", "failed", "passed"), ("passed", "passed", "error"), ("skipped", "passed", "failed")]
    for i, o in enumerate(outcomes):
        assert srv.push(doc(f"run-{i}", outcomes=o, started=1_700_000_000.0 + i * 100)).status == 201
    assert srv.push(run_to_dict(api_run("api"))).status == 201
    assert srv.push(doc("run-0", outcomes=outcomes[0])).status == 200  # duplicate: counted once

    target = srv.url.removeprefix("http://")
    config = (f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
              f"scrape_configs:\n  - job_name: rq-obs\n    static_configs:\n      - targets: ['{target}']\n")
    (tmp_path / "prom").mkdir()
    with Prometheus(tmp_path / "prom", config) as prom:
        att = M.TEST_ATTEMPTS.total
        wait_until(lambda: prom.query(f"{M.INGEST_RUNS.total}"), 60, what=f"{M.INGEST_RUNS.total} in Prometheus")
        by_outcome = {r["metric"]["outcome"]: float(r["value"][1])
                      for r in prom.query(f"sum by (outcome) ({att})")}
        assert by_outcome == {"passed": 6.0, "failed": 2.0, "error": 1.0, "skipped": 1.0}
        assert prom.value(f'{M.TEST_RUNS.total}{{suite="shop",status="complete"}}') == 4
        assert prom.value(f'{M.INGEST_RUNS.total}{{result="stored"}}') == 4
        assert prom.value(f'{M.INGEST_RUNS.total}{{result="duplicate"}}') == 1
        assert prom.value(f'{M.INGEST_ATTEMPTS.total}') == 10
        assert prom.value(f'{M.RUN_SEQUENCE.name}{{suite="shop"}}') == 4
        assert prom.value(f'{M.API_RETRIES.total}{{reason="429"}}') == 1
        assert prom.value(f'{M.TOKENS.total}{{token_type="input"}}') == 1000
        assert prom.value(f'sum({M.TEST_ATTEMPT_DURATION.bucket}{{le="1.0"}})') == 9  # all but the 1.5 s one
        assert prom.value(f'sum({M.TEST_ATTEMPT_DURATION.bucket}{{le="+Inf"}})') == 10
        assert prom.value(f'{M.TEST_ATTEMPT_DURATION.count}{{outcome="passed"}}') == 6
        assert prom.value(f'{M.HOST_MEMORY_USED.name}') > 0
        assert prom.value(f'{M.UP.name}{{job="rq-obs"}}') == 1
        # a push while Prometheus watches shows up in the next scrapes
        assert srv.push(doc("run-late", outcomes=("failed",))).status == 201
        wait_until(lambda: prom.value(f'sum({att}{{outcome="failed"}})') == 3, 30, what="the late push scraped")
