"""The Kubernetes rendering of the stack: a Helm chart (``charts/rq-obs/``) for clusters that run the
Prometheus Operator (kube-prometheus-stack), the Grafana sidecar or Grafana Operator, and optionally the
OpenTelemetry Operator.

One definition, several renderings: the chart carries, under ``files/``, the very files the compose
stack is built from (rules/*.yml, dashboards/*.json, Grafana data sources and alerting, the collector
configuration, the exporter's settings), rendered by the same functions; the static Helm templates
(``templates/`` beside this module) only wrap them in Kubernetes objects (``PrometheusRule``, ConfigMaps,
``GrafanaDashboard``, ``OpenTelemetryCollector``...). Names the objects rely on (scrape job names, ports,
paths) come from :mod:`rq_obs.stack` into the generated ``templates/_helpers.tpl``; values a cluster
operator tunes are in ``values.yaml`` (:mod:`.values`, with its JSON Schema). Output is deterministic.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import PurePosixPath

from rq_obs.config import Config

__all__ = ["CHART", "KPS_VALUES", "artifacts", "chart_files", "kube_prometheus_stack_values"]

#: The chart's directory (relative to the project root).
CHART = "charts/rq-obs"
#: Values for kube-prometheus-stack: the remote_write of its Prometheus, from the same definition.
KPS_VALUES = "charts/kube-prometheus-stack-values.yaml"


def _templates() -> dict[str, str]:
    """The static Helm templates shipped beside this module, by file name."""
    folder = resources.files(__package__).joinpath("templates")
    return {entry.name: entry.read_text(encoding="utf-8") for entry in sorted(folder.iterdir(), key=lambda e: e.name)
            if entry.name.endswith(".yaml")}


def chart_files(config: Config) -> dict[str, str]:
    """{path inside the chart's files/: text}: the compose stack's own generated files this chart wraps."""
    from rq_obs import dashboards, rules
    from rq_obs.rules import grafana as grafana_rules
    from rq_obs.stack import collector, exporter, grafana

    files: dict[str, str] = {}
    for rel, text in rules.artifacts(config).items():
        if rel.startswith("rules/"):
            files[rel] = text
        elif rel.startswith(PurePosixPath(grafana_rules.RULES_PATH).parent.as_posix() + "/"):
            files["grafana/alerting/" + PurePosixPath(rel).name] = text
    files.update(dashboards.artifacts(config))
    files["grafana/datasources.yaml"] = grafana.render_datasources(config)
    files["collector/otelcol.yaml"] = collector.render(config)
    files["rq-obs.yaml"] = exporter.render_config(config)
    return files


def _helpers(config: Config) -> str:
    """templates/_helpers.tpl: names, labels, and the constants the objects take from the compose stack."""
    from rq_obs.stack import collector, exporter, prometheus, remote_write
    from rq_obs.stack.render import HEADER

    jobs = dict(zip(("serve", "spanmetrics", "collector"), remote_write.RQ_OBS_JOBS))
    missing = set(jobs.values()) - set(prometheus.JOBS)
    if missing:  # pragma: no cover - the compose stack renamed a job
        raise AssertionError(f"scrape jobs {sorted(missing)} are not in rq_obs.stack.prometheus.JOBS")
    store = PurePosixPath(exporter.STORE)
    conf = PurePosixPath(exporter.CONFIG_IN_CONTAINER)
    constants = {
        "rq-obs.serve.port": str(exporter.PORT),
        "rq-obs.serve.dataDir": str(store.parent),
        "rq-obs.serve.configDir": str(conf.parent),
        "rq-obs.serve.configFile": conf.name,
        "rq-obs.collector.ports": json.dumps(collector.PORTS, sort_keys=True),
        **{f"rq-obs.job.{k}": v for k, v in jobs.items()},
    }
    lines = ["{{/* " + HEADER.lstrip("# ") + " Constants from rq_obs.stack (compose). */}}"]
    lines += ["{{- define \"%s\" -}}%s{{- end }}" % (k, v) for k, v in sorted(constants.items())]
    return "\n".join(lines) + "\n" + _HELPERS


_HELPERS = r'''
{{- define "rq-obs.fullname" -}}
{{- if contains "rq-obs" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-rq-obs" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end }}

{{- define "rq-obs.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: rq-obs
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "rq-obs.selectorLabels" -}}
app.kubernetes.io/name: rq-obs
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: serve
{{- end }}

{{- /* The labels the OpenTelemetry Operator gives the pods of an OpenTelemetryCollector; the plain
     Deployment uses the same, so one PodMonitor finds either. */}}
{{- define "rq-obs.collector.selectorLabels" -}}
app.kubernetes.io/component: opentelemetry-collector
app.kubernetes.io/instance: {{ .Release.Namespace }}.{{ include "rq-obs.fullname" . }}
{{- end }}

{{- /* collector/otelcol.yaml with the exporters' endpoints set for the cluster. */}}
{{- define "rq-obs.collector.config" -}}
{{- $cfg := .Files.Get "files/collector/otelcol.yaml" | fromYaml }}
{{- range $name, $endpoint := .Values.collector.exporterEndpoints }}
{{- $_ := set (index $cfg.exporters $name) "endpoint" $endpoint }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{- /* grafana/provisioning/datasources/datasources.yaml with the cluster's URLs; a data source
     whose URL is empty is left out (e.g. kube-prometheus-stack already has uid prometheus); one that
     only allows its own host (the rq-obs API) allows the cluster URL instead. */}}
{{- define "rq-obs.grafana.datasources" -}}
{{- $doc := .Files.Get "files/grafana/datasources.yaml" | fromYaml }}
{{- $selected := list }}
{{- range $doc.datasources }}
{{- $url := index $.Values.grafana.datasources.urls .uid }}
{{- if $url }}
{{- $_ := set . "url" $url }}
{{- if and .jsonData (hasKey .jsonData "allowedHosts") }}
{{- $_ := set .jsonData "allowedHosts" (list $url) }}
{{- end }}
{{- $selected = append $selected . }}
{{- end }}
{{- end }}
{{- $_ := set $doc "datasources" $selected }}
{{- toYaml $doc }}
{{- end }}
'''

_NOTES = """\
rq-obs {{ .Chart.AppVersion }} is installed as {{ include "rq-obs.fullname" . }} in {{ .Release.Namespace }}.

Push test runs (the token is key {{ .Values.token.secretKey }} of Secret {{ .Values.token.secretName }}):
  rq-obs push --url http://{{ include "rq-obs.fullname" . }}.{{ .Release.Namespace }}.svc:{{ include "rq-obs.serve.port" . }}
{{- if .Values.collector.enabled }}
OTLP spans: http://{{ include "rq-obs.fullname" . }}-collector.{{ .Release.Namespace }}.svc:{{ (include "rq-obs.collector.ports" . | fromJson).otlp_http }}
{{- end }}
Dashboards appear in Grafana's "{{ .Values.grafana.dashboards.folder }}" folder once its sidecar (or operator) picks them up.
"""


def _chart_yaml(config: Config) -> str:
    from rq_obs import __version__
    from rq_obs.stack.render import render_yaml

    return render_yaml({
        "apiVersion": "v2",
        "name": "rq-obs",
        "description": "Release-quality observability: rq-obs serve, its rules, dashboards, Grafana provisioning "
                       "and OpenTelemetry Collector for the Prometheus, Grafana and OpenTelemetry operators",
        "type": "application",
        "version": __version__,
        "appVersion": __version__,
        "keywords": ["prometheus", "grafana", "opentelemetry", "testing", "release-quality"],
        "kubeVersion": ">=1.25.0-0",
    }, comments=("Helm chart generated by `rq-obs build --target kubernetes` from the same definitions as the",
                 "compose stack; edit rq-obs' Python or config, not these files."))


def kube_prometheus_stack_values(config: Config) -> str:
    """Values for the kube-prometheus-stack chart: its Prometheus' ``remoteWrite`` from :mod:`..remote_write`."""
    from rq_obs.stack import remote_write
    from rq_obs.stack.kubernetes.values import REMOTE_WRITE_SECRET
    from rq_obs.stack.render import render_yaml

    placeholder = "" if remote_write.enabled(config) else "https://mimir.example.com/api/v1/push"
    auth = "basic" if config.remote_write_username else "bearer" if config.remote_write_bearer_token_file else "none"
    entry = remote_write.operator_entry(config, auth=auth, secret_name=REMOTE_WRITE_SECRET, url_override=placeholder,
                                        shared=True)
    where = (f"remote_write_url = {config.remote_write_url}" if not placeholder
             else f"remote_write_url is not set: {placeholder} is a placeholder")
    secret = {"basic": f"keys username and password of Secret {REMOTE_WRITE_SECRET} (you create it)",
              "bearer": f"key token of Secret {REMOTE_WRITE_SECRET} (you create it)",
              "none": "none (set remote_write_username + remote_write_password_file, or remote_write_bearer_token_file)"}
    return render_yaml({"prometheus": {"prometheusSpec": {"remoteWrite": [entry]}}}, comments=(
        "kube-prometheus-stack values: its Prometheus sends rq-obs' series to a scalable TSDB (remote write),",
        "with the same queue settings and write relabelling (what stays local) as collector/prometheus.yml;",
        "first a keep rule: this Prometheus is shared, so this entry sends only rq-obs' jobs and recording rules.",
        f"Endpoint: {where}.",
        f"Credentials: {secret[auth]}.",
        "Use: helm upgrade --install kube-prometheus-stack prometheus-community/kube-prometheus-stack -f <this file>",
    ))


def artifacts(config: Config) -> dict[str, str]:
    """{relative path: text} of the chart (and the kube-prometheus-stack values beside it)."""
    from rq_obs.stack.kubernetes import values

    files = {
        f"{CHART}/Chart.yaml": _chart_yaml(config),
        f"{CHART}/values.yaml": values.render(config),
        f"{CHART}/values.schema.json": values.render_schema(config),
        f"{CHART}/templates/_helpers.tpl": _helpers(config),
        f"{CHART}/templates/NOTES.txt": _NOTES,
        **{f"{CHART}/templates/{name}": text for name, text in _templates().items()},
        **{f"{CHART}/files/{rel}": text for rel, text in chart_files(config).items()},
        KPS_VALUES: kube_prometheus_stack_values(config),
    }
    return dict(sorted(files.items()))
