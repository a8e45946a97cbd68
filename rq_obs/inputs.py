"""Reading files users hand to rq-obs, with one clear error per kind of problem (file, what was expected)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rq_obs.errors import ConfigError, InputError

__all__ = ["read_json", "read_yaml_mapping"]


def read_json(path: str | Path) -> Any:
    """The decoded JSON of ``path``; an InputError naming the file when it cannot be read or parsed."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise InputError(f"{p}: not valid JSON ({exc})") from None


def read_yaml_mapping(path: str | Path, expected: str) -> dict:
    """The top-level mapping of a YAML settings file ({} when empty); a ConfigError naming the file otherwise."""
    import yaml

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{p}: cannot read YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected {expected}")
    return data
