"""Helm (real, built from helm.sh/helm/v4) and the Kubernetes/CRD JSON Schemas in tests/data/kubernetes-schemas."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any, Iterable

import yaml

from tests.helpers.procs import need_tool

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "kubernetes-schemas"
BUILTIN = SCHEMAS / "v1.35.0-standalone-strict"


def helm() -> str:
    return need_tool("helm", "bash .ci/tools/build-helm.sh builds it from the Go module helm.sh/helm/v4")


def run_helm(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([helm(), *map(str, args)], capture_output=True, text=True, timeout=120)


def template(chart: Path, *values: Path, sets: Iterable[str] = (), release: str = "rq-obs",
             namespace: str = "rq-obs") -> list[dict[str, Any]]:
    """``helm template`` -> the rendered objects (fails the test with Helm's stderr)."""
    args: list[str | Path] = ["template", release, chart, "--namespace", namespace]
    for v in values:
        args += ["--values", v]
    for s in sets:
        args += ["--set", s]
    cp = run_helm(*args)
    assert cp.returncode == 0, cp.stderr
    return [d for d in yaml.safe_load_all(cp.stdout) if d]


def schema_path(obj: dict[str, Any]) -> Path:
    """kubeconform's lookup: built-in ``<kind>[-<group prefix>]-<version>.json``, CRDs ``<group>/<kind>_<version>.json``."""
    group, _, version = obj["apiVersion"].rpartition("/")
    kind = obj["kind"].lower()
    if not group or group.endswith(".k8s.io") or "." not in group:
        suffix = f"-{group.split('.')[0]}" if group else ""
        return BUILTIN / f"{kind}{suffix}-{version}.json"
    return SCHEMAS / group / f"{kind}_{version}.json"


@functools.lru_cache(maxsize=None)
def _validator(path: Path):
    import jsonschema

    # Draft 7 explicitly: the built-in files' "$schema" is one jsonschema does not know (see SOURCES.md)
    return jsonschema.Draft7Validator(json.loads(path.read_text(encoding="utf-8")))


def violations(obj: dict[str, Any]) -> list[str]:
    """Schema errors of a rendered object, each as "path: message"."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator(schema_path(obj)).iter_errors(obj)]


def validator_at(schema_file: Path, *props: str):
    """A Draft 7 validator for the schema of one property path (``items`` for arrays)."""
    import jsonschema

    node = json.loads(schema_file.read_text(encoding="utf-8"))
    for p in props:
        node = node["items"] if p == "[]" else node["properties"][p]
    return jsonschema.Draft7Validator(node)
