"""One definition, two renderings: Grafana alerting provisioning matches the Prometheus rules; Slack's webhook
is only ever an environment variable reference."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from rq_obs import build
from rq_obs.config import Config, load
from rq_obs.errors import ConfigError
from rq_obs.rules import artifacts, grafana, prometheus
from rq_obs.rules.definitions import alerts

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Config()


def grafana_rules(config: Config = CONFIG) -> dict[str, dict]:
    doc = yaml.safe_load(artifacts(config)[grafana.RULES_PATH])
    assert doc["apiVersion"] == 1 and len(doc["groups"]) == 1
    group = doc["groups"][0]
    assert (group["folder"], group["interval"], group["orgId"]) == ("rq-obs", config.evaluation_interval, 1)
    return {r["title"]: r for r in group["rules"]}


def prometheus_rules(config: Config = CONFIG) -> dict[str, dict]:
    doc = yaml.safe_load(artifacts(config)[prometheus.ALERTS_PATH])
    return {r["alert"]: r for g in doc["groups"] for r in g["rules"]}


def test_every_grafana_rule_has_query_reduce_and_threshold_steps():
    rules = grafana_rules()
    assert list(rules) == [a.name for a in alerts(CONFIG)]
    for a in alerts(CONFIG):
        r = rules[a.name]
        q, red, thr = r["data"]
        assert r["condition"] == "C"
        assert (q["refId"], q["datasourceUid"], q["model"]["expr"], q["model"]["instant"]) == ("A", "prometheus", a.value, True)
        assert (red["refId"], red["datasourceUid"], red["model"]["type"], red["model"]["expression"],
                red["model"]["reducer"]) == ("B", "__expr__", "reduce", "A", "last")
        assert (thr["refId"], thr["model"]["type"], thr["model"]["expression"]) == ("C", "threshold", "B")
        assert thr["model"]["conditions"] == [{"evaluator": {"type": {">": "gt", "<": "lt"}[a.op], "params": [a.threshold]}}]
        assert r["noDataState"] == ("Alerting" if a.absent else "OK")


def test_both_renderings_carry_the_same_severity_for_summary_and_runbook():
    g, p = grafana_rules(), prometheus_rules()
    assert list(g) == list(p)
    for name in g:
        assert g[name]["for"] == p[name]["for"]
        assert g[name]["labels"] == p[name]["labels"] and p[name]["labels"]["severity"] in ("critical", "warning", "info")
        for key in ("summary", "runbook_url"):
            assert g[name]["annotations"][key] == p[name]["annotations"][key]
        assert set(g[name]["annotations"]) == set(p[name]["annotations"]) == {"summary", "description", "runbook_url"}
    for a in alerts(CONFIG):
        if "{value}" in a.description:  # the value is $value in Prometheus, the reduce step's value in Grafana
            assert "$value " in p[a.name]["annotations"]["description"], a.name
            assert "$values.B.Value" in g[a.name]["annotations"]["description"], a.name


def test_prometheus_expression_is_the_grafana_query_compared_with_the_threshold():
    p = prometheus_rules()
    for a in alerts(CONFIG):
        expr = p[a.name]["expr"]
        assert a.value in expr and f" {a.op} " in expr, a.name
    assert p["RqObsPassRateBelowSLO"]["expr"] == "suite:rqobs_test_attempts:pass_ratio_rate1d < 0.85"
    assert p["RqObsApi429RateHigh"]["expr"] == "provider:rqobs_api_requests:ratio_429_rate5m > 0.05"


def test_thresholds_come_from_the_config():
    custom = Config(slo_pass_rate=0.9, daily_budget_usd=40.0, api_retry_rate_threshold=0.3, rate_5xx_threshold=0.01,
                    min_quality_score=70.0, no_runs_hours=6, quality_drop_threshold=2.0)
    g, p = grafana_rules(custom), prometheus_rules(custom)

    def param(name):
        return g[name]["data"][2]["model"]["conditions"][0]["evaluator"]["params"][0]

    assert param("RqObsPassRateBelowSLO") == 0.9 and p["RqObsPassRateBelowSLO"]["expr"].endswith("< 0.9")
    assert param("RqObsDailyCostOverBudget") == 40.0 and p["RqObsDailyCostOverBudget"]["expr"].endswith("> 40")
    assert param("RqObsApiRetryRateHigh") == 0.3
    assert param("RqObsApi5xxRateHigh") == 0.01
    assert param("RqObsQualityScoreBelowGate") == 70.0
    assert param("RqObsQualityScoreDropped") == -2.0
    assert param("RqObsNoRunsIngested") == 21600 and p["RqObsNoRunsIngested"]["expr"].endswith("> 21600")
    assert p["RqObsNoRunsIngested"]["annotations"]["summary"] == "No test runs ingested for 6 hours"


def test_rule_uids_are_stable_unique_and_fit_grafanas_limit():
    uids = [r["uid"] for r in grafana_rules().values()]
    assert len(set(uids)) == len(uids) and all(len(u) <= 40 and re.fullmatch(r"[a-z0-9-]+", u) for u in uids)
    assert grafana_rules()["RqObsApi429RateHigh"]["uid"] == "rq-obs-api429-rate-high"


def test_slack_contact_point_takes_the_webhook_from_the_environment():
    files = artifacts(CONFIG)
    cp = yaml.safe_load(files[grafana.CONTACT_POINTS_PATH])["contactPoints"][0]
    receiver = cp["receivers"][0]
    assert (cp["name"], receiver["type"]) == ("rq-obs-slack", "slack")
    assert receiver["settings"]["url"] == "${SLACK_WEBHOOK_URL}"
    assert receiver["settings"]["recipient"] == "#rq-obs-alerts"
    custom = artifacts(Config(slack_webhook_env="TEAM_SLACK_HOOK", slack_channel="#qa"))
    settings = yaml.safe_load(custom[grafana.CONTACT_POINTS_PATH])["contactPoints"][0]["receivers"][0]["settings"]
    assert (settings["url"], settings["recipient"]) == ("${TEAM_SLACK_HOOK}", "#qa")


def test_a_webhook_url_given_as_the_variable_name_is_refused():
    with pytest.raises(ConfigError, match="slack_webhook_env is 'https://hooks.slack.com/services/T0/B0/x'; expected the name"):
        artifacts(Config(slack_webhook_env="https://hooks.slack.com/services/T0/B0/x"))


def test_notification_policy_routes_every_severity_to_slack():
    pol = yaml.safe_load(artifacts(CONFIG)[grafana.POLICIES_PATH])["policies"][0]
    assert pol["receiver"] == "rq-obs-slack" and pol["group_by"] == ["grafana_folder", "alertname"]
    routed = {r["object_matchers"][0][2]: r for r in pol["routes"]}
    assert {a.severity for a in alerts(CONFIG)} <= set(routed)
    assert all(r["receiver"] == "rq-obs-slack" and r["object_matchers"][0][:2] == ["severity", "="] for r in pol["routes"])
    assert routed["critical"]["repeat_interval"] == "1h" and routed["warning"]["repeat_interval"] == "4h"


def test_alerts_to_none_writes_rules_but_no_slack_files():
    files = artifacts(Config(alerts_to="none"))
    assert grafana.RULES_PATH in files and grafana.CONTACT_POINTS_PATH not in files and grafana.POLICIES_PATH not in files


def test_no_webhook_url_in_any_generated_file():
    secret = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
    config = load(ROOT, env={"SLACK_WEBHOOK_URL": secret, "RQ_OBS_SLACK_CHANNEL": "#x"}).config
    files = build.collect(config)
    assert any(p.startswith("grafana/provisioning/alerting/") for p in files)
    for path, text in files.items():
        assert secret not in text and "hooks.slack.com" not in text, path


def test_every_runbook_url_points_at_a_section_of_docs_runbooks():
    text = (ROOT / "docs" / "RUNBOOKS.md").read_text()
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-") for h in re.findall(r"^## (.+)$", text, re.M)}
    for a in alerts(CONFIG):
        assert a.runbook_url(CONFIG) == f"{CONFIG.runbook_base_url}#{a.anchor}"
        assert a.anchor in anchors, a.name
        assert f"`{a.name}`" in text, a.name
    assert len(anchors) == len(alerts(CONFIG))


@pytest.mark.parametrize("alertmanager", [True, False])
def test_each_alert_has_one_slack_delivery_path(alertmanager):
    """Alertmanager present: Grafana's copies are paused; absent: Grafana evaluates and notifies."""
    config = Config(alertmanager=alertmanager)
    paused = {name: r["isPaused"] for name, r in grafana_rules(config).items()}
    assert set(paused) == {a.name for a in alerts(config)}
    assert set(paused.values()) == {alertmanager}
