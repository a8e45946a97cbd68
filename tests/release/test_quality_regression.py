import random

import pytest

from rq_obs.analysis.quality import score
from rq_obs.analysis.regression import DEFAULT_ALPHA, compare_benchmarks, compare_samples, min_samples, severity
from rq_obs.snapshot.model import Benchmark

ALL = {"code_quality": 90, "test_coverage": 85, "dependencies": 95, "documentation": 78, "performance": 92}


def test_score_with_every_dimension_matches_the_plans_example():
    s = score(ALL)
    assert s.total == pytest.approx(88.6, abs=1e-12)
    assert s.missing == () and s.effective_weights["code_quality"] == 25.0


def test_missing_dimension_is_reweighted_not_scored_100():
    s = score(dict(ALL, documentation=None))
    assert s.total == pytest.approx((22.5 + 17 + 19 + 18.4) / 0.85, abs=1e-12)  # 90.470588...
    assert s.dimensions["documentation"] is None and s.missing == ("documentation",)
    assert s.effective_weights == pytest.approx({"code_quality": 25 / 0.85, "test_coverage": 20 / 0.85,
                                                 "dependencies": 20 / 0.85, "documentation": 0.0, "performance": 20 / 0.85})
    only = score({"test_coverage": 60})
    assert only.total == 60.0 and set(only.missing) == {"code_quality", "dependencies", "documentation", "performance"}
    assert score({}).total is None


def test_custom_weights():
    s = score(ALL, {"code_quality": 1, "test_coverage": 1, "dependencies": 0, "documentation": 0, "performance": 2})
    assert s.total == pytest.approx((90 + 85 + 2 * 92) / 4)


BASE = tuple(1.0 + 0.001 * k for k in range(-10, 11))  # 21 rounds within ±1 % of 1.0


@pytest.mark.parametrize("factor,status,sev", [
    (1.07, "regression", "minor"), (1.12, "regression", "major"), (1.25, "regression", "critical"),
    (1.00, "unchanged", ""), (1.03, "unchanged", ""), (0.80, "improvement", ""),
])
def test_verdicts_on_separated_samples(factor, status, sev):
    head = [x * factor for x in BASE]
    c = compare_samples("op", BASE, head, threshold=0.05)
    assert c.ratio == pytest.approx(factor, rel=1e-12) and c.change == pytest.approx(factor - 1, abs=1e-12)
    assert (c.status, c.severity, c.centre, c.samples_needed) == (status, sev, "median", None)
    assert c.test == ("Mann-Whitney U with Hodges-Lehmann ratio and 99% interval (alpha=0.005 per side, "
                      "n_base=21, n_head=21)")
    lo, hi = c.ci
    assert lo <= factor <= hi and hi / lo < 1.03  # ±1 % spread: a narrow interval


def test_p_value_and_interval_agree_with_scipy():
    from scipy.stats import mannwhitneyu

    rng = random.Random(5)
    for _ in range(40):
        n, m = rng.randint(5, 40), rng.randint(5, 40)
        a = [rng.lognormvariate(0, 0.05) for _ in range(n)]
        b = [rng.lognormvariate(0.03, 0.05) for _ in range(m)]
        c = compare_samples("op", a, b)
        alt = "greater" if c.change >= 0 else "less"
        assert c.p_value == pytest.approx(mannwhitneyu(b, a, alternative=alt, method="exact").pvalue, rel=1e-9)
        # the interval is the test inverted: it excludes 1 exactly when the one-sided test rejects at alpha
        assert (c.ci[0] > 1 or c.ci[1] < 1) == (c.p_value <= DEFAULT_ALPHA)


def test_noisy_small_samples_are_inconclusive_with_the_rounds_needed():
    rng = random.Random(7)
    a = [rng.lognormvariate(0, 0.10) for _ in range(5)]
    b = [1.10 * rng.lognormvariate(0, 0.10) for _ in range(5)]
    c = compare_samples("op", a, b)
    assert c.status == "inconclusive" and c.samples_needed is not None and c.samples_needed > 5
    assert "reaches beyond ±5%" in c.reason
    # the rounds asked for decide most comparisons (aimed at 95 %; the estimate it starts from is itself noisy):
    # 40 trials of a real 10 % slowdown at CV 8 % with 10 rounds a side, then again with the rounds asked for
    decided = asked = 0
    for _ in range(40):
        a = [rng.lognormvariate(0, 0.08) for _ in range(10)]
        b = [1.10 * rng.lognormvariate(0, 0.08) for _ in range(10)]
        c = compare_samples("op", a, b)
        assert c.status in ("regression", "inconclusive")
        if c.status == "inconclusive":
            n = min(c.samples_needed, 5000)
            asked += 1
            a = [rng.lognormvariate(0, 0.08) for _ in range(n)]
            b = [1.10 * rng.lognormvariate(0, 0.08) for _ in range(n)]
            decided += compare_samples("op", a, b).status == "regression"
    assert asked >= 10 and decided >= 0.85 * asked


def test_too_few_rounds_for_any_interval():
    c = compare_samples("op", [1.0, 1.1, 1.2], [2.0, 2.1, 2.2])
    assert (c.status, c.ci) == ("inconclusive", None) and c.p_value == pytest.approx(0.05)
    assert c.reason == "too few rounds for a 99% interval (need 5 per side)" and c.samples_needed >= 5
    assert min_samples(0.005) == 5 and min_samples(0.05) == 3


def test_no_spread_is_exact():
    c = compare_samples("op", [100.0] * 5, [112.0] * 5)  # instruction counts
    assert (c.status, c.severity, c.ci) == ("regression", "major", (pytest.approx(1.12), pytest.approx(1.12)))
    assert compare_samples("op", [100.0] * 5, [101.0] * 5).status == "unchanged"


def test_welch_from_summary_statistics_and_inconclusive_single_round():
    base = Benchmark("op", 1.0, 0.98, 1.02, 0.01, 1.0, rounds=100)
    head = Benchmark("op", 1.1, 1.08, 1.12, 0.01, 1.1, rounds=100)
    c = compare_benchmarks(base, head)
    assert (c.status, c.severity, c.centre) == ("regression", "minor", "mean") and c.test.startswith("Welch's t-test")
    assert c.p_value < 1e-100 and c.ratio == pytest.approx(1.1)
    one = compare_benchmarks(Benchmark("op", 1.0, 1.0, 1.0, 0.0, 1.0, rounds=1), Benchmark("op", 1.5, 1.5, 1.5, 0.0, 1.5, rounds=1))
    assert one.status == "inconclusive" and one.p_value is None and one.test.startswith("not testable")


def test_severity_bands():
    assert [severity(x, 0.05) for x in (0.06, 0.10, 0.11, 0.20, 0.21)] == ["minor", "minor", "major", "major", "critical"]
