"""The rq-obs plugin on a real open-source test suite: is pytest's result unchanged, and what does it cost?

Downloads the sdist of an installed package from PyPI (default: click, one of rq-obs's own
dependencies; its sdist ships its tests), unpacks it, and runs its tests with and without
``--rq-obs`` (median of N, interleaved). Checks:

* the exit code and the per-test outcomes are identical (compared through ``--junitxml``,
  test by test);
* the store holds one attempt per test with the same outcome counts pytest reported;
* overhead ratio (with / without), wall and CPU: the ratio of the medians, and the median of the
  per-pair ratios (each "with" run against the "without" run next to it, which cancels drift);
* the load average at the start and the end (a shared machine's load moves wall times).

Several packages in one call (``--package click --package jinja2``) are measured one after the other.

    python benchmarks/plugin_real_package.py [--package click]... [--tests DIR] [--reps 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from importlib import metadata
from pathlib import Path


def _child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def fetch_sdist(package: str, version: str, dest: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
                    "-d", str(dest), f"{package}=={version}"], check=True)
    (archive,) = [p for p in dest.iterdir() if p.name.endswith((".tar.gz", ".zip"))]
    with tarfile.open(archive) as tf:
        tf.extractall(dest, filter="data")
    (src,) = [p for p in dest.iterdir() if p.is_dir()]
    return src


def outcomes_from_junit(path: Path) -> dict[str, str]:
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        test = f"{case.get('classname')}::{case.get('name')}"
        kinds = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
        skipped = case.find("skipped")
        if "error" in kinds:
            kind = "error"
        elif "failure" in kinds:
            kind = "failed"
        elif skipped is not None:
            kind = "xfailed" if skipped.get("type") == "pytest.xfail" else "skipped"
        else:
            kind = "passed"
        out[test] = kind
    return out


def run(src: Path, tests: str, extra: list[str], junit: Path) -> tuple[float, float, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RQ_OBS_", "OTEL_"))}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
           f"--junitxml={junit}", *tests.split(" "), *extra]
    c0, t0 = _child_cpu(), time.perf_counter()
    cp = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True)
    return time.perf_counter() - t0, _child_cpu() - c0, cp.returncode


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package", action="append", help="installed package whose sdist's tests run (default: click); "
                    "repeat for several")
    ap.add_argument("--tests", default="tests", help="test directory inside the sdist")
    ap.add_argument("--pytest-arg", action="append", default=[], metavar="ARG",
                    help="extra pytest argument for both runs, e.g. --pytest-arg=--ignore=tests/test_async.py "
                         "(jinja2's async tests need trio)")
    ap.add_argument("--reps", type=int, default=10, help="interleaved pairs (with / without) per package")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    results = []
    for package in args.package or ["click"]:
        results.append(measure(package, args))
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[0], indent=2))
    return results[0] if len(results) == 1 else {"packages": results}


def measure(package: str, args: argparse.Namespace) -> dict:
    args = argparse.Namespace(**{**vars(args), "package": package,
                                 "tests": " ".join([args.tests, *args.pytest_arg])})
    load_start = os.getloadavg()

    version = metadata.version(args.package)
    work = Path(tempfile.mkdtemp(prefix="rq-obs-real-"))
    try:
        src = fetch_sdist(args.package, version, work / "dl")
        store = work / "store.db"
        plugin = ["--rq-obs", f"--rq-obs-store={store}"]
        run(src, args.tests, [], work / "warm.xml")  # byte-compile, warm caches
        times: dict[str, list[tuple[float, float]]] = {"without": [], "with": []}
        codes: dict[str, set[int]] = {"without": set(), "with": set()}
        for rep in range(args.reps):
            for name, extra in (("without", []), ("with", plugin)):
                w, c, code = run(src, args.tests, extra, work / f"{name}-{rep}.xml")
                times[name].append((w, c))
                codes[name].add(code)
        base = outcomes_from_junit(work / "without-0.xml")
        same = all(outcomes_from_junit(work / f"{n}-{r}.xml") == base
                   for n in ("without", "with") for r in range(args.reps))
        counts: dict[str, int] = {}
        for kind in base.values():
            counts[kind] = counts.get(kind, 0) + 1
        conn = sqlite3.connect(store)
        stored = [dict(conn.execute("SELECT outcome, COUNT(*) FROM attempts WHERE run_id = ? GROUP BY outcome",
                                    (rid,)).fetchall())
                  for (rid,) in conn.execute("SELECT run_id FROM runs ORDER BY sequence")]
        statuses = [s for (s,) in conn.execute("SELECT status FROM runs")]
        conn.close()
        wall = {k: statistics.median(t[0] for t in v) for k, v in times.items()}
        cpu = {k: statistics.median(t[1] for t in v) for k, v in times.items()}
        result = {
            "package": args.package, "version": version, "tests": len(base), "outcomes": counts,
            "exit_codes": {k: sorted(v) for k, v in codes.items()},
            "per_test_outcomes_identical": same,
            "store_runs": len(stored), "store_runs_complete": statuses.count("complete"),
            "store_counts_match": all(s == counts for s in stored),
            "wall_s": {k: round(v, 3) for k, v in wall.items()}, "wall_ratio": round(wall["with"] / wall["without"], 4),
            "cpu_s": {k: round(v, 3) for k, v in cpu.items()}, "cpu_ratio": round(cpu["with"] / cpu["without"], 4),
            "wall_min_ratio": round(min(t[0] for t in times["with"]) / min(t[0] for t in times["without"]), 4),
            "wall_paired_ratio": round(statistics.median(w[0] / o[0] for w, o in zip(times["with"], times["without"])), 4),
            "cpu_paired_ratio": round(statistics.median(w[1] / o[1] for w, o in zip(times["with"], times["without"])), 4),
            "reps": args.reps,
            "load_average": {"start": [round(x, 2) for x in load_start],
                             "end": [round(x, 2) for x in os.getloadavg()]},
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not args.json:
        print(f"{args.package} {version}: {result['tests']} tests {result['outcomes']}")
        print(f"  exit codes without/with: {result['exit_codes']['without']} / {result['exit_codes']['with']}")
        print(f"  per-test outcomes identical in all {2 * args.reps} runs: {result['per_test_outcomes_identical']}")
        print(f"  store: {result['store_runs']} runs ({result['store_runs_complete']} complete), "
              f"counts match pytest's: {result['store_counts_match']}")
        print(f"  wall median {result['wall_s']['without']:.3f} s -> {result['wall_s']['with']:.3f} s, "
              f"ratio {result['wall_ratio']:.3f}")
        print(f"  cpu  median {result['cpu_s']['without']:.3f} s -> {result['cpu_s']['with']:.3f} s, "
              f"ratio {result['cpu_ratio']:.3f}")
        print(f"  paired ({args.reps} interleaved pairs): wall ratio {result['wall_paired_ratio']:.3f}, "
              f"cpu ratio {result['cpu_paired_ratio']:.3f}")
        print(f"  load average (1/5/15 min) start {result['load_average']['start']}, "
              f"end {result['load_average']['end']}")
    return result


if __name__ == "__main__":
    main()
