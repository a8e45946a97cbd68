"""How fast `rq-obs serve`'s read-only JSON API answers per-test questions on a large store.

Builds a store with TESTS tests x 3 variants in one suite, RUNS runs over the last 7 days plus OLD runs
8-30 days ago (history outside the default window), and 50 small suites (20 tests, RUNS runs each); every
50th test flaky (fails every 3rd run, with a failure message), every 200th broken, every 100th records a
response that changes every run. Then starts a real `rq-obs serve` on a free port and times, client side
over HTTP (urllib, one request at a time), 1 + REPEAT requests of each question: worst-N of the big suite (by
pass rate, by flips; N = 10; 7 days and 30 days), one test's history (100 attempts), its last failure, its
flips, its response diff, and the suites list. Prints the first request's time (worst-N: computed then, or
by serve's background computation over the default window if that finished first) and p50 / max of the rest
in ms, and, with callgrind, the instructions of one in-process answer (``Api.answer``, nothing cached) minus
the same process answering nothing.

    python benchmarks/api_scale.py [--tests 10000] [--runs 14] [--old 14] [--repeat 20] [--no-instructions]
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
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rq_obs.store import Attempt, Run, Store  # noqa: E402
from rq_obs.store.runs import save_run  # noqa: E402

VARIANTS = ("control", "v2", "v3")
SUITE = "big"


def _test(i: int) -> str:
    return f"tests/test_mod{i // 100:03d}.py::test_case_{i:05d}"


def build(path: Path, tests: int, runs: int, old: int, now: float) -> int:
    store = Store(path)
    n = 0
    times = [now - 30 * 86400 + k * (22 * 86400 / max(old, 1)) for k in range(old)] + \
            [now - 7 * 86400 + (k + 0.5) * (7 * 86400 / runs) for k in range(runs)]
    for r, at in enumerate(times):
        attempts = []
        for i in range(tests):
            for v, variant in enumerate(VARIANTS):
                failed = (i % 50 == 0 and r % 3 == 0) or i % 200 == 7
                attrs = {}
                if failed:
                    attrs["failure_message"] = f"AssertionError: case {i} run {r}"
                if i % 100 == 1:
                    attrs["response"] = f"route: billing\nconfidence: 0.{r % 10}\nrun: {r}"
                attempts.append(Attempt(_test(i), "failed" if failed else "passed", 0.01 + (i % 97) / 100,
                                        variant=variant, started_at=at + v, attributes=attrs))
        save_run(store, Run(f"{SUITE}-{r:03d}", SUITE, at, at + 600, commit=f"c{r:03d}", attempts=tuple(attempts)))
        n += len(attempts)
        for s in range(50):
            small = tuple(Attempt(f"tests/test_s.py::test_{j}", "passed", 0.1, started_at=at) for j in range(20))
            save_run(store, Run(f"s{s:02d}-{r:03d}", f"suite-{s:02d}", at, at + 60, attempts=small))
            n += len(small)
    store.close()
    return n


QUESTIONS = {
    "worst by pass rate (7d)": ("tests/worst", {"suite": SUITE, "by": "pass_rate", "limit": "10"}),
    "worst by flips (7d)": ("tests/worst", {"suite": SUITE, "by": "flips", "limit": "10"}),
    "worst by pass rate (30d)": ("tests/worst", {"suite": SUITE, "by": "pass_rate", "limit": "10", "window": "30d"}),
    "history (100 attempts)": ("tests/history", {"test": _test(50), "suite": SUITE}),
    "last failure": ("tests/last-failure", {"test": _test(50), "suite": SUITE}),
    "flips (7d)": ("tests/flips", {"test": _test(50), "suite": SUITE}),
    "response diff": ("tests/response-diff", {"test": _test(101), "suite": SUITE}),
    "suites": ("suites", {}),
}


def timed(url: str, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=120) as resp:
            resp.read()
            assert resp.status == 200
        out.append(time.perf_counter() - t0)
    return out


_SNIPPET = """
import sys, time
from rq_obs.config import Config
from rq_obs.server import api as api_module
from rq_obs.server.api import Api, routes
api_module.QUERY_SECONDS = 1e9  # callgrind runs ~50x slower: no query may be interrupted
from rq_obs.store import Store
api = Api(Config(), Store(sys.argv[1], readonly=True), clock=lambda: {now!r})
routes()
api.store.connect().execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
if sys.argv[2]:
    r = api.answer(sys.argv[2], sys.argv[3])
    assert r.status == 200, r.body
"""


def instructions(db: Path, now: float, path: str, query: str) -> int:
    args = [sys.executable, "-c", _SNIPPET.format(now=now), str(db), path, query]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    # once without callgrind first: byte-compiled modules written, the store's pages in the OS cache
    subprocess.run(args, capture_output=True, env=env, check=True)
    res = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *args],
                         capture_output=True, text=True, env=env)
    m = re.search(r"Collected : (\d+)", res.stderr)
    if res.returncode != 0 or not m:
        raise SystemExit(f"{path or 'base'}: exit {res.returncode}, no answer or no callgrind total: "
                         f"{res.stderr[-800:]}")
    return int(m.group(1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tests", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=14)
    ap.add_argument("--old", type=int, default=14)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--no-instructions", action="store_true")
    ap.add_argument("--callgrind", default=",".join(QUESTIONS), help="questions to count instructions of")
    args = ap.parse_args()
    from rq_obs.demo.processes import Service, Services

    now = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "store.db"
        t0 = time.perf_counter()
        n = build(db, args.tests, args.runs, args.old, now)
        print(f"store: {args.tests} tests x {len(VARIANTS)} variants, {args.runs} runs in 7 days + {args.old} older, "
              f"50 small suites; {n:,} attempts, {db.stat().st_size / 1e6:.0f} MB, built in "
              f"{time.perf_counter() - t0:.0f} s")
        with Services() as services:
            srv = services.start_on_free_port(lambda port: Service(
                "rq-obs serve", f"http://127.0.0.1:{port}",
                [sys.executable, "-m", "rq_obs", "serve", "--store", str(db), "--port", str(port), "--log-level",
                 "warning"], Path(tmp) / "serve.log", ready_path="/healthz", cwd=tmp,
                env={k: v for k, v in os.environ.items() if not k.startswith("RQ_OBS_")}), 120)
            print(f"{'question':28s} {'first ms':>9s} {'p50 ms':>9s} {'max ms':>9s}  (the first request, then "
                  f"{args.repeat} more, over HTTP)")
            for name, (route, params) in QUESTIONS.items():
                first, *walls = timed(f"{srv.url}/api/v1/{route}?{urllib.parse.urlencode(params)}", args.repeat + 1)
                print(f"{name:28s} {first * 1000:9.1f} {statistics.median(walls) * 1000:9.1f} "
                      f"{max(walls) * 1000:9.1f}")
        if args.no_instructions or not shutil.which("valgrind"):
            return
        base = instructions(db, now, "", "")
        print("instructions of one in-process answer (callgrind, minus the same process answering nothing):")
        for name in [q for q in args.callgrind.split(",") if q]:
            route, params = QUESTIONS[name]
            count = instructions(db, now, f"/api/v1/{route}", urllib.parse.urlencode(params)) - base
            print(f"{name:28s} {count / 1e6:9.1f} M")


if __name__ == "__main__":
    main()
