"""Self-contained HTML comparison report with inline SVG charts (no scripts, no external assets)."""

from __future__ import annotations

from html import escape

from rq_obs.compare import Comparison
from rq_obs.compare.report.common import (MAX_DEPS, MAX_OPS, chart_scale, deps_read_from, fmt_bytes, fmt_ci, fmt_p,
                                          fmt_pct, fmt_dim, fmt_score, fmt_seconds, memory_rule, ordered_memory, ordered_ops,
                                          rule_text, tests_used, verdict_text)

_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;font-size:.9em}th{background:#f3f3f3}.regression{color:#b00020}
.improvement{color:#1b7f3b}.block{background:#fde2e1}.review{background:#fff4d6}.approve{background:#e3f6e8}
.badge{display:inline-block;padding:.3em .8em;border-radius:4px;font-weight:bold}"""


def _svg_bars(rows: list[tuple[str, float, str]], unit: str, scale: float, threshold: float, width: int = 640) -> str:
    """Signed horizontal bars around a zero line, rows (label, change, css colour). A full half-width is ``scale``
    (longer bars are clipped, their label keeps the value); dashed lines mark ±``threshold``, the gate's."""
    if not rows:
        return ""
    h, label_w = 18, 260
    mid = label_w + (width - label_w) / 2
    half = (width - label_w) / 2 - 50
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h * len(rows) + 10}" role="img">']
    parts.append(f'<line x1="{mid:.1f}" y1="0" x2="{mid:.1f}" y2="{h * len(rows)}" stroke="#999"/>')
    for sign in (-1, 1):
        x = mid + sign * threshold / scale * half
        parts.append(f'<line class="threshold" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{h * len(rows)}" stroke="#c62828" '
                     f'stroke-dasharray="3,3"><title>gate threshold {sign * threshold:+g}{unit}</title></line>')
    for i, (label, v, colour) in enumerate(rows):
        y = i * h + 3
        w = min(abs(v) / scale, 1.0) * half
        x = mid if v >= 0 else mid - w
        parts.append(f'<text x="{label_w - 6}" y="{y + 11}" font-size="11" text-anchor="end">{escape(label[-40:])}</text>')
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{h - 6}" fill="{colour}"><title>{escape(label)}: '
                     f'{v:+.2f}{unit}</title></rect>')
        tx = x + w + 4 if v >= 0 else x - 4
        anchor = "start" if v >= 0 else "end"
        parts.append(f'<text x="{tx:.1f}" y="{y + 11}" font-size="11" text-anchor="{anchor}">{v:+.1f}{unit}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(head: list[str], rows: list[list[str]], classes: list[str] | None = None, empty: str = "") -> str:
    if not rows and empty:
        return f'<p class="empty">{escape(empty[:1].upper() + empty[1:])}.</p>'
    out = ["<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for i, r in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{escape(str(x))}</td>" for x in r) + "</tr>")
    out.append("</table>")
    return "".join(out)


def render_html(c: Comparison) -> str:
    title = f"Release comparison: {c.base.release} → {c.head.release}"
    body = [f"<h1>{escape(title)}</h1>",
            f'<p><span class="badge {c.recommendation}">Recommendation: {c.recommendation.upper()}</span> '
            f"risk <b>{escape(c.risk)}</b> · quality score {escape(c.headline.text())}</p>"]
    if c.reasons:
        body.append("<ul>" + "".join(f"<li>{escape(r)}</li>" for r in c.reasons) + "</ul>")
    ops = ordered_ops(c)
    body.append(f"<h2>Performance — {len(c.perf.regressions)} regressions in {len(ops)} operations</h2>")
    body.append(f"<p>{escape(rule_text(c))}</p>")
    for t in tests_used(c):
        body.append(f"<p>Test: {escape(t)}.</p>")
    colours = {"regression": "#d32f2f", "improvement": "#2e7d32", "inconclusive": "#f9a825", "unchanged": "#90a4ae"}
    th = c.perf.threshold * 100
    body.append(_svg_bars([(o.operation, o.change * 100, colours[o.status]) for o in ops[:40]], " %",
                          chart_scale(c.perf.threshold) * 100, th))
    level = f"{1 - 2 * c.perf.alpha:.0%} interval"
    body.append(_table(["operation", "base", "head", "change", level, "test", "p-value", "verdict"],
                       [[o.operation, fmt_seconds(o.base), fmt_seconds(o.head), fmt_pct(o.change), fmt_ci(o), o.test,
                         fmt_p(o), verdict_text(o)] for o in ops[:MAX_OPS]], [o.status for o in ops[:MAX_OPS]],
                       empty="no benchmark present in both snapshots"))
    if c.perf.memory:
        mem = ordered_memory(c)
        body.append(f"<h2>Memory — {len(c.perf.memory_regressions)} regressions in {len(mem)} operations</h2>")
        body.append(f"<p>{escape(memory_rule(c))}</p>")
        mt = c.perf.memory_threshold or 0.10
        body.append(_svg_bars([(m.operation, m.change * 100, colours[m.status]) for m in mem[:40]], " %",
                              chart_scale(mt) * 100, mt * 100))
        body.append(_table(["operation", "base peak", "head peak", "change", "verdict"],
                           [[m.operation, fmt_bytes(m.base), fmt_bytes(m.head), fmt_pct(m.change),
                             m.status + (f" ({m.severity})" if m.severity else "")] for m in mem[:MAX_OPS]],
                           [m.status for m in mem[:MAX_OPS]]))
    body.append("<h2>Quality score</h2>")
    dims = list(c.head_score.weights)
    deltas = [(d, c.head_score.dimensions[d] - c.base_score.dimensions[d]) for d in dims
              if c.head_score.dimensions.get(d) is not None and c.base_score.dimensions.get(d) is not None]
    body.append("<p>Change per dimension (head − base, points; dashed: the quality_drop_threshold of "
                f"{c.score_drop_threshold:g} points).</p>")
    body.append(_svg_bars([(d, v, "#2e7d32" if v > 0 else "#d32f2f" if v < 0 else "#90a4ae") for d, v in deltas], "",
                          2 * c.score_drop_threshold, c.score_drop_threshold)
                or "<p>No dimension measured on both sides: nothing to chart.</p>")
    body.append(_table(["dimension", "weight", "effective weight", "base", "head", "note"],
                       [[d, f"{c.head_score.weights[d]:g}", f"{c.head_score.effective_weights[d]:.1f}",
                         fmt_dim(c.base_score, d), fmt_dim(c.head_score, d),
                         c.head_score.notes.get(d, "")] for d in dims]))
    n = c.deps.counts
    body.append("<h2>Dependencies</h2><p>" + escape(" · ".join(f"{n[k]} {k}" for k in n)) + "</p>")
    read_from = deps_read_from(c)
    if read_from:
        body.append(f"<p>{escape(read_from)}</p>")
    body.append(_table(["package", "ecosystem", "base", "head", "change", "security"],
                       [[ch.name, ch.ecosystem, ch.old or "absent", ch.new or "absent", ch.change + (" (downgrade)" if ch.downgrade else ""),
                         ch.security_impact or "none known"] for ch in c.deps.changes[:MAX_DEPS]],
                       empty="no dependency changed"))
    body.append(f"<h2>Environment — compatibility risk {escape(c.env.risk)}</h2>")
    body.append(_table(["field", "base", "head", "risk"], [[e.field, e.base, e.head, e.risk] for e in c.env.changes[:60]],
                       empty="no differences"))
    t = c.tests
    body.append("<h2>Tests</h2><p>" + escape(
        f"Pass rate {fmt_pct(t.base_pass_rate, False)} → {fmt_pct(t.head_pass_rate, False)}; {len(t.new)} new, "
        f"{len(t.removed)} removed, {len(t.flaky)} flaky ({len(t.newly_flaky)} newly)") + "</p>")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
