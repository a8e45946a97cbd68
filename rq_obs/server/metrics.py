"""The scrape: a private registry of wrapped collectors, rendered in the format the scraper asks for.

Collectors that can render their own exposition text (``render(openmetrics) -> str``, e.g.
the store collector, whose counters are the bulk of the series) are asked for it directly;
every other collector goes through a fresh ``CollectorRegistry(auto_describe=False)`` and
prometheus_client's encoder chosen from the ``Accept`` header (OpenMetrics when asked).
"""

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

_EOF = b"# EOF\n"


class Guarded:
    """Wraps a collector: times it, and turns an exception into a log line and a counted error."""

    def __init__(self, inner, stats: ScrapeStats):
        self.inner = inner
        self.name = inner.name
        self.stats = stats
        self.renders = callable(getattr(inner, "render", None))

    def _run(self, fn, empty):
        t0 = time.perf_counter()
        try:
            result = fn()
        except Exception:  # noqa: BLE001 - a collector never breaks the scrape
            log.exception("collector %r failed during a scrape; its metrics are skipped", self.name)
            self.stats.failed(self.name)
            result = empty
        self.stats.timed(self.name, time.perf_counter() - t0)
        return result

    def collect(self) -> Iterable[PromMetric]:
        return self._run(lambda: list(self.inner.collect()), [])

    def render(self, openmetrics: bool) -> str:
        return self._run(lambda: self.inner.render(openmetrics), "")


class Scraper:
    """Builds the registry once; :meth:`render` is one scrape (scrapes are serialised)."""

    def __init__(self, collectors: list, guard: LabelGuard, stats: ScrapeStats):
        self.guard = guard
        self.stats = stats
        self.registry = CollectorRegistry(auto_describe=False)
        self.collectors = [Guarded(c, stats) for c in collectors]
        self.rendering = [c for c in self.collectors if c.renders]
        for c in self.collectors:
            if not c.renders:
                self.registry.register(c)
        self._lock = threading.Lock()

    def render(self, accept: str | None) -> tuple[bytes, str]:
        encoder, content_type = choose_encoder(accept or "")
        openmetrics = content_type.startswith("application/openmetrics-text")
        with self._lock:
            self.guard.reset_scrape()
            head = "".join(c.render(openmetrics) for c in self.rendering).encode("utf-8")
            tail = encoder(self.registry)
        if openmetrics and not tail.endswith(_EOF):  # pragma: no cover - the encoder always ends with it
            tail += _EOF
        return head + tail, content_type
