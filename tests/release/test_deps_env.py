"""Which Python environment `rq-obs snapshot` records: --python, snapshot_python, a detected project .venv, rq-obs's own.

The second environments are real virtualenvs (``venv``, no pip) holding hand-made ``.dist-info`` directories,
so the exact set of distributions a snapshot must list is known.
"""

import ast
import json
import platform
import sys
import venv
from dataclasses import replace
from pathlib import Path

import pytest

from rq_obs.compare import compare
from rq_obs.compare.report import render
from rq_obs.config import Config
from rq_obs.errors import UsageError
from rq_obs.snapshot import pyenv
from rq_obs.snapshot.store import list_snapshots, load_snapshot
from rq_obs.store import Store
from tests.helpers.cli import run_cli
from tests.release.factory import deps, make

PY = platform.python_version()
BIN = "Scripts/python.exe" if sys.platform == "win32" else "bin/python"

# (Name as written in METADATA, version, extra METADATA lines)
FAKE = (
    ("Alpha_Pkg", "1.2.3", ["License-Expression: MIT"]),
    ("beta.lib", "0.9", ["Classifier: License :: OSI Approved :: Apache Software License"]),
    ("Gamma", "2.0.0rc1", ["License: Copyright (c) Gamma authors", "        All rights reserved."]),
    ("demo", "1.0", []),  # the project itself: never its own dependency
)
# what the snapshot must record for FAKE in _project() (alpha-pkg is declared in its pyproject.toml)
EXPECTED = [
    {"name": "alpha-pkg", "version": "1.2.3", "kind": "direct", "ecosystem": "pypi", "license": "MIT", "hashes": [],
     "source": "installed"},
    {"name": "beta-lib", "version": "0.9", "kind": "transitive", "ecosystem": "pypi", "license": "Apache-2.0",
     "hashes": [], "source": "installed"},
    {"name": "gamma", "version": "2.0.0rc1", "kind": "transitive", "ecosystem": "pypi", "license": "UNKNOWN",
     "hashes": [], "source": "installed"},
]


def make_venv(where: Path, dists=FAKE) -> Path:
    """A real virtualenv (no pip) with ``dists`` as .dist-info directories; returns its interpreter."""
    venv.create(where, with_pip=False, symlinks=sys.platform != "win32")
    site = next(where.glob("lib/python*/site-packages"), None) or where / "Lib" / "site-packages"
    for name, version, extra in dists:
        info = site / f"{name.replace('-', '_').replace('.', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("\n".join(["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", *extra])
                                       + "\n")
    return where / BIN


def _project(tmp_path: Path, extra: str = "") -> Path:
    proj = tmp_path / "proj"
    proj.mkdir(parents=True)
    (proj / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1.0"\ndependencies = ["alpha-pkg>=1"]\n'
                                         + extra)
    return proj


def _snap(proj: Path, db: Path, *args, release="v1"):
    return run_cli("--project", proj, "snapshot", "--release", release, "--store", db, "--commit", "", *args)


def test_python_flag_records_that_environment_and_not_rq_obs(tmp_path):
    proj = _project(tmp_path)
    exe = make_venv(tmp_path / "elsewhere")
    db = tmp_path / "s.db"
    r = _snap(proj, db, "--python", exe, "--format", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["dependencies"] == EXPECTED  # exactly the venv's distributions: no click, psutil, rq-obs...
    assert doc["dependency_environment"] == {"interpreter": str(exe), "python": PY, "implementation": "CPython",
                                             "kind": "other", "chosen_by": "--python"}
    assert r.err.splitlines(keepends=True)[-1] == (f"rq-obs: dependencies read from {exe} (Python {PY}), given by --python: an environment "
                     f"outside the project\n")
    stored = load_snapshot(Store(db), "v1")
    assert [d.name for d in stored.dependencies] == ["alpha-pkg", "beta-lib", "gamma"]
    assert stored.dependency_environment["kind"] == "other"
    # the SBOM of that snapshot lists the same three components
    bom = json.loads(run_cli("sbom", "--store", db).out)
    assert [c["purl"] for c in bom["components"]] == [
        "pkg:pypi/alpha-pkg@1.2.3", "pkg:pypi/beta-lib@0.9", "pkg:pypi/gamma@2.0.0rc1"]
    assert bom["metadata"]["properties"] == [{"name": "rq-obs:python-interpreter", "value": str(exe)},
                                             {"name": "rq-obs:python-version", "value": PY},
                                             {"name": "rq-obs:python-environment", "value": "other"}]


def test_project_venv_is_detected_and_said(tmp_path):
    proj = _project(tmp_path)
    make_venv(proj / ".venv")
    db = tmp_path / "s.db"
    r = _snap(proj, db)
    assert r.code == 0, r.err
    line = (f"  dependencies read from .venv/{BIN} (Python {PY}): the project's virtualenv, detected (rq-obs runs from "
            f"{sys.prefix}; --python picks another)")
    assert line in r.out.splitlines()
    snap = load_snapshot(Store(db), "v1")
    assert [(d.name, d.version, d.kind, d.license) for d in snap.dependencies] == [
        (e["name"], e["version"], e["kind"], e["license"]) for e in EXPECTED]
    assert dict(snap.dependency_environment) == {"interpreter": f".venv/{BIN}", "python": PY, "implementation": "CPython",
                                                 "kind": "project", "chosen_by": "detected"}


def test_without_a_venv_rq_obs_own_environment_is_read_and_said(tmp_path):
    proj = _project(tmp_path)
    db = tmp_path / "s.db"
    r = _snap(proj, db)
    assert r.code == 0, r.err
    interp = sys.executable  # outside the project: shown absolute
    assert (f"  dependencies read from {interp} (Python {PY}): rq-obs's own environment (no .venv or venv in the "
            f"project; --python or snapshot_python reads the project's)") in r.out.splitlines()
    snap = load_snapshot(Store(db), "v1")
    names = {d.name for d in snap.dependencies}
    assert {"click", "psutil", "prometheus-client"} <= names  # rq-obs's own dependencies, as before
    assert snap.dependency_environment == {"interpreter": interp, "python": PY, "implementation": "CPython",
                                           "kind": "rq-obs", "chosen_by": "rq-obs"}


def test_rq_obs_running_from_the_project_venv_reads_it_in_process(tmp_path):
    """What the generated CI pipelines do (rq-obs installed into the project's environment): a real rq-obs
    process started from the project's .venv records that environment, read in process."""
    import site
    import subprocess

    proj = _project(tmp_path)
    exe = make_venv(proj / ".venv")
    # make rq-obs importable from the project's venv, as installing it there would
    venv_site = next((proj / ".venv").glob("lib/python*/site-packages"), None) or proj / ".venv" / "Lib" / "site-packages"
    (venv_site / "rq_obs_under_test.pth").write_text(
        "".join(f"import site; site.addsitedir({d!r})\n" for d in site.getsitepackages()))
    db = tmp_path / "s.db"
    res = subprocess.run([str(exe), "-m", "rq_obs", "--project", str(proj), "snapshot", "--release", "v1", "--store",
                          str(db), "--commit", "", "--format", "json"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["dependency_environment"] == {"interpreter": f".venv/{BIN}", "python": PY, "implementation": "CPython",
                                             "kind": "project", "chosen_by": "rq-obs"}
    assert res.stderr.splitlines(keepends=True)[-1] == (f"rq-obs: dependencies read from .venv/{BIN} (Python {PY}): the project's virtualenv, "
                          f"which rq-obs runs from\n")
    names = {d["name"] for d in doc["dependencies"]}
    assert {"alpha-pkg", "beta-lib", "gamma", "click"} <= names and "demo" not in names


def test_snapshot_python_setting_is_relative_to_the_project(tmp_path):
    proj = _project(tmp_path, '\n[tool.rq-obs]\nsnapshot_python = "envs/app/bin/python"\n')
    make_venv(proj / "envs" / "app")
    make_venv(proj / ".venv", FAKE[:1])  # the setting wins over detection
    db = tmp_path / "s.db"
    r = _snap(proj, db, "--format", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["dependencies"] == EXPECTED
    assert doc["dependency_environment"]["interpreter"] == "envs/app/bin/python"
    assert doc["dependency_environment"]["chosen_by"] == "snapshot_python"
    assert doc["dependency_environment"]["kind"] == "project"
    # --python wins over the setting
    r = _snap(proj, db, "--python", proj / ".venv" / BIN, "--format", "json", release="v2")
    assert [d["name"] for d in json.loads(r.out)["dependencies"]] == ["alpha-pkg"]


def _fake(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


@pytest.mark.skipif(sys.platform == "win32", reason="the fake interpreters are shell scripts")
def test_errors_name_the_interpreter_and_store_nothing(tmp_path):
    proj = _project(tmp_path)
    db = tmp_path / "s.db"
    good = make_venv(tmp_path / "good")
    assert _snap(proj, db, "--python", good).code == 0
    before = Store(db).query("SELECT document FROM release_snapshots")[0]["document"]

    missing = tmp_path / "nope" / "bin" / "python"
    not_python = _fake(tmp_path / "not-python", "echo hello")
    not_exec = tmp_path / "plain-file"
    not_exec.write_text("")
    no_format = tmp_path / "no-format"  # executable, but neither a script with #! nor a binary the OS knows
    no_format.write_bytes(b"\x00\x01garbage")
    no_format.chmod(0o755)
    # stands in for Python 3.7.9: runs the very script rq-obs passes (-E -c SCRIPT) with an older version_info
    old = _fake(tmp_path / "python3.7",
                f'exec {sys.executable} -c "import sys; sys.version_info = (3, 7, 9, \'final\', 0); exec(sys.argv[1])" "$3"')
    crashed = _fake(tmp_path / "crashing", f"echo '{pyenv.MARKER}'; echo 'Traceback (most recent call last):' >&2; "
                                           "echo 'ValueError: boom' >&2; exit 1")
    garbled = _fake(tmp_path / "garbled", f"echo '{pyenv.MARKER}'; echo '{{not json'")
    cases = [
        (missing, "not found"),
        (not_python, "not a Python interpreter (exit code 0; it printed 'hello')"),
        (not_exec, "not executable"),
        (no_format, "cannot run it (Exec format error)"),
        (tmp_path, "is a directory; expected a Python interpreter such as .venv/bin/python"),
        (old, "Python 3.7.9 is too old; listing its installed distributions needs Python 3.8 or later"),
        (crashed, "listing its installed distributions failed (exit code 1): ValueError: boom"),
        (garbled, "printed output rq-obs cannot read (not JSON after the marker line: Expecting property name "
                  "enclosed in double quotes: line 1 column 2 (char 1))"),
    ]
    for exe, problem in cases:
        for release in ("v1", "v2"):  # neither replaces v1 nor adds v2
            r = _snap(proj, db, "--python", exe, release=release)
            assert (r.code, r.out) == (2, ""), (exe, r)
            assert r.err == f"rq-obs: error: interpreter {exe} (--python): {problem}\n"
    store = Store(db)
    assert [s["release"] for s in list_snapshots(store)] == ["v1"]
    assert store.query("SELECT document FROM release_snapshots")[0]["document"] == before

    # a bad setting names where it was set
    bad = _project(tmp_path / "b", '\n[tool.rq-obs]\nsnapshot_python = "nope/bin/python"\n')
    r = _snap(bad, db, release="v3")
    assert r.code == 2
    assert r.err == (f"rq-obs: error: interpreter {bad / 'nope/bin/python'} (snapshot_python from "
                     f"{bad / 'pyproject.toml'}): not found\n")


@pytest.mark.skipif(sys.platform == "win32", reason="the fake interpreter is a shell script")
def test_an_interpreter_that_hangs_is_stopped_at_the_timeout(tmp_path):
    hang = _fake(tmp_path / "hang", "exec sleep 30")
    with pytest.raises(UsageError) as err:
        pyenv.read(pyenv.choose(tmp_path, str(hang)), tmp_path, timeout=0.5)
    assert str(err.value) == f"interpreter {hang} (--python): did not list its installed distributions within 0.5 s"


def test_the_script_lists_exactly_what_rq_obs_reads_in_process(tmp_path):
    """The listing script, run on rq-obs's own interpreter, gives the in-process result (names, versions, licences)."""
    own_env, own = pyenv.read(pyenv.Target(None, "rq-obs", "rq-obs's environment"), tmp_path)
    sub_env, sub = pyenv.read(pyenv.choose(tmp_path, sys.executable), tmp_path)
    assert len(own) > 20 and sub == own
    assert (sub_env.kind, sub_env.python, sub_env.chosen_by) == ("rq-obs", PY, "--python")


def test_the_script_parses_as_old_python_so_old_interpreters_reach_the_version_check():
    ast.parse(pyenv.SCRIPT, feature_version=(3, 4))  # no f-strings, walrus, positional-only parameters...


def test_detection_order_and_rq_obs_running_from_the_venv(tmp_path, monkeypatch):
    proj = tmp_path / "p"
    (proj / "venv" / "Scripts").mkdir(parents=True)
    (proj / "venv" / "Scripts" / "python.exe").write_text("")
    assert pyenv.detect_project_venv(proj) == (proj / "venv" / "Scripts" / "python.exe", False)
    (proj / ".venv" / "bin").mkdir(parents=True)
    (proj / ".venv" / "bin" / "python").write_text("")
    assert pyenv.detect_project_venv(proj) == (proj / ".venv" / "bin" / "python", False)
    assert pyenv.choose(proj, None) == pyenv.Target(proj / ".venv" / "bin" / "python", "detected", "detected virtualenv")
    # rq-obs itself runs from the project's .venv: read in process (what the generated CI pipelines do)
    monkeypatch.setattr(sys, "prefix", str(proj / ".venv"))
    assert pyenv.choose(proj, None) == pyenv.Target(None, "rq-obs", "rq-obs's environment")
    assert pyenv.choose(tmp_path / "empty", None).path is None


def _env(kind: str, interpreter: str, python: str = "3.11.7", chosen_by: str = "detected") -> dict:
    return {"interpreter": interpreter, "python": python, "implementation": "CPython", "kind": kind, "chosen_by": chosen_by}


def test_compare_warns_when_snapshots_describe_different_kinds_of_environment():
    config = Config()
    base = replace(make("v1", 1.0, dependencies=deps("click==8.1.7", "psutil==5.9.8~"), code_quality=90),
                   dependency_environment=_env("rq-obs", "/usr/bin/python3", chosen_by="rq-obs"))
    head = replace(make("v2", 2.0, dependencies=deps("click==8.1.7"), code_quality=90),
                   dependency_environment=_env("project", ".venv/bin/python", "3.12.1"))
    c = compare(base, head, config)
    note = ("dependencies were read from different environments: v1 from rq-obs's own environment (/usr/bin/python3, "
            "Python 3.11.7), v2 from the project's environment (.venv/bin/python, Python 3.12.1); dependency changes "
            "may come from that, not from the release (rq-obs snapshot --python picks the environment)")
    assert (c.recommendation, c.risk, c.reasons) == ("review", "medium", (note,))
    read_from = ("Read from: base /usr/bin/python3 (Python 3.11.7, rq-obs's own environment); head .venv/bin/python "
                 "(Python 3.12.1, the project's environment)")
    assert f"  {read_from}" in render(c, "text").splitlines()
    assert f"{read_from}." in render(c, "markdown").splitlines()
    assert c.to_dict()["dependencies"]["environments"] == {"base": base.dependency_environment,
                                                           "head": head.dependency_environment}
    # same kind (another interpreter path, another patch version): no note
    same = replace(head, dependency_environment=_env("project", "venv/bin/python", "3.12.2"))
    assert compare(replace(base, dependency_environment=head.dependency_environment), same, config).reasons == ()
    # a snapshot taken before rq-obs recorded the environment: nothing to compare, nothing said
    old = replace(base, dependency_environment={})
    assert compare(old, head, config).reasons == ()
    assert "  Read from: base not recorded; head .venv/bin/python (Python 3.12.1, the project's environment)" in \
        render(compare(old, head, config), "text").splitlines()


def test_recorded_environment_round_trips_and_a_bad_kind_is_named():
    from rq_obs.errors import InputError
    from rq_obs.snapshot.model import snapshot_from_dict

    env = _env("project", ".venv/bin/python")
    snap = replace(make("v1", 1.0), dependency_environment=env)
    assert snapshot_from_dict(json.loads(json.dumps(snap.to_dict()))).dependency_environment == env
    doc = json.loads(json.dumps(snap.to_dict()))
    del doc["dependency_environment"]  # a snapshot from before it was recorded
    assert snapshot_from_dict(doc).dependency_environment == {}
    doc["dependency_environment"] = dict(env, kind="laptop")
    with pytest.raises(InputError) as err:
        snapshot_from_dict(doc)
    assert str(err.value) == "snapshot.dependency_environment: field 'kind' is 'laptop'; expected one of project, rq-obs, other"
    doc["dependency_environment"] = dict(env, python=3.12)
    with pytest.raises(InputError) as err:
        snapshot_from_dict(doc)
    assert str(err.value) == "snapshot.dependency_environment: field 'python' is 3.12; expected a string"
