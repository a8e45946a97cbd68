"""A/B experiments: per variant rates and means, lift vs control with CIs, p-values, SRM, power, MDE.

Input is one :class:`Arm` per (experiment, variant) with counts and sums, aggregated
from the store in SQL (:mod:`rq_obs.analytics.queries`). Definitions (docs/ANALYTICS.md):

- samples are first attempts (attempt = 1): reruns depend on the outcome, so counting
  them would bias both the sample ratio and the rates.
- control is the variant named ``control``, else the first variant alphabetically.
- metrics: ``pass_rate`` (two-proportion z-test), ``duration``, ``tokens`` (input + output
  per attempt), ``cost`` (USD per attempt) (Welch's t-test). tokens and cost are tested
  only when the experiment made API calls.
- m = tested metrics × treatment variants comparisons; each is judged at alpha / m
  (Bonferroni) and a note says so when m > 1. Power and MDE use that alpha.
- SRM: chi-square of samples per variant against the configured split (equal by default);
  flagged when p < 0.001, and every treatment's verdict is then ``srm``.
- verdict (primary metric pass_rate): better / worse when p < alpha/m, else inconclusive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from rq_obs.analysis.stats import (SRM_THRESHOLD, Comparison, SrmResult, Summary, bonferroni, srm, summary_from_sums,
                                   two_proportions, welch)

__all__ = ["Arm", "ExperimentResult", "analyse", "analyse_all", "METRICS", "VERDICTS", "pick_control"]

METRICS = ("pass_rate", "duration", "tokens", "cost")
VERDICTS = ("better", "worse", "inconclusive", "srm")
PRIMARY = "pass_rate"


@dataclass(frozen=True)
class Arm:
    experiment: str
    variant: str
    samples: int  # first attempts, any outcome
    passed: int
    counted: int  # passed + failed + error
    duration_sum: float = 0.0
    duration_sq: float = 0.0
    tokens_sum: float = 0.0
    tokens_sq: float = 0.0
    cost_sum: float = 0.0
    cost_sq: float = 0.0
    api_calls: int = 0

    def summary(self, metric: str) -> Summary:
        s, q = {"duration": (self.duration_sum, self.duration_sq), "tokens": (self.tokens_sum, self.tokens_sq),
                "cost": (self.cost_sum, self.cost_sq)}[metric]
        return summary_from_sums(self.samples, s, q)

    def value(self, metric: str) -> float | None:
        if metric == "pass_rate":
            return self.passed / self.counted if self.counted else None
        return self.summary(metric).mean if self.samples else None


@dataclass(frozen=True)
class ExperimentResult:
    experiment: str
    control: str
    arms: dict[str, Arm]
    metrics: tuple[str, ...]  # metrics tested
    comparisons: dict[tuple[str, str], Comparison]  # (variant, metric) -> comparison vs control
    srm: SrmResult | None
    alpha: float
    adjusted_alpha: float
    n_comparisons: int
    verdicts: dict[str, str]  # treatment variant -> verdict
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        variants = {}
        for v, arm in sorted(self.arms.items()):
            d = {"samples": arm.samples, "values": {m: arm.value(m) for m in self.metrics}}
            if v != self.control:
                d["verdict"] = self.verdicts.get(v)
                d["comparisons"] = {}
                for m in self.metrics:
                    c = self.comparisons.get((v, m))
                    d["comparisons"][m] = None if c is None else {
                        "control": c.control, "treatment": c.treatment, "lift_absolute": c.diff,
                        "lift_relative": c.relative, "ci95": list(c.ci) if c.ci else None, "statistic": c.statistic,
                        "p_value": c.p_value, "significant": (c.p_value is not None and c.p_value < self.adjusted_alpha),
                        "power": c.power, "mde": c.mde, "df": c.df,
                    }
            variants[v] = d
        return {
            "experiment": self.experiment, "control": self.control, "metrics": list(self.metrics),
            "alpha": self.alpha, "adjusted_alpha": self.adjusted_alpha, "comparisons": self.n_comparisons,
            "srm": None if self.srm is None else {
                "observed": list(self.srm.observed), "expected": list(self.srm.expected), "chi2": self.srm.chi2,
                "p_value": self.srm.p_value, "flagged": self.srm.flagged, "threshold": SRM_THRESHOLD},
            "variants": variants, "notes": list(self.notes),
        }


def pick_control(variants: Iterable[str]) -> str:
    names = sorted(variants)
    return "control" if "control" in names else names[0]


def analyse(arms: Iterable[Arm], alpha: float, split: Mapping[str, float] | None = None) -> ExperimentResult:
    """Analyse one experiment (all arms share ``experiment``)."""
    by_variant = {a.variant: a for a in arms}
    if not by_variant:
        raise ValueError("an experiment needs at least one variant")
    experiment = next(iter(by_variant.values())).experiment
    control = pick_control(by_variant)
    treatments = [v for v in sorted(by_variant) if v != control]
    metrics = ["pass_rate", "duration"]
    if any(a.api_calls for a in by_variant.values()):
        metrics += ["tokens", "cost"]
    n_comp = len(metrics) * len(treatments)
    adj = bonferroni(alpha, n_comp)
    c = by_variant[control]
    comps: dict[tuple[str, str], Comparison] = {}
    for v in treatments:
        t = by_variant[v]
        for m in metrics:
            if m == "pass_rate":
                r = two_proportions(c.passed, c.counted, t.passed, t.counted, adj)
            else:
                r = welch(c.summary(m), t.summary(m), adj)
            if r is not None:
                comps[(v, m)] = r
    notes = []
    weights = None
    names = sorted(by_variant)
    if split:
        missing = [v for v in names if v not in split]
        if missing:
            notes.append(f"configured split has no weight for {', '.join(missing)}; SRM check assumes an equal split")
        else:
            weights = [float(split[v]) for v in names]
    s = srm([by_variant[v].samples for v in names], weights) if treatments else None
    if n_comp > 1:
        notes.append(f"{n_comp} comparisons ({len(metrics)} metrics x {len(treatments)} treatment variant"
                     f"{'s' if len(treatments) != 1 else ''}): each is significant only below the Bonferroni-adjusted "
                     f"alpha {adj:.4g} (= {alpha:g} / {n_comp})")
    if s is not None and s.flagged:
        notes.append(f"sample-ratio mismatch (chi-square p = {s.p_value:.3g} < {SRM_THRESHOLD:g}): the split is not "
                     "what was configured, so the comparisons are not trustworthy")
    verdicts = {}
    for v in treatments:
        r = comps.get((v, PRIMARY))
        if s is not None and s.flagged:
            verdicts[v] = "srm"
        elif r is not None and r.p_value is not None and r.p_value < adj:
            verdicts[v] = "better" if r.diff > 0 else "worse"
        else:
            verdicts[v] = "inconclusive"
    return ExperimentResult(experiment, control, by_variant, tuple(metrics), comps, s, alpha, adj, n_comp, verdicts,
                            tuple(notes))


def analyse_all(arms: Iterable[Arm], alpha: float, splits: Mapping[str, Mapping[str, float]] | None = None
                ) -> list[ExperimentResult]:
    """One result per experiment, sorted by name."""
    groups: dict[str, list[Arm]] = {}
    for a in arms:
        groups.setdefault(a.experiment, []).append(a)
    splits = splits or {}
    return [analyse(g, alpha, splits.get(name)) for name, g in sorted(groups.items())]
