"""Experiments from the store: rates, means, lifts, CIs and p-values against scipy; SRM; Bonferroni; verdicts."""

import math

import numpy as np
import pytest
from scipy import stats as sp

from rq_obs.analytics.reports import experiment_report
from rq_obs.config import Config
from tests.analysis.history import HOUR, add_run, store_at

NOW = 1_795_000_000.0


def _arm(variant, n, passes, dur, cost, tokens):
    return [(f"t{i}", "passed" if i < passes else "failed", dur(i), 1, variant, cost(i), tokens(i)) for i in range(n)]


def _control(i):
    return 1.0 + (i % 7) * 0.1, 0.01 * (1 + i % 3), 100 + i % 10


def _treat(i):
    return 1.2 + (i % 5) * 0.15, 0.012 * (1 + i % 4), 90 + i % 6


@pytest.fixture
def ab_store(tmp_path):
    s = store_at(tmp_path)
    c = _arm("control", 100, 80, lambda i: _control(i)[0], lambda i: _control(i)[1], lambda i: _control(i)[2])
    t = _arm("concise", 100, 90, lambda i: _treat(i)[0], lambda i: _treat(i)[1], lambda i: _treat(i)[2])
    add_run(s, "a", NOW - 2 * HOUR, c[:50] + t[:50], experiment="prompt-v2")
    # the second run also holds a rerun (attempt 2): reruns are not samples
    add_run(s, "b", NOW - HOUR, c[50:] + t[50:] + [("t99", "passed", 5.0, 2, "concise", 1.0, 1000)],
            experiment="prompt-v2")
    add_run(s, "plain", NOW - HOUR, [("t0", "failed")])  # no experiment
    return s


def test_experiment_values_lifts_and_tests_match_scipy(ab_store):
    (r,) = experiment_report(ab_store, Config())
    assert (r.experiment, r.control, r.metrics) == ("prompt-v2", "control", ("pass_rate", "duration", "tokens", "cost"))
    assert {v: a.samples for v, a in r.arms.items()} == {"control": 100, "concise": 100}
    # 4 metrics x 1 treatment: Bonferroni alpha 0.05 / 4
    assert (r.n_comparisons, r.adjusted_alpha) == (4, 0.0125)
    assert any("Bonferroni-adjusted alpha 0.0125 (= 0.05 / 4)" in n for n in r.notes)

    pr = r.comparisons[("concise", "pass_rate")]
    assert (pr.control, pr.treatment) == (0.8, 0.9)
    assert pr.diff == pytest.approx(0.1) and pr.relative == pytest.approx(0.125)
    assert pr.p_value == pytest.approx(0.04767, abs=1e-5)  # hand-computed z = 1.9803 (see test_stats)
    # significant at 0.05 but not at the Bonferroni-adjusted 0.0125: inconclusive
    assert r.verdicts == {"concise": "inconclusive"}

    for metric, k in (("duration", 0), ("cost", 1), ("tokens", 2)):
        a = np.array([_control(i)[k] for i in range(100)], dtype=float)
        b = np.array([_treat(i)[k] for i in range(100)], dtype=float)
        ref = sp.ttest_ind(b, a, equal_var=False)
        ci = ref.confidence_interval(0.95)
        c = r.comparisons[("concise", metric)]
        assert c.control == pytest.approx(a.mean(), rel=1e-12) and c.treatment == pytest.approx(b.mean(), rel=1e-12)
        assert c.diff == pytest.approx(b.mean() - a.mean(), rel=1e-9)
        assert c.relative == pytest.approx((b.mean() - a.mean()) / a.mean(), rel=1e-9)
        assert c.statistic == pytest.approx(ref.statistic, rel=1e-9)
        assert c.p_value == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)
        assert c.ci == pytest.approx((ci.low, ci.high), rel=1e-9)
        se = math.sqrt(a.var(ddof=1) / 100 + b.var(ddof=1) / 100)
        assert c.mde == pytest.approx((sp.norm.ppf(1 - 0.0125 / 2) + sp.norm.ppf(0.8)) * se, rel=1e-9)
    # means by hand: duration control = 1 + 0.1 * mean(i % 7 for i < 100)
    assert r.arms["control"].value("duration") == pytest.approx(1.0 + 0.1 * sum(i % 7 for i in range(100)) / 100)
    assert r.srm.p_value == 1.0 and not r.srm.flagged


def test_clear_winner_is_better_and_loser_is_worse(tmp_path):
    s = store_at(tmp_path)
    rows = [(f"t{i}", "passed" if i < 300 else "failed", 1.0 + i % 2, 1, "control") for i in range(500)]
    rows += [(f"t{i}", "passed" if i < 400 else "failed", 1.0 + i % 2, 1, "b-better") for i in range(500)]
    rows += [(f"t{i}", "passed" if i < 200 else "failed", 1.0 + i % 2, 1, "a-worse") for i in range(500)]
    add_run(s, "x", NOW, rows, experiment="e")
    (r,) = experiment_report(s, Config())
    assert r.verdicts == {"a-worse": "worse", "b-better": "better"}
    assert r.n_comparisons == 4 and r.metrics == ("pass_rate", "duration")  # no API calls: tokens/cost not tested
    # 0.6 vs 0.8 with 500 each: z = 0.2 / sqrt(0.7*0.3*2/500) = 6.901...
    assert r.comparisons[("b-better", "pass_rate")].statistic == pytest.approx(0.2 / math.sqrt(0.21 * 2 / 500))
    # achieved power at alpha 0.0125: Φ(z − z_0.99375) + Φ(−z − z_0.99375) = Φ(6.901 − 2.498) = 0.9999947
    z = 0.2 / math.sqrt(0.21 * 2 / 500)
    assert r.comparisons[("b-better", "pass_rate")].power == pytest.approx(
        sp.norm.cdf(z - sp.norm.ppf(1 - 0.0125 / 2)) + sp.norm.cdf(-z - sp.norm.ppf(1 - 0.0125 / 2)), rel=1e-12)
    assert r.comparisons[("b-better", "pass_rate")].power == pytest.approx(0.9999947, abs=1e-7)
    # identical durations in every arm: Welch p = 1
    assert r.comparisons[("b-better", "duration")].p_value == pytest.approx(1.0)


def test_srm_flagged_on_5500_4500_and_not_on_5000_5000(tmp_path):
    s = store_at(tmp_path)
    add_run(s, "srm", NOW, [(f"t{i}", "passed", 1.0, 1, "control") for i in range(5500)]
            + [(f"t{i}", "passed", 1.0, 1, "treatment") for i in range(4500)], experiment="skewed")
    add_run(s, "even", NOW, [(f"t{i}", "passed", 1.0, 1, "control") for i in range(5000)]
            + [(f"t{i}", "passed", 1.0, 1, "treatment") for i in range(5000)], experiment="even")
    r = {x.experiment: x for x in experiment_report(s, Config())}
    skewed, even = r["skewed"], r["even"]
    assert skewed.srm.observed == (5500, 4500) and skewed.srm.chi2 == pytest.approx(100.0)
    assert skewed.srm.p_value == pytest.approx(sp.chisquare([5500, 4500]).pvalue, rel=1e-9)
    assert skewed.srm.flagged and skewed.verdicts == {"treatment": "srm"}
    assert any(n.startswith("sample-ratio mismatch") for n in skewed.notes)
    assert even.srm.p_value == 1.0 and not even.srm.flagged and even.verdicts == {"treatment": "inconclusive"}
    # a configured 55/45 split makes the skewed one fine
    cfg = Config(experiment_splits={"skewed": {"control": 55, "treatment": 45}})
    (sk,) = experiment_report(s, cfg, "skewed")
    assert sk.srm.chi2 == pytest.approx(0.0) and not sk.srm.flagged


def test_control_is_first_alphabetically_without_a_control_variant(tmp_path):
    s = store_at(tmp_path)
    add_run(s, "x", NOW, [("t", "passed", 1.0, 1, "v2"), ("t", "passed", 1.0, 1, "v1")], experiment="e")
    (r,) = experiment_report(s, Config())
    assert r.control == "v1" and list(r.verdicts) == ["v2"]
