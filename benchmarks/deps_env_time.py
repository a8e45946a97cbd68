"""What reading another interpreter's installed distributions costs (`rq-obs snapshot --python`).

Prints the median of N runs of :func:`rq_obs.snapshot.pyenv.read` for:
(a) rq-obs's own environment read in process (importlib.metadata, what a snapshot did before),
(b) the same environment read by running its interpreter with the listing script (one subprocess),
(c) an empty virtualenv (``venv``, no pip) read the same way: the fixed cost of starting the interpreter.

Run: python benchmarks/deps_env_time.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rq_obs.snapshot import pyenv  # noqa: E402


def _time(runs: int, fn) -> tuple[list[float], int]:
    fn()  # warm-up (page cache, metadata)
    times, n = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        _, dists = fn()
        times.append(time.perf_counter() - t0)
        n = len(dists)
    return times, n


def _line(label: str, times: list[float], n: int) -> str:
    return (f"{label:<42} median {statistics.median(times) * 1000:7.1f} ms (min {min(times) * 1000:.1f}, "
            f"max {max(times) * 1000:.1f}; {n} distributions)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        empty = project / "empty"
        venv.create(empty, with_pip=False, symlinks=sys.platform != "win32")
        exe = empty / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
        own = _time(args.runs, lambda: pyenv.read(pyenv.Target(None, "rq-obs", "rq-obs's environment"), project))
        sub = _time(args.runs, lambda: pyenv.read(pyenv.choose(project, sys.executable), project))
        nothing = _time(args.runs, lambda: pyenv.read(pyenv.choose(project, str(exe)), project))
    print(f"Python {sys.version.split()[0]}, {args.runs} runs each")
    print(_line("in process (rq-obs's own environment)", *own))
    print(_line("--python, same environment (subprocess)", *sub))
    print(_line("--python, empty virtualenv (subprocess)", *nothing))


if __name__ == "__main__":
    main()
