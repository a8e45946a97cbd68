"""Each command's --format json output validates against the JSON Schema rq-obs ships for it (rq_obs/schemas/)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from rq_obs.config import FIELDS
from rq_obs.schemas import SCHEMAS, load
from tests.helpers.cli import run_cli

#: command -> argv after `rq-obs`, run against the store built below
COMMANDS = {
    "runs": ["runs", "--format", "json"],
    "flaky": ["flaky", "--all", "--format", "json"],
    "gate": ["gate", "--format", "json"],
    "config-show": ["config", "show", "--format", "json"],
    "impact": ["impact", "--format", "json"],
    "experiment": ["experiment", "--format", "json"],
    "releases-list": ["releases", "list", "--format", "json"],
}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project (a git repository) with a real store: 4 runs through the plugin (a passing, a failing, a flaky
    and a skipped test; variants control and v2 of experiment exp), SKILL.md changed after run 2, and two
    release snapshots."""
    import os
    import subprocess
    import sys

    from tests.helpers.procs import python_env

    root = tmp_path_factory.mktemp("proj")
    (root / "test_x.py").write_text(
        "import os, pytest\n"
        "def test_ok(): pass\n"
        "def test_bad(): assert 0\n"
        "def test_flaky(): assert int(os.environ['N']) % 2\n"
        "@pytest.mark.skip\ndef test_skip(): pass\n")
    (root / "SKILL.md").write_text("v1\n")
    env = python_env({"RQ_OBS_SUITE": "proj", "RQ_OBS_EXPERIMENT": "exp", "GIT_AUTHOR_NAME": "Ada",
                      "GIT_AUTHOR_EMAIL": "a@example.org", "GIT_COMMITTER_NAME": "Ada",
                      "GIT_COMMITTER_EMAIL": "a@example.org"})

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, check=True)

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "one")
    for k in [k for k in env if k.startswith("OTEL_")]:
        del env[k]
    for n in range(4):
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rq-obs"], cwd=root,
                       env={**env, "N": str(n), "RQ_OBS_VARIANT": ("control", "v2")[n % 2]}, capture_output=True,
                       check=False)
        if n == 1:
            (root / "SKILL.md").write_text("v2\n")
            git("commit", "-qam", "two")
        if n in (1, 3):
            subprocess.run([sys.executable, "-m", "rq_obs", "snapshot", "--release", f"1.{n}", "--code-quality", "90"],
                           cwd=root, env=env, capture_output=True, check=True)
    return root


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_output_validates_against_its_schema(project, command, monkeypatch):
    monkeypatch.chdir(project)
    monkeypatch.setenv("RQ_OBS_SUITE", "proj")
    r = run_cli(*COMMANDS[command])
    assert r.code in (0, 1), r.err
    doc = json.loads(r.out)
    schema = load(command)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(doc)
    # the schema is not vacuous: the same document without a field it requires is refused
    first = doc[0] if isinstance(doc, list) else doc
    if isinstance(first, dict) and schema.get("required") or schema.get("items", {}).get("required"):
        required = (schema.get("required") or schema["items"]["required"])[0]
        broken = json.loads(r.out)
        del (broken[0] if isinstance(broken, list) else broken)[required]
        assert not jsonschema.Draft202012Validator(schema).is_valid(broken)


def test_every_schema_is_tested_and_values_a_user_relies_on(project, monkeypatch):
    assert set(SCHEMAS) == set(COMMANDS)
    monkeypatch.chdir(project)
    runs = json.loads(run_cli("runs", "--format", "json").out)
    assert [r["sequence"] for r in runs] == [4, 3, 2, 1]
    assert runs[0]["counts"] == {"passed": 2, "failed": 1, "error": 0, "skipped": 1, "xfailed": 0, "xpassed": 0}
    assert runs[0]["pass_rate"] == pytest.approx(2 / 3)
    flaky = json.loads(run_cli("flaky", "--format", "json").out)
    assert flaky["summary"] == {"flaky": 1, "broken": 1, "healthy": 1}
    shown = json.loads(run_cli("config", "show", "--format", "json").out)
    assert set(shown) == set(FIELDS)
    gate = json.loads(run_cli("gate", "--format", "json").out)
    assert gate["release"] == "1.3" and gate["baseline"] == "1.1"
    (change,) = json.loads(run_cli("impact", "--format", "json").out)["changes"]
    assert (change["path"], change["author"], change["lines_added"], change["lines_removed"]) == ("SKILL.md", "Ada", 1, 1)
    (exp,) = json.loads(run_cli("experiment", "--format", "json").out)["experiments"]
    assert (exp["experiment"], exp["control"], sorted(exp["variants"])) == ("exp", "control", ["control", "v2"])
    assert [r["release"] for r in json.loads(run_cli("releases", "list", "--format", "json").out)] == ["1.1", "1.3"]
