"""Where alerts are delivered: Slack, Microsoft Teams, both or neither (``config.alerts_to``).

Each channel's webhook URL only ever lives in an environment variable (``slack_webhook_env``,
``teams_webhook_env``): Grafana reads it at start, Alertmanager's entrypoint copies it to a file on a
tmpfs that ``api_url_file`` / ``webhook_url_file`` read. Teams goes through a Teams Workflows
(Power Automate) webhook, which Grafana's ``teams`` integration and Alertmanager's ``msteamsv2_configs``
(Alertmanager >= 0.28) post to; the Office 365 connectors behind the older ``msteams_configs`` are retired.
"""

from __future__ import annotations

from rq_obs.config import Config

__all__ = ["CHANNELS", "channels", "webhook_env", "LABELS", "MIN_ALERTMANAGER_TEAMS"]

CHANNELS = {"slack": ("slack",), "teams": ("teams",), "both": ("slack", "teams"), "none": ()}
LABELS = {"slack": "Slack", "teams": "Microsoft Teams"}
#: the first Alertmanager release with msteamsv2_configs (Teams Workflows webhooks)
MIN_ALERTMANAGER_TEAMS = "0.28.0"


def channels(config: Config) -> tuple[str, ...]:
    return CHANNELS[config.alerts_to]


def webhook_env(config: Config, channel: str) -> str:
    return {"slack": config.slack_webhook_env, "teams": config.teams_webhook_env}[channel]
