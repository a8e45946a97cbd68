"""Release quality gates: minimum score, maximum regressions and vulnerabilities, minimum coverage.

Thresholds come from the config (``min_quality_score``, ``max_regressions``,
``max_vulnerabilities``, ``min_coverage``), overridden by ``.quality-gates.yaml`` in the
project (keys ``min_score``, ``max_regressions``, ``max_vulnerabilities``, ``min_coverage``),
overridden by command-line flags. A gate whose input was not measured (no vulnerability
report, no coverage) is ``skip`` unless ``strict``, then ``fail``; ``min_coverage = 0``
disables the coverage gate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

from rq_obs.config import Config
from rq_obs.errors import ConfigError
from rq_obs.inputs import read_yaml_mapping

__all__ = ["GATES_FILE", "Gate", "thresholds", "read_gates_file", "evaluate"]

GATES_FILE = ".quality-gates.yaml"
_KEYS = {"min_score": (0, 100, float), "max_regressions": (0, None, int), "max_vulnerabilities": (0, None, int),
         "min_coverage": (0, 1, float)}


@dataclass(frozen=True)
class Gate:
    name: str
    threshold: float
    actual: float | None
    result: str  # pass | fail | skip
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_gates_file(path: Path) -> dict[str, float]:
    doc = read_yaml_mapping(path, f"a mapping of gates ({', '.join(_KEYS)})")
    out: dict[str, float] = {}
    for key, value in doc.items():
        k = str(key).replace("-", "_")
        if k not in _KEYS:
            raise ConfigError(f"{path}: unknown key {key!r}; expected one of: {', '.join(_KEYS)}")
        lo, hi, typ = _KEYS[k]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (typ is int and not float(value).is_integer()):
            raise ConfigError(f"{path}: key {key!r} is {value!r}; expected {'an integer' if typ is int else 'a number'}")
        if value < lo or (hi is not None and value > hi):
            raise ConfigError(f"{path}: key {key!r} is {value!r}; expected {lo} to {hi}" if hi is not None
                              else f"{path}: key {key!r} is {value!r}; expected {lo} or more")
        out[k] = typ(value)
    return out


def thresholds(config: Config, project: Path, flags: Mapping[str, float | None]) -> tuple[dict[str, float], dict[str, str]]:
    """(thresholds, where each came from): config < .quality-gates.yaml < flags."""
    values = {"min_score": config.min_quality_score, "max_regressions": config.max_regressions,
              "max_vulnerabilities": config.max_vulnerabilities, "min_coverage": config.min_coverage}
    sources = {k: "config" for k in values}
    gf = project / GATES_FILE
    if gf.is_file():
        for k, v in read_gates_file(gf).items():
            values[k], sources[k] = v, GATES_FILE
    for k, v in flags.items():
        if v is not None:
            values[k], sources[k] = v, "flag"
    return values, sources


def evaluate(limits: Mapping[str, float], score: float | None, regressions: int | None, vulnerabilities: int | None,
             coverage: float | None, strict: bool = False) -> list[Gate]:
    unmeasured = "fail" if strict else "skip"
    gates = []
    s = limits["min_score"]
    if score is None:
        gates.append(Gate("min_score", s, None, "fail", "no quality score: every dimension is missing"))
    else:
        gates.append(Gate("min_score", s, round(score, 2), "pass" if score >= s else "fail"))
    r = limits["max_regressions"]
    if regressions is None:
        gates.append(Gate("max_regressions", r, None, unmeasured, "no baseline with common benchmarks"))
    else:
        gates.append(Gate("max_regressions", r, regressions, "pass" if regressions <= r else "fail"))
    v = limits["max_vulnerabilities"]
    if vulnerabilities is None:
        gates.append(Gate("max_vulnerabilities", v, None, unmeasured, "no vulnerability report imported (--vulns)"))
    else:
        gates.append(Gate("max_vulnerabilities", v, vulnerabilities, "pass" if vulnerabilities <= v else "fail"))
    c = limits["min_coverage"]
    if c <= 0:
        gates.append(Gate("min_coverage", c, coverage, "skip", "disabled (min_coverage = 0)"))
    elif coverage is None:
        gates.append(Gate("min_coverage", c, None, "fail", "no coverage report imported (--coverage)"))
    else:
        gates.append(Gate("min_coverage", c, round(coverage, 4), "pass" if coverage >= c else "fail"))
    return gates
