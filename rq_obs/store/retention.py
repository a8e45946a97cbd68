"""Retention: raw runs older than ``retention_days`` are pruned; running totals (counters) are kept."""

from __future__ import annotations

import logging
import threading
import time

from rq_obs.store.db import Store
from rq_obs.store.runs import prune

__all__ = ["apply_retention", "apply_retention_if_due", "Pruner"]

log = logging.getLogger("rq_obs.store")
DAY = 86400.0


def apply_retention(store: Store, retention_days: float, now: float | None = None) -> int:
    """Delete runs (with their attempts, API calls, file states) started before now − retention; count them."""
    cutoff = (time.time() if now is None else now) - retention_days * DAY
    pruned = prune(store, cutoff)
    if pruned:
        log.info("retention: pruned %d runs older than %g days (counters keep their totals)", pruned, retention_days)
    return pruned


def apply_retention_if_due(store: Store, retention_days: float, now: float | None = None) -> int:
    """:func:`apply_retention` only when the oldest run is older than the cutoff; count the runs pruned.

    The check is one lookup of ``MIN(started_at)`` on the ``runs_started`` index, so callers that end
    often (every pytest session) pay nothing when there is nothing to prune; the prune itself (which
    first folds the attempts not yet counted into the totals) runs only when a run has aged out.
    """
    now = time.time() if now is None else now
    oldest = store.query("SELECT MIN(started_at) FROM runs")[0][0]
    if oldest is None or oldest >= now - retention_days * DAY:
        return 0
    return apply_retention(store, retention_days, now)


class Pruner:
    """Applies retention now and then every ``interval`` seconds in a daemon thread until :meth:`stop`."""

    def __init__(self, store: Store, retention_days: float, interval: float = 3600.0):
        self.store, self.retention_days, self.interval = store, retention_days, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rq-obs-retention", daemon=True)

    def start(self) -> "Pruner":
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            try:
                apply_retention(self.store, self.retention_days)
            except Exception:  # noqa: BLE001 - retention must never stop the service
                log.exception("retention: pruning failed; will retry")
            finally:
                self.store.close()  # this thread's connection
            if self._stop.wait(self.interval):
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
