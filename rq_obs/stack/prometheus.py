"""Prometheus configuration: scrape jobs, rule files, Alertmanager, optional remote_write (:mod:`.remote_write`).

Retention is not part of this file: it is the ``--storage.tsdb.retention.time`` flag in the
compose command (:func:`flags`). Job names are :data:`JOBS`, plus :data:`APP_JOB` for the apps
instrumented by ``rq-obs instrument apply`` that ``app_targets`` lists; dashboards and rules may
select on them (``job`` label in the catalogue).
"""

from __future__ import annotations

from typing import Any

from rq_obs.config import Config

__all__ = ["PATH", "JOBS", "APP_JOB", "DEFAULT_METRICS_PATH", "RULES_GLOB", "PORT", "document", "render", "flags",
           "app_static_configs"]

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
    "tempo": "tempo:3200",               # trace_backend = "tempo"
    "jaeger": "jaeger:8888",             # trace_backend = "jaeger": its own (collector) telemetry
    "alertmanager": "alertmanager:9093",  # only when config.alertmanager
}

#: Scrape job of the instrumented apps (``app_targets``); only present when there are targets.
APP_JOB = "apps"
DEFAULT_METRICS_PATH = "/metrics"


def app_static_configs(targets: list[str]) -> list[dict[str, Any]]:
    """``host:port[/path]`` entries -> one static config per metrics path (``__metrics_path__`` when not
    /metrics), targets sorted and deduplicated, so the output does not depend on the list's order."""
    by_path: dict[str, set[str]] = {}
    for t in targets:
        address, slash, path = t.partition("/")
        by_path.setdefault(slash + path if path else DEFAULT_METRICS_PATH, set()).add(address)
    groups: list[dict[str, Any]] = []
    for path in sorted(by_path, key=lambda p: (p != DEFAULT_METRICS_PATH, p)):
        group: dict[str, Any] = {"targets": sorted(by_path[path])}
        if path != DEFAULT_METRICS_PATH:
            group["labels"] = {"__metrics_path__": path}
        groups.append(group)
    return groups


def document(config: Config) -> dict[str, Any]:
    skip = {"tempo", "jaeger"} - {config.trace_backend}
    jobs = [j for j in JOBS if (config.alertmanager or j != "alertmanager") and j not in skip]
    doc: dict[str, Any] = {
        "global": {
            "scrape_interval": config.scrape_interval,
            "evaluation_interval": config.evaluation_interval,
            "external_labels": {"stack": "rq-obs"},
        },
        "rule_files": [RULES_GLOB],
        "scrape_configs": [{"job_name": j, "static_configs": [{"targets": [JOBS[j]]}]} for j in jobs],
    }
    if config.app_targets:
        doc["scrape_configs"].append({"job_name": APP_JOB, "static_configs": app_static_configs(config.app_targets)})
    if config.alertmanager:
        doc["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [JOBS["alertmanager"]]}]}]}
    if config.remote_write_url:
        from rq_obs.stack import remote_write

        doc["remote_write"] = [remote_write.prometheus_entry(config)]
    return doc


def flags(config: Config) -> list[str]:
    """Command-line flags of the Prometheus container."""
    return [
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/prometheus",
        f"--storage.tsdb.retention.time={config.prometheus_retention}",
        # no --web.enable-lifecycle: nobody may stop or reload Prometheus over HTTP (restart the container instead)
        "--web.enable-remote-write-receiver",  # Tempo's service-graph metrics; the port is bound to bind_address
        "--enable-feature=exemplar-storage",  # spanmetrics exemplars -> trace links in Grafana
    ]


def render(config: Config) -> str:
    from rq_obs.stack.render import render_yaml

    apps = (f"Job {APP_JOB}: the instrumented apps in app_targets ({len(set(config.app_targets))})." if config.app_targets
            else f"No job {APP_JOB}: app_targets is empty (list host:port of apps instrumented by rq-obs instrument apply).")
    return render_yaml(document(config), comments=(
        "Prometheus: scrapes rq-obs serve, the collector (spanmetrics :8889, own metrics :8888), Tempo,",
        "itself" + (" and Alertmanager; sends alerts to alertmanager:9093" if config.alertmanager else "") + ".",
        apps,
        f"Rules: every rules/*.yml (mounted at /etc/prometheus/rules). Retention ({config.prometheus_retention}) "
        "is the --storage.tsdb.retention.time flag in docker-compose.yml.",
    ))
