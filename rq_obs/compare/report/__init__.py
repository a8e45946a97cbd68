"""Render a :class:`~rq_obs.compare.Comparison` as text, markdown (PR comment / job summary), JSON or HTML."""

from __future__ import annotations

import json

from rq_obs.compare import Comparison

__all__ = ["render", "FORMATS"]

FORMATS = ("text", "markdown", "json", "html")


def render(comp: Comparison, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(comp.to_dict(), indent=2, sort_keys=True, default=str) + "\n"
    if fmt == "markdown":
        from rq_obs.compare.report.markdown import render_markdown

        return render_markdown(comp)
    if fmt == "html":
        from rq_obs.compare.report.html import render_html

        return render_html(comp)
    from rq_obs.compare.report.text import render_text

    return render_text(comp)
