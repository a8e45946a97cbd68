"""What a CI pipeline needs to know about a project: Python version, package manager, test command.

Everything is read from files (no subprocess, no network):

- Python version: the first line of ``.python-version`` (``3.11.4`` -> ``3.11``); otherwise the
  *lowest* of :data:`KNOWN_PYTHONS` that both ``requires-python`` in ``pyproject.toml`` and rq-obs'
  own ``Requires-Python`` allow (CI then proves the oldest version the project claims to support
  that the rq-obs plugin can run on: it runs inside the project's environment); otherwise
  :data:`DEFAULT_PYTHON`. A ``.python-version`` older than rq-obs allows is an error.
- Package manager, from lock files in this order: ``uv.lock`` (uv), ``poetry.lock`` (poetry),
  ``Pipfile.lock`` / ``Pipfile`` (pipenv), else pip.
- Test dependencies: :mod:`rq_obs.cigen.testdeps` (extras, dependency groups, requirement files, lock
  files, tox, nox); none found is an error naming the files looked at. pytest is always installed.
- Test command: ``pytest --rq-obs`` (the plugin records the run), with ``--cov`` and a JSON coverage
  report when the config's ``ci_coverage`` is on (the default) or pytest-cov is a dependency, and
  ``--benchmark-json`` when ``ci_benchmarks`` is on or pytest-benchmark is a dependency; the pipeline
  installs pytest-cov / pytest-benchmark itself.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from rq_obs.cigen.testdeps import TEST_WORDS, Found, TestDeps
from rq_obs.errors import InputError, UsageError

__all__ = ["ProjectInfo", "detect", "rq_obs_requires_python", "KNOWN_PYTHONS", "DEFAULT_PYTHON", "COVERAGE_FILE", "BENCHMARK_FILE"]

KNOWN_PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13")
DEFAULT_PYTHON = "3.12"
COVERAGE_FILE = "coverage.json"
BENCHMARK_FILE = "benchmark.json"

_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class ProjectInfo:
    python_version: str
    python_source: str  # where the version came from
    package_manager: str  # uv | poetry | pipenv | pip
    install: tuple[str, ...]  # shell lines that install the project and its test dependencies
    run_prefix: str  # "uv run " / "poetry run " / "pipenv run " / ""
    test_command: str
    coverage: bool
    benchmarks: bool
    dependencies: tuple[str, ...]  # normalised names found in the dependency files

    test_deps: tuple[Found, ...] = ()  # where the test dependencies were found
    dependency_files: tuple[str, ...] = ()  # the files that declare what gets installed (a CI cache key)

    def tools(self) -> tuple[str, ...]:
        """What the pipeline installs itself, after the project's test dependencies."""
        return ("pytest", *(["pytest-cov"] if self.coverage else []), *(["pytest-benchmark"] if self.benchmarks else []))

    def installer(self) -> str:
        """The command that installs packages into the environment the tests run in."""
        return {"uv": "uv pip install --python .venv/bin/python", "poetry": "poetry run pip install",
                "pipenv": "pipenv run pip install"}.get(self.package_manager, "pip install")

    def freeze(self) -> str:
        """Lists the environment's distributions as pins (``name==version``), editable installs left out."""
        if self.package_manager == "uv":
            return "uv pip freeze --python .venv/bin/python --exclude-editable"
        return self.run("python -m pip freeze --exclude-editable")

    def install_rq_obs(self, spec: str) -> str:
        """Installs rq-obs from ``spec`` (a wheel path or a requirement) into the environment the tests run in."""
        import shlex

        return f"{self.installer()} {shlex.quote(spec)}"

    def run(self, command: str) -> str:
        """``command`` run inside the project's environment."""
        return self.run_prefix + command

    def to_dict(self) -> dict:
        return {"python_version": self.python_version, "python_source": self.python_source,
                "package_manager": self.package_manager, "install": list(self.install),
                "test_command": self.test_command, "coverage": self.coverage, "benchmarks": self.benchmarks,
                "test_dependencies": [{"file": f.where, "what": f.what} for f in self.test_deps]}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _load_pyproject(root: Path) -> dict:
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None


def rq_obs_requires_python() -> str:
    """rq-obs' own ``Requires-Python`` (from its installed metadata, else its source tree's pyproject.toml)."""
    from importlib import metadata

    try:
        spec = metadata.metadata("rq-obs")["Requires-Python"]
    except metadata.PackageNotFoundError:
        spec = None
    if not spec:
        from rq_obs.stack.wheel import source_tree

        src = source_tree()
        spec = ((_load_pyproject(src).get("project") or {}).get("requires-python") if src else None)
    if not spec:  # pragma: no cover - rq-obs runs neither installed nor from its source tree
        raise UsageError("cannot tell which Python versions rq-obs supports (no installed metadata and no "
                         "source tree); reinstall rq-obs")
    return spec


def _allows(spec, version: str) -> bool:
    return spec.contains(version + ".0") or spec.contains(version + ".99")


def _python_version(root: Path, pyproject: dict) -> tuple[str, str]:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    ours_text = rq_obs_requires_python()
    ours = SpecifierSet(ours_text)
    pv = root / ".python-version"
    if pv.is_file():
        first = (pv.read_text(encoding="utf-8").strip().splitlines() or [""])[0].strip()
        m = re.match(r"^(?:python-?|cpython-)?(\d+)\.(\d+)", first)
        if not m:
            raise InputError(f"{pv}: expected a version like 3.11 on the first line, got {first!r}")
        version = f"{m.group(1)}.{m.group(2)}"
        if not _allows(ours, version):
            raise InputError(f"{pv}: pins Python {version}, but rq-obs requires Python {ours_text} and its pytest "
                             f"plugin runs in the project's environment in CI; pin a version rq-obs supports")
        return version, ".python-version"
    spec = (pyproject.get("project") or {}).get("requires-python")
    if spec is None:
        dep = ((pyproject.get("tool") or {}).get("poetry") or {}).get("dependencies") or {}
        spec = dep.get("python") if isinstance(dep.get("python"), str) else None
        spec = _poetry_spec(spec) if spec else None
    if spec:
        try:
            s = SpecifierSet(spec)
        except InvalidSpecifier:
            raise InputError(f"{root / 'pyproject.toml'}: requires-python {spec!r} is not a version specifier") from None
        for v in KNOWN_PYTHONS:
            if _allows(s, v) and _allows(ours, v):
                return v, f"the lowest that both pyproject.toml requires-python {spec!r} and rq-obs ({ours_text}) allow"
        raise InputError(f"{root / 'pyproject.toml'}: requires-python {spec!r} and rq-obs' {ours_text!r} "
                         f"together allow none of {', '.join(KNOWN_PYTHONS)}")
    return DEFAULT_PYTHON, "default (no .python-version or requires-python)"


def _poetry_spec(spec: str) -> str:
    """Poetry's ``^3.10`` / ``~3.10`` to a PEP 440 lower bound."""
    m = re.match(r"^\s*[\^~]\s*(\d+(?:\.\d+)*)", spec)
    return f">={m.group(1)}" if m else spec


def _dependencies(root: Path, pyproject: dict) -> tuple[str, ...]:
    names: set[str] = set()
    project = pyproject.get("project") or {}
    reqs = list(project.get("dependencies") or [])
    for extra in (project.get("optional-dependencies") or {}).values():
        reqs.extend(extra)
    for group in (pyproject.get("dependency-groups") or {}).values():
        reqs.extend(x for x in group if isinstance(x, str))
    poetry = (pyproject.get("tool") or {}).get("poetry") or {}
    for table in [poetry.get("dependencies") or {}, poetry.get("dev-dependencies") or {},
                  *[(g or {}).get("dependencies") or {} for g in (poetry.get("group") or {}).values()]]:
        names.update(_norm(k) for k in table if k != "python")
    for p in sorted(root.glob("requirements*.txt")):
        reqs.extend(p.read_text(encoding="utf-8", errors="replace").splitlines())
    pipfile = root / "Pipfile"
    if pipfile.is_file():
        section = None
        for line in pipfile.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.strip().startswith("["):
                section = line.strip()
            elif section in ("[packages]", "[dev-packages]") and "=" in line:
                names.add(_norm(line.split("=", 1)[0].strip().strip('"')))
    for r in reqs:
        if r.strip().startswith(("#", "-")):
            continue
        m = _REQ_NAME.match(r)
        if m:
            names.add(_norm(m.group(1)))
    return tuple(sorted(names))


def _installable(root: Path, pyproject: dict) -> bool:
    return bool(pyproject.get("project")) or (root / "setup.py").is_file() or (root / "setup.cfg").is_file()


def _q(args) -> str:
    import shlex

    return " ".join(shlex.quote(a) for a in args)


def _pip_install(root: Path, pyproject: dict, deps: TestDeps) -> list[str]:
    lines = ["python -m pip install --upgrade pip"]  # pip >= 25.1 for --group
    reqs = sorted(deps.requirement_files(), key=lambda n: (n != "requirements.txt", n))
    lines.extend(f"pip install -r {_q([n])}" for n in reqs)
    groups = [a for g in deps.groups for a in ("--group", g)]
    if _installable(root, pyproject):
        target = f".[{','.join(deps.extras)}]" if deps.extras else "."
        lines.append(f"pip install -e {_q([target, *groups])}")
    elif groups:
        lines.append(f"pip install {_q(groups)}")
    lines.extend(f"pip install {_q(args)}" for args in deps.extra_pip_args())
    return lines


def _no_way_to_install(root: Path, deps: TestDeps) -> InputError:
    return InputError(
        f"{root}: found no way to install the tests: looked at {', '.join(deps.looked_at)} and none declares test "
        f"dependencies (an extra or [dependency-groups] group named {'/'.join(TEST_WORDS)}, requirements.txt, a "
        f"requirements file named for tests, a lock file, tox [testenv] deps or nox session installs); declare "
        f"them, e.g. [dependency-groups] test = [\"pytest\"] in pyproject.toml")


def detect(root: Path, config=None) -> ProjectInfo:
    """Detect what the pipeline for the project at ``root`` needs (``config``: the rq-obs config, whose
    ``ci_coverage`` / ``ci_benchmarks`` say what the pipeline measures; defaults when None)."""
    from rq_obs.cigen.testdeps import find

    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root}: not a directory")
    if config is None:
        from rq_obs.config import Config

        config = Config()
    pyproject = _load_pyproject(root)
    version, source = _python_version(root, pyproject)
    names = _dependencies(root, pyproject)
    if (root / "uv.lock").is_file():
        pm = "uv"
    elif (root / "poetry.lock").is_file():
        pm = "poetry"
    elif (root / "Pipfile.lock").is_file() or (root / "Pipfile").is_file():
        pm = "pipenv"
    else:
        pm = "pip"
    deps = find(root, pyproject, pm)
    if not deps.found:
        raise _no_way_to_install(root, deps)
    coverage = bool(config.ci_coverage) or "pytest-cov" in names
    benchmarks = bool(config.ci_benchmarks) or "pytest-benchmark" in names
    if pm == "uv":
        sync = "uv sync --frozen --all-extras" + "".join(f" --group {_q([g])}" for g in deps.groups)
        install, prefix = ["pip install uv", sync], "uv run "
    elif pm == "poetry":
        with_ = f" --with {_q([','.join(deps.poetry_groups)])}" if deps.poetry_groups else ""
        install, prefix = ["pip install poetry", f"poetry install --no-interaction --all-extras{with_}"], "poetry run "
    elif pm == "pipenv":
        install = ["pip install pipenv", "pipenv sync --dev" if (root / "Pipfile.lock").is_file() else "pipenv install --dev"]
        prefix = "pipenv run "
    else:
        install, prefix = _pip_install(root, pyproject, deps), ""
    declared = {f.where for f in deps.found} | {n for n in ("pyproject.toml", "setup.py", "setup.cfg")
                                                 if (root / n).is_file()}
    info = ProjectInfo(version, source, pm, (), prefix, "", coverage, benchmarks, names, deps.found,
                       tuple(sorted(declared)))
    install.append(f"{info.installer()} {_q(info.tools())}")
    test = "pytest --rq-obs"
    if coverage:
        test += f" --cov --cov-report=json:{COVERAGE_FILE}"
    if benchmarks:
        test += f" --benchmark-json={BENCHMARK_FILE}"
    return dataclasses.replace(info, install=tuple(install), test_command=test)
