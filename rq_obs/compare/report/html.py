"""Self-contained HTML comparison report: a jinja2 template (autoescaped) with inline SVG charts, no scripts,
no external assets. :func:`render_html` prepares the rows; ``templates/report.html.j2`` lays them out."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from rq_obs.compare import Comparison
from rq_obs.compare.report.common import (MAX_DEPS, MAX_OPS, chart_scale, deps_read_from, fmt_bytes, fmt_ci, fmt_dim,
                                          fmt_p, fmt_pct, fmt_seconds, memory_rule, ordered_memory, ordered_ops,
                                          rule_text, tests_used, verdict_text)

_COLOURS = {"regression": "#d32f2f", "improvement": "#2e7d32", "inconclusive": "#f9a825", "unchanged": "#90a4ae"}
_WIDTH, _ROW, _LABEL_W = 640, 18, 260


@lru_cache(maxsize=1)
def _template():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("rq_obs.compare.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined, keep_trailing_newline=True)
    return env.get_template("report.html.j2")


def _chart(rows: list[tuple[str, float, str]], unit: str, scale: float, threshold: float, label: str,
           empty: str) -> dict[str, Any]:
    """Signed horizontal bars around a zero line, rows (label, change, css colour). A full half-width is ``scale``
    (longer bars are clipped, their label keeps the value); dashed lines mark ±``threshold``, the gate's."""
    mid = _LABEL_W + (_WIDTH - _LABEL_W) / 2
    half = (_WIDTH - _LABEL_W) / 2 - 50
    out = []
    for i, (name, v, colour) in enumerate(rows):
        w = min(abs(v) / scale, 1.0) * half
        x = mid if v >= 0 else mid - w
        out.append({"label": name, "short": name[-40:], "y": i * _ROW + 3, "x": f"{x:.1f}", "w": f"{w:.1f}",
                    "colour": colour, "title": f"{v:+.2f}{unit}", "text": f"{v:+.1f}{unit}",
                    "tx": f"{x + w + 4:.1f}" if v >= 0 else f"{x - 4:.1f}", "anchor": "start" if v >= 0 else "end"})
    lines = [(f"{mid + sign * threshold / scale * half:.1f}", f"{sign * threshold:+g}{unit}") for sign in (-1, 1)]
    return {"rows": out, "width": _WIDTH, "height": _ROW * len(rows) + 10, "mid": f"{mid:.1f}", "label_x": _LABEL_W - 6,
            "thresholds": lines, "label": label, "empty": empty}


def _table(head: list[str], rows: list[list[str]], classes: list[str] | None = None, empty: str = "") -> dict[str, Any]:
    return {"head": head, "rows": [{"cells": [str(x) for x in r], "cls": classes[i] if classes else ""}
                                   for i, r in enumerate(rows)],
            "empty": empty[:1].upper() + empty[1:] + "." if empty else ""}


def render_html(c: Comparison) -> str:
    ops = ordered_ops(c)
    th = c.perf.threshold * 100
    level = f"{1 - 2 * c.perf.alpha:.0%} interval"
    ctx: dict[str, Any] = {
        "c": c, "title": f"Release comparison: {c.base.release} → {c.head.release}", "headline": c.headline.text(),
        "ops_count": len(ops), "rule": rule_text(c), "tests": tests_used(c), "drop": f"{c.score_drop_threshold:g}",
        "perf_chart": _chart([(o.operation, o.change * 100, _COLOURS[o.status]) for o in ops[:40]], " %",
                             chart_scale(c.perf.threshold) * 100, th, "change per operation", "No operation to chart."),
        "perf_table": _table(["operation", "base", "head", "change", level, "test", "p-value", "verdict"],
                             [[o.operation, fmt_seconds(o.base), fmt_seconds(o.head), fmt_pct(o.change), fmt_ci(o),
                               o.test, fmt_p(o), verdict_text(o)] for o in ops[:MAX_OPS]],
                             [o.status for o in ops[:MAX_OPS]], empty="no benchmark present in both snapshots"),
        "memory_table": None, "memory_chart": None, "memory_rule": "",
    }
    if c.perf.memory:
        mem = ordered_memory(c)
        mt = c.perf.memory_threshold or 0.10
        ctx["memory_rule"] = memory_rule(c)
        ctx["memory_chart"] = _chart([(m.operation, m.change * 100, _COLOURS[m.status]) for m in mem[:40]], " %",
                                     chart_scale(mt) * 100, mt * 100, "peak memory change per operation", "")
        ctx["memory_table"] = _table(["operation", "base peak", "head peak", "change", "verdict"],
                                     [[m.operation, fmt_bytes(m.base), fmt_bytes(m.head), fmt_pct(m.change),
                                       m.status + (f" ({m.severity})" if m.severity else "")] for m in mem[:MAX_OPS]],
                                     [m.status for m in mem[:MAX_OPS]])
    dims = list(c.head_score.weights)
    deltas = [(d, c.head_score.dimensions[d] - c.base_score.dimensions[d]) for d in dims
              if c.head_score.dimensions.get(d) is not None and c.base_score.dimensions.get(d) is not None]
    ctx["quality_chart"] = _chart([(d, v, "#2e7d32" if v > 0 else "#d32f2f" if v < 0 else "#90a4ae") for d, v in deltas],
                                  "", 2 * c.score_drop_threshold, c.score_drop_threshold, "quality change per dimension",
                                  "No dimension measured on both sides: nothing to chart.")
    ctx["quality_table"] = _table(["dimension", "weight", "effective weight", "base", "head", "note"],
                                  [[d, f"{c.head_score.weights[d]:g}", f"{c.head_score.effective_weights[d]:.1f}",
                                    fmt_dim(c.base_score, d), fmt_dim(c.head_score, d), c.head_score.notes.get(d, "")]
                                   for d in dims])
    n = c.deps.counts
    ctx["dep_counts"] = " · ".join(f"{n[k]} {k}" for k in n)
    ctx["read_from"] = deps_read_from(c)
    ctx["deps_table"] = _table(["package", "ecosystem", "base", "head", "change", "security"],
                               [[ch.name, ch.ecosystem, ch.old or "absent", ch.new or "absent",
                                 ch.change + (" (downgrade)" if ch.downgrade else ""), ch.security_impact or "none known"]
                                for ch in c.deps.changes[:MAX_DEPS]], empty="no dependency changed")
    ctx["env_table"] = _table(["field", "base", "head", "risk"], [[e.field, e.base, e.head, e.risk] for e in c.env.changes[:60]],
                              empty="no differences")
    t = c.tests
    ctx["tests_line"] = (f"Pass rate {fmt_pct(t.base_pass_rate, False)} → {fmt_pct(t.head_pass_rate, False)}; {len(t.new)} "
                         f"new, {len(t.removed)} removed, {len(t.flaked)} flaked ({len(t.newly_flaked)} newly)")
    ctx["quarantined"] = ("Quarantined failures (not blocking): " + ", ".join(t.quarantined[:20])
                          + (" …" if len(t.quarantined) > 20 else "")) if t.quarantined else ""
    return _template().render(**ctx)
