"""Self-contained HTML report of ``rq-obs inputs``: disambiguation table, input terms and their word cloud.

A jinja2 template (autoescaped: inputs are user text) with no script and no external asset; a
Content-Security-Policy meta tag forbids fetching anything at view time. The word cloud is plain
HTML: one ``<span>`` per term, its font size growing with the square root of the failing
attempts whose input holds the term (12-48 px), its colour by failure share; terms in alphabetical order (sizes mix, as in a cloud).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from rq_obs.analysis import disambiguation as dis
from rq_obs.analysis.input_terms import TermStat

__all__ = ["render_html", "word_cloud", "MIN_PX", "MAX_PX"]

MIN_PX, MAX_PX = 12, 48
#: (failure share from which, colour): green, amber, orange, red
_COLOURS = ((0.0, "#2e7d32"), (0.2, "#f9a825"), (0.5, "#ef6c00"), (0.8, "#c62828"))


@lru_cache(maxsize=1)
def _template():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("rq_obs.analytics", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined, keep_trailing_newline=True)
    return env.get_template("inputs.html.j2")


def _colour(share: float) -> str:
    return [c for start, c in _COLOURS if share >= start][-1]


def word_cloud(terms: list[TermStat]) -> list[dict[str, Any]]:
    """One entry per term with a failing attempt: text, font size (px), colour, tooltip."""
    shown = sorted((t for t in terms if t.failed), key=lambda t: t.term)
    if not shown:
        return []
    top = max(math.sqrt(t.failed) for t in shown)
    low = min(math.sqrt(t.failed) for t in shown)
    span = (top - low) or 1.0
    return [{"text": t.term, "px": round(MIN_PX + (math.sqrt(t.failed) - low) / span * (MAX_PX - MIN_PX)),
             "colour": _colour(t.failure_share),
             "title": f"{t.term}: {t.failed} of {t.attempts} attempts failed ({t.failure_share:.0%})"} for t in shown]


def render_html(report) -> str:
    """``report``: a :class:`rq_obs.analytics.reports.InputsReport`."""
    passed, attempts = dis.overall(report.routes)
    totals = report.terms.totals()
    return _template().render(
        window=report.window, routes=report.routes, routes_folded=report.routes_folded,
        ambiguous=f"{passed / attempts:.1%} ({passed} of {attempts})" if attempts else "no ambiguous input recorded",
        terms=totals, cloud=word_cloud(totals), t=report.terms)
