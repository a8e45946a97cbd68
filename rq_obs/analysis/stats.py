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
           "power_from_se", "mde_from_se", "summary_from_sums", "percentile", "norm_cdf", "norm_sf", "norm_ppf",
           "Shift", "hodges_lehmann", "mwu_critical", "mwu_p_greater"]

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


# --- location shift between two samples (Hodges-Lehmann with the Mann-Whitney confidence interval) ---

#: Up to this many pairs (n_base x n_head) the Mann-Whitney U null distribution is computed exactly.
EXACT_U_PAIRS = 10_000


@lru_cache(maxsize=128)
def _u_counts(n: int, m: int) -> tuple[int, ...]:
    """Number of arrangements of two samples of sizes n and m with U = 0, 1, ..., n*m (no ties).

    The coefficients of the Gaussian binomial [n+m choose n]_q = prod_{i=1..n} (1 - q^(m+i)) / (1 - q^i),
    built one factor at a time in exact integers (each partial product is [m+i choose i]_q).
    """
    if n > m:
        n, m = m, n
    size = n * m + 1
    c = [0] * size
    c[0] = 1
    for i in range(1, n + 1):
        shift = m + i
        for k in range(size - 1, shift - 1, -1):  # multiply by (1 - q^shift)
            c[k] -= c[k - shift]
        for k in range(i, size):  # divide by (1 - q^i)
            c[k] += c[k - i]
    return tuple(c)


@lru_cache(maxsize=128)
def _u_cdf(n: int, m: int) -> tuple[float, ...]:
    """P(U <= u) for u = 0..n*m under H0 (exact, from :func:`_u_counts`)."""
    counts = _u_counts(n, m)
    total = sum(counts)
    acc, out = 0, []
    for c in counts:
        acc += c
        out.append(acc / total)
    return tuple(out)


def _u_normal(n: int, m: int) -> tuple[float, float]:
    return n * m / 2.0, math.sqrt(n * m * (n + m + 1) / 12.0)


@lru_cache(maxsize=1024)
def mwu_critical(n: int, m: int, alpha: float) -> int:
    """Largest u with P(U <= u) <= alpha under H0 (continuous data), or -1 when even U = 0 is likelier than alpha.

    Exact up to :data:`EXACT_U_PAIRS` pairs, normal approximation (with continuity correction) above.
    """
    if n * m <= EXACT_U_PAIRS:
        cdf = _u_cdf(n, m)
        u = -1
        for k, c in enumerate(cdf):
            if c > alpha * (1 + 1e-12):
                break
            u = k
        return u
    mu, sd = _u_normal(n, m)
    return int(math.floor(mu + norm_ppf(alpha) * sd - 0.5))


def mwu_p_greater(u: float, n: int, m: int) -> float:
    """One-sided Mann-Whitney p-value P(U >= u) under H0, U counting pairs where the second sample is larger
    (ties half). Exact up to :data:`EXACT_U_PAIRS` pairs (ties rounded conservatively), normal approximation above."""
    if n * m <= EXACT_U_PAIRS:
        k = n * m - math.floor(u)  # P(U >= u) = P(U <= n*m - u) by symmetry
        return 1.0 if k >= n * m else (0.0 if k < 0 else _u_cdf(n, m)[k])
    mu, sd = _u_normal(n, m)
    return norm_sf((u - mu - 0.5) / sd)


@dataclass(frozen=True)
class Shift:
    """Hodges-Lehmann shift ``estimate`` of y relative to x (median of all pairwise differences y_j - x_i)
    and its distribution-free ``ci`` (Moses interval, the inversion of the Mann-Whitney U test): each bound
    is exceeded with probability at most ``alpha`` (so the interval covers with >= 1 - 2*alpha).
    Bounds are +/- inf when the samples are too small for that level."""

    estimate: float
    ci: tuple[float, float]
    alpha: float
    n_x: int
    n_y: int
    p_greater: float = 1.0  # one-sided Mann-Whitney U p-value, alternative "y larger"
    p_less: float = 1.0  # and "y smaller"


#: Above this many pairs the pairwise differences are not materialised: order statistics by bisection instead.
PAIRWISE_LIMIT = 250_000


def _kth_difference(xs, ys, k: int) -> float:
    """The k-th smallest (0-based) of all y - x, by bisection on the value (O((n + m) log n) per step)."""
    import numpy as np

    n = len(xs)
    lo, hi = float(ys[0] - xs[-1]), float(ys[-1] - xs[0])
    for _ in range(200):
        mid = lo + (hi - lo) / 2
        if mid <= lo or mid >= hi:
            break
        at_most = int((n - np.searchsorted(xs, ys - mid, side="left")).sum())  # pairs with y - x <= mid
        if at_most >= k + 1:
            hi = mid
        else:
            lo = mid
    return hi


def hodges_lehmann(x: Sequence[float], y: Sequence[float], alpha: float) -> Shift:
    """Shift of ``y`` against ``x`` with a (1 - 2*alpha) confidence interval (see :class:`Shift`)."""
    import numpy as np

    xa, ya = np.sort(np.asarray(x, dtype=float)), np.sort(np.asarray(y, dtype=float))
    n, m = len(xa), len(ya)
    total = n * m
    k = mwu_critical(n, m, alpha)
    if total <= PAIRWISE_LIMIT:
        d = np.sort(np.subtract.outer(ya, xa).ravel())
        est = float(np.median(d))
        u = float(np.count_nonzero(d > 0)) + 0.5 * float(np.count_nonzero(d == 0))  # pairs with y above x
        ci = (-math.inf, math.inf) if k < 0 else (float(d[k]), float(d[total - 1 - k]))
    else:
        def order(i: int) -> float:
            return _kth_difference(xa, ya, i)

        est = (order((total - 1) // 2) + order(total // 2)) / 2
        below = np.searchsorted(xa, ya, side="left").sum()  # pairs with x < y
        ties = (np.searchsorted(xa, ya, side="right") - np.searchsorted(xa, ya, side="left")).sum()
        u = float(below) + 0.5 * float(ties)
        ci = (-math.inf, math.inf) if k < 0 else (order(k), order(total - 1 - k))
    return Shift(est, ci, alpha, n, m, mwu_p_greater(u, n, m), mwu_p_greater(total - u, n, m))
