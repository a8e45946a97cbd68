"""What the LLM-routing views add to the analytics recomputation, on a store where every attempt attached
an input and routes.

Builds a store with TESTS tests in one suite run RUNS times over the last 7 days; every attempt attached
``input`` (a 12-word sentence drawn from a 2,000-word vocabulary plus the test's own word; the same in every
run, as a test's input is, or with ``--unique-inputs`` a new one per attempt: the worst case), an expected and a
chosen route (40 routes; every 10th attempt misrouted and failed) and ``ambiguous`` for every 5th test. Prints
the time of the routing analyses (store read, disambiguation cells, term counting) beside the flakiness
analysis on the same store, as a ratio measured in the same run (this machine is shared and noisy), and the
series the four routing families publish.

Usage: python benchmarks/routing_inputs.py [--tests 10000] [--runs 7] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rq_obs.analysis import disambiguation as dis  # noqa: E402
from rq_obs.analysis import input_terms as it  # noqa: E402
from rq_obs.analytics import queries as q  # noqa: E402
from rq_obs.analytics import reports  # noqa: E402
from rq_obs.catalog import CAPS  # noqa: E402
from rq_obs.config import Config  # noqa: E402
from rq_obs.exporters import routing  # noqa: E402
from rq_obs.store import Store  # noqa: E402
from rq_obs.store.records import Attempt, Run  # noqa: E402
from rq_obs.store.runs import save_run  # noqa: E402


def build(path: Path, tests: int, runs: int, now: float, unique: bool = False) -> None:
    vocab = [f"w{k}" for k in range(2000)] + ["refund", "invoice", "order", "delivery", "cancel", "complaint"]
    store = Store(path)
    for r in range(runs):
        at = now - 7 * 86400 + (r + 0.5) * (7 * 86400 / runs)
        attempts = []
        for i in range(tests):
            misroute = (i + r) % 10 == 0
            expected = f"route{i % 40}"
            words = random.Random(i).choices(vocab, k=12)
            if unique:
                words = random.Random(i * 1000 + r).choices(vocab, k=12)
            attrs = {"input": " ".join(words + [f"case{i}"]), "expected_route": expected,
                     "chosen_route": f"route{(i + 1) % 40}" if misroute else expected}
            if i % 5 == 0:
                attrs["ambiguous"] = True
            attempts.append(Attempt(f"tests/test_mod{i // 100}.py::test_{i}", "failed" if misroute else "passed",
                                    0.01, started_at=at + i * 0.01, attributes=attrs))
        save_run(store, Run(f"run{r}", "bench", at, at + 100, attempts=tuple(attempts)))
    store.close()


def timed(fn, repeat: int) -> tuple[float, object]:
    xs, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        xs.append(time.perf_counter() - t)
    return statistics.median(xs), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tests", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--unique-inputs", action="store_true", help="a different input in every attempt (worst case)")
    args = ap.parse_args()
    now = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.db"
        build(path, args.tests, args.runs, now, args.unique_inputs)
        store = Store(path, create=False)
        config = Config()
        n = args.tests * args.runs
        print(f"store: {args.tests} tests x {args.runs} runs = {n} attempts, each with input and routes"
              + (" (a new input in every attempt)" if args.unique_inputs else " (one input per test)"))
        read, rows = timed(lambda: q.attributed_attempts(store, now - 7 * 86400, now), args.repeat)
        cells, (cell_list, _) = timed(lambda: dis.route_cells(rows, CAPS["route"]), args.repeat)
        texts = [(r.suite, r.outcome, r.attributes["input"]) for r in rows]
        count, terms = timed(lambda: it.term_stats(texts, CAPS["term"]), args.repeat)
        whole, report = timed(lambda: reports.inputs_report(store, config, now), args.repeat)
        flaky, _ = timed(lambda: reports.flaky_report(store, config, now), args.repeat)
        series = sum(len(list(f.samples)) for f in routing.families(report))
        print(f"  read attributed attempts   {1000 * read:8.1f} ms")
        print(f"  disambiguation cells       {1000 * cells:8.1f} ms  ({len(cell_list)} cells)")
        print(f"  term counting              {1000 * count:8.1f} ms  ({terms.terms_seen} distinct terms in failing "
              f"inputs, {len(terms.ranked)} published)")
        print(f"  inputs_report, all of it   {1000 * whole:8.1f} ms  = {1e6 * whole / n:.1f} us per attempt")
        print(f"  flaky_report, same store   {1000 * flaky:8.1f} ms  -> routing / flakiness = {whole / flaky:.2f}")
        print(f"  routing series published   {series}")


if __name__ == "__main__":
    main()
