"""Service fixtures for the instrumentation tests: an app under tests/data/apps/ copied into a fresh git
repository (``instrument apply`` refuses a work tree with uncommitted changes)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

APPS = Path(__file__).resolve().parent.parent / "data" / "apps"


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=root, check=True,
                   capture_output=True)


def committed_copy(app: str, dest: Path) -> Path:
    """tests/data/apps/<app> copied to ``dest``, in a git repository with everything committed."""
    shutil.copytree(APPS / app, dest)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "init")
    return dest
