"""Grafana dashboards generated with grafanalib: one module per audience."""

from __future__ import annotations

from rq_obs.config import Config

__all__ = ["artifacts"]


def artifacts(config: Config) -> dict[str, str]:
    """{"dashboards/<name>.json": json text} for every dashboard."""
    return {}
