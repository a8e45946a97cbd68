"""The release quality score 0-100: a weighted mean of five dimensions, re-weighted over those present.

Weights default to the plans' (code quality 25, test coverage 20, dependencies 20,
documentation 15, performance 20; config ``quality_weights``). A dimension without input is
*missing*: it is reported as missing and the others' weights are scaled up to sum to 100;
it is never scored 100. With every dimension missing there is no score (``None``).

Dimension scores:

* code_quality, documentation: the 0-100 inputs given to ``rq-obs snapshot``.
* test_coverage: line coverage x 100.
* dependencies: ``100 - 25*critical - 15*high - 8*medium - 3*low - 8*unknown`` known
  vulnerabilities (floor 0); missing unless a pip-audit / OSV-Scanner report was imported.
* performance: ``100 - 10*minor - 25*major - 50*critical`` regressions vs the baseline
  (floor 0); missing without a baseline sharing at least one benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["DIMENSIONS", "DEFAULT_WEIGHTS", "VULN_PENALTY", "REGRESSION_PENALTY", "QualityScore", "score",
           "dependency_score", "performance_score"]

DIMENSIONS = ("code_quality", "test_coverage", "dependencies", "documentation", "performance")
DEFAULT_WEIGHTS = {"code_quality": 25, "test_coverage": 20, "dependencies": 20, "documentation": 15, "performance": 20}
VULN_PENALTY = {"critical": 25, "high": 15, "medium": 8, "low": 3, "unknown": 8}
REGRESSION_PENALTY = {"minor": 10, "major": 25, "critical": 50}


@dataclass(frozen=True)
class QualityScore:
    total: float | None
    dimensions: Mapping[str, float | None]
    weights: Mapping[str, float]  # configured
    effective_weights: Mapping[str, float]  # after re-weighting, summing to 100 over present dimensions
    missing: tuple[str, ...] = ()
    notes: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "dimensions": dict(self.dimensions), "weights": dict(self.weights),
                "effective_weights": dict(self.effective_weights), "missing": list(self.missing), "notes": dict(self.notes)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "QualityScore":
        return cls(d.get("total"), dict(d.get("dimensions", {})), dict(d.get("weights", {})),
                   dict(d.get("effective_weights", {})), tuple(d.get("missing", ())), dict(d.get("notes", {})))


def dependency_score(vulns_by_severity: Mapping[str, int]) -> float:
    penalty = sum(VULN_PENALTY.get(sev, VULN_PENALTY["unknown"]) * n for sev, n in vulns_by_severity.items())
    return float(max(0, 100 - penalty))


def performance_score(regressions_by_severity: Mapping[str, int], compared: int) -> float | None:
    if compared <= 0:
        return None
    penalty = sum(REGRESSION_PENALTY[sev] * n for sev, n in regressions_by_severity.items())
    return float(max(0, 100 - penalty))


def score(dimensions: Mapping[str, float | None], weights: Mapping[str, float] | None = None,
          notes: Mapping[str, str] | None = None) -> QualityScore:
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    for d in DIMENSIONS:
        weights.setdefault(d, 0)
    present = {d: float(dimensions[d]) for d in DIMENSIONS if dimensions.get(d) is not None and weights[d] > 0}
    missing = tuple(d for d in DIMENSIONS if dimensions.get(d) is None)
    wsum = sum(weights[d] for d in present)
    effective = {d: (100.0 * weights[d] / wsum if d in present else 0.0) for d in DIMENSIONS} if wsum else {d: 0.0 for d in DIMENSIONS}
    total = sum(weights[d] * present[d] for d in present) / wsum if wsum else None
    return QualityScore(total, {d: (float(dimensions[d]) if dimensions.get(d) is not None else None) for d in DIMENSIONS},
                        {d: float(weights[d]) for d in DIMENSIONS}, effective, missing, dict(notes or {}))
