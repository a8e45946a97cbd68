"""Overhead of the rq-obs pytest plugin (and of pytest-otel, for comparison).

Generates three suites in a temp dir and runs pytest on them as subprocesses, median of N:

* ``trivial``: 2,000 tests that do nothing -> per-test overhead in microseconds,
  ``(t_with - t_without) / 2000``;
* ``sleepy``: 500 tests that each sleep 5 ms -> ratio ``t_with / t_without``;
* ``single``: one test -> the fixed cost of a session (start-up and end), in milliseconds.

The store persists across repetitions, as it does in a project (runs accumulate; the
schema is created by the warm-up run). Times are of the whole pytest process, so plugin
start-up (imports, git, store open) and the end of the session (last batch, final commit,
retention check) are included. Two clocks: wall time, and CPU time (user + system of the
pytest process and its threads, from ``getrusage(RUSAGE_CHILDREN)``), which a busy shared
machine disturbs less than wall time. Besides the median of each configuration, the "paired"
figures are the median over repetitions of each run against the baseline run of the same
repetition (adjacent in time), which cancels the machine's drift between repetitions. With
``--instructions`` the script also counts the
instructions of one run per configuration and suite under
``valgrind --tool=callgrind`` (``PYTHONHASHSEED=0``): a figure that machine load does not move
(the pytest process and its threads; not the ``git`` processes it starts), and the wall ratio
those instructions predict: the extra instructions at the baseline's own rate (its instructions
per CPU second), added to the baseline's median wall time.

Configurations (runs are interleaved, the order rotating each repetition, so machine load and
position in the sequence hit all alike):

* ``baseline``: plain pytest (pytest-otel disabled with ``-p no:pytest_otel`` when installed);
* ``rq-obs``: ``--rq-obs`` into a store (no span export);
* ``rq-obs+otlp``: the same plus spans over OTLP/HTTP to a receiver on loopback;
* ``rq-obs (before)``, with ``--before DIR``: ``--rq-obs`` with the ``rq_obs`` package found in
  ``DIR`` first (``PYTHONPATH``; e.g. ``git archive main rq_obs | tar -x -C DIR``), into its own
  store: a before/after comparison in the same interleaved runs;
* ``pytest-otel``: pytest-otel (from PyPI) exporting over OTLP/HTTP to the same receiver;
* ``pytest-otel (memory)``: pytest-otel without an endpoint (it keeps spans in memory).

The pytest-otel rows appear when ``--python``'s environment has pytest-otel installed (it is
not a dependency of rq-obs: install it into a separate venv together with rq-obs).

    python benchmarks/plugin_overhead.py [--python PATH] [--reps 5] [--before DIR] [--configs A,B]
                                         [--instructions] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_suites(root: Path, trivial: int, sleepy: int, sleep: float) -> dict[str, tuple[Path, int]]:
    suites = {}
    for name, n, body in (("trivial", trivial, "pass"), ("sleepy", sleepy, f"time.sleep({sleep})"),
                          ("single", 1, "pass")):
        d = root / name
        d.mkdir()
        (d / "pytest.ini").write_text("[pytest]\n")
        per_file = 100
        for f in range((n + per_file - 1) // per_file):
            lines = ["import time", ""]
            for i in range(f * per_file, min(n, (f + 1) * per_file)):
                lines += [f"def test_{i}():", f"    {body}", ""]
            (d / f"test_gen_{f:03d}.py").write_text("\n".join(lines))
        suites[name] = (d, n)
    return suites


class Receiver:
    """Counts the bytes and requests of OTLP/HTTP trace exports (answers 200)."""

    def __init__(self) -> None:
        self.requests = 0
        recv = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                recv.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def has_module(python: str, module: str) -> bool:
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


def configs(python: str, receiver: Receiver, work: Path, before: str | None = None
            ) -> dict[str, tuple[list[str], dict[str, str]]]:
    otel = has_module(python, "pytest_otel")
    no_otel = ["-p", "no:pytest_otel"] if otel else []
    store = str(work / "store.db")
    out = {
        "baseline": (no_otel, {}),
        "rq-obs": (no_otel + ["--rq-obs", f"--rq-obs-store={store}"], {}),
        "rq-obs+otlp": (no_otel + ["--rq-obs", f"--rq-obs-store={store}"], {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}),
    }
    if before:
        out["rq-obs (before)"] = (no_otel + ["--rq-obs", f"--rq-obs-store={work / 'before.db'}"],
                                  {"PYTHONPATH": str(Path(before).resolve())})
    if otel:
        out["pytest-otel"] = (["--otel-exporter-protocol=http/protobuf"], {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
        out["pytest-otel (memory)"] = ([], {})
    return out


def _child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


#: set by --no-bytecode-cache: keep PYTHONDONTWRITEBYTECODE from the environment (every import compiles)
KEEP_NO_BYTECODE = False


def _env(env_extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RQ_OBS_", "OTEL_")) and k != "PYTHONPATH"}
    if not KEEP_NO_BYTECODE:  # as in a user's project: imports (and pytest's assertion rewrites) are cached as .pyc
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(env_extra)
    return env


def _pytest(python: str, args: list[str]) -> list[str]:
    return [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *args]


def instructions(python: str, suite: Path, args: list[str], env_extra: dict[str, str]) -> int:
    """Instructions of one pytest run (all its threads) under callgrind, hash seed fixed."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *_pytest(python, args)]
    cp = subprocess.run(cmd, cwd=suite, env={**_env(env_extra), "PYTHONHASHSEED": "0"}, capture_output=True, text=True)
    if cp.returncode != 0:
        raise SystemExit(f"pytest under valgrind failed ({' '.join(args)}):\n{cp.stdout[-2000:]}\n{cp.stderr[-2000:]}")
    counts = [line.split(":", 1)[1] for line in cp.stderr.splitlines() if "Collected :" in line]
    return int(counts[-1].strip().replace(",", ""))


def run_once(python: str, suite: Path, args: list[str], env_extra: dict[str, str], work: Path) -> tuple[float, float]:
    env = _env(env_extra)
    cmd = _pytest(python, args)
    c0, t0 = _child_cpu(), time.perf_counter()
    cp = subprocess.run(cmd, cwd=suite, env=env, capture_output=True, text=True)
    elapsed, cpu = time.perf_counter() - t0, _child_cpu() - c0
    if cp.returncode != 0:
        raise SystemExit(f"pytest failed ({' '.join(args)}):\n{cp.stdout[-2000:]}\n{cp.stderr[-2000:]}")
    return elapsed, cpu


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", default=sys.executable, help="interpreter whose environment has the plugins")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--trivial", type=int, default=2000)
    ap.add_argument("--sleepy", type=int, default=500)
    ap.add_argument("--sleep", type=float, default=0.005)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--no-bytecode-cache", action="store_true",
                    help="keep PYTHONDONTWRITEBYTECODE if set (default: removed, so the warm-up byte-compiles)")
    ap.add_argument("--before", metavar="DIR", help="also run --rq-obs with the rq_obs package from DIR (PYTHONPATH)")
    ap.add_argument("--configs", metavar="A,B", help="only these configurations (baseline is always run)")
    ap.add_argument("--instructions", action="store_true",
                    help="also count instructions under valgrind (one run per suite and configuration)")
    args = ap.parse_args(argv)
    global KEEP_NO_BYTECODE
    KEEP_NO_BYTECODE = args.no_bytecode_cache
    bytecode = "off (PYTHONDONTWRITEBYTECODE)" if KEEP_NO_BYTECODE and os.environ.get("PYTHONDONTWRITEBYTECODE") else "on"

    work = Path(tempfile.mkdtemp(prefix="rq-obs-bench-"))
    try:
        suites = make_suites(work, args.trivial, args.sleepy, args.sleep)
        receiver = Receiver()
        cfgs = configs(args.python, receiver, work, args.before)
        if args.configs:
            wanted = {"baseline", *args.configs.split(",")}
            unknown = wanted - set(cfgs)
            if unknown:
                raise SystemExit(f"unknown configurations {sorted(unknown)}; known: {sorted(cfgs)}")
            cfgs = {c: v for c, v in cfgs.items() if c in wanted}
        load_start = os.getloadavg()
        times: dict[str, dict[str, list[tuple[float, float]]]] = {s: {c: [] for c in cfgs} for s in suites}
        for s, (path, _) in suites.items():  # warm-up: byte-compile, fill OS caches, create the stores
            for c in cfgs:
                if c == "baseline" or c.startswith("rq-obs"):
                    run_once(args.python, path, *cfgs[c], work)
        names = list(cfgs)
        for rep in range(args.reps):
            order = names[rep % len(names):] + names[:rep % len(names)]  # each configuration leads in turn
            for s, (path, _) in suites.items():
                for c in order:
                    times[s][c].append(run_once(args.python, path, *cfgs[c], work))
        load_end = os.getloadavg()
        result: dict = {"python": args.python, "reps": args.reps, "bytecode_cache": bytecode,
                        "load_average_start": [round(x, 2) for x in load_start],
                        "load_average_end": [round(x, 2) for x in load_end], "suites": {}}
        for s, (_, n) in suites.items():
            base_w = statistics.median(t[0] for t in times[s]["baseline"])
            base_c = statistics.median(t[1] for t in times[s]["baseline"])
            rows = {}
            for c in cfgs:
                w = statistics.median(t[0] for t in times[s][c])
                cpu = statistics.median(t[1] for t in times[s][c])
                wmin = min(t[0] for t in times[s][c])
                base_wmin = min(t[0] for t in times[s]["baseline"])
                # paired: each repetition's run against the baseline run of the same repetition (adjacent in
                # time), median over repetitions: cancels the machine's drift between repetitions
                pw = statistics.median(t[0] - b[0] for t, b in zip(times[s][c], times[s]["baseline"]))
                pc = statistics.median(t[1] - b[1] for t, b in zip(times[s][c], times[s]["baseline"]))
                pr = statistics.median(t[0] / b[0] for t, b in zip(times[s][c], times[s]["baseline"]))
                pcr = statistics.median(t[1] / b[1] for t, b in zip(times[s][c], times[s]["baseline"]))
                rows[c] = {"wall_min_s": round(wmin, 4), "wall_min_overhead_us": round((wmin - base_wmin) / n * 1e6, 1),
                           "wall_paired_overhead_us": round(pw / n * 1e6, 1), "wall_paired_ratio": round(pr, 4),
                           "cpu_paired_overhead_us": round(pc / n * 1e6, 1), "cpu_paired_ratio": round(pcr, 4),
                           "wall_min_ratio": round(wmin / base_wmin, 4),
                           "wall_s": round(w, 4), "wall_overhead_us": round((w - base_w) / n * 1e6, 1),
                           "wall_ratio": round(w / base_w, 4),
                           "cpu_s": round(cpu, 4), "cpu_overhead_us": round((cpu - base_c) / n * 1e6, 1),
                           "cpu_ratio": round(cpu / base_c, 4),
                           "all_wall_s": [round(t[0], 3) for t in times[s][c]],
                           "all_cpu_s": [round(t[1], 3) for t in times[s][c]]}
            result["suites"][s] = {"tests": n, "configs": rows}
        result["otlp_requests_received"] = receiver.requests
        if args.instructions:
            result["instructions"] = {}
            for s in ("trivial", "sleepy", "single"):
                path, n = suites[s]
                ir = {c: instructions(args.python, path, *cfgs[c]) for c in cfgs}
                base = result["suites"][s]["configs"]["baseline"]
                # the baseline's own rate turns extra instructions into extra seconds of CPU; added to the
                # baseline's median wall time that gives the wall ratio the instructions alone predict
                per_instruction_s = base["cpu_s"] / ir["baseline"]
                result["instructions"][s] = {
                    "tests": n,
                    "configs": {c: {"instructions": v, "overhead": v - ir["baseline"],
                                    "overhead_per_test": round((v - ir["baseline"]) / n),
                                    "ratio": round(v / ir["baseline"], 4),
                                    "wall_ratio_estimate": round(1 + (v - ir["baseline"]) * per_instruction_s
                                                                 / base["wall_s"], 4)}
                                for c, v in ir.items()}}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"pytest plugin overhead (median of {args.reps}; python {args.python}; bytecode cache {bytecode})")
        print("load average (1, 5, 15 min) at start {} and end {}".format(
            " ".join(f"{x:.2f}" for x in result["load_average_start"]),
            " ".join(f"{x:.2f}" for x in result["load_average_end"])))
        for s, data in result["suites"].items():
            print(f"\n{s}: {data['tests']} test{'s' if data['tests'] != 1 else ''}")
            print(f"  {'':22} {'median wall':^24}   {'median CPU':^24}   {'paired wall':^15}   {'paired CPU':^15}")
            print(f"  {'config':22} {'s':>8} {'µs/test':>8} {'ratio':>6}   {'s':>8} {'µs/test':>8} {'ratio':>6}"
                  f"   {'µs/test':>8} {'ratio':>6}   {'µs/test':>8} {'ratio':>6}")
            for c, r in data["configs"].items():
                print(f"  {c:22} {r['wall_s']:8.3f} {r['wall_overhead_us']:8.1f} {r['wall_ratio']:6.3f}   "
                      f"{r['cpu_s']:8.3f} {r['cpu_overhead_us']:8.1f} {r['cpu_ratio']:6.3f}   "
                      f"{r['wall_paired_overhead_us']:8.1f} {r['wall_paired_ratio']:6.3f}   "
                      f"{r['cpu_paired_overhead_us']:8.1f} {r['cpu_paired_ratio']:6.3f}")
        print(f"\nOTLP export requests received by the loopback receiver: {result['otlp_requests_received']}")
        for s, data in result.get("instructions", {}).items():
            print(f"\ninstructions (callgrind, one run each), {s}: {data['tests']} test{'s' if data['tests'] != 1 else ''}")
            for c, r in data["configs"].items():
                print(f"  {c:22} {r['instructions'] / 1e6:10.1f} M   overhead {r['overhead'] / 1e6:8.1f} M"
                      f"   per test {r['overhead_per_test']:10,d}   ratio {r['ratio']:.4f}"
                      f"   wall ratio estimate {r['wall_ratio_estimate']:.4f}")
    return result


if __name__ == "__main__":
    main()
