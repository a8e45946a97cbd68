"""Time `rq-obs snapshot` on this repository without benchmarks (goal: <= 2 s).

Prints the median of N runs of (a) the library call build_snapshot + save_snapshot in one
process (after a warm-up) and (b) the whole CLI as a fresh process (`python -m rq_obs snapshot`),
each into a temporary store.

Run: python benchmarks/snapshot_time.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rq_obs.config import load  # noqa: E402
from rq_obs.snapshot import build_snapshot  # noqa: E402
from rq_obs.snapshot.store import save_snapshot  # noqa: E402
from rq_obs.store import Store  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    config = load(ROOT).config
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "lib.db")
        snap = build_snapshot(config, store, ROOT, "warmup")
        lib = []
        for i in range(args.runs):
            t0 = time.perf_counter()
            snap = build_snapshot(config, store, ROOT, f"v{i}")
            save_snapshot(store, snap)
            lib.append(time.perf_counter() - t0)
        cli = []
        for i in range(args.runs):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "rq_obs", "--project", str(ROOT), "snapshot", "--release", f"c{i}",
                            "--store", str(Path(tmp) / "cli.db")], check=True, capture_output=True)
            cli.append(time.perf_counter() - t0)
    print(f"snapshot of {ROOT.name}: {len(snap.dependencies)} dependencies, no benchmarks")
    print(f"library build+save, in process: median {statistics.median(lib):.3f} s (min {min(lib):.3f}, max {max(lib):.3f}, {args.runs} runs)")
    print(f"CLI, fresh process:             median {statistics.median(cli):.3f} s (min {min(cli):.3f}, max {max(cli):.3f}, {args.runs} runs)")
    print("goal: <= 2 s")


if __name__ == "__main__":
    main()
