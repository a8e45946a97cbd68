"""OpenTelemetry Collector (contrib) configuration: OTLP in, Tempo + spanmetrics out.

Field names follow the collector-contrib READMEs of the pinned release
(``otel/opentelemetry-collector-contrib``, see :mod:`rq_obs.stack.images`): the OTLP
receiver, ``memory_limiter`` and ``batch`` processors, the ``spanmetrics`` connector, the
``otlp`` exporter (to the trace backend: Tempo, or Jaeger v2 with ``trace_backend = "jaeger"``;
renamed ``otlp_grpc`` in releases after the pinned one), the ``prometheus`` exporter and the
``health_check`` extension. The pinned release is :data:`rq_obs.stack.distribution.RELEASE`, the
one the builder manifest (``collector/builder-config.yaml``) and the contrib image use.

What Prometheus sees from the spanmetrics connector (namespace ``traces.span.metrics``,
histogram unit ``s``, translated by the Prometheus exporter with unit and type suffixes):

* ``traces_span_metrics_calls_total`` (counter)            = ``catalog.M.SPAN_CALLS``
* ``traces_span_metrics_duration_seconds_bucket/_sum/_count`` = ``catalog.M.SPAN_DURATION``

with labels ``service_name``, ``span_name``, ``span_kind``, ``status_code`` plus one per
:data:`DIMENSIONS` entry (dots become underscores). :func:`spanmetrics_series` derives these
names from a config document; a test checks them against the catalogue.
"""

from __future__ import annotations

from typing import Any, Mapping

from rq_obs.config import Config

__all__ = ["PATH", "NAMESPACE", "DIMENSIONS", "DEFAULT_DIMENSIONS", "PORTS", "CARDINALITY_LIMIT", "document",
           "render", "spanmetrics_series", "trace_exporter", "localize"]

PATH = "collector/otelcol.yaml"

#: spanmetrics namespace; the Prometheus exporter turns it into the ``traces_span_metrics_`` prefix.
NAMESPACE = "traces.span.metrics"

#: Dimensions the connector always adds.
DEFAULT_DIMENSIONS = ("service.name", "span.name", "span.kind", "status.code")

#: Extra dimensions: OpenTelemetry semantic-convention test attributes that test spans carry.
#: A span without one of them has no such label (no default is set), so other services' spans
#: stay unlabelled instead of gaining a fake value.
DIMENSIONS = ("test.suite.name", "test.case.result.status")

#: Ports inside the collector container.
PORTS = {"otlp_grpc": 4317, "otlp_http": 4318, "prometheus": 8889, "telemetry": 8888, "health": 13133}

#: spanmetrics' cap on series per metric (its ``aggregation_cardinality_limit``); beyond it new
#: attribute sets are counted in one ``otel.metric.overflow="true"`` series instead of new ones.
CARDINALITY_LIMIT = 10000

#: Trace backend -> its OTLP gRPC endpoint in the stack (compose service names).
_BACKEND_ENDPOINTS = {"tempo": "tempo:4317", "jaeger": "jaeger:4317"}


def trace_exporter(config: Config) -> str:
    """The component id of the exporter that sends traces to the configured backend."""
    return f"otlp/{config.trace_backend}"


#: Span duration buckets (seconds): tests run from milliseconds to many minutes.
_BUCKETS = ("5ms", "10ms", "25ms", "50ms", "100ms", "250ms", "500ms", "1s", "2500ms", "5s", "10s", "30s",
            "1m", "2m", "5m", "10m")


def document(config: Config) -> dict[str, Any]:
    """The collector configuration as a mapping."""
    listen = "0.0.0.0"
    return {
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"{listen}:{PORTS['otlp_grpc']}"},
                    "http": {"endpoint": f"{listen}:{PORTS['otlp_http']}"},
                },
            },
        },
        "processors": {
            # First in every pipeline: refuse data before the container runs out of memory.
            "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 20},
            "batch": {"send_batch_size": 1024, "timeout": "5s"},
        },
        "connectors": {
            "spanmetrics": {
                "namespace": NAMESPACE,
                "histogram": {"unit": "s", "explicit": {"buckets": list(_BUCKETS)}},
                "dimensions": [{"name": d} for d in DIMENSIONS],
                "aggregation_cardinality_limit": CARDINALITY_LIMIT,
                # Every test run is its own process with its own service.instance.id (as SDKs make it):
                # keyed on all resource attributes, each run would start new series that appear once
                # (invisible to rate()) and grow without bound. Keyed on service.name, runs add to one
                # series per test; the resource labels (job/instance) are those of the first run seen.
                "resource_metrics_key_attributes": ["service.name"],
                "exemplars": {"enabled": True},
                "metrics_flush_interval": config.scrape_interval,
                "aggregation_temporality": "AGGREGATION_TEMPORALITY_CUMULATIVE",
            },
        },
        "exporters": {
            trace_exporter(config): {"endpoint": _BACKEND_ENDPOINTS[config.trace_backend], "tls": {"insecure": True}},
            "prometheus": {
                "endpoint": f"{listen}:{PORTS['prometheus']}",
                # Exemplars (trace_id -> Tempo) are only exposed in the OpenMetrics format.
                "enable_open_metrics": True,
                # resource_to_telemetry_conversion stays off (its default; the key is deprecated):
                # resource attributes go to target_info, and spanmetrics already puts
                # service.name on every point, so copying them all would only add cardinality.
            },
        },
        "extensions": {
            "health_check": {"endpoint": f"{listen}:{PORTS['health']}"},
        },
        "service": {
            "extensions": ["health_check"],
            "telemetry": {
                "metrics": {
                    "level": "normal",
                    "readers": [{"pull": {"exporter": {"prometheus": {"host": listen, "port": PORTS["telemetry"]}}}}],
                },
            },
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter", "batch"],
                    "exporters": [trace_exporter(config), "spanmetrics"],
                },
                "metrics": {
                    "receivers": ["spanmetrics"],
                    "exporters": ["prometheus"],
                },
            },
        },
    }


def render(config: Config) -> str:
    from rq_obs.stack import distribution
    from rq_obs.stack.distribution import RELEASE
    from rq_obs.stack.render import render_yaml

    calls, duration, labels = spanmetrics_series(document(config))
    return render_yaml(document(config), comments=(
        f"OpenTelemetry Collector {RELEASE} (contrib image, or the rq-obs build of {distribution.PATH}):",
        f"OTLP gRPC :4317 and HTTP :4318 in; traces to {config.trace_backend.capitalize()};",
        "span metrics to Prometheus via the prometheus exporter on :8889 (OpenMetrics, with exemplars);",
        "the collector's own metrics on :8888; health_check on :13133.",
        f"spanmetrics produces {calls} and {duration}_bucket/_sum/_count",
        f"with labels {', '.join(labels)}.",
    ))


def _prom(name: str) -> str:
    return name.replace(".", "_")


def spanmetrics_series(doc: Mapping[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    """(calls counter sample name, duration histogram family name, label names) as Prometheus sees them.

    Mirrors the prometheus exporter's default translation: dots to underscores, ``_total`` on
    counters, the unit suffix (``s`` -> ``_seconds``, ``ms`` -> ``_milliseconds``) on histograms.
    """
    conn = doc["connectors"]["spanmetrics"]
    prefix = _prom(conn.get("namespace", NAMESPACE))
    unit = conn.get("histogram", {}).get("unit", "ms")
    suffix = {"s": "_seconds", "ms": "_milliseconds"}[unit]
    dims = [d["name"] for d in conn.get("dimensions", [])]
    excluded = set(conn.get("exclude_dimensions", []))
    labels = tuple(_prom(d) for d in (*DEFAULT_DIMENSIONS, *dims) if d not in excluded)
    return f"{prefix}_calls_total", f"{prefix}_duration{suffix}", labels


def localize(doc: Mapping[str, Any], ports: Mapping[str, int], trace_endpoint: str) -> dict[str, Any]:
    """A copy of ``doc`` for a collector run on this host: every listener on 127.0.0.1 at ``ports``
    (keys of :data:`PORTS`) and traces sent to ``trace_endpoint`` (host:port of the backend's OTLP gRPC).
    The tests and ``rq-obs demo`` run the generated pipeline this way, unchanged otherwise."""
    import copy

    out = copy.deepcopy(dict(doc))
    local = "127.0.0.1"
    protocols = out["receivers"]["otlp"]["protocols"]
    protocols["grpc"]["endpoint"] = f"{local}:{ports['otlp_grpc']}"
    protocols["http"]["endpoint"] = f"{local}:{ports['otlp_http']}"
    out["exporters"]["prometheus"]["endpoint"] = f"{local}:{ports['prometheus']}"
    for cid, exporter in out["exporters"].items():
        if cid.startswith("otlp/"):
            exporter["endpoint"] = trace_endpoint
    out["extensions"]["health_check"]["endpoint"] = f"{local}:{ports['health']}"
    reader = out["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]
    reader.update(host=local, port=ports["telemetry"])
    return out
