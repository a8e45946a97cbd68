"""Error rates of rq-obs' regression detector under realistic noise, beside asv's and pyperf's rules.

Every cell: a noise shape, a number of rounds per side (5-50), and ``--trials`` simulated pairs of
samples (fixed seed) for each of three truths: no change (any "regression" is a false alarm), the head
10 % slower (every round multiplied by 1.10; "regression" is a detection), and the head 10 % faster.
The same samples go to three rules, each called through its own project's code:

* rq-obs: :func:`rq_obs.analysis.regression.compare_samples` (threshold 5 %, alpha 0.5 % per side: a 99 % interval):
  regression / improvement / unchanged / inconclusive;
* asv 0.6: ``asv.commands.compare._is_result_better`` with ``asv_runner.statistics.compute_stats``
  (what ``asv compare`` runs: median ratio beyond factor 1.1 and ``asv._stats.is_different``, a
  Mann-Whitney U test at p < 0.002);
* pyperf 2.11: ``pyperf._utils.is_significant`` (two-sample t-test at 95 %, what ``pyperf
  compare_to`` marks significant) with the head's mean above the base's.

Noise shapes (multiplicative, on a true time of 1): lognormal at CV 3, 5, 8 and 10 %; bimodal (CV 3 %,
30 % of rounds in a mode 15 % higher); heavy-tailed (log noise 0.05 x Student t with 3 degrees of
freedom / sqrt 3); outliers (CV 5 %, 5 % of rounds 1.5-3x slower, as when another process interferes).
Memory (threshold 10 %): peaks with lognormal noise at CV 2 % and 10 %, a 20 % growth.

Columns: FPR = false regressions with no change; power = regressions found at +10 %; inconcl. =
inconclusive at +10 %; missed = "unchanged" or "improvement" at +10 % (the silent miss the detector
must avoid); impr. = improvements found at -10 %; FIR = false improvements with no change. Goal per
cell: FPR <= 1 % and power >= 95 %, or, where the rounds cannot support that power, missed <= 5 %
(the rest inconclusive, with the rounds needed).

asv's exact Mann-Whitney U (pure Python, memo cleared every 100,000 entries) takes 20-50 ms a call at 20
rounds a side, so asv and pyperf get the first ``--other-trials`` (1,000) of each cell's trials.

Run: python benchmarks/regression_detection.py [--trials 2000] [--other-trials 1000] [--seed 20261207] [--quick]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from rq_obs.analysis.regression import compare_samples  # noqa: E402

THRESHOLD = 0.05
MEMORY_THRESHOLD = 0.10
SIZES = (5, 10, 20, 30, 50)


def _lognormal(cv):
    sigma = math.sqrt(math.log1p(cv * cv))
    return lambda rng, shape: rng.lognormal(-sigma * sigma / 2, sigma, shape)


def _bimodal(rng, shape):
    return _lognormal(0.03)(rng, shape) * np.where(rng.random(shape) < 0.30, 1.15, 1.0)


def _heavy(rng, shape):
    return np.exp(0.05 * rng.standard_t(3, shape) / math.sqrt(3))


def _outliers(rng, shape):
    return _lognormal(0.05)(rng, shape) * np.where(rng.random(shape) < 0.05, rng.uniform(1.5, 3.0, shape), 1.0)


NOISES = {"lognormal CV 3 %": _lognormal(0.03), "lognormal CV 5 %": _lognormal(0.05),
          "lognormal CV 8 %": _lognormal(0.08), "lognormal CV 10 %": _lognormal(0.10),
          "bimodal (30 % +15 %)": _bimodal, "heavy-tailed (t3)": _heavy, "outliers (5 % at 1.5-3x)": _outliers}
MEMORY_NOISES = {"memory, lognormal CV 2 %": _lognormal(0.02), "memory, lognormal CV 10 %": _lognormal(0.10)}


def rq_obs_status(a, b, threshold=THRESHOLD) -> str:
    return compare_samples("op", a, b, threshold=threshold).status


def asv_regressed(a, b) -> bool:
    from asv.commands.compare import _is_result_better
    from asv_runner.statistics import compute_stats

    va, sa = compute_stats(a, 1)
    vb, sb = compute_stats(b, 1)
    if not va < vb / 1.1:  # _is_result_better returns `a < b / factor` after its test: skip the (slow) test
        return False
    return bool(_is_result_better(va, vb, (sa, a), (sb, b), 1.1))  # base better than head by 1.1: "regressed"


def pyperf_regressed(a, b) -> bool:
    from pyperf._utils import is_significant

    return bool(is_significant(a, b)[0]) and statistics.fmean(b) > statistics.fmean(a)


def simulate(noise, n: int, effect: float, trials: int, rng) -> list[tuple[list[float], list[float]]]:
    base = noise(rng, (trials, n))
    head = noise(rng, (trials, n)) * (1.0 + effect)
    return [(base[i].tolist(), head[i].tolist()) for i in range(trials)]


def cell(noise, n: int, trials: int, seed: int, threshold: float = THRESHOLD, effect: float = 0.10,
         others: int = 0) -> dict[str, float]:
    """Rates of one cell (fractions of ``trials``)."""
    rng = np.random.default_rng(seed)
    null, slow, fast = (simulate(noise, n, e, trials, rng) for e in (0.0, effect, -effect / (1 + effect)))
    st_null = [rq_obs_status(a, b, threshold) for a, b in null]
    st_slow = [rq_obs_status(a, b, threshold) for a, b in slow]
    st_fast = [rq_obs_status(a, b, threshold) for a, b in fast]
    out = {"fpr": st_null.count("regression") / trials, "fir": st_null.count("improvement") / trials,
           "power": st_slow.count("regression") / trials, "inconclusive": st_slow.count("inconclusive") / trials,
           "missed": (st_slow.count("unchanged") + st_slow.count("improvement")) / trials,
           "improved": st_fast.count("improvement") / trials, "null_unchanged": st_null.count("unchanged") / trials}
    if others:  # the first `others` trials of the same samples (asv's exact Mann-Whitney U is slow at n = 20)
        k = min(others, trials)
        out.update(asv_fpr=sum(asv_regressed(a, b) for a, b in null[:k]) / k,
                   asv_power=sum(asv_regressed(a, b) for a, b in slow[:k]) / k,
                   pyperf_fpr=sum(pyperf_regressed(a, b) for a, b in null[:k]) / k,
                   pyperf_power=sum(pyperf_regressed(a, b) for a, b in slow[:k]) / k)
    return out


def verdict(r: dict[str, float]) -> str:
    if r["fpr"] > 0.01 or r["fir"] > 0.01:
        return "NOT MET (false alarms)"
    if r["power"] >= 0.95:
        return "met"
    if r["missed"] <= 0.05:
        return "met: inconclusive where power < 95 %"
    return "NOT MET (silent misses)"


def _pct(x: float) -> str:
    return f"{x * 100:.1f}"


def table(noises, sizes, trials: int, seed: int, threshold: float, effect: float, others: int) -> list[dict]:
    rows = []
    for i, (name, noise) in enumerate(noises.items()):
        for j, n in enumerate(sizes):
            t0 = time.process_time()
            r = cell(noise, n, trials, seed + 1000 * i + j, threshold, effect, others)
            rows.append(dict(r, noise=name, n=n, verdict=verdict(r)))
            print(f"  {name}, n={n}: {time.process_time() - t0:.1f} s CPU", file=sys.stderr, flush=True)
    return rows


def markdown(rows: list[dict], others: bool, effect: float) -> str:
    e = f"{effect:.0%}"
    head = ["noise", "n/side", "rq-obs FPR", f"power +{e}", "inconcl.", "missed", f"impr. -{e}", "FIR"]
    if others:
        head += ["asv FPR", "asv power", "pyperf FPR", "pyperf power"]
    head.append("goal")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " if i in (0, len(head) - 1) else " ---: " for i in range(len(head))) + "|"]
    for r in rows:
        vals = [r["noise"], str(r["n"])] + [_pct(r[k]) for k in ("fpr", "power", "inconclusive", "missed", "improved", "fir")]
        if others:
            vals += [_pct(r[k]) for k in ("asv_fpr", "asv_power", "pyperf_fpr", "pyperf_power")]
        vals.append(r["verdict"])
        lines.append("| " + " | ".join(vals) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--other-trials", type=int, default=1000, help="trials given to asv's and pyperf's rules")
    ap.add_argument("--quick", action="store_true", help="200 trials, rq-obs only")
    args = ap.parse_args()
    trials, others = (200, 0) if args.quick else (args.trials, args.other_trials)
    t0 = time.perf_counter()
    print(f"{trials} trials per truth per cell for rq-obs, the first {min(others, trials)} of them for asv and pyperf; "
          f"seed {args.seed}; rates in % of trials\n")
    print(f"Timing (threshold {THRESHOLD:.0%}, alpha 0.5 % per side; asv factor 1.1; pyperf t-test 95 %):\n")
    rows = table(NOISES, SIZES, trials, args.seed, THRESHOLD, 0.10, others)
    print(markdown(rows, others, 0.10))
    print(f"\nMemory (threshold {MEMORY_THRESHOLD:.0%}, truth +20 %; rq-obs only):\n")
    mrows = table(MEMORY_NOISES, (5, 10, 20), trials, args.seed + 99, MEMORY_THRESHOLD, 0.20, 0)
    print(markdown(mrows, False, 0.20))
    bad = [r for r in rows + mrows if r["verdict"].startswith("NOT MET")]
    print(f"\ncells not meeting the goal: {len(bad)} of {len(rows) + len(mrows)}"
          f" (evaluated in {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
