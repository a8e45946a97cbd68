"""The chart's ``values.yaml`` and its JSON Schema (``values.schema.json``, which Helm checks on every
install, upgrade, lint and template: a wrong type or a missing token Secret name stops there, with
the schema's message).

Defaults follow the compose stack and the config: the scrape interval, the collector image and the
exporters' endpoints (``tempo:4317`` in compose; a cluster sets its Tempo/Jaeger Service), the
Grafana data sources of :mod:`rq_obs.stack.grafana`. kube-prometheus-stack selects ServiceMonitors,
PodMonitors and PrometheusRules labelled ``release: <its release name>``; that label is a value.
"""

from __future__ import annotations

import json
from typing import Any

from rq_obs.config import Config

__all__ = ["REMOTE_WRITE_SECRET", "document", "schema", "render", "render_schema", "collector_endpoints"]

#: The Secret kube-prometheus-stack's Prometheus reads remote-write credentials from (the user creates it).
REMOTE_WRITE_SECRET = "rq-obs-remote-write"
_KPS_RELEASE = {"release": "kube-prometheus-stack"}


def collector_endpoints(config: Config) -> dict[str, str]:
    """{exporter name: endpoint} of every collector exporter that sends to another service (not a listener)."""
    from rq_obs.stack import collector

    out = {}
    for name, exp in collector.document(config)["exporters"].items():
        endpoint = exp.get("endpoint") if isinstance(exp, dict) else None
        if isinstance(endpoint, str) and not endpoint.startswith(("0.0.0.0:", "localhost:", "127.0.0.1:")):
            out[name] = endpoint
    return dict(sorted(out.items()))


def _datasource_urls(config: Config) -> dict[str, str]:
    from rq_obs.stack import grafana

    urls = {ds["uid"]: ds["url"] for ds in grafana.datasources(config)["datasources"]}
    # kube-prometheus-stack's Grafana already provisions a Prometheus data source with uid "prometheus", and
    # one for its Alertmanager: both left out unless their URL is set
    urls[grafana.PROMETHEUS_UID] = ""
    if grafana.ALERTMANAGER_UID in urls:
        urls[grafana.ALERTMANAGER_UID] = ""
    # rq-obs serve's API (Infinity plugin): left out unless set, as the cluster's Grafana needs the plugin first;
    # set it to the chart's Service, http://<fullname>.<namespace>.svc:9464 (docs/API.md)
    urls[grafana.API_UID] = ""
    return dict(sorted(urls.items()))


def _security(uid: int) -> tuple[dict, dict]:
    pod = {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": uid, "fsGroup": uid,
           "seccompProfile": {"type": "RuntimeDefault"}}
    container = {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False, "runAsNonRoot": True,
                 "capabilities": {"drop": ["ALL"]}}
    return pod, container


def document(config: Config) -> dict[str, Any]:
    from rq_obs import __version__
    from rq_obs.stack.images import IMAGES

    serve_pod, serve_container = _security(10001)  # the uid the exporter image's Dockerfile creates
    coll_pod, coll_container = _security(10001)  # the contrib image runs as 10001 too
    return {
        "image": {"repository": "rq-obs-exporter", "tag": __version__, "pullPolicy": "IfNotPresent",
                  "pullSecrets": []},
        "token": {"secretName": "rq-obs-token", "secretKey": "token"},
        "serve": {
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            "persistence": {"size": "10Gi", "storageClassName": "", "accessModes": ["ReadWriteOnce"]},
            "podSecurityContext": serve_pod,
            "securityContext": serve_container,
            "nodeSelector": {},
            "tolerations": [],
        },
        "serviceMonitor": {"enabled": True, "interval": config.scrape_interval, "labels": dict(_KPS_RELEASE)},
        "prometheusRule": {"enabled": True, "labels": dict(_KPS_RELEASE)},
        "networkPolicy": {"enabled": True, "from": [
            {"podSelector": {}},
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
        ]},
        "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
        "grafana": {
            "operator": {"instanceSelector": {"matchLabels": {"dashboards": "grafana"}}},
            "dashboards": {
                "folder": "rq-obs",
                "sidecar": {"enabled": True, "label": "grafana_dashboard", "labelValue": "1",
                            "folderAnnotation": "grafana_folder"},
                "operator": {"enabled": False},
            },
            "datasources": {
                "urls": _datasource_urls(config),
                "sidecar": {"enabled": True, "label": "grafana_datasource", "labelValue": "1"},
                "operator": {"enabled": False},
            },
            "alerting": {
                "sidecar": {"enabled": True, "label": "grafana_alert", "labelValue": "1"},
                "notificationPolicies": False,
                "operator": {"enabled": False, "webhookSecret": "rq-obs-webhooks"},
            },
        },
        "collector": {
            "enabled": True,
            "mode": "operator",
            "image": IMAGES["otel-collector"],
            "replicas": 1,
            "exporterEndpoints": collector_endpoints(config),
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
            "podSecurityContext": coll_pod,
            "securityContext": coll_container,
            "podMonitor": {"enabled": True, "interval": config.scrape_interval, "labels": dict(_KPS_RELEASE)},
        },
    }


# --- the schema: small builders so every object is closed (additionalProperties: false) -------------

def _obj(props: dict[str, Any], required: tuple[str, ...] = (), description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    if description:
        out["description"] = description
    return out


def _str(description: str, min_length: int = 0, pattern: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string", "description": description}
    if min_length:
        out["minLength"] = min_length
    if pattern:
        out["pattern"] = pattern
    return out


def _bool(description: str) -> dict[str, Any]:
    return {"type": "boolean", "description": description}


_ANY_OBJECT = {"type": "object"}
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
_DURATION = r"^([0-9]+(ms|s|m|h|d|w|y))+$"
_DNS_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


def _sidecar(what: str) -> dict[str, Any]:
    return _obj({"enabled": _bool(f"label the {what} ConfigMap(s) for the Grafana sidecar"),
                 "label": _str("label the sidecar watches", 1), "labelValue": _str("its value")},
                ("enabled", "label", "labelValue"))


def _monitor(what: str) -> dict[str, Any]:
    return _obj({"enabled": _bool(f"create the {what}"),
                 "interval": _str("scrape interval", 1, _DURATION),
                 "labels": {**_LABELS, "description": "labels the Prometheus Operator selects on (release: ...)"}},
                ("enabled", "interval"))


def _resources() -> dict[str, Any]:
    quantity = {"type": ["string", "integer", "number"]}
    amounts = {"type": "object", "additionalProperties": quantity}
    return _obj({"requests": amounts, "limits": amounts}, ("requests", "limits"),
                "container resource requests and limits (both required)")


def schema(config: Config) -> dict[str, Any]:
    endpoints = collector_endpoints(config)
    urls = _datasource_urls(config)
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "rq-obs chart values",
        "type": "object",
        "additionalProperties": False,
        "required": ["image", "token", "serve", "serviceMonitor", "prometheusRule", "networkPolicy",
                     "podDisruptionBudget", "grafana", "collector"],
        "properties": {
            "global": _ANY_OBJECT,
            "image": _obj({"repository": _str("rq-obs exporter image (built from exporters/Dockerfile, pushed to "
                                              "your registry)", 1),
                           "tag": _str("image tag", 1),
                           "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
                           "pullSecrets": {"type": "array", "items": _obj({"name": _str("Secret name", 1)}, ("name",))}},
                          ("repository", "tag", "pullPolicy")),
            "token": _obj({"secretName": _str("name of the Secret you create holding the ingest token "
                                              "(kubectl create secret generic rq-obs-token --from-literal=token=...)",
                                              1, _DNS_NAME),
                           "secretKey": _str("key of the token in that Secret", 1)},
                          ("secretName", "secretKey"), "the ingest token: a Secret the user creates, never a value"),
            "serve": _obj({
                "resources": _resources(),
                "persistence": _obj({"size": _str("PersistentVolumeClaim size of the store", 1, r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$"),
                                     "storageClassName": _str("storage class; empty: the cluster's default"),
                                     "accessModes": {"type": "array", "minItems": 1,
                                                     "items": {"enum": ["ReadWriteOnce", "ReadWriteOncePod",
                                                                        "ReadWriteMany"]}}},
                                    ("size", "accessModes")),
                "podSecurityContext": _ANY_OBJECT,
                "securityContext": _ANY_OBJECT,
                "nodeSelector": _LABELS,
                "tolerations": {"type": "array", "items": _ANY_OBJECT},
            }, ("resources", "persistence", "podSecurityContext", "securityContext")),
            "serviceMonitor": _monitor("ServiceMonitor for rq-obs serve (job rq-obs)"),
            "prometheusRule": _obj({"enabled": _bool("create the PrometheusRule objects"), "labels": _LABELS},
                                   ("enabled",)),
            "networkPolicy": _obj({"enabled": _bool("only the listed peers may reach rq-obs serve"),
                                   "from": {"type": "array", "minItems": 1, "items": _ANY_OBJECT,
                                            "description": "NetworkPolicyPeers allowed in (Prometheus, pushers)"}},
                                  ("enabled", "from")),
            "podDisruptionBudget": _obj({"enabled": _bool("create the PodDisruptionBudget"),
                                         "maxUnavailable": {"type": ["integer", "string"]}},
                                        ("enabled", "maxUnavailable")),
            "grafana": _obj({
                "operator": _obj({"instanceSelector": _ANY_OBJECT}, ("instanceSelector",),
                                 "which Grafana instances the Grafana Operator objects target"),
                "dashboards": _obj({"folder": _str("Grafana folder", 1), "sidecar": _obj({
                    **_sidecar("dashboard")["properties"],
                    "folderAnnotation": _str("annotation the sidecar reads the folder from", 1)},
                    ("enabled", "label", "labelValue", "folderAnnotation")),
                    "operator": _obj({"enabled": _bool("also create GrafanaDashboard objects")}, ("enabled",))},
                    ("folder", "sidecar", "operator")),
                "datasources": _obj({
                    "urls": _obj({uid: _str(f"URL of data source uid {uid} as Grafana reaches it; empty: not "
                                            "provisioned") for uid in urls}, tuple(urls)),
                    "sidecar": _sidecar("data source"),
                    "operator": _obj({"enabled": _bool("also create GrafanaDatasource objects")}, ("enabled",))},
                    ("urls", "sidecar", "operator")),
                "alerting": _obj({"sidecar": _sidecar("alerting"),
                                  "notificationPolicies": _bool("also provision rq-obs' notification policy tree "
                                                                "(it replaces the Grafana organisation's)"),
                                  "operator": _obj({
                                      "enabled": _bool("also create GrafanaFolder, GrafanaAlertRuleGroup and "
                                                       "GrafanaContactPoint objects"),
                                      "webhookSecret": _str("Secret you create holding each webhook URL under the "
                                                            "name of its environment variable (e.g. SLACK_WEBHOOK_URL)",
                                                            1, _DNS_NAME)},
                                      ("enabled", "webhookSecret"))},
                                 ("sidecar", "notificationPolicies", "operator")),
            }, ("operator", "dashboards", "datasources", "alerting")),
            "collector": _obj({
                "enabled": _bool("deploy the OpenTelemetry Collector with rq-obs' pipeline"),
                "mode": {"enum": ["operator", "deployment"],
                         "description": "operator: an OpenTelemetryCollector object; deployment: a plain Deployment"},
                "image": _str("collector image (contrib distribution)", 1),
                "replicas": {"type": "integer", "minimum": 1},
                "exporterEndpoints": _obj({name: _str(f"endpoint of exporter {name} (host:port)", 1)
                                           for name in endpoints}, tuple(endpoints),
                                          "where the collector's exporters send (compose service names by default)"),
                "resources": _resources(),
                "podSecurityContext": _ANY_OBJECT,
                "securityContext": _ANY_OBJECT,
                "podMonitor": _monitor("PodMonitor for the collector (jobs spanmetrics and otelcol)"),
            }, ("enabled", "mode", "image", "replicas", "exporterEndpoints", "resources", "podMonitor")),
        },
    }


def render(config: Config) -> str:
    from rq_obs.stack.render import render_yaml

    return render_yaml(document(config), comments=(
        "Values of the rq-obs chart (checked against values.schema.json on every helm command).",
        "Before installing: push the exporter image (exporters/Dockerfile) and create the token Secret:",
        "  kubectl create secret generic rq-obs-token --from-literal=token=$RQ_OBS_TOKEN",
        "collector.exporterEndpoints: set them to your Tempo (or Jaeger) OTLP gRPC Service.",
        "grafana.datasources.urls: empty leaves a data source out (kube-prometheus-stack provisions uid prometheus and its Alertmanager).",
    ))


def render_schema(config: Config) -> str:
    return json.dumps(schema(config), indent=2, sort_keys=True) + "\n"
