"""New counter series start at 0: a series first written less than ``new_series_grace`` ago is exported as 0,
so Prometheus scrapes a 0 before its first value and increase()/rate() count the first increment.

Unit tests drive the store collector with a fake clock; the last test has a real Prometheus 2.42 scrape a
real server and checks increase() counts a new test's first failure (without the grace it is 0).
"""

from __future__ import annotations

import sqlite3

import pytest

from rq_obs.catalog import OTHER, M
from rq_obs.exporters.base import LabelGuard
from rq_obs.exporters.store import StoreCollector, _encode
from rq_obs.store import Store, save_run
from rq_obs.store.db import CORE_MIGRATIONS
from rq_obs.store.totals import fold
from tests.helpers.procs import Prometheus, wait_until
from tests.server.runs import doc, make_run
from tests.server.test_metrics import samples, value

T0, T1 = "tests/test_x.py::test_0", "tests/test_x.py::test_1"
ATT = M.TEST_ATTEMPTS.total
GRACE = 60.0


def _created(store: Store, metric: str, **labels) -> float | None:
    from rq_obs.store.runs import labels_key

    rows = store.query("SELECT created_at FROM totals WHERE metric = ? AND labels = ?", (metric, labels_key(labels)))
    return rows[0][0]


def _scrape(store: Store, now: float, *, max_values: int = 5000, fast: StoreCollector | None = None) -> dict:
    """Samples of one scrape at ``now``; asserts the fast render equals the collector protocol's output."""
    slow = StoreCollector(store, LabelGuard(max_values, 200), GRACE, clock=lambda: now)
    fast = fast or StoreCollector(store, LabelGuard(max_values, 200), GRACE, clock=lambda: now)
    text = fast.render()
    assert text == _encode(list(slow.collect()), False)
    slow.close()
    return samples(text)


def _clocked(store: Store, box: list, max_values: int = 5000) -> StoreCollector:
    return StoreCollector(store, LabelGuard(max_values, 200), GRACE, clock=lambda: box[0])


def test_a_new_series_shows_0_until_the_grace_passes_then_its_total(tmp_path):
    store = Store(tmp_path / "s.db")
    save_run(store, make_run("old", outcomes=("passed",)))
    fold(store)
    store.connect().execute("UPDATE totals SET created_at = NULL")  # written before the grace: old
    save_run(store, make_run("new", outcomes=("passed", "failed")))  # t0 passed again (old), t1 failed (new)
    fold(store)
    created = _created(store, ATT, suite="shop", test=T1, outcome="failed", variant="control")
    assert created is not None
    # an existing series keeps its original created_at (NULL here) when it is added to
    assert _created(store, ATT, suite="shop", test=T0, outcome="passed", variant="control") is None

    box = [created + 1]
    fast = _clocked(store, box)  # one collector across scrapes: its cached layout must unmask in time
    young = _scrape(store, box[0], fast=fast)
    assert value(young, ATT, suite="shop", test=T0, outcome="passed", variant="control") == 2  # old: its total
    assert value(young, ATT, suite="shop", test=T1, outcome="failed", variant="control") == 0  # new: 0
    # a histogram series is new or old as a whole: every bucket, sum and count
    h = M.TEST_ATTEMPT_DURATION
    assert value(young, h.count, suite="shop", outcome="passed") == 2
    assert value(young, h.count, suite="shop", outcome="failed") == 0
    assert value(young, h.sum, suite="shop", outcome="failed") == 0
    assert {k: v for k, v in young.items() if k[0] == h.bucket and ("outcome", "failed") in k[1]} and all(
        v == 0 for k, v in young.items() if k[0] == h.bucket and ("outcome", "failed") in k[1])

    box[0] = created + GRACE + 1
    old = _scrape(store, box[0], fast=fast)
    assert value(old, ATT, suite="shop", test=T1, outcome="failed", variant="control") == 1
    assert value(old, h.count, suite="shop", outcome="failed") == 1
    assert value(old, h.sum, suite="shop", outcome="failed") == pytest.approx(0.5)
    assert value(old, h.bucket, suite="shop", outcome="failed", le="+Inf") == 1
    assert value(old, ATT, suite="shop", test=T0, outcome="passed", variant="control") == 2
    fast.close()


def test_a_folded_series_is_as_old_as_its_oldest_row_and_never_goes_backwards(tmp_path):
    store = Store(tmp_path / "s.db")
    tests = [f"t{i}" for i in range(3)]
    save_run(store, make_run("a", outcomes=("passed",) * 3, tests=tests))
    fold(store)
    store.connect().execute("UPDATE totals SET created_at = NULL")
    save_run(store, make_run("b", outcomes=("passed",), tests=["t9"]))  # a new test folded into __other__
    fold(store)
    created = _created(store, ATT, suite="shop", test="t9", outcome="passed", variant="control")
    other = dict(suite="shop", test=OTHER, outcome="passed", variant="control")
    # cap 1 test per suite: t0 is published, t1, t2 (old) and t9 (new) fold into __other__, which is old
    seen = [value(_scrape(store, created + dt, max_values=1), ATT, **other) for dt in (1, GRACE + 1)]
    assert seen == [3, 3]


def test_a_store_from_before_the_migration_keeps_its_counters_and_counts_them_as_old(tmp_path):
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    conn.executescript(CORE_MIGRATIONS[0])
    conn.execute("CREATE TABLE schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_versions VALUES ('core', 1)")
    key = '{"outcome":"failed","suite":"shop","test":"' + T1 + '","variant":"control"}'
    conn.execute("INSERT INTO totals (metric, labels, value) VALUES (?, ?, 7)", (ATT, key))
    # the last of those 7 attempts is still stored raw; its count is in the total already
    conn.execute("INSERT INTO runs (run_id, suite, sequence, started_at, status, ingested_at) "
                 "VALUES ('v1', 'shop', 1, 1, 'complete', 1)")
    conn.execute("INSERT INTO attempts (id, run_id, test, outcome, duration, attempt, worker, category, markers, "
                 "variant, started_at) VALUES (7, 'v1', ?, 'failed', 0.5, 1, 'main', 'none', '[]', 'control', 1)", (T1,))
    conn.commit()
    conn.close()

    store = Store(path)
    assert store.schema_version("core") == len(CORE_MIGRATIONS) == 4
    assert store.query("SELECT value FROM meta WHERE key = 'folded_attempt_id'")[0][0] == "7"  # not counted twice
    assert [tuple(r) for r in store.query("SELECT metric, labels, value, created_at FROM totals")] == [
        (ATT, key, 7.0, None)]
    save_run(store, make_run("r", outcomes=("passed", "failed")))  # adds to the old series, creates new ones
    assert fold(store) == 2
    assert _created(store, ATT, suite="shop", test=T1, outcome="failed", variant="control") is None
    created = _created(store, ATT, suite="shop", test=T0, outcome="passed", variant="control")
    assert created is not None
    s = _scrape(store, created + 1)
    assert value(s, ATT, suite="shop", test=T1, outcome="failed", variant="control") == 8  # old: whole total
    assert value(s, ATT, suite="shop", test=T0, outcome="passed", variant="control") == 0  # new: 0 for now


def test_the_grace_is_a_validated_setting():
    from rq_obs.config import Config, load
    from rq_obs.errors import ConfigError

    assert Config().new_series_grace == "2m"
    assert load("/nonexistent", env={"RQ_OBS_NEW_SERIES_GRACE": "3s"}).config.new_series_grace == "3s"
    with pytest.raises(ConfigError, match="new_series_grace"):
        load("/nonexistent", env={"RQ_OBS_NEW_SERIES_GRACE": "soon"})


@pytest.mark.e2e
def test_prometheus_increase_counts_a_new_tests_first_failure(serve, tmp_path):
    srv = serve(new_series_grace="3s")
    target = srv.url.removeprefix("http://")
    config = (f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
              f"scrape_configs:\n  - job_name: rq-obs\n    static_configs:\n      - targets: ['{target}']\n")
    (tmp_path / "prom").mkdir()
    with Prometheus(tmp_path / "prom", config) as prom:
        wait_until(lambda: prom.value(f'{M.UP.name}{{job="rq-obs"}}') == 1, 60, what="Prometheus' first scrape")
        # a run with a test never seen before that failed once
        assert srv.push(doc("first", outcomes=("failed",), tests=["tests/test_new.py::test_new"])).status == 201
        series = f'{ATT}{{test="tests/test_new.py::test_new",outcome="failed"}}'
        wait_until(lambda: prom.value(series) == 1, 60, what="the new series' total scraped after the grace")
        got = prom.query(f"{series}[1m]")[0]["values"]
        assert float(got[0][1]) == 0 and float(got[-1][1]) == 1  # Prometheus scraped a 0 first
        inc = prom.value(f'sum(increase({ATT}{{outcome="failed"}}[1m]))')
        assert inc is not None and inc > 0.5, f"increase() missed the first failure: {inc}"
