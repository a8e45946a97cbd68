"""The generated pipelines, executed: every provider's shell steps run in order by tests/helpers/cirunner.py on
real third-party projects (sdists from PyPI), with gh / curl / pip-audit stubbed at the command boundary.

One virtual environment per project (``.ci-venv`` in the checkout, rq-obs' own runtime dependencies layered
underneath it: see cirunner.layered_venv) serves its three providers in turn; every provider's install lines
run against it, and the checkout is cleaned between runs (``git clean -fdx`` but the environments), as a CI
job would start from the commit. uv projects get their ``.venv`` from ``uv sync``, as in CI.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from rq_obs import __version__
from tests.helpers.cirunner import RUNNERS, Event, Services, fresh_checkout, layered_venv
from tests.helpers.cli import run_cli
from tests.helpers.thirdparty import sdist

WHEEL = f"rq_obs-{__version__}-py3-none-any.whl"
KEEP = (".ci-venv", ".venv")
CLEAN_AUDIT = {"dependencies": [{"name": "pytest", "version": "8.3.4", "vulns": []}], "fixes": []}
ONE_VULN = {"dependencies": [{"name": "pytest", "version": "8.3.4", "vulns": [
    {"id": "PYSEC-2099-1", "fix_versions": ["99.0"], "aliases": ["CVE-2099-0001"], "description": "stub"}]}],
    "fixes": []}

# name, version, layout, what `ci generate` must find, the project's test directory
PROJECTS = {
    "humanize": ("4.12.3", "src/ layout, extra 'tests'",
                 "extra 'tests' (pyproject.toml); and by the pipeline: pytest, pytest-cov", "tests"),
    "jinja2": ("3.1.6", "src/ layout, requirements/ dir",
               "requirements file (requirements/tests.txt); and by the pipeline: pytest, pytest-cov", "tests"),
    "markupsafe": ("3.0.3", "src/ layout, [dependency-groups], uv.lock",
              "dependency group 'tests' (pyproject.toml); lock file (uv sync) (uv.lock); and by the pipeline: "
              "pytest, pytest-cov", "tests"),
}


@pytest.fixture(scope="module")
def rq_obs_wheel(tmp_path_factory) -> Path:
    from rq_obs.stack.wheel import write_wheel

    return write_wheel(tmp_path_factory.mktemp("wheel")).path


def _git(root: Path, *args: str) -> str:
    cp = subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                        capture_output=True, text=True)
    assert cp.returncode == 0, f"git {' '.join(args)}: {cp.stderr}"
    return cp.stdout.strip()


def _project(name: str, tmp_path: Path, wheel: Path) -> Path:
    root = sdist(name, PROJECTS[name][0], tmp_path / "src")
    (root / "vendor").mkdir()
    shutil.copy(wheel, root / "vendor" / WHEEL)
    _git(root, "init", "-q", "-b", "main")
    (root / ".git" / "info" / "exclude").write_text("".join(f"{k}/\n" for k in KEEP))
    _git(root, "add", "-A")
    _git(root, "add", "-f", f"vendor/{WHEEL}")
    _git(root, "commit", "-q", "-m", "sdist")
    return root


def _generate(root: Path, expected_deps: str) -> None:
    for provider in RUNNERS:
        r = run_cli("ci", "generate", str(root), "--provider", provider, "--rq-obs-spec", f"vendor/{WHEEL}")
        assert r.code == 0, r.err
        assert f"test dependencies: {expected_deps}" in r.out.splitlines()
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "rq-obs pipelines")


def _env_bin(root: Path) -> Path:
    """Where the project's environment is: uv's .venv, else the runner's."""
    return root / (".venv" if (root / "uv.lock").is_file() else ".ci-venv") / "bin"


def _rq_obs(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(_env_bin(root) / "rq-obs"), *args], cwd=root, capture_output=True, text=True)


def _pytest_counts(output: str) -> dict[str, int]:
    """pytest's own summary line ("== 3 failed, 120 passed, 2 skipped in 1.2s ==")."""
    output = re.sub(r"\x1b\[[0-9;]*m", "", output)  # --color=yes in a project's addopts
    line = [l for l in output.splitlines() if re.match(r"^=+ .*\d+ (passed|failed).* in [\d.]+s", l)][-1]
    return {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?)", line)}


def _run(provider: str, root: Path, services: Services, event: Event):
    fresh_checkout(root, KEEP)
    result = RUNNERS[provider](root, root / ".ci-venv", services, event)
    print(f"{provider} {event.kind}: {result.timings()}")
    return result


def _check_green(provider: str, root: Path, result, event: Event, baseline: str | None, *,
                 vulns_measured: bool = True) -> None:
    assert result.code == 0, result.log[-6000:]
    log = result.log
    # the tests ran with the plugin, and the store saw what pytest saw
    counts = _pytest_counts(log)
    runs = json.loads(_rq_obs(root, "runs", "--format", "json").stdout)
    assert runs[0]["counts"]["passed"] == counts["passed"] > 0 and runs[0]["counts"]["failed"] == 0, (runs, counts)
    # a snapshot of this release was taken, with coverage; compare and gate ran
    release = event.tag or event.sha
    assert (root / ".rq-obs/ci-release").read_text().strip() == release
    gate = _rq_obs(root, "gate", "--format", "json")
    verdict = json.loads(gate.stdout)
    assert verdict["release"] == release and verdict["passed"] is True and gate.returncode == 0
    coverage = next(g for g in verdict["gates"] if g["name"] == "min_coverage")
    assert coverage["actual"] is not None and 0 < coverage["actual"] <= 1
    vulns = next(g for g in verdict["gates"] if g["name"] == "max_vulnerabilities")
    assert vulns["actual"] == (0 if vulns_measured else None)
    assert ("max_vulnerabilities" in verdict["not_measured"]) is not vulns_measured
    report = (root / "rq-obs-report.md").read_text()
    if baseline is None:
        assert report.startswith("No snapshot from the base branch yet")
    else:
        assert baseline in report and release in report, report[:2000]
    assert "Quality gates for" in log and "PASS" in log


@pytest.mark.thirdparty
@pytest.mark.timeout(1800)  # several pipeline runs, each installing a project: minutes on a loaded machine
@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_every_providers_pipeline_runs_green_on_a_real_project(name, tmp_path, rq_obs_wheel):
    version, layout, deps, testdir = PROJECTS[name]
    root = _project(name, tmp_path, rq_obs_wheel)
    _generate(root, deps)
    layered_venv(root / ".ci-venv", rq_obs_wheel)
    services = Services(tmp_path / "services")
    services.set_vulns(CLEAN_AUDIT)
    main_sha = _git(root, "rev-parse", "HEAD")

    # GitHub, a push to main: no baseline yet
    push = Event("push", "main", "main", main_sha)
    result = _run("github", root, services, push)
    _check_green("github", root, result, push, None)
    assert result.step("Comment").outcome == "skipped" and services.comments() == []
    assert json.loads((services.root / "pip-audit-args.json").read_text())[:2] == \
        ["--requirement", "rq-obs-audit-requirements.txt"]

    # GitLab, a merge request from a feature branch: the baseline is main's store, and the note is posted
    _git(root, "checkout", "-q", "-b", "feature")
    (root / "CHANGES-ci.txt").write_text("a change\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "change")
    mr = Event("pull_request", "feature", "main", _git(root, "rev-parse", "HEAD"))
    result = _run("gitlab", root, services, mr)
    _check_green("gitlab", root, result, mr, main_sha)
    assert len(services.comments()) == 1 and main_sha in services.comments()[0]
    assert services.comments()[0].count("### rq-obs gate") == 1  # this run's report only

    # Jenkins, a tag's build: the release is snapshotted under the tag's name and compared with main's run;
    # pip-audit cannot reach its service: no vulnerability data, and no failure
    services.set_vulns(None)
    fresh_checkout(root, KEEP)  # what the merge request's run left (uv sync may rewrite uv.lock, say)
    _git(root, "checkout", "-q", "main")
    _git(root, "tag", f"v{version}-ci")
    tag = Event("tag", "main", "main", main_sha, tag=f"v{version}-ci")
    result = _run("jenkins", root, services, tag)
    assert "pip-audit could not audit" in result.log
    _check_green("jenkins", root, result, tag, main_sha, vulns_measured=False)


@pytest.mark.thirdparty
@pytest.mark.timeout(1800)  # several pipeline runs, each installing a project: minutes on a loaded machine
def test_a_failing_gate_and_a_failing_test_each_fail_every_providers_pipeline(tmp_path, rq_obs_wheel):
    root = _project("humanize", tmp_path, rq_obs_wheel)
    _generate(root, PROJECTS["humanize"][2])
    layered_venv(root / ".ci-venv", rq_obs_wheel)
    services = Services(tmp_path / "services")
    sha = _git(root, "rev-parse", "HEAD")
    for provider in sorted(RUNNERS):
        # a known vulnerability: the tests pass, the vulnerability gate fails, and so does the pipeline
        services.set_vulns(ONE_VULN)
        result = _run(provider, root, services, Event("push", "main", "main", sha))
        assert result.code == 1, result.log[-6000:]
        assert _pytest_counts(result.log).get("failed", 0) == 0
        gate = _rq_obs(root, "gate", "--format", "json")
        verdict = json.loads(gate.stdout)
        assert gate.returncode == 1 and [g["name"] for g in verdict["gates"] if g["result"] == "fail"] == \
            ["max_vulnerabilities"], verdict
        assert "FAIL (1 of" in result.log

    # a failing test: the pipeline fails, the store has the failure, and the gate fails on it alone (max_failing_tests)
    services.set_vulns(CLEAN_AUDIT)
    (root / "tests" / "test_zz_ci_fails.py").write_text("def test_fails():\n    assert 1 == 2\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "a failing test")
    sha = _git(root, "rev-parse", "HEAD")
    for provider in sorted(RUNNERS):
        result = _run(provider, root, services, Event("push", "main", "main", sha))
        assert result.code == 1, result.log[-6000:]
        assert _pytest_counts(result.log)["failed"] == 1
        runs = json.loads(_rq_obs(root, "runs", "--format", "json").stdout)
        assert runs[0]["counts"]["failed"] == 1
        gate = _rq_obs(root, "gate", "--format", "json")
        verdict = json.loads(gate.stdout)
        assert gate.returncode == 1 and verdict["release"] == sha, gate.stdout
        failed = [g for g in verdict["gates"] if g["result"] == "fail"]
        assert [(g["name"], g["actual"], g["detail"]) for g in failed] == [
            ("max_failing_tests", 1, "failed in every attempt: tests/test_zz_ci_fails.py::test_fails")], verdict
