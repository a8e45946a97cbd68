"""Release quality gates: minimum score, maximum regressions and vulnerabilities, minimum coverage.

One resolution of thresholds and one evaluation, shared by ``rq-obs gate`` and ``rq-obs
compare`` (whose recommendation is *block* exactly when a gate fails), so the two never disagree:

* :func:`thresholds`: the config (``min_quality_score``, ``max_regressions``,
  ``max_vulnerabilities``, ``min_coverage``, ``max_failing_tests``), overridden by
  ``.quality-gates.yaml`` in the project (keys ``min_score``, ``max_regressions``,
  ``max_vulnerabilities``, ``min_coverage``, ``max_failing_tests``), overridden by command-line flags.
* :func:`check`: the gates of a head snapshot given its quality score and its performance diff
  against the baseline (regressions = timing + memory, :attr:`PerfDiff.regression_count`).

``max_failing_tests`` counts the tests of the snapshot's runs (its commit's, else its window's) that
failed or errored in every attempt, quarantined failures excepted (:attr:`TestSummary.failing`):
a release whose tests fail is never approved for want of a quality dimension.

A gate whose input was not measured (no quality dimension at all, no baseline sharing a
benchmark, no vulnerability report, no coverage report, no test run) is ``skip`` with a reason naming what to
add, unless ``strict``, then ``fail``. ``min_coverage = 0`` disables the coverage gate (``skip``
even with ``strict``). A fifth gate, ``licences``, exists only when the gates file sets
``allowed_licences`` and/or ``denied_licences`` (SPDX ids, :mod:`rq_obs.analysis.licences`): no
dependency may have a licence the policy rejects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from rq_obs.analysis.quality import DIMENSIONS
from rq_obs.config import Config
from rq_obs.errors import ConfigError
from rq_obs.inputs import read_yaml_mapping

if TYPE_CHECKING:
    from rq_obs.compare.perf import PerfDiff
    from rq_obs.snapshot.model import Snapshot

__all__ = ["GATES_FILE", "Gate", "Limits", "thresholds", "read_gates_file", "evaluate", "check", "UNMEASURED",
           "POLICY_KEYS", "licence_gate"]

GATES_FILE = ".quality-gates.yaml"
_KEYS = {"min_score": (0, 100, float), "max_regressions": (0, None, int), "max_vulnerabilities": (0, None, int),
         "min_coverage": (0, 1, float), "max_failing_tests": (0, None, int)}

#: Why each gate may have no input, and what to add (the detail of a skipped gate).
UNMEASURED = {
    "min_score": ("no quality dimension measured: snapshot with --coverage, --vulns, --code-quality, --documentation "
                  "or --benchmarks (with a baseline)"),
    "max_regressions": "no baseline sharing a benchmark: snapshot both releases with --benchmarks or --run-benchmarks",
    "max_vulnerabilities": "no vulnerability report: run pip-audit -f json (or OSV-Scanner) and snapshot with --vulns",
    "min_coverage": "no coverage measured: run pytest with --cov and snapshot with --coverage",
    "max_failing_tests": ("no test runs at the release's commit or in the snapshot window: run the tests with "
                          "pytest --rq-obs before the snapshot"),
    "licences": "no dependencies recorded in the snapshot",
}
#: Licence policy keys of the gates file (lists of SPDX ids; :mod:`rq_obs.analysis.licences`).
POLICY_KEYS = ("allowed_licences", "denied_licences")


@dataclass(frozen=True)
class Gate:
    name: str
    threshold: float
    actual: float | None
    result: str  # pass | fail | skip
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def unmeasured(self) -> bool:
        """Skipped (or failed with strict) because its input was not measured."""
        return self.actual is None and self.detail == UNMEASURED[self.name]


@dataclass(frozen=True)
class Limits:
    """Resolved thresholds and where each came from (``config``, ``.quality-gates.yaml``, ``flag``)."""

    values: Mapping[str, float]
    sources: Mapping[str, str]
    policy: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # allowed_licences / denied_licences

    def __getitem__(self, key: str) -> float:
        return self.values[key]


def read_gates_file(path: Path) -> dict[str, Any]:
    """Numeric gates as numbers; ``allowed_licences`` / ``denied_licences`` as tuples of SPDX ids."""
    doc = read_yaml_mapping(path, f"a mapping of gates ({', '.join((*_KEYS, *POLICY_KEYS))})")
    out: dict[str, Any] = {}
    for key, value in doc.items():
        k = str(key).replace("-", "_")
        if k in POLICY_KEYS:
            from rq_obs.analysis.licences import parse_policy

            out[k] = parse_policy(value, f"{path}: key {key!r}")
            continue
        if k not in _KEYS:
            raise ConfigError(f"{path}: unknown key {key!r}; expected one of: {', '.join((*_KEYS, *POLICY_KEYS))}")
        lo, hi, typ = _KEYS[k]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (typ is int and not float(value).is_integer()):
            raise ConfigError(f"{path}: key {key!r} is {value!r}; expected {'an integer' if typ is int else 'a number'}")
        if value < lo or (hi is not None and value > hi):
            raise ConfigError(f"{path}: key {key!r} is {value!r}; expected {lo} to {hi}" if hi is not None
                              else f"{path}: key {key!r} is {value!r}; expected {lo} or more")
        out[k] = typ(value)
    return out


def thresholds(config: Config, project: Path | None, flags: Mapping[str, float | None] | None = None) -> Limits:
    """The gate thresholds: config < ``.quality-gates.yaml`` in ``project`` (None: no file) < ``flags``."""
    values = {"min_score": config.min_quality_score, "max_regressions": config.max_regressions,
              "max_vulnerabilities": config.max_vulnerabilities, "min_coverage": config.min_coverage,
              "max_failing_tests": config.max_failing_tests}
    sources = {k: "config" for k in values}
    policy: dict[str, tuple[str, ...]] = {}
    gf = Path(project) / GATES_FILE if project is not None else None
    if gf is not None and gf.is_file():
        for k, v in read_gates_file(gf).items():
            if k in POLICY_KEYS:
                policy[k] = v
            else:
                values[k], sources[k] = v, GATES_FILE
    if policy:
        sources["licences"] = GATES_FILE
    for k, v in (flags or {}).items():
        if v is not None:
            values[k], sources[k] = v, "flag"
    return Limits(values, sources, policy)


def evaluate(limits: Mapping[str, float] | Limits, score: float | None, regressions: int | None,
             vulnerabilities: int | None, coverage: float | None, strict: bool = False, *,
             missing: Sequence[str] = (), regressions_detail: str = "",
             failing: Sequence[str] | None = None) -> list[Gate]:
    """The five gates from their measured inputs (None = not measured; ``failing``: the failing tests' ids)."""
    unmeasured = "fail" if strict else "skip"
    gates = []
    s = limits["min_score"]
    if score is None:
        gates.append(Gate("min_score", s, None, unmeasured, UNMEASURED["min_score"]))
    else:
        detail = f"from {len(DIMENSIONS) - len(missing)} of {len(DIMENSIONS)} dimensions, re-weighted (missing: {', '.join(missing)})" if missing else ""
        gates.append(Gate("min_score", s, round(score, 2), "pass" if score >= s else "fail", detail))
    r = limits["max_regressions"]
    if regressions is None:
        gates.append(Gate("max_regressions", r, None, unmeasured, UNMEASURED["max_regressions"]))
    else:
        gates.append(Gate("max_regressions", r, regressions, "pass" if regressions <= r else "fail", regressions_detail))
    v = limits["max_vulnerabilities"]
    if vulnerabilities is None:
        gates.append(Gate("max_vulnerabilities", v, None, unmeasured, UNMEASURED["max_vulnerabilities"]))
    else:
        gates.append(Gate("max_vulnerabilities", v, vulnerabilities, "pass" if vulnerabilities <= v else "fail"))
    c = limits["min_coverage"]
    if c <= 0:
        gates.append(Gate("min_coverage", c, None if coverage is None else round(coverage, 4), "skip",
                          "disabled (min_coverage = 0)"))
    elif coverage is None:
        gates.append(Gate("min_coverage", c, None, unmeasured, UNMEASURED["min_coverage"]))
    else:
        gates.append(Gate("min_coverage", c, round(coverage, 4), "pass" if coverage >= c else "fail"))
    f = limits["max_failing_tests"]
    if failing is None:
        gates.append(Gate("max_failing_tests", f, None, unmeasured, UNMEASURED["max_failing_tests"]))
    else:
        shown = ", ".join(failing[:5]) + (f" and {len(failing) - 5} more" if len(failing) > 5 else "")
        gates.append(Gate("max_failing_tests", f, len(failing), "pass" if len(failing) <= f else "fail",
                          f"failed in every attempt: {shown}" if failing else ""))
    return gates


def check(limits: Mapping[str, float] | Limits, head: "Snapshot", score: Mapping[str, Any] | None,
          perf: "PerfDiff | None", strict: bool = False) -> list[Gate]:
    """The gates of ``head``: ``score`` is its quality score (``QualityScore.to_dict()``, None when
    unknown), ``perf`` its diff against the baseline (None without a baseline)."""
    total = score.get("total") if score else None
    missing = tuple(score.get("missing", ())) if score else ()
    regressions, detail = None, ""
    if perf is not None and perf.ops:
        regressions = perf.regression_count
        detail = (f"{len(perf.regressions)} timing of {len(perf.ops)} operations, {len(perf.memory_regressions)} memory "
                  f"of {len(perf.memory)} with peak memory")
    vulns = len(head.vulnerabilities) if head.quality.vulnerability_scan else None
    counted = head.tests.passed + head.tests.failed + head.tests.errors
    gates = evaluate(limits, total, regressions, vulns, head.quality.coverage, strict,
                     missing=missing, regressions_detail=detail, failing=head.tests.failing if counted else None)
    policy = getattr(limits, "policy", None) or {}
    if policy:
        gates.append(licence_gate(head, policy, strict))
    return gates


def licence_gate(head: "Snapshot", policy: Mapping[str, Sequence[str]], strict: bool = False) -> Gate:
    """The ``licences`` gate (only when the gates file sets a policy): dependencies whose licence the policy
    rejects, at most 0. Detail: the policy and the first violations."""
    from rq_obs.analysis.licences import violations

    allowed, denied = tuple(policy.get("allowed_licences", ())), tuple(policy.get("denied_licences", ()))
    if not head.dependencies:
        return Gate("licences", 0, None, "fail" if strict else "skip", UNMEASURED["licences"])
    bad = violations(head.dependencies, allowed, denied)
    rule = "; ".join(x for x in (f"allowed: {', '.join(allowed)}" if allowed else "",
                                 f"denied: {', '.join(denied)}" if denied else "") if x)
    detail = rule + (f"; {len(bad)} of {len(head.dependencies)} dependencies rejected: "
                     + ", ".join(v.text() for v in bad[:5]) + (" ..." if len(bad) > 5 else "") if bad else "")
    return Gate("licences", 0, len(bad), "fail" if bad else "pass", detail)
