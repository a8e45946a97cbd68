"""End to end: snapshots pushed to a real server reach a real Prometheus running the generated rules, and
the release alerts (below the gate, score dropped, performance regression) go pending."""

from __future__ import annotations

import pytest

from rq_obs.config import Config
from rq_obs.push import push_snapshots
from rq_obs.rules import prometheus as prom_rules
from rq_obs.rules.definitions import N
from rq_obs.store import Store
from tests.helpers.procs import Prometheus, wait_until
from tests.server.conftest import TOKEN
from tests.server.snapshots import local_store

pytestmark = pytest.mark.e2e

RELEASE_ALERTS = {"RqObsQualityScoreBelowGate", "RqObsQualityScoreDropped", "RqObsPerformanceRegression"}


def test_pushed_snapshots_drive_the_release_alerts(serve, tmp_path):
    local = local_store(tmp_path / "local.db")
    srv = serve(Store(tmp_path / "server.db"))
    assert push_snapshots(local, srv.url, TOKEN).stored == ["1.4.0", "1.5.0"]
    d = tmp_path / "prom"
    d.mkdir()
    files = []
    for rel, text in prom_rules.render(Config()).items():
        path = d / rel.rsplit("/", 1)[-1]
        path.write_text(text)
        files.append(str(path))
    config = (f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n"
              + "".join(f"  - {f}\n" for f in files)
              + f"scrape_configs:\n  - job_name: rq-obs\n    static_configs:\n"
                f"      - targets: ['{srv.url.removeprefix('http://')}']\n")
    with Prometheus(d, config) as prom:
        def pending():
            got = {a["labels"]["alertname"]: a for a in prom.api("alerts")["alerts"]
                   if a["labels"]["alertname"] in RELEASE_ALERTS}
            return got if set(got) == RELEASE_ALERTS else None

        alerts = wait_until(pending, 60, what="the three release alerts pending")
        assert {name: a["state"] for name, a in alerts.items()} == dict.fromkeys(RELEASE_ALERTS, "pending")
        assert alerts["RqObsQualityScoreBelowGate"]["labels"]["release"] == "1.5.0"
        assert alerts["RqObsPerformanceRegression"]["labels"]["operation"] == "parse"
        assert prom.value(N.quality_latest) == 63.5
        assert prom.value(N.quality_delta) == 63.5 - 91.25
        assert prom.value(f'{N.slowdown_latest}{{operation="parse"}}') == pytest.approx(0.5, abs=1e-9)
