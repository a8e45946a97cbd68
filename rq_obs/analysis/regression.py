"""Performance regression detector (pure; numpy/scipy imported inside the functions).

The question asked of two samples of per-round timings (base, head) is "is head's typical round
more than ``threshold`` slower (or faster) than base's?", answered with one of four verdicts and
an error rate that holds whatever the shape of the noise:

* the **ratio** head/base is ``exp(HL)``, where HL is the Hodges-Lehmann shift of log(head) against
  log(base) (the median of all pairwise log differences): robust to outliers, heavy tails and
  bimodal rounds, and scale-free;
* its **confidence interval** is the Moses interval, the exact inversion of the Mann-Whitney U test
  (:func:`rq_obs.analysis.stats.hodges_lehmann`): each bound is wrong with probability at most
  ``alpha`` (config ``regression_alpha``, default 0.5 %) under *any* continuous noise shared by the
  two sides, so the interval is a (1 - 2*alpha) = 99 % interval;
* **regression**: the interval lies above 1 (the one-sided Mann-Whitney U test rejects "not slower"
  at ``alpha``) AND the estimated slowdown exceeds ``threshold`` (config ``regression_threshold``,
  5 %); **improvement** mirrors it;
* **unchanged**: the whole interval lies within ``±threshold`` (an equivalence test at ``alpha``):
  "unchanged" is a claim backed by the data, never the absence of evidence;
* **inconclusive** otherwise, with ``samples_needed``: rounds per side at which a change of the
  observed size would be decided with 95 % probability (scaled from the interval's width, or from the
  pooled spread of the log samples when the samples are too few for any interval at this level:
  fewer than 5 a side at 0.5 %).

So the false-alarm rate is at most ``alpha`` for any noise, and a real slowdown of twice the
threshold is reported as unchanged with probability far below ``alpha``: where the samples are too
few or too noisy to detect it, the verdict is inconclusive. benchmarks/regression_detection.py
measures the rates for lognormal, bimodal, heavy-tailed and outlier noise at 5-50 samples a side,
beside asv's and pyperf's rules (docs/BENCHMARKS.md, "Regression detection under real noise").

Without raw samples (only mean, stddev, rounds: pytest-benchmark files saved without
``--benchmark-save-data``) the same decision uses Welch's t interval for log(mean ratio) (delta
method); it assumes roughly normal noise, and the report names the test.

Severity of a regression by slowdown ``s`` against threshold ``t``: minor ``s <= 2t``, major
``2t < s <= 4t``, critical ``s > 4t``.

**Memory** (:func:`compare_memory`): with several peaks per side (pyperf ``--track-memory``) the
same detector runs with ``memory_regression_threshold`` (default 10 %); with one peak per side (the
built-in runner's extra tracemalloc round) there is no noise estimate, so the threshold alone
decides, comparing ``max(peak, 1 KiB)`` (a smaller peak is interpreter noise; 0 has no ratio).
Memory regressions count against ``max_regressions`` like timing ones.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from rq_obs.snapshot.model import Benchmark

__all__ = ["SEVERITIES", "STATUSES", "DEFAULT_ALPHA", "DECISION_POWER", "OpChange", "MemChange", "MEMORY_FLOOR_BYTES",
           "severity", "compare_samples", "compare_benchmarks", "compare_memory", "test_description", "min_samples"]

SEVERITIES = ("minor", "major", "critical")
STATUSES = ("regression", "improvement", "unchanged", "inconclusive")
#: Error rate of each bound of the interval (false regressions, false improvements, false "unchanged").
DEFAULT_ALPHA = 0.005
#: Probability of a decision at which ``samples_needed`` is quoted.
DECISION_POWER = 0.95
#: Peaks below this many bytes are compared as this many (tracemalloc noise; no ratio from 0).
MEMORY_FLOOR_BYTES = 1024
#: ``samples_needed`` is capped here (a change that close to the threshold is not worth deciding).
MAX_SAMPLES_NEEDED = 100_000
_HL_EFFICIENCY = math.pi / 3  # variance of the HL shift relative to the mean difference under normal noise
_EPS = 1e-9  # so 1.1 / 1.0 - 1 (0.10000000000000009) is exactly 10 %


@dataclass(frozen=True)
class OpChange:
    operation: str
    base: float  # centre (median or mean), seconds
    head: float
    centre: str  # "median" | "mean"
    change: float  # estimated ratio - 1 (positive = slower)
    test: str  # test name and parameters
    p_value: float | None  # one-sided, in the direction of the estimate
    status: str  # regression | improvement | unchanged | inconclusive
    severity: str = ""  # minor | major | critical for regressions
    n_base: int = 0
    n_head: int = 0
    ratio: float | None = None  # head / base (Hodges-Lehmann on log samples, or ratio of means)
    ci: tuple[float, float] | None = None  # (1 - 2 alpha) interval of the ratio; None when too few samples
    samples_needed: int | None = None  # for inconclusive: rounds per side that would decide it
    reason: str = ""  # one sentence: why this verdict

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ci"] = list(self.ci) if self.ci else None
        return d


def severity(change: float, threshold: float) -> str:
    if change > 4 * threshold + _EPS:
        return "critical"
    if change > 2 * threshold + _EPS:
        return "major"
    return "minor"


def min_samples(alpha: float = DEFAULT_ALPHA) -> int:
    """Fewest rounds per side for which the exact Mann-Whitney interval exists at ``alpha`` (5 at 0.5 %)."""
    n = 1
    while 1 / math.comb(2 * n, n) > alpha:
        n += 1
    return n


def test_description(kind: str, alpha: float, n_base: int, n_head: int) -> str:
    level = f"{1 - 2 * alpha:.0%}"
    if kind == "mwu":
        return (f"Mann-Whitney U with Hodges-Lehmann ratio and {level} interval (alpha={alpha:g} per side, "
                f"n_base={n_base}, n_head={n_head})")
    if kind == "welch":
        return (f"Welch's t-test on the log ratio of means from summary statistics, {level} interval "
                f"(alpha={alpha:g} per side, n_base={n_base}, n_head={n_head})")
    if kind == "exact":
        return f"no spread on either side: measurements taken as exact (n_base={n_base}, n_head={n_head})"
    return f"not testable: fewer than 2 rounds on a side (n_base={n_base}, n_head={n_head})"


def _z(q: float) -> float:
    from rq_obs.analysis.stats import norm_ppf

    return norm_ppf(q)


def _needed(est: float, se: float | None, tl: float, alpha: float, n_now: int) -> int | None:
    """Rounds per side at which a change of the observed size ``est`` (log) would be decided with
    DECISION_POWER, given the standard error ``se`` at ``n_now`` rounds per side."""
    if se is None or not math.isfinite(se) or se <= 0:  # no spread known: at least the rounds for an interval
        return max(min_samples(alpha), n_now + 1)
    a = abs(est)
    dist = a if a > tl else tl - a  # to significance (beyond the threshold) or to equivalence (inside it)
    dist = max(dist, tl * 1e-3)
    k = (_z(1 - alpha) + _z(DECISION_POWER)) * se / dist
    n = math.ceil(n_now * k * k)
    return int(min(MAX_SAMPLES_NEEDED, max(n, n_now + 1, min_samples(alpha))))


def _decide(operation: str, base: float, head: float, centre: str, kind: str, log_est: float,
            log_ci: tuple[float, float] | None, p: float | None, se: float | None, n_b: int, n_h: int,
            threshold: float, alpha: float) -> OpChange:
    tl = math.log1p(threshold)
    ratio = float(f"{math.exp(log_est):.12g}")  # 12 digits: 1.3x reads 1.3, not 1.2999999999999992
    change = float(f"{ratio - 1.0:.12g}")
    test = test_description(kind, alpha, n_b, n_h)
    n_now = max(1, round(2 / (1 / max(n_b, 1) + 1 / max(n_h, 1))))
    ci = (math.exp(log_ci[0]), math.exp(log_ci[1])) if log_ci and all(map(math.isfinite, log_ci)) else None
    pct = f"{threshold:.0%}"

    def out(status, reason, sev="", needed=None):
        return OpChange(operation, base, head, centre, change, test, p, status, sev, n_b, n_h, ratio, ci, needed, reason)

    if ci is not None:
        lo, hi = log_ci
        if lo > 0 and log_est > tl + _EPS:
            return out("regression", f"slower by {change:+.1%}, interval above 1 and estimate beyond {pct}",
                       severity(change, threshold))
        if hi < 0 and log_est < -tl - _EPS:
            return out("improvement", f"faster by {-change:.1%}, interval below 1 and estimate beyond {pct}")
        if lo > -tl and hi < tl:
            return out("unchanged", f"the whole interval is within ±{pct}")
        why = (f"the interval {ci[0]:.3f}-{ci[1]:.3f} reaches beyond ±{pct} and is not decisive"
               if kind != "exact" else "")
    else:
        why = f"too few rounds for a {1 - 2 * alpha:.0%} interval (need {min_samples(alpha)} per side)"
    return out("inconclusive", why, needed=_needed(log_est, se, tl, alpha, n_now))


def _logs(values: Sequence[float]) -> list[float]:
    tiny = 1e-300
    return [math.log(max(float(v), tiny)) for v in values]


def compare_samples(operation: str, base: Sequence[float], head: Sequence[float], threshold: float = 0.05,
                    alpha: float = DEFAULT_ALPHA) -> OpChange:
    """The detector on raw per-round samples (see the module docstring)."""
    from rq_obs.analysis.stats import hodges_lehmann

    n_b, n_h = len(base), len(head)
    mb = statistics.median(base) if base else math.nan
    mh = statistics.median(head) if head else math.nan
    if n_b == 0 or n_h == 0:
        return OpChange(operation, mb, mh, "median", math.nan, test_description("none", alpha, n_b, n_h), None,
                        "inconclusive", "", n_b, n_h, None, None, min_samples(alpha), "no rounds on a side")
    lb, lh = _logs(base), _logs(head)
    if min(lb) == max(lb) and min(lh) == max(lh):  # no spread at all: instruction counts, deterministic sizes
        est = lh[0] - lb[0]
        return _decide(operation, mb, mh, "median", "exact", est, (est, est), None, None, n_b, n_h, threshold, alpha)
    shift = hodges_lehmann(lb, lh, alpha)
    p = shift.p_greater if shift.estimate >= 0 else shift.p_less
    lo, hi = shift.ci
    if math.isfinite(lo) and math.isfinite(hi):
        se = (hi - lo) / (2 * _z(1 - alpha))
    else:  # too few rounds for the interval: spread of the log samples (HL standard error under normal noise)
        sd = _pooled_sd(lb, lh)
        se = sd * math.sqrt(_HL_EFFICIENCY * (1 / n_b + 1 / n_h)) if sd is not None else None
    return _decide(operation, mb, mh, "median", "mwu", shift.estimate, shift.ci, p, se, n_b, n_h, threshold, alpha)


def _pooled_sd(a: Sequence[float], b: Sequence[float]) -> float | None:
    parts = [(len(x) - 1, statistics.variance(x)) for x in (a, b) if len(x) >= 2]
    dof = sum(d for d, _ in parts)
    return math.sqrt(sum(d * v for d, v in parts) / dof) if dof else None


def compare_benchmarks(base: Benchmark, head: Benchmark, threshold: float = 0.05, alpha: float = DEFAULT_ALPHA) -> OpChange:
    """Raw samples when both sides have them; else Welch's interval from mean, stddev and rounds."""
    if len(base.samples) >= 2 and len(head.samples) >= 2:
        return compare_samples(head.name, base.samples, head.samples, threshold, alpha)
    return compare_summary(head.name, base.mean, base.stddev, base.rounds, head.mean, head.stddev, head.rounds,
                           threshold, alpha)


def compare_summary(operation: str, mb: float, sb: float, nb: int, mh: float, sh: float, nh: int,
                    threshold: float = 0.05, alpha: float = DEFAULT_ALPHA) -> OpChange:
    """The decision on log(mean ratio) with Welch's interval (delta method: var log m = (s/m)^2 / n)."""
    if mb <= 0 or mh <= 0 or nb < 2 or nh < 2:
        est = math.log(mh / mb) if mb > 0 and mh > 0 else 0.0
        return _decide(operation, mb, mh, "mean", "none", est, None, None, None, nb, nh, threshold, alpha)
    est = math.log(mh / mb)
    vb, vh = (sb / mb) ** 2 / nb, (sh / mh) ** 2 / nh
    se = math.sqrt(vb + vh)
    if se == 0:
        return _decide(operation, mb, mh, "mean", "exact", est, (est, est), None, None, nb, nh, threshold, alpha)
    from scipy.stats import t as tdist

    df = (vb + vh) ** 2 / ((vb * vb / (nb - 1) if vb else 0.0) + (vh * vh / (nh - 1) if vh else 0.0))
    q = float(tdist.ppf(1 - alpha, df))
    p = float(tdist.sf(abs(est) / se, df))
    return _decide(operation, mb, mh, "mean", "welch", est, (est - q * se, est + q * se), p, se, nb, nh, threshold, alpha)


@dataclass(frozen=True)
class MemChange:
    operation: str
    base: float  # peak bytes (median when several)
    head: float
    change: float  # estimated ratio - 1 (positive = more memory)
    status: str  # regression | improvement | unchanged | inconclusive
    severity: str = ""  # minor | major | critical for regressions
    test: str = "one peak per side: threshold only (no noise estimate)"
    ci: tuple[float, float] | None = None
    samples_needed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ci"] = list(self.ci) if self.ci else None
        return d


def compare_memory(operation: str, base_bytes: float | Sequence[float], head_bytes: float | Sequence[float],
                   threshold: float = 0.10, alpha: float = DEFAULT_ALPHA) -> MemChange:
    """Peak memory: the detector when both sides have several peaks, the threshold rule on one peak a side."""
    if not isinstance(base_bytes, (int, float)) and not isinstance(head_bytes, (int, float)) \
            and len(base_bytes) >= 2 and len(head_bytes) >= 2:
        floor = float(MEMORY_FLOOR_BYTES)
        c = compare_samples(operation, [max(floor, x) for x in base_bytes], [max(floor, x) for x in head_bytes],
                            threshold, alpha)
        return MemChange(operation, statistics.median(base_bytes), statistics.median(head_bytes), c.change, c.status,
                         c.severity, c.test, c.ci, c.samples_needed)
    b = base_bytes if isinstance(base_bytes, (int, float)) else statistics.median(base_bytes)
    h = head_bytes if isinstance(head_bytes, (int, float)) else statistics.median(head_bytes)
    change = max(h, MEMORY_FLOOR_BYTES) / max(b, MEMORY_FLOOR_BYTES) - 1.0
    if change > threshold + _EPS:
        return MemChange(operation, b, h, change, "regression", severity(change, threshold))
    if change < -threshold - _EPS:
        return MemChange(operation, b, h, change, "improvement")
    return MemChange(operation, b, h, change, "unchanged")
