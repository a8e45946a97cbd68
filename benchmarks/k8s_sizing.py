"""Sizing figures for docs/KUBERNETES.md: 10,000 tests in 50 suites, through the real ingest and /metrics.

Pushes (``save_run``) ``--runs`` runs of each of ``--suites`` suites of ``--tests`` tests in all (one variant;
per run 95 % of tests pass, 3 % fail, and every 20th test is flaky: it fails every other run), then
starts ``rq-obs serve`` in this process and scrapes ``/metrics`` over HTTP once the analytics are
computed. Prints: the series a Prometheus scraping it holds (all, with a ``test`` label, and what
remote_write sends with the default ``remote_write_keep_local``), the scrape's size and time, the
store's size and this process' resident memory (store, collectors, caches: what the serve pod's
memory request must cover).

Usage: python benchmarks/k8s_sizing.py [--tests 10000] [--suites 50] [--runs 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from rq_obs.config import load  # noqa: E402
from rq_obs.server.app import make_server  # noqa: E402
from rq_obs.store import Attempt, Run, Store  # noqa: E402
from rq_obs.store.runs import save_run  # noqa: E402


def outcome(i: int, run: int) -> str:
    if i % 20 == 0:
        return "failed" if run % 2 else "passed"
    return "failed" if i % 33 == 0 else "passed"


def fill(store: Store, tests: int, suites: int, runs: int) -> int:
    per_suite = tests // suites
    t0 = time.time() - runs * 3600
    attempts = 0
    for r in range(runs):
        for s in range(suites):
            started = t0 + r * 3600 + s
            atts = tuple(Attempt(test=f"tests/test_m{i // 50:02d}.py::test_{i:04d}", outcome=outcome(i, r),
                                 duration=0.05 + (i % 10) * 0.1, started_at=started + i * 0.01, variant="control")
                         for i in range(per_suite))
            save_run(store, Run(run_id=f"s{s:02d}-r{r}", suite=f"suite-{s:02d}", started_at=started,
                                finished_at=started + 60, attempts=atts))
            attempts += len(atts)
    return attempts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tests", type=int, default=10_000)
    ap.add_argument("--suites", type=int, default=50)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    import psutil

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store.db")
        t = time.perf_counter()
        attempts = fill(store, args.tests, args.suites, args.runs)
        fill_s = time.perf_counter() - t
        config = load(tmp, env={}).config
        server = make_server(config, store, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
        try:
            urllib.request.urlopen(url, timeout=120).read()  # first scrape: layout, starts the analytics
            for c in server.service.collectors:
                if hasattr(c, "wait"):
                    c.wait(300)
            t = time.perf_counter()
            body = urllib.request.urlopen(url, timeout=120).read()
            scrape_ms = (time.perf_counter() - t) * 1000
        finally:
            server.shutdown()
            server.service.close()
        series = per_test = 0
        for fam in text_string_to_metric_families(body.decode()):
            for sample in fam.samples:
                series += 1
                per_test += "test" in sample.labels
        db_mb = sum(p.stat().st_size for p in Path(tmp).glob("store.db*")) / 2**20
        rss_mb = psutil.Process().memory_info().rss / 2**20
    print(f"{args.tests} tests in {args.suites} suites, {args.runs} runs each: {attempts} attempts pushed in {fill_s:.1f} s")
    print(f"/metrics: {series} series ({per_test} with a test label, {series - per_test} without), "
          f"{len(body) / 2**20:.1f} MiB, {scrape_ms:.0f} ms (analytics computed)")
    print(f"remote_write (keep_local per_test, stack) sends the {series - per_test} without a test label, "
          "plus the recording rules' outputs")
    print(f"store: {db_mb:.1f} MiB on disk; this process' resident memory after the scrape: {rss_mb:.0f} MiB")


if __name__ == "__main__":
    main()
