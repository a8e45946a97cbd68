"""Tempo configuration: single binary, OTLP in, local block storage, service graphs to Prometheus.

Field names follow Tempo 2.x's configuration reference (Tempo parses its file strictly, so
an unknown key stops it). The metrics-generator runs only the ``service-graphs`` processor:
span metrics come from the collector's spanmetrics connector, and Grafana's Tempo data source
draws the service map from these ``traces_service_graph_*`` series in Prometheus.
"""

from __future__ import annotations

from typing import Any

from rq_obs import durations
from rq_obs.config import Config

__all__ = ["PATH", "HTTP_PORT", "document", "render", "go_duration"]

PATH = "collector/tempo.yaml"
HTTP_PORT = 3200

_UNIT_HOURS = {"d": 24, "w": 24 * 7, "y": 24 * 365}


def go_duration(prom: str) -> str:
    """A Prometheus duration (``15d``) as a Go duration Tempo accepts (``360h``)."""
    m = durations.PATTERN.match(prom)
    if m is None:  # the config check already guarantees the format
        raise ValueError(f"not a Prometheus duration: {prom!r}")
    n, unit = int(m.group(1)), m.group(2)
    return f"{n * _UNIT_HOURS[unit]}h" if unit in _UNIT_HOURS else prom


def document(config: Config) -> dict[str, Any]:
    return {
        "stream_over_http_enabled": True,
        "server": {"http_listen_port": HTTP_PORT, "log_level": "info"},
        "distributor": {
            "receivers": {
                "otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}},
            },
        },
        # Traces are kept as long as the metrics that link to them (prometheus_retention).
        "compactor": {"compaction": {"block_retention": go_duration(config.prometheus_retention)}},
        "metrics_generator": {
            "registry": {"external_labels": {"source": "tempo"}},
            "storage": {
                "path": "/var/tempo/generator/wal",
                "remote_write": [{"url": "http://prometheus:9090/api/v1/write", "send_exemplars": True}],
            },
        },
        "storage": {
            "trace": {
                "backend": "local",
                "wal": {"path": "/var/tempo/wal"},
                "local": {"path": "/var/tempo/blocks"},
            },
        },
        "overrides": {"defaults": {"metrics_generator": {"processors": ["service-graphs"]}}},
    }


def render(config: Config) -> str:
    from rq_obs.stack.render import render_yaml

    return render_yaml(document(config), comments=(
        "Grafana Tempo (single binary): OTLP from the collector on :4317, query API on :3200,",
        "local block storage under /var/tempo (named volume), service-graph metrics remote-written",
        "to Prometheus (which runs with --web.enable-remote-write-receiver).",
    ))
