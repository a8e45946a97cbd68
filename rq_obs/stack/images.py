"""Pinned container images of the generated stack (never ``latest``).

Chosen 2026-11 from tags the projects published; bump them here and rebuild. Tempo stays on
2.x: Tempo 3 replaced the single-binary local-storage mode this stack uses with a Kafka-based
ingest path. Grafana 13 matches the ``@grafana/schema`` version the dashboards are checked with.
"""

from __future__ import annotations

__all__ = ["IMAGES", "EXPORTER_BASE"]

IMAGES = {
    "grafana": "grafana/grafana:13.1.2",
    "prometheus": "prom/prometheus:v3.12.0",
    "tempo": "grafana/tempo:2.10.4",
    "otel-collector": "otel/opentelemetry-collector-contrib:0.147.0",
    "alertmanager": "prom/alertmanager:v0.28.1",
}

#: Base image of the rq-obs exporter image.
EXPORTER_BASE = "python:3.11-slim"
