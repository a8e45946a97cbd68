"""A release snapshot as frozen dataclasses, with JSON round-trip.

``Snapshot.to_dict()`` is the document stored in the ``release_snapshots`` table and
printed by ``rq-obs snapshot --format json``; :func:`snapshot_from_dict` validates a
document and names the first bad field.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from rq_obs.errors import InputError

__all__ = ["SCHEMA_VERSION", "STATS", "Dependency", "Vulnerability", "Benchmark", "TestSummary", "QualityInputs",
           "Snapshot", "snapshot_from_dict", "SEVERITIES"]

SCHEMA_VERSION = 1
#: Benchmark statistics published per operation (the ``stat`` label).
STATS = ("mean", "min", "max", "stddev", "p50", "p95", "p99")
#: Vulnerability severities (the ``severity`` label of vulnerability metrics).
SEVERITIES = ("critical", "high", "medium", "low", "unknown")


@dataclass(frozen=True)
class Dependency:
    name: str  # normalised (PEP 503 for Python)
    version: str
    kind: str = "transitive"  # direct | transitive
    ecosystem: str = "pypi"  # pypi | npm | maven
    license: str = "UNKNOWN"
    hashes: tuple[str, ...] = ()  # "sha256:..." from lock files
    source: str = "installed"  # installed | requirements.txt | poetry.lock | ...

    @property
    def key(self) -> tuple[str, str]:
        return (self.ecosystem, self.name)


@dataclass(frozen=True)
class Vulnerability:
    id: str
    package: str  # normalised name
    version: str
    severity: str = "unknown"  # one of SEVERITIES
    aliases: tuple[str, ...] = ()
    fix_versions: tuple[str, ...] = ()
    ecosystem: str = "pypi"
    source: str = "pip-audit"  # pip-audit | osv-scanner


@dataclass(frozen=True)
class Benchmark:
    name: str
    mean: float  # seconds
    min: float
    max: float
    stddev: float
    p50: float
    p95: float | None = None
    p99: float | None = None
    rounds: int = 0
    samples: tuple[float, ...] = ()  # seconds per round, when known
    peak_memory_bytes: float | None = None
    cpu_percent: float | None = None
    source: str = "pytest-benchmark"  # pytest-benchmark | runner

    def stat(self, name: str) -> float | None:
        return getattr(self, name)


@dataclass(frozen=True)
class TestSummary:
    __test__ = False  # not a pytest test class

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    runs: int = 0
    scope: str = "none"  # "commit <sha>" | "last 7d" | "none"
    tests: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # test -> {outcome: count}

    @property
    def pass_rate(self) -> float | None:
        counted = self.passed + self.failed + self.errors
        return self.passed / counted if counted else None


@dataclass(frozen=True)
class QualityInputs:
    coverage: float | None = None  # line coverage 0-1
    coverage_source: str = ""
    code_quality: float | None = None  # 0-100
    documentation: float | None = None  # 0-100
    vulnerability_scan: str = ""  # "" when no scan was imported (dependencies dimension is then missing)


@dataclass(frozen=True)
class Snapshot:
    release: str
    commit: str
    created_at: float
    project: str
    dependencies: tuple[Dependency, ...] = ()
    vulnerabilities: tuple[Vulnerability, ...] = ()
    environment: Mapping[str, Any] = field(default_factory=dict)
    benchmarks: tuple[Benchmark, ...] = ()
    resources: Mapping[str, Any] = field(default_factory=dict)  # command resource sampling, when asked
    tests: TestSummary = field(default_factory=TestSummary)
    quality: QualityInputs = field(default_factory=QualityInputs)
    score: Mapping[str, Any] = field(default_factory=dict)  # QualityScore.to_dict() against the baseline
    baseline: str = ""  # release the score's performance dimension was measured against
    # the Python environment the installed distributions were read from (rq_obs.snapshot.pyenv.PythonEnv);
    # {} in snapshots taken before rq-obs recorded it
    dependency_environment: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["schema_version"] = SCHEMA_VERSION
        return d

    def benchmark(self, name: str) -> Benchmark | None:
        for b in self.benchmarks:
            if b.name == name:
                return b
        return None


# --- validation ------------------------------------------------------------------------

def _need(doc: Mapping, key: str, types: type | tuple, where: str, optional: bool = False, default: Any = None):
    if key not in doc or doc[key] is None:
        if optional:
            return default
        raise InputError(f"{where}: field {key!r} is missing")
    v = doc[key]
    if isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise InputError(f"{where}: field {key!r} is {v!r}; expected {_tname(types)}")
    if not isinstance(v, types):
        raise InputError(f"{where}: field {key!r} is {v!r}; expected {_tname(types)}")
    if isinstance(v, float) and not math.isfinite(v):
        raise InputError(f"{where}: field {key!r} is {v!r}; expected a finite number")
    return v


def _tname(types: type | tuple) -> str:
    ts = types if isinstance(types, tuple) else (types,)
    names = {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "an object", bool: "true/false"}
    return " or ".join(names.get(t, t.__name__) for t in ts)


_NUM = (int, float)


def _dep(d: Any, where: str) -> Dependency:
    if not isinstance(d, dict):
        raise InputError(f"{where}: expected an object")
    kind = _need(d, "kind", str, where, True, "transitive")
    if kind not in ("direct", "transitive"):
        raise InputError(f"{where}: field 'kind' is {kind!r}; expected direct or transitive")
    return Dependency(_need(d, "name", str, where), _need(d, "version", str, where), kind,
                      _need(d, "ecosystem", str, where, True, "pypi"), _need(d, "license", str, where, True, "UNKNOWN"),
                      tuple(_need(d, "hashes", list, where, True, [])), _need(d, "source", str, where, True, "installed"))


def _vuln(d: Any, where: str) -> Vulnerability:
    if not isinstance(d, dict):
        raise InputError(f"{where}: expected an object")
    sev = _need(d, "severity", str, where, True, "unknown")
    if sev not in SEVERITIES:
        raise InputError(f"{where}: field 'severity' is {sev!r}; expected one of {', '.join(SEVERITIES)}")
    return Vulnerability(_need(d, "id", str, where), _need(d, "package", str, where), _need(d, "version", str, where), sev,
                         tuple(_need(d, "aliases", list, where, True, [])), tuple(_need(d, "fix_versions", list, where, True, [])),
                         _need(d, "ecosystem", str, where, True, "pypi"), _need(d, "source", str, where, True, "pip-audit"))


def _bench(d: Any, where: str) -> Benchmark:
    if not isinstance(d, dict):
        raise InputError(f"{where}: expected an object")
    samples = _need(d, "samples", list, where, True, [])
    if not all(isinstance(x, _NUM) and not isinstance(x, bool) for x in samples):
        raise InputError(f"{where}: field 'samples' must be a list of numbers (seconds)")
    return Benchmark(
        _need(d, "name", str, where), float(_need(d, "mean", _NUM, where)), float(_need(d, "min", _NUM, where)),
        float(_need(d, "max", _NUM, where)), float(_need(d, "stddev", _NUM, where)), float(_need(d, "p50", _NUM, where)),
        _opt_float(d, "p95", where), _opt_float(d, "p99", where), int(_need(d, "rounds", int, where, True, 0)),
        tuple(float(x) for x in samples), _opt_float(d, "peak_memory_bytes", where), _opt_float(d, "cpu_percent", where),
        _need(d, "source", str, where, True, "pytest-benchmark"))


def _opt_float(d: Mapping, key: str, where: str) -> float | None:
    v = _need(d, key, _NUM, where, True, None)
    return None if v is None else float(v)


def snapshot_from_dict(doc: Any, where: str = "snapshot") -> Snapshot:
    """Validate a snapshot document; raise InputError naming the first bad field."""
    if not isinstance(doc, dict):
        raise InputError(f"{where}: expected a JSON object")
    version = doc.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise InputError(f"{where}: schema_version {version!r} is not supported (expected {SCHEMA_VERSION})")
    deps = tuple(_dep(d, f"{where}.dependencies[{i}]") for i, d in enumerate(_need(doc, "dependencies", list, where, True, [])))
    vulns = tuple(_vuln(d, f"{where}.vulnerabilities[{i}]") for i, d in enumerate(_need(doc, "vulnerabilities", list, where, True, [])))
    benches = tuple(_bench(d, f"{where}.benchmarks[{i}]") for i, d in enumerate(_need(doc, "benchmarks", list, where, True, [])))
    t = _need(doc, "tests", dict, where, True, {})
    tw = f"{where}.tests"
    tests = TestSummary(int(_need(t, "passed", int, tw, True, 0)), int(_need(t, "failed", int, tw, True, 0)),
                        int(_need(t, "errors", int, tw, True, 0)), int(_need(t, "skipped", int, tw, True, 0)),
                        int(_need(t, "runs", int, tw, True, 0)), _need(t, "scope", str, tw, True, "none"),
                        {str(k): {str(o): int(n) for o, n in v.items()} for k, v in _need(t, "tests", dict, tw, True, {}).items()})
    q = _need(doc, "quality", dict, where, True, {})
    qw = f"{where}.quality"
    quality = QualityInputs(_opt_float(q, "coverage", qw), _need(q, "coverage_source", str, qw, True, ""),
                            _opt_float(q, "code_quality", qw), _opt_float(q, "documentation", qw),
                            _need(q, "vulnerability_scan", str, qw, True, ""))
    return Snapshot(
        release=_need(doc, "release", str, where), commit=_need(doc, "commit", str, where, True, ""),
        created_at=float(_need(doc, "created_at", _NUM, where)), project=_need(doc, "project", str, where, True, ""),
        dependencies=deps, vulnerabilities=vulns, environment=_need(doc, "environment", dict, where, True, {}),
        benchmarks=benches, resources=_need(doc, "resources", dict, where, True, {}), tests=tests, quality=quality,
        score=_need(doc, "score", dict, where, True, {}), baseline=_need(doc, "baseline", str, where, True, ""),
        dependency_environment=_need(doc, "dependency_environment", dict, where, True, {}))
