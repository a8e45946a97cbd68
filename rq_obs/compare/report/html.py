"""Self-contained HTML comparison report with inline SVG charts (no scripts, no external assets)."""

from __future__ import annotations

from html import escape

from rq_obs.compare import Comparison
from rq_obs.compare.report.common import (MAX_DEPS, MAX_OPS, deps_read_from, fmt_bytes, fmt_pct, fmt_score,
                                          fmt_seconds, memory_rule, ordered_memory, ordered_ops, tests_used)

_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;font-size:.9em}th{background:#f3f3f3}.regression{color:#b00020}
.improvement{color:#1b7f3b}.block{background:#fde2e1}.review{background:#fff4d6}.approve{background:#e3f6e8}
.badge{display:inline-block;padding:.3em .8em;border-radius:4px;font-weight:bold}"""


def _svg_bars(rows: list[tuple[str, float, str]], unit: str, width: int = 640) -> str:
    """Horizontal bars around a zero line; rows are (label, value, css colour)."""
    if not rows:
        return ""
    scale = max(abs(v) for _, v, _ in rows) or 1.0
    h, label_w = 18, 260
    mid = label_w + (width - label_w) / 2
    half = (width - label_w) / 2 - 50
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h * len(rows) + 10}" role="img">']
    parts.append(f'<line x1="{mid:.1f}" y1="0" x2="{mid:.1f}" y2="{h * len(rows)}" stroke="#999"/>')
    for i, (label, v, colour) in enumerate(rows):
        y = i * h + 3
        w = abs(v) / scale * half
        x = mid if v >= 0 else mid - w
        parts.append(f'<text x="{label_w - 6}" y="{y + 11}" font-size="11" text-anchor="end">{escape(label[-40:])}</text>')
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{h - 6}" fill="{colour}"><title>{escape(label)}: '
                     f'{v:+.2f}{unit}</title></rect>')
        tx = x + w + 4 if v >= 0 else x - 4
        anchor = "start" if v >= 0 else "end"
        parts.append(f'<text x="{tx:.1f}" y="{y + 11}" font-size="11" text-anchor="{anchor}">{v:+.1f}{unit}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(head: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    out = ["<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for i, r in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{escape(str(x))}</td>" for x in r) + "</tr>")
    out.append("</table>")
    return "".join(out)


def render_html(c: Comparison) -> str:
    title = f"Release comparison: {c.base.release} → {c.head.release}"
    delta = f" ({c.score_delta:+.1f})" if c.score_delta is not None else ""
    body = [f"<h1>{escape(title)}</h1>",
            f'<p><span class="badge {c.recommendation}">Recommendation: {c.recommendation.upper()}</span> '
            f"risk <b>{escape(c.risk)}</b> · quality score <b>{fmt_score(c.base_score.total)} → "
            f"{fmt_score(c.head_score.total)}</b>{escape(delta)}</p>"]
    if c.reasons:
        body.append("<ul>" + "".join(f"<li>{escape(r)}</li>" for r in c.reasons) + "</ul>")
    ops = ordered_ops(c)
    body.append(f"<h2>Performance — {len(c.perf.regressions)} regressions in {len(ops)} operations</h2>")
    body.append(f"<p>Regression: slower than {c.perf.threshold:.0%} and significant at alpha = {c.perf.alpha:g}.</p>")
    for t in tests_used(c):
        body.append(f"<p>Test: {escape(t)}.</p>")
    colours = {"regression": "#d32f2f", "improvement": "#2e7d32", "unverified": "#f9a825", "unchanged": "#90a4ae"}
    body.append(_svg_bars([(o.operation, o.change * 100, colours[o.status]) for o in ops[:40]], " %"))
    body.append(_table(["operation", "base", "head", "change", "test", "p-value", "verdict"],
                       [[o.operation, fmt_seconds(o.base), fmt_seconds(o.head), fmt_pct(o.change), o.test,
                         "—" if o.p_value is None else f"{o.p_value:.3g}", o.status + (f" ({o.severity})" if o.severity else "")]
                        for o in ops[:MAX_OPS]], [o.status for o in ops[:MAX_OPS]]))
    if c.perf.memory:
        mem = ordered_memory(c)
        body.append(f"<h2>Memory — {len(c.perf.memory_regressions)} regressions in {len(mem)} operations</h2>")
        body.append(f"<p>{escape(memory_rule(c))}</p>")
        body.append(_svg_bars([(m.operation, m.change * 100, colours[m.status]) for m in mem[:40]], " %"))
        body.append(_table(["operation", "base peak", "head peak", "change", "verdict"],
                           [[m.operation, fmt_bytes(m.base), fmt_bytes(m.head), fmt_pct(m.change),
                             m.status + (f" ({m.severity})" if m.severity else "")] for m in mem[:MAX_OPS]],
                           [m.status for m in mem[:MAX_OPS]]))
    body.append("<h2>Quality score</h2>")
    dims = list(c.head_score.weights)
    body.append(_svg_bars([(d, c.head_score.dimensions[d] or 0.0, "#1565c0" if c.head_score.dimensions[d] is not None
                            else "#cfd8dc") for d in dims], ""))
    body.append(_table(["dimension", "weight", "effective weight", "base", "head", "note"],
                       [[d, f"{c.head_score.weights[d]:g}", f"{c.head_score.effective_weights[d]:.1f}",
                         fmt_score(c.base_score.dimensions.get(d)), fmt_score(c.head_score.dimensions.get(d)),
                         c.head_score.notes.get(d, "")] for d in dims]))
    n = c.deps.counts
    body.append("<h2>Dependencies</h2><p>" + escape(" · ".join(f"{n[k]} {k}" for k in n)) + "</p>")
    read_from = deps_read_from(c)
    if read_from:
        body.append(f"<p>{escape(read_from)}</p>")
    body.append(_table(["package", "ecosystem", "base", "head", "change", "security"],
                       [[ch.name, ch.ecosystem, ch.old or "—", ch.new or "—", ch.change + (" (downgrade)" if ch.downgrade else ""),
                         ch.security_impact or "—"] for ch in c.deps.changes[:MAX_DEPS]]))
    body.append(f"<h2>Environment — compatibility risk {escape(c.env.risk)}</h2>")
    body.append(_table(["field", "base", "head", "risk"], [[e.field, e.base, e.head, e.risk] for e in c.env.changes[:60]]))
    t = c.tests
    body.append("<h2>Tests</h2><p>" + escape(
        f"Pass rate {fmt_pct(t.base_pass_rate, False)} → {fmt_pct(t.head_pass_rate, False)}; {len(t.new)} new, "
        f"{len(t.removed)} removed, {len(t.flaky)} flaky ({len(t.newly_flaky)} newly)") + "</p>")
    if t.quarantined:
        body.append("<p>" + escape("Quarantined failures (not blocking): " + ", ".join(t.quarantined[:20])
                                   + (" …" if len(t.quarantined) > 20 else "")) + "</p>")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
