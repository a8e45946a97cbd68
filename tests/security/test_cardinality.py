"""Cardinality caps hold at ingest, globally (issue 17, hole 3): varying the suite does not bypass them, the
overflow is folded into __other__ and counted, and the series on /metrics stay under max_series."""

from __future__ import annotations

from rq_obs.catalog import CAPS, M, OTHER
from rq_obs.store import Attempt, Run, Store
from rq_obs.store.runs import save_run
from tests.server.test_metrics import samples


def test_four_hundred_suites_and_two_thousand_variants_stay_under_the_global_caps(serve, tmp_path):
    store = Store(tmp_path / "store.db")
    srv = serve(store, max_series=3000)
    for s in range(400):  # 400 suites (cap 200), 5 variants and 5 tests each: 2,000 variants, 2,000 tests
        attempts = tuple(Attempt(test=f"t{s}::test_{i}", outcome="passed", duration=0.1, started_at=1000.0 + s,
                                 variant=f"v{s}-{i}") for i in range(5))
        save_run(store, Run(run_id=f"r{s}", suite=f"suite-{s}", started_at=1000.0 + s, finished_at=1001.0 + s,
                            attempts=attempts))
    reply = srv.metrics()
    assert reply.status == 200
    text = reply.body.decode()
    series = [line for line in text.splitlines() if line and not line.startswith("#")]
    got = samples(text)
    suites = {dict(labels)["suite"] for (name, labels) in got if name == M.TEST_RUNS.total}
    variants = {dict(labels)["variant"] for (name, labels) in got if name == M.TEST_ATTEMPTS.total}
    assert len(suites) <= CAPS["suite"] + 1 and OTHER in suites
    assert len(variants) <= CAPS["variant"] + 1 and OTHER in variants
    capped = {dict(labels)["label"]: v for (name, labels), v in got.items() if name == M.CARDINALITY_CAPPED.total}
    assert capped["suite"] > 0 and capped["variant"] > 0 and capped["series"] > 0
    attempts_series = [k for k in got if k[0] == M.TEST_ATTEMPTS.total]
    assert len(attempts_series) <= 3000
    assert len(series) < 3000 * 3  # every counter family is under the cap; a few small families besides
    # nothing pushed is lost from the totals: the folded values add up
    assert sum(v for k, v in got.items() if k[0] == M.TEST_ATTEMPTS.total) == 2000
