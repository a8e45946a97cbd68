"""Real third-party projects for parity tests: sdists from PyPI, unpacked once and cached.

``sdist("attrs", "24.2.0")`` returns a fresh copy of the unpacked source tree (so a test may
change it). Downloads go to ``$RQ_OBS_SDISTS`` (default ``~/.cache/rq-obs/sdists``); a cached
archive is reused, a missing one is fetched with ``pip download --no-binary :all: --no-deps``.
Tests using it are marked ``thirdparty``: ``-m "not thirdparty"`` skips them offline; CI runs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

try:  # xdist workers share the cache: one download at a time
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None


def cache_dir() -> Path:
    env = os.environ.get("RQ_OBS_SDISTS")
    return Path(env) if env else Path.home() / ".cache" / "rq-obs" / "sdists"


def _archive(name: str, version: str) -> Path:
    dest = cache_dir() / f"{name}-{version}"
    dest.mkdir(parents=True, exist_ok=True)
    with open(dest / ".lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        found = [p for p in dest.iterdir() if p.name.endswith((".tar.gz", ".zip"))]
        if not found:
            cp = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
                                 "--no-build-isolation", "-d", str(dest), f"{name}=={version}"],
                                capture_output=True, text=True)
            found = [p for p in dest.iterdir() if p.name.endswith((".tar.gz", ".zip"))]
            if cp.returncode != 0 or not found:  # its build backend (flit, hatch, setuptools-scm) is not here
                cp = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:",
                                     "--no-deps", "-d", str(dest), f"{name}=={version}"], capture_output=True, text=True)
                found = [p for p in dest.iterdir() if p.name.endswith((".tar.gz", ".zip"))]
            if cp.returncode != 0 or not found:
                pytest.fail(f"could not download the sdist of {name}=={version} from PyPI: {cp.stderr.strip()[-500:]}")
        return found[0]


def sdist(name: str, version: str, into: Path) -> Path:
    """Unpack ``name==version``'s sdist under ``into`` and return its top directory."""
    archive = _archive(name, version)
    into.mkdir(parents=True, exist_ok=True)
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(into)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(into, filter="data")
    tops = [p for p in into.iterdir() if p.is_dir()]
    if len(tops) != 1:
        pytest.fail(f"{archive.name}: expected one top directory, found {sorted(p.name for p in tops)}")
    return tops[0]


def copy_tree(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    return dest
