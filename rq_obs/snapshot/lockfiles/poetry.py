"""poetry.lock parser (lock format 1.x and 2.x: per-package ``files`` or ``[metadata.files]``)."""

from __future__ import annotations

from pathlib import Path

from rq_obs.errors import InputError
from rq_obs.snapshot.lockfiles import LockEntry, _toml, normalize


def parse(path: Path) -> list[LockEntry]:
    doc = _toml.load(path)
    legacy = doc.get("metadata", {}).get("files", {}) if isinstance(doc.get("metadata"), dict) else {}
    out = []
    for i, p in enumerate(_toml.packages(doc, path)):
        version = p.get("version")
        if not isinstance(version, str):
            raise InputError(f"{path}: package[{i}] ({p['name']}) has no 'version'")
        files = p.get("files") or legacy.get(p["name"]) or []
        hashes = tuple(sorted({f["hash"] for f in files if isinstance(f, dict) and isinstance(f.get("hash"), str)}))
        dev = p.get("category") == "dev" or (p.get("groups") is not None and "main" not in p.get("groups", []))
        out.append(LockEntry(normalize(p["name"]), version, "pypi", hashes, None, bool(dev)))
    return out
