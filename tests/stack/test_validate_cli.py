"""`rq-obs validate DIR`: one line per check; 0 on a fresh build, 1 naming the broken file, 2 without tools."""

import pytest
import yaml

from rq_obs import __version__
from tests.helpers.cli import run_cli

WHEEL = f"exporters/dist/rq_obs-{__version__}-py3-none-any.whl"


@pytest.fixture
def fresh(with_wheel):
    """`rq-obs build` then `rq-obs stack wheel` (the wheel copied from the session's) into base/stack."""
    def make(base):
        out = base / "stack"
        assert run_cli("build", "--out", out).code == 0
        with_wheel(out)
        return out

    return make


def test_fresh_build_passes_every_check(tmp_path, fresh):
    out = fresh(tmp_path)
    result = run_cli("validate", out)
    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert lines[:4] == [
        "ok   promtool check config: collector/prometheus.yml",
        "ok   amtool check-config: collector/alertmanager.yml",
        "ok   compose schema: docker-compose.yml",
        "ok   collector pipelines: collector/otelcol.yaml",
    ] or "ok   promtool check rules: rules/*.yml" in lines  # once rules/ is generated it is checked too
    assert lines[-2] == "ok   image build context: exporters/Dockerfile"
    assert all(l.startswith("ok ") for l in lines[:-1])
    assert lines[-1] == f"all {len(lines) - 1} checks passed in {out}"


def test_tampered_collector_fails_naming_file_and_component(tmp_path, fresh):
    out = fresh(tmp_path)
    path = out / "collector" / "otelcol.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["processors"]["attributes/unused"] = {"actions": []}
    doc["service"]["pipelines"]["metrics"]["exporters"].append("otlp_http/nowhere")
    path.write_text(yaml.safe_dump(doc))
    result = run_cli("validate", out)
    assert result.code == 1
    assert ("FAIL collector pipelines: collector/otelcol.yaml: pipeline 'metrics': exporter 'otlp_http/nowhere' is "
            "not defined under exporters or connectors; processor 'attributes/unused' is defined but not used in any "
            "pipeline") in result.out
    assert "ok   compose schema: docker-compose.yml" in result.out
    # the real collector (built by .ci/tools/build-otelcol.sh) refuses it too, naming what its build lacks
    assert ("FAIL collector validate: collector/otelcol.yaml: Error: failed to get config: cannot unmarshal the "
            "configuration") in result.out
    assert "'processors' unknown type: \"attributes\" for id: \"attributes/unused\"" in result.out
    assert result.err.strip() == f"rq-obs: error: 2 of {len(result.out.splitlines())} checks failed in {out}"


def test_tampered_prometheus_alertmanager_compose_and_rules_each_fail(tmp_path, fresh):
    out = fresh(tmp_path)
    prom = out / "collector" / "prometheus.yml"
    prom.write_text(prom.read_text().replace("scrape_interval: 15s", "scrape_interval: often"))
    am = out / "collector" / "alertmanager.yml"
    am.write_text(am.read_text().replace("receiver: warning\n  repeat_interval", "receiver: nobody\n  repeat_interval"))
    compose = out / "docker-compose.yml"
    compose.write_text(compose.read_text().replace("    restart: unless-stopped\n", "    restart: 3\n", 1))
    (out / "rules").mkdir(exist_ok=True)
    (out / "rules" / "zz-broken.yml").write_text("groups:\n- name: x\n  rules:\n  - record: bad name\n    expr: up\n")
    result = run_cli("validate", out)
    assert result.code == 1
    lines = {l.split(":", 1)[0]: l for l in result.out.splitlines()}
    assert "FAIL promtool check config" in lines and "often" in lines["FAIL promtool check config"]
    assert "FAIL amtool check-config" in lines and '"nobody"' in lines["FAIL amtool check-config"]
    assert lines["FAIL compose schema"] == ("FAIL compose schema: docker-compose.yml: services.alertmanager.restart: "
                                            "3 is not of type 'string'")
    assert "FAIL promtool check rules" in lines and "bad name" in lines["FAIL promtool check rules"]


def test_missing_file_is_named(tmp_path, fresh):
    out = fresh(tmp_path)
    (out / "collector" / "otelcol.yaml").unlink()
    result = run_cli("validate", out)
    assert result.code == 1
    assert "FAIL collector pipelines: collector/otelcol.yaml: file is missing" in result.out


def test_missing_promtool_names_the_debian_package(tmp_path, fresh):
    out = fresh(tmp_path)
    empty = tmp_path / "empty-path"
    empty.mkdir()
    result = run_cli("validate", out, env={"PATH": str(empty), "RQ_OBS_TOOLS": str(empty)})  # no built amtool either
    assert result.code == 2
    assert ("n/a  promtool check config: collector/prometheus.yml: promtool not found on PATH (Debian package "
            "'prometheus'") in result.out
    assert "amtool not found on PATH (Debian package 'prometheus-alertmanager'" in result.out
    assert "ok   compose schema: docker-compose.yml" in result.out
    assert "rq-obs: error: promtool not found on PATH (Debian package 'prometheus'" in result.err


def test_a_directory_without_a_stack_says_to_build_one(tmp_path):
    result = run_cli("validate", tmp_path)
    assert result.code == 2
    assert result.err.strip() == (f"rq-obs: error: no generated stack in {tmp_path} (no docker-compose.yml, no "
                                  f"collector/): run `rq-obs build --out DIR` first, then `rq-obs validate DIR`")


def test_not_a_directory_is_a_usage_error(tmp_path):
    result = run_cli("validate", tmp_path / "nope")
    assert result.code == 2 and f"{tmp_path / 'nope'}: not a directory" in result.err


def test_missing_wheel_is_one_line_naming_it_and_the_command_that_makes_it(tmp_path):
    out = tmp_path / "my stack"
    assert run_cli("build", "--out", out).code == 0
    result = run_cli("validate", out)
    assert result.code == 1
    assert [l for l in result.out.splitlines() if l.startswith("FAIL")] == [
        f"FAIL image build context: exporters/Dockerfile: {WHEEL} is missing; run `rq-obs stack wheel --out '{out}'`"]
    assert result.err.strip() == f"rq-obs: error: 1 of {len(result.out.splitlines())} checks failed in {out}"


def test_a_wheel_of_another_version_does_not_count(tmp_path, fresh):
    out = fresh(tmp_path)
    old = out / "exporters" / "dist" / "rq_obs-0.0.1-py3-none-any.whl"
    (out / WHEEL).rename(old)
    result = run_cli("validate", out)
    assert result.code == 1
    assert (f"FAIL image build context: exporters/Dockerfile: {WHEEL} is missing; "
            f"run `rq-obs stack wheel --out {out}`") in result.out.splitlines()


def test_broken_wheel_and_missing_config_are_named_with_their_commands(tmp_path, fresh):
    out = fresh(tmp_path)
    (out / WHEEL).write_bytes(b"<html>Not Found</html>")
    (out / "exporters" / "rq-obs.yaml").unlink()
    result = run_cli("validate", out)
    assert result.code == 1
    lines = {l.split(":", 1)[0]: l for l in result.out.splitlines()}
    assert lines["FAIL image build context"] == (
        f"FAIL image build context: exporters/Dockerfile: {WHEEL} is not a wheel (not a zip file); run `rq-obs "
        f"stack wheel --out {out}`; exporters/rq-obs.yaml is missing; run `rq-obs build --out {out}`")
    # the compose file also mounts the config file: that check names it too
    assert lines["FAIL compose schema"] == ("FAIL compose schema: docker-compose.yml: services.rq-obs.volumes: "
                                            "./exporters/rq-obs.yaml does not exist")


def test_missing_dockerfile_is_named(tmp_path, fresh):
    out = fresh(tmp_path)
    (out / "exporters" / "Dockerfile").unlink()
    result = run_cli("validate", out)
    assert result.code == 1
    assert ("FAIL image build context: exporters/Dockerfile: exporters/Dockerfile is missing; "
            f"run `rq-obs build --out {out}`") in result.out.splitlines()
