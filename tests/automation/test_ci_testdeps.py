"""Test dependencies found the way a project declares them, and the install lines the pipeline runs for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from rq_obs.cigen.detect import detect
from rq_obs.cigen.testdeps import is_test_name
from rq_obs.config import Config

PROJECT = '[project]\nname = "x"\nversion = "1"\n'
UPGRADE = "python -m pip install --upgrade pip"
NOX = '''import nox

@nox.session(python=["3.11", "3.12"])
def tests(session):
    session.install("-r", "requirements/ci.txt")
    session.install(".[extra]", "pytest-mock")
    session.install(*session.posargs)  # built at run time: missed, hence "best effort"

@nox.session
def docs(session):
    session.install("sphinx")
'''
TOX = '''[tox]
envlist = py3{9,10}

[testenv]
deps =
    pytest>=7
    -r{toxinidir}/requirements-ci.txt
    py39: typing-extensions
    {[base]deps}
extras = testing
commands = pytest {posargs}
'''


def _project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize("files, found, install", [
    ({"pyproject.toml": PROJECT + '[project.optional-dependencies]\ntesting = ["pytest"]\ndocs = ["sphinx"]\ndev = ["tox"]\n'
                                  '[dependency-groups]\ntest = ["hypothesis"]\nlint = ["ruff"]\n'},
     ["extra 'testing' (pyproject.toml)", "dependency group 'test' (pyproject.toml)"],
     [UPGRADE, "pip install -e '.[testing]' --group test"]),
    ({"pyproject.toml": '[dependency-groups]\ndev = ["pytest"]\n'},  # not installable itself: only the group
     ["dependency group 'dev' (pyproject.toml)"], [UPGRADE, "pip install --group dev"]),
    ({"setup.py": "", "setup.cfg": "[options.extras_require]\ntests = pytest\n",
      "requirements/tests.txt": "pytest\n", "requirements/docs.txt": "sphinx\n", "requirements/dev.in": "tox\n"},
     ["extra 'tests' (setup.cfg)", "requirements file (requirements/tests.txt)"],  # tests win over dev
     [UPGRADE, "pip install -r requirements/tests.txt", "pip install -e '.[tests]'"]),
    ({"setup.py": "", "requirements/dev.in": "tox\n", "requirements/docs.txt": "sphinx\n"},  # dev when no tests
     ["requirements file (requirements/dev.in)"], [UPGRADE, "pip install -r requirements/dev.in", "pip install -e ."]),
    ({"setup.py": "", "requirements-test.txt": "pytest\n", "requirements.txt": "click\n",
      "requirements-docs.txt": "sphinx\n"},
     ["requirements file (requirements.txt)", "requirements file (requirements-test.txt)"],
     [UPGRADE, "pip install -r requirements.txt", "pip install -r requirements-test.txt", "pip install -e ."]),
    ({"setup.py": "", "tox.ini": TOX},
     ["[testenv] deps (tox.ini)", "[testenv] extras testing (tox.ini)"],
     [UPGRADE, "pip install -e .", "pip install 'pytest>=7' -r requirements-ci.txt", "pip install '.[testing]'"]),
    ({"pyproject.toml": PROJECT, "noxfile.py": NOX},
     ["session 'tests' installs (best effort: literal arguments only) (noxfile.py)"],
     [UPGRADE, "pip install -e .", "pip install -r requirements/ci.txt '.[extra]' pytest-mock"]),
    ({"pyproject.toml": PROJECT + '[dependency-groups]\ntests = ["pytest"]\n', "uv.lock": ""},
     ["lock file (uv sync) (uv.lock)", "dependency group 'tests' (pyproject.toml)"],
     ["pip install uv", "uv sync --frozen --all-extras --group tests"]),
    ({"pyproject.toml": '[tool.poetry.group.test.dependencies]\npytest = "*"\n[tool.poetry.group.docs.dependencies]\n'
                        'sphinx = "*"\n', "poetry.lock": ""},
     ["Poetry group 'test' (pyproject.toml)", "lock file (poetry install) (poetry.lock)"],
     ["pip install poetry", "poetry install --no-interaction --all-extras --with test"]),
    ({"Pipfile": '[dev-packages]\npytest = "*"\n'},
     ["[dev-packages] (pipenv install --dev) (Pipfile)"], ["pip install pipenv", "pipenv install --dev"]),
])
def test_each_way_a_project_declares_test_dependencies(tmp_path, files, found, install):
    info = detect(_project(tmp_path, files), Config())
    assert sorted(f.describe() for f in info.test_deps) == sorted(found)
    installer = info.installer()
    assert list(info.install) == [*install, f"{installer} pytest pytest-cov"]


def test_coverage_and_benchmarks_follow_the_config(tmp_path):
    _project(tmp_path, {"requirements.txt": "pytest\n"})
    off = detect(tmp_path, Config(ci_coverage=False))
    assert (off.install[-1], off.test_command) == ("pip install pytest", "pytest --rq-obs")
    on = detect(tmp_path, Config(ci_benchmarks=True))
    assert on.install[-1] == "pip install pytest pytest-cov pytest-benchmark"
    assert on.test_command == "pytest --rq-obs --cov --cov-report=json:coverage.json --benchmark-json=benchmark.json"
    # a project that already depends on pytest-benchmark gets it measured without the setting
    (tmp_path / "requirements-dev.txt").write_text("pytest-benchmark\n")
    assert detect(tmp_path, Config(ci_coverage=False)).test_command == "pytest --rq-obs --benchmark-json=benchmark.json"


@pytest.mark.parametrize("name, expected", [("test", True), ("tests-extra", True), ("dev_requirements", True),
                                            ("testing", True), ("docs", False), ("latest", False), ("devops", False)])
def test_test_names(name, expected):
    assert is_test_name(name) is expected
