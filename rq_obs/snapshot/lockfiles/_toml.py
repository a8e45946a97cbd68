"""TOML reading shared by the poetry and uv parsers."""

from __future__ import annotations

from pathlib import Path

from rq_obs.errors import InputError


def load(path: Path) -> dict:
    try:
        import tomllib  # type: ignore[import-not-found]
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None


def packages(doc: dict, path: Path) -> list[dict]:
    pkgs = doc.get("package", [])
    if not isinstance(pkgs, list):
        raise InputError(f"{path}: 'package' must be an array of tables ([[package]])")
    for i, p in enumerate(pkgs):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            raise InputError(f"{path}: package[{i}] has no 'name'")
    return pkgs
