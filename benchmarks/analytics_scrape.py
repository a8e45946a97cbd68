"""How long the analytics collector takes on a store with 10,000 tests.

Builds a store with TESTS tests in one suite run RUNS times over the last 7 days
(every 20th test flaky, every 50th broken, a SKILL.md change half-way, an A/B
experiment on every run, an API call per 10th attempt), then prints:

- the full recomputation (what the background thread does when the store changed);
- a cached scrape: ``generate_latest`` of a registry holding only the analytics collector;
- the cost of each part of the recomputation.

Usage: python benchmarks/analytics_scrape.py [--tests 10000] [--runs 14] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402

from rq_obs.analytics import reports  # noqa: E402
from rq_obs.config import Config  # noqa: E402
from rq_obs.exporters.analytics import AnalyticsCollector  # noqa: E402
from rq_obs.exporters.base import LabelGuard  # noqa: E402
from rq_obs.store import Store  # noqa: E402
from rq_obs.store.records import ApiCall, Attempt, Run, TrackedFile  # noqa: E402
from rq_obs.store.runs import save_run  # noqa: E402


def build(path: Path, tests: int, runs: int, now: float) -> None:
    store = Store(path)
    for r in range(runs):
        at = now - 7 * 86400 + (r + 0.5) * (7 * 86400 / runs)
        attempts = []
        for i in range(tests):
            if i % 50 == 0:
                outcome = "failed"
            elif i % 20 == 0:
                outcome = "failed" if (i + r) % 3 == 0 else "passed"
            else:
                outcome = "passed"
            calls = (ApiCall("openai", "gpt-4o", input_tokens=100, output_tokens=20, cost_usd=0.001, started_at=at + i * 0.01),) \
                if i % 10 == 0 else ()
            attempts.append(Attempt(f"tests/test_mod{i // 100}.py::test_{i}", outcome, 0.01 + (i % 7) * 0.01,
                                    variant="control" if i % 2 else "treatment", started_at=at + i * 0.01, api_calls=calls))
        save_run(store, Run(f"run{r}", "bench", at, at + 100, commit=f"c{r}", experiment="prompt-v2",
                            tracked_files=(TrackedFile("skills/router/SKILL.md", "aaa" if r < runs // 2 else "bbb"),),
                            attempts=tuple(attempts)))
    store.close()


def ms(xs: list[float]) -> str:
    return f"median {1000 * statistics.median(xs):.1f} ms (min {1000 * min(xs):.1f}, max {1000 * max(xs):.1f})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tests", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=14)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    now = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.db"
        t0 = time.perf_counter()
        build(path, args.tests, args.runs, now)
        print(f"store: {args.tests} tests x {args.runs} runs = {args.tests * args.runs} attempts, "
              f"built in {time.perf_counter() - t0:.1f} s, {path.stat().st_size / 1e6:.0f} MB")
        store = Store(path, create=False)
        config = Config()
        collector = AnalyticsCollector(store, config, LabelGuard(config.max_tests_per_suite, config.max_label_length),
                                       background=False, min_interval=1e9, max_age=1e9)
        full = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            collector.refresh()
            full.append(time.perf_counter() - t)
        print(f"full recomputation (background):  {ms(full)}")
        reg = CollectorRegistry(auto_describe=False)
        reg.register(collector)
        cached = []
        for _ in range(args.repeat * 4):
            t = time.perf_counter()
            body = generate_latest(reg)
            cached.append(time.perf_counter() - t)
        series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        print(f"cached scrape (generate_latest):  {ms(cached)}; {series} series, {len(body) / 1e6:.2f} MB")
        everything = Config(analytics_all_tests=True)
        full_collector = AnalyticsCollector(store, everything, LabelGuard(everything.max_tests_per_suite,
                                                                          everything.max_label_length),
                                            background=False, min_interval=1e9, max_age=1e9)
        full_collector.refresh()
        reg_all = CollectorRegistry(auto_describe=False)
        reg_all.register(full_collector)
        cached_all = []
        for _ in range(args.repeat * 4):
            t = time.perf_counter()
            body = generate_latest(reg_all)
            cached_all.append(time.perf_counter() - t)
        series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        print(f"cached scrape, analytics_all_tests = true:  {ms(cached_all)}; {series} series, "
              f"{len(body) / 1e6:.2f} MB")
        parts = {
            "flakiness": lambda: reports.flaky_report(store, config, now),
            "change impact": lambda: reports.last_impacts(store, config),
            "experiments": lambda: reports.experiment_report(store, config),
            "executive": lambda: reports.executive_report(store, config, now),
        }
        for name, fn in parts.items():
            xs = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                fn()
                xs.append(time.perf_counter() - t)
            print(f"  {name:<14} {ms(xs)}")


if __name__ == "__main__":
    main()
