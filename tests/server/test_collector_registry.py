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
