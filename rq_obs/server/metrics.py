"""The scrape: a private registry of wrapped collectors, rendered in the format the scraper asks for."""

from __future__ import annotations

import logging
import threading
import time
from typing import Iterable

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric as PromMetric

from rq_obs.exporters.base import LabelGuard
from rq_obs.exporters.health import ScrapeStats

__all__ = ["Guarded", "Scraper"]

log = logging.getLogger("rq_obs.server")


class Guarded:
    """Wraps a collector: times it, and turns an exception into a log line and a counted error."""

    def __init__(self, inner, stats: ScrapeStats):
        self.inner = inner
        self.name = inner.name
        self.stats = stats

    def collect(self) -> Iterable[PromMetric]:
        t0 = time.perf_counter()
        try:
            families = list(self.inner.collect())
        except Exception:  # noqa: BLE001 - a collector never breaks the scrape
            log.exception("collector %r failed during a scrape; its metrics are skipped", self.name)
            self.stats.failed(self.name)
            families = []
        self.stats.timed(self.name, time.perf_counter() - t0)
        return families


class Scraper:
    """Builds the registry once; :meth:`render` is one scrape (scrapes are serialised)."""

    def __init__(self, collectors: list, guard: LabelGuard, stats: ScrapeStats):
        self.guard = guard
        self.stats = stats
        self.registry = CollectorRegistry(auto_describe=False)
        self.collectors = [Guarded(c, stats) for c in collectors]
        for c in self.collectors:
            self.registry.register(c)
        self._lock = threading.Lock()

    def render(self, accept: str | None) -> tuple[bytes, str]:
        encoder, content_type = choose_encoder(accept or "")
        with self._lock:
            self.guard.reset_scrape()
            return encoder(self.registry), content_type
