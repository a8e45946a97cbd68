"""Attempts' counters are folded into the running totals in batches (rq_obs.store.totals): exactly once,
whatever the batching, across pruning and under concurrent writers."""

from __future__ import annotations

import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from rq_obs.catalog import M
from rq_obs.store import ApiCall, Attempt, Run, Store, read_totals, save_run
from rq_obs.store.runs import prune
from rq_obs.store.totals import Folder, fold
from tests.helpers.procs import wait_until

_call = st.builds(ApiCall, provider=st.sampled_from(["openai", "anthropic"]), model=st.sampled_from(["m1", "m2"]),
                  status_code=st.sampled_from([200, 429, 500, None]), latency=st.sampled_from([0.1, 2.0]),
                  retries=st.integers(0, 2), retry_reasons=st.sampled_from([(), ("429",), ("5xx", "timeout")]),
                  input_tokens=st.integers(0, 50), output_tokens=st.integers(0, 50), cost_usd=st.sampled_from([None, 0.25]))
_attempt = st.builds(
    Attempt, test=st.sampled_from(["t::a", "t::b"]), outcome=st.sampled_from(["passed", "failed", "skipped"]),
    duration=st.sampled_from([0.0, 0.01, 1.0, 301.0]), attempt=st.integers(1, 2), worker=st.sampled_from(["gw0", "gw1"]),
    variant=st.sampled_from(["control", "b"]), api_calls=st.lists(_call, max_size=2).map(tuple))


def _price(model: str, inp: int, out: int, cached: int) -> float | None:
    return (inp + out) / 1000 if model == "m1" else None


def _totals(store: Store) -> dict:
    return {(s, tuple(sorted(l.items()))): round(v, 9) for s, l, v in read_totals(store)}


@settings(max_examples=25, deadline=None)
@given(runs=st.lists(st.tuples(st.sampled_from(["shop", "cart"]), st.lists(_attempt, max_size=6), st.booleans()),
                     min_size=1, max_size=5))
def test_any_batching_gives_the_totals_of_folding_after_every_run(tmp_path_factory, runs):
    d = tmp_path_factory.mktemp("fold")
    each, batched = Store(d / "each.db"), Store(d / "batched.db")
    for i, (suite, attempts, fold_now) in enumerate(runs):
        run = Run(f"r{i}", suite, 1000.0 + i, 1001.0 + i, attempts=tuple(attempts))
        save_run(each, run, _price)
        fold(each)
        save_run(batched, run, _price)
        if fold_now:
            fold(batched)
    assert _totals(batched) == _totals(each)
    calls = [c for _, attempts, _ in runs for a in attempts for c in a.api_calls]
    tokens = sum(c.input_tokens + c.output_tokens for c in calls)
    assert sum(v for (s, _), v in _totals(batched).items() if s == M.TOKENS.total) == tokens
    cost = sum(c.cost_usd if c.cost_usd is not None else _price(c.model, c.input_tokens, c.output_tokens, 0) or 0.0
               for c in calls)
    assert abs(sum(v for (s, _), v in _totals(batched).items() if s == M.COST.total) - cost) < 1e-9
    assert fold(batched) == 0  # nothing left: each attempt is counted once


def _run(run_id: str, n: int, started: float = 1000.0) -> Run:
    return Run(run_id, "shop", started, started + 1, attempts=tuple(
        Attempt(f"t::{k}", "passed", 0.5, api_calls=(ApiCall("openai", "m1", input_tokens=10),)) for k in range(n)))


def _attempts_total(store: Store) -> float:
    return sum(v for _, _, v in read_totals(store, M.TEST_ATTEMPTS.total))


def test_pruning_folds_first_and_attempt_ids_never_repeat(tmp_path):
    store = Store(tmp_path / "s.db")
    save_run(store, _run("a", 3, started=100.0))
    save_run(store, _run("b", 2, started=200.0))
    assert prune(store, older_than=10_000.0) == 2  # every run, none of them folded yet
    assert store.query("SELECT COUNT(*) FROM attempts")[0][0] == 0
    assert _attempts_total(store) == 5  # counted before they were deleted
    assert sum(v for _, _, v in read_totals(store, M.TOKENS.total)) == 50
    # the table is empty, but new ids continue above the fold's watermark: never counted twice, never skipped
    save_run(store, _run("c", 4))
    assert [r[0] for r in store.query("SELECT id FROM attempts ORDER BY id")] == [6, 7, 8, 9]
    assert fold(store) == 4
    assert _attempts_total(store) == 9
    assert store.query("SELECT value FROM meta WHERE key = 'folded_attempt_id'")[0][0] == "9"


def test_concurrent_writers_and_folders_count_every_attempt_once(tmp_path):
    path = tmp_path / "s.db"
    Store(path)  # schema
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        store = Store(path)
        try:
            for i in range(40):
                save_run(store, _run(f"w{w}-{i}", 5))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            store.close()

    folder_store = Store(path)
    folder = Folder(folder_store, interval=0.0).start()
    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    folds = []
    while any(t.is_alive() for t in threads):
        folder.poke()
        folds.append(fold(Store(path)))  # a second folder, in this thread, racing the first
    for t in threads:
        t.join()
    assert not errors
    folder.poke()
    store = Store(path)
    wait_until(lambda: store.query("SELECT value FROM meta WHERE key = 'folded_attempt_id'")[0][0] == "800", 10,
               what="the background folder to reach the last attempt")
    folder.stop()
    assert _attempts_total(store) == 4 * 40 * 5
    assert sum(v for _, _, v in read_totals(store, M.TOKENS.total)) == 4 * 40 * 5 * 10
    assert sum(v for _, _, v in read_totals(store, M.TEST_RUNS.total)) == 160
