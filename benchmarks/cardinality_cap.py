"""Series, scrape time, exposition size and memory of `rq-obs serve` at the cardinality cap (issue 17).

Fills a store far past the caps (many suites, tests and variants), then, as after a restart, builds a fresh
server on it and times its first scrape (no warm-up), then steady scrapes. Prints figures for
docs/BENCHMARKS.md.

    python benchmarks/cardinality_cap.py [--runs 600] [--attempts 400] [--max-series 100000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from rq_obs.config import load
from rq_obs.server.app import Service
from rq_obs.store import Attempt, Run, Store
from rq_obs.store.runs import save_run
from rq_obs.store.totals import fold


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=600)
    ap.add_argument("--attempts", type=int, default=400)
    ap.add_argument("--max-series", type=int, default=100_000)
    args = ap.parse_args()
    d = Path(tempfile.mkdtemp())
    store = Store(d / "store.db")
    config = load(d, env={}, overrides={"max_series": args.max_series, "new_series_grace": "1ms"}).config
    Service(config, store).close()  # configures the store's gate as serve does
    t0 = time.perf_counter()
    for r in range(args.runs):
        attempts = tuple(Attempt(test=f"tests/test_{r}.py::test_{i}", outcome=("passed", "failed")[i % 2],
                                 duration=0.01 * (i % 50), started_at=1000.0 + r, variant=f"v{(r * 7 + i) % 400}",
                                 worker=f"gw{i % 300}", category=f"c{i % 150}")
                         for i in range(args.attempts))
        save_run(store, Run(run_id=f"r{r}", suite=f"suite-{r % 2000}", started_at=1000.0 + r,
                            finished_at=1001.0 + r, attempts=attempts))
    fold(store)
    fill = time.perf_counter() - t0
    rows = store.query("SELECT COUNT(*) FROM totals")[0][0]
    store.close()
    pushed = args.runs * args.attempts
    # "restart": a new store object and service on the same file, the first scrape without warm-up
    store2 = Store(d / "store.db")
    svc = Service(config, store2)
    t0 = time.perf_counter()
    body, _ = svc.scraper.render(None)
    first = time.perf_counter() - t0
    steady = []
    for _ in range(3):
        t0 = time.perf_counter()
        body, _ = svc.scraper.render(None)
        steady.append(time.perf_counter() - t0)
    series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    svc.close()
    print(f"pushed {pushed} attempts in {args.runs} runs over {min(args.runs, 2000)} suites, 400 variants, "
          f"{pushed} distinct tests (filled in {fill:.1f} s)")
    print(f"totals rows (counter series incl. histogram buckets): {rows} (max_series {args.max_series})")
    print(f"/metrics: {series} series, {len(body) / 1e6:.1f} MB")
    print(f"first scrape after restart: {first:.2f} s; steady scrapes: {', '.join(f'{s:.2f}' for s in steady)} s")
    print(f"peak RSS of the process: {rss:.0f} MB")


if __name__ == "__main__":
    main()
