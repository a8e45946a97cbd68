"""What every rq-obs collector shares: catalogue-driven metric families and cardinality caps.

A collector is any object with ``name`` and ``collect() -> Iterable[prometheus_client Metric]``
(prometheus_client's collector protocol), built with a store and a config, registered
on a fresh ``CollectorRegistry`` by the server. Collectors never raise during a scrape:
the server wraps each one, logs the failure and counts it in ``rqobs_scrape_errors_total``.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Iterable, Mapping, Protocol, Sequence

from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily,
                                    InfoMetricFamily)
from prometheus_client.metrics_core import Metric as PromMetric

from rq_obs.catalog import OTHER, M, Metric

__all__ = ["Collector", "Family", "LabelGuard"]

log = logging.getLogger("rq_obs.exporters")


class Collector(Protocol):
    name: str

    def collect(self) -> Iterable[PromMetric]: ...


class LabelGuard:
    """Applies the config's cardinality caps; every value it folds or truncates is counted and logged once.

    ``max_values`` caps distinct values of the ``test`` label per suite (``max_tests_per_suite``)
    and ``max_length`` truncates any label value. Counts are exposed as
    ``rqobs_cardinality_capped_total{label}``.
    """

    def __init__(self, max_values: int, max_length: int):
        self.max_values = max_values
        self.max_length = max_length
        self.capped: dict[str, int] = defaultdict(int)
        self._seen: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._lock = threading.Lock()
        self._logged: set[str] = set()

    def _note(self, label: str, why: str) -> None:
        self.capped[label] += 1
        if label not in self._logged:
            self._logged.add(label)
            log.warning("cardinality cap hit for label %r: %s (counted in %s)", label, why, M.CARDINALITY_CAPPED.total)

    def value(self, label: str, value: str, scope: str = "") -> str:
        """The value to publish for ``label``; ``scope`` groups the per-value cap (e.g. the suite)."""
        value = str(value)
        if len(value) > self.max_length:
            self._note(label, f"value longer than {self.max_length} characters truncated")
            value = value[: self.max_length]
        if label == "test":
            with self._lock:
                seen = self._seen[(label, scope)]
                if value not in seen:
                    if len(seen) >= self.max_values:
                        self._note(label, f"more than {self.max_values} values per suite; rest folded into {OTHER}")
                        return OTHER
                    seen.add(value)
        return value

    def reset_scrape(self) -> None:
        """Call at the start of a scrape: the per-value cap is per exposition."""
        with self._lock:
            self._seen.clear()


class Family:
    """A catalogue metric being filled for one scrape: ``add({label: value}, value)``.

    Label values pass through the guard; values for the same label set (after folding)
    are summed for counters and histograms and last-wins for gauges.

    ``created`` (counters and histograms) is when the stored series was first written (None:
    unknown, i.e. old); a series folded from several keeps the earliest. ``build(new_after=t)``
    shows every series first written after ``t`` as 0 (a histogram: all its buckets, sum and
    count), so Prometheus scrapes a 0 before the series' first value and increase()/rate()
    count the whole first increment.
    """

    def __init__(self, metric: Metric, guard: LabelGuard | None = None):
        self.metric = metric
        self.guard = guard
        self._values: dict[tuple[str, ...], float] = {}
        self._hist: dict[tuple[str, ...], dict[str, float]] = {}
        self._hist_sum: dict[tuple[str, ...], float] = {}
        self._created: dict[tuple[str, ...], float | None] = {}

    def _key(self, labels: Mapping[str, str]) -> tuple[str, ...]:
        scope = str(labels.get("suite", ""))
        out = []
        for name in self.metric.labels:
            v = str(labels.get(name, ""))
            out.append(self.guard.value(name, v, scope) if self.guard else v)
        return tuple(out)

    def _note_created(self, key: tuple[str, ...], created: float | None) -> None:
        if key not in self._created:
            self._created[key] = created
        else:
            have = self._created[key]
            if have is not None and (created is None or created < have):
                self._created[key] = created

    def add(self, labels: Mapping[str, str], value: float, created: float | None = None) -> None:
        key = self._key(labels)
        self._note_created(key, created)
        if self.metric.type == "counter":
            self._values[key] = self._values.get(key, 0.0) + value
        else:
            self._values[key] = value

    def add_histogram(self, labels: Mapping[str, str], buckets: Mapping[str, float], sum_value: float,
                      created: float | None = None) -> None:
        """``buckets``: cumulative counts keyed by ``le`` text (including ``+Inf``)."""
        key = self._key(labels)
        self._note_created(key, created)
        acc = self._hist.setdefault(key, {})
        for le, n in buckets.items():
            acc[le] = acc.get(le, 0.0) + n
        self._hist_sum[key] = self._hist_sum.get(key, 0.0) + sum_value

    def __len__(self) -> int:
        return len(self._values) + len(self._hist)

    def _new(self, key: tuple[str, ...], new_after: float | None) -> bool:
        created = self._created.get(key)
        return new_after is not None and created is not None and created > new_after

    def build(self, new_after: float | None = None) -> PromMetric:
        m = self.metric
        labels = list(m.labels)
        if m.type == "counter":
            fam = CounterMetricFamily(m.name, m.help, labels=labels)
            for key, v in sorted(self._values.items()):
                fam.add_metric(list(key), 0.0 if self._new(key, new_after) else v)
        elif m.type == "gauge":
            fam = GaugeMetricFamily(m.name, m.help, labels=labels)
            for key, v in sorted(self._values.items()):
                fam.add_metric(list(key), v)
        elif m.type == "info":
            fam = InfoMetricFamily(m.name, m.help, labels=[])
            for key in sorted(self._values):
                fam.add_metric([], dict(zip(labels, key)))
        else:
            fam = HistogramMetricFamily(m.name, m.help, labels=labels)
            order = [repr(float(b)) for b in m.buckets] + ["+Inf"]
            for key in sorted(self._hist):
                acc = self._hist[key]
                new = self._new(key, new_after)
                cumulative, points = 0.0, []
                for le in order:  # a bucket never seen carries the count of the one below it
                    cumulative = max(cumulative, acc.get(le, cumulative))
                    points.append((le, 0.0 if new else cumulative))
                fam.add_metric(list(key), points, sum_value=0.0 if new else self._hist_sum[key])
        return fam


def families(metrics: Sequence[Metric], guard: LabelGuard | None = None) -> dict[str, Family]:
    return {m.name: Family(m, guard) for m in metrics}
