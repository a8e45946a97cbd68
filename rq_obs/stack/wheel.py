"""The rq-obs the exporter image installs: a wheel of the running rq-obs, written into the stack.

rq-obs is not on PyPI, so the image cannot fetch it. exporters/Dockerfile installs
``exporters/dist/rq_obs-<version>-py3-none-any.whl`` from its build context (exporters/),
and :func:`write_wheel` makes that file from what the user already has:

* rq-obs imported from a source tree (a checkout, an editable install): ``pip wheel --no-deps``
  on a copy of the tree's build inputs (pyproject.toml, readme, licence files, rq_obs/; a copy,
  so a stale ``build/`` in the checkout cannot leak deleted modules into the wheel). pip builds
  without isolation when this Python already has the ``[build-system] requires`` (nothing is
  downloaded); otherwise pip fetches the build backend from its configured index.
* rq-obs installed from a wheel (site-packages): the installed files its RECORD lists, repacked
  (entries byte-identical, installer files and scripts left out, a fresh RECORD, fixed
  timestamps: repacking twice gives the same bytes).

The wheel is not a generated file: exporters/.gitignore ignores it and ``rq-obs build --check``
does not look at it; ``rq-obs validate`` fails naming it when it is missing.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from rq_obs import __version__
from rq_obs.errors import UsageError

__all__ = ["WHEEL_DIR", "NAME", "TAG", "WheelResult", "wheel_filename", "wheel_path", "is_rq_obs_wheel",
           "write_wheel", "source_tree", "build_from_source", "repack_installed", "build_requirements_met",
           "wheel_problem"]

NAME = "rq-obs"
#: rq-obs is pure Python: one wheel for every platform and Python 3.
TAG = "py3-none-any"
#: Where the wheel goes, relative to the stack directory (inside the exporter's build context).
WHEEL_DIR = "exporters/dist"

_DIST = NAME.replace("-", "_")  # the distribution name as it appears in file names
#: Files an installer adds to a .dist-info directory; they do not belong in a wheel (PEP 376/610/627).
_INSTALLER_FILES = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
#: Top-level files a setuptools build may read besides pyproject.toml and the readme.
_BUILD_INPUT_GLOBS = ("setup.py", "setup.cfg", "MANIFEST.in", "LICEN[CS]E*", "COPYING*", "NOTICE*", "AUTHORS*")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no build time in the wheel


def wheel_filename(version: str = __version__) -> str:
    return f"{_DIST}-{version.replace('-', '_')}-{TAG}.whl"


def wheel_path(version: str = __version__) -> str:
    """The wheel's path relative to the stack directory."""
    return f"{WHEEL_DIR}/{wheel_filename(version)}"


def is_rq_obs_wheel(rel: str) -> bool:
    """Is ``rel`` (relative to the stack directory) an rq-obs wheel `rq-obs stack wheel` writes?"""
    parent, _, name = rel.rpartition("/")
    return parent == WHEEL_DIR and name.startswith(f"{_DIST}-") and name.endswith(f"-{TAG}.whl")


@dataclass(frozen=True)
class WheelResult:
    path: Path  # the wheel written
    how: str  # "built from the source tree" | "repacked from the installed distribution"
    origin: Path  # the source tree or the site-packages directory
    removed: tuple[str, ...] = ()  # older rq-obs wheels deleted from the wheel directory


# --- where the running rq-obs comes from -------------------------------------------------

def _module_file() -> Path:
    import rq_obs

    return Path(rq_obs.__file__).resolve()


def _read_toml(path: Path) -> dict:
    try:
        import tomllib  # type: ignore[import-not-found]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib.loads(path.read_text(encoding="utf-8"))


def source_tree() -> Path | None:
    """The source tree rq-obs runs from (pyproject.toml of project ``rq-obs`` beside ``rq_obs/``), or None."""
    root = _module_file().parent.parent
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        name = (_read_toml(pyproject).get("project") or {}).get("name")
    except (OSError, ValueError):
        return None
    return root if name == NAME else None


# --- from a source tree: pip wheel ---------------------------------------------------------

def build_requirements_met(requires: Iterable[str]) -> bool:
    """Does this Python already have every ``[build-system] requires`` entry (so pip needs no download)?"""
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement

    for text in requires:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            return False
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            installed = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            return False
        if not req.specifier.contains(installed, prereleases=True):
            return False
    return True


def _copy_build_inputs(src: Path, dest: Path, project: dict) -> None:
    dest.mkdir(parents=True)
    readme = project.get("readme")
    readme_file = readme if isinstance(readme, str) else (readme or {}).get("file")
    names = {"pyproject.toml", *([readme_file] if readme_file else [])}
    for pattern in _BUILD_INPUT_GLOBS:
        names.update(p.name for p in src.glob(pattern) if p.is_file())
    for name in sorted(names):
        if not (src / name).is_file():
            raise UsageError(f"{src / name}: missing; the source tree's pyproject.toml needs it to build rq-obs")
        shutil.copy2(src / name, dest / name)
    shutil.copytree(src / _DIST, dest / _DIST, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


_EXCEPTION = re.compile(r"\b\w+(?:Error|Exception): ")


def _pip_reason(output: str) -> str:
    """The line of pip's output that says why: the first exception line (pip's layout differs between
    versions: its own hint and note lines come last), else the last line that is not a hint or note."""
    lines = [line.strip().removeprefix("╰─>").strip() for line in output.splitlines()]
    lines = [line for line in lines if line]
    for line in lines:
        if _EXCEPTION.search(line):
            return line
    plain = [line for line in lines if not line.startswith(("hint:", "note:"))]
    return (plain or lines or ["no output"])[-1]


def build_from_source(src: Path, out_dir: Path) -> Path:
    """``pip wheel --no-deps`` of the source tree ``src`` into ``out_dir``; returns the wheel (this version's)."""
    from rq_obs import proc

    src = Path(src)
    pyproject = _read_toml(src / "pyproject.toml")
    requires = (pyproject.get("build-system") or {}).get("requires", ["setuptools>=40.8.0"])
    with tempfile.TemporaryDirectory(prefix="rq-obs-wheel-") as tmp:
        copy = Path(tmp) / "src"
        _copy_build_inputs(src, copy, pyproject.get("project") or {})
        offline = build_requirements_met(requires)  # else pip fetches the build backend from its index
        args = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-input", "--disable-pip-version-check",
                *(["--no-build-isolation"] if offline else []), "-w", str(out_dir), str(copy)]
        res = proc.run(args, timeout=600)
    if not res.ok:
        hint = "" if offline else f"; to build offline, install {', '.join(requires)} into {sys.executable}"
        raise UsageError(f"pip wheel of the source tree {src} failed (exit {res.returncode}): "
                         f"{_pip_reason(res.stderr or res.stdout)[:300]}{hint}")
    built = sorted(p.name for p in Path(out_dir).glob(f"{_DIST}-*.whl"))
    if built != [wheel_filename()]:
        raise UsageError(f"pip wheel of the source tree {src} made {', '.join(built) or 'no wheel'}, not "
                         f"{wheel_filename()}: pyproject.toml's version and rq_obs.__version__ "
                         f"({__version__}) must agree")
    return Path(out_dir) / wheel_filename()


# --- from an installed distribution: repack RECORD ------------------------------------------

def _installed_distribution():
    """The importlib.metadata distribution whose files include the running ``rq_obs/__init__.py``."""
    from importlib import metadata

    from packaging.utils import canonicalize_name

    here = _module_file()
    for dist in metadata.distributions():
        if canonicalize_name(dist.metadata["Name"] or "") != NAME:
            continue
        for f in dist.files or ():
            if f.parts and f.parts[-1] == "__init__.py" and f.parts[:-1] == (_DIST,):
                if Path(dist.locate_file(f)).resolve() == here:
                    return dist
    raise UsageError(f"rq-obs runs from {here.parent}, which is neither a source tree (pyproject.toml of "
                     f"rq-obs beside it) nor an installed distribution whose RECORD lists it; install rq-obs "
                     f"with pip (from a checkout or a wheel) and run this again")


def _record_digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _write_wheel_zip(path: Path, entries: dict[str, bytes], dist_info: str) -> None:
    """A wheel with ``entries`` in a fixed order (package files, then .dist-info, RECORD last)."""
    record = f"{dist_info}/RECORD"
    names = sorted(n for n in entries if not n.startswith(dist_info + "/"))
    names += sorted(n for n in entries if n.startswith(dist_info + "/") and n != record)
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            zf.writestr(_zip_info(name), entries[name])
            writer.writerow([name, _record_digest(entries[name]), len(entries[name])])
        writer.writerow([record, "", ""])
        zf.writestr(_zip_info(record), rows.getvalue().encode("utf-8"))


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def repack_installed(out_dir: Path) -> tuple[Path, Path]:
    """Repack the installed rq-obs into ``out_dir``; returns (wheel, site-packages directory)."""
    dist = _installed_distribution()
    site = Path(dist.locate_file("")).resolve()
    if dist.version != __version__:
        raise UsageError(f"the installed distribution in {site} is rq-obs {dist.version} but the running "
                         f"rq_obs is {__version__}; reinstall rq-obs")
    files = list(dist.files or ())
    dist_infos = {f.parts[0] for f in files if len(f.parts) == 2 and f.parts[0].endswith(".dist-info")
                  and f.parts[1] == "METADATA"}
    if len(dist_infos) != 1:
        raise UsageError(f"rq-obs {dist.version} in {site}: expected one .dist-info/METADATA in its RECORD, "
                         f"found {len(dist_infos)}; reinstall rq-obs")
    (dist_info,) = dist_infos
    entries: dict[str, bytes] = {}
    for f in files:
        parts = f.parts
        if not parts or parts[0] == ".." or Path(str(f)).is_absolute():
            continue  # console scripts and data outside site-packages: the installer makes them again
        if "__pycache__" in parts or parts[-1].endswith(".pyc"):
            continue
        if parts[0] == dist_info and parts[-1] in _INSTALLER_FILES:
            continue
        path = Path(dist.locate_file(f))
        try:
            entries["/".join(parts)] = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"{path}: listed in rq-obs' RECORD but cannot be read ({exc.strerror}); "
                             f"reinstall rq-obs") from None
    wheel_meta = entries.get(f"{dist_info}/WHEEL", b"").decode("utf-8", "replace")
    if f"Tag: {TAG}" not in wheel_meta.splitlines() or "Root-Is-Purelib: true" not in wheel_meta.splitlines():
        raise UsageError(f"{site / dist_info / 'WHEEL'}: expected 'Tag: {TAG}' and 'Root-Is-Purelib: true' "
                         f"(rq-obs is pure Python); reinstall rq-obs")
    target = Path(out_dir) / wheel_filename()
    _write_wheel_zip(target, entries, dist_info)
    return target, site


# --- into the stack ------------------------------------------------------------------------

def write_wheel(stack_dir: Path) -> WheelResult:
    """Write this rq-obs' wheel to ``stack_dir``/exporters/dist/ (replacing older rq-obs wheels there)."""
    dist_dir = Path(stack_dir) / WHEEL_DIR
    try:
        dist_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".rq-obs-wheel-", dir=dist_dir))
    except OSError as exc:
        raise UsageError(f"{dist_dir}: cannot write ({exc.strerror})") from None
    try:
        src = source_tree()
        if src is not None:
            made, how, origin = build_from_source(src, work), "built from the source tree", src
        else:
            (made, origin), how = repack_installed(work), "repacked from the installed distribution"
        target = dist_dir / made.name
        os.replace(made, target)  # same directory tree: the wheel appears whole or not at all
    finally:
        shutil.rmtree(work, ignore_errors=True)
    removed = []
    for old in sorted(dist_dir.glob(f"{_DIST}-*-{TAG}.whl")):
        if old.name != target.name:
            old.unlink()
            removed.append(old.name)
    return WheelResult(target, how, origin, tuple(removed))


def wheel_problem(path: Path) -> str | None:
    """Why ``path`` is not a usable wheel of the distribution and version its name says, or None."""
    stem = Path(path).name[:-len(".whl")] if Path(path).name.endswith(".whl") else ""
    parts = stem.split("-")
    if len(parts) < 5:
        return "is not named like a wheel (name-version-python-abi-platform.whl)"
    dist, version = parts[0], parts[1]
    try:
        with zipfile.ZipFile(path) as zf:
            metadata = zf.read(f"{dist}-{version}.dist-info/METADATA").decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        why = "not a zip file" if isinstance(exc, zipfile.BadZipFile) else (
            f"no {dist}-{version}.dist-info/METADATA" if isinstance(exc, KeyError) else exc.strerror)
        return f"is not a wheel ({why})"
    fields = dict(line.split(": ", 1) for line in metadata.split("\n\n", 1)[0].splitlines() if ": " in line)
    from packaging.utils import canonicalize_name

    if canonicalize_name(fields.get("Name", "")) != canonicalize_name(dist) or \
            fields.get("Version", "").replace("-", "_") != version:
        return (f"holds {fields.get('Name', '?')} {fields.get('Version', '?')}, not {dist} {version} "
                f"as its name says")
    return None
