"""`rq-obs init`: plan, write, idempotence, ownership; on a real project, followed by a green pipeline run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from rq_obs import __version__
from rq_obs.dashboards import NAMES
from tests.helpers.cli import run_cli

WHEEL = f"observability/exporters/dist/rq_obs-{__version__}-py3-none-any.whl"
PYPROJECT = ('[project]\nname = "tiny"\nversion = "1"\nrequires-python = ">=3.10"\n\n'
             '[dependency-groups]\ntest = ["pytest"]\n')


def _git(root: Path, *args: str) -> str:
    cp = subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                        capture_output=True, text=True, check=True)
    return cp.stdout.strip()


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts[:1]}


def test_init_plans_writes_once_and_refuses_what_it_did_not_write(tmp_path):
    root = tmp_path / "tiny"
    (root / ".github").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / ".gitignore").write_text("dist/")  # no final newline: init's lines still start on their own line
    _git(root, "init", "-q", "-b", "main")
    before = _tree(root)

    dry = run_cli("init", str(root), "--dry-run")
    assert dry.code == 0, dry.err
    assert dry.out.splitlines()[:2] == [
        "provider: github (the repository has .github/)",
        "settings: suite = 'tiny', ci_coverage = True, ci_benchmarks = False -> pyproject.toml"]
    assert "would create    .github/workflows/rq-obs.yml" in dry.out.splitlines()
    assert f"would create    {WHEEL}" in dry.out.splitlines() and dry.out.endswith("dry run: nothing written\n")
    assert _tree(root) == before

    r = run_cli("init", str(root))
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[-4:] == [
        "next:",
        "  1. git add .github/workflows/rq-obs.yml .gitignore .quality-gates.yaml observability pyproject.toml "
        f"&& git add -f {WHEEL}",
        "  2. git commit -m 'rq-obs: quality pipeline, stack and settings'",
        "  3. git push   # the pipeline runs the tests with rq-obs, snapshots, compares and gates"]
    # the settings are the project's config now, and the pyproject.toml text before them is kept
    text = (root / "pyproject.toml").read_text()
    assert text.startswith(PYPROJECT)
    from rq_obs.config import load

    loaded = load(root)
    assert (loaded.config.suite, loaded.config.ci_coverage, loaded.config.ci_benchmarks) == ("tiny", True, False)
    # .gitignore: the store and CI's reports are ignored, the wheel is the one file to add by force
    assert (root / ".gitignore").read_text().startswith("dist/\n# rq-obs: the local store")
    assert _git(root, "check-ignore", ".rq-obs/store.db", "coverage.json", "vulns.json").splitlines() == \
        [".rq-obs/store.db", "coverage.json", "vulns.json"]
    # the pipeline installs the wheel init wrote and checks the stack init generated
    wf = yaml.safe_load((root / ".github/workflows/rq-obs.yml").read_text())
    run = {s.get("id", s["name"]): s.get("run", "") for s in wf["jobs"]["quality"]["steps"]}
    assert run["Install the project and rq-obs"].splitlines()[-1] == f"pip install {WHEEL}"
    assert run["dashboards"] == "rq-obs build-dashboards --check --out observability\n"
    assert (root / WHEEL).is_file()
    check = run_cli("--project", str(root), "build", "--check", "--out", str(root / "observability"))
    assert check.code == 0, check.err
    # without --out, build --check and validate find the stack init wrote (not the project root)
    found = run_cli("--project", str(root), "build", "--check")
    assert found.code == 0, found.err
    assert "using the stack in observability/" in found.err
    assert f"generated files are current in {root / 'observability'}" in found.out

    # twice: nothing changes, byte for byte
    after = _tree(root)
    again = run_cli("init", str(root), "--format", "json")
    assert again.code == 0, again.err
    assert {f["action"] for f in json.loads(again.out)["files"]} == {"unchanged"}
    assert _tree(root) == after

    # a file init did not write (edited by hand since) is not overwritten without --force, and nothing is written
    compose = root / "observability/docker-compose.yml"
    compose.write_text(compose.read_text() + "# mine\n")
    (root / ".github/workflows/rq-obs.yml").unlink()
    edited = _tree(root)
    refused = run_cli("init", str(root))
    assert (refused.code, refused.out) == (2, "")
    assert refused.err == ("rq-obs: error: not overwriting files rq-obs init did not write: "
                           "observability/docker-compose.yml (exists, differs, and init did not write it (or it "
                           "was edited)); use --force to replace them\n")
    assert _tree(root) == edited
    forced = run_cli("init", str(root), "--force")
    assert forced.code == 0, forced.err
    assert "replace   observability/docker-compose.yml" not in forced.out  # stack files are summarised
    assert "1 replace" in forced.out.splitlines()[2] and "create    .github/workflows/rq-obs.yml" in forced.out
    assert _tree(root) == after


def test_init_without_a_provider_to_detect_says_how_to_choose(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    r = run_cli("init", str(tmp_path))
    assert (r.code, r.out) == (2, "")
    assert r.err == (f"rq-obs: error: {tmp_path}: cannot tell the CI provider (no .github/, .gitlab-ci.yml or "
                     f"Jenkinsfile, and origin is on neither GitHub nor GitLab); pass --provider "
                     f"github|gitlab|jenkins\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]


@pytest.mark.thirdparty
@pytest.mark.timeout(1800)  # several pipeline runs, each installing a project: minutes on a loaded machine
def test_init_on_a_fresh_copy_of_a_real_project_then_its_pipeline_runs_green(tmp_path):
    from tests.automation.test_ci_pipelines_run import KEEP, _pytest_counts, _rq_obs
    from tests.helpers.cirunner import Event, Services, fresh_checkout, layered_venv, run_github
    from tests.helpers.thirdparty import sdist

    root = sdist("humanize", "4.12.3", tmp_path / "src")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "sdist")
    r = run_cli("init", str(root))
    assert r.code == 0, r.err
    assert r.out.splitlines()[0] == "provider: github (the repository has .github/)"  # the sdist carries it
    # the three next commands, run as printed
    for line in r.out.splitlines()[-3:-1]:
        subprocess.run(line.split(". ", 1)[1].replace("git commit", "git -c user.name=t -c user.email=t@e commit"),
                       shell=True, cwd=root, check=True, capture_output=True)
    assert _git(root, "status", "--porcelain") == ""
    (root / ".git/info/exclude").write_text("".join(f"{k}/\n" for k in KEEP))
    venv = layered_venv(root / ".ci-venv", root / WHEEL)
    services = Services(tmp_path / "services")
    services.set_vulns({"dependencies": [], "fixes": []})
    sha = _git(root, "rev-parse", "HEAD")
    _git(root, "tag", "v4.12.3")
    fresh_checkout(root, KEEP)
    # a release published on GitHub: the workflow runs on it and snapshots the release under its tag
    result = run_github(root, venv, services, Event("release", "main", "main", sha, tag="v4.12.3"))
    assert result.code == 0, result.log[-6000:]
    assert _pytest_counts(result.log)["passed"] > 0
    assert f"{len(NAMES)} generated files are current in observability" in result.log  # the dashboards check, green
    gate = json.loads(_rq_obs(root, "gate", "--format", "json").stdout)
    assert gate["passed"] is True and gate["release"] == "v4.12.3"
