"""Jaeger v2 configuration (``trace_backend = "jaeger"``): OTLP in, in-memory trace store, query API/UI.

Jaeger v2 is itself an OpenTelemetry Collector distribution; its config has the collector's shape
with Jaeger's extensions. Field names follow ``cmd/jaeger/config.yaml`` of Jaeger v1.75.0 / v2.12.0
(``jaeger_storage`` backends, ``jaeger_query`` with ``storage.traces`` and ``http``/``grpc``
servers, the ``jaeger_storage_exporter``). Traces are kept in memory, up to :data:`MAX_TRACES`
(the newest ones): enough for a team's test runs, lost when Jaeger restarts (the store, not Jaeger,
is rq-obs' source of truth; a durable Jaeger needs its Badger/Elasticsearch storage).

The tests and ``rq-obs demo`` run the same document with :func:`document`'s ``listen``/``ports``
pointing at free loopback ports.
"""

from __future__ import annotations

from typing import Any, Mapping

from rq_obs.config import Config

__all__ = ["PATH", "VERSION", "MODULE", "PORTS", "MAX_TRACES", "document", "render"]

PATH = "collector/jaeger.yaml"
#: The Jaeger release: Go module version (v1.x) and the matching v2 image/binary version.
VERSION = "v1.75.0"
IMAGE_VERSION = "2.12.0"
MODULE = "github.com/jaegertracing/jaeger/cmd/jaeger"
#: Ports inside the Jaeger container: OTLP in, the query API and UI (HTTP) and its gRPC, own metrics, health.
PORTS = {"otlp_grpc": 4317, "otlp_http": 4318, "query_http": 16686, "query_grpc": 16685,
         "telemetry": 8888, "health": 13133}
MAX_TRACES = 100000

_STORE = "traces"


def document(config: Config, *, listen: str = "0.0.0.0", ports: Mapping[str, int] = PORTS) -> dict[str, Any]:
    def at(name: str) -> dict[str, str]:
        return {"endpoint": f"{listen}:{ports[name]}"}

    return {
        "receivers": {"otlp": {"protocols": {"grpc": at("otlp_grpc"), "http": at("otlp_http")}}},
        "processors": {"batch": {}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": _STORE}},
        "extensions": {
            "jaeger_storage": {"backends": {_STORE: {"memory": {"max_traces": MAX_TRACES}}}},
            "jaeger_query": {"storage": {"traces": _STORE}, "http": at("query_http"), "grpc": at("query_grpc")},
            "healthcheckv2": {"use_v2": True, "http": at("health")},
        },
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query", "healthcheckv2"],
            "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["batch"],
                                     "exporters": ["jaeger_storage_exporter"]}},
            "telemetry": {
                "resource": {"service.name": "jaeger"},
                "metrics": {"level": "normal", "readers": [
                    {"pull": {"exporter": {"prometheus": {"host": listen, "port": ports["telemetry"]}}}}]},
            },
        },
    }


def render(config: Config) -> str:
    from rq_obs.stack.render import render_yaml

    return render_yaml(document(config), comments=(
        f"Jaeger v2 ({MODULE}@{VERSION}, image jaegertracing/jaeger:{IMAGE_VERSION}): OTLP from the collector",
        f"on :4317, query API and UI on :{PORTS['query_http']}, traces in memory (the newest {MAX_TRACES}).",
    ))
