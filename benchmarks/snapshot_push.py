"""Time pushing release snapshots to a real `rq-obs serve` on loopback (POST /api/v1/snapshots).

A real snapshot of this repository (build_snapshot: its installed dependencies and environment) plus
synthetic parts sized like a large project (benchmarks with per-round samples, per-test outcomes), so
the document is what CI would send. Prints the document size and the median of N runs of:

(a) one POST of a new release (validate, redact, store, commit with fsync) and its 201;
(b) one POST of the same document again (200 duplicate: validated, compared, nothing written);
(c) rq-obs push's push_snapshots of 10 pending snapshots end to end (read, redact, send, mark pushed);
(d) the first /metrics scrape after a push (the release collector recomputes over the stored releases).

Run: python benchmarks/snapshot_push.py [--runs 5] [--tests 2000] [--benchmarks 50]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rq_obs.config import load  # noqa: E402
from rq_obs.push import push_snapshots  # noqa: E402
from rq_obs.server.app import make_server  # noqa: E402
from rq_obs.snapshot import build_snapshot  # noqa: E402
from rq_obs.snapshot.benchmarks import from_samples  # noqa: E402
from rq_obs.snapshot.model import TestSummary  # noqa: E402
from rq_obs.snapshot.store import document_of, save_snapshot  # noqa: E402
from rq_obs.store import Store  # noqa: E402

TOKEN = "bench-token"


def _stats(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1000:.1f} ms (min {min(xs) * 1000:.1f}, max {max(xs) * 1000:.1f})"


def _post(url: str, body: bytes) -> int:
    req = urllib.request.Request(url + "/api/v1/snapshots", data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        resp.read()
        return resp.status


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tests", type=int, default=2000)
    ap.add_argument("--benchmarks", type=int, default=50)
    args = ap.parse_args()
    config = load(ROOT, env={"RQ_OBS_TOKEN": TOKEN}).config
    with tempfile.TemporaryDirectory() as tmp:
        local = Store(Path(tmp) / "local.db")
        base = build_snapshot(config, local, ROOT, "bench", commit="0" * 40, now=1_795_000_000.0)
        benches = tuple(from_samples(f"bench_op_{i:03d}", [0.001 * (1 + i % 7) * (1 + 0.01 * (r % 5)) for r in range(20)],
                                     "runner") for i in range(args.benchmarks))
        per_test = {f"tests/test_m{i // 50}.py::test_{i}": {"passed": 3, "failed": i % 2} for i in range(args.tests)}
        snap = dataclasses.replace(base, benchmarks=benches,
                                   tests=TestSummary(3 * args.tests, args.tests // 2, 0, 0, 3, "commit 000000000000",
                                                     per_test))
        doc = document_of(snap)
        server_store = Store(Path(tmp) / "server.db")
        server = make_server(config, server_store, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            new, dup = [], []
            for i in range(args.runs):
                body = json.dumps({**json.loads(doc), "release": f"post-{i}", "created_at": 1_795_000_000.0 + i}
                                  ).encode("utf-8")
                t0 = time.perf_counter()
                assert _post(url, body) == 201
                new.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                assert _post(url, body) == 200
                dup.append(time.perf_counter() - t0)
            pushes, scrapes = [], []
            for i in range(args.runs):
                for j in range(10):
                    save_snapshot(local, dataclasses.replace(snap, release=f"push-{i}-{j}",
                                                             created_at=1_795_100_000.0 + 100 * i + j))
                t0 = time.perf_counter()
                report = push_snapshots(local, url, TOKEN)
                pushes.append(time.perf_counter() - t0)
                assert len(report.stored) == 10, report
                t0 = time.perf_counter()
                with urllib.request.urlopen(url + "/metrics", timeout=120) as resp:
                    resp.read()
                scrapes.append(time.perf_counter() - t0)
        finally:
            server.shutdown()
            server.server_close()
            server.service.close()
    print(f"snapshot document: {len(doc.encode()) / 1024:.0f} KiB ({len(snap.dependencies)} dependencies, "
          f"{len(benches)} benchmarks x 20 samples, {args.tests} tests)")
    print(f"(a) POST new release, 201:           {_stats(new)}, {args.runs} runs")
    print(f"(b) POST same document, 200 dup:     {_stats(dup)}, {args.runs} runs")
    print(f"(c) push_snapshots, 10 pending:      {_stats(pushes)}, {args.runs} runs "
          f"({statistics.median(pushes) / 10 * 1000:.1f} ms per snapshot)")
    print(f"(d) first scrape after that push:    {_stats(scrapes)}, {args.runs} runs (release collector over up to "
          f"50 stored releases)")


if __name__ == "__main__":
    main()
