"""The analytics exporter's LLM-routing families: disambiguation cells and input terms (see
:mod:`rq_obs.analysis.disambiguation`, :mod:`rq_obs.analysis.input_terms`).

Both come bounded from the analyses (routes capped and folded into ``__other__``, only the
top terms); what they folded or left out is added to the guard's counts, so it shows in
``rqobs_cardinality_capped_total{label="route"|"term"}``.
"""

from __future__ import annotations

from prometheus_client.metrics_core import Metric as PromMetric

from rq_obs.catalog import M
from rq_obs.exporters.base import Family, LabelGuard

__all__ = ["families"]


def families(report, guard: LabelGuard | None = None) -> list[PromMetric]:
    """The four families from a :class:`rq_obs.analytics.reports.InputsReport` (None: nothing recorded)."""
    fam = {m: Family(m, guard) for m in (M.ROUTE_ATTEMPTS, M.ROUTE_PASSED, M.INPUT_TERM_ATTEMPTS, M.INPUT_TERM_FAILED)}
    if report is not None:
        for c in report.routes:
            lab = {"suite": c.suite, "expected_route": c.expected, "chosen_route": c.chosen,
                   "ambiguous": "true" if c.ambiguous else "false"}
            fam[M.ROUTE_ATTEMPTS].add(lab, float(c.attempts))
            fam[M.ROUTE_PASSED].add(lab, float(c.passed))
        for t in report.terms.stats:
            lab = {"suite": t.suite, "term": t.term}
            fam[M.INPUT_TERM_ATTEMPTS].add(lab, float(t.attempts))
            fam[M.INPUT_TERM_FAILED].add(lab, float(t.failed))
        if guard is not None:
            if report.routes_folded:
                guard.capped["route"] += report.routes_folded
            if report.terms.left_out:
                guard.capped["term"] += report.terms.left_out
    return [f.build() for f in fam.values()]
