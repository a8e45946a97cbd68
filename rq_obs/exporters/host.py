"""Host metrics (``exporter="host"``): psutil readings through the OpenTelemetry SDK.

A private ``MeterProvider`` (never the global one) has observable gauges whose callbacks
read psutil; ``opentelemetry-exporter-prometheus``'s ``PrometheusMetricReader`` turns them
into Prometheus families. The reader is given a private ``CollectorRegistry`` (not
prometheus_client's global ``REGISTRY``) which this collector reads on every scrape, with
``target_info`` and the ``otel_scope_*`` labels disabled, so the output is exactly the
catalogue's ``M.HOST_*`` series.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from prometheus_client.metrics_core import Metric as PromMetric

from rq_obs.catalog import M, Metric

__all__ = ["HostCollector", "collector"]

#: catalogue unit -> UCUM unit the exporter maps back to the same Prometheus suffix.
_UCUM = {"bytes": "By", "ratio": "1", "seconds": "s", "": ""}


class HostCollector:
    name = "host"

    def __init__(self, disk_path: str | os.PathLike):
        import psutil
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from opentelemetry.metrics import CallbackOptions, Observation
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.resources import Resource
        from prometheus_client import CollectorRegistry

        self._registry = CollectorRegistry(auto_describe=False)
        self._reader = PrometheusMetricReader(disable_target_info=True, scope_info_enabled=False,
                                              registry=self._registry)
        self._provider = MeterProvider(metric_readers=[self._reader], resource=Resource.get_empty())
        meter = self._provider.get_meter("rq_obs.exporters.host")
        disk = Path(disk_path)
        psutil.cpu_percent(interval=None)  # the first reading is meaningless; prime it

        def gauge(metric: Metric, read) -> None:
            def callback(options: CallbackOptions) -> Iterable[Observation]:
                yield Observation(read())

            meter.create_observable_gauge(metric.name, callbacks=[callback], unit=_UCUM[metric.unit],
                                          description=metric.help)

        gauge(M.HOST_CPU, lambda: psutil.cpu_percent(interval=None) / 100.0)
        gauge(M.HOST_MEMORY_USED, lambda: psutil.virtual_memory().used)
        gauge(M.HOST_DISK_USED, lambda: psutil.disk_usage(str(disk)).used)

    def collect(self) -> Iterable[PromMetric]:
        return list(self._registry.collect())

    def close(self) -> None:
        self._provider.shutdown()


def collector(store, config, guard) -> HostCollector:
    return HostCollector(store.path.parent)
