"""Where the external programs rq-obs drives are found (collector, Jaeger, Helm, ...).

A program is looked up on PATH first, then in the tools directory that ``.ci/tools/install``
and ``rq-obs stack collector`` build into: ``$RQ_OBS_TOOLS/bin``, by default
``~/.cache/rq-obs/tools/bin``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["tools_dir", "find_tool", "find_built_tool"]


def tools_dir() -> Path:
    """The directory built components are installed into (``bin/`` below it)."""
    env = os.environ.get("RQ_OBS_TOOLS")
    return Path(env) if env else Path.home() / ".cache" / "rq-obs" / "tools"


def find_tool(name: str) -> str | None:
    """The path of program ``name`` on PATH or in the tools directory, or None."""
    found = shutil.which(name)
    if found:
        return found
    return find_built_tool(name)


def find_built_tool(name: str) -> str | None:
    """Program ``name`` from the tools directory only (a version rq-obs pins, where PATH may hold an older one)."""
    candidate = tools_dir() / "bin" / name
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None
