"""Alertmanager configuration: route by severity, Slack and/or Teams webhooks read from files.

Webhook URLs are never written to a file rq-obs generates. The Alertmanager container's entrypoint
(:func:`entrypoint`) copies each from the environment variable named by ``config.slack_webhook_env`` /
``config.teams_webhook_env`` into a file on a tmpfs at start (:data:`WEBHOOK_FILE`,
:data:`TEAMS_WEBHOOK_FILE`); ``slack_configs[].api_url_file`` (Alertmanager >= 0.22) and
``msteamsv2_configs[].webhook_url_file`` (Alertmanager >= 0.28, Teams Workflows) read them there.
"""

from __future__ import annotations

from typing import Any

from rq_obs.config import Config
from rq_obs.notifications import LABELS, channels, webhook_env

__all__ = ["PATH", "CONFIG_IN_CONTAINER", "WEBHOOK_DIR", "WEBHOOK_FILE", "TEAMS_WEBHOOK_FILE", "WEBHOOK_FILES",
           "document", "render", "entrypoint"]

PATH = "collector/alertmanager.yml"
CONFIG_IN_CONTAINER = "/etc/alertmanager/alertmanager.yml"
WEBHOOK_DIR = "/run/alertmanager"  # a tmpfs: the URL never reaches a volume or an image layer
WEBHOOK_FILE = WEBHOOK_DIR + "/slack_webhook_url"
TEAMS_WEBHOOK_FILE = WEBHOOK_DIR + "/teams_webhook_url"
WEBHOOK_FILES = {"slack": WEBHOOK_FILE, "teams": TEAMS_WEBHOOK_FILE}

_TITLE = ('[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] '
          "{{ .CommonLabels.alertname }}: {{ (index .Alerts 0).Annotations.summary }}")
_TEXT = ("{{ range .Alerts }}*{{ .Annotations.summary }}* ({{ .Labels.severity }})\n"
         "{{ .Annotations.description }}\n"
         "{{ if .Annotations.runbook_url }}Runbook: {{ .Annotations.runbook_url }}\n{{ end }}"
         "{{ end }}")


_TEAMS_TEXT = ("{{ range .Alerts }}**{{ .Annotations.summary }}** ({{ .Labels.severity }})\n\n"
               "{{ .Annotations.description }}\n\n"
               "{{ if .Annotations.runbook_url }}[Runbook]({{ .Annotations.runbook_url }})\n\n{{ end }}"
               "{{ end }}")


def _receiver(name: str, config: Config, severity: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    wanted = channels(config)
    if "slack" in wanted:
        out.update(_slack(config, severity))
    if "teams" in wanted:
        out["msteamsv2_configs"] = [{"webhook_url_file": TEAMS_WEBHOOK_FILE, "send_resolved": True,
                                     "title": _TITLE, "text": _TEAMS_TEXT}]
    return out


def _slack(config: Config, severity: str) -> dict[str, Any]:
    return {
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
    if not channels(config):
        return ["/bin/sh", "-c", run]
    # $$ is Compose's escape for a literal $: the shell, not Compose, expands the variable.
    writes = " && ".join(f"printf '%s' \"$${webhook_env(config, c)}\" > {WEBHOOK_FILES[c]}" for c in channels(config))
    return ["/bin/sh", "-c", f"umask 077 && {writes} && {run}"]


def render(config: Config) -> str:
    from rq_obs.stack.render import render_yaml

    where = "; ".join(
        (f"Slack {config.slack_channel}" if c == "slack" else LABELS[c]) + f": the webhook URL is read from "
        f"{WEBHOOK_FILES[c]}, written at container start from ${webhook_env(config, c)}" for c in channels(config)
    ) or "no notifications (alerts_to = none)"
    return render_yaml(document(config), comments=(
        "Alertmanager: critical and warning alerts routed to their own receivers;",
        where + ".",
    ))
