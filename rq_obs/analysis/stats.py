"""Shared statistics: two-proportion z-test, Welch's t-test, CIs, power, MDE, SRM, z-scores.

Pure functions over counts and summary statistics (n, mean, variance), so callers
can aggregate in SQL and never hold raw samples. scipy is imported inside the
functions that need it (``rq-obs --help`` must not import it). Formulas are in
docs/ANALYTICS.md; tests compare them with scipy's own tests and hand-computed values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

__all__ = ["Comparison", "Summary", "two_proportions", "welch", "srm", "SrmResult", "bonferroni", "zscore",
           "power_from_se", "mde_from_se", "summary_from_sums", "percentile", "norm_cdf", "norm_sf", "norm_ppf"]

#: Power at which the minimum detectable effect is quoted.
MDE_POWER = 0.8
#: Confidence level of the lift intervals (fixed: the catalogue promises 95 % CIs).
CI_LEVEL = 0.95


@dataclass(frozen=True)
class Summary:
    """n observations with their mean and sample variance (ddof=1; 0 when n < 2)."""

    n: int
    mean: float
    var: float


#: A variance below VARIANCE_NOISE × mean² (std < 1e-6 × |mean|) is rounding noise of the one-pass formula.
VARIANCE_NOISE = 1e-12


def summary_from_sums(n: int, total: float, total_sq: float) -> Summary:
    """Mean and sample variance from n, sum and sum of squares (clamped at 0 against rounding)."""
    if n <= 0:
        return Summary(0, 0.0, 0.0)
    mean = total / n
    var = max(0.0, (total_sq - total * total / n) / (n - 1)) if n > 1 else 0.0
    if var < VARIANCE_NOISE * mean * mean:
        var = 0.0  # rounding noise of the one-pass formula on identical values
    return Summary(n, mean, var)


@dataclass(frozen=True)
class Comparison:
    """Treatment vs control for one metric.

    ``diff`` = treatment - control (absolute lift), ``relative`` = diff / control
    (None when control is 0), ``ci`` = 95 % interval of ``diff``, ``p_value`` of the
    test (None when undefined: no variance or too few samples), ``power`` achieved
    at the observed effect and ``mde`` (absolute) at 80 % power, both at ``alpha``.
    """

    control: float
    treatment: float
    diff: float
    relative: float | None
    ci: tuple[float, float] | None
    statistic: float | None
    p_value: float | None
    power: float | None
    mde: float | None
    alpha: float
    df: float | None = None


_SQRT2 = math.sqrt(2.0)


def norm_cdf(z: float) -> float:
    """Standard normal CDF via erfc (accurate in the tails, and much cheaper than a scipy call per test)."""
    return 0.5 * math.erfc(-z / _SQRT2)


def norm_sf(z: float) -> float:
    """Standard normal survival function 1 − Φ(z) via erfc."""
    return 0.5 * math.erfc(z / _SQRT2)


@lru_cache(maxsize=64)
def norm_ppf(q: float) -> float:
    """Standard normal quantile (scipy; cached: only a few distinct levels are ever asked for)."""
    from scipy.stats import norm

    return float(norm.ppf(q))


def power_from_se(effect: float, se: float, alpha: float) -> float | None:
    """Power of a two-sided z-test to detect ``effect`` when the estimate's standard error is ``se``.

    Normal approximation: Φ(|d|/se − z₁₋α/₂) + Φ(−|d|/se − z₁₋α/₂).
    """
    if se <= 0 or not math.isfinite(se):
        return None
    z = norm_ppf(1 - alpha / 2)
    k = abs(effect) / se
    return norm_cdf(k - z) + norm_cdf(-k - z)


def mde_from_se(se: float, alpha: float, power: float = MDE_POWER) -> float | None:
    """Smallest absolute effect detected with ``power`` at two-sided ``alpha``: (z₁₋α/₂ + z_power) · se."""
    if se <= 0 or not math.isfinite(se):
        return None
    return (norm_ppf(1 - alpha / 2) + norm_ppf(power)) * se


def two_proportions(x_control: int, n_control: int, x_treat: int, n_treat: int, alpha: float = 0.05) -> Comparison | None:
    """Two-proportion z-test (pooled standard error under H0), two-sided.

    z = (p_t − p_c) / sqrt(p̂(1−p̂)(1/n_c + 1/n_t)) with p̂ = (x_c + x_t)/(n_c + n_t).
    The CI of the difference uses the unpooled standard error
    sqrt(p_c(1−p_c)/n_c + p_t(1−p_t)/n_t); power and MDE use the pooled one.
    None when either group is empty.
    """
    if n_control <= 0 or n_treat <= 0:
        return None
    pc, pt = x_control / n_control, x_treat / n_treat
    diff = pt - pc
    pooled = (x_control + x_treat) / (n_control + n_treat)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_control + 1 / n_treat))
    se1 = math.sqrt(pc * (1 - pc) / n_control + pt * (1 - pt) / n_treat)
    zc = norm_ppf(1 - (1 - CI_LEVEL) / 2)
    if se0 > 0:
        z = diff / se0
        p = 2 * norm_sf(abs(z))
    else:  # both groups all-pass or all-fail: no evidence of a difference
        z, p = 0.0, 1.0
    return Comparison(
        control=pc, treatment=pt, diff=diff, relative=(diff / pc) if pc else None,
        ci=(diff - zc * se1, diff + zc * se1), statistic=float(z), p_value=p,
        power=power_from_se(diff, se0, alpha), mde=mde_from_se(se0, alpha), alpha=alpha,
    )


def welch(control: Summary, treat: Summary, alpha: float = 0.05) -> Comparison | None:
    """Welch's unequal-variance t-test, two-sided, from summary statistics.

    t = (m_t − m_c) / sqrt(v_c/n_c + v_t/n_t), Welch–Satterthwaite degrees of freedom;
    the CI of the difference uses the t quantile at those df. Power and MDE use the
    normal approximation with the same standard error. None when a group has fewer than
    2 samples; p-value None when both variances are 0.
    """
    if control.n < 2 or treat.n < 2:
        return None
    from scipy.stats import t as tdist

    diff = treat.mean - control.mean
    a, b = control.var / control.n, treat.var / treat.n
    se = math.sqrt(a + b)
    rel = (diff / control.mean) if control.mean else None
    if se == 0:
        return Comparison(control.mean, treat.mean, diff, rel, None, None, None, None, None, alpha)
    df = (a + b) ** 2 / ((a * a / (control.n - 1) if a else 0.0) + (b * b / (treat.n - 1) if b else 0.0))
    tstat = diff / se
    p = float(2 * tdist.sf(abs(tstat), df))
    q = float(tdist.ppf(1 - (1 - CI_LEVEL) / 2, df))
    return Comparison(
        control=control.mean, treatment=treat.mean, diff=diff, relative=rel, ci=(diff - q * se, diff + q * se),
        statistic=float(tstat), p_value=p, power=power_from_se(diff, se, alpha), mde=mde_from_se(se, alpha),
        alpha=alpha, df=float(df),
    )


@dataclass(frozen=True)
class SrmResult:
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    chi2: float
    p_value: float
    flagged: bool


#: p-value below which a sample-ratio mismatch is flagged (the usual, deliberately strict, threshold).
SRM_THRESHOLD = 0.001


def srm(observed: Sequence[int], weights: Sequence[float] | None = None) -> SrmResult | None:
    """Chi-square goodness-of-fit of the observed counts against the expected split.

    ``weights`` (default equal) are normalised to the total. Flagged when p < 0.001.
    None with fewer than 2 groups or no samples.
    """
    obs = tuple(int(x) for x in observed)
    total = sum(obs)
    if len(obs) < 2 or total == 0:
        return None
    w = list(weights) if weights is not None else [1.0] * len(obs)
    wsum = float(sum(w))
    expected = tuple(total * x / wsum for x in w)
    chi2 = sum((o - e) ** 2 / e for o, e in zip(obs, expected) if e > 0)
    from scipy.stats import chi2 as chi2dist

    p = float(chi2dist.sf(chi2, len(obs) - 1))
    return SrmResult(obs, expected, float(chi2), p, p < SRM_THRESHOLD)


def bonferroni(alpha: float, comparisons: int) -> float:
    """Per-comparison significance level when ``comparisons`` tests are made at once."""
    return alpha / max(1, comparisons)


#: Floor of the standard deviation in :func:`zscore` (a perfectly constant history would divide by 0).
ZSCORE_STD_FLOOR = 0.01


def zscore(value: float, history: Sequence[float], floor: float = ZSCORE_STD_FLOOR) -> float | None:
    """(value − mean) / max(sample std, floor) over ``history``; None with fewer than 2 points."""
    n = len(history)
    if n < 2:
        return None
    mean = sum(history) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in history) / (n - 1))
    return (value - mean) / max(std, floor)


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Linear-interpolation percentile (numpy's default method) of already sorted values; q in [0, 1]."""
    n = len(sorted_values)
    if n == 0:
        return None
    k = (n - 1) * q
    lo = math.floor(k)
    hi = min(lo + 1, n - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)
