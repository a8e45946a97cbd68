"""The generated stack is closed by default (issue 17, hole 6), and `rq-obs validate` fails naming the
service and setting when it is not. docker-compose itself refuses to start without the Grafana password."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess

import pytest
import yaml

from rq_obs.stack import compose
from rq_obs.stack.hardening import problems
from tests.helpers.cli import run_cli
from tests.helpers.procs import need
from tests.stack.conftest import make_config, write_stack  # noqa: F401 - the fixture


def _doc(write_stack, **changes) -> dict:
    return yaml.safe_load((write_stack(make_config(**changes)) / compose.PATH).read_text())


def test_the_generated_compose_file_is_closed_by_default(write_stack):
    doc = _doc(write_stack)
    assert problems(doc) == []
    services = doc["services"]
    for name, svc in services.items():
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)
        assert svc["user"].split(":")[0] not in ("0", "root"), name
        assert svc["read_only"] is True, name
        assert svc["deploy"]["resources"]["limits"]["memory"], name
    assert services["otel-collector"]["ports"] == ["127.0.0.1:4317:4317", "127.0.0.1:4318:4318"]
    flags = services["prometheus"]["command"]
    assert "--web.enable-lifecycle" not in flags and "--web.enable-admin-api" not in flags
    env = services["grafana"]["environment"]
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GF_ADMIN_PASSWORD:?")
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false" and env["GF_USERS_ALLOW_SIGN_UP"] == "false"


def test_bind_address_opens_the_ports_on_purpose(write_stack):
    doc = _doc(write_stack, bind_address="0.0.0.0")
    assert doc["services"]["grafana"]["ports"] == ["0.0.0.0:3000:3000"]
    assert problems(doc) == []  # an explicit address is a choice, not an oversight


@pytest.mark.parametrize("break_it, message", [
    (lambda s: s["prometheus"].__setitem__("ports", ["9090:9090"]),
     "service prometheus: ports '9090:9090' is published on every interface"),
    (lambda s: s["prometheus"]["command"].append("--web.enable-lifecycle"),
     "service prometheus: command has --web.enable-lifecycle"),
    (lambda s: s["tempo"].pop("user"), "service tempo: user is 'not set'"),
    (lambda s: s["grafana"].__setitem__("user", "root"), "service grafana: user is 'root'"),
    (lambda s: s["otel-collector"].pop("read_only"), "service otel-collector: read_only is not true"),
    (lambda s: s["rq-obs"].pop("deploy"), "service rq-obs: no memory limit"),
    (lambda s: s["grafana"]["environment"].pop("GF_SECURITY_ADMIN_PASSWORD"),
     "service grafana: environment GF_SECURITY_ADMIN_PASSWORD must be a required reference"),
    (lambda s: s["grafana"]["environment"].__setitem__("GF_SECURITY_ADMIN_PASSWORD", "admin"),
     "not a literal"),
    (lambda s: s["grafana"]["environment"].__setitem__("GF_AUTH_ANONYMOUS_ENABLED", "true"),
     "service grafana: environment GF_AUTH_ANONYMOUS_ENABLED must be false"),
    (lambda s: s["grafana"]["environment"].__setitem__("GF_USERS_ALLOW_SIGN_UP", "true"),
     "service grafana: environment GF_USERS_ALLOW_SIGN_UP must be false"),
    (lambda s: s["rq-obs"]["environment"].__setitem__("RQ_OBS_TOKEN", "ghp_" + "Ab1" * 12),
     "service rq-obs: environment RQ_OBS_TOKEN holds a literal secret (GitHub token)"),
])
def test_validate_fails_naming_the_service_and_setting(write_stack, tmp_path, break_it, message):
    out = write_stack(make_config(), full=True)
    doc = yaml.safe_load((out / compose.PATH).read_text())
    broken = copy.deepcopy(doc)
    break_it(broken["services"])
    assert any(message in p for p in problems(broken)), problems(broken)
    (out / compose.PATH).write_text(yaml.safe_dump(broken))
    result = run_cli("validate", str(out))
    assert result.code != 0
    line = next(line for line in result.out.splitlines() if "compose security" in line)
    assert line.startswith("FAIL") and message in line


def test_docker_compose_refuses_to_start_without_the_grafana_password(write_stack):
    out = write_stack(make_config(alerts_to="none"))
    env = {k: v for k, v in os.environ.items() if k != "GF_ADMIN_PASSWORD"}
    cp = subprocess.run([need(shutil.which("docker-compose"), "docker-compose"), "-f", str(out / compose.PATH),
                         "config", "-q"], capture_output=True, text=True, env=env, cwd=out)
    assert cp.returncode != 0
    assert "set GF_ADMIN_PASSWORD to the Grafana admin password" in cp.stderr
