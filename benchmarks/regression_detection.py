"""False-positive and detection rates of rq-obs' regression rule, beside asv's and pyperf's rules.

Data: per-round timings drawn from a normal distribution with a coefficient of variation of
3 %, 20 samples a side, 1,000 trials per scenario, fixed seed. Null: both sides from the same
distribution (any flag is a false positive). Slowdown X %: the head's mean is X % higher.

Rules applied to the same samples:
* rq-obs: median slowdown > 5 % AND one-sided Mann-Whitney U p < 0.05 (rq_obs.analysis.regression).
* asv: median ratio > 1.1 (asv compare's default factor) AND two-sided Mann-Whitney U p < 0.002
  (asv.statistics.is_different's threshold).
* pyperf: two-sample t-test significant at 95 % (pyperf compare_to's is_significant) AND head slower.

Run: python benchmarks/regression_detection.py [--trials 1000] [--seed 20261121]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from scipy.stats import mannwhitneyu, ttest_ind  # noqa: E402

from rq_obs.analysis.regression import compare_samples  # noqa: E402


def rq_obs_rule(a, b) -> bool:
    return compare_samples("op", a, b, threshold=0.05, alpha=0.05).status == "regression"


def asv_rule(a, b) -> bool:
    ratio = statistics.median(b) / statistics.median(a)
    return ratio > 1.1 and mannwhitneyu(a, b, alternative="two-sided").pvalue < 0.002


def pyperf_rule(a, b) -> bool:
    return ttest_ind(a, b).pvalue < 0.05 and statistics.fmean(b) > statistics.fmean(a)


RULES = {"rq-obs (median > 5 % and MWU one-sided p < 0.05)": rq_obs_rule,
         "asv (median ratio > 1.1 and MWU two-sided p < 0.002)": asv_rule,
         "pyperf (t-test 95 %, head slower)": pyperf_rule}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--cv", type=float, default=0.03)
    ap.add_argument("--seed", type=int, default=20261121)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    scenarios = [("null (0 %)", 0.0), ("5 % slower", 0.05), ("7 % slower", 0.07), ("10 % slower", 0.10), ("20 % slower", 0.20)]
    data = {}
    for name, slow in scenarios:
        base = rng.normal(1.0, args.cv, size=(args.trials, args.n))
        head = rng.normal(1.0 + slow, args.cv * (1.0 + slow), size=(args.trials, args.n))
        data[name] = [(list(base[i]), list(head[i])) for i in range(args.trials)]
    print(f"{args.trials} trials per scenario, {args.n} samples a side, noise CV {args.cv:.0%}, seed {args.seed}")
    print("share of trials flagged as a regression:")
    header = f"{'rule':<55}" + "".join(f"{n:>13}" for n, _ in scenarios)
    print(header)
    t0 = time.perf_counter()
    for label, rule in RULES.items():
        rates = [sum(rule(a, b) for a, b in data[n]) / args.trials for n, _ in scenarios]
        print(f"{label:<55}" + "".join(f"{r:>12.1%} " for r in rates))
    print(f"(evaluated in {time.perf_counter() - t0:.1f} s)")
    print("goals: false positives on null data <= 1 %; detection of a 10 % slowdown >= 95 %")


if __name__ == "__main__":
    main()
