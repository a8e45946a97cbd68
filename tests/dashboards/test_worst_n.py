"""The QA dashboard's worst-N tables and top-k series, run on a real Prometheus scraping a real rq-obs server,
name the tests the store's analytics name, with their values.

30 tests in one suite over 20 runs: tests 0-9 always pass, test ``i`` >= 10 fails the first ``i - 9`` runs,
so pass rates and failure counts are all distinct. ``top_tests_max`` is 8 (the pre-ranked rules keep 8 tests)
and ``$top`` is 5.
"""

from __future__ import annotations

import json
import time

import pytest

from rq_obs.analytics.reports import flaky_report
from rq_obs.dashboards import render_all
from rq_obs.rules import prometheus as prom_rules
from rq_obs.rules.definitions import N
from rq_obs.store import Attempt, Run, Store, run_to_dict
from tests.helpers.procs import Prometheus, wait_until
from tests.server.conftest import TOKEN, Running

pytestmark = pytest.mark.e2e

TESTS = [f"tests/test_shop.py::test_{i:02d}" for i in range(30)]
RUNS = 20
TOP, TOP_MAX = 5, 8


def failures(i: int) -> int:
    return max(0, i - 9)


def runs(now: float) -> list[dict]:
    out = []
    for r in range(RUNS):
        started = now - 3600 + r * 60
        attempts = tuple(Attempt(test=t, outcome="failed" if r < failures(i) else "passed", duration=0.1,
                                 started_at=started + i) for i, t in enumerate(TESTS))
        doc = json.loads(json.dumps(run_to_dict(Run(f"run-{r:02d}", "shop", started, started + 40,
                                                    commit=f"c{r}", attempts=attempts))))
        doc.pop("sequence")
        out.append(doc)
    return out


def panel_exprs(board: dict, title: str, kind: str | None = None) -> list[str]:
    panel = [p for p in board["panels"] if p["title"] == title and kind in (None, p["type"])]
    assert len(panel) == 1, title
    return [t["expr"].replace("$top", str(TOP)).replace("$suite", ".*").replace("$test", ".*")
            .replace("$__range", "2h") for t in panel[0]["targets"]]


def by_test(result: list[dict]) -> dict[str, float]:
    return {r["metric"]["test"]: float(r["value"][1]) for r in result}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    d = tmp_path_factory.mktemp("worst_n")
    store = Store(d / "store.db")
    # counters written less than 20 s ago are exported as 0: Prometheus sees 0, then the totals (increase counts them)
    srv = Running(store, {"RQ_OBS_TOKEN": TOKEN}, top_tests_max=TOP_MAX, new_series_grace="20s")
    now = time.time()
    for doc in runs(now):
        assert srv.push(doc).status == 201
    files = []
    for rel, text in prom_rules.render(srv.config).items():
        path = d / rel.rsplit("/", 1)[-1]
        path.write_text(text)
        files.append(str(path))
    config = ("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n"
              + "".join(f"  - {f}\n" for f in files)
              + f"scrape_configs:\n  - job_name: rq-obs\n    static_configs:\n"
                f"      - targets: ['{srv.url.removeprefix('http://')}']\n")
    (d / "prom").mkdir()
    try:
        with Prometheus(d / "prom", config) as prom:
            # the failure counters have left 0 and the top-k rule has ranked them
            wait_until(lambda: len(prom.query(N.test_failures_top)) == TOP_MAX, 90,
                       what=f"{N.test_failures_top} with {TOP_MAX} tests")
            yield prom, srv, render_all(srv.config)["qa"], flaky_report(store, srv.config, time.time())
    finally:
        srv.stop()


def test_lowest_pass_rates_table_is_the_stores_worst_n_with_their_rates(stack):
    prom, _, board, report = stack
    worst = sorted((t for t in report if t.pass_rate is not None), key=lambda t: t.pass_rate)[:TOP]
    assert [t.test for t in worst] == TESTS[-1:-TOP - 1:-1]  # tests 29..25: pass rates 0, 0.05 ... 0.2
    rate, flip, stability = (by_test(prom.query(e)) for e in panel_exprs(board, "Lowest pass rates"))
    assert rate == pytest.approx({t.test: t.pass_rate for t in worst}, rel=1e-12)
    assert rate[TESTS[25]] == pytest.approx(0.8 - 0.6)  # 16 failures in 20 runs
    assert flip == pytest.approx({t.test: t.flip_rate for t in worst}, rel=1e-12)
    assert stability == pytest.approx({t.test: t.stability for t in worst}, rel=1e-12)


def test_pass_rate_by_test_ranks_from_the_rule_that_keeps_top_tests_max_per_suite(stack):
    prom, _, board, report = stack
    ranked = by_test(prom.query(N.test_pass_rate_bottom))
    assert ranked == pytest.approx({t.test: t.pass_rate for t in report if t.test in TESTS[-TOP_MAX:]}, rel=1e-12)
    (expr,) = panel_exprs(board, "Pass rate by test")
    got = by_test(prom.query(expr))
    assert got == pytest.approx({TESTS[i]: 1 - failures(i) / RUNS for i in range(29, 29 - TOP, -1)}, abs=1e-12)


@pytest.mark.parametrize("title", ["Most failing tests", "Failures by test"])
def test_most_failing_tests_are_the_stores_with_values_in_proportion_to_their_failures(stack, title):
    prom, _, board, _ = stack
    (expr,) = panel_exprs(board, title)
    got = by_test(prom.query(expr))
    assert sorted(got, key=got.get, reverse=True) == TESTS[-1:-TOP - 1:-1]  # 20, 19 ... 16 failures
    # rate() extrapolates every series alike (the same scrapes): value / failures is one constant
    per_failure = {t: v / failures(TESTS.index(t)) for t, v in got.items()}
    assert len(set(round(x, 9) for x in per_failure.values())) == 1, per_failure
    # per hour over the last hour, which holds every failure: at least the stored counts (rate() extrapolates up)
    assert min(per_failure.values()) >= 1


def test_tests_by_state_counts_the_analytics_states(stack):
    prom, _, board, report = stack
    (expr,) = panel_exprs(board, "Tests by state")
    want: dict[str, int] = {}
    for t in report:
        want[t.state] = want.get(t.state, 0) + 1
    got = {r["metric"]["state"]: float(r["value"][1]) for r in prom.query(expr)}
    assert got == want and sum(got.values()) == len(TESTS)


def test_flaky_tests_table_is_top_n_of_the_stores_flaky_tests_with_their_rates(stack):
    prom, _, board, report = stack
    flaky = {t.test: t for t in report if t.state == "flaky"}
    assert len(flaky) > TOP  # pass rates 0.3-0.7 (the band): tests 15-23
    rate, flip, stability, last = (by_test(prom.query(e)) for e in panel_exprs(board, "Flaky tests", "table"))
    assert len(rate) == TOP and set(rate) <= set(flaky)
    assert rate == pytest.approx({t: flaky[t].pass_rate for t in rate}, rel=1e-12)
    assert flip == pytest.approx({t: flaky[t].flip_rate for t in rate}, rel=1e-12)
    assert stability == pytest.approx({t: flaky[t].stability for t in rate}, rel=1e-12)
    assert set(last) <= set(rate)  # the last flake where the analytics have one (ms for Grafana's dateTime)
    assert last == pytest.approx({t: flaky[t].last_flake * 1000 for t in last if flaky[t].last_flake}, rel=1e-12)
