"""CycloneDX 1.5 JSON SBOM of a snapshot's dependencies (deterministic for a given snapshot).

When the snapshot recorded which Python environment its distributions were read from, the SBOM's
``metadata.properties`` say so (``rq-obs:python-interpreter``, ``rq-obs:python-version``,
``rq-obs:python-environment``: project / rq-obs / other).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from rq_obs import __version__
from rq_obs.snapshot.model import Snapshot

__all__ = ["purl", "cyclonedx"]

_RATINGS = {"critical": "critical", "high": "high", "medium": "medium", "low": "low", "unknown": "unknown"}


def purl(ecosystem: str, name: str, version: str) -> str:
    if ecosystem == "maven" and ":" in name:
        group, artifact = name.split(":", 1)
        return f"pkg:maven/{quote(group)}/{quote(artifact)}@{quote(version)}"
    if ecosystem == "npm":
        if name.startswith("@") and "/" in name:
            scope, rest = name.split("/", 1)
            return f"pkg:npm/{quote(scope)}/{quote(rest)}@{quote(version)}"
        return f"pkg:npm/{quote(name)}@{quote(version)}"
    return f"pkg:{ecosystem}/{quote(name)}@{quote(version)}"


def _hash(h: str) -> dict | None:
    algo, _, value = h.partition(":")
    names = {"sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512", "md5": "MD5", "sha1": "SHA-1"}
    if algo.lower() in names and value:
        return {"alg": names[algo.lower()], "content": value.lower()}
    return None


def cyclonedx(snap: Snapshot) -> dict[str, Any]:
    serial = uuid.uuid5(uuid.NAMESPACE_URL, f"rq-obs:{snap.project}:{snap.release}:{snap.commit}:{snap.created_at}")
    components, refs = [], {}
    for d in snap.dependencies:
        ref = purl(d.ecosystem, d.name, d.version)
        refs[(d.ecosystem, d.name, d.version)] = ref
        comp: dict[str, Any] = {"type": "library", "bom-ref": ref, "name": d.name, "version": d.version, "purl": ref,
                                "scope": "required",
                                "properties": [{"name": "rq-obs:kind", "value": d.kind},
                                               {"name": "rq-obs:source", "value": d.source}]}
        if d.ecosystem == "maven" and ":" in d.name:
            comp["group"], comp["name"] = d.name.split(":", 1)
        if d.license and d.license != "UNKNOWN":
            comp["licenses"] = [{"license": {"name": d.license}}]
        hashes = [h for h in (_hash(x) for x in d.hashes) if h]
        if hashes:
            comp["hashes"] = hashes
        components.append(comp)
    vulns = []
    for v in snap.vulnerabilities:
        ref = refs.get((v.ecosystem, v.package, v.version)) or purl(v.ecosystem, v.package, v.version)
        entry: dict[str, Any] = {"id": v.id, "source": {"name": v.source}, "ratings": [{"severity": _RATINGS[v.severity]}],
                                 "affects": [{"ref": ref}]}
        if v.fix_versions:
            entry["recommendation"] = "Upgrade to " + ", ".join(v.fix_versions)
        vulns.append(entry)
    stamp = datetime.fromtimestamp(snap.created_at, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    bom: dict[str, Any] = {
        "bomFormat": "CycloneDX", "specVersion": "1.5", "serialNumber": f"urn:uuid:{serial}", "version": 1,
        "metadata": {"timestamp": stamp,
                     "tools": {"components": [{"type": "application", "name": "rq-obs", "version": __version__}]},
                     "component": {"type": "application", "bom-ref": f"project:{snap.project or 'project'}",
                                   "name": snap.project or "project", "version": snap.release}},
        "components": components,
    }
    env = snap.dependency_environment
    if env.get("interpreter"):
        bom["metadata"]["properties"] = [{"name": "rq-obs:python-interpreter", "value": str(env["interpreter"])},
                                         {"name": "rq-obs:python-version", "value": str(env.get("python", ""))},
                                         {"name": "rq-obs:python-environment", "value": str(env.get("kind", ""))}]
    if vulns:
        bom["vulnerabilities"] = vulns
    return bom
