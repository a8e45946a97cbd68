"""Pipfile.lock parser (JSON: ``default`` and ``develop`` sections)."""

from __future__ import annotations

import json
from pathlib import Path

from rq_obs.errors import InputError
from rq_obs.snapshot.lockfiles import LockEntry, normalize


def parse(path: Path) -> list[LockEntry]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("default", {}), dict):
        raise InputError(f"{path}: expected an object with 'default' and 'develop' sections")
    out = []
    for section, dev in (("default", False), ("develop", True)):
        for name, spec in sorted((doc.get(section) or {}).items()):
            if not isinstance(spec, dict):
                raise InputError(f"{path}: {section}.{name} must be an object")
            version = str(spec.get("version", ""))
            version = version[2:] if version.startswith("==") else version
            out.append(LockEntry(normalize(name), version, "pypi", tuple(sorted(spec.get("hashes", []))), None, dev))
    return out
