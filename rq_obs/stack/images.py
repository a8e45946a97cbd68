"""Pinned container images of the generated stack (never ``latest``).

Chosen 2026-11 from tags the projects published; bump them here and rebuild. Tempo stays on
2.x: Tempo 3 replaced the single-binary local-storage mode this stack uses with a Kafka-based
ingest path. Grafana 13 matches the ``@grafana/schema`` version the dashboards are checked with.
Prometheus and Alertmanager stay on the 2.x / 0.2x lines the tests run for real (Debian's
Prometheus 2.42 and Alertmanager 0.25; Alertmanager 0.28.1, the first with Teams Workflows
receivers, is built from its Go module for the Teams delivery test): Prometheus 3 changed
scrape-protocol negotiation and ``le`` label normalisation, which the rules and dashboards here
were not exercised against.
"""

from __future__ import annotations

from rq_obs.stack import distribution, jaeger

__all__ = ["IMAGES", "EXPORTER_BASE"]

IMAGES = {
    "grafana": "grafana/grafana:13.1.2",
    "prometheus": "prom/prometheus:v2.55.1",
    "tempo": "grafana/tempo:2.10.4",
    # The collector release of rq_obs.stack.distribution (the builder manifest) and Jaeger v2.12.0's.
    "otel-collector": f"otel/opentelemetry-collector-contrib:{distribution.RELEASE.removeprefix('v')}",
    "jaeger": f"jaegertracing/jaeger:{jaeger.IMAGE_VERSION}",
    "alertmanager": "prom/alertmanager:v0.28.1",  # >= 0.28: msteamsv2_configs (Teams Workflows)
}

#: Base image of the rq-obs exporter image.
EXPORTER_BASE = "python:3.11-slim"
