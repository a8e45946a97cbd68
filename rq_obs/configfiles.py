"""Where rq-obs settings can come from, known without importing :mod:`rq_obs.config`.

The pytest plugin is loaded in every pytest session of an environment where rq-obs is
installed, recording or not. Importing the settings module (its ~60-field dataclass) and
reading the files costs such a session ~40 M instructions, so the plugin first asks
:func:`may_enable`, which only looks at file names and text.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

__all__ = ["CONFIG_FILE_NAMES", "ENV_PREFIX", "may_enable", "squash"]

#: searched in this order in the project directory; the first one with settings wins
CONFIG_FILE_NAMES = ("rq-obs.yaml", "rq-obs.yml", "pyproject.toml")
ENV_PREFIX = "RQ_OBS_"


def squash(text: str) -> str:
    """``text`` lower-cased without ``_`` and ``-``: every spelling of rq-obs (rq_obs, RQ-Obs...) becomes rqobs."""
    return text.lower().replace("_", "").replace("-", "")


def may_enable(root: str | os.PathLike, env: Mapping[str, str]) -> bool:
    """False only when no setting can turn recording on: no ``RQ_OBS_*`` variable, no rq-obs.yaml/.yml, and
    a pyproject.toml (if any) that never mentions rq-obs (in any spelling: a misspelt table is an error the full
    load reports)."""
    if any(name.startswith(ENV_PREFIX) for name in env):
        return True
    root = Path(root)
    for name in CONFIG_FILE_NAMES:
        path = root / name
        if not path.is_file():
            continue
        if path.suffix != ".toml":
            return True
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return True
        if "rqobs" in squash(text):
            return True
    return False
