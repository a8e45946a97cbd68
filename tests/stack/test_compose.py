"""docker-compose.yml: Compose-spec valid, accepted by docker-compose, pinned, healthy, config-driven."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from rq_obs.stack import compose
from rq_obs.stack.images import IMAGES
from rq_obs.stack.validate import compose_problems
from tests.helpers.procs import need
from tests.stack.conftest import load, make_config

DATA = Path(__file__).resolve().parents[1] / "data"
PACKAGED = Path(__file__).resolve().parents[2] / "rq_obs" / "stack" / "schemas" / "compose-spec.schema.json"
SCHEMA = json.loads((DATA / "compose-spec.schema.json").read_text())


def test_packaged_schema_is_the_test_copy():
    assert PACKAGED.read_bytes() == (DATA / "compose-spec.schema.json").read_bytes()


@pytest.mark.parametrize("changes", [{}, {"alertmanager": False}, {"alerts_to": "none"},
                                     {"app_targets": ["host.docker.internal:8000"]}])
def test_validates_against_the_compose_spec_schema(write_stack, changes):
    doc = load(write_stack(make_config(**changes)) / compose.PATH)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in Draft7Validator(SCHEMA).iter_errors(doc)]
    assert errors == []
    assert "version" not in doc


@pytest.mark.parametrize("changes, env", [({}, {"SLACK_WEBHOOK_URL": "https://example.invalid/webhook"}),
                                          ({"alertmanager": False, "alerts_to": "none"}, {}),
                                          ({"alerts_to": "none", "app_targets": ["host.docker.internal:8000"]}, {})])
def test_docker_compose_config_accepts_it(write_stack, changes, env):
    out = write_stack(make_config(**changes))
    run_env = {k: v for k, v in os.environ.items() if k != "SLACK_WEBHOOK_URL"} | env | {"GF_ADMIN_PASSWORD": "pw"}
    cp = subprocess.run([need(shutil.which("docker-compose"), "docker-compose"), "-f", str(out / compose.PATH),
                         "config", "-q"], capture_output=True, text=True, env=run_env, cwd=out)
    assert cp.returncode == 0, cp.stderr


def test_without_the_webhook_docker_compose_refuses_with_a_clear_message(write_stack):
    out = write_stack()
    env = {k: v for k, v in os.environ.items() if k != "SLACK_WEBHOOK_URL"} | {"GF_ADMIN_PASSWORD": "pw"}
    cp = subprocess.run([shutil.which("docker-compose"), "-f", str(out / compose.PATH), "config", "-q"],
                        capture_output=True, text=True, env=env, cwd=out)
    assert cp.returncode != 0
    assert "set SLACK_WEBHOOK_URL to the Slack incoming-webhook URL" in cp.stderr


def test_services_images_pinned_healthchecks_and_volumes(write_stack):
    doc = load(write_stack() / compose.PATH)
    services = doc["services"]
    assert sorted(services) == ["alertmanager", "grafana", "otel-collector", "prometheus", "rq-obs", "tempo"]
    for name, svc in services.items():
        assert svc["healthcheck"]["test"][0] == "CMD", name
        if "image" in svc and name != "rq-obs":
            assert svc["image"] == IMAGES[name]
            assert re.fullmatch(r"[a-z/-]+:v?\d+\.\d+\.\d+", svc["image"]), svc["image"]
    assert services["rq-obs"]["build"] == {"context": "./exporters", "dockerfile": "Dockerfile"}
    assert sorted(doc["volumes"]) == ["alertmanager-data", "grafana-data", "prometheus-data", "rq-obs-data",
                                      "tempo-data"]
    assert "./dashboards:/var/lib/grafana/dashboards:ro" in services["grafana"]["volumes"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in services["grafana"]["volumes"]
    assert "./rules:/etc/prometheus/rules:ro" in services["prometheus"]["volumes"]
    assert "./collector/otelcol.yaml:/etc/otelcol-contrib/config.yaml:ro" in services["otel-collector"]["volumes"]
    assert "./collector/tempo.yaml:/etc/tempo/tempo.yaml:ro" in services["tempo"]["volumes"]


def test_every_mounted_file_is_generated(write_stack):
    out = write_stack()
    assert compose_problems(load(out / compose.PATH), out) == []
    (out / "collector" / "tempo.yaml").unlink()
    assert compose_problems(load(out / compose.PATH), out) == [
        "services.tempo.volumes: ./collector/tempo.yaml does not exist"]


def test_ports_and_retention_come_from_the_config(write_stack):
    config = make_config(grafana_port=3300, prometheus_port=9099, exporter_port=9500, prometheus_retention="30d")
    services = load(write_stack(config) / compose.PATH)["services"]
    assert services["grafana"]["ports"] == ["127.0.0.1:3300:3000"]
    assert services["prometheus"]["ports"] == ["127.0.0.1:9099:9090"]
    assert services["rq-obs"]["ports"] == ["127.0.0.1:9500:9464"]
    assert "--storage.tsdb.retention.time=30d" in services["prometheus"]["command"]


def test_webhook_is_only_an_environment_reference(write_stack):
    services = load(write_stack(make_config(slack_webhook_env="TEAM_SLACK_HOOK")) / compose.PATH)["services"]
    ref = "${TEAM_SLACK_HOOK:?set TEAM_SLACK_HOOK to the Slack incoming-webhook URL (or build with alerts_to = none)}"
    assert services["alertmanager"]["environment"] == {"TEAM_SLACK_HOOK": ref}
    assert services["grafana"]["environment"]["TEAM_SLACK_HOOK"] == ref
    script = services["alertmanager"]["entrypoint"][2]
    assert script.startswith("umask 077 && printf '%s' \"$$TEAM_SLACK_HOOK\" > /run/alertmanager/slack_webhook_url && ")
    assert services["alertmanager"]["tmpfs"] == ["/run/alertmanager", "/tmp"]


def test_alertmanager_false_drops_the_service(write_stack):
    doc = load(write_stack(make_config(alertmanager=False)) / compose.PATH)
    assert "alertmanager" not in doc["services"] and "alertmanager-data" not in doc["volumes"]
    assert "depends_on" not in doc["services"]["prometheus"]


def test_webhook_env_must_be_a_variable_name(tmp_path):
    from rq_obs.config import load as load_config
    from rq_obs.errors import ConfigError

    (tmp_path / "rq-obs.yaml").write_text("slack_webhook_env: 'X; rm -rf /'\n")
    with pytest.raises(ConfigError, match=r"key 'slack_webhook_env' is 'X; rm -rf /'; expected an environment variable name"):
        load_config(tmp_path, env={})
