"""Release comparison: performance, dependencies, environment, tests, quality score, recommendation.

:func:`compare` takes two snapshots and the config and returns a :class:`Comparison`;
:mod:`rq_obs.compare.report` renders it as text, markdown, JSON or HTML.

Recommendation (``approve`` / ``review`` / ``block``) and risk level:

* **block** (risk *high*, or *critical* when a critical regression or a critical
  vulnerability is among the reasons): more regressions than ``max_regressions``, or a
  newly introduced critical/high vulnerability.
* **review** (risk *medium*): a slowdown beyond the threshold that could not be tested, a
  major dependency update or downgrade, dependencies read from different kinds of Python
  environment (the project's, rq-obs's own, another), a removed direct dependency, other new
  vulnerabilities, a medium/high environment risk, a quality-score drop of 5 points or
  more, a pass-rate drop of 5 points or more, newly flaky or removed tests.
* **approve** (risk *low*): none of the above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rq_obs.analysis import quality as q
from rq_obs.compare.deps import DepDiff, diff_dependencies, environment_note
from rq_obs.compare.env import EnvDiff, diff_environment
from rq_obs.compare.perf import PerfDiff, busy_note, compare_performance
from rq_obs.compare.tests import TestDiff, diff_tests
from rq_obs.config import Config
from rq_obs.snapshot.model import Snapshot

__all__ = ["Comparison", "compare", "quality_of", "dimension_inputs"]


def _vuln_counts(snap: Snapshot) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in snap.vulnerabilities:
        out[v.severity] = out.get(v.severity, 0) + 1
    return out


def dimension_inputs(head: Snapshot, perf: PerfDiff | None) -> tuple[dict[str, float | None], dict[str, str]]:
    """The five dimension scores of ``head`` (None = missing) and a note on where each came from."""
    dims: dict[str, float | None] = {d: None for d in q.DIMENSIONS}
    notes: dict[str, str] = {}
    qi = head.quality
    if qi.code_quality is not None:
        dims["code_quality"], notes["code_quality"] = qi.code_quality, "given"
    else:
        notes["code_quality"] = "missing: no --code-quality input"
    if qi.documentation is not None:
        dims["documentation"], notes["documentation"] = qi.documentation, "given"
    else:
        notes["documentation"] = "missing: no --documentation input"
    if qi.coverage is not None:
        dims["test_coverage"], notes["test_coverage"] = 100.0 * qi.coverage, f"line coverage from {qi.coverage_source or 'input'}"
    else:
        notes["test_coverage"] = "missing: no --coverage report"
    if qi.vulnerability_scan:
        counts = _vuln_counts(head)
        dims["dependencies"] = q.dependency_score(counts)
        notes["dependencies"] = f"{sum(counts.values())} known vulnerabilities ({qi.vulnerability_scan})"
    else:
        notes["dependencies"] = "missing: no --vulns report (pip-audit or OSV-Scanner JSON)"
    if perf is not None and perf.ops:
        dims["performance"] = q.performance_score(perf.by_severity(), len(perf.ops))
        notes["performance"] = f"{len(perf.regressions)} regressions in {len(perf.ops)} operations"
    else:
        notes["performance"] = "missing: no baseline with common benchmarks"
    return dims, notes


def quality_of(head: Snapshot, base: Snapshot | None, config: Config) -> q.QualityScore:
    perf = compare_performance(base, head, config.regression_threshold, config.significance_level) if base else None
    dims, notes = dimension_inputs(head, perf)
    return q.score(dims, config.quality_weights, notes)


@dataclass(frozen=True)
class Comparison:
    base: Snapshot
    head: Snapshot
    perf: PerfDiff
    deps: DepDiff
    env: EnvDiff
    tests: TestDiff
    base_score: q.QualityScore
    head_score: q.QualityScore
    recommendation: str
    risk: str
    reasons: tuple[str, ...]

    @property
    def score_delta(self) -> float | None:
        if self.base_score.total is None or self.head_score.total is None:
            return None
        return self.head_score.total - self.base_score.total

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": {"release": self.base.release, "commit": self.base.commit, "created_at": self.base.created_at},
            "head": {"release": self.head.release, "commit": self.head.commit, "created_at": self.head.created_at},
            "recommendation": self.recommendation, "risk": self.risk, "reasons": list(self.reasons),
            "performance": self.perf.to_dict(),
            "dependencies": dict(self.deps.to_dict(), environments={"base": dict(self.base.dependency_environment),
                                                                    "head": dict(self.head.dependency_environment)}),
            "environment": self.env.to_dict(),
            "tests": self.tests.to_dict(),
            "quality": {"base": self.base_score.to_dict(), "head": self.head_score.to_dict(), "delta": self.score_delta},
        }


def _recommend(perf: PerfDiff, deps: DepDiff, env: EnvDiff, tests: TestDiff, delta: float | None,
               head_total: float | None, config: Config, busy: str | None = None,
               deps_env: str | None = None) -> tuple[str, str, tuple[str, ...]]:
    block, review, critical = [], [], False
    if busy:
        review.append(busy)
    if deps_env:
        review.append(deps_env)
    regs = perf.regressions
    if len(regs) > config.max_regressions:
        sev = perf.by_severity()
        block.append(f"{len(regs)} performance regressions (allowed {config.max_regressions}): "
                     + ", ".join(f"{n} {s}" for s, n in sev.items() if n))
        critical |= sev["critical"] > 0
    bad = [v for v in deps.introduced if v.severity in ("critical", "high")]
    if bad:
        block.append(f"{len(bad)} new critical/high vulnerabilities: " + ", ".join(f"{v.id} ({v.package})" for v in bad))
        critical |= any(v.severity == "critical" for v in bad)
    # the same thresholds `rq-obs gate` and the alerts use, so compare and gate never contradict
    if head_total is not None and head_total < config.min_quality_score:
        block.append(f"quality score {head_total:.1f} below the gate of {config.min_quality_score:g}")
    elif head_total is None:
        review.append("no quality score: every dimension is missing (see the dimensions below for the inputs)")
    other = [v for v in deps.introduced if v.severity not in ("critical", "high")]
    if other:
        review.append(f"{len(other)} new vulnerabilities: " + ", ".join(f"{v.id} ({v.package}, {v.severity})" for v in other))
    unverified = perf.with_status("unverified")
    if unverified:
        review.append(f"{len(unverified)} operations slower than {perf.threshold:.0%} but not testable: "
                      + ", ".join(o.operation for o in unverified[:5]))
    majors = [c for c in deps.changes if c.change == "major" or c.downgrade]
    if majors:
        review.append(f"{len(majors)} major dependency updates or downgrades: "
                      + ", ".join(f"{c.name} {c.old}->{c.new}" for c in majors[:5]))
    gone = [c for c in deps.of("removed") if c.kind == "direct"]
    if gone:
        review.append("direct dependencies removed: " + ", ".join(c.name for c in gone[:5]))
    if env.risk in ("medium", "high"):
        review.append(f"environment changed ({env.risk} compatibility risk): "
                      + ", ".join(c.field for c in env.changes if c.risk == env.risk)[:200])
    if delta is not None and delta <= -config.quality_drop_threshold:
        review.append(f"quality score dropped {-delta:.1f} points")
    if tests.pass_rate_delta is not None and tests.pass_rate_delta <= -0.05:
        review.append(f"pass rate dropped {-tests.pass_rate_delta * 100:.1f} points")
    head_rate = tests.head_pass_rate
    if head_rate is not None and head_rate < config.slo_pass_rate:
        review.append(f"pass rate {head_rate:.1%} below the {config.slo_pass_rate:.0%} SLO")
    if tests.newly_flaky:
        review.append(f"{len(tests.newly_flaky)} newly flaky tests")
    if tests.removed:
        review.append(f"{len(tests.removed)} tests removed")
    if block:
        return "block", "critical" if critical else "high", tuple(block + review)
    if review:
        return "review", "medium", tuple(review)
    return "approve", "low", ()


def compare(base: Snapshot, head: Snapshot, config: Config) -> Comparison:
    perf = compare_performance(base, head, config.regression_threshold, config.significance_level)
    deps = diff_dependencies(base.dependencies, head.dependencies, base.vulnerabilities, head.vulnerabilities)
    env = diff_environment(base.environment, head.environment)
    tests = diff_tests(base.tests, head.tests)
    dims, notes = dimension_inputs(head, perf)
    head_score = q.score(dims, config.quality_weights, notes)
    base_score = q.QualityScore.from_dict(base.score) if base.score else quality_of(base, None, config)
    delta = None if base_score.total is None or head_score.total is None else head_score.total - base_score.total
    rec, risk, reasons = _recommend(perf, deps, env, tests, delta, head_score.total, config,
                                    busy_note(base, head, perf), environment_note(base, head))
    return Comparison(base, head, perf, deps, env, tests, base_score, head_score, rec, risk, reasons)
