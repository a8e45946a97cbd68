"""Dependencies of a project: installed Python distributions, direct vs transitive, licences, lock-file hashes.

The installed set is read from one Python environment: the one rq-obs runs in
(``importlib.metadata``, :func:`installed`), or another interpreter's, listed by running it
(:mod:`rq_obs.snapshot.pyenv` chooses which and reads it). A distribution is *direct* when the project declares it: ``[project].dependencies`` and
``[project].optional-dependencies`` in ``pyproject.toml``, ``requirements*.txt``, or the
root entry of ``uv.lock``. Hashes come from the Python lock files found in the project
(matched by name and version). npm and Maven entries of ``package-lock.json`` / ``pom.xml``
are added under their own ecosystem, with their licences: npm's from the lockfile (``license``,
written by npm 7+), Maven's from each dependency's POM in the local repository (``~/.m2/repository``,
following ``<parent>`` POMs); UNKNOWN when neither says.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Iterable

from rq_obs.snapshot.lockfiles import LockEntry, find, normalize, parse
from rq_obs.snapshot.model import Dependency

__all__ = ["declared_direct", "installed", "collect_dependencies", "normalize_license", "license_of"]

_LICENSES = {
    "mit license": "MIT", "mit": "MIT", "apache software license": "Apache-2.0", "apache 2.0": "Apache-2.0",
    "apache-2.0": "Apache-2.0", "apache license 2.0": "Apache-2.0", "apache 2": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0", "bsd license": "BSD", "bsd": "BSD", "bsd-3-clause": "BSD-3-Clause",
    "3-clause bsd license": "BSD-3-Clause", "new bsd license": "BSD-3-Clause", "bsd-2-clause": "BSD-2-Clause",
    "python software foundation license": "PSF-2.0", "psf": "PSF-2.0", "psf-2.0": "PSF-2.0",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0", "mpl-2.0": "MPL-2.0", "isc license (iscl)": "ISC", "isc": "ISC",
    "gnu general public license v3 (gplv3)": "GPL-3.0", "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0",
    "the unlicense (unlicense)": "Unlicense", "the apache software license, version 2.0": "Apache-2.0",
    "the apache license, version 2.0": "Apache-2.0", "apache license, version 2": "Apache-2.0",
    "eclipse public license - v 2.0": "EPL-2.0", "eclipse public license v2.0": "EPL-2.0", "the mit license": "MIT",
}


def normalize_license(text: str | None) -> str:
    if not text:
        return "UNKNOWN"
    t = " ".join(text.split())
    return _LICENSES.get(t.lower(), t if len(t) <= 60 else "UNKNOWN")


def license_of(expression: str | None, license: str | None, classifiers: Iterable[str] = ()) -> str:
    """A distribution's licence from its metadata: ``License-Expression``, else a short one-line
    ``License``, else the last part of a ``License ::`` classifier, else ``UNKNOWN``."""
    if expression:
        return normalize_license(expression)
    lic = (license or "").strip()
    if lic and "\n" not in lic and len(lic) <= 60 and lic.upper() != "UNKNOWN":
        return normalize_license(lic)
    for c in classifiers:
        if c.startswith("License ::") and c.count("::") >= 2:
            return normalize_license(c.split("::")[-1].strip())
    return "UNKNOWN"


def _license(dist: metadata.Distribution) -> str:
    md = dist.metadata
    return license_of(md.get("License-Expression"), md.get("License"), md.get_all("Classifier") or [])


def declared_direct(project: Path) -> set[str]:
    """Normalised names the project declares (pyproject, requirements*.txt, uv.lock root)."""
    from packaging.requirements import InvalidRequirement, Requirement

    names: set[str] = set()
    pp = project / "pyproject.toml"
    if pp.is_file():
        from rq_obs.snapshot.lockfiles import _toml

        doc = _toml.load(pp)
        proj = doc.get("project", {})
        specs = list(proj.get("dependencies", []) or [])
        for group in (proj.get("optional-dependencies", {}) or {}).values():
            specs += list(group or [])
        for group in (doc.get("dependency-groups", {}) or {}).values():
            specs += [s for s in group or [] if isinstance(s, str)]
        poetry = doc.get("tool", {}).get("poetry", {})
        names |= {normalize(n) for n in (poetry.get("dependencies", {}) or {}) if n != "python"}
        for spec in specs:
            try:
                names.add(normalize(Requirement(spec).name))
            except InvalidRequirement:
                continue
    for lock in find(project):
        if lock.name.startswith("requirements") or lock.name == "uv.lock":
            for e in parse(lock):
                if e.direct is not False:
                    names.add(e.name)
    return names


def installed(paths: Iterable[str] | None = None) -> list[tuple[str, str, str]]:
    """(normalised name, version, licence) of every installed distribution, first one on the path wins."""
    seen: dict[str, tuple[str, str, str]] = {}
    dists = metadata.distributions(path=list(paths)) if paths is not None else metadata.distributions()
    for dist in dists:
        raw = dist.metadata.get("Name")
        if not raw:
            continue
        name = normalize(raw)
        if name not in seen:
            seen[name] = (name, dist.version, _license(dist))
    return sorted(seen.values())


def _lock_license(e: LockEntry, maven_repo: Path) -> str:
    """npm: the lockfile's licence; Maven: the dependency's POM in the local repository; else UNKNOWN."""
    if e.license:
        return normalize_license(e.license)
    if e.ecosystem == "maven" and ":" in e.name:
        from rq_obs.snapshot.lockfiles.maven import pom_license

        group, artifact = e.name.split(":", 1)
        return normalize_license(pom_license(maven_repo, group, artifact, e.version))
    return "UNKNOWN"


def collect_dependencies(project: Path, paths: Iterable[str] | None = None,
                         dists: Iterable[tuple[str, str, str]] | None = None,
                         maven_repo: Path | None = None) -> tuple[Dependency, ...]:
    """The project's dependencies. ``dists``: (normalised name, version, licence) of the installed
    distributions when they were read elsewhere (another interpreter); else :func:`installed` (``paths``).
    ``maven_repo``: Maven's local repository, where the POMs that name Maven dependencies' licences are
    (default ``~/.m2/repository``)."""
    project = Path(project)
    maven_repo = Path(maven_repo) if maven_repo is not None else Path.home() / ".m2" / "repository"
    direct = declared_direct(project)
    locks: list[tuple[str, LockEntry]] = []
    for lock in find(project):
        locks += [(lock.name, e) for e in parse(lock)]
    py_hashes: dict[tuple[str, str], tuple[str, ...]] = {}
    py_source: dict[tuple[str, str], str] = {}
    for fname, e in locks:
        if e.ecosystem == "pypi" and e.hashes:
            py_hashes[(e.name, e.version)] = tuple(sorted(set(py_hashes.get((e.name, e.version), ())) | set(e.hashes)))
            py_source[(e.name, e.version)] = fname
    own = normalize(_project_name(project) or "")
    out = []
    for name, version, lic in (installed(paths) if dists is None else dists):
        if name == own:
            continue
        key = (name, version)
        out.append(Dependency(name, version, "direct" if name in direct else "transitive", "pypi", lic,
                              py_hashes.get(key, ()), py_source.get(key, "installed")))
    seen = set()
    for fname, e in locks:
        if e.ecosystem == "pypi" or (e.ecosystem, e.name, e.version) in seen:
            continue
        seen.add((e.ecosystem, e.name, e.version))
        out.append(Dependency(e.name, e.version, "direct" if e.direct else "transitive", e.ecosystem,
                              _lock_license(e, maven_repo), e.hashes, fname))
    return tuple(sorted(out, key=lambda d: (d.ecosystem, d.name, d.version)))


def _project_name(project: Path) -> str | None:
    pp = project / "pyproject.toml"
    if not pp.is_file():
        return None
    from rq_obs.snapshot.lockfiles import _toml

    name = _toml.load(pp).get("project", {}).get("name")
    return name if isinstance(name, str) else None


