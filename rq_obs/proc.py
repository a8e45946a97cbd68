"""The one place rq-obs runs other programs (promtool, git, docker-compose...)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import Sequence

from rq_obs.errors import UsageError

__all__ = ["Result", "run", "require", "DEBIAN_PACKAGES"]

#: Where a missing program comes from on Debian, for error messages.
DEBIAN_PACKAGES = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "amtool": "prometheus-alertmanager",
    "docker-compose": "docker-compose",
    "git": "git",
    "chromium": "chromium",
}


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def require(program: str) -> str:
    """Absolute path of ``program`` or a UsageError naming the Debian package that provides it."""
    path = shutil.which(program)
    if path is None:
        pkg = DEBIAN_PACKAGES.get(program)
        hint = f" (Debian package {pkg!r}: apt-get install -y --no-install-recommends {pkg})" if pkg else ""
        raise UsageError(f"{program} not found on PATH{hint}")
    return path


def run(args: Sequence[str], *, cwd: str | None = None, timeout: float = 120, input: str | None = None,
        env: dict | None = None, binary: bool = False) -> Result:
    """Run a program to completion. ``binary=True`` keeps stdout/stderr as bytes (exact file contents)."""
    exe = require(args[0])
    try:
        cp = subprocess.run([exe, *args[1:]], cwd=cwd, timeout=timeout, input=input, env=env,
                            capture_output=True, text=not binary)
    except subprocess.TimeoutExpired:
        raise UsageError(f"{args[0]} did not finish within {timeout:.0f} s") from None
    return Result(tuple(args), cp.returncode, cp.stdout, cp.stderr)
