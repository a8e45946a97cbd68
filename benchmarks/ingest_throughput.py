"""Ingest throughput: test attempts per second through POST /api/v1/runs, vs a bare sqlite executemany.

Pushes ``--pushes`` runs of 1,000 attempts each (1,000 distinct tests, mixed outcomes,
two workers, two variants) to ``rq-obs serve`` running in this process, over one
keep-alive HTTP connection, and times each push from first byte sent to reply received
(the reply means committed to disk: WAL, synchronous=FULL). The baseline inserts the
same 1,000 attempt rows with one ``executemany`` + commit into a fresh store's attempts
table with the same pragmas. Also prints where a push's time goes (JSON decode,
validation, save_run) measured in-process on the same documents.

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
from rq_obs.store import Store, run_from_dict, save_run  # noqa: E402

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pushes", type=int, default=30)
    ap.add_argument("--attempts", type=int, default=1000)
    args = ap.parse_args()
    bodies = [json.dumps(run_doc(i, args.attempts)).encode() for i in range(args.pushes + 1)]
    with tempfile.TemporaryDirectory() as tmp:
        config = load(tmp, env={"RQ_OBS_TOKEN": TOKEN}).config
        server = make_server(config, Store(Path(tmp) / "served.db"), "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=60)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
        times = []
        for k, body in enumerate(bodies):
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/runs", body, headers)
            resp = conn.getresponse()
            resp.read()
            dt = time.perf_counter() - t0
            assert resp.status == 201, resp.status
            if k:  # the first push warms up (new series in totals)
                times.append(dt)
        conn.close()
        server.shutdown()
        server.server_close()
        server.service.close()

        # where the time goes, in-process, on fresh documents into a fresh store
        store = Store(Path(tmp) / "direct.db")
        decode, validate, save = [], [], []
        for i, body in enumerate(bodies):
            t0 = time.perf_counter()
            doc = json.loads(body)
            t1 = time.perf_counter()
            run = run_from_dict(doc, "bench")
            t2 = time.perf_counter()
            save_run(store, run)
            t3 = time.perf_counter()
            if i:
                decode.append(t1 - t0)
                validate.append(t2 - t1)
                save.append(t3 - t2)

        # baseline: the same attempt rows, one executemany + commit, same pragmas
        bare = Store(Path(tmp) / "bare.db")
        db = bare.connect()
        db.execute("INSERT INTO runs (run_id, suite, sequence, started_at, status, ingested_at) "
                   "VALUES ('x', 'bench', 1, 0, 'complete', 0)")
        base_times = []
        for i, body in enumerate(bodies):
            doc = json.loads(body)
            rows = [("x", a["test"], a["outcome"], a["duration"], a["attempt"], a["worker"], a["category"], "[]",
                     a["variant"], a["started_at"], "", "", "{}") for a in doc["attempts"]]
            t0 = time.perf_counter()
            with bare.transaction() as c:
                c.executemany("INSERT INTO attempts (run_id, test, outcome, duration, attempt, worker, category, "
                              "markers, variant, started_at, trace_id, span_id, attributes) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            if i:
                base_times.append(time.perf_counter() - t0)

    med = statistics.median(times)
    ours = args.attempts / med
    base = args.attempts / statistics.median(base_times)
    print(f"{args.pushes} pushes of {args.attempts} attempts over HTTP (after one warm-up push)")
    print(f"  median push: {med * 1000:.1f} ms -> {ours:,.0f} attempts/s (goal >= 20,000/s); "
          f"overall {args.pushes * args.attempts / sum(times):,.0f} attempts/s")
    print(f"  in-process per push (median): JSON decode {statistics.median(decode) * 1000:.1f} ms, "
          f"run_from_dict {statistics.median(validate) * 1000:.1f} ms, save_run {statistics.median(save) * 1000:.1f} ms")
    print(f"bare sqlite executemany of the same {args.attempts} rows + commit: median "
          f"{statistics.median(base_times) * 1000:.1f} ms -> {base:,.0f} rows/s")
    print(f"ratio rq-obs / bare executemany: {ours / base:.2f} (goal >= 0.5)")


if __name__ == "__main__":
    main()
