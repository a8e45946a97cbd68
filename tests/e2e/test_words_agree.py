"""One store, one answer: how many tests are flaky, broken and healthy, whoever is asked.

The store holds one test for each way the words could drift apart (a pass on rerun, a pass rate in
the band without a same-commit flake, too few attempts, a test that started failing, one always
failing, two healthy ones). ``rq-obs flaky`` (json and text), the analytics exporter on a fresh
registry, ``rq-obs quarantine suggest``, and a real Prometheus scraping ``rq-obs serve`` with the
generated recording rules — queried with the QA and executive panels' own expressions and the
flaky-rising alert's — must give the same counts. The uncertain-band recording rule counts something
else (pass rate 30-70 % whatever the state), and does so under its own name.
"""

from __future__ import annotations

import json
import time

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.dashboards import render_all
from rq_obs.exporters.analytics import AnalyticsCollector
from rq_obs.exporters.base import LabelGuard
from rq_obs.rules.definitions import N, alerts
from rq_obs.rules.prometheus import recording_document
from rq_obs.store import Store
from tests.analysis.history import HOUR, add_run
from tests.helpers.cli import run_cli
from tests.helpers.procs import Prometheus, wait_until
from tests.server.conftest import Running

pytestmark = pytest.mark.e2e

P, F = "passed", "failed"
#: Outcomes per run (runs 1-6, one commit each); a tuple is (first attempt, rerun) in one run.
HISTORY = {
    "test_ok": [P, P, P, P, P, P],                    # healthy
    "test_mostly": [P, P, P, P, P, F],                # healthy: pass rate 5/6, no flake
    "test_few": [None, None, None, None, P, F],       # healthy: 2 attempts, too few to judge; rate 0.5
    "test_rerun": [(F, P), P, P, P, P, P],            # flaky: a pass on rerun (a flake); rate 6/7
    "test_band": [P, F, P, F, P, F],                  # flaky: rate 0.5, no flake on one commit
    "test_started": [P, P, P, F, F, F],               # broken: latest 3 failed; rate 0.5
    "test_broken": [F, F, F, F, F, F],                # broken
}
EXPECTED = {"flaky": {"test_rerun", "test_band"}, "broken": {"test_started", "test_broken"},
            "healthy": {"test_ok", "test_mostly", "test_few"}}
#: Pass rate inside 30-70 %: not a state, so not a count of any of the above.
UNCERTAIN = {"test_few", "test_band", "test_started"}


def _fill(store: Store, now: float) -> None:
    for i in range(6):
        results = []
        for test, outcomes in HISTORY.items():
            o = outcomes[i]
            if o is None:
                continue
            results += [(test, o[0], 1.0, 1), (test, o[1], 1.0, 2)] if isinstance(o, tuple) else [(test, o)]
        add_run(store, f"r{i}", now - (7 - i) * HOUR, results, suite="words", commit=f"c{i}")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    work = tmp_path_factory.mktemp("words")
    store = Store(work / "store.db")
    _fill(store, time.time())
    srv = Running(store, {})
    try:
        rules = work / "rules.yml"
        rules.write_text(yaml.safe_dump(recording_document(Config())))
        config = (f"global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: ['{rules}']\n"
                  f"scrape_configs:\n- job_name: rq-obs\n  static_configs: [{{targets: ['{srv.url[7:]}']}}]\n")
        (work / "prom").mkdir()
        with Prometheus(work / "prom", config) as prom:
            yield work / "store.db", store, prom
    finally:
        srv.stop()


def test_the_command_the_exporter_and_prometheus_count_the_same_tests(world):
    path, store, prom = world
    # rq-obs flaky, json: the summary and the states of the tests it lists
    doc = json.loads(run_cli("flaky", "--store", str(path), "--all", "--format", "json").out)
    assert doc["summary"] == {state: len(tests) for state, tests in EXPECTED.items()}
    assert {state: {t["test"] for t in doc["tests"] if t["state"] == state} for state in EXPECTED} == EXPECTED
    # and the text the command prints
    text = run_cli("flaky", "--store", str(path)).out
    assert "7 tests passed or failed in the last 7d" in text and ": 2 flaky, 2 broken, 3 healthy" in text

    # the analytics exporter, scraped from a fresh registry
    reg = CollectorRegistry(auto_describe=False)
    reg.register(AnalyticsCollector(store, Config(), LabelGuard(5000, 200), background=False))
    samples = [s for fam in text_string_to_metric_families(generate_latest(reg).decode()) for s in fam.samples]
    assert [s.value for s in samples if s.name == M.FLAKY_TESTS.name] == [2.0]
    assert [s.value for s in samples if s.name == M.BROKEN_TESTS.name] == [2.0]
    states = {s.labels["test"]: s.labels["state"] for s in samples if s.name == M.TEST_STATE.name and s.value == 1}
    assert {state: {t for t, s in states.items() if s == state} for state in EXPECTED} == EXPECTED

    # real Prometheus scraping rq-obs serve: the panels' own expressions and the alert's
    dash = render_all(Config())

    def panel(dashboard: str, title: str, ref: str = "A", kind: str = "stat") -> list[dict]:
        p = next(p for p in dash[dashboard]["panels"] if (p["title"], p["type"]) == (title, kind))
        expr = next(t["expr"] for t in p["targets"] if t["refId"] == ref)
        return prom.query(expr.replace("$suite", "words").replace("$test", ".*").replace("$top", "50"))

    def one(rows: list[dict]) -> float:
        assert len(rows) == 1, rows
        return float(rows[0]["value"][1])

    wait_until(lambda: panel("qa", "Uncertain pass rate"), 60, what="the exporter scraped and the rules evaluated")
    for dashboard in ("qa", "executive"):
        assert one(panel(dashboard, "Flaky tests")) == 2
        assert one(panel(dashboard, "Broken tests")) == 2
    by_state = {r["metric"]["state"]: float(r["value"][1]) for r in panel("qa", "Tests by state", kind="timeseries")}
    assert by_state == {state: len(tests) for state, tests in EXPECTED.items()}
    flaky_rows = panel("qa", "Flaky tests", "A", kind="table")  # the table lists exactly the flaky tests (pass rate column)
    assert {r["metric"]["test"] for r in flaky_rows} == EXPECTED["flaky"]
    rising = next(a for a in alerts(Config()) if a.name == "RqObsFlakyTestsRising")
    assert {r["metric"]["suite"]: float(r["value"][1]) for r in prom.query(f"max by (suite) ({M.FLAKY_TESTS.name})")} \
        == {"words": 2.0} and M.FLAKY_TESTS.name in rising.value
    # the uncertain band: a different figure, under a different name
    assert one(panel("qa", "Uncertain pass rate")) == len(UNCERTAIN) == 3
    assert {r["metric"]["test"] for r in prom.query(N.uncertain_band)} == UNCERTAIN


def test_quarantine_suggests_exactly_the_flaky_tests(world, tmp_path):
    path, store, prom = world
    out = run_cli("quarantine", "suggest", "--store", str(path), "--file", str(tmp_path / "q.yaml"),
                  "--format", "json")
    assert out.code == 0, out.err
    doc = json.loads(out.out)
    assert {(s["action"], s["nodeid"]) for s in doc["suggestions"]} == {("add", t) for t in EXPECTED["flaky"]}


def test_the_release_report_counts_flakes_under_their_own_word(world, tmp_path):
    """``rq-obs compare`` sees one commit's attempts: a test *flaked* there (a pass and a fail), which is the
    flake of the definitions (the same tests ``rq-obs flaky`` counts flake commits for), not the flaky state."""
    path, store, prom = world
    for release, commit in (("v1", "c1"), ("v2", "c0")):  # c0: test_rerun failed and passed on rerun
        out = run_cli("snapshot", "--release", release, "--commit", commit, "--store", str(path),
                      "--project", str(tmp_path), "--quiet")
        assert out.code == 0, out.err
    report = tmp_path / "report.html"
    # blocked (exit 1): test_broken failed every attempt at c0 (the max_failing_tests gate); the report is written
    assert run_cli("compare", "v1", "v2", "--store", str(path), "--format", "html", "--output", str(report)).code == 1
    html = report.read_text()
    assert "0 new, 0 removed, 1 flaked (1 newly)</p>" in html and "flaky" not in html.lower()
    verdict = json.loads(run_cli("compare", "v1", "v2", "--store", str(path), "--format", "json").out)
    assert [r for r in verdict["reasons"] if "max_failing_tests" in r] == [
        "1 test failing, more than max_failing_tests 0 (config): failed in every attempt: test_broken"]
    tests = verdict["tests"]
    assert (tests["flaked"], tests["newly_flaked"]) == (["test_rerun"], ["test_rerun"])
    # the same flake in the analytics: test_rerun is the one test with a commit holding a pass and a fail
    doc = json.loads(run_cli("flaky", "--store", str(path), "--all", "--format", "json").out)
    assert {t["test"]: t["flaky_commits"] for t in doc["tests"] if t["flaky_commits"]} == {"test_rerun": 1}
    # while the flaky state also holds test_band (pass rate in the band, never a flake on one commit)
    assert {t["test"] for t in doc["tests"] if t["state"] == "flaky"} == {"test_rerun", "test_band"}
