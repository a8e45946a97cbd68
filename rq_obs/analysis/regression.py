"""Performance regression rule (pure; scipy imported inside the functions).

An operation *regressed* when BOTH hold:

1. its slowdown ``head / base - 1`` exceeds the threshold (config ``regression_threshold``,
   default 5 %), where the centre is the median when per-round samples are known on both
   sides and the mean otherwise; and
2. the slowdown is significant: one-sided Mann-Whitney U (``alternative="greater"``, head
   slower) on the samples, or, without samples, one-sided Welch's t-test from the summary
   statistics (mean, stddev, rounds); p < alpha (config ``significance_level``, default 0.05).

Every regression blocks a release (gate ``max_regressions``, default 0). Severity by slowdown
``s`` against threshold ``t``: minor ``t < s <= 2t``, major ``2t < s <= 4t``, critical ``s > 4t``
(5-10 %, 10-20 %, > 20 % with the default). An operation slower than the threshold that cannot
be tested (one round, or no spread) is *unverified*: not a regression, but a reason for review.
Improvements mirror the rule (faster than the threshold and significant with ``alternative="less"``).

**Memory** (:func:`compare_memory`): a benchmark's peak memory is one value per side (the
built-in runner measures one extra round under ``tracemalloc``; pytest-benchmark records none),
so there is nothing to test: the peak *regressed* when it grew by more than the config's
``memory_regression_threshold`` (default 10 %), comparing ``max(peak, 1 KiB)`` on each side (a
smaller peak is interpreter noise, and a base of 0 has no ratio). Severity uses the same bands
against that threshold; shrinking by more than it is an improvement. Memory regressions count
against ``max_regressions`` like timing ones (they do not change the performance dimension of
the quality score).

benchmarks/regression_detection.py measures this rule's false-positive and detection rates
next to asv's and pyperf's rules (docs/BENCHMARKS.md, "Regression detection").
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from rq_obs.snapshot.model import Benchmark

__all__ = ["SEVERITIES", "OpChange", "MemChange", "MEMORY_FLOOR_BYTES", "severity", "compare_samples", "compare_benchmarks",
           "compare_memory", "test_description"]

SEVERITIES = ("minor", "major", "critical")
MIN_SAMPLES = 3
#: Peaks below this many bytes are compared as this many (tracemalloc noise; no ratio from 0).
MEMORY_FLOOR_BYTES = 1024


@dataclass(frozen=True)
class OpChange:
    operation: str
    base: float  # centre (median or mean), seconds
    head: float
    centre: str  # "median" | "mean"
    change: float  # head / base - 1 (positive = slower)
    test: str  # test name and parameters
    p_value: float | None
    status: str  # regression | improvement | unchanged | unverified
    severity: str = ""  # minor | major | critical for regressions
    n_base: int = 0
    n_head: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_EPS = 1e-9  # so 1.1 / 1.0 - 1 (0.10000000000000009) is exactly 10 %


def severity(change: float, threshold: float) -> str:
    if change > 4 * threshold + _EPS:
        return "critical"
    if change > 2 * threshold + _EPS:
        return "major"
    return "minor"


def test_description(kind: str, alpha: float, n_base: int, n_head: int, alternative: str = "greater") -> str:
    if kind == "mwu":
        return (f"Mann-Whitney U (one-sided, alternative='{alternative}' = head {'slower' if alternative == 'greater' else 'faster'}, "
                f"alpha={alpha:g}, n_base={n_base}, n_head={n_head})")
    if kind == "welch":
        return (f"Welch's t-test from summary statistics (one-sided, alternative='{alternative}', alpha={alpha:g}, "
                f"n_base={n_base}, n_head={n_head})")
    return "not testable (fewer than 3 rounds or no spread on one side)"


def _mwu(a: Sequence[float], b: Sequence[float], alternative: str) -> float:
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(b, a, alternative=alternative).pvalue)


def _welch(mb: float, sb: float, nb: int, mh: float, sh: float, nh: int, alternative: str) -> float:
    from scipy.stats import ttest_ind_from_stats

    p = ttest_ind_from_stats(mh, sh, nh, mb, sb, nb, equal_var=False, alternative=alternative).pvalue
    return float(p) if not math.isnan(p) else 1.0


def _classify(operation: str, base: float, head: float, centre: str, kind: str, pval_fn, n_b: int, n_h: int,
              threshold: float, alpha: float) -> OpChange:
    change = head / base - 1.0 if base > 0 else (0.0 if head == base else math.inf)
    if change > threshold + _EPS or change < -threshold - _EPS:
        alternative = "greater" if change > 0 else "less"
        test = test_description(kind, alpha, n_b, n_h, alternative)
        if kind == "none":
            return OpChange(operation, base, head, centre, change, test, None,
                            "unverified" if change > 0 else "unchanged", "", n_b, n_h)
        p = pval_fn(alternative)
        if p < alpha:
            if change > 0:
                return OpChange(operation, base, head, centre, change, test, p, "regression", severity(change, threshold), n_b, n_h)
            return OpChange(operation, base, head, centre, change, test, p, "improvement", "", n_b, n_h)
        return OpChange(operation, base, head, centre, change, test, p, "unchanged", "", n_b, n_h)
    return OpChange(operation, base, head, centre, change, test_description(kind, alpha, n_b, n_h) if kind != "none"
                    else test_description("none", alpha, n_b, n_h), None, "unchanged", "", n_b, n_h)


def compare_samples(operation: str, base: Sequence[float], head: Sequence[float], threshold: float = 0.05,
                    alpha: float = 0.05) -> OpChange:
    """The rule on raw per-round samples (median centre, Mann-Whitney U)."""
    if len(base) < MIN_SAMPLES or len(head) < MIN_SAMPLES:
        mb, mh = statistics.median(base), statistics.median(head)
        return _classify(operation, mb, mh, "median", "none", None, len(base), len(head), threshold, alpha)
    mb, mh = statistics.median(base), statistics.median(head)
    return _classify(operation, mb, mh, "median", "mwu", lambda alt: _mwu(base, head, alt), len(base), len(head),
                     threshold, alpha)


def compare_benchmarks(base: Benchmark, head: Benchmark, threshold: float = 0.05, alpha: float = 0.05) -> OpChange:
    if len(base.samples) >= MIN_SAMPLES and len(head.samples) >= MIN_SAMPLES:
        return compare_samples(head.name, base.samples, head.samples, threshold, alpha)
    testable = base.rounds >= 2 and head.rounds >= 2 and (base.stddev > 0 or head.stddev > 0)
    kind = "welch" if testable else "none"
    return _classify(head.name, base.mean, head.mean, "mean", kind,
                     lambda alt: _welch(base.mean, base.stddev, base.rounds, head.mean, head.stddev, head.rounds, alt),
                     base.rounds, head.rounds, threshold, alpha)


@dataclass(frozen=True)
class MemChange:
    operation: str
    base: float  # peak bytes
    head: float
    change: float  # max(head, floor) / max(base, floor) - 1 (positive = more memory)
    status: str  # regression | improvement | unchanged
    severity: str = ""  # minor | major | critical for regressions

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_memory(operation: str, base_bytes: float, head_bytes: float, threshold: float = 0.10) -> MemChange:
    """The memory rule on one peak per side (see the module docstring)."""
    change = max(head_bytes, MEMORY_FLOOR_BYTES) / max(base_bytes, MEMORY_FLOOR_BYTES) - 1.0
    if change > threshold + _EPS:
        return MemChange(operation, base_bytes, head_bytes, change, "regression", severity(change, threshold))
    if change < -threshold - _EPS:
        return MemChange(operation, base_bytes, head_bytes, change, "improvement")
    return MemChange(operation, base_bytes, head_bytes, change, "unchanged")
