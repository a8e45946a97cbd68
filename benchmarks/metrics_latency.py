"""/metrics latency for a store with 10,000 tests x 5 outcomes x 3 variants, vs prometheus_client.

Builds a store whose running totals hold, for one suite, rqobs_test_attempts_total for
10,000 tests x 5 outcomes x 3 variants (150,000 series) plus the per-test duration and
retry counters (10,000 each) and the per-outcome duration histograms, by inserting the
totals rows directly (what save_run would have accumulated). Then:

* scrape: median of 20 ``GET /metrics`` over HTTP against ``rq-obs serve`` in this process
  (text format; max_tests_per_suite raised to 10,000 so no test is folded), once with the
  store unchanged between scrapes and once with 1,000 counters bumped before each scrape
  (what a push does; the figure compared with the goal);
* baseline: median of 5 ``prometheus_client.generate_latest`` on a plain registry holding
  the same series in ordinary Counter/Histogram objects, measured in the same run.

Usage: python benchmarks/metrics_latency.py [--tests 10000] [--scrapes 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import os  # noqa: E402

os.environ.setdefault("PROMETHEUS_DISABLE_CREATED_SERIES", "True")  # same samples as rq-obs (no _created)
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest  # noqa: E402

from rq_obs.catalog import M  # noqa: E402
from rq_obs.config import load  # noqa: E402
from rq_obs.server.app import make_server  # noqa: E402
from rq_obs.store import Store  # noqa: E402
from rq_obs.store.runs import labels_key  # noqa: E402

OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed")
VARIANTS = ("control", "a", "b")
SUITE = "bench"


def build_store(path: Path, n_tests: int) -> int:
    store = Store(path)
    rows = []
    for i in range(n_tests):
        test = f"tests/test_module_{i // 100:03d}.py::test_case_{i:05d}"
        for o in OUTCOMES:
            for v in VARIANTS:
                rows.append((M.TEST_ATTEMPTS.total, labels_key({"suite": SUITE, "test": test, "outcome": o,
                                                                "variant": v}), float(i % 7 + 1)))
        rows.append((M.TEST_DURATION_SECONDS.total, labels_key({"suite": SUITE, "test": test}), 1.5 * (i % 5)))
        rows.append((M.TEST_RETRIES.total, labels_key({"suite": SUITE, "test": test}), float(i % 3)))
    h = M.TEST_ATTEMPT_DURATION
    for o in OUTCOMES:
        for k, le in enumerate(list(h.buckets) + ["+Inf"]):
            le_text = repr(float(le)) if le != "+Inf" else le
            rows.append((h.bucket, labels_key({"suite": SUITE, "outcome": o, "le": le_text}), float(k * 10)))
        rows.append((h.sum, labels_key({"suite": SUITE, "outcome": o}), 123.0))
        rows.append((h.count, labels_key({"suite": SUITE, "outcome": o}), 110.0))
    rows.append((M.TEST_RUNS.total, labels_key({"suite": SUITE, "status": "complete"}), 42.0))
    with store.transaction() as conn:
        conn.executemany("INSERT INTO totals (metric, labels, value) VALUES (?, ?, ?)", rows)
        conn.execute("INSERT INTO runs (run_id, suite, sequence, started_at, finished_at, status, ingested_at) "
                     "VALUES ('r', ?, 42, 1000, 1100, 'complete', 1100)", (SUITE,))
    store.close()
    return len(rows)


def plain_registry(n_tests: int) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    att = Counter(M.TEST_ATTEMPTS.name, M.TEST_ATTEMPTS.help, list(M.TEST_ATTEMPTS.labels), registry=reg)
    dur = Counter(M.TEST_DURATION_SECONDS.name, M.TEST_DURATION_SECONDS.help, ["suite", "test"], registry=reg)
    ret = Counter(M.TEST_RETRIES.name, M.TEST_RETRIES.help, ["suite", "test"], registry=reg)
    hist = Histogram(M.TEST_ATTEMPT_DURATION.name, M.TEST_ATTEMPT_DURATION.help, ["suite", "outcome"],
                     buckets=M.TEST_ATTEMPT_DURATION.buckets, registry=reg)
    runs = Counter(M.TEST_RUNS.name, M.TEST_RUNS.help, ["suite", "status"], registry=reg)
    for i in range(n_tests):
        test = f"tests/test_module_{i // 100:03d}.py::test_case_{i:05d}"
        for o in OUTCOMES:
            for v in VARIANTS:
                att.labels(SUITE, test, o, v).inc(i % 7 + 1)
        dur.labels(SUITE, test).inc(1.5 * (i % 5))
        ret.labels(SUITE, test).inc(i % 3)
    for o in OUTCOMES:
        hist.labels(SUITE, o).observe(1.0)
    runs.labels(SUITE, "complete").inc(42)
    return reg


def median_ms(fn, n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tests", type=int, default=10_000)
    ap.add_argument("--scrapes", type=int, default=20)
    ap.add_argument("--baseline-runs", type=int, default=5, help="generate_latest takes seconds here; median of 5")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        n_rows = build_store(Path(tmp) / "store.db", args.tests)
        config = load(tmp, env={}, overrides={"max_tests_per_suite": args.tests}).config
        store = Store(Path(tmp) / "store.db")
        server = make_server(config, store, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/metrics"

        def scrape() -> bytes:
            with urllib.request.urlopen(url, timeout=120) as resp:
                return resp.read()

        t0 = time.perf_counter()
        body = scrape()  # cold: lays out the 170,000 counter series once
        cold = (time.perf_counter() - t0) * 1000
        series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        unchanged = median_ms(scrape, args.scrapes)
        writer = Store(Path(tmp) / "store.db")
        keys = [r[0] for r in writer.query("SELECT labels FROM totals WHERE metric = ? LIMIT 1000",
                                           (M.TEST_ATTEMPTS.total,))]

        def bump() -> None:  # what a push of 1,000 attempts of known tests does to the totals
            with writer.transaction() as conn:
                conn.executemany("UPDATE totals SET value = value + 1 WHERE metric = ? AND labels = ?",
                                 [(M.TEST_ATTEMPTS.total, k) for k in keys])

        changed_times = []
        for _ in range(args.scrapes):
            bump()
            t0 = time.perf_counter()
            scrape()
            changed_times.append((time.perf_counter() - t0) * 1000)
        changed = statistics.median(changed_times)
        server.shutdown()
        server.server_close()
        server.service.close()
    reg = plain_registry(args.tests)
    base_body = generate_latest(reg)
    base_series = sum(1 for line in base_body.splitlines() if line and not line.startswith(b"#"))
    base = median_ms(lambda: generate_latest(reg), args.baseline_runs)
    print(f"store: {args.tests} tests x {len(OUTCOMES)} outcomes x {len(VARIANTS)} variants, {n_rows} totals rows")
    print(f"rq-obs serve GET /metrics over HTTP (text format): {series} samples, {len(body) / 1e6:.1f} MB")
    print(f"  first scrape (lays out the series): {cold:.0f} ms")
    print(f"  median of {args.scrapes}, store unchanged between scrapes: {unchanged:.0f} ms")
    print(f"  median of {args.scrapes}, 1,000 counters changed before each scrape: {changed:.0f} ms (goal <= 150 ms)")
    print(f"prometheus_client generate_latest on a plain registry with the same series: {base_series} samples, "
          f"median of {args.baseline_runs}: {base:.0f} ms")
    print(f"ratio rq-obs (changed store) / generate_latest: {changed / base:.3f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
