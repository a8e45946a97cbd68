"""Recording and alerting rules: one definition, rendered for Prometheus and for Grafana.

:mod:`rq_obs.rules.definitions` holds the rules (PromQL built from the catalogue,
thresholds from the config); :mod:`rq_obs.rules.prometheus` and
:mod:`rq_obs.rules.grafana` render them.
"""

from __future__ import annotations

from rq_obs.config import Config

__all__ = ["artifacts"]


def artifacts(config: Config) -> dict[str, str]:
    """{"rules/...": yaml, "grafana/provisioning/alerting/...": yaml}."""
    from rq_obs.rules import grafana, prometheus

    return {**prometheus.render(config), **grafana.render(config)}
