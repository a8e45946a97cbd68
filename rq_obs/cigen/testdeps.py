"""How a project declares what its tests need, read the way the project declares it.

Sources, each reported with the file it came from (:class:`Found`):

- ``pyproject.toml``: ``[project.optional-dependencies]`` extras named like :data:`TEST_WORDS`, PEP 735
  ``[dependency-groups]`` with such names (``pip install --group``, pip >= 25.1, which the pipeline
  installs first), Poetry groups (``[tool.poetry.group.X]``, installed with ``--with X``) and the old
  ``[tool.poetry.dev-dependencies]``;
- ``setup.cfg`` ``[options.extras_require]`` extras with such names;
- requirement files: ``requirements.txt`` (the project's runtime pins) and ``requirements*.txt`` /
  ``requirements/*.txt`` / ``requirements/*.in`` whose name says test, testing or dev;
- lock files installed by their own tool: ``uv.lock`` (``uv sync``, which installs the ``dev`` group and
  the groups named above), ``poetry.lock``, ``Pipfile`` / ``Pipfile.lock`` (``[dev-packages]``);
- only when none of the above says anything about tests: ``tox.ini`` ``[testenv]`` ``deps`` / ``extras``
  (lines with tox substitutions other than ``{toxinidir}`` and factor-conditional lines are skipped),
  then ``noxfile.py`` ``session.install(...)`` calls with literal arguments (best effort: read with
  :mod:`ast`, nothing executed; arguments built at run time are missed, and the report says so).

pytest is always installed, and pytest-cov / pytest-benchmark when the pipeline measures coverage /
benchmarks, after the project's own declarations (so a pin the project makes wins where it is stricter).
Nothing here runs a subprocess or reaches the network.
"""

from __future__ import annotations

import ast
import configparser
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Found", "TestDeps", "find", "TEST_WORDS", "is_test_name"]

TEST_WORDS = ("test", "tests", "testing", "dev")
_FACTOR = re.compile(r"^\s*!?[\w.,!-]+\s*:\s*(?!//)")  # "py38: pytest" (a factor-conditional tox line)


def is_test_name(name: str) -> bool:
    """An extra, group or file stem named for tests: ``test``, ``tests-extra``, ``dev_requirements``..."""
    return any(part in TEST_WORDS for part in re.split(r"[-_.]+", name.lower()))


def _pick(names) -> tuple[str, ...]:
    """The names for tests among ``names``: those that say test/tests/testing, else those that say dev (a dev
    extra or group often carries linters, docs and release tools too, so it is only used when nothing is
    named for tests)."""
    names = [n for n in names if is_test_name(n)]
    tests = [n for n in names if set(re.split(r"[-_.]+", n.lower())) & {"test", "tests", "testing"}]
    return tuple(tests or names)


@dataclass(frozen=True)
class Found:
    where: str  # file, relative to the project root
    what: str  # what in it: "extra 'tests'", "dependency group 'test'", "requirements file"...
    pip_args: tuple[str, ...] = ()  # for pip: arguments of one `pip install` (empty when the tool installs it)

    def describe(self) -> str:
        return f"{self.what} ({self.where})"


@dataclass(frozen=True)
class TestDeps:
    __test__ = False  # not a pytest test class

    found: tuple[Found, ...]
    looked_at: tuple[str, ...]  # every file read (or looked for), relative to the root
    extras: tuple[str, ...]  # test extras of the project (installed with the project: .[a,b])
    groups: tuple[str, ...]  # PEP 735 groups (pip --group / uv --group)
    poetry_groups: tuple[str, ...]
    best_effort: bool  # something came from noxfile.py (literal arguments only)

    def requirement_files(self) -> tuple[str, ...]:
        return tuple(f.where for f in self.found if f.what == "requirements file")

    def extra_pip_args(self) -> tuple[tuple[str, ...], ...]:
        """tox / nox declarations: one ``pip install`` argument list each."""
        return tuple(f.pip_args for f in self.found if f.pip_args and f.what != "requirements file")


_PYPROJECT_LOOKS = ("pyproject.toml [project.optional-dependencies]", "pyproject.toml [dependency-groups]",
                    "pyproject.toml [tool.poetry]")


def _requirement_files(root: Path) -> list[str]:
    root_files = sorted(root.glob("requirements*.txt"), key=lambda p: (p.name != "requirements.txt", p.name))
    picked = _pick(p.stem for p in root_files)
    out = [p.name for p in root_files if p.name == "requirements.txt" or p.stem in picked]
    rdir = root / "requirements"
    if rdir.is_dir():
        txt = sorted(p for p in rdir.iterdir() if p.is_file() and p.suffix == ".txt")
        # compiled pins (.txt) win over their .in sources
        ins = sorted(p for p in rdir.iterdir() if p.is_file() and p.suffix == ".in" and not p.with_suffix(".txt").exists())
        picked = _pick(p.stem for p in (*txt, *ins))
        out.extend(f"requirements/{p.name}" for p in (*txt, *ins) if p.stem in picked)
    return out


def _tox(root: Path) -> list[Found]:
    path = root / "tox.ini"
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(path.read_text(encoding="utf-8", errors="replace"))
    except configparser.Error:
        return []
    if not parser.has_section("testenv"):
        return []
    env = parser["testenv"]
    out = []
    args: list[str] = []
    for line in env.get("deps", "").splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#") or _FACTOR.match(line):
            continue
        line = line.replace("{toxinidir}/", "").replace("{toxinidir}", ".")
        if "{" in line:
            continue
        if line.startswith("-r") or line.startswith("-c"):
            flag, rest = line[:2], line[2:].strip()
            if rest:
                args.extend((flag, rest))
            continue
        args.append(line)
    if args:
        out.append(Found("tox.ini", "[testenv] deps", tuple(args)))
    extras = [e.strip() for e in re.split(r"[\s,]+", env.get("extras", "")) if e.strip() and "{" not in e
              and not _FACTOR.match(e)]
    if extras:
        out.append(Found("tox.ini", f"[testenv] extras {', '.join(extras)}", (f".[{','.join(extras)}]",)))
    return out


def _nox(root: Path) -> list[Found]:
    path = root / "noxfile.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except SyntaxError:
        return []
    out = []
    for fn in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
        if not is_test_name(fn.name) and fn.name not in ("unit", "pytest"):
            continue
        args: list[str] = []
        for call in ast.walk(fn):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "install"):
                continue
            args.extend(a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
        if args:
            out.append(Found("noxfile.py", f"session {fn.name!r} installs (best effort: literal arguments only)",
                             tuple(args)))
    return out


def find(root: Path, pyproject: dict, package_manager: str) -> TestDeps:
    """What the project at ``root`` declares for its tests (``pyproject``: its parsed pyproject.toml, or {})."""
    root = Path(root)
    found: list[Found] = []
    looked = ["pyproject.toml"] if (root / "pyproject.toml").is_file() else []
    project = pyproject.get("project") or {}
    extras = _pick(project.get("optional-dependencies") or {})
    found.extend(Found("pyproject.toml", f"extra {e!r}") for e in extras)
    groups = _pick(pyproject.get("dependency-groups") or {})
    found.extend(Found("pyproject.toml", f"dependency group {g!r}") for g in groups)
    poetry = (pyproject.get("tool") or {}).get("poetry") or {}
    poetry_groups = _pick(poetry.get("group") or {})
    found.extend(Found("pyproject.toml", f"Poetry group {g!r}") for g in poetry_groups)
    if poetry.get("dev-dependencies"):
        found.append(Found("pyproject.toml", "[tool.poetry.dev-dependencies]"))
    setup_cfg = root / "setup.cfg"
    if setup_cfg.is_file():
        looked.append("setup.cfg")
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(setup_cfg.read_text(encoding="utf-8", errors="replace"))
        except configparser.Error:
            pass
        else:
            if parser.has_section("options.extras_require"):
                cfg_extras = _pick(parser["options.extras_require"])
                found.extend(Found("setup.cfg", f"extra {e!r}") for e in cfg_extras)
                extras += tuple(e for e in cfg_extras if e not in extras)
    looked.append("requirements*.txt")
    if (root / "requirements").is_dir():
        looked.append("requirements/")
    for rel in _requirement_files(root):
        found.append(Found(rel, "requirements file", ("-r", rel)))
    for lock, tool, what in (("uv.lock", "uv", "lock file (uv sync)"), ("poetry.lock", "poetry", "lock file (poetry install)"),
                             ("Pipfile.lock", "pipenv", "lock file, [dev-packages] (pipenv sync --dev)"),
                             ("Pipfile", "pipenv", "[dev-packages] (pipenv install --dev)")):
        looked.append(lock)
        if (root / lock).is_file() and package_manager == tool:
            found.append(Found(lock, what))
            break
    best_effort = False
    looked.extend(("tox.ini", "noxfile.py"))
    if not found:
        if (root / "tox.ini").is_file():
            found.extend(_tox(root))
        if not found and (root / "noxfile.py").is_file():
            nox = _nox(root)
            found.extend(nox)
            best_effort = bool(nox)
    return TestDeps(tuple(found), tuple(looked), extras, groups, poetry_groups, best_effort)
