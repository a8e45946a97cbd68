"""What `rq-obs serve`'s /metrics costs at 10,000 tests: series (per-test and the rest), size, scrape time.

Reads a store (e.g. the one ``benchmarks/scale_dashboards.py`` builds: 10,000 tests x 3 variants in one
suite plus 50 smaller suites), copies it, and for each configuration builds the server's scrape registry
(store + analytics + host collectors, as ``rq-obs serve`` does) on the copy and times:

- the first scrape (the analytics recomputed synchronously, as after a restart);
- steady scrapes (analytics served from its cache; the store collector reads the totals every time);

and counts the exposition's series: those with a ``test`` label (per test) and the rest, per family.

Configurations: the defaults (``max_tests_per_suite`` 5,000, ``max_series`` 50,000), the caps raised so
every test of the big suite is published, and the same with ``analytics_all_tests``.

No callgrind count: the first scrape computes the analytics of 10,000 tests (~25 s natively), which under
valgrind (~50x) takes longer than this benchmark is worth; the wall figures are medians on a shared machine.

Usage: python benchmarks/scale_metrics.py --store /tmp/rq-obs-scale-XXXX/store.db [--repeat 3]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rq_obs.config import load  # noqa: E402
from rq_obs.server.app import Service  # noqa: E402
from rq_obs.store import Store  # noqa: E402

CONFIGS = {
    "defaults": {},
    "caps raised (10k tests/suite)": {"max_tests_per_suite": 10_000, "max_series": 1_000_000},
    "caps raised + analytics_all_tests": {"max_tests_per_suite": 10_000, "max_series": 1_000_000,
                                          "analytics_all_tests": True},
}
NAME = re.compile(rb"^([a-zA-Z_:][a-zA-Z0-9_:]*)")


def families(body: bytes) -> tuple[Counter, Counter]:
    per_test, other = Counter(), Counter()
    for line in body.splitlines():
        if not line or line.startswith(b"#"):
            continue
        name = NAME.match(line).group(1).decode()
        (per_test if b'test="' in line else other)[name] += 1
    return per_test, other


def scrape(copy: Path, overrides: dict, repeat: int) -> dict:
    config = load(ROOT, env={}, overrides={"new_series_grace": "1ms", **overrides}).config
    store = Store(copy, create=False)
    svc = Service(config, store)
    try:
        t = time.perf_counter()
        body, _ = svc.scraper.render(None)
        first = time.perf_counter() - t
        steady = []
        for _ in range(max(1, repeat)):
            t = time.perf_counter()
            body, _ = svc.scraper.render(None)
            steady.append(time.perf_counter() - t)
    finally:
        svc.close()
        store.close()
    per_test, other = families(body)
    return {"first": first, "steady": statistics.median(steady), "bytes": len(body), "per_test": per_test,
            "other": other}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rq-obs-scale-metrics-"))
    rows = []
    shutil.copy(args.store, work / "store.db")
    scrape(work / "store.db", {}, 0)  # imports and first-use costs, not measured
    for name, overrides in CONFIGS.items():
        copy = work / "store.db"
        shutil.copy(args.store, copy)  # serve may write (its gate, series ages): never the benchmark's store
        fig = scrape(copy, overrides, args.repeat)
        rows.append((name, fig))
        print(f"\n{name}: first scrape {fig['first']:.2f} s, steady {fig['steady']:.2f} s (median of "
              f"{args.repeat}), {fig['bytes'] / 1e6:.1f} MB, {sum(fig['per_test'].values()):,} per-test series, "
              f"{sum(fig['other'].values()):,} others")
        for fam, n in fig["per_test"].most_common():
            print(f"    {n:8,}  {fam}")
    print("\n| configuration | per-test series | other series | exposition | first scrape | steady scrape |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, fig in rows:
        print(f"| {name} | {sum(fig['per_test'].values()):,} | {sum(fig['other'].values()):,} | "
              f"{fig['bytes'] / 1e6:.1f} MB | {fig['first']:.2f} s | {fig['steady']:.2f} s |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
