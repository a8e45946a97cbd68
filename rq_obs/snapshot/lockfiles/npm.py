"""package-lock.json parser (lockfileVersion 1, 2 and 3)."""

from __future__ import annotations

import json
from pathlib import Path

from rq_obs.errors import InputError
from rq_obs.snapshot.lockfiles import LockEntry


def _license(p: dict) -> str:
    """npm's ``license`` (an SPDX expression), or the legacy ``{"type": ...}`` / ``licenses: [...]`` forms."""
    lic = p.get("license")
    if isinstance(lic, dict):
        lic = lic.get("type")
    if not lic and isinstance(p.get("licenses"), list):
        names = [x.get("type") if isinstance(x, dict) else x for x in p["licenses"]]
        lic = " OR ".join(n for n in names if isinstance(n, str))
    return lic if isinstance(lic, str) else ""


def parse(path: Path) -> list[LockEntry]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a JSON object")
    out: dict[tuple[str, str], LockEntry] = {}
    packages = doc.get("packages")
    if isinstance(packages, dict):  # v2 / v3
        root = packages.get("", {})
        direct = set(root.get("dependencies", {})) | set(root.get("devDependencies", {})) | set(root.get("optionalDependencies", {}))
        for key, p in packages.items():
            if not key or "node_modules/" not in key or not isinstance(p, dict) or p.get("link"):
                continue
            name = p.get("name") or key.rsplit("node_modules/", 1)[1]
            version = p.get("version")
            if not isinstance(version, str):
                raise InputError(f"{path}: packages[{key!r}] has no 'version'")
            top = key == f"node_modules/{name}"
            hashes = (p["integrity"],) if isinstance(p.get("integrity"), str) else ()
            out.setdefault((name, version), LockEntry(name, version, "npm", hashes, top and name in direct, bool(p.get("dev")),
                                                      _license(p)))
    elif isinstance(doc.get("dependencies"), dict):  # v1
        def walk(deps: dict, top: bool) -> None:
            for name, p in deps.items():
                if not isinstance(p, dict) or not isinstance(p.get("version"), str):
                    raise InputError(f"{path}: dependencies[{name!r}] has no 'version'")
                hashes = (p["integrity"],) if isinstance(p.get("integrity"), str) else ()
                out.setdefault((name, p["version"]), LockEntry(name, p["version"], "npm", hashes, top, bool(p.get("dev"))))
                walk(p.get("dependencies", {}), False)

        walk(doc["dependencies"], True)
    else:
        raise InputError(f"{path}: expected 'packages' (lockfileVersion 2/3) or 'dependencies' (v1)")
    return sorted(out.values(), key=lambda e: (e.name, e.version))
