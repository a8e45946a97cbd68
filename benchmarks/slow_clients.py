"""`rq-obs serve` under hostile clients: slow connections held, scrape latency and pushes meanwhile (issue 17).

Starts a server (its own process, loopback, free port) on a store with a few hundred runs, opens N
connections that send one byte a second and never finish their request head, and meanwhile times K
scrapes and K pushes; then the same scrapes with no slow clients for the ratio. Prints figures for
docs/BENCHMARKS.md. Loopback only, bounded in count and time.

    python benchmarks/slow_clients.py [--slow 1000] [--scrapes 20]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

TOKEN = "bench-token"


def _get(url: str) -> float:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as r:
        r.read()
    return time.perf_counter() - t0


def _push(url: str, i: int) -> int:
    doc = {"run_id": f"bench-{i}", "suite": "bench", "started_at": 1_700_000_000.0 + i,
           "finished_at": 1_700_000_001.0 + i,
           "attempts": [{"test": f"t::test_{k}", "outcome": "passed", "duration": 0.1} for k in range(50)]}
    req = urllib.request.Request(url + "/api/v1/runs", json.dumps(doc).encode(), method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slow", type=int, default=1000)
    ap.add_argument("--scrapes", type=int, default=20)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 2 * args.slow + 512)), hard))
    d = Path(tempfile.mkdtemp())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # a header timeout longer than the run, so every slow client is held to the end (the default, 10 s, would
    # close each with a 408 after 10 s)
    env = {**os.environ, "RQ_OBS_TOKEN": TOKEN, "RQ_OBS_SERVE_HEADER_TIMEOUT": "300"}
    proc = subprocess.Popen([sys.executable, "-m", "rq_obs", "serve", "--store", str(d / "s.db"), "--port",
                             str(port), "--log-level", "warning"], env=env, cwd=d)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                _get(url + "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        for i in range(100):
            _push(url, i)
        base = sorted(_get(url + "/metrics") for _ in range(args.scrapes))
        clients = []
        for _ in range(args.slow):
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(b"P")
            clients.append(c)
        stop = threading.Event()

        def drip() -> None:
            while not stop.wait(1.0):
                for c in clients:
                    try:
                        c.send(b"O")
                    except OSError:
                        pass

        threading.Thread(target=drip, daemon=True).start()
        time.sleep(1.0)
        loaded, pushes = [], []
        for i in range(args.scrapes):
            loaded.append(_get(url + "/metrics"))
            t0 = time.perf_counter()
            assert _push(url, 1000 + i) == 201
            pushes.append(time.perf_counter() - t0)
        alive = 0
        for c in clients:
            try:
                c.send(b"S")
                alive += 1
            except OSError:
                pass
        rss = _rss_mb(proc.pid)
        stop.set()
        for c in clients:
            c.close()
        loaded.sort()
        pushes.sort()
        med = lambda xs: xs[len(xs) // 2]  # noqa: E731
        print(f"{alive} of {args.slow} slow connections still held after the {args.scrapes} scrapes and pushes")
        print(f"scrape latency, no slow clients: median {med(base) * 1000:.0f} ms, max {base[-1] * 1000:.0f} ms")
        print(f"scrape latency, {args.slow} slow clients: median {med(loaded) * 1000:.0f} ms, "
              f"max {loaded[-1] * 1000:.0f} ms (ratio of medians {med(loaded) / med(base):.2f})")
        print(f"push (50 attempts) meanwhile: median {med(pushes) * 1000:.0f} ms, max {pushes[-1] * 1000:.0f} ms, "
              f"all {len(pushes)} stored")
        print(f"server RSS with the slow clients held: {rss:.0f} MB")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
