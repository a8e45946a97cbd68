"""The plugin applies ``retention_days`` at the end of a session: old runs pruned, recent ones and the counters kept."""

import time

from rq_obs.catalog import M
from rq_obs.store import Attempt, Run, Store, read_totals, save_run

DAY = 86400.0


def _run(run_id: str, days_ago: float, outcomes: tuple[str, ...]) -> Run:
    started = time.time() - days_ago * DAY
    return Run(run_id=run_id, suite="demo", started_at=started, finished_at=started + 1, status="complete",
               attempts=tuple(Attempt(test=f"test_old.py::test_{i}", outcome=o, duration=0.5, started_at=started)
                              for i, o in enumerate(outcomes)))


def _attempt_totals(store: Store) -> dict[str, float]:
    out: dict[str, float] = {}
    for _, labels, value in read_totals(store, M.TEST_ATTEMPTS.total):
        out[labels["outcome"]] = out.get(labels["outcome"], 0) + value
    return out


def test_session_end_prunes_runs_older_than_retention_and_keeps_recent_runs_and_totals(
        pytester, plain_env, store_file, rows):
    pytester.makepyprojecttoml("[tool.rq-obs]\nretention_days = 30\n")
    pytester.makepyfile(test_new="def test_ok(): pass\ndef test_bad(): assert 0\n")
    store = Store(store_file)
    save_run(store, _run("old-run", 45, ("passed", "failed", "failed")))
    save_run(store, _run("recent-run", 29, ("passed",)))
    store.close()
    assert _attempt_totals(Store(store_file)) == {"passed": 2, "failed": 2}

    result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    assert result.ret == 1 and result.parseoutcomes() == {"passed": 1, "failed": 1}
    assert (f"rq-obs: pruned 1 run(s) older than retention_days = 30 from {store_file} (counters keep their totals)"
            in result.stdout.str())
    # the old run and its attempts are gone; the recent run and this session's are intact
    assert [r for (r,) in rows("SELECT run_id FROM runs WHERE run_id IN ('old-run', 'recent-run')")] == ["recent-run"]
    assert rows.one("SELECT COUNT(*) FROM attempts WHERE run_id = 'old-run'") == 0
    assert rows("SELECT test, outcome FROM attempts WHERE run_id = 'recent-run'") == [("test_old.py::test_0", "passed")]
    assert rows.one("SELECT COUNT(*) FROM runs") == 2
    assert sorted(rows("SELECT a.test, a.outcome FROM attempts a JOIN runs r ON r.run_id = a.run_id "
                       "WHERE r.source = 'pytest' AND r.run_id NOT IN ('recent-run')")) == [
        ("test_new.py::test_bad", "failed"), ("test_new.py::test_ok", "passed")]
    # the running totals still count the pruned run's attempts, plus this session's
    assert _attempt_totals(Store(store_file)) == {"passed": 3, "failed": 3}

    # nothing is due any more: the next session prunes nothing and says nothing about it
    again = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    assert "pruned" not in again.stdout.str()
    assert rows.one("SELECT COUNT(*) FROM runs") == 3
    assert _attempt_totals(Store(store_file)) == {"passed": 4, "failed": 4}
