"""The analytics collector on a fresh registry: exact published values, promtool-clean, cached between scrapes."""

import math
import subprocess
from datetime import datetime, timezone

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from rq_obs.catalog import M, iter_exporter
from rq_obs.config import Config
from rq_obs.exporters.analytics import AnalyticsCollector
from rq_obs.exporters.base import LabelGuard
from tests.analysis.history import DAY, HOUR, add_run, store_at
from tests.helpers.procs import PROMTOOL, need

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc).timestamp()


def _phi_sf(z):
    return 0.5 * math.erfc(z / math.sqrt(2))


def _history(s):
    # suite "s": t_flaky passes on rerun in r1; t_broken always fails; SKILL.md changes in r2
    add_run(s, "r1", NOW - 3 * HOUR, [("t_flaky", "failed", 1.0, 1), ("t_flaky", "passed", 3.0, 2),
                                      ("t_broken", "failed", 2.0)], suite="s", commit="c1", tracked=[("SKILL.md", "aaa")])
    add_run(s, "r2", NOW - 2 * HOUR, [("t_flaky", "passed", 1.0), ("t_broken", "failed", 2.0)], suite="s", commit="c2",
            tracked=[("SKILL.md", "bbb")])
    add_run(s, "r3", NOW - 1 * HOUR, [("t_flaky", "passed", 1.0), ("t_broken", "failed", 2.0)], suite="s", commit="c3",
            tracked=[("SKILL.md", "bbb")])
    # suite "ab": experiment "exp", 2 samples per variant, costs today
    add_run(s, "e1", NOW - HOUR / 2, [("t_x", "passed", 1.0, 1, "control", 0.5, 100),
                                      ("t_y", "failed", 3.0, 1, "control", 1.5, 300),
                                      ("t_x", "passed", 2.0, 1, "new", 0.25, 50),
                                      ("t_y", "passed", 2.0, 1, "new", 0.25, 50)], suite="ab", experiment="exp")


def _scrape(collector):
    reg = CollectorRegistry(auto_describe=False)
    reg.register(collector)
    text = generate_latest(reg).decode()
    values = {}
    for fam in text_string_to_metric_families(text):
        for smp in fam.samples:
            values[(smp.name, tuple(sorted(smp.labels.items())))] = smp.value
    return text, values


def _v(values, catalogued, **labels):
    return values[(catalogued.name, tuple(sorted(labels.items())))]


def test_collector_publishes_exact_values_for_every_analytics_metric(tmp_path):
    s = store_at(tmp_path)
    _history(s)
    text, values = _scrape(AnalyticsCollector(s, Config(), LabelGuard(5000, 200), background=False, clock=lambda: NOW))
    # flakiness: t_flaky F P P P (pass on rerun in r1) -> flaky; t_broken F F F -> broken
    assert _v(values, M.TEST_PASS_RATE, suite="s", test="t_flaky") == 0.75
    assert _v(values, M.TEST_FLIP_RATE, suite="s", test="t_flaky") == 0.25
    assert _v(values, M.TEST_STABILITY, suite="s", test="t_flaky") == pytest.approx(100 * 0.75 * 0.75)
    assert _v(values, M.TEST_STATE, suite="s", test="t_flaky", state="flaky") == 1
    assert _v(values, M.TEST_STATE, suite="s", test="t_broken", state="broken") == 1
    assert (M.TEST_STATE.name, (("state", "healthy"), ("suite", "s"), ("test", "t_flaky"))) not in values
    assert _v(values, M.TEST_LAST_FLAKE, suite="s", test="t_flaky") == NOW - 3 * HOUR + 1
    assert _v(values, M.TEST_DURATION_P95, suite="s", test="t_flaky") == pytest.approx(1.0 + 0.85 * 2.0)
    assert _v(values, M.TEST_STABILITY, suite="s", test="t_broken") == 100.0
    assert _v(values, M.FLAKY_TESTS, suite="s") == 1 and _v(values, M.BROKEN_TESTS, suite="s") == 1
    assert _v(values, M.FLAKY_TESTS, suite="ab") == 0
    # impact of the SKILL.md change at r2 (suite s, first attempts): before r1 1/2, after r2+r3 2/4
    assert _v(values, M.CHANGE_PASS_RATE, path="SKILL.md", period="before") == 0.0
    assert _v(values, M.CHANGE_PASS_RATE, path="SKILL.md", period="after") == 0.5
    assert _v(values, M.CHANGE_DELTA, path="SKILL.md") == 0.5
    se = math.sqrt(2 / 6 * 4 / 6 * (1 / 2 + 1 / 4))
    assert _v(values, M.CHANGE_P_VALUE, path="SKILL.md") == pytest.approx(2 * _phi_sf(0.5 / se), rel=1e-9)
    assert _v(values, M.CHANGE_TEST_DELTA, path="SKILL.md", test="t_flaky") == 1.0
    # t_broken failed before and after: delta 0 is left out by default
    assert (M.CHANGE_TEST_DELTA.name, (("path", "SKILL.md"), ("test", "t_broken"))) not in values
    # experiment: control 1/2 passed, duration 1,3, cost .5,1.5; new 2/2, duration 2,2, cost .25,.25
    e = {"experiment": "exp"}
    assert _v(values, M.EXPERIMENT_SAMPLES, variant="control", **e) == 2
    assert _v(values, M.EXPERIMENT_VALUE, variant="new", metric="pass_rate", **e) == 1.0
    assert _v(values, M.EXPERIMENT_VALUE, variant="control", metric="cost", **e) == 1.0
    assert _v(values, M.EXPERIMENT_VALUE, variant="control", metric="tokens", **e) == 200.0
    assert _v(values, M.EXPERIMENT_LIFT, variant="new", metric="pass_rate", kind="absolute", **e) == 0.5
    assert _v(values, M.EXPERIMENT_LIFT, variant="new", metric="pass_rate", kind="relative", **e) == 1.0
    assert _v(values, M.EXPERIMENT_LIFT, variant="new", metric="cost", kind="relative", **e) == -0.75
    # pass rate 1/2 vs 2/2: pooled 3/4, se = sqrt(3/16 * 1), z = 0.5/se; CI: unpooled se = sqrt(.25/2 + 0/2)
    assert _v(values, M.EXPERIMENT_P_VALUE, variant="new", metric="pass_rate", **e) == pytest.approx(
        2 * _phi_sf(0.5 / math.sqrt(3 / 16)), rel=1e-9)
    assert _v(values, M.EXPERIMENT_CI_LOWER, variant="new", metric="pass_rate", **e) == pytest.approx(0.5 - 1.959964 * math.sqrt(0.125), abs=1e-6)
    assert _v(values, M.EXPERIMENT_CI_UPPER, variant="new", metric="pass_rate", **e) == pytest.approx(0.5 + 1.959964 * math.sqrt(0.125), abs=1e-6)
    assert _v(values, M.EXPERIMENT_SRM_P_VALUE, **e) == 1.0
    assert _v(values, M.EXPERIMENT_VERDICT, variant="new", verdict="inconclusive", **e) == 1
    assert _v(values, M.EXPERIMENT_MDE, variant="new", metric="pass_rate", **e) == pytest.approx(
        (2.4977054 + 0.8416212) * math.sqrt(3 / 16), rel=1e-6)  # alpha 0.05/4
    assert 0 < _v(values, M.EXPERIMENT_POWER, variant="new", metric="pass_rate", **e) < 0.5
    # duration: new has no variance, control var 2: Welch se = 1, lift -0 -> p = 1
    assert _v(values, M.EXPERIMENT_P_VALUE, variant="new", metric="duration", **e) == pytest.approx(1.0)
    # executive: every cost is from today; wow has no previous week -> not published
    assert _v(values, M.COST_TODAY) == 2.5
    assert _v(values, M.COST_MONTH_PROJECTED) == pytest.approx(2.5 / 7 * 30)
    assert _v(values, M.BUDGET_BURN) == pytest.approx(0.1)
    # every cost is from today: no spend history yet, so no anomaly score (a new model is not an anomaly)
    assert (M.COST_ANOMALY.name, (("model", "gpt-4o"),)) not in values
    assert _v(values, M.SLO_PASS_RATE) == 0.85 and _v(values, M.DAILY_BUDGET) == 25.0
    assert not any(k[0] == M.PASS_RATE_WOW_DELTA.name for k in values)
    # every analytics family is declared (HELP/TYPE), even when it has no samples
    for m in iter_exporter("analytics"):
        assert f"# TYPE {m.name} gauge\n" in text


def test_wow_delta_is_published_per_suite(tmp_path):
    s = store_at(tmp_path)
    add_run(s, "old", NOW - 10 * DAY, [("t", "passed"), ("u", "passed")], suite="s")
    add_run(s, "new", NOW - DAY, [("t", "passed"), ("u", "failed")], suite="s")
    _, values = _scrape(AnalyticsCollector(s, Config(), background=False, clock=lambda: NOW))
    assert _v(values, M.PASS_RATE_WOW_DELTA, suite="s") == -0.5


def test_output_passes_promtool_check_metrics(tmp_path):
    promtool = need(PROMTOOL, "prometheus")
    s = store_at(tmp_path)
    _history(s)
    text, _ = _scrape(AnalyticsCollector(s, Config(), background=False, clock=lambda: NOW))
    cp = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True)
    assert cp.returncode == 0 and cp.stdout + cp.stderr == b"", (cp.stdout + cp.stderr).decode()


def test_test_label_cap_drops_per_test_series_but_counts_every_test(tmp_path):
    s = store_at(tmp_path)
    _history(s)
    guard = LabelGuard(max_values=1, max_length=200)
    _, values = _scrape(AnalyticsCollector(s, Config(), guard, background=False, clock=lambda: NOW))
    published = sorted(dict(k[1])["test"] for k in values if k[0] == M.TEST_PASS_RATE.name and dict(k[1])["suite"] == "s")
    assert published == ["t_broken"]  # the first test per suite (sorted); t_flaky is capped, not folded
    assert _v(values, M.FLAKY_TESTS, suite="s") == 1 and _v(values, M.BROKEN_TESTS, suite="s") == 1
    assert guard.capped["test"] >= 1


class _Counting(AnalyticsCollector):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.computations = 0

    def refresh(self):
        self.computations += 1
        super().refresh()


def test_results_are_cached_until_the_store_changes_and_min_interval_passed(tmp_path):
    s = store_at(tmp_path)
    _history(s)
    clock = [NOW]
    c = _Counting(s, Config(), background=False, clock=lambda: clock[0], min_interval=5, max_age=60)
    _scrape(c)
    _scrape(c)
    assert c.computations == 1
    add_run(s, "r4", NOW - HOUR / 4, [("t_broken", "passed")], suite="s", commit="c4")
    clock[0] = NOW + 2  # changed, but within min_interval: still the cached result
    _, values = _scrape(c)
    assert c.computations == 1 and _v(values, M.BROKEN_TESTS, suite="s") == 1
    clock[0] = NOW + 6
    _, values = _scrape(c)
    assert c.computations == 2 and _v(values, M.BROKEN_TESTS, suite="s") == 0
    clock[0] = NOW + 30  # unchanged store, younger than max_age
    _scrape(c)
    assert c.computations == 2
    clock[0] = NOW + 67  # older than max_age: windows slide, recompute
    _scrape(c)
    assert c.computations == 3


def test_background_recompute_serves_the_previous_result_meanwhile(tmp_path):
    s = store_at(tmp_path)
    _history(s)
    clock = [NOW]
    c = AnalyticsCollector(s, Config(), clock=lambda: clock[0], min_interval=0, max_age=60)
    _, first = _scrape(c)
    add_run(s, "r4", NOW - HOUR / 4, [("t_broken", "passed")], suite="s", commit="c4")
    clock[0] = NOW + 1
    _, during = _scrape(c)  # starts the recomputation; this scrape gets the cached families
    assert _v(during, M.BROKEN_TESTS, suite="s") == 1
    c.wait(30)
    _, after = _scrape(c)
    assert _v(after, M.BROKEN_TESTS, suite="s") == 0


def test_failed_background_recompute_keeps_the_previous_result(tmp_path, caplog):
    s = store_at(tmp_path)
    _history(s)
    clock = [NOW]
    c = AnalyticsCollector(s, Config(), clock=lambda: clock[0], min_interval=0, max_age=1)
    _scrape(c)
    c.config = Config(flaky_window="0d")  # makes the next computation fail
    clock[0] = NOW + 5
    _scrape(c)
    c.wait(30)
    _, values = _scrape(c)
    c.wait(30)
    assert _v(values, M.BROKEN_TESTS, suite="s") == 1
    assert "analytics recomputation failed" in caplog.text


def test_always_passing_tests_are_published_only_when_asked(tmp_path):
    s = store_at(tmp_path)
    _history(s)
    _, lean = _scrape(AnalyticsCollector(s, Config(), background=False, clock=lambda: NOW))
    t_x = sorted(k[0] for k in lean if dict(k[1]).get("test") == "t_x")
    assert t_x == [M.TEST_DURATION_P95.name, M.TEST_STATE.name]  # every test has a state and a p95
    assert _v(lean, M.TEST_PASS_RATE, suite="ab", test="t_y") == 0.5  # failed once: published
    _, full = _scrape(AnalyticsCollector(s, Config(analytics_all_tests=True), background=False, clock=lambda: NOW))
    assert _v(full, M.TEST_PASS_RATE, suite="ab", test="t_x") == 1.0
    assert _v(full, M.TEST_STABILITY, suite="ab", test="t_x") == 100.0
    assert _v(full, M.TEST_STATE, suite="ab", test="t_x", state="healthy") == 1
    assert _v(full, M.CHANGE_TEST_DELTA, path="SKILL.md", test="t_broken") == 0.0
    assert len(full) - len(lean) == 4  # pass rate, flip rate, stability of t_x; t_broken's delta
