"""Prometheus configuration: scrape jobs, rule files, Alertmanager, optional remote_write.

Retention is not part of this file: it is the ``--storage.tsdb.retention.time`` flag in the
compose command (:func:`flags`). Job names are :data:`JOBS`; dashboards and rules may select
on them (``job`` label in the catalogue).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from rq_obs.config import Config
from rq_obs.errors import ConfigError

__all__ = ["PATH", "JOBS", "RULES_GLOB", "PORT", "document", "render", "flags"]

PATH = "collector/prometheus.yml"
PORT = 9090

#: Where ./rules is mounted in the Prometheus container. The glob matching nothing is harmless.
RULES_GLOB = "/etc/prometheus/rules/*.yml"

#: Scrape job name -> target (host:port inside the compose network).
JOBS = {
    "rq-obs": "rq-obs:9464",            # rq-obs serve: store, analytics, release, host metrics
    "spanmetrics": "otel-collector:8889",  # collector prometheus exporter: spanmetrics
    "otelcol": "otel-collector:8888",     # collector internal telemetry
    "prometheus": "localhost:9090",
    "tempo": "tempo:3200",
    "alertmanager": "alertmanager:9093",  # only when config.alertmanager
}


def _remote_write_url(config: Config) -> str:
    url = config.remote_write_url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"remote_write_url is {url!r}; expected an http(s) URL such as "
                          "http://mimir:9009/api/v1/push")
    if parts.username or parts.password:
        raise ConfigError("remote_write_url contains credentials; generated files never hold secrets — give the "
                          "URL without user:password and add basic_auth with password_file to prometheus.yml by hand")
    return url


def document(config: Config) -> dict[str, Any]:
    jobs = [j for j in JOBS if config.alertmanager or j != "alertmanager"]
    doc: dict[str, Any] = {
        "global": {
            "scrape_interval": config.scrape_interval,
            "evaluation_interval": config.evaluation_interval,
            "external_labels": {"stack": "rq-obs"},
        },
        "rule_files": [RULES_GLOB],
        "scrape_configs": [{"job_name": j, "static_configs": [{"targets": [JOBS[j]]}]} for j in jobs],
    }
    if config.alertmanager:
        doc["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [JOBS["alertmanager"]]}]}]}
    if config.remote_write_url:
        doc["remote_write"] = [{"url": _remote_write_url(config), "send_exemplars": True}]
    return doc


def flags(config: Config) -> list[str]:
    """Command-line flags of the Prometheus container."""
    return [
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/prometheus",
        f"--storage.tsdb.retention.time={config.prometheus_retention}",
        "--web.enable-lifecycle",
        "--web.enable-remote-write-receiver",  # Tempo's service-graph metrics
        "--enable-feature=exemplar-storage",  # spanmetrics exemplars -> trace links in Grafana
    ]


def render(config: Config) -> str:
    from rq_obs.stack.render import render_yaml

    return render_yaml(document(config), comments=(
        "Prometheus: scrapes rq-obs serve, the collector (spanmetrics :8889, own metrics :8888), Tempo,",
        "itself" + (" and Alertmanager; sends alerts to alertmanager:9093" if config.alertmanager else "") + ".",
        f"Rules: every rules/*.yml (mounted at /etc/prometheus/rules). Retention ({config.prometheus_retention}) "
        "is the --storage.tsdb.retention.time flag in docker-compose.yml.",
    ))
