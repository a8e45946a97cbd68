"""prometheus.yml passes the real promtool and follows the config."""

import subprocess

import pytest

from rq_obs.errors import ConfigError
from rq_obs.stack import prometheus
from tests.helpers.procs import PROMTOOL, need
from tests.stack.conftest import load, make_config


def promtool_check(path):
    return subprocess.run([need(PROMTOOL, "prometheus"), "check", "config", str(path)], capture_output=True, text=True)


@pytest.mark.parametrize("changes", [{}, {"alertmanager": False, "remote_write_url": "https://mimir.example:9009/api/v1/push"}])
def test_promtool_check_config_passes(write_stack, changes):
    out = write_stack(make_config(**changes))
    cp = promtool_check(out / prometheus.PATH)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "SUCCESS" in cp.stdout


def test_jobs_intervals_rules_and_alerting(write_stack):
    doc = load(write_stack(make_config(scrape_interval="30s", evaluation_interval="2m")) / prometheus.PATH)
    assert doc["global"]["scrape_interval"] == "30s" and doc["global"]["evaluation_interval"] == "2m"
    assert doc["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert {j["job_name"]: j["static_configs"][0]["targets"] for j in doc["scrape_configs"]} == {
        "rq-obs": ["rq-obs:9464"], "spanmetrics": ["otel-collector:8889"], "otelcol": ["otel-collector:8888"],
        "prometheus": ["localhost:9090"], "tempo": ["tempo:3200"], "alertmanager": ["alertmanager:9093"],
    }
    assert doc["alerting"] == {"alertmanagers": [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]}
    assert "remote_write" not in doc


def test_without_alertmanager_there_is_no_alerting_block(write_stack):
    doc = load(write_stack(make_config(alertmanager=False)) / prometheus.PATH)
    assert "alerting" not in doc
    assert "alertmanager" not in [j["job_name"] for j in doc["scrape_configs"]]


def test_remote_write_url_adds_remote_write(write_stack):
    doc = load(write_stack(make_config(remote_write_url="http://thanos-receive:19291/api/v1/receive")) / prometheus.PATH)
    assert doc["remote_write"] == [{"url": "http://thanos-receive:19291/api/v1/receive", "send_exemplars": True}]


@pytest.mark.parametrize("url, expected", [
    ("https://user:hunter2@mimir.example/api/v1/push", "remote_write_url contains credentials"),
    ("mimir:9009", r"expected an http\(s\) URL"),
])
def test_bad_remote_write_url_is_a_config_error(url, expected):
    with pytest.raises(ConfigError, match=expected) as info:
        prometheus.document(make_config(remote_write_url=url))
    assert "hunter2" not in str(info.value)
