"""uv.lock parser: packages with sdist/wheel hashes; the root project's dependencies are direct."""

from __future__ import annotations

from pathlib import Path

from rq_obs.snapshot.lockfiles import LockEntry, _toml, normalize


def _is_root(p: dict) -> bool:
    src = p.get("source", {})
    return isinstance(src, dict) and (src.get("editable") == "." or src.get("virtual") == ".")


def parse(path: Path) -> list[LockEntry]:
    doc = _toml.load(path)
    pkgs = _toml.packages(doc, path)
    direct: set[str] = set()
    for p in pkgs:
        if _is_root(p):
            direct |= {normalize(d["name"]) for d in p.get("dependencies", []) if isinstance(d, dict) and "name" in d}
            for group in (p.get("dev-dependencies") or {}).values():
                direct |= {normalize(d["name"]) for d in group if isinstance(d, dict) and "name" in d}
    have_root = any(_is_root(p) for p in pkgs)
    out = []
    for p in pkgs:
        if _is_root(p):
            continue
        hashes = set()
        sdist = p.get("sdist")
        if isinstance(sdist, dict) and isinstance(sdist.get("hash"), str):
            hashes.add(sdist["hash"])
        for w in p.get("wheels", []) or []:
            if isinstance(w, dict) and isinstance(w.get("hash"), str):
                hashes.add(w["hash"])
        name = normalize(p["name"])
        out.append(LockEntry(name, str(p.get("version", "")), "pypi", tuple(sorted(hashes)),
                             (name in direct) if have_root else None))
    return out
