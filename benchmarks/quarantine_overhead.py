"""Per-test cost of the quarantine plugin: a suite of trivial tests with and without a quarantine list.

Generates N tests that do nothing (10 files) and runs pytest on them as subprocesses (recording off, so
only the quarantine plugin differs) in three configurations:

* ``no list``: no quarantine file (the plugin returns after one ``stat``);
* ``list, 50 entries``: a list of 50 entries for tests elsewhere (every test is looked up, none matches);
* ``list, 50 entries, 10 failing quarantined``: the same plus 10 entries for tests that fail, and fail.

Prints, per configuration, instructions of the pytest process under ``valgrind --tool=callgrind``
(``PYTHONHASHSEED=0``; machine load does not move them) and the median wall time of ``--reps`` runs,
and against ``no list``: the fixed cost per session (the difference on a 1-test suite: imports, reading
and parsing the list) and the cost per test (the rest of the difference, divided by N - 1).

    python benchmarks/quarantine_overhead.py [--tests 1000] [--reps 3] [--no-instructions]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_suite(root: Path, n: int, failing: int) -> None:
    (root / "pytest.ini").write_text("[pytest]\n")
    per_file = max(1, n // 10)
    for f in range(0, n, per_file):
        lines = []
        for i in range(f, min(n, f + per_file)):
            body = "assert 0" if i < failing else "pass"
            lines += [f"def test_{i}():", f"    {body}", ""]
        (root / f"test_gen_{f // per_file:02d}.py").write_text("\n".join(lines))


def quarantine(root: Path, failing: int) -> None:
    entries = [f"tests/elsewhere_{i}.py::test_x" for i in range(50)]
    entries += [f"test_gen_00.py::test_{i}" for i in range(failing)]
    text = "quarantine:\n" + "".join(f"  - nodeid: {e}\n    reason: bench\n    expires: '2099-01-01'\n" for e in entries)
    (root / "rq-obs-quarantine.yaml").write_text(text)


def command() -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]


def wall(root: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(command(), cwd=root, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    return time.perf_counter() - t0


def instructions(root: Path) -> int:
    res = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command()], cwd=root,
                         capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    m = re.search(r"Collected : (\d+)", res.stderr)
    if not m:
        raise SystemExit(f"no callgrind total in: {res.stderr[-500:]}")
    return int(m.group(1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tests", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-instructions", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        configs, singles = {}, {}
        for name, listed, failing in (("no list", False, 0), ("list, 50 entries", True, 0),
                                      ("list, 50 entries, 10 failing quarantined", True, 10)):
            for size, into in ((args.tests, configs), (1, singles)):
                d = Path(tmp) / f"{len(configs)}-{len(singles)}-{size}"
                d.mkdir()
                make_suite(d, size, min(failing, size))
                if listed:
                    quarantine(d, failing)
                into[name] = d
        walls = {name: [] for name in configs}
        for _ in range(args.reps):  # interleaved, so machine load hits all alike
            for name, d in configs.items():
                walls[name].append(wall(d))
        counts = {} if args.no_instructions else {name: instructions(d) for name, d in configs.items()}
        ones = {} if args.no_instructions else {name: instructions(d) for name, d in singles.items()}
        base = "no list"
        print(f"{args.tests} trivial tests, median of {args.reps} wall times; instructions: one callgrind run of "
              f"{args.tests} tests and one of 1 test (fixed = the 1-test difference, per test = the rest / "
              f"{args.tests - 1})")
        for name in configs:
            med = statistics.median(walls[name])
            line = f"{name:45s} wall {med:6.2f} s ({med - statistics.median(walls[base]):+6.2f} s)"
            if counts:
                fixed = ones[name] - ones[base]
                per_test = (counts[name] - counts[base] - fixed) / (args.tests - 1)
                line += (f"  instructions {counts[name] / 1e6:8.1f} M: fixed {fixed / 1e6:+7.1f} M, "
                         f"per test {per_test:+8.0f}")
            print(line)


if __name__ == "__main__":
    if shutil.which("valgrind") is None and "--no-instructions" not in sys.argv:
        raise SystemExit("valgrind not found (apt-get install valgrind), or pass --no-instructions")
    main()
