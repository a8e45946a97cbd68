"""Cardinality caps enforced at ingest: what reaches the running totals (and so /metrics) is bounded.

Every counter series on /metrics is a row of ``totals``, written when pushed attempts are folded
(:mod:`rq_obs.store.totals`). :class:`Gate` sits on that write: a label value not seen before is admitted
while its label has fewer than :data:`rq_obs.catalog.CAPS` distinct values (globally, not per suite), else
it becomes :data:`~rq_obs.catalog.OTHER`; and once ``totals`` holds ``max_series`` series, a new series has
every capped label folded into ``OTHER`` (so it joins an existing overflow series). Each folded value is
counted per label (published as ``rqobs_cardinality_capped_total{label}``; ``series`` for the total cap).

Gated writes: the fold (every attempt and API call, pushed or local), ``save_run`` (a pushed run's run counter
and tracked files) and ``prune``. The pytest plugin's own run row (``begin_run``/``finish_run``: one suite,
the project's) is not gated, so a test session never pays for learning the gate (one read of ``totals``).

The raw attempts keep their real values (the store answers questions about one test); only the aggregates
are capped. The gate belongs to a :class:`~rq_obs.store.db.Store` (:func:`gate_for`) and learns the values
and series already stored with one read of ``totals`` on first use.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict

from rq_obs.catalog import CAPS, OTHER
from rq_obs.store.db import Store

__all__ = ["Gate", "gate_for", "configure", "DEFAULT_MAX_SERIES"]

DEFAULT_MAX_SERIES = 50_000
_LOCK = threading.Lock()


class Gate:
    def __init__(self, caps: dict[str, int], max_series: int):
        self.caps = dict(caps)
        self.max_series = max_series
        self.values: dict[str, set[str]] = defaultdict(set)
        self.series: set[tuple[str, tuple]] = set()
        self.capped: dict[str, int] = defaultdict(int)
        self.loaded = False
        self._lock = threading.Lock()

    def load(self, conn) -> None:
        """Learn the series and label values already in ``totals`` (once)."""
        if self.loaded:
            return
        for metric, text in conn.execute("SELECT metric, labels FROM totals"):
            items = tuple(sorted(json.loads(text).items()))
            self.series.add((metric, items))
            for name, value in items:
                if name in self.caps:
                    self.values[name].add(value)
        self.loaded = True

    def admit(self, series: str, items: tuple) -> tuple:
        """The label items to store ``series`` under: ``items`` with values over a cap folded into OTHER."""
        key = (series, items)
        if key in self.series:
            return items
        with self._lock:
            out = []
            for name, value in items:
                cap = self.caps.get(name)
                if cap is not None and value != OTHER:
                    seen = self.values[name]
                    if value not in seen:
                        if len(seen) >= cap:
                            self.capped[name] += 1
                            value = OTHER
                        else:
                            seen.add(value)
                out.append((name, value))
            items = tuple(out)
            if (series, items) not in self.series and len(self.series) >= self.max_series:
                folded = tuple((n, OTHER if n in self.caps else v) for n, v in items)
                if folded != items:
                    self.capped["series"] += 1
                    items = folded
            self.series.add((series, items))
            return items


def gate_for(store: Store) -> Gate:
    """The store's gate (catalogue caps, :data:`DEFAULT_MAX_SERIES` unless :func:`configure` said otherwise)."""
    gate = getattr(store, "cardinality_gate", None)
    if gate is None:
        with _LOCK:
            gate = getattr(store, "cardinality_gate", None)
            if gate is None:
                gate = store.cardinality_gate = Gate(CAPS, DEFAULT_MAX_SERIES)
    return gate


def configure(store: Store, max_series: int, caps: dict[str, int] | None = None) -> Gate:
    """Set the store's gate from the config (``max_series``); values already learned are kept."""
    gate = gate_for(store)
    gate.max_series = max_series
    if caps is not None:
        gate.caps = dict(caps)
    return gate
