"""`rq-obs ci generate`: detection, schema-valid GitHub/GitLab files, a well-formed Jenkinsfile, gates file.

Projects are real git repositories in tmp_path; the stack is the one `rq-obs build --out` writes and the
wheel the one `rq-obs stack wheel` builds (once per module).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from rq_obs import __version__
from rq_obs.dashboards import NAMES
from tests.helpers.cli import run_cli

DATA = Path(__file__).resolve().parents[1] / "data"
REPO = Path(__file__).resolve().parents[2]
WHEEL = f"rq_obs-{__version__}-py3-none-any.whl"
STACK_WHEEL = f"observability/exporters/dist/{WHEEL}"
COV = " --cov --cov-report=json:coverage.json"
GIT_URL = "rq-obs @ git+https://github.com/acme/rq-obs@v0.1.0"
OPTIONS_TAIL = ("pass --rq-obs-spec with one of: a git URL ('rq-obs @ git+https://github.com/OWNER/rq-obs@TAG'), "
                "a wheel committed in the project (`rq-obs stack wheel --out DIR` writes "
                "DIR/exporters/dist/rq_obs-VERSION-py3-none-any.whl; `git add -f` it), or a requirement your own "
                "package index serves ('rq-obs==VERSION', with PIP_INDEX_URL / UV_INDEX_URL set in CI)\n")
ATTRS_PYPROJECT = ('[project]\nname = "attrs"\nversion = "26.1.0"\nrequires-python = ">=3.9"\n'
                   '[project.optional-dependencies]\ntests = ["pytest", "hypothesis"]\n')


def _validate(doc: dict, schema_file: str) -> None:
    schema = json.loads((DATA / schema_file).read_text())
    cls = jsonschema.validators.validator_for(schema)
    errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:300]}" for e in errors)


def _git(root: Path, *args: str) -> str:
    cp = subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                        capture_output=True, text=True, check=True)
    return cp.stdout.strip()


def _commit_all(root: Path, branch: str = "master", *force_add: str) -> Path:
    _git(root, "init", "-q", "-b", branch)
    _git(root, "add", "-A")
    for rel in force_add:
        _git(root, "add", "-f", rel)
    _git(root, "commit", "-q", "-m", "init")
    return root


@pytest.fixture(scope="module")
def rq_obs_wheel(tmp_path_factory) -> Path:
    """The real wheel `rq-obs stack wheel` makes (built once; each project gets a copy)."""
    from rq_obs.stack.wheel import write_wheel

    made = write_wheel(tmp_path_factory.mktemp("wheel")).path
    assert made.name == WHEEL
    return made


def _put_wheel(wheel: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(wheel, target)


def _build_stack(root: Path, out: str = "observability") -> None:
    r = run_cli("--project", str(root), "build", "--out", str(root / out))
    assert r.code == 0, r.err


def _attrs_project(root: Path, wheel: Path | None, *, commit_wheel: bool = True) -> Path:
    """The user's project: attrs' requires-python, branch master, the stack in observability/ and (when
    ``wheel``) rq-obs' wheel in the stack (git-ignored by the stack's exporters/.gitignore)."""
    (root / "pyproject.toml").write_text(ATTRS_PYPROJECT)
    _build_stack(root)
    if wheel is not None:
        _put_wheel(wheel, root / STACK_WHEEL)
    return _commit_all(root, "master", *([STACK_WHEEL] if wheel is not None and commit_wheel else []))


def _pip_project(root: Path) -> Path:
    (root / "requirements.txt").write_text("flask>=3\n")
    (root / "requirements-dev.txt").write_text("pytest\npytest-cov>=5  # coverage\n")
    (root / ".python-version").write_text("3.11.7\n")
    return _commit_all(root, "main")


def _run_steps(workflow: dict) -> dict[str, str]:
    return {s.get("id", s["name"]): s.get("run", "") for s in workflow["jobs"]["quality"]["steps"]}


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if ".git" not in p.parts and p.is_file()}


# --- the user's project: attrs from its sdist, branch master, stack in observability/ --------------

def test_github_for_the_users_project_installs_the_committed_wheel_on_python_3_10_and_checks_observability(
        tmp_path, rq_obs_wheel, monkeypatch):
    root = _attrs_project(tmp_path, rq_obs_wheel)
    r = run_cli("ci", "generate", str(root), "--provider", "github")
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        "python 3.10 (the lowest that both pyproject.toml requires-python '>=3.9' and rq-obs (>=3.10) allow), "
        "pip, tests: pytest --rq-obs --cov --cov-report=json:coverage.json",
        "test dependencies: extra 'tests' (pyproject.toml); and by the pipeline: pytest, pytest-cov",
        "base branch: master (the current branch; the repository has no refs/remotes/origin/HEAD)",
        f"rq-obs from: {STACK_WHEEL} (the wheel `rq-obs stack wheel` wrote into the stack, committed)",
        "dashboards check: rq-obs build-dashboards --check --out observability "
        "(found observability/dashboards/executive.json generated by rq-obs)",
        "created   .github/workflows/rq-obs.yml",
        "created   .quality-gates.yaml",
    ]
    text = (root / ".github/workflows/rq-obs.yml").read_text()
    wf = yaml.safe_load(text)
    _validate(wf, "github-workflow.schema.json")
    assert wf["on"] == {"push": {"branches": ["master"], "tags": ["*"]}, "pull_request": {"branches": ["master"]},
                        "release": {"types": ["published"]}}
    setup = next(s for s in wf["jobs"]["quality"]["steps"] if s.get("uses") == "actions/setup-python@v5")
    assert setup["with"] == {"python-version": "3.10", "cache": "pip", "cache-dependency-path": "pyproject.toml\n"}
    run = _run_steps(wf)
    assert run["Install the project and rq-obs"].splitlines() == [
        "python -m pip install --upgrade pip", "pip install -e '.[tests]'", "pip install pytest pytest-cov",
        f"pip install {STACK_WHEEL}"]
    assert run["dashboards"] == "rq-obs build-dashboards --check --out observability\n"
    gated = [s["id"] for s in wf["jobs"]["quality"]["steps"] if s.get("continue-on-error") and "id" in s]
    assert gated == ["tests", "compare", "dashboards", "gate"]
    assert text.splitlines()[3:6] == [
        "# Dashboards: checks that observability/dashboards/ is what this rq-obs generates",
        "# (`rq-obs build-dashboards --check`).",
        f"# rq-obs is installed from {STACK_WHEEL} (it is not on PyPI).",
    ]

    # what the pipeline runs works in the checkout: the wheel is committed and pip takes the path as a
    # file (offline, no dependencies), and the dashboards check passes on the first run
    assert _git(root, "ls-files", STACK_WHEEL) == STACK_WHEEL
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--no-index",
                          "--disable-pip-version-check", *shlex.split(run["Install the project and rq-obs"]
                                                                      .splitlines()[-1])[2:]],
                         cwd=root, capture_output=True, text=True)
    assert pip.returncode == 0 and f"Would install rq-obs-{__version__}" in pip.stdout, pip.stdout + pip.stderr
    monkeypatch.chdir(root)
    check = run_cli(*shlex.split(run["dashboards"])[1:])
    assert (check.code, check.out) == (0, f"{len(NAMES)} generated files are current in observability\n"), check.err


def test_gitlab_for_the_users_project(tmp_path, rq_obs_wheel):
    root = _attrs_project(tmp_path, rq_obs_wheel)
    r = run_cli("ci", "generate", str(root), "--provider", "gitlab", "--format", "json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["base_branch"] == {"name": "master",
                                  "reason": "the current branch; the repository has no refs/remotes/origin/HEAD"}
    assert out["rq_obs"] == {"spec": STACK_WHEEL,
                             "reason": "the wheel `rq-obs stack wheel` wrote into the stack, committed"}
    assert out["stack"] == {"dir": "observability",
                            "dashboards_check": "rq-obs build-dashboards --check --out observability",
                            "reason": "found observability/dashboards/executive.json generated by rq-obs"}
    assert out["project"]["python_version"] == "3.10"
    ci = yaml.safe_load((root / ".gitlab-ci.yml").read_text())
    _validate(ci, "gitlab-ci.schema.json")
    assert ci["workflow"]["rules"][1] == {"if": '$CI_COMMIT_BRANCH == "master"'}
    job = ci["rq-obs-quality"]
    assert job["image"] == "python:3.10"
    assert job["script"][2:6] == ["python -m pip install --upgrade pip", "pip install -e '.[tests]'",
                                  "pip install pytest pytest-cov", f"pip install {STACK_WHEEL}"]
    assert ("( set -e\nrq-obs build-dashboards --check --out observability\n) || echo dashboards >> "
            ".rq-obs/ci-failed") in job["script"]
    assert not any(line.strip() == "pip install rq-obs" for s in job["script"] for line in s.splitlines())


def test_a_wheel_in_the_stack_that_is_not_committed_is_refused(tmp_path, rq_obs_wheel):
    root = _attrs_project(tmp_path, rq_obs_wheel, commit_wheel=False)
    assert _git(root, "status", "--porcelain", "--ignored", "observability/exporters/dist") == \
        "!! observability/exporters/dist/"  # exporters/.gitignore ignores it
    before = _files(root)
    r = run_cli("ci", "generate", str(root), "--provider", "github")
    assert r.code == 2 and r.out == ""
    assert r.err == (f"rq-obs: error: {STACK_WHEEL} is not committed (exporters/.gitignore ignores it), so CI's "
                     f"checkout will not have it: run `git add -f {STACK_WHEEL}` and commit it, or " + OPTIONS_TAIL)
    assert _files(root) == before
    # doing what it says makes it work
    _git(root, "add", "-f", STACK_WHEEL)
    assert run_cli("ci", "generate", str(root), "--provider", "github").code == 0


def test_no_stack_and_no_spec_is_refused_naming_the_options(tmp_path):
    root = _commit_all(_write(tmp_path, "pyproject.toml", ATTRS_PYPROJECT))
    r = run_cli("ci", "generate", str(root), "--provider", "gitlab")
    assert r.code == 2 and r.out == ""
    assert r.err == ("rq-obs: error: rq-obs is not on PyPI, so the pipeline cannot `pip install rq-obs`, and the "
                     "project has no rq-obs stack with a committed wheel; " + OPTIONS_TAIL)
    assert _files(root) == {"pyproject.toml"}


def test_a_stack_without_this_versions_wheel_says_how_to_make_it(tmp_path, rq_obs_wheel):
    root = _attrs_project(tmp_path, None)
    old = root / "observability/exporters/dist/rq_obs-0.0.9-py3-none-any.whl"
    old.parent.mkdir(parents=True)
    shutil.copy(rq_obs_wheel, old)
    r = run_cli("ci", "generate", str(root), "--provider", "github")
    assert r.code == 2
    assert r.err == (f"rq-obs: error: rq-obs is not on PyPI, so the pipeline cannot `pip install rq-obs`, and "
                     f"{STACK_WHEEL} does not exist (it holds rq_obs-0.0.9-py3-none-any.whl, not this rq-obs' "
                     f"version): run `rq-obs stack wheel --out observability` and `git add -f {STACK_WHEEL}`, "
                     f"or " + OPTIONS_TAIL)


def _write(root: Path, name: str, text: str) -> Path:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)
    return root


# --- --rq-obs-spec --------------------------------------------------------------------------------

def test_git_url_spec_is_quoted_for_the_shell_and_no_stack_means_no_dashboards_step(tmp_path):
    root = _commit_all(_write(tmp_path, "pyproject.toml", ATTRS_PYPROJECT))
    r = run_cli("ci", "generate", str(root), "--provider", "github", "--rq-obs-spec", GIT_URL)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[3] == f"rq-obs from: {GIT_URL} (--rq-obs-spec (a URL))"
    assert lines[4] == (f"dashboards check: omitted (no rq-obs stack under {root} (no dashboards/executive.json "
                        f"generated by rq-obs within 2 directory levels); run `rq-obs build --out DIR`, commit it "
                        f"and generate again, or pass --stack-dir DIR)")
    text = (root / ".github/workflows/rq-obs.yml").read_text()
    wf = yaml.safe_load(text)
    _validate(wf, "github-workflow.schema.json")
    run = _run_steps(wf)
    install = run["Install the project and rq-obs"].splitlines()[-1]
    assert install == "pip install 'rq-obs @ git+https://github.com/acme/rq-obs@v0.1.0'"
    assert shlex.split(install) == ["pip", "install", GIT_URL]
    steps = wf["jobs"]["quality"]["steps"]
    assert [s["id"] for s in steps if s.get("continue-on-error") and "id" in s] == ["tests", "compare", "gate"]
    assert "dashboards" not in run and "build-dashboards" not in "".join(run.values())
    assert "steps.dashboards" not in steps[-1]["run"]
    assert text.splitlines()[3:5] == [
        "# No dashboards check: no rq-obs stack was found when this was generated (run",
        "# `rq-obs build --out DIR`, commit it and generate again).",
    ]


@pytest.mark.parametrize("lock, expected", [
    ("uv.lock", "uv pip install --python .venv/bin/python vendor/rq_obs-0.1.0-py3-none-any.whl"),
    ("poetry.lock", "poetry run pip install vendor/rq_obs-0.1.0-py3-none-any.whl"),
])
def test_a_committed_wheel_given_as_spec_is_installed_by_the_projects_installer(tmp_path, rq_obs_wheel, lock,
                                                                                expected):
    _write(tmp_path, "pyproject.toml", '[project]\nname = "x"\nversion = "1"\nrequires-python = ">=3.11"\n')
    _write(tmp_path, lock, "")
    (tmp_path / "vendor").mkdir()
    shutil.copy(rq_obs_wheel, tmp_path / "vendor" / WHEEL)
    root = _commit_all(tmp_path, "main")
    r = run_cli("ci", "generate", str(root), "--provider", "jenkins", "--rq-obs-spec", f"vendor/{WHEEL}")
    assert r.code == 0, r.err
    assert r.out.splitlines()[:4] == [
        f"python 3.11 (the lowest that both pyproject.toml requires-python '>=3.11' and rq-obs (>=3.10) allow), "
        f"{lock.split('.')[0]}, tests: pytest --rq-obs --cov --cov-report=json:coverage.json",
        f"test dependencies: lock file ({lock.split('.')[0]} {'sync' if lock == 'uv.lock' else 'install'}) ({lock}); "
        f"and by the pipeline: pytest, pytest-cov",
        "base branch: main (the current branch; the repository has no refs/remotes/origin/HEAD)",
        f"rq-obs from: vendor/{WHEEL} (--rq-obs-spec (a wheel in the project))",
    ]
    text = (root / "Jenkinsfile").read_text()
    assert f"                    {expected}\n" in text
    assert "image 'python:3.11'" in text and "BASE_BRANCH = \"${env.CHANGE_TARGET ?: 'main'}\"" in text


def test_an_index_requirement_is_accepted_and_says_where_it_comes_from(tmp_path):
    root = _pip_project(tmp_path)
    r = run_cli("ci", "generate", str(root), "--provider", "gitlab", "--rq-obs-spec", "rq-obs==0.1.0")
    assert r.code == 0, r.err
    assert r.out.splitlines()[3] == ("rq-obs from: rq-obs==0.1.0 (--rq-obs-spec, from the package index CI's "
                                     "installer is pointed at (rq-obs is not on PyPI: set PIP_INDEX_URL / "
                                     "UV_INDEX_URL in CI to yours))")
    assert yaml.safe_load((root / ".gitlab-ci.yml").read_text())["rq-obs-quality"]["script"][6] == \
        "pip install rq-obs==0.1.0"


def test_bad_specs_are_refused_and_nothing_is_written(tmp_path, rq_obs_wheel):
    root = _pip_project(tmp_path)
    shutil.copy(rq_obs_wheel, root / WHEEL)  # in the project, not committed
    (root / "vendor").mkdir()
    (root / "vendor/not-a-wheel-1.0-py3-none-any.whl").write_text("text")
    before = _files(root)
    cases = {
        "other-pkg==1": "rq-obs: error: --rq-obs-spec 'other-pkg==1' installs 'other-pkg', not rq-obs; " + OPTIONS_TAIL,
        "rq-obs @ git+https://bot:s3cret@github.com/acme/rq-obs": (
            "rq-obs: error: --rq-obs-spec: the URL carries credentials, which would be written into the pipeline "
            "file; use a URL without them and give CI access another way (a deploy key, or a git credential "
            "helper fed from a CI secret)\n"),
        "vendor/rq_obs-0.1.0-py3-none-any.whl": (
            f"rq-obs: error: --rq-obs-spec vendor/rq_obs-0.1.0-py3-none-any.whl: "
            f"{root / 'vendor/rq_obs-0.1.0-py3-none-any.whl'} does not exist (a wheel path is relative to the "
            f"project {root})\n"),
        "vendor/not-a-wheel-1.0-py3-none-any.whl": (
            f"rq-obs: error: --rq-obs-spec vendor/not-a-wheel-1.0-py3-none-any.whl: "
            f"{root / 'vendor/not-a-wheel-1.0-py3-none-any.whl'} is not a wheel (not a zip file)\n"),
        WHEEL: (f"rq-obs: error: --rq-obs-spec {WHEEL}: {WHEEL} is not committed, so CI's checkout will not have "
                f"it; run `git add -f {WHEEL}` (and commit) first\n"),
        str(rq_obs_wheel): (f"rq-obs: error: --rq-obs-spec {rq_obs_wheel}: the wheel is not inside the project "
                            f"{root}, so CI's checkout will not have it; copy it into the project and commit it\n"),
        "  ": "rq-obs: error: --rq-obs-spec is empty; " + OPTIONS_TAIL,
    }
    for spec, err in cases.items():
        r = run_cli("ci", "generate", str(root), "--provider", "github", "--rq-obs-spec", spec)
        assert (r.code, r.err) == (2, err), spec
        assert "s3cret" not in r.err + r.out
    assert _files(root) == before
    _git(root, "add", "-f", WHEEL)
    r = run_cli("ci", "generate", str(root), "--provider", "github", "--rq-obs-spec", WHEEL)
    assert r.code == 0, r.err
    install = _run_steps(yaml.safe_load((root / ".github/workflows/rq-obs.yml").read_text()))
    assert install["Install the project and rq-obs"].splitlines()[-1] == f"pip install ./{WHEEL}"


# --- the stack directory ----------------------------------------------------------------------

def test_stack_dir_flag_picks_one_of_several_stacks_and_bad_values_are_named(tmp_path):
    root = tmp_path
    _write(root, "pyproject.toml", ATTRS_PYPROJECT)
    _build_stack(root, "observability")
    _build_stack(root, "deploy/grafana")
    _build_stack(root, ".hidden")  # not searched
    _commit_all(root)
    r = run_cli("ci", "generate", str(root), "--provider", "github", "--rq-obs-spec", GIT_URL)
    assert (r.code, r.err) == (2, f"rq-obs: error: found rq-obs stacks in deploy/grafana/, observability/ under "
                                  f"{root}; pass --stack-dir DIR to say which one CI checks\n")
    r = run_cli("ci", "generate", str(root), "--provider", "github", "--rq-obs-spec", GIT_URL,
                "--stack-dir", "deploy/grafana")
    assert r.code == 0, r.err
    assert r.out.splitlines()[4] == "dashboards check: rq-obs build-dashboards --check --out deploy/grafana (--stack-dir)"
    assert _run_steps(yaml.safe_load((root / ".github/workflows/rq-obs.yml").read_text()))["dashboards"] == \
        "rq-obs build-dashboards --check --out deploy/grafana\n"
    for bad, why in [("nowhere", f"{root / 'nowhere'} is not a directory (the path is relative to the project {root})"),
                     ("deploy", f"{root / 'deploy/dashboards/executive.json'} is missing or was not generated by "
                                f"rq-obs; run `rq-obs build --out deploy` first"),
                     ("..", f"not inside the project {root}; CI checks out only the project")]:
        r = run_cli("ci", "generate", str(root), "--provider", "github", "--rq-obs-spec", GIT_URL, "--stack-dir", bad)
        assert (r.code, r.err) == (2, f"rq-obs: error: --stack-dir {bad}: {why}\n")


def test_a_stack_at_the_root_and_one_not_committed(tmp_path, rq_obs_wheel):
    root = tmp_path
    _write(root, "pyproject.toml", ATTRS_PYPROJECT)
    _commit_all(root, "main")
    _build_stack(root, ".")  # after the commit: not committed yet
    _put_wheel(rq_obs_wheel, root / "exporters/dist" / WHEEL)
    _git(root, "add", "-f", f"exporters/dist/{WHEEL}")
    r = run_cli("ci", "generate", str(root), "--provider", "github")
    assert r.code == 0, r.err
    assert r.out.splitlines()[3:5] == [
        f"rq-obs from: exporters/dist/{WHEEL} (the wheel `rq-obs stack wheel` wrote into the stack, committed)",
        "dashboards check: rq-obs build-dashboards --check --out . (found ./dashboards/executive.json generated by "
        "rq-obs; dashboards/executive.json is not committed yet: commit the stack, or CI's check fails)",
    ]
    text = (root / ".github/workflows/rq-obs.yml").read_text()
    assert "# Dashboards: checks that dashboards/ is what this rq-obs generates" in text.splitlines()


# --- base branch ------------------------------------------------------------------------------

def test_base_branch_is_origins_default_branch(tmp_path):
    upstream = tmp_path / "upstream.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "trunk", str(upstream)], check=True)
    work = _commit_all(_write(tmp_path / "seed", "requirements.txt", "pytest\n"), "trunk")
    _git(work, "push", "-q", str(upstream), "trunk")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(upstream), str(clone)], check=True)
    _git(clone, "checkout", "-q", "-b", "feature/x")
    r = run_cli("ci", "generate", str(clone), "--provider", "gitlab", "--rq-obs-spec", GIT_URL)
    assert r.code == 0, r.err
    assert r.out.splitlines()[2] == "base branch: trunk (origin's default branch, refs/remotes/origin/HEAD)"
    ci = yaml.safe_load((clone / ".gitlab-ci.yml").read_text())
    assert ci["workflow"]["rules"][1] == {"if": '$CI_COMMIT_BRANCH == "trunk"'}


@pytest.mark.parametrize("setup, args, expected", [
    ("feature", (), "base branch: main (default: no refs/remotes/origin/HEAD and the current branch 'feature' is "
                    "neither main nor master; pass --base-branch to choose another)"),
    ("none", (), "base branch: main (default: {root} is not a git repository)"),
    ("master", ("--base-branch", "release"), "base branch: release (--base-branch)"),
])
def test_base_branch_fallbacks(tmp_path, setup, args, expected):
    _write(tmp_path, "requirements.txt", "pytest\n")
    if setup != "none":
        _commit_all(tmp_path, setup)
    r = run_cli("ci", "generate", str(tmp_path), "--provider", "github", "--rq-obs-spec", GIT_URL, *args)
    assert r.code == 0, r.err
    assert r.out.splitlines()[2] == expected.format(root=tmp_path)
    wf = yaml.safe_load((tmp_path / ".github/workflows/rq-obs.yml").read_text())
    branch = expected.split()[2]
    assert wf["on"]["push"]["branches"] == [branch] and wf["on"]["pull_request"]["branches"] == [branch]


# --- Python version -------------------------------------------------------------------------

def test_rq_obs_requires_python_is_the_one_in_pyproject():
    import tomllib

    from rq_obs.cigen.detect import rq_obs_requires_python

    assert rq_obs_requires_python() == tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]


@pytest.mark.parametrize("files, expected", [
    ({"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.8"\n[dependency-groups]\ntest = ["pytest"]\n'},
     ("3.10", "the lowest that both pyproject.toml requires-python '>=3.8' and rq-obs (>=3.10) allow")),
    ({"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.12"\n[dependency-groups]\ntest = ["pytest"]\n'},
     ("3.12", "the lowest that both pyproject.toml requires-python '>=3.12' and rq-obs (>=3.10) allow")),
    ({"poetry.lock": "", "pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.9"\n'},
     ("3.10", "the lowest that both pyproject.toml requires-python '>=3.9' and rq-obs (>=3.10) allow")),
    ({"requirements.txt": "x\n"}, ("3.12", "default (no .python-version or requires-python)")),
])
def test_python_is_the_lowest_both_allow(tmp_path, files, expected):
    from rq_obs.cigen.detect import detect

    for name, text in files.items():
        _write(tmp_path, name, text)
    info = detect(tmp_path)
    assert (info.python_version, info.python_source) == expected


@pytest.mark.parametrize("files, error", [
    ({"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.7,<3.10"\n'},
     "pyproject.toml: requires-python '>=3.7,<3.10' and rq-obs' '>=3.10' together allow none of "
     "3.9, 3.10, 3.11, 3.12, 3.13"),
    ({"requirements.txt": "x\n", ".python-version": "3.9.18\n"},
     ".python-version: pins Python 3.9, but rq-obs requires Python >=3.10 and its pytest plugin runs in the "
     "project's environment in CI; pin a version rq-obs supports"),
])
def test_python_no_version_both_allow_is_a_clear_error(tmp_path, files, error):
    for name, text in files.items():
        _write(tmp_path, name, text)
    r = run_cli("ci", "generate", str(tmp_path), "--provider", "github", "--rq-obs-spec", GIT_URL)
    assert (r.code, r.err) == (2, f"rq-obs: error: {tmp_path}/{error}\n")
    assert _files(tmp_path) == set(files)


# --- PATH given a provider name -------------------------------------------------------------

def test_provider_given_as_path_gets_a_hint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for provider in ("github", "gitlab", "jenkins"):
        r = run_cli("ci", "generate", provider)
        assert r.code == 2
        assert r.err.splitlines()[0] == (f"rq-obs: error: Invalid value for '[PATH]': Directory '{provider}' does not exist; "
                                          f"did you mean --provider {provider}? "
                                          f"(usage: rq-obs ci generate [PATH] --provider {provider})")
    r = run_cli("ci", "generate", "elsewhere", "--provider", "github")
    assert r.code == 2 and r.err.splitlines()[0] == "rq-obs: error: Invalid value for '[PATH]': Directory 'elsewhere' does not exist."
    assert not any(tmp_path.iterdir())


# --- what the pipeline runs, on each provider ------------------------------------------------

def test_github_workflow_validates_and_runs_the_rq_obs_commands(tmp_path):
    root = _pip_project(tmp_path)
    r = run_cli("ci", "generate", str(root), "--provider", "github", "--rq-obs-spec", GIT_URL)
    assert r.code == 0, r.err
    assert r.out.splitlines()[0] == \
        "python 3.11 (.python-version), pip, tests: pytest --rq-obs --cov --cov-report=json:coverage.json"
    assert r.out.splitlines()[1] == ("test dependencies: requirements file (requirements.txt); requirements file "
                                     "(requirements-dev.txt); and by the pipeline: pytest, pytest-cov")
    assert r.out.splitlines()[5:] == ["created   .github/workflows/rq-obs.yml", "created   .quality-gates.yaml"]
    text = (root / ".github/workflows/rq-obs.yml").read_text()
    wf = yaml.safe_load(text)
    _validate(wf, "github-workflow.schema.json")
    assert set(wf["on"]) == {"push", "pull_request", "release"} and wf["on"]["pull_request"]["branches"] == ["main"]
    steps = wf["jobs"]["quality"]["steps"]
    setup = next(s for s in steps if s.get("uses") == "actions/setup-python@v5")
    assert setup["with"] == {"python-version": "3.11", "cache": "pip",
                             "cache-dependency-path": "requirements-dev.txt\nrequirements.txt\n"}
    run = _run_steps(wf)
    install = next(v for k, v in run.items() if k.startswith("Install"))
    assert install.splitlines() == ["python -m pip install --upgrade pip", "pip install -r requirements.txt",
                                    "pip install -r requirements-dev.txt",
                                    "pip install pytest pytest-cov",
                                    "pip install 'rq-obs @ git+https://github.com/acme/rq-obs@v0.1.0'"]
    assert run["tests"] == "pytest --rq-obs --cov --cov-report=json:coverage.json\n"
    assert run["snapshot"].splitlines()[0] == ('rq-obs snapshot --release "$RQ_OBS_RELEASE" $([ -s coverage.json ] && '
                                               'echo "--coverage coverage.json") $([ -s vulns.json ] && echo "--vulns '
                                               'vulns.json")')
    assert 'rq-obs compare "$(cat .rq-obs/ci-base-release)" "$RQ_OBS_RELEASE" --format markdown > rq-obs-report.md' in run["compare"]
    assert "rq-obs gate > rq-obs-gate.txt" in run["gate"]
    gated = [s["id"] for s in steps if s.get("continue-on-error") and "id" in s]
    assert gated == ["tests", "compare", "gate"]
    final = steps[-1]
    assert final["if"] == "always()"
    for key in gated:
        assert f"steps.{key}.outcome" in final["run"]
    summary = next(s for s in steps if s["name"].startswith("Publish"))
    assert ">> $GITHUB_STEP_SUMMARY" in summary["run"] and summary["if"] == "always()"
    comment = next(s for s in steps if s["name"].startswith("Comment"))
    assert comment["run"].startswith("gh pr comment") and "pull_request" in comment["if"]
    upload = next(s for s in steps if s.get("uses") == "actions/upload-artifact@v4")
    assert upload["with"]["path"] == ".rq-obs/" and upload["with"]["include-hidden-files"] is True
    assert wf["permissions"]["pull-requests"] == "write"
    # the baseline approach is explained in the file
    assert text.startswith("# Generated by `rq-obs ci generate`") and "Baseline:" in text
    # second run: nothing changes, byte-identical
    r2 = run_cli("ci", "generate", str(root), "--provider", "github", "--rq-obs-spec", GIT_URL)
    assert r2.code == 0 and "unchanged .github/workflows/rq-obs.yml" in r2.out
    assert (root / ".github/workflows/rq-obs.yml").read_text() == text


def test_quality_gates_file_has_the_config_values_and_is_never_overwritten(tmp_path):
    root = _pip_project(tmp_path)
    (root / "pyproject.toml").write_text("[tool.rq-obs]\nmin_quality_score = 90\nmax_regressions = 2\n")
    assert run_cli("ci", "generate", str(root), "--provider", "gitlab", "--rq-obs-spec", GIT_URL).code == 0
    gates = yaml.safe_load((root / ".quality-gates.yaml").read_text())
    assert gates == {"min_score": 90.0, "max_regressions": 2, "max_vulnerabilities": 0, "min_coverage": 0.0,
                     "max_failing_tests": 0}
    (root / ".quality-gates.yaml").write_text("min_score: 70\n")
    r = run_cli("ci", "generate", str(root), "--provider", "gitlab", "--force", "--rq-obs-spec", GIT_URL)
    assert r.code == 0 and "kept      .quality-gates.yaml" in r.out
    assert (root / ".quality-gates.yaml").read_text() == "min_score: 70\n"


def test_gitlab_pipeline_validates_and_enforces_gates_at_the_end(tmp_path):
    root = tmp_path
    (root / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\nrequires-python = ">=3.10"\n'
                                         '[project.optional-dependencies]\ntest = ["pytest", "pytest-benchmark"]\n')
    _commit_all(root, "main")
    r = run_cli("ci", "generate", str(root), "--provider", "gitlab", "--push-url", "https://rq.example/api",
                "--rq-obs-spec", GIT_URL)
    assert r.code == 0, r.err
    ci = yaml.safe_load((root / ".gitlab-ci.yml").read_text())
    _validate(ci, "gitlab-ci.schema.json")
    job = ci["rq-obs-quality"]
    assert job["image"] == "python:3.10"  # lowest version requires-python allows
    script = job["script"]
    assert "pip install -e '.[test]'" in script and f"pip install {shlex.quote(GIT_URL)}" in script
    tests = next(s for s in script if "pytest --rq-obs" in s)
    assert "pytest --rq-obs --cov --cov-report=json:coverage.json --benchmark-json=benchmark.json" in tests and tests.endswith("|| echo tests >> .rq-obs/ci-failed")
    snap = next(s for s in script if "rq-obs snapshot" in s)
    assert 'rq-obs snapshot --release "$RQ_OBS_RELEASE" $([ -s benchmark.json ] && echo "--benchmarks benchmark.json")' in snap
    assert script[-1].startswith("if [ -s .rq-obs/ci-failed ]") and "exit 1" in script[-1]
    assert job["artifacts"]["when"] == "always" and ".rq-obs/" in job["artifacts"]["paths"]
    assert any("merge_requests/$CI_MERGE_REQUEST_IID/notes" in s for s in job["after_script"])
    assert job["after_script"][-1] == ("rq-obs push --url https://rq.example/api ${CI_MERGE_REQUEST_IID:+--no-snapshots} "
                                       "|| echo 'rq-obs push failed'")
    # secrets are CI/CD variables read at run time: nothing but a variable reference is in the file
    body = "\n".join(l for l in (root / ".gitlab-ci.yml").read_text().splitlines() if not l.startswith("#"))
    assert re.findall(r"\S*TOKEN\S*", body.replace("JOB-TOKEN: $CI_JOB_TOKEN", "")) == [
        '"$RQ_OBS_GITLAB_TOKEN"', '"PRIVATE-TOKEN:', '$RQ_OBS_GITLAB_TOKEN"']


def _groovy_balanced(text: str) -> None:
    # drop comments and string literals, then braces/parens must balance
    stripped = re.sub(r"'''.*?'''", "''", text, flags=re.S)
    stripped = re.sub(r"//[^\n]*", "", stripped)
    stripped = re.sub(r"'[^'\n]*'|\"[^\"\n]*\"", "''", stripped)
    for o, c in ("{}", "()", "[]"):
        depth = 0
        for ch in stripped:
            depth += (ch == o) - (ch == c)
            assert depth >= 0, f"unbalanced {c}"
        assert depth == 0, f"unbalanced {o}{c}"


def test_jenkinsfile_is_a_well_formed_declarative_pipeline(tmp_path, rq_obs_wheel):
    (tmp_path / "uv.lock").write_text("version = 1\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\ndependencies = []\n')
    (tmp_path / ".python-version").write_text("3.12\n")
    _build_stack(tmp_path)
    _put_wheel(rq_obs_wheel, tmp_path / STACK_WHEEL)
    _commit_all(tmp_path, "master", STACK_WHEEL)
    r = run_cli("ci", "generate", str(tmp_path), "--provider", "jenkins", "--format", "json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["project"]["package_manager"] == "uv" and out["project"]["test_command"] == "pytest --rq-obs" + COV
    text = (tmp_path / "Jenkinsfile").read_text()
    _groovy_balanced(text)
    body = "\n".join(l for l in text.splitlines() if not l.startswith("//"))
    assert body.startswith("pipeline {\n    agent { docker { image 'python:3.12' } }")
    stages = re.findall(r"stage\('([^']+)'\)", text)
    assert stages == ["Install", "Baseline", "Run the tests with the rq-obs plugin",
                      "Audit the dependencies for known vulnerabilities (pip-audit)", "Snapshot the release",
                      "Compare with the base branch", "Check the generated dashboards", "Enforce the quality gates"]
    assert text.count("catchError(buildResult: 'FAILURE', stageResult: 'FAILURE')") == 4
    assert "uv run pytest --rq-obs" in text and "uv run rq-obs gate" in text
    assert "                    uv run rq-obs build-dashboards --check --out observability\n" in text
    assert f"                    uv pip install --python .venv/bin/python {STACK_WHEEL}\n" in text
    assert "BASE_BRANCH = \"${env.CHANGE_TARGET ?: 'master'}\"" in text
    assert "post {\n        always {" in text and "archiveArtifacts artifacts: '.rq-obs/**" in text


def test_existing_pipeline_is_not_replaced_without_force(tmp_path):
    root = _pip_project(tmp_path)
    (root / "Jenkinsfile").write_text("pipeline { }\n")
    r = run_cli("ci", "generate", str(root), "--provider", "jenkins", "--rq-obs-spec", GIT_URL)
    assert r.code == 2 and "Jenkinsfile exists and differs" in r.err and "--force" in r.err
    assert (root / "Jenkinsfile").read_text() == "pipeline { }\n" and not (root / ".quality-gates.yaml").exists()
    assert run_cli("ci", "generate", str(root), "--provider", "jenkins", "--force", "--rq-obs-spec", GIT_URL).code == 0
    assert (root / "Jenkinsfile").read_text().count("stage(") == 7  # no stack: no dashboards stage


@pytest.mark.parametrize("files, expected", [
    ({"poetry.lock": "", "pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.11"\n'},
     ("3.11", "poetry", "poetry install --no-interaction --all-extras")),
    ({"Pipfile.lock": "{}", "Pipfile": "[dev-packages]\npytest = \"*\"\n"}, ("3.12", "pipenv", "pipenv sync --dev")),
    ({"requirements.txt": "x\n", ".python-version": "pypy3.9\n"}, None),
])
def test_detection(tmp_path, files, expected):
    from rq_obs.cigen.detect import detect
    from rq_obs.errors import InputError

    for name, text in files.items():
        (tmp_path / name).write_text(text)
    if expected is None:
        with pytest.raises(InputError, match=r"\.python-version: expected a version like 3.11"):
            detect(tmp_path)
        return
    info = detect(tmp_path)
    assert (info.python_version, info.package_manager, info.install[1]) == expected
    assert info.install[-1] == f"{expected[1]} run pip install pytest pytest-cov"


def test_nothing_installable_is_a_clear_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n')
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "docs.txt").write_text("sphinx\n")
    r = run_cli("ci", "generate", str(tmp_path), "--provider", "github")
    assert (r.code, r.out) == (2, "")
    assert r.err == (f"rq-obs: error: {tmp_path}: found no way to install the tests: looked at pyproject.toml, "
                     "requirements*.txt, requirements/, uv.lock, poetry.lock, Pipfile.lock, Pipfile, tox.ini, "
                     "noxfile.py and none declares test dependencies (an extra or [dependency-groups] group named "
                     "test/tests/testing/dev, requirements.txt, a requirements file named for tests, a lock file, tox "
                     "[testenv] deps or nox session installs); declare them, e.g. [dependency-groups] test = "
                     "[\"pytest\"] in pyproject.toml\n")
    assert _files(tmp_path) == {"pyproject.toml", "requirements/docs.txt"}


def test_command_help_does_not_import_libcst_or_yaml():
    code = ("import sys\nfrom rq_obs.cli import main\n"
            "for args in (['instrument', '--help'], ['ci', 'generate', '--help']):\n"
            "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
            "print('LOADED', [m for m in ('libcst', 'yaml', 'jsonschema') if m in sys.modules])")
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "LOADED []" in cp.stdout, cp.stdout + cp.stderr
