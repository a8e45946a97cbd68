"""Time a comparison of two synthetic snapshots with 500 dependencies and 200 operations (goal: <= 0.5 s).

Each operation has 20 per-round samples a side (CV 3 %; every 10th operation 12 % slower),
so every operation gets a Mann-Whitney U test; a quarter of the dependencies change version.
Prints the first call (including the lazy scipy import) and the median of N warm calls, each
for compare() alone and compare() + rendering every report format.

Run: python benchmarks/compare_time.py [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rq_obs.compare import compare  # noqa: E402
from rq_obs.compare.report import FORMATS, render  # noqa: E402
from rq_obs.config import Config  # noqa: E402
from rq_obs.snapshot.benchmarks import from_samples  # noqa: E402
from rq_obs.snapshot.model import Dependency, Snapshot  # noqa: E402


def synthetic(release: str, t: float, slow: bool, rng: random.Random) -> Snapshot:
    deps = tuple(Dependency(f"pkg{i:03d}", f"1.{i % 7}.{(i + (1 if slow and i % 4 == 0 else 0)) % 10}",
                            "direct" if i < 40 else "transitive") for i in range(500))
    benches = tuple(from_samples(f"op{j:03d}", [rng.gauss(1e-3 * (1.12 if slow and j % 10 == 0 else 1.0), 3e-5)
                                                for _ in range(20)], "runner") for j in range(200))
    env = {"os": {"system": "Linux", "kernel": "6.1"}, "python": {"implementation": "CPython", "version": "3.11.7"}}
    return Snapshot(release, "0" * 40, t, "synthetic", deps, (), env, benches)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(20261121)
    base, head = synthetic("base", 1.0, False, rng), synthetic("head", 2.0, True, rng)
    config = Config()
    t0 = time.perf_counter()
    c = compare(base, head, config)
    first = time.perf_counter() - t0
    warm, full = [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        c = compare(base, head, config)
        warm.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        c = compare(base, head, config)
        for fmt in FORMATS:
            render(c, fmt)
        full.append(time.perf_counter() - t0)
    print(f"500 dependencies, 200 operations x 20 samples a side: {len(c.perf.regressions)} regressions, "
          f"{sum(c.deps.counts.values())} dependency changes, recommendation {c.recommendation}")
    print(f"compare, first call (includes importing scipy.stats): {first:.3f} s")
    print(f"compare, warm: median {statistics.median(warm):.3f} s (min {min(warm):.3f}, {args.runs} runs)")
    print(f"compare + text/markdown/json/html reports, warm: median {statistics.median(full):.3f} s")
    print("goal: <= 0.5 s")


if __name__ == "__main__":
    main()
