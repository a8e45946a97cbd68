"""Flaky / broken / healthy on constructed histories, with exact pass, flip and stability values."""

import pytest

from rq_obs.analytics.reports import flaky_report
from rq_obs.config import Config
from tests.analysis.history import DAY, HOUR, add_run, store_at

NOW = 1_795_000_000.0


def _by_test(tests):
    return {t.test: t for t in tests}


def test_pass_and_fail_on_one_commit_is_flaky_and_always_failing_is_broken(tmp_path):
    s = store_at(tmp_path)
    # five runs on five commits; t_same fails then passes on commit c2 (a second run on c2)
    for i in range(5):
        at = NOW - (10 - i) * HOUR
        add_run(s, f"r{i}", at, [("t_same", "passed"), ("t_broken", "failed"), ("t_ok", "passed")], commit=f"c{i}")
    add_run(s, "r2b", NOW - 5 * HOUR, [("t_same", "failed"), ("t_broken", "error"), ("t_ok", "passed")], commit="c2")
    t = _by_test(flaky_report(s, Config(), NOW))
    same = t["t_same"]
    assert (same.state, same.attempts, same.passed, same.failed) == ("flaky", 6, 5, 1)
    assert same.flaky_commits == 1
    # order by time: P(c0) P(c1) P(c2) P(c3) P(c4) F(c2, 5 h ago -> last) : one change
    assert same.flips == 1 and same.flip_rate == pytest.approx(1 / 6)
    assert same.pass_rate == pytest.approx(5 / 6)
    assert same.stability == pytest.approx(100 * (5 / 6) * (5 / 6))
    assert same.last_flake == NOW - 5 * HOUR  # the failing run on c2 is the latest same-commit change
    broken = t["t_broken"]
    assert (broken.state, broken.pass_rate, broken.flip_rate, broken.stability) == ("broken", 0.0, 0.0, 100.0)
    assert broken.last_flake is None
    ok = t["t_ok"]
    assert (ok.state, ok.pass_rate, ok.flips, ok.stability) == ("healthy", 1.0, 0, 100.0)


def test_pass_on_rerun_is_a_flake(tmp_path):
    s = store_at(tmp_path)
    add_run(s, "r1", NOW - 2 * HOUR, [("t_rerun", "failed", 1.0, 1), ("t_rerun", "passed", 1.0, 2)])  # no commit
    add_run(s, "r2", NOW - HOUR, [("t_rerun", "passed")])
    (t,) = flaky_report(s, Config(), NOW)
    assert (t.state, t.flaky_commits, t.flips, t.attempts) == ("flaky", 1, 1, 3)
    assert t.last_flake == NOW - 2 * HOUR + 1  # the passing rerun (second attempt of r1)


def test_pass_rate_inside_the_band_is_flaky_outside_is_healthy(tmp_path):
    s = store_at(tmp_path)
    pattern_band = ["passed", "failed", "passed", "failed"]  # 50 %, every run a different commit
    pattern_ok = ["passed", "passed", "failed", "passed"]  # 75 %: outside [0.3, 0.7]
    for i in range(4):
        add_run(s, f"r{i}", NOW - (5 - i) * HOUR, [("t_band", pattern_band[i], 0.1 * (i + 1)), ("t_ok", pattern_ok[i])],
                commit=f"c{i}")
    t = _by_test(flaky_report(s, Config(), NOW))
    band = t["t_band"]
    assert (band.state, band.flaky_commits, band.pass_rate, band.flips) == ("flaky", 0, 0.5, 3)
    assert band.flip_rate == 0.75 and band.stability == pytest.approx(100 * 0.25 * 0.5)
    assert band.duration_p95 == pytest.approx(0.3 + 0.85 * 0.1)  # linear interpolation of 0.1..0.4
    ok = t["t_ok"]
    assert (ok.state, ok.pass_rate, ok.flips, ok.flip_rate) == ("healthy", 0.75, 2, 0.5)
    assert ok.stability == pytest.approx(37.5)
    # a narrower band from the config changes the verdict; too few attempts never trigger the band
    assert _by_test(flaky_report(s, Config(flaky_band=[0.1, 0.2]), NOW))["t_band"].state == "healthy"
    assert _by_test(flaky_report(s, Config(flaky_min_attempts=5), NOW))["t_band"].state == "healthy"


def test_window_excludes_older_runs_and_first_seen_is_all_time(tmp_path):
    s = store_at(tmp_path)
    add_run(s, "old", NOW - 10 * DAY, [("t", "passed")], commit="a")
    for i in range(3):
        add_run(s, f"r{i}", NOW - (3 - i) * HOUR, [("t", "failed")], commit=f"c{i}")
    (t,) = flaky_report(s, Config(), NOW, with_first_seen=True)
    assert (t.state, t.attempts, t.first_seen) == ("broken", 3, NOW - 10 * DAY)
    (t,) = flaky_report(s, Config(), NOW, "11d")  # passed once, then failed 3 times: still broken
    assert (t.state, t.attempts, t.pass_rate, t.flips) == ("broken", 4, 0.25, 1)
    add_run(s, "r3", NOW - HOUR / 2, [("t", "passed")], commit="c3")  # passes again: 2/5 is in the band
    (t,) = flaky_report(s, Config(), NOW, "11d")
    assert (t.state, t.attempts, t.pass_rate, t.flips) == ("flaky", 5, 0.4, 2)
