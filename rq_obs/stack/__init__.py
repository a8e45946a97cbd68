"""The deployment stack: collector, Tempo, Prometheus, Grafana provisioning, exporter image, compose.

:func:`artifacts` returns every generated file of this area; one module per component
(:mod:`.collector` and its builder manifest :mod:`.distribution`, :mod:`.tempo` or :mod:`.jaeger`, :mod:`.prometheus`, :mod:`.alertmanager`, :mod:`.grafana`,
:mod:`.exporter`, :mod:`.compose`), pinned images in :mod:`.images`, the YAML renderer in
:mod:`.render`, the checks behind ``rq-obs validate`` in :mod:`.validate` (Dockerfile COPY/ADD
sources in :mod:`.dockerfile`), and the exporter image's rq-obs wheel (``rq-obs stack wheel``,
not a generated file) in :mod:`.wheel`. Remote write settings are :mod:`.remote_write`; the Kubernetes
rendering of the same files (a Helm chart, ``rq-obs build --target kubernetes``) is :mod:`.kubernetes`.
"""

from __future__ import annotations

from rq_obs.config import Config

__all__ = ["artifacts"]


def artifacts(config: Config) -> dict[str, str]:
    """{relative path: text} for collector/, grafana/provisioning/ (not alerting/), exporters/, docker-compose.yml."""
    from rq_obs.stack import alertmanager, collector, compose, distribution, exporter, grafana, jaeger, prometheus, tempo

    files = {
        collector.PATH: collector.render(config),
        distribution.PATH: distribution.render(config),
        **({jaeger.PATH: jaeger.render(config)} if config.trace_backend == "jaeger" else {tempo.PATH: tempo.render(config)}),
        prometheus.PATH: prometheus.render(config),
        grafana.DATASOURCES_PATH: grafana.render_datasources(config),
        grafana.DASHBOARDS_PATH: grafana.render_dashboard_provider(config),
        exporter.DOCKERFILE: exporter.render_dockerfile(config),
        exporter.DOCKERIGNORE: exporter.render_dockerignore(config),
        exporter.GITIGNORE: exporter.render_gitignore(config),
        exporter.CONFIG_PATH: exporter.render_config(config),
        compose.PATH: compose.render(config),
    }
    if config.alertmanager:
        files[alertmanager.PATH] = alertmanager.render(config)
    return files
