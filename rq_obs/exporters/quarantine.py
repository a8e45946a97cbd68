"""The quarantine collector: the list's entries by kind, and quarantined tests and absorbed failures per suite.

Reads the quarantine file (``quarantine_file``; `rq-obs serve` resolves it against the project
directory) on every scrape (a few entries: cheaper than caching); the per-suite figures come from one
grouped query over the flaky window's attempts, cached until a run is stored (the store's
fingerprint) or :data:`MAX_AGE` passes. Every suite with a run in the window gets a value (0 when
nothing ran quarantined), so a panel shows 0 rather than no data. A missing file publishes zeros; a malformed one is logged and its family left
out for that scrape (collectors never raise).
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Iterable

from prometheus_client.metrics_core import Metric as PromMetric

from rq_obs.catalog import M
from rq_obs.exporters.base import Family, LabelGuard

__all__ = ["QuarantineCollector", "KINDS"]

log = logging.getLogger("rq_obs.exporters.quarantine")

KINDS = ("active", "expiring", "expired")
#: Figures over the window are recomputed at least this often (the window slides) even when no run arrived.
MAX_AGE = 300.0


class QuarantineCollector:
    name = "quarantine"

    def __init__(self, store, config, guard: LabelGuard | None = None, clock: Callable[[], float] = time.time):
        self.store = store
        self.config = config
        self.guard = guard
        self.clock = clock
        self._cache: tuple | None = None  # (store fingerprint, computed at, figures)

    def _by_suite(self, now: float) -> dict[str, tuple[int, int]]:
        """The window's per-suite figures, recomputed when a run was stored or the cache is over MAX_AGE old."""
        from rq_obs import durations
        from rq_obs.analytics.queries import fingerprint
        from rq_obs.quarantine.history import quarantined_by_suite

        fp = fingerprint(self.store)
        if self._cache is None or self._cache[0] != fp or now - self._cache[1] >= MAX_AGE:
            since = now - durations.seconds(self.config.flaky_window, "flaky_window")
            self._cache = (fp, now, quarantined_by_suite(self.store, since))
        return self._cache[2]

    def collect(self) -> Iterable[PromMetric]:
        from rq_obs.quarantine import listfile
        from rq_obs.quarantine.status import entry_state

        now = self.clock()
        try:
            entries = listfile.read(self.config.quarantine_file).entries
        except listfile.QuarantineFileError as exc:
            log.warning("quarantine list not published: %s", exc)
        else:
            fam = Family(M.QUARANTINE_ENTRIES, self.guard)
            counts = dict.fromkeys(KINDS, 0)
            for e in entries:
                counts[entry_state(e, now)] += 1
            for kind in KINDS:
                fam.add({"kind": kind}, counts[kind])
            yield fam.build()
        tests, absorbed = Family(M.QUARANTINED_TESTS, self.guard), Family(M.QUARANTINE_ABSORBED_FAILURES, self.guard)
        for suite, (n, failures) in sorted(self._by_suite(now).items()):
            tests.add({"suite": suite}, n)
            absorbed.add({"suite": suite}, failures)
        yield tests.build()
        yield absorbed.build()
