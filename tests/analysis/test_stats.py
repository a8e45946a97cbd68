"""The shared statistics against scipy's own tests and hand-computed values."""

import math

import numpy as np
import pytest
from scipy import stats as sp

from rq_obs.analysis.stats import (Summary, bonferroni, mde_from_se, percentile, power_from_se, srm, two_proportions,
                                   welch, zscore)


def _phi_sf(z):  # 1 - Φ(z), by hand
    return 0.5 * math.erfc(z / math.sqrt(2))


def test_two_proportion_z_test_matches_hand_computation():
    # control 80/100, treatment 90/100: pooled p = 0.85, se = sqrt(0.85*0.15*(1/100+1/100)) = 0.0504975...
    r = two_proportions(80, 100, 90, 100)
    se0 = math.sqrt(0.85 * 0.15 * 0.02)
    assert se0 == pytest.approx(0.05049752469, abs=1e-10)
    assert r.statistic == pytest.approx(0.1 / se0, rel=1e-12) == pytest.approx(1.980295085, abs=1e-8)
    assert r.p_value == pytest.approx(2 * _phi_sf(0.1 / se0), rel=1e-10) == pytest.approx(0.04767, abs=1e-5)
    assert (r.control, r.treatment) == (0.8, 0.9)
    assert r.diff == pytest.approx(0.1) and r.relative == pytest.approx(0.125)
    se1 = math.sqrt(0.8 * 0.2 / 100 + 0.9 * 0.1 / 100)  # unpooled for the CI: 0.05
    assert se1 == pytest.approx(0.05)
    assert r.ci == pytest.approx((0.1 - 1.959963985 * 0.05, 0.1 + 1.959963985 * 0.05), abs=1e-9)


def test_two_proportions_without_variance_is_not_significant():
    r = two_proportions(10, 10, 20, 20)
    assert (r.statistic, r.p_value, r.power, r.mde) == (0.0, 1.0, None, None)
    assert two_proportions(0, 0, 1, 2) is None


def test_welch_matches_scipy_ttest_ind_unequal_variances():
    rng = np.random.default_rng(7)
    a = rng.normal(10.0, 2.0, 40)
    b = rng.normal(11.0, 4.0, 25)
    ref = sp.ttest_ind(b, a, equal_var=False)
    ci = ref.confidence_interval(0.95)
    r = welch(Summary(len(a), a.mean(), a.var(ddof=1)), Summary(len(b), b.mean(), b.var(ddof=1)))
    assert r.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert r.df == pytest.approx(ref.df, rel=1e-12)
    assert r.ci == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert r.diff == pytest.approx(b.mean() - a.mean(), rel=1e-12)


def test_welch_needs_two_samples_and_variance():
    assert welch(Summary(1, 1.0, 0.0), Summary(5, 1.0, 1.0)) is None
    r = welch(Summary(3, 2.0, 0.0), Summary(3, 2.0, 0.0))
    assert r.p_value is None and r.diff == 0.0


def test_srm_flags_55_45_of_10000_and_not_50_50():
    bad = srm([5500, 4500])
    ref = sp.chisquare([5500, 4500])
    assert bad.chi2 == pytest.approx(100.0) == pytest.approx(ref.statistic)
    assert bad.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert bad.p_value < 1e-20 and bad.flagged
    ok = srm([5000, 5000])
    assert (ok.chi2, ok.p_value, ok.flagged) == (0.0, 1.0, False)
    near = srm([5050, 4950])  # chi2 = 1, p = 0.3173
    assert near.p_value == pytest.approx(sp.chisquare([5050, 4950]).pvalue) == pytest.approx(0.31731, abs=1e-5)
    assert not near.flagged


def test_srm_with_configured_split_matches_scipy():
    r = srm([6100, 3900], [60, 40])
    ref = sp.chisquare([6100, 3900], f_exp=[6000, 4000])
    assert r.expected == (6000.0, 4000.0)
    assert r.chi2 == pytest.approx(ref.statistic) == pytest.approx(100**2 / 6000 + 100**2 / 4000)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9) and not r.flagged


def test_power_and_mde_normal_approximation():
    # textbook: 0.50 vs 0.60 needs about 388 per group for 80 % power at alpha 0.05
    r = two_proportions(194, 388, 233, 388 + 0)  # 0.5 vs 0.6005...
    se = math.sqrt(0.55 * 0.45 * 2 / 388)
    assert power_from_se(0.1, se, 0.05) == pytest.approx(0.7995, abs=5e-4)
    assert r.power == pytest.approx(power_from_se(233 / 388 - 0.5, math.sqrt((427 / 776) * (349 / 776) * 2 / 388), 0.05))
    # MDE at 80 % power: (z_0.975 + z_0.8) * se = (1.959964 + 0.841621) * se
    assert mde_from_se(0.05, 0.05) == pytest.approx(2.801585 * 0.05, abs=1e-6)
    # by construction, the power at the MDE is 80 % (plus the negligible opposite tail)
    assert power_from_se(mde_from_se(0.05, 0.01), 0.05, 0.01) == pytest.approx(0.8, abs=1e-6)


def test_bonferroni_zscore_percentile():
    assert bonferroni(0.05, 4) == 0.0125 and bonferroni(0.05, 0) == 0.05
    hist = [1.0, 2.0, 3.0, 4.0]  # mean 2.5, sample std sqrt(5/3)
    assert zscore(5.0, hist) == pytest.approx(2.5 / math.sqrt(5 / 3))
    assert zscore(7.0, [2.0] * 14) == pytest.approx(5.0 / 0.01)  # std floored at 1 cent
    assert zscore(1.0, [1.0]) is None
    vals = sorted([0.3, 1.2, 0.7, 5.0, 2.2, 0.9, 1.1])
    assert percentile(vals, 0.95) == pytest.approx(float(np.percentile(vals, 95)))
    assert percentile([], 0.95) is None
