"""Which Python environment a snapshot's dependencies describe, and reading another interpreter's.

The environment is chosen by the first of:

1. ``rq-obs snapshot --python PATH`` (a path relative to the current directory);
2. config ``snapshot_python`` (relative to the project directory);
3. the project's own virtualenv, detected: ``.venv`` then ``venv`` in the project directory with
   ``bin/python`` (or Windows' ``Scripts/python.exe``), when rq-obs does not run from it;
4. the environment rq-obs runs in.

rq-obs's own environment is read in process (``importlib.metadata``). Any other interpreter is run
once through :mod:`rq_obs.proc` with ``-E -c`` :data:`SCRIPT`, which prints :data:`MARKER` and one JSON
document of its installed distributions; nothing of that environment is imported into rq-obs. The
script parses on any Python (2.7 included) so that an old interpreter is reported as too old rather
than failing with a syntax error; the listing itself needs Python 3.8 (``importlib.metadata``).

:class:`PythonEnv` is what the snapshot records about the environment (``dependency_environment``):
the interpreter (relative to the project when inside it), its Python version and its *kind*:
``project`` (it lives inside the project directory), ``rq-obs`` (the environment rq-obs runs in,
outside the project: rq-obs and its own dependencies are in it) or ``other``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from rq_obs.errors import UsageError

__all__ = ["PythonEnv", "Target", "choose", "env_from_dict", "detect_project_venv", "read", "MARKER", "SCRIPT", "TIMEOUT", "MIN_PYTHON",
           "KINDS", "VENV_DIRS"]

#: First line the listing script prints, so output from something that is not Python is recognised.
MARKER = "rq-obs-installed-distributions 1"
#: Seconds the interpreter may take to list its distributions.
TIMEOUT = 60.0
#: Oldest Python whose distributions can be listed (``importlib.metadata``).
MIN_PYTHON = (3, 8)
#: Virtualenv directories looked for in the project, in this order.
VENV_DIRS = (".venv", "venv")
_INTERPRETERS = ("bin/python", "Scripts/python.exe")
#: What each kind of environment is, in messages and reports.
KINDS = {"project": "the project's environment", "rq-obs": "rq-obs's own environment",
         "other": "an environment outside the project"}

# Python 2.7-parseable on purpose (no f-strings, no annotations): an old interpreter must get as far as
# the version check. sys.path[0] is the current directory under -c: dropped, so nothing there is listed.
SCRIPT = r'''
import json
import sys
if sys.path and sys.path[0] == "":
    del sys.path[0]
out = {"format": 1, "python": ".".join([str(x) for x in sys.version_info[:3]]), "prefix": sys.prefix,
       "executable": sys.executable, "implementation": ""}
try:
    import platform
    out["implementation"] = platform.python_implementation()
except Exception:
    pass
if tuple(sys.version_info[:2]) < (3, 8):
    out["error"] = "too old"
else:
    import re
    from importlib import metadata
    seen = set()
    dists = []
    for dist in metadata.distributions():
        md = dist.metadata
        name = md.get("Name") if md is not None else None
        if not name:
            continue
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        lic = md.get("License")
        dists.append({"name": name, "version": md.get("Version") or "",
                      "license_expression": md.get("License-Expression"),
                      "license": lic[:200] if lic else None,
                      "classifiers": [c for c in (md.get_all("Classifier") or []) if c.startswith("License ::")]})
    out["distributions"] = dists
sys.stdout.write("@MARKER@\n" + json.dumps(out) + "\n")
'''.replace("@MARKER@", MARKER)


@dataclass(frozen=True)
class PythonEnv:
    """The environment a snapshot's installed distributions were read from."""

    interpreter: str  # relative to the project when inside it, else absolute
    python: str  # "3.12.1"
    implementation: str  # "CPython"
    kind: str  # project | rq-obs | other (KINDS)
    chosen_by: str  # --python | snapshot_python | detected | rq-obs

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def describe(self) -> str:
        """One line saying which environment was read and why."""
        where = f"{self.interpreter} (Python {self.python})"
        if self.chosen_by == "--python":
            return f"dependencies read from {where}, given by --python: {KINDS[self.kind]}"
        if self.chosen_by == "snapshot_python":
            return f"dependencies read from {where}, config snapshot_python: {KINDS[self.kind]}"
        if self.chosen_by == "detected":
            return (f"dependencies read from {where}: the project's virtualenv, detected (rq-obs runs from "
                    f"{sys.prefix}; --python picks another)")
        if self.kind == "project":
            return f"dependencies read from {where}: the project's virtualenv, which rq-obs runs from"
        return (f"dependencies read from {where}: rq-obs's own environment (no .venv or venv in the project; "
                f"--python or snapshot_python reads the project's)")


#: The fields a snapshot records of the environment (those of :class:`PythonEnv`).
ENV_FIELDS = tuple(f.name for f in fields(PythonEnv))


def env_from_dict(doc: Mapping[str, Any]) -> PythonEnv | None:
    """The recorded environment of a snapshot, or None for a snapshot taken before it was recorded."""
    try:
        return PythonEnv(**{k: str(doc[k]) for k in ENV_FIELDS})
    except (KeyError, TypeError):
        return None


@dataclass(frozen=True)
class Target:
    """An interpreter to run (``path``), or None: the environment rq-obs runs in."""

    path: Path | None
    chosen_by: str
    origin: str  # for messages: "--python", "snapshot_python in /p/pyproject.toml", "detected virtualenv"


def _same_dir(a: str | Path, b: str | Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def detect_project_venv(project: Path) -> tuple[Path, bool] | None:
    """(interpreter, whether rq-obs runs from it) of the project's first virtualenv with an interpreter
    (:data:`VENV_DIRS`), or None when the project has none."""
    for d in VENV_DIRS:
        for rel in _INTERPRETERS:
            exe = Path(project) / d / rel
            if exe.is_file():
                return exe, _same_dir(Path(project) / d, sys.prefix)
    return None


def choose(project: Path, python: str | None, configured: str = "", configured_from: str = "config") -> Target:
    """Which environment to read: ``--python`` (``python``), else ``snapshot_python`` (``configured``,
    relative to ``project``; ``configured_from`` says where it was set), else the detected project
    virtualenv, else rq-obs's own."""
    if python:
        return Target(Path(os.path.abspath(python)), "--python", "--python")
    if configured:
        return Target(Path(os.path.abspath(Path(project) / configured)), "snapshot_python",
                      f"snapshot_python from {configured_from}")
    found = detect_project_venv(Path(project))
    if found and not found[1]:
        return Target(Path(os.path.abspath(found[0])), "detected", "detected virtualenv")
    return Target(None, "rq-obs", "rq-obs's environment")


def _relative(path: str | Path, project: Path) -> str:
    p = Path(os.path.abspath(path))
    for cand in (p, Path(os.path.realpath(p.parent)) / p.name):
        try:
            return cand.relative_to(project).as_posix()
        except ValueError:
            continue
    return str(p)


def _inside(path: str | Path, project: Path) -> bool:
    try:
        Path(path).resolve().relative_to(project.resolve())
        return True
    except (ValueError, OSError):
        return False


def _kind(prefix: str, project: Path) -> str:
    if _inside(prefix, project):
        return "project"
    return "rq-obs" if _same_dir(prefix, sys.prefix) else "other"


def read(target: Target, project: Path, timeout: float = TIMEOUT) -> tuple[PythonEnv, list[tuple[str, str, str]]]:
    """(the environment, (normalised name, version, licence) of each distribution installed in it)."""
    project = Path(project).resolve()
    if target.path is None:
        from rq_obs.snapshot.deps import installed

        env = PythonEnv(_relative(sys.executable, project), platform.python_version(), platform.python_implementation(),
                        _kind(sys.prefix, project), target.chosen_by)
        return env, installed()
    doc = _run(target, timeout)
    env = PythonEnv(_relative(target.path, project), doc["python"], doc["implementation"], _kind(doc["prefix"], project),
                    target.chosen_by)
    return env, _distributions(doc, target)


def _fail(target: Target, problem: str) -> UsageError:
    return UsageError(f"interpreter {target.path} ({target.origin}): {problem}")


def _snippet(text: str) -> str:
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    return line[:100] + ("..." if len(line) > 100 else "")


def _run(target: Target, timeout: float) -> dict[str, Any]:
    from rq_obs import proc

    exe = target.path
    assert exe is not None
    if not exe.exists():
        raise _fail(target, "not found")
    if exe.is_dir():
        raise _fail(target, "is a directory; expected a Python interpreter such as .venv/bin/python")
    if not os.access(exe, os.X_OK):
        raise _fail(target, "not executable")
    try:
        res = proc.run([str(exe), "-E", "-c", SCRIPT], timeout=timeout)
    except UsageError:  # proc.run's timeout
        raise _fail(target, f"did not list its installed distributions within {timeout:g} s") from None
    except OSError as exc:
        raise _fail(target, f"cannot run it ({exc.strerror or exc})") from None
    lines = res.stdout.splitlines()
    if MARKER not in lines:
        said = _snippet(res.stdout) or _snippet(res.stderr)
        raise _fail(target, f"not a Python interpreter (exit code {res.returncode}; "
                            + (f"it printed {said!r})" if said else "it printed nothing)"))
    if not res.ok:
        last = next((x.strip() for x in reversed(res.stderr.splitlines()) if x.strip()), "no error message")
        raise _fail(target, f"listing its installed distributions failed (exit code {res.returncode}): {last[:200]}")
    body = "\n".join(lines[lines.index(MARKER) + 1:])
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise _fail(target, f"printed output rq-obs cannot read (not JSON after the marker line: {exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != 1:
        raise _fail(target, "printed output rq-obs cannot read (expected a JSON object with \"format\": 1)")
    for key in ("python", "prefix", "implementation"):
        if not isinstance(doc.get(key), str):
            raise _fail(target, f"printed output rq-obs cannot read (field {key!r} is {doc.get(key)!r}; expected a string)")
    if doc.get("error") == "too old":
        need = ".".join(map(str, MIN_PYTHON))
        raise _fail(target, f"Python {doc['python']} is too old; listing its installed distributions needs Python {need} "
                            f"or later")
    return doc


def _distributions(doc: Mapping[str, Any], target: Target) -> list[tuple[str, str, str]]:
    from rq_obs.snapshot.deps import license_of
    from rq_obs.snapshot.lockfiles import normalize

    dists = doc.get("distributions")
    if not isinstance(dists, list):
        raise _fail(target, "printed output rq-obs cannot read (field 'distributions' is not a list)")
    seen: dict[str, tuple[str, str, str]] = {}
    for i, d in enumerate(dists):
        where = f"distributions[{i}]"
        if not isinstance(d, dict):
            raise _fail(target, f"printed output rq-obs cannot read ({where} is not an object)")
        for key, types in (("name", str), ("version", str), ("license_expression", (str, type(None))),
                           ("license", (str, type(None))), ("classifiers", list)):
            if not isinstance(d.get(key), types):
                raise _fail(target, f"printed output rq-obs cannot read ({where}: field {key!r} is {d.get(key)!r})")
        name = normalize(d["name"])
        if name and name not in seen:
            seen[name] = (name, d["version"], license_of(d["license_expression"], d["license"],
                                                         [c for c in d["classifiers"] if isinstance(c, str)]))
    return sorted(seen.values())

