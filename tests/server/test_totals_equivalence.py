"""save_run's running totals equal counts recomputed from the stored attempts (the batched path is exact)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rq_obs.catalog import M
from rq_obs.store import Attempt, Run, Store, read_totals, save_run

_attempt = st.builds(
    Attempt, test=st.sampled_from(["t::a", "t::b", "t::c"]),
    outcome=st.sampled_from(["passed", "failed", "error", "skipped"]),
    duration=st.sampled_from([0.0, 0.005, 0.01, 0.3, 1.0, 7.5, 300.0, 301.0]),
    attempt=st.integers(1, 3), worker=st.sampled_from(["gw0", "gw1"]), variant=st.sampled_from(["control", "b"]),
)


@settings(max_examples=25, deadline=None)
@given(runs=st.lists(st.lists(_attempt, max_size=12), min_size=1, max_size=3))
def test_totals_match_the_attempts(tmp_path_factory, runs):
    store = Store(tmp_path_factory.mktemp("eq") / "s.db")
    for i, attempts in enumerate(runs):
        save_run(store, Run(f"r{i}", "s", 1000.0 + i, 1001.0 + i, attempts=tuple(attempts)))
    totals = {(s, tuple(sorted(l.items()))): v for s, l, v in read_totals(store)}
    rows = [a for run in runs for a in run]
    h = M.TEST_ATTEMPT_DURATION
    for outcome in {a.outcome for a in rows}:
        durations = [a.duration for a in rows if a.outcome == outcome]
        for le in h.buckets:
            n = sum(1 for d in durations if d <= le)
            key = (h.bucket, (("le", repr(float(le))), ("outcome", outcome), ("suite", "s")))
            assert totals.get(key, 0) == n  # a bucket no attempt reached has no row
            assert (key in totals) == (n > 0)
        assert totals[(h.bucket, (("le", "+Inf"), ("outcome", outcome), ("suite", "s")))] == len(durations)
        assert totals[(h.count, (("outcome", outcome), ("suite", "s")))] == len(durations)
        assert abs(totals[(h.sum, (("outcome", outcome), ("suite", "s")))] - sum(durations)) < 1e-9
    for a in {(a.test, a.outcome, a.variant) for a in rows}:
        n = sum(1 for r in rows if (r.test, r.outcome, r.variant) == a)
        key = (M.TEST_ATTEMPTS.total, (("outcome", a[1]), ("suite", "s"), ("test", a[0]), ("variant", a[2])))
        assert totals[key] == n
    retries = sum(1 for a in rows if a.attempt > 1)
    assert sum(v for (s, _), v in totals.items() if s == M.TEST_RETRIES.total) == retries
    assert store.query("SELECT COUNT(*) FROM attempts")[0][0] == len(rows)
