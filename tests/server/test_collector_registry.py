import logging

from rq_obs.config import Config
from rq_obs.exporters import PLUGGABLE, collectors
from rq_obs.exporters.base import LabelGuard
from rq_obs.store import Store


def test_every_pluggable_collector_is_found_and_served(tmp_path, caplog):
    """A renamed factory must not silently drop a collector's metrics from /metrics."""
    config = Config()
    with caplog.at_level(logging.WARNING, logger="rq_obs.exporters"):
        made = collectors(Store(tmp_path / "s.db"), config, LabelGuard(config.max_tests_per_suite,
                                                                       config.max_label_length))
    assert [r.getMessage() for r in caplog.records] == []
    assert [c.name for c in made] == [name for name, _ in PLUGGABLE]


def test_warm_up_does_the_first_scrapes_work_before_prometheus_asks(tmp_path):
    from rq_obs.exporters.analytics import AnalyticsCollector
    from rq_obs.server.app import Service
    from rq_obs.store import Attempt, Run, save_run

    store = Store(tmp_path / "s.db")
    save_run(store, Run("r1", "s", 1_700_000_000.0, attempts=(Attempt("t", "failed", 1.0),)))
    service = Service(Config(), store)
    analytics = [c for c in service.collectors if isinstance(c, AnalyticsCollector)][0]
    assert analytics.last_compute_seconds is None
    service.warm_up().join(60)
    assert analytics.last_compute_seconds is not None  # computed; the first real scrape reads the cache
    service.close()
