"""docker-compose.yml: the whole stack as one Compose application (Compose spec, no ``version:``).

Every service has a health check. Grafana, Prometheus, Alertmanager and the rq-obs image
have an HTTP client, so theirs probe the service's health endpoint. The Tempo and Collector
images ship only their binary (no shell, no wget/curl), so Docker can only run that binary:
their checks verify the mounted configuration (``tempo -config.verify``, ``otelcol-contrib
validate``); liveness of both shows as ``up{job="tempo"}`` / ``up{job="otelcol"}`` in Prometheus.

Secrets appear only as environment-variable references, never as values. The security settings (ports on
``bind_address``, non-root users, read-only root file systems, limits, Grafana's admin password from the
environment) are applied to every service in one place: :mod:`rq_obs.stack.hardening`.
"""

from __future__ import annotations

from typing import Any

from rq_obs import __version__
from rq_obs.config import Config
from rq_obs.notifications import LABELS, channels, webhook_env
from rq_obs.stack import alertmanager, exporter, jaeger, prometheus, tempo
from rq_obs.stack.grafana import DASHBOARDS_DIR, INFINITY_PLUGIN
from rq_obs.stack.hardening import GRAFANA_PASSWORD_ENV, harden
from rq_obs.stack.images import IMAGES

__all__ = ["PATH", "HOST_GATEWAY", "document", "render", "webhook_reference"]

PATH = "docker-compose.yml"
#: The host name an app_targets entry uses for an app on the Docker host (Prometheus gets it as an extra host).
HOST_GATEWAY = "host.docker.internal"

_COLLECTOR_CONFIG = "/etc/otelcol-contrib/config.yaml"
_TEMPO_CONFIG = "/etc/tempo/tempo.yaml"
_JAEGER_CONFIG = "/etc/jaeger/config.yaml"


def _jaeger_service(config: Config) -> dict[str, Any]:
    """Jaeger v2 in place of Tempo (``trace_backend = "jaeger"``); UI/API published on loopback."""
    port = jaeger.PORTS["query_http"]
    return {
        "image": IMAGES["jaeger"],
        "restart": "unless-stopped",
        "command": [f"--config={_JAEGER_CONFIG}"],
        "ports": [f"{port}:{port}"],  # bound to bind_address by hardening.harden like every service
        "volumes": [f"./{jaeger.PATH}:{_JAEGER_CONFIG}:ro"],
        # the image has no shell or HTTP client either: check the configuration like the collector's
        "healthcheck": _health(["CMD", "/cmd/jaeger/jaeger-linux", "validate", f"--config={_JAEGER_CONFIG}"]),
    }


def _health(test: list[str], start: str = "30s") -> dict[str, Any]:
    return {"test": test, "interval": "30s", "timeout": "5s", "retries": 5, "start_period": start}


def _http_probe(url: str) -> list[str]:
    return ["CMD", "wget", "-q", "-O", "/dev/null", url]


_WEBHOOK_KIND = {"slack": "the Slack incoming-webhook URL", "teams": "the Microsoft Teams Workflows webhook URL"}


def webhook_reference(config: Config, channel: str = "slack") -> str:
    """``${VAR:?message}``: Compose refuses to start without the webhook instead of dropping alerts."""
    var = webhook_env(config, channel)
    return "${" + var + ":?set " + var + " to " + _WEBHOOK_KIND[channel] + " (or build with alerts_to = none)}"


def _webhooks(config: Config) -> dict[str, str]:
    return {webhook_env(config, c): webhook_reference(config, c) for c in channels(config)}


def document(config: Config) -> dict[str, Any]:
    services: dict[str, Any] = {
        "grafana": {
            "image": IMAGES["grafana"],
            "restart": "unless-stopped",
            "ports": [f"{config.grafana_port}:3000"],
            "environment": {
                "GF_PATHS_PROVISIONING": "/etc/grafana/provisioning",
                "GF_USERS_ALLOW_SIGN_UP": "false",
                "GF_ANALYTICS_REPORTING_ENABLED": "false",
                "GF_DASHBOARDS_MIN_REFRESH_INTERVAL": "10s",
                # the Infinity data source of the test detail dashboard (rq-obs serve's JSON API), pinned
                "GF_PLUGINS_PREINSTALL_SYNC": INFINITY_PLUGIN,
                **_webhooks(config),
            },
            "volumes": [
                "./grafana/provisioning:/etc/grafana/provisioning:ro",
                f"./dashboards:{DASHBOARDS_DIR}:ro",
                "grafana-data:/var/lib/grafana",
            ],
            "healthcheck": _health(_http_probe("http://localhost:3000/api/health")),
            "depends_on": {"prometheus": {"condition": "service_healthy"},
                           "tempo": {"condition": "service_started"}},
        },
        "prometheus": {
            "image": IMAGES["prometheus"],
            "restart": "unless-stopped",
            "command": prometheus.flags(config),
            "ports": [f"{config.prometheus_port}:{prometheus.PORT}"],
            "volumes": [
                f"./{prometheus.PATH}:/etc/prometheus/prometheus.yml:ro",
                "./rules:/etc/prometheus/rules:ro",
                "prometheus-data:/prometheus",
            ],
            "healthcheck": _health(_http_probe(f"http://localhost:{prometheus.PORT}/-/healthy")),
        },
        "tempo": {
            "image": IMAGES["tempo"],
            "restart": "unless-stopped",
            "command": [f"-config.file={_TEMPO_CONFIG}"],
            "volumes": [f"./{tempo.PATH}:{_TEMPO_CONFIG}:ro", "tempo-data:/var/tempo"],
            "healthcheck": _health(["CMD", "/tempo", f"-config.file={_TEMPO_CONFIG}", "-config.verify"]),
        },
        "otel-collector": {
            "image": IMAGES["otel-collector"],
            "restart": "unless-stopped",
            "command": [f"--config={_COLLECTOR_CONFIG}"],
            "ports": ["4317:4317", "4318:4318"],
            "volumes": [f"./collector/otelcol.yaml:{_COLLECTOR_CONFIG}:ro"],
            "healthcheck": _health(["CMD", "/otelcol-contrib", "validate", f"--config={_COLLECTOR_CONFIG}"]),
            "depends_on": {"tempo": {"condition": "service_started"}},
        },
        "rq-obs": {
            # exporters/ only: the image needs the wheel and the config file, not the project around it.
            "build": {"context": f"./{exporter.CONTEXT}", "dockerfile": "Dockerfile"},
            "image": f"rq-obs-exporter:{__version__}",
            "restart": "unless-stopped",
            "ports": [f"{config.exporter_port}:{exporter.PORT}"],
            # The ingest token: only a reference, empty when unset (then pushes are refused).
            "environment": {"RQ_OBS_TOKEN": "${RQ_OBS_TOKEN:-}"},
            "volumes": [f"./{exporter.CONFIG_PATH}:{exporter.CONFIG_IN_CONTAINER}:ro", "rq-obs-data:/data"],
            "healthcheck": _health(["CMD", *exporter.HEALTHCHECK]),
        },
    }
    if config.trace_backend == "jaeger":
        del services["tempo"]
        services["jaeger"] = _jaeger_service(config)
        for name in ("grafana", "otel-collector"):
            services[name]["depends_on"]["jaeger"] = services[name]["depends_on"].pop("tempo")
    if any(t.partition(":")[0] == HOST_GATEWAY for t in config.app_targets):
        # apps running on the Docker host (not in this compose project): Docker's host-gateway alias
        services["prometheus"]["extra_hosts"] = [f"{HOST_GATEWAY}:host-gateway"]
    volumes = ["grafana-data", "prometheus-data", *(["tempo-data"] if "tempo" in services else []), "rq-obs-data"]
    if config.alertmanager:
        services["alertmanager"] = {
            "image": IMAGES["alertmanager"],
            "restart": "unless-stopped",
            "entrypoint": alertmanager.entrypoint(config),
            "volumes": [f"./{alertmanager.PATH}:{alertmanager.CONFIG_IN_CONTAINER}:ro",
                        "alertmanager-data:/alertmanager"],
            "healthcheck": _health(_http_probe("http://localhost:9093/-/healthy")),
        }
        if channels(config):
            services["alertmanager"]["environment"] = _webhooks(config)
            services["alertmanager"]["tmpfs"] = [alertmanager.WEBHOOK_DIR]
        services["prometheus"]["depends_on"] = {"alertmanager": {"condition": "service_started"}}
        volumes.append("alertmanager-data")
    harden(services, config)  # last: every service, whoever added it, gets the security settings
    return {"services": services, "volumes": {v: {} for v in volumes}}


def render(config: Config) -> str:
    from rq_obs.stack.render import render_yaml

    return render_yaml(document(config), comments=(
        "The rq-obs stack: Grafana :" + str(config.grafana_port) + ", Prometheus :" + str(config.prometheus_port)
        + ", rq-obs serve :" + str(config.exporter_port) + ", OTLP :4317/:4318.",
        "Start, from this directory: rq-obs stack wheel --out .   (the rq-obs image installs that wheel), then",
        "  " + f"{GRAFANA_PASSWORD_ENV}=<Grafana admin password> "
        + "".join(f"{webhook_env(config, c)}=<your {LABELS[c]} webhook URL> " for c in channels(config))
        + "docker compose up -d --build",
        f"Ports are published on {config.bind_address} only (bind_address).",
        "Tempo and the Collector images have no shell or HTTP client: their health checks verify",
        "their configuration; their liveness is up{job=\"tempo\"} / up{job=\"otelcol\"} in Prometheus.",
    ))
