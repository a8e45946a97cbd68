"""Build snapshots for tests without touching the machine (exact, reproducible values)."""

from __future__ import annotations

import random

from rq_obs.snapshot.benchmarks import from_samples
from rq_obs.snapshot.model import Benchmark, Dependency, QualityInputs, Snapshot, TestSummary, Vulnerability

ENV = {
    "cpu": {"model": "Test CPU 3000", "architecture": "x86_64", "cores_physical": 2, "cores_logical": 4, "frequency_mhz": 3000.0},
    "memory": {"total_bytes": 8589934592, "available_bytes": 4294967296},
    "disk": {"total_bytes": 100, "free_bytes": 50},
    "gpu": [],
    "os": {"system": "Linux", "release": "Debian GNU/Linux 12 (bookworm)", "kernel": "6.1.0"},
    "python": {"implementation": "CPython", "version": "3.11.7", "compiler": "GCC 12.2.0", "prefix_is_venv": True},
    "container": "none", "hostname": "ci-1", "env": {"CI": "true"}, "secrets_present": [], "config": {}, "feature_flags": {},
}


def samples(mean: float, cv: float = 0.03, n: int = 20, seed: int = 1) -> tuple[float, ...]:
    rng = random.Random(seed)
    return tuple(rng.gauss(mean, mean * cv) for _ in range(n))


def bench(name: str, mean: float, seed: int = 1, n: int = 20) -> Benchmark:
    return from_samples(name, samples(mean, n=n, seed=seed), "pytest-benchmark")


def deps(*specs: str) -> tuple[Dependency, ...]:
    """'name==1.0' (direct) or 'name==1.0~' (transitive)."""
    out = []
    for s in specs:
        kind = "transitive" if s.endswith("~") else "direct"
        name, version = s.rstrip("~").split("==")
        out.append(Dependency(name, version, kind, "pypi", "MIT"))
    return tuple(out)


def make(release: str, created_at: float, *, dependencies=(), benchmarks=(), vulns=None, coverage=None,
         code_quality=None, documentation=None, tests=None, env=None, commit="", score=None, baseline="") -> Snapshot:
    return Snapshot(release=release, commit=commit or f"{abs(hash(release)) % 16**12:012x}", created_at=created_at,
                    project="demo", dependencies=tuple(dependencies), vulnerabilities=tuple(vulns or ()),
                    environment=env or ENV, benchmarks=tuple(benchmarks), tests=tests or TestSummary(),
                    quality=QualityInputs(coverage, "coverage.json" if coverage is not None else "", code_quality, documentation,
                                          "pip-audit" if vulns is not None else ""),
                    score=score or {}, baseline=baseline)


def vuln(vid: str, package: str, version: str, severity: str = "high") -> Vulnerability:
    return Vulnerability(vid, package, version, severity)
