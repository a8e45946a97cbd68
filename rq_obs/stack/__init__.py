"""The deployment stack: collector, Tempo, Prometheus, Grafana provisioning, exporter image, compose."""

from __future__ import annotations

from rq_obs.config import Config

__all__ = ["artifacts"]


def artifacts(config: Config) -> dict[str, str]:
    """{"collector/otelcol.yaml": ..., "docker-compose.yml": ..., ...}."""
    return {}
