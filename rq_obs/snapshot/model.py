"""A release snapshot as frozen dataclasses, with JSON round-trip.

``Snapshot.to_dict()`` is the document stored in the ``release_snapshots`` table and
printed by ``rq-obs snapshot --format json``; :func:`snapshot_from_dict` validates a
document and names the first bad field.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from rq_obs.errors import InputError
from rq_obs.snapshot.pyenv import ENV_FIELDS, KINDS

__all__ = ["SCHEMA_VERSION", "STATS", "Dependency", "Vulnerability", "Benchmark", "TestSummary", "QualityInputs",
           "Snapshot", "snapshot_from_dict", "SEVERITIES", "RELEASE_PATTERN"]

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

    @property
    def failing(self) -> tuple[str, ...]:
        """Tests that failed or errored in every counted attempt of the scope, quarantined failures excepted
        (what the ``max_failing_tests`` gate counts): a test that passed once is flaky, not failing."""
        out = []
        for name, n in self.tests.items():
            bad = n.get("failed", 0) + n.get("error", 0)
            if bad and not n.get("passed", 0) and n.get("quarantined", 0) < bad:
                out.append(name)
        return tuple(out)


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
#
# One validator for every way a snapshot document comes in: read back from a store, pushed to
# ``POST /api/v1/snapshots``, imported. It checks what every reader relies on (the release
# exporter publishes these fields as labels and values, compare and trends compute with them),
# so a document it accepts cannot break a scrape.

#: A release name: what ``rq-obs snapshot --release`` accepts (it becomes a label value).
RELEASE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+:/@-]{0,127}$")
#: Integers beyond this do not fit SQLite or a float without loss; no count or size comes near it.
_MAX_INT = 2 ** 63 - 1


def _need(doc: Mapping, key: str, types: type | tuple, where: str, optional: bool = False, default: Any = None):
    if key not in doc or doc[key] is None:
        if optional:
            return default
        raise InputError(f"{where}: field {key!r} is missing")
    v = doc[key]
    if isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise InputError(f"{where}: field {key!r} is {v!r}; expected {_tname(types)}")
    if not isinstance(v, types):
        raise InputError(f"{where}: field {key!r} is {_show(v)}; expected {_tname(types)}")
    if isinstance(v, float) and not math.isfinite(v):
        raise InputError(f"{where}: field {key!r} is {v!r}; expected a finite number")
    return v


def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _tname(types: type | tuple) -> str:
    ts = types if isinstance(types, tuple) else (types,)
    names = {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "an object", bool: "true/false"}
    return " or ".join(names.get(t, t.__name__) for t in ts)


_NUM = (int, float)


def _ranged(d: Mapping, key: str, where: str, low: float | None, high: float | None, optional: bool = True,
            default: Any = None, types: type | tuple = _NUM) -> Any:
    v = _need(d, key, types, where, optional, default)
    if v is None:
        return v
    if (low is not None and v < low) or (high is not None and v > high):
        bounds = (f"between {low:g} and {high:g}" if low is not None and high is not None
                  else f">= {low:g}" if low is not None else f"<= {high:g}")
        raise InputError(f"{where}: field {key!r} is {v!r}; expected {bounds}")
    return v


def _count(d: Mapping, key: str, where: str) -> int:
    return int(_ranged(d, key, where, 0, None, True, 0, int))


def _strings(d: Mapping, key: str, where: str) -> tuple[str, ...]:
    items = _need(d, key, list, where, True, [])
    for i, x in enumerate(items):
        if not isinstance(x, str):
            raise InputError(f"{where}: field '{key}[{i}]' is {_show(x)}; expected a string")
    return tuple(items)


def _typed_fields(d: Mapping, where: str, spec: Mapping[str, type | tuple]) -> None:
    """Optional fields of an open object (other fields are allowed) must have these types when present."""
    for key, types in spec.items():
        _need(d, key, types, where, True)


def _check_values(doc: Any, where: str) -> None:
    """Every value of a JSON document is storable and publishable: finite numbers, 64-bit integers, text
    without lone UTF-16 surrogates (an unpaired \\ud800-\\udfff escape is not text and cannot be encoded)."""
    stack: list[tuple[Any, str]] = [(doc, where)]
    while stack:
        v, at = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise InputError(f"{at}: has a string with a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff "
                                 f"escape), which is not text") from None
        elif isinstance(v, bool) or v is None:
            continue
        elif isinstance(v, float):
            if not math.isfinite(v):
                raise InputError(f"{at}: is {v!r}; expected a finite number")
        elif isinstance(v, int):
            if abs(v) > _MAX_INT:
                raise InputError(f"{at}: is an integer too large to store (more than 64 bits)")
        elif isinstance(v, dict):
            for k, x in v.items():
                stack.append((k, f"{at} (a field name)"))
                stack.append((x, f"{at}.{k}" if isinstance(k, str) and k.isidentifier() else f"{at}[{k!r}]"))
        elif isinstance(v, (list, tuple)):
            stack.extend((x, f"{at}[{i}]") for i, x in enumerate(v))
        else:
            raise InputError(f"{at}: is {_show(v)}; expected a JSON value")


def _dep(d: Any, where: str) -> Dependency:
    if not isinstance(d, dict):
        raise InputError(f"{where}: expected an object")
    kind = _need(d, "kind", str, where, True, "transitive")
    if kind not in ("direct", "transitive"):
        raise InputError(f"{where}: field 'kind' is {kind!r}; expected direct or transitive")
    name = _need(d, "name", str, where)
    if not name:
        raise InputError(f"{where}: field 'name' is empty; expected a package name")
    return Dependency(name, _need(d, "version", str, where), kind,
                      _need(d, "ecosystem", str, where, True, "pypi"), _need(d, "license", str, where, True, "UNKNOWN"),
                      _strings(d, "hashes", where), _need(d, "source", str, where, True, "installed"))


def _vuln(d: Any, where: str) -> Vulnerability:
    if not isinstance(d, dict):
        raise InputError(f"{where}: expected an object")
    sev = _need(d, "severity", str, where, True, "unknown")
    if sev not in SEVERITIES:
        raise InputError(f"{where}: field 'severity' is {sev!r}; expected one of {', '.join(SEVERITIES)}")
    return Vulnerability(_need(d, "id", str, where), _need(d, "package", str, where), _need(d, "version", str, where), sev,
                         _strings(d, "aliases", where), _strings(d, "fix_versions", where),
                         _need(d, "ecosystem", str, where, True, "pypi"), _need(d, "source", str, where, True, "pip-audit"))


def _bench(d: Any, where: str) -> Benchmark:
    if not isinstance(d, dict):
        raise InputError(f"{where}: expected an object")
    samples = _need(d, "samples", list, where, True, [])
    if not all(isinstance(x, _NUM) and not isinstance(x, bool) for x in samples):  # finite: _check_values
        raise InputError(f"{where}: field 'samples' must be a list of numbers (seconds)")
    name = _need(d, "name", str, where)
    if not name:
        raise InputError(f"{where}: field 'name' is empty; expected the operation's name")
    return Benchmark(
        name, float(_need(d, "mean", _NUM, where)), float(_need(d, "min", _NUM, where)),
        float(_need(d, "max", _NUM, where)), float(_need(d, "stddev", _NUM, where)), float(_need(d, "p50", _NUM, where)),
        _opt_float(d, "p95", where), _opt_float(d, "p99", where), _count(d, "rounds", where),
        tuple(float(x) for x in samples), _opt_float(d, "peak_memory_bytes", where), _opt_float(d, "cpu_percent", where),
        _need(d, "source", str, where, True, "pytest-benchmark"))


def _opt_float(d: Mapping, key: str, where: str) -> float | None:
    v = _need(d, key, _NUM, where, True, None)
    return None if v is None else float(v)


def _tests(t: Mapping, where: str) -> TestSummary:
    per_test = _need(t, "tests", dict, where, True, {})
    tests: dict[str, dict[str, int]] = {}
    for name, outcomes in per_test.items():
        if not isinstance(outcomes, dict):
            raise InputError(f"{where}: field 'tests[{name!r}]' is {_show(outcomes)}; expected an object of "
                             f"outcome counts")
        tests[name] = {o: _count(outcomes, o, f"{where}.tests[{name!r}]") for o in outcomes}
    return TestSummary(_count(t, "passed", where), _count(t, "failed", where), _count(t, "errors", where),
                       _count(t, "skipped", where), _count(t, "runs", where), _need(t, "scope", str, where, True, "none"),
                       tests)


def _quality(q: Mapping, where: str) -> QualityInputs:
    def score(key: str) -> float | None:
        v = _ranged(q, key, where, 0, 100)
        return None if v is None else float(v)

    coverage = _ranged(q, "coverage", where, 0, 1)
    return QualityInputs(None if coverage is None else float(coverage), _need(q, "coverage_source", str, where, True, ""),
                         score("code_quality"), score("documentation"), _need(q, "vulnerability_scan", str, where, True, ""))


def _score(s: Mapping, where: str) -> dict[str, Any]:
    """The stored quality score (``QualityScore.to_dict()``): what the release exporter and gates read."""
    _ranged(s, "total", where, 0, 100)
    for key in ("dimensions", "weights", "effective_weights"):
        part = _need(s, key, dict, where, True, {})
        for name in part:
            _ranged(part, name, f"{where}.{key}", 0, 100 if key == "dimensions" else None)
    _strings(s, "missing", where)
    notes = _need(s, "notes", dict, where, True, {})
    for name in notes:
        _need(notes, name, str, f"{where}.notes", True)
    # a null part is absent (readers default it); a null total or dimension means "not scored"
    return {k: v for k, v in s.items() if v is not None or k == "total"}


_ENV_PARTS: dict[str, dict[str, type | tuple]] = {
    "cpu": {"model": str, "architecture": str, "cores_physical": int, "cores_logical": int, "frequency_mhz": _NUM},
    "memory": {"total_bytes": _NUM, "available_bytes": _NUM},
    "load": {"per_cpu_1m": _NUM},
    "disk": {"total_bytes": _NUM, "free_bytes": _NUM},
    "os": {"system": str, "release": str, "kernel": str},
    "python": {"implementation": str, "version": str, "compiler": str, "prefix_is_venv": bool},
}


#: Kinds of Python environment a snapshot's dependencies are read from.
_DEP_ENV_KINDS = tuple(KINDS)


def _dependency_environment(d: Mapping, where: str) -> dict[str, Any]:
    """Where the installed distributions were read from: text fields, ``kind`` one of :data:`_DEP_ENV_KINDS`;
    ``{}`` (a snapshot from before it was recorded) stays ``{}``."""
    if not d:
        return {}
    _typed_fields(d, where, {k: str for k in ENV_FIELDS})
    kind = d.get("kind")
    if kind is not None and kind not in _DEP_ENV_KINDS:
        raise InputError(f"{where}: field 'kind' is {_show(kind)}; expected one of {', '.join(_DEP_ENV_KINDS)}")
    return dict(d)


def _environment(e: Mapping, where: str) -> dict[str, Any]:
    """The environment (:func:`rq_obs.snapshot.environment.capture_environment`): the parts readers use are typed;
    other fields are kept as they are. A ``null`` part, or text field of a part, is dropped (absent: readers
    fall back to their defaults); a ``null`` number stays (unknown)."""
    out = dict(e)
    for part, spec in _ENV_PARTS.items():
        inner = _need(e, part, dict, where, True)
        if inner is None:
            out.pop(part, None)
            continue
        _typed_fields(inner, f"{where}.{part}", spec)
        if any(inner.get(k, "") is None for k, t in spec.items() if t is str):
            out[part] = {k: v for k, v in inner.items() if not (v is None and spec.get(k) is str)}
    top = {"container": str, "hostname": str, "config": dict, "feature_flags": dict, "gpu": list, "env": dict,
           "secrets_present": list}
    _typed_fields(e, where, top)
    for k in top:
        if k in out and out[k] is None:
            del out[k]
    for i, gpu in enumerate(_need(e, "gpu", list, where, True, [])):
        if not isinstance(gpu, dict):
            raise InputError(f"{where}: field 'gpu[{i}]' is {_show(gpu)}; expected an object")
    env = _need(e, "env", dict, where, True, {})
    for name in env:
        _need(env, name, str, f"{where}.env", True)
    _strings(e, "secrets_present", where)
    return out


def snapshot_from_dict(doc: Any, where: str = "snapshot") -> Snapshot:
    """Validate a snapshot document; raise InputError naming the first bad field."""
    if not isinstance(doc, dict):
        raise InputError(f"{where}: expected a JSON object")
    _check_values(doc, where)
    version = doc.get("schema_version", SCHEMA_VERSION)
    if version is not None and (type(version) is not int or version != SCHEMA_VERSION):
        raise InputError(f"{where}: schema_version {version!r} is not supported (expected {SCHEMA_VERSION})")
    release = _need(doc, "release", str, where)
    if not RELEASE_PATTERN.match(release):
        raise InputError(f"{where}: field 'release' is {_show(release)}; expected 1-128 characters of letters, digits "
                         f"and _.+:/@- starting with a letter or digit")
    deps = tuple(_dep(d, f"{where}.dependencies[{i}]") for i, d in enumerate(_need(doc, "dependencies", list, where, True, [])))
    vulns = tuple(_vuln(d, f"{where}.vulnerabilities[{i}]") for i, d in enumerate(_need(doc, "vulnerabilities", list, where, True, [])))
    benches = tuple(_bench(d, f"{where}.benchmarks[{i}]") for i, d in enumerate(_need(doc, "benchmarks", list, where, True, [])))
    return Snapshot(
        release=release, commit=_need(doc, "commit", str, where, True, ""),
        created_at=float(_ranged(doc, "created_at", where, 0, None, optional=False)),
        project=_need(doc, "project", str, where, True, ""),
        dependencies=deps, vulnerabilities=vulns,
        environment=_environment(_need(doc, "environment", dict, where, True, {}), f"{where}.environment"),
        benchmarks=benches, resources=_need(doc, "resources", dict, where, True, {}),
        tests=_tests(_need(doc, "tests", dict, where, True, {}), f"{where}.tests"),
        quality=_quality(_need(doc, "quality", dict, where, True, {}), f"{where}.quality"),
        score=_score(_need(doc, "score", dict, where, True, {}), f"{where}.score"),
        baseline=_need(doc, "baseline", str, where, True, ""),
        dependency_environment=_dependency_environment(_need(doc, "dependency_environment", dict, where, True, {}),
                                                       f"{where}.dependency_environment"))
