"""prometheus.yml passes the real promtool and follows the config."""

import subprocess

import pytest

from rq_obs.config import load as load_config
from rq_obs.errors import ConfigError
from rq_obs.stack import compose, prometheus
from tests.helpers.procs import PROMTOOL, need
from tests.stack.conftest import load, make_config


def promtool_check(path):
    return subprocess.run([need(PROMTOOL, "prometheus"), "check", "config", str(path)], capture_output=True, text=True)


APPS = ["shop:8000", "host.docker.internal:8001/internal/metrics", "10.0.0.7:9000", "[::1]:8002", "shop:8000",
        "billing_api:8003"]


@pytest.mark.parametrize("changes", [{}, {"alertmanager": False, "remote_write_url": "https://mimir.example:9009/api/v1/push"},
                                     {"app_targets": APPS}])
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
    assert doc["remote_write"] == [{
        "url": "http://thanos-receive:19291/api/v1/receive", "send_exemplars": True,
        "queue_config": {"capacity": 10000, "max_shards": 10, "max_samples_per_send": 2000, "batch_send_deadline": "5s"},
        "write_relabel_configs": [
            {"source_labels": ["test"], "regex": ".+", "action": "drop"},
            {"source_labels": ["job"], "regex": "prometheus|otelcol|tempo|jaeger|alertmanager", "action": "drop"},
        ],
    }]


@pytest.mark.parametrize("url, expected", [
    ("https://user:hunter2@mimir.example/api/v1/push", "remote_write_url contains credentials"),
    ("mimir:9009", r"expected an http\(s\) URL"),
])
def test_bad_remote_write_url_is_a_config_error(url, expected):
    with pytest.raises(ConfigError, match=expected) as info:
        prometheus.document(make_config(remote_write_url=url))
    assert "hunter2" not in str(info.value)


def test_no_app_targets_no_apps_job(write_stack):
    path = write_stack() / prometheus.PATH
    assert prometheus.APP_JOB not in [j["job_name"] for j in load(path)["scrape_configs"]]
    assert "# No job apps: app_targets is empty" in path.read_text()


def test_app_targets_become_one_job_grouped_by_metrics_path(write_stack):
    out = write_stack(make_config(app_targets=APPS))
    doc = load(out / prometheus.PATH)
    assert doc["scrape_configs"][-1] == {"job_name": "apps", "static_configs": [
        {"targets": ["10.0.0.7:9000", "[::1]:8002", "billing_api:8003", "shop:8000"]},  # sorted, the duplicate once
        {"targets": ["host.docker.internal:8001"], "labels": {"__metrics_path__": "/internal/metrics"}},
    ]}
    assert "# Job apps: the instrumented apps in app_targets (5).\n" in (out / prometheus.PATH).read_text()
    # the order of the list does not change a byte
    again = write_stack(make_config(app_targets=list(reversed(APPS))))
    assert (again / prometheus.PATH).read_bytes() == (out / prometheus.PATH).read_bytes()
    # an app on the Docker host: Prometheus' container resolves host.docker.internal to the host
    assert load(out / compose.PATH)["services"]["prometheus"]["extra_hosts"] == ["host.docker.internal:host-gateway"]
    assert "extra_hosts" not in load(write_stack(make_config(app_targets=["shop:8000"])) / compose.PATH)["services"][
        "prometheus"]


@pytest.mark.parametrize("value", ["http://shop:8000", "shop", "shop:0", "shop:70000", "shop:8000?x=1", "", "-shop:80"])
def test_bad_app_targets_are_named(tmp_path, value):
    (tmp_path / "rq-obs.yaml").write_text(f"app_targets: [{value!r}]\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, env={})
    assert str(info.value) == (f"{tmp_path / 'rq-obs.yaml'}: key 'app_targets' is [{value!r}]; expected a list of "
                               f"scrape targets host:port or host:port/metrics-path (no scheme); {value!r} is not one")


def test_app_targets_from_the_environment(tmp_path):
    config = load_config(tmp_path, env={"RQ_OBS_APP_TARGETS": '["shop:8000"]'}).config
    assert prometheus.document(config)["scrape_configs"][-1] == {
        "job_name": "apps", "static_configs": [{"targets": ["shop:8000"]}]}
