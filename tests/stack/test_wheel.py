"""`rq-obs stack wheel`: the wheel the exporter image installs, built or repacked from the rq-obs a user has.

The wheels are installed into fresh venvs (no pip, no rq-obs, no PYTHONPATH to this checkout);
rq-obs' dependencies are made importable there through a .pth file naming this venv's
site-packages (so nothing is downloaded), and every test checks that ``rq_obs`` then comes from
the fresh venv, not from the checkout. No image is built: there is no Docker engine here.
"""

import base64
import csv
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from rq_obs import __version__
from rq_obs.errors import UsageError
from rq_obs.stack import wheel
from tests.helpers.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
WHEEL = f"rq_obs-{__version__}-py3-none-any.whl"
DIST_INFO = f"rq_obs-{__version__}.dist-info"


def _fresh_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    (site,) = (path / "lib").glob("python*/site-packages")
    deps = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (site / "zz_rq_obs_test_deps.pth").write_text("\n".join(deps) + "\n")
    return path


def _install(venv: Path, whl: Path) -> None:
    cp = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                         "--no-deps", "--no-index", "-q", str(whl)], capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def _run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(venv / "bin" / "rq-obs"), *args], capture_output=True, text=True, env=_env(),
                          cwd=cwd, timeout=120)


def _rq_obs_file(venv: Path, cwd: Path) -> str:
    cp = subprocess.run([str(venv / "bin" / "python"), "-c", "import rq_obs; print(rq_obs.__file__)"],
                        capture_output=True, text=True, env=_env(), cwd=cwd, check=True)
    return cp.stdout.strip()


def _entries(whl: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(whl) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _source_files() -> dict[str, bytes]:
    return {p.relative_to(ROOT).as_posix(): p.read_bytes() for p in sorted((ROOT / "rq_obs").rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def _assert_record_matches(entries: dict[str, bytes]) -> None:
    rows = list(csv.reader(io.StringIO(entries[f"{DIST_INFO}/RECORD"].decode())))
    assert sorted(r[0] for r in rows) == sorted(entries)
    for name, digest, size in rows:
        if name == f"{DIST_INFO}/RECORD":
            assert (digest, size) == ("", "")
            continue
        data = entries[name]
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert (digest, int(size)) == (f"sha256={expected}", len(data)), name


def test_source_tree_wheel_holds_exactly_the_package_and_its_entry_points(wheel_stack):
    out, made, built = wheel_stack
    assert built.out.splitlines()[-1] == (f"next: rq-obs stack wheel --out {out}   (the rq-obs image installs "
                                          f"exporters/dist/{WHEEL})")
    assert made.out == f"wrote {out / 'exporters' / 'dist' / WHEEL} (built from the source tree {ROOT})\n"
    assert made.err == ""
    assert sorted(p.name for p in (out / "exporters" / "dist").iterdir()) == [WHEEL]  # no temp dir left behind
    entries = _entries(out / "exporters" / "dist" / WHEEL)
    package = {n: d for n, d in entries.items() if not n.startswith(DIST_INFO + "/")}
    assert package == _source_files()  # every file of rq_obs/ (schemas, demo example...), byte for byte
    assert sorted(n for n in entries if n.startswith(DIST_INFO + "/")) == [
        f"{DIST_INFO}/{n}" for n in ("METADATA", "RECORD", "WHEEL", "entry_points.txt", "top_level.txt")]
    metadata = entries[f"{DIST_INFO}/METADATA"].decode()
    assert "Name: rq-obs\n" in metadata and f"Version: {__version__}\n" in metadata
    assert "Requires-Dist: click>=8.1\n" in metadata
    points = entries[f"{DIST_INFO}/entry_points.txt"].decode()
    assert "rq-obs = rq_obs.cli:main" in points and "rq_obs = rq_obs.pytest_plugin" in points
    _assert_record_matches(entries)
    # With the wheel in place, build no longer asks for it and validate passes.
    again = run_cli("build", "--out", out)
    assert again.code == 0 and again.out == f"wrote {_count()} files to {out} (0 changed)\n"
    checked = run_cli("validate", out)
    assert checked.code == 0, checked.out
    assert "ok   image build context: exporters/Dockerfile" in checked.out.splitlines()


def _count() -> int:
    from rq_obs import build
    from rq_obs.config import Config

    return len(build.collect(Config()))


def test_a_user_project_with_installed_rq_obs_builds_wheels_validates_and_runs(wheel_stack, tmp_path):
    """rq-obs installed from a wheel, used in a project without a checkout: the whole user path."""
    venv = _fresh_venv(tmp_path / "venv")
    _install(venv, wheel_stack[0] / "exporters" / "dist" / WHEEL)
    site = next((venv / "lib").glob("python*/site-packages")).resolve()
    project = tmp_path / "project"
    project.mkdir()
    assert _rq_obs_file(venv, project) == str(site / "rq_obs" / "__init__.py")
    stack = project / "observability"

    early = _run(venv, "stack", "wheel", "--out", str(stack), cwd=project)
    assert early.returncode == 0, early.stderr
    assert early.stderr == (f"note: {stack / 'exporters' / 'Dockerfile'} does not exist yet; "
                            f"run `rq-obs build --out {stack}`\n")
    shutil.rmtree(stack)

    assert _run(venv, "build", "--out", str(stack), cwd=project).returncode == 0
    missing = _run(venv, "validate", str(stack), cwd=project)
    assert missing.returncode == 1
    assert (f"FAIL image build context: exporters/Dockerfile: exporters/dist/{WHEEL} is missing; "
            f"run `rq-obs stack wheel --out {stack}`") in missing.stdout.splitlines()

    made = _run(venv, "stack", "wheel", "--out", str(stack), cwd=project)
    assert (made.returncode, made.stderr) == (0, "")
    assert made.stdout == f"wrote {stack / 'exporters' / 'dist' / WHEEL} (repacked from the installed distribution {site})\n"
    assert _run(venv, "validate", str(stack), cwd=project).returncode == 0

    original = _entries(wheel_stack[0] / "exporters" / "dist" / WHEEL)
    repacked_path = stack / "exporters" / "dist" / WHEEL
    repacked = _entries(repacked_path)
    assert sorted(repacked) == sorted(original)  # no INSTALLER, REQUESTED, direct_url.json, scripts or .pyc
    assert {n: d for n, d in repacked.items() if not n.endswith("/RECORD")} == \
           {n: d for n, d in original.items() if not n.endswith("/RECORD")}
    _assert_record_matches(repacked)
    first = repacked_path.read_bytes()
    assert _run(venv, "stack", "wheel", "--out", str(stack), cwd=project).returncode == 0
    assert repacked_path.read_bytes() == first  # repacking is deterministic

    second = _fresh_venv(tmp_path / "venv2")
    _install(second, repacked_path)
    helped = _run(second, "--help", cwd=project)
    assert helped.returncode == 0, helped.stderr
    assert "  stack " in helped.stdout and "  validate " in helped.stdout
    site2 = next((second / "lib").glob("python*/site-packages")).resolve()
    assert _rq_obs_file(second, project) == str(site2 / "rq_obs" / "__init__.py")


def test_older_wheels_are_replaced_and_a_stack_from_another_version_is_flagged(wheel_stack, tmp_path):
    venv = _fresh_venv(tmp_path / "venv")
    _install(venv, wheel_stack[0] / "exporters" / "dist" / WHEEL)
    stack = tmp_path / "stack"
    assert _run(venv, "build", "--out", str(stack), cwd=tmp_path).returncode == 0
    dist = stack / "exporters" / "dist"
    dist.mkdir()
    (dist / "rq_obs-0.0.1-py3-none-any.whl").write_bytes(b"old")
    (dist / "notes.txt").write_text("mine")
    dockerfile = stack / "exporters" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace(WHEEL, "rq_obs-0.0.1-py3-none-any.whl"))
    made = _run(venv, "stack", "wheel", "--out", str(stack), cwd=tmp_path)
    assert made.returncode == 0
    assert made.stdout.splitlines()[1] == f"removed older wheel {dist / 'rq_obs-0.0.1-py3-none-any.whl'}"
    assert made.stderr == (f"warning: {dockerfile} does not install {WHEEL}: another rq-obs version generated it; "
                           f"run `rq-obs build --out {stack}` with this one\n")
    assert sorted(p.name for p in dist.iterdir()) == sorted(["notes.txt", WHEEL])


def test_repacking_a_damaged_installation_names_the_file_and_writes_nothing(wheel_stack, tmp_path):
    venv = _fresh_venv(tmp_path / "venv")
    _install(venv, wheel_stack[0] / "exporters" / "dist" / WHEEL)
    site = next((venv / "lib").glob("python*/site-packages")).resolve()
    (site / "rq_obs" / "stack" / "schemas" / "SOURCE.md").unlink()
    res = _run(venv, "stack", "wheel", "--out", str(tmp_path / "stack"), cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr == (f"rq-obs: error: {site / 'rq_obs' / 'stack' / 'schemas' / 'SOURCE.md'}: listed in "
                          "rq-obs' RECORD but cannot be read (No such file or directory); reinstall rq-obs\n")
    assert list((tmp_path / "stack" / "exporters" / "dist").iterdir()) == []


def test_source_tree_whose_versions_disagree_is_refused(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(ROOT / name, tree / name)
    shutil.copytree(ROOT / "rq_obs", tree / "rq_obs", ignore=shutil.ignore_patterns("__pycache__"))
    pyproject = tree / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(f'version = "{__version__}"', 'version = "9.9.9"', 1))
    with pytest.raises(UsageError) as err:
        wheel.build_from_source(tree, tmp_path)
    assert str(err.value) == (f"pip wheel of the source tree {tree} made rq_obs-9.9.9-py3-none-any.whl, not "
                              f"{WHEEL}: pyproject.toml's version and rq_obs.__version__ ({__version__}) must agree")
    assert not (tree / "build").exists()  # built from a copy: the tree itself is left alone


def test_a_failing_build_names_the_tree_and_pips_reason(tmp_path):
    """Build requirements this Python has (pip) -> --no-build-isolation, so pip imports the backend here."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "rq_obs", tree / "rq_obs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(ROOT / "README.md", tree / "README.md")
    text = (ROOT / "pyproject.toml").read_text()
    build_system = text[:text.index("[project]")]
    (tree / "pyproject.toml").write_text(text.replace(
        build_system, '[build-system]\nrequires = ["pip"]\nbuild-backend = "no_such_backend"\n\n'))
    with pytest.raises(UsageError) as err:
        wheel.build_from_source(tree, tmp_path)
    assert re.fullmatch(rf"pip wheel of the source tree {re.escape(str(tree))} failed \(exit \d+\): "
                        r"ModuleNotFoundError: No module named 'no_such_backend'", str(err.value)), str(err.value)
    assert list(tmp_path.glob("*.whl")) == []


def test_build_requirements_decide_whether_pip_may_skip_isolation():
    from importlib import metadata

    pip_version = metadata.version("pip")
    assert wheel.build_requirements_met(["pip", f"pip=={pip_version}"]) is True
    assert wheel.build_requirements_met(["pip>=999"]) is False
    assert wheel.build_requirements_met(["no-such-distribution-rq-obs-test"]) is False
    assert wheel.build_requirements_met(["pip>=999; python_version < '3'"]) is True  # marker false: not needed
    assert wheel.build_requirements_met(["not a requirement !!"]) is False


def test_wheel_problem_names_what_is_wrong(wheel_stack, tmp_path):
    good = wheel_stack[0] / "exporters" / "dist" / WHEEL
    assert wheel.wheel_problem(good) is None
    garbage = tmp_path / WHEEL
    garbage.write_bytes(b"<html>404</html>")
    assert wheel.wheel_problem(garbage) == "is not a wheel (not a zip file)"
    empty = tmp_path / "rq_obs-0.2.0-py3-none-any.whl"
    with zipfile.ZipFile(empty, "w"):
        pass
    assert wheel.wheel_problem(empty) == "is not a wheel (no rq_obs-0.2.0.dist-info/METADATA)"
    renamed = tmp_path / "x" / "rq_obs-0.2.0-py3-none-any.whl"
    renamed.parent.mkdir()
    with zipfile.ZipFile(renamed, "w") as zf:
        zf.writestr("rq_obs-0.2.0.dist-info/METADATA", f"Metadata-Version: 2.1\nName: rq-obs\nVersion: {__version__}\n")
    assert wheel.wheel_problem(renamed) == f"holds rq-obs {__version__}, not rq_obs 0.2.0 as its name says"
    assert wheel.wheel_problem(tmp_path / "rq_obs.whl") == "is not named like a wheel (name-version-python-abi-platform.whl)"
    assert wheel.is_rq_obs_wheel(f"exporters/dist/{WHEEL}") and not wheel.is_rq_obs_wheel(f"dist/{WHEEL}")
