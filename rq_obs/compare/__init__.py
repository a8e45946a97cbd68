"""Release comparison: performance, dependencies, environment, tests, quality score, recommendation.

:func:`compare` takes two snapshots, the config and the gate thresholds and returns a
:class:`Comparison`; :mod:`rq_obs.compare.report` renders it as text, markdown, JSON or HTML.

Recommendation (``approve`` / ``review`` / ``block``) and risk level:

* **block** (risk *high*, or *critical* when a critical timing or memory regression or a new
  critical vulnerability is among the reasons): a quality gate fails. The gates are exactly
  ``rq-obs gate``'s (:func:`rq_obs.analysis.gates.check`, thresholds from
  :func:`rq_obs.analysis.gates.thresholds`: config < ``.quality-gates.yaml`` < flags), evaluated on
  the head snapshot against the base: quality score, regressions (timing + memory),
  vulnerabilities, coverage. A gate whose input was not measured is skipped, as in ``gate``.
* **review** (risk *medium*): an inconclusive performance verdict (with the rounds that would decide it), a
  major dependency update or downgrade, dependencies read from different kinds of Python
  environment (the project's, rq-obs's own, another), a removed direct dependency, new vulnerabilities the
  vulnerability gate allows, a medium/high environment risk, a quality-score drop of
  ``quality_drop_threshold`` points or more, a pass-rate drop of 5 points or more, a pass rate
  below the SLO, tests newly flaked (a pass and a fail at the head's commit) or removed, no quality score at all.
* **approve** (risk *low*): none of the above.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from rq_obs.analysis import quality as q
from rq_obs.analysis.gates import Gate, Limits, check, thresholds
from rq_obs.compare.deps import DepDiff, diff_dependencies, environment_note
from rq_obs.compare.env import EnvDiff, diff_environment
from rq_obs.compare.perf import PerfDiff, busy_note, performance_diff
from rq_obs.compare.tests import TestDiff, diff_tests
from rq_obs.config import Config
from rq_obs.snapshot.model import Snapshot

__all__ = ["Comparison", "compare", "quality_of", "dimension_inputs", "Headline", "headline", "TO_ADD"]

#: What a snapshot needs so a quality dimension is measured (the headline names it for a one-sided dimension).
TO_ADD = {"code_quality": "snapshot with --code-quality", "test_coverage": "snapshot with --coverage",
          "dependencies": "snapshot with --vulns, a pip-audit or OSV-Scanner JSON report",
          "documentation": "snapshot with --documentation",
          "performance": "snapshot it and its baseline with --benchmarks or --run-benchmarks"}


@dataclass(frozen=True)
class Headline:
    """The quality scores of both sides over the dimensions measured on BOTH (same weights), so the delta compares
    like with like; ``only_base`` / ``only_head``: dimensions left out, each with what the other side needs."""

    base: float | None
    head: float | None
    common: tuple[str, ...]
    only_base: tuple[tuple[str, str], ...]  # (dimension, what to add to head)
    only_head: tuple[tuple[str, str], ...]  # (dimension, what to add to base)

    @property
    def delta(self) -> float | None:
        return None if self.base is None or self.head is None else self.head - self.base

    def text(self) -> str:
        def f(x):
            return "missing" if x is None else f"{x:.1f}"

        if self.common:
            out = f"{f(self.base)} → {f(self.head)}"
            if self.delta is not None:
                out += f" ({self.delta:+.1f})"
            n = len(self.common)
            out += f" on the {n} dimension{'s' if n != 1 else ''} measured on both sides"
        else:
            out = "not comparable: no dimension measured on both sides"
        left = [f"{d} only on head (base: {what})" for d, what in self.only_head]
        left += [f"{d} only on base (head: {what})" for d, what in self.only_base]
        return out + ("; left out: " + "; ".join(left) if left else "")

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base, "head": self.head, "delta": self.delta, "dimensions": list(self.common),
                "only_base": [{"dimension": d, "to_add": w} for d, w in self.only_base],
                "only_head": [{"dimension": d, "to_add": w} for d, w in self.only_head]}


def headline(base: q.QualityScore, head: q.QualityScore, weights) -> Headline:
    bd, hd = base.dimensions, head.dimensions
    common = tuple(d for d in q.DIMENSIONS if bd.get(d) is not None and hd.get(d) is not None)
    only_b = tuple((d, TO_ADD[d]) for d in q.DIMENSIONS if bd.get(d) is not None and hd.get(d) is None)
    only_h = tuple((d, TO_ADD[d]) for d in q.DIMENSIONS if hd.get(d) is not None and bd.get(d) is None)
    sb = q.score({d: bd[d] for d in common}, weights).total
    sh = q.score({d: hd[d] for d in common}, weights).total
    return Headline(sb, sh, common, only_b, only_h)


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
    perf = performance_diff(base, head, config) if base else None
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
    gates: tuple[Gate, ...] = ()
    gate_sources: Mapping[str, str] = field(default_factory=dict)
    score_drop_threshold: float = 5.0  # config quality_drop_threshold: the scale of the score-delta chart

    @property
    def headline(self) -> Headline:
        return headline(self.base_score, self.head_score, self.head_score.weights)

    @property
    def score_delta(self) -> float | None:
        """Head minus base over the dimensions measured on both sides (:class:`Headline`)."""
        return self.headline.delta

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
            "quality": {"base": self.base_score.to_dict(), "head": self.head_score.to_dict(), "delta": self.score_delta,
                        "like_for_like": self.headline.to_dict()},
            "gates": [dict(g.to_dict(), source=self.gate_sources.get(g.name, "")) for g in self.gates],
        }


def _severities(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n)


def _gate_reason(g: Gate, source: str, perf: PerfDiff, deps: DepDiff) -> str:
    """One block reason per failed gate, naming the threshold and where it came from."""
    if g.name == "min_score":
        return f"quality score {g.actual:.1f} below min_score {g.threshold:g} ({source})"
    if g.name == "min_coverage":
        return f"coverage {g.actual * 100:.1f}% below min_coverage {g.threshold * 100:.1f}% ({source})"
    if g.name == "max_failing_tests":
        n = f"{g.actual:g} test{'s' if g.actual != 1 else ''}"
        return f"{n} failing, more than max_failing_tests {g.threshold:g} ({source}): {g.detail}"
    if g.name == "licences":
        return f"{g.actual:g} dependencies with licences the policy rejects ({source}): {g.detail}"
    if g.name == "max_regressions":
        parts = []
        if perf.regressions:
            parts.append(f"timing {_severities(perf.by_severity())}")
        if perf.memory_regressions:
            parts.append(f"memory {_severities(perf.memory_by_severity())}")
        return f"{g.actual:g} performance regressions, more than max_regressions {g.threshold:g} ({source}): " + "; ".join(parts)
    bad = [v for v in deps.introduced if v.severity in ("critical", "high")]
    new = ("; new critical/high: " + ", ".join(f"{v.id} ({v.package})" for v in bad[:5])) if bad else ""
    return f"{g.actual:g} known vulnerabilities, more than max_vulnerabilities {g.threshold:g} ({source}){new}"


def _recommend(perf: PerfDiff, deps: DepDiff, env: EnvDiff, tests: TestDiff, delta: float | None,
               gates: list[Gate], limits: Limits, config: Config,
               busy: str | None = None, deps_env: str | None = None) -> tuple[str, str, tuple[str, ...]]:
    block, review, critical = [], [], False
    if busy:
        review.append(busy)
    if deps_env:
        review.append(deps_env)
    # block exactly when `rq-obs gate` fails: the same gates, thresholds and inputs
    for g in gates:
        if g.result == "fail":
            block.append(_gate_reason(g, limits.sources[g.name], perf, deps))
            if g.name == "max_regressions":
                critical |= any(o.severity == "critical" for o in (*perf.regressions, *perf.memory_regressions))
            if g.name == "max_vulnerabilities":
                critical |= any(v.severity == "critical" for v in deps.introduced)
    score_gate = next(g for g in gates if g.name == "min_score")
    if score_gate.actual is None:
        review.append(score_gate.detail)
    vuln_gate = next(g for g in gates if g.name == "max_vulnerabilities")
    bad = [v for v in deps.introduced if v.severity in ("critical", "high")]
    if bad and vuln_gate.result != "fail":
        review.append(f"{len(bad)} new critical/high vulnerabilities (within max_vulnerabilities "
                      f"{vuln_gate.threshold:g}): " + ", ".join(f"{v.id} ({v.package})" for v in bad))
    other = [v for v in deps.introduced if v.severity not in ("critical", "high")]
    if other:
        review.append(f"{len(other)} new vulnerabilities: " + ", ".join(f"{v.id} ({v.package}, {v.severity})" for v in other))
    unsure = perf.inconclusive
    if unsure:
        review.append(f"{len(unsure)} operations inconclusive (neither within nor beyond ±{perf.threshold:.0%} with "
                      f"{1 - 2 * perf.alpha:.0%} confidence): " + ", ".join(
                          o.operation + (f" (needs ~{o.samples_needed} rounds a side)" if o.samples_needed else "")
                          for o in unsure[:5]))
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
    if tests.newly_flaked:
        review.append(f"{len(tests.newly_flaked)} newly flaked tests")
    if tests.removed:
        review.append(f"{len(tests.removed)} tests removed")
    if block:
        return "block", "critical" if critical else "high", tuple(block + review)
    if review:
        return "review", "medium", tuple(review)
    return "approve", "low", ()


def compare(base: Snapshot, head: Snapshot, config: Config, limits: Limits | None = None) -> Comparison:
    """Compare ``head`` with ``base``. ``limits``: the gate thresholds (:func:`rq_obs.analysis.gates.thresholds`;
    default: the config's alone, without a ``.quality-gates.yaml``)."""
    limits = limits if limits is not None else thresholds(config, None)
    perf = performance_diff(base, head, config)
    deps = diff_dependencies(base.dependencies, head.dependencies, base.vulnerabilities, head.vulnerabilities)
    env = diff_environment(base.environment, head.environment)
    tests = diff_tests(base.tests, head.tests)
    dims, notes = dimension_inputs(head, perf)
    head_score = q.score(dims, config.quality_weights, notes)
    base_score = q.QualityScore.from_dict(base.score) if base.score else quality_of(base, None, config)
    delta = headline(base_score, head_score, config.quality_weights).delta
    gates = check(limits, head, head_score.to_dict(), perf)
    rec, risk, reasons = _recommend(perf, deps, env, tests, delta, gates, limits, config, busy_note(base, head, perf),
                                    environment_note(base, head))
    return Comparison(base, head, perf, deps, env, tests, base_score, head_score, rec, risk, reasons, tuple(gates),
                      dict(limits.sources), config.quality_drop_threshold)
