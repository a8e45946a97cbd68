"""Known vulnerabilities imported from pip-audit or OSV-Scanner JSON (no network needed).

pip-audit (``pip-audit -f json``): ``{"dependencies": [{"name", "version", "vulns": [{"id",
"fix_versions", "aliases", "description"}]}]}`` (older versions: a bare list). It carries no
severity, so its findings are ``unknown``. OSV-Scanner (``osv-scanner --format json``):
``{"results": [{"packages": [{"package": {"name", "version", "ecosystem"}, "vulnerabilities":
[...], "groups": [{"ids", "max_severity"}]}]}]}``; severity comes from the group's CVSS
``max_severity`` (critical >= 9, high >= 7, medium >= 4, low > 0) or the advisory's
``database_specific.severity``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rq_obs.errors import InputError
from rq_obs.inputs import read_json
from rq_obs.snapshot.lockfiles import normalize
from rq_obs.snapshot.model import Vulnerability

__all__ = ["load_vulnerabilities", "from_pip_audit", "from_osv", "cvss_severity"]

_ECOSYSTEMS = {"PyPI": "pypi", "npm": "npm", "Maven": "maven"}


def cvss_severity(score: float | None) -> str:
    if score is None:
        return "unknown"
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low" if score > 0 else "unknown"


def from_pip_audit(doc: Any, where: str) -> list[Vulnerability]:
    deps = doc.get("dependencies") if isinstance(doc, dict) else doc
    if not isinstance(deps, list):
        raise InputError(f"{where}: expected pip-audit JSON with a 'dependencies' list")
    out = []
    skipped = []
    for i, d in enumerate(deps):
        if not isinstance(d, dict) or not isinstance(d.get("name"), str):
            raise InputError(f"{where}: dependencies[{i}] has no 'name'")
        if "skip_reason" in d:
            skipped.append(d)
            continue
        for j, v in enumerate(d.get("vulns", []) or []):
            if not isinstance(v, dict) or not isinstance(v.get("id"), str):
                raise InputError(f"{where}: dependencies[{i}].vulns[{j}] has no 'id'")
            out.append(Vulnerability(v["id"], normalize(d["name"]), str(d.get("version", "")), "unknown",
                                     tuple(v.get("aliases", []) or ()), tuple(v.get("fix_versions", []) or ()),
                                     "pypi", "pip-audit"))
    if deps and len(skipped) == len(deps):  # audited nothing: "0 vulnerabilities" would be a false all-clear
        raise InputError(f"{where}: pip-audit audited none of its {len(deps)} dependencies (each has a skip_reason, "
                         f"e.g. {str(skipped[0]['skip_reason'])[:100]!r}); this report says nothing about "
                         f"vulnerabilities: run pip-audit where it reaches its vulnerability service")
    return out


def _osv_db_severity(v: dict) -> str:
    sev = str((v.get("database_specific") or {}).get("severity", "")).lower()
    return {"moderate": "medium"}.get(sev, sev) if sev in ("low", "moderate", "medium", "high", "critical") else "unknown"


def from_osv(doc: Any, where: str) -> list[Vulnerability]:
    results = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(results, list):
        raise InputError(f"{where}: expected OSV-Scanner JSON with a 'results' list")
    out = []
    for i, r in enumerate(results):
        for j, p in enumerate((r or {}).get("packages", []) or []):
            pkg = p.get("package") if isinstance(p, dict) else None
            if not isinstance(pkg, dict) or not isinstance(pkg.get("name"), str):
                raise InputError(f"{where}: results[{i}].packages[{j}] has no package.name")
            eco = _ECOSYSTEMS.get(pkg.get("ecosystem", ""), str(pkg.get("ecosystem", "")).lower())
            name = normalize(pkg["name"]) if eco == "pypi" else pkg["name"]
            group_sev: dict[str, str] = {}
            for g in p.get("groups", []) or []:
                try:
                    score = float(g.get("max_severity")) if g.get("max_severity") not in (None, "") else None
                except (TypeError, ValueError):
                    score = None
                for vid in g.get("ids", []):
                    group_sev[vid] = cvss_severity(score)
            for k, v in enumerate(p.get("vulnerabilities", []) or []):
                if not isinstance(v, dict) or not isinstance(v.get("id"), str):
                    raise InputError(f"{where}: results[{i}].packages[{j}].vulnerabilities[{k}] has no 'id'")
                sev = group_sev.get(v["id"], "unknown")
                if sev == "unknown":
                    sev = _osv_db_severity(v)
                fixes = sorted({ev["fixed"] for a in v.get("affected", []) or [] for rg in a.get("ranges", []) or []
                                for ev in rg.get("events", []) or [] if isinstance(ev, dict) and "fixed" in ev})
                out.append(Vulnerability(v["id"], name, str(pkg.get("version", "")), sev, tuple(v.get("aliases", []) or ()),
                                         tuple(fixes), eco, "osv-scanner"))
    return out


def load_vulnerabilities(path: str | Path) -> tuple[str, list[Vulnerability]]:
    """(format name, vulnerabilities) of a pip-audit or OSV-Scanner JSON report."""
    p = Path(path)
    doc = read_json(p)
    if isinstance(doc, dict) and "results" in doc:
        vulns = from_osv(doc, str(p))
        fmt = "osv-scanner"
    elif (isinstance(doc, dict) and "dependencies" in doc) or isinstance(doc, list):
        vulns = from_pip_audit(doc, str(p))
        fmt = "pip-audit"
    else:
        raise InputError(f"{p}: neither pip-audit JSON ('dependencies') nor OSV-Scanner JSON ('results')")
    uniq = {(v.ecosystem, v.package, v.version, v.id): v for v in vulns}
    return fmt, [uniq[k] for k in sorted(uniq)]
