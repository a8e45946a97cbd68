import pytest

from rq_obs.analysis.quality import score
from rq_obs.analysis.regression import compare_benchmarks, compare_samples, severity
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


BASE4 = [1.00, 1.01, 1.02, 1.03]  # median 1.015


@pytest.mark.parametrize("factor,status,sev", [
    (1.07, "regression", "minor"), (1.12, "regression", "major"), (1.25, "regression", "critical"),
    (1.04, "unchanged", ""), (0.80, "improvement", ""),
])
def test_rule_on_separated_samples(factor, status, sev):
    head = [x * factor for x in BASE4]
    c = compare_samples("op", BASE4, head, threshold=0.05, alpha=0.05)
    assert c.change == pytest.approx(factor - 1, abs=1e-12)
    assert (c.status, c.severity, c.centre) == (status, sev, "median")
    if status != "unchanged":
        assert c.p_value == pytest.approx(1 / 70, abs=1e-12)  # exact Mann-Whitney U, 4 vs 4, fully separated
        assert c.test.startswith("Mann-Whitney U (one-sided") and "alpha=0.05, n_base=4, n_head=4" in c.test


def test_three_rounds_a_side_can_never_be_significant_at_5_percent():
    c = compare_samples("op", [1.0, 1.1, 1.2], [2.0, 2.1, 2.2])
    assert c.status == "unchanged" and c.p_value == pytest.approx(0.05)


def test_welch_from_summary_statistics_and_unverified_single_round():
    base = Benchmark("op", 1.0, 0.98, 1.02, 0.01, 1.0, rounds=100)
    head = Benchmark("op", 1.1, 1.08, 1.12, 0.01, 1.1, rounds=100)
    c = compare_benchmarks(base, head)
    assert (c.status, c.severity, c.centre) == ("regression", "minor", "mean") and c.test.startswith("Welch's t-test")
    assert c.p_value < 1e-100
    one = compare_benchmarks(Benchmark("op", 1.0, 1.0, 1.0, 0.0, 1.0, rounds=1), Benchmark("op", 1.5, 1.5, 1.5, 0.0, 1.5, rounds=1))
    assert one.status == "unverified" and one.p_value is None


def test_severity_bands():
    assert [severity(x, 0.05) for x in (0.06, 0.10, 0.11, 0.20, 0.21)] == ["minor", "minor", "major", "major", "critical"]
