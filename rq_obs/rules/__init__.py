"""Recording and alerting rules: one definition, rendered for Prometheus and for Grafana."""

from __future__ import annotations

from rq_obs.config import Config

__all__ = ["artifacts"]


def artifacts(config: Config) -> dict[str, str]:
    """{"rules/...": yaml, "grafana/provisioning/alerting/...": yaml}."""
    return {}
