"""YAML for generated rule and provisioning files: keys in the order the definitions give."""

from __future__ import annotations

from typing import Any

from rq_obs.yamltext import comment_block
from rq_obs.yamltext import dump as _dump

__all__ = ["dump"]


def dump(doc: Any, header: str) -> str:
    """``doc`` as YAML (keys in the order given), after ``header`` comment lines."""
    return comment_block(header.splitlines()) + _dump(doc, sort_keys=False, width=120)
