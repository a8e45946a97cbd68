"""Markdown comparison report sized for a PR comment or a GitHub job summary.

Charts are unicode bars in table cells (``+████▌``), which render in GitHub comments,
job summaries and terminals alike.
"""

from __future__ import annotations

from rq_obs.compare import Comparison
from rq_obs.compare.report.common import (MAX_DEPS, MAX_OPS, bar, deps_read_from, fmt_bytes, fmt_pct, fmt_score,
                                          fmt_seconds, memory_rule, ordered_memory, ordered_ops, short_test,
                                          tests_used)

_ICON = {"approve": "✅", "review": "⚠️", "block": "⛔"}
_STATUS = {"regression": "🔴 regression", "improvement": "🟢 faster", "unchanged": "unchanged", "unverified": "🟡 unverified"}
_MEM_STATUS = {"regression": "🔴 regression", "improvement": "🟢 smaller", "unchanged": "unchanged"}


def _cell(x: object) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def render_markdown(c: Comparison) -> str:
    delta = f" ({c.score_delta:+.1f})" if c.score_delta is not None else ""
    out = [f"## Release comparison: `{_cell(c.base.release)}` → `{_cell(c.head.release)}`", "",
           f"**{_ICON[c.recommendation]} Recommendation: {c.recommendation.upper()}** · risk **{c.risk}** · "
           f"quality score **{fmt_score(c.base_score.total)} → {fmt_score(c.head_score.total)}**{delta}", ""]
    for r in c.reasons:
        out.append(f"- {_cell(r)}")
    if c.reasons:
        out.append("")
    # performance
    ops = ordered_ops(c)
    n_reg = len(c.perf.regressions)
    out += [f"### Performance — {n_reg} regressions in {len(ops)} operations", "",
            f"Regression: slower than {c.perf.threshold:.0%} and significant at alpha = {c.perf.alpha:g}."]
    for t in tests_used(c):
        out.append(f"Test: {t}.")
    out.append("")
    if ops:
        scale = max(abs(o.change) for o in ops) or 1.0
        out += ["| operation | base | head | change | chart | test | p-value | verdict |",
                "| --- | ---: | ---: | ---: | :--- | --- | ---: | --- |"]
        for o in ops[:MAX_OPS]:
            p = "—" if o.p_value is None else f"{o.p_value:.3g}"
            verdict = _STATUS[o.status] + (f" ({o.severity})" if o.severity else "")
            out.append(f"| `{_cell(o.operation)}` | {fmt_seconds(o.base)} | {fmt_seconds(o.head)} | {fmt_pct(o.change)} | "
                       f"`{bar(o.change, scale)}` | {short_test(o)} | {p} | {verdict} |")
        if len(ops) > MAX_OPS:
            out.append(f"\n… and {len(ops) - MAX_OPS} more operations (see the JSON or HTML report).")
    else:
        out.append("_No benchmark present in both snapshots._")
    if c.perf.added or c.perf.removed:
        out.append(f"\nNew operations: {len(c.perf.added)} · removed operations: {len(c.perf.removed)}")
    out.append("")
    if c.perf.memory:
        mem = ordered_memory(c)
        scale = max(abs(m.change) for m in mem) or 1.0
        out += [f"### Memory — {len(c.perf.memory_regressions)} regressions in {len(mem)} operations", "", memory_rule(c), "",
                "| operation | base peak | head peak | change | chart | verdict |", "| --- | ---: | ---: | ---: | :--- | --- |"]
        for m in mem[:MAX_OPS]:
            verdict = _MEM_STATUS[m.status] + (f" ({m.severity})" if m.severity else "")
            out.append(f"| `{_cell(m.operation)}` | {fmt_bytes(m.base)} | {fmt_bytes(m.head)} | {fmt_pct(m.change)} | "
                       f"`{bar(m.change, scale)}` | {verdict} |")
        if len(mem) > MAX_OPS:
            out.append(f"\n… and {len(mem) - MAX_OPS} more operations (see the JSON or HTML report).")
        out.append("")
    # quality
    out += ["### Quality score", "", "| dimension | weight | effective weight | base | head |", "| --- | ---: | ---: | ---: | ---: |"]
    for d, w in c.head_score.weights.items():
        out.append(f"| {d} | {w:g} | {c.head_score.effective_weights[d]:.1f} | {fmt_score(c.base_score.dimensions.get(d))} | "
                   f"{fmt_score(c.head_score.dimensions.get(d))} |")
    out.append(f"| **total** | | | **{fmt_score(c.base_score.total)}** | **{fmt_score(c.head_score.total)}** |")
    if c.head_score.missing:
        out.append(f"\nMissing (re-weighted, not scored): {', '.join(c.head_score.missing)}.")
    out.append("")
    # dependencies
    n = c.deps.counts
    out += ["### Dependencies", "", " · ".join(f"{n[k]} {k}" for k in ("added", "removed", "major", "minor", "patch", "other")), ""]
    read_from = deps_read_from(c)
    if read_from:
        out += [_cell(read_from) + ".", ""]
    if c.deps.changes:
        out += ["| package | ecosystem | base | head | change | security |", "| --- | --- | --- | --- | --- | --- |"]
        for ch in c.deps.changes[:MAX_DEPS]:
            kind = ch.change + (" ⬇ downgrade" if ch.downgrade else "")
            out.append(f"| {_cell(ch.name)} | {ch.ecosystem} | {_cell(ch.old or '—')} | {_cell(ch.new or '—')} | {kind} | "
                       f"{_cell(ch.security_impact or '—')} |")
        if len(c.deps.changes) > MAX_DEPS:
            out.append(f"\n… and {len(c.deps.changes) - MAX_DEPS} more changes.")
    out.append("")
    # environment
    out += [f"### Environment — compatibility risk {c.env.risk}", ""]
    if c.env.changes:
        out += ["| field | base | head | risk |", "| --- | --- | --- | --- |"]
        for e in c.env.changes[:40]:
            out.append(f"| {_cell(e.field)} | {_cell(e.base)} | {_cell(e.head)} | {e.risk} |")
    else:
        out.append("_No differences._")
    out.append("")
    # tests
    t = c.tests
    out += ["### Tests", "",
            f"Pass rate {fmt_pct(t.base_pass_rate, False)} → {fmt_pct(t.head_pass_rate, False)}"
            + (f" ({t.pass_rate_delta * 100:+.1f} points)" if t.pass_rate_delta is not None else "")
            + f" · {len(t.new)} new · {len(t.removed)} removed · {len(t.flaky)} flaky ({len(t.newly_flaky)} newly)", ""]
    for label, items in (("Newly flaky", t.newly_flaky), ("Removed", t.removed),
                         ("Quarantined failures (not blocking)", t.quarantined)):
        if items:
            out.append(f"{label}: " + ", ".join(f"`{_cell(x)}`" for x in items[:20]) + (" …" if len(items) > 20 else ""))
    return "\n".join(out).rstrip() + "\n"
