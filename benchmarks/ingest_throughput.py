"""Ingest throughput: test attempts per second through POST /api/v1/runs, vs a bare sqlite executemany.

Pushes ``--pushes`` runs of 1,000 attempts each (1,000 distinct tests, mixed outcomes,
two workers, two variants) to ``rq-obs serve`` running in this process, over one
keep-alive HTTP connection, and times each push from first byte sent to reply received
(the reply means committed to disk: WAL, synchronous=FULL). Each push is paired with the
baseline, run right after it on the same machine state: the same 1,000 attempt rows
inserted with one ``executemany`` + commit into a store's attempts table (same schema,
indexes and pragmas). The ratio is taken per pair and its median reported, so load from
other processes hits both sides alike.

A push stores raw rows; the counters they feed are folded into the running totals in
batches afterwards (rq_obs.store.totals: serve's background folder, once a second after
pushes, or the next scrape). serve's folder is stopped during the paired pushes (so it does
not slow the baseline's half of a pair), and the pushed attempts are folded in one batch
after them, timed: the *sustained* figure charges every push its share of that fold.

Also prints where a push's time goes, in-process on the same documents: decode and
validation (``fast_run``: msgspec) and ``save_run``; and what a fold after every single
push would cost instead (the upserts of every counter row a push touches, each time).

Usage: python benchmarks/ingest_throughput.py [--pushes 30] [--attempts 1000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rq_obs.config import load  # noqa: E402
from rq_obs.server.app import make_server  # noqa: E402
from rq_obs.store import Store, save_run  # noqa: E402
from rq_obs.store.totals import fold  # noqa: E402
from rq_obs.store.wire import fast_run  # noqa: E402

OUTCOMES = ("passed", "passed", "passed", "failed", "skipped", "error")
TOKEN = "bench-token"


def run_doc(i: int, n: int) -> dict:
    started = 1_700_000_000.0 + i * 600
    return {
        "schema_version": 1, "run_id": f"bench-{i:05d}", "suite": "bench", "started_at": started,
        "finished_at": started + 300, "status": "complete", "commit": "0123456789ab", "branch": "main",
        "tracked_files": [{"path": "skills/SKILL.md", "sha256": "ab" * 32}],
        "attempts": [
            {"test": f"tests/test_module_{k // 50:03d}.py::test_case_{k:05d}", "outcome": OUTCOMES[(k + i) % 6],
             "duration": 0.001 * ((k * 7 + i) % 900), "attempt": 1, "worker": f"gw{k % 2}",
             "category": "unit" if k % 3 else "integration", "markers": [], "variant": "control" if k % 2 else "b",
             "started_at": started + k * 0.1}
            for k in range(n)
        ],
    }


def _bare_rows(doc: dict) -> list[tuple]:
    return [("x", a["test"], a["outcome"], a["duration"], a["attempt"], a["worker"], a["category"], "[]",
             a["variant"], a["started_at"], "", "", "{}") for a in doc["attempts"]]


def _bare_insert(store: Store, rows: list[tuple]) -> float:
    t0 = time.perf_counter()
    with store.transaction() as c:
        c.executemany("INSERT INTO attempts (run_id, test, outcome, duration, attempt, worker, category, "
                      "markers, variant, started_at, trace_id, span_id, attributes) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pushes", type=int, default=30)
    ap.add_argument("--attempts", type=int, default=1000)
    args = ap.parse_args()
    bodies = [json.dumps(run_doc(i, args.attempts)).encode() for i in range(args.pushes + 1)]
    bare_rows = [_bare_rows(json.loads(b)) for b in bodies]
    with tempfile.TemporaryDirectory() as tmp:
        config = load(tmp, env={"RQ_OBS_TOKEN": TOKEN}).config
        served = Store(Path(tmp) / "served.db")
        server = make_server(config, served, "127.0.0.1", 0)
        server.service.folder.stop()  # folded below, in one batch, timed
        threading.Thread(target=server.serve_forever, daemon=True).start()
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=60)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
        bare = Store(Path(tmp) / "bare.db")
        bare.connect().execute("INSERT INTO runs (run_id, suite, sequence, started_at, status, ingested_at) "
                               "VALUES ('x', 'bench', 1, 0, 'complete', 0)")
        times, base_times, ratios = [], [], []
        for k, body in enumerate(bodies):
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/runs", body, headers)
            resp = conn.getresponse()
            resp.read()
            dt = time.perf_counter() - t0
            assert resp.status == 201, resp.status
            bt = _bare_insert(bare, bare_rows[k])
            if k:  # the first pair warms up (new series, page cache)
                times.append(dt)
                base_times.append(bt)
                ratios.append(bt / dt)
        conn.close()
        server.shutdown()
        server.server_close()
        server.service.close()
        t0 = time.perf_counter()
        folded = fold(served)
        batch_fold = (time.perf_counter() - t0) / len(bodies)
        assert folded == len(bodies) * args.attempts, folded

        # where the time goes, in-process, on fresh documents into a fresh store
        store = Store(Path(tmp) / "direct.db")
        decode, save, folds = [], [], []
        for i, body in enumerate(bodies):
            t0 = time.perf_counter()
            run = fast_run(body)
            t1 = time.perf_counter()
            save_run(store, run)
            t2 = time.perf_counter()
            fold(store)
            t3 = time.perf_counter()
            assert run is not None
            if i:
                decode.append(t1 - t0)
                save.append(t2 - t1)
                folds.append(t3 - t2)

    med = statistics.median(times)
    ours = args.attempts / med
    base = args.attempts / statistics.median(base_times)
    fold_each = statistics.median(folds)
    print(f"{args.pushes} pushes of {args.attempts} attempts over HTTP (after one warm-up push), each paired with "
          f"the bare baseline")
    print(f"  median push: {med * 1000:.1f} ms -> {ours:,.0f} attempts/s (goal >= 20,000/s); "
          f"overall {args.pushes * args.attempts / sum(times):,.0f} attempts/s")
    print(f"  in-process per push (median): decode + validate (fast_run) {statistics.median(decode) * 1000:.1f} ms, "
          f"save_run {statistics.median(save) * 1000:.1f} ms")
    print(f"  fold of the pushed attempts, one batch: {batch_fold * 1000:.1f} ms per push "
          f"(a fold after every single push instead: {fold_each * 1000:.1f} ms each)")
    print(f"bare sqlite executemany of the same {args.attempts} rows + commit: median "
          f"{statistics.median(base_times) * 1000:.1f} ms -> {base:,.0f} rows/s")
    print(f"ratio rq-obs / bare executemany: median of {len(ratios)} pairs {statistics.median(ratios):.2f}, "
          f"of medians {ours / base:.2f} (goal >= 0.5)")
    sustained = args.attempts / (med + batch_fold)
    print(f"sustained, each push charged its share of the batch fold: {sustained:,.0f} attempts/s, "
          f"ratio {sustained / base:.2f}")


if __name__ == "__main__":
    main()
