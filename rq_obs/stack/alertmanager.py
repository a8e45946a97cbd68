"""Alertmanager configuration: route by severity, Slack webhook read from a file.

The webhook URL is never written to a file rq-obs generates. The Alertmanager container's
entrypoint (:func:`entrypoint`) copies it from the environment variable named by
``config.slack_webhook_env`` into :data:`WEBHOOK_FILE` on a tmpfs at start, and
``slack_configs[].api_url_file`` (Alertmanager >= 0.22) reads it from there.
"""

from __future__ import annotations

from typing import Any

from rq_obs.config import Config

__all__ = ["PATH", "CONFIG_IN_CONTAINER", "WEBHOOK_DIR", "WEBHOOK_FILE", "document", "render", "entrypoint"]

PATH = "collector/alertmanager.yml"
CONFIG_IN_CONTAINER = "/etc/alertmanager/alertmanager.yml"
WEBHOOK_DIR = "/run/alertmanager"  # a tmpfs: the URL never reaches a volume or an image layer
WEBHOOK_FILE = WEBHOOK_DIR + "/slack_webhook_url"

_TITLE = ('[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] '
          "{{ .CommonLabels.alertname }}: {{ (index .Alerts 0).Annotations.summary }}")
_TEXT = ("{{ range .Alerts }}*{{ .Annotations.summary }}* ({{ .Labels.severity }})\n"
         "{{ .Annotations.description }}\n"
         "{{ if .Annotations.runbook_url }}Runbook: {{ .Annotations.runbook_url }}\n{{ end }}"
         "{{ end }}")


def _receiver(name: str, config: Config, severity: str) -> dict[str, Any]:
    if config.alerts_to != "slack":
        return {"name": name}
    return {
        "name": name,
        "slack_configs": [{
            "api_url_file": WEBHOOK_FILE,
            "channel": config.slack_channel,
            "send_resolved": True,
            "title": _TITLE,
            "text": _TEXT,
            "color": '{{ if eq .Status "firing" }}' + ("danger" if severity == "critical" else "warning")
                     + "{{ else }}good{{ end }}",
        }],
    }


def document(config: Config) -> dict[str, Any]:
    group_by = ["alertname", "suite"]
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": "warning",
            "group_by": group_by,
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                {"matchers": ['severity="critical"'], "receiver": "critical", "repeat_interval": "1h"},
                {"matchers": ['severity="warning"'], "receiver": "warning"},
            ],
        },
        # A firing critical alert silences the warning of the same name and suite.
        "inhibit_rules": [{
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity="warning"'],
            "equal": group_by,
        }],
        "receivers": [_receiver("critical", config, "critical"), _receiver("warning", config, "warning")],
    }


def entrypoint(config: Config) -> list[str]:
    """Container entrypoint: write the webhook file from the environment, then run Alertmanager."""
    run = f"exec /bin/alertmanager --config.file={CONFIG_IN_CONTAINER} --storage.path=/alertmanager"
    if config.alerts_to != "slack":
        return ["/bin/sh", "-c", run]
    # $$ is Compose's escape for a literal $: the shell, not Compose, expands the variable.
    var = config.slack_webhook_env
    return ["/bin/sh", "-c", f"umask 077 && printf '%s' \"$${var}\" > {WEBHOOK_FILE} && {run}"]


def render(config: Config) -> str:
    from rq_obs.stack.render import render_yaml

    where = (f"Slack {config.slack_channel}; the webhook URL is read from {WEBHOOK_FILE}, written at container "
             f"start from ${config.slack_webhook_env}" if config.alerts_to == "slack" else "no notifications (alerts_to = none)")
    return render_yaml(document(config), comments=(
        "Alertmanager: critical and warning alerts routed to their own receivers;",
        where + ".",
    ))
