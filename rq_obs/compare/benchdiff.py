"""Two benchmark result files compared with the regression detector (``rq-obs bench compare``).

Like ``pyperf compare_to`` and ``asv compare``, but with the verdicts of
:mod:`rq_obs.analysis.regression`: per benchmark ``regressed``, ``improved``, ``unchanged`` or
``inconclusive`` (with the rounds per side that would decide it). Times use ``regression_threshold``,
memory (pyperf unit ``byte``) ``memory_regression_threshold``; both use ``regression_alpha``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rq_obs.analysis.regression import compare_samples
from rq_obs.compare.benchfiles import Series

__all__ = ["BenchResult", "BenchDiff", "diff_series", "STATUS_WORDS"]

#: The detector's statuses as ``bench compare`` words them.
STATUS_WORDS = {"regression": "regressed", "improvement": "improved", "unchanged": "unchanged",
                "inconclusive": "inconclusive"}


@dataclass(frozen=True)
class BenchResult:
    name: str
    unit: str
    status: str  # regressed | improved | unchanged | inconclusive
    severity: str
    ratio: float | None
    ci: tuple[float, float] | None
    confidence: float
    test: str
    p_value: float | None
    n_base: int
    n_head: int
    samples_needed: int | None
    base_median: float
    head_median: float
    threshold: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "unit": self.unit, "status": self.status, "severity": self.severity,
                "ratio": self.ratio, "ci": list(self.ci) if self.ci else None, "confidence": self.confidence,
                "test": self.test, "p_value": self.p_value, "n_base": self.n_base, "n_head": self.n_head,
                "samples_needed": self.samples_needed, "base_median": self.base_median,
                "head_median": self.head_median, "threshold": self.threshold, "reason": self.reason}


@dataclass(frozen=True)
class BenchDiff:
    results: tuple[BenchResult, ...]
    only_base: tuple[str, ...]
    only_head: tuple[str, ...]
    alpha: float

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def regressed(self) -> list[BenchResult]:
        return [r for r in self.results if r.status == "regressed"]

    def to_dict(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "confidence": 1 - 2 * self.alpha,
                "summary": {s: self.count(s) for s in STATUS_WORDS.values()},
                "benchmarks": [r.to_dict() for r in self.results],
                "only_base": list(self.only_base), "only_head": list(self.only_head)}


def diff_series(base: list[Series], head: list[Series], threshold: float, memory_threshold: float,
                alpha: float) -> BenchDiff:
    b = {s.name: s for s in base}
    h = {s.name: s for s in head}
    out = []
    for name in sorted(set(b) & set(h)):
        t = memory_threshold if h[name].unit == "byte" else threshold
        o = compare_samples(name, b[name].samples, h[name].samples, t, alpha)
        out.append(BenchResult(name, h[name].unit, STATUS_WORDS[o.status], o.severity, o.ratio, o.ci, 1 - 2 * alpha,
                               o.test, o.p_value, o.n_base, o.n_head, o.samples_needed, o.base, o.head, t, o.reason))
    return BenchDiff(tuple(out), tuple(sorted(set(b) - set(h))), tuple(sorted(set(h) - set(b))), alpha)


def _value(x: float, unit: str) -> str:
    from rq_obs.compare.report.common import fmt_bytes, fmt_seconds

    if unit == "second":
        return fmt_seconds(x)
    if unit == "byte":
        return fmt_bytes(x)
    return f"{x:.4g}"


def _cells(r: BenchResult) -> list[str]:
    ratio = "n/a: no rounds" if r.ratio is None else f"{r.ratio:.3f}"
    ci = (f"{r.ci[0]:.3f}–{r.ci[1]:.3f}" if r.ci else
          "none: too few rounds" if r.p_value is not None or r.test.startswith("not testable") else "exact (no spread)")
    p = f"{r.p_value:.3g}" if r.p_value is not None else ("n/a: no spread" if r.test.startswith("no spread") else "n/a: < 2 rounds")
    verdict = r.status + (f" ({r.severity})" if r.severity else "")
    if r.status == "inconclusive" and r.samples_needed:
        verdict += f": needs ~{r.samples_needed} rounds a side"
    return [r.name, _value(r.base_median, r.unit), _value(r.head_median, r.unit), ratio, ci, p,
            f"{r.n_base}/{r.n_head}", verdict]


_HEAD = ["benchmark", "base median", "head median", "ratio", "interval", "p-value", "rounds", "verdict"]


def rule_line(d: BenchDiff) -> str:
    return (f"Ratio head/base (Hodges-Lehmann on log rounds) with its {1 - 2 * d.alpha:.0%} interval (exact Mann-Whitney "
            f"U inversion): regressed when the interval is above 1 and the ratio beyond the threshold, unchanged when the "
            f"interval lies within ±threshold, inconclusive otherwise.")


def _tail(d: BenchDiff) -> list[str]:
    out = [", ".join(f"{d.count(s)} {s}" for s in STATUS_WORDS.values())]
    if d.only_base:
        out.append("only in base (not compared): " + ", ".join(d.only_base))
    if d.only_head:
        out.append("only in head (not compared): " + ", ".join(d.only_head))
    return out


def render_text(d: BenchDiff) -> str:
    rows = [_HEAD] + [_cells(r) for r in d.results]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEAD) - 1)]
    lines = [rule_line(d), ""]
    lines += ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r[:-1])) + "  " + r[-1] for r in rows]
    if not d.results:
        lines.append("no benchmark in both files")
    return "\n".join(lines + [""] + _tail(d)) + "\n"


def render_markdown(d: BenchDiff) -> str:
    def cell(x: str) -> str:
        return x.replace("|", "\\|")

    lines = [f"### Benchmarks: {d.count('regressed')} regressed, {d.count('improved')} improved", "", rule_line(d), ""]
    if d.results:
        lines += ["| " + " | ".join(_HEAD) + " |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        lines += ["| " + " | ".join(cell(c) for c in _cells(r)) + " |" for r in d.results]
    else:
        lines.append("_No benchmark in both files._")
    return "\n".join(lines + [""] + _tail(d)) + "\n"
