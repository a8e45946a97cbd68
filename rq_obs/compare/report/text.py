"""Plain-text comparison report for terminals."""

from __future__ import annotations

from rq_obs.compare import Comparison
from rq_obs.compare.report.common import (MAX_DEPS, MAX_OPS, deps_read_from, fmt_bytes, fmt_ci, fmt_dim, fmt_pct, fmt_score,
                                          fmt_seconds, memory_rule, ordered_memory, ordered_ops, rule_text, tests_used,
                                          verdict_text)


def render_text(c: Comparison) -> str:
    out = [f"Release comparison: {c.base.release} -> {c.head.release}",
           f"Recommendation: {c.recommendation.upper()}   risk: {c.risk}",
           f"Quality score: {c.headline.text()}"]
    for r in c.reasons:
        out.append(f"  - {r}")
    out.append("")
    out.append(f"Performance (threshold {c.perf.threshold:.0%}, alpha {c.perf.alpha:g} per side):")
    if c.perf.ops:
        out.append(f"  {rule_text(c)}")
    for t in tests_used(c):
        out.append(f"  test: {t}")
    ops = ordered_ops(c)
    for o in ops[:MAX_OPS]:
        p = "" if o.p_value is None else f" p={o.p_value:.3g}"
        out.append(f"  {o.operation}: {fmt_seconds(o.base)} -> {fmt_seconds(o.head)} {fmt_pct(o.change)} [{o.centre}] "
                   f"interval {fmt_ci(o)}{p} {verdict_text(o)}")
    if len(ops) > MAX_OPS:
        out.append(f"  ... and {len(ops) - MAX_OPS} more")
    if c.perf.added or c.perf.removed:
        out.append(f"  new operations: {len(c.perf.added)}, removed operations: {len(c.perf.removed)}")
    elif not ops:
        out.append("  no benchmarks in common (snapshot both releases with --benchmarks or --run-benchmarks)")
    out.append("")
    if c.perf.memory:
        mem = ordered_memory(c)
        out.append(f"Memory ({len(c.perf.memory_regressions)} regressions in {len(mem)} operations): {memory_rule(c)}")
        for m in mem[:MAX_OPS]:
            verdict = m.status + (f" ({m.severity})" if m.severity else "")
            out.append(f"  {m.operation}: {fmt_bytes(m.base)} -> {fmt_bytes(m.head)} {fmt_pct(m.change)} {verdict}")
        if len(mem) > MAX_OPS:
            out.append(f"  ... and {len(mem) - MAX_OPS} more")
        out.append("")
    n = c.deps.counts
    out.append("Dependencies: " + ", ".join(f"{n[k]} {k}" for k in ("added", "removed", "major", "minor", "patch", "other")))
    read_from = deps_read_from(c)
    if read_from:
        out.append(f"  {read_from}")
    for ch in c.deps.changes[:MAX_DEPS]:
        sec = f"  [{ch.security_impact}]" if ch.security_impact else ""
        out.append(f"  {ch.change:8} {ch.name} {ch.old or '-'} -> {ch.new or '-'}{' (downgrade)' if ch.downgrade else ''}{sec}")
    if len(c.deps.changes) > MAX_DEPS:
        out.append(f"  ... and {len(c.deps.changes) - MAX_DEPS} more")
    if c.deps.upgrades:
        out.append("  upgrades that clear the head's known vulnerabilities:")
        out += [f"    {u.text()}" for u in c.deps.upgrades]
    out.append("")
    out.append(f"Environment: {len(c.env.changes)} differences, compatibility risk {c.env.risk}")
    for e in c.env.changes[:40]:
        out.append(f"  [{e.risk}] {e.field}: {e.base!r} -> {e.head!r}")
    out.append("")
    t = c.tests
    out.append(f"Tests: pass rate {fmt_pct(t.base_pass_rate, False)} -> {fmt_pct(t.head_pass_rate, False)}"
               + (f" ({t.pass_rate_delta * 100:+.1f} points)" if t.pass_rate_delta is not None else "")
               + f"; {len(t.new)} new, {len(t.removed)} removed, {len(t.flaked)} flaked ({len(t.newly_flaked)} newly)")
    if t.quarantined:
        out.append(f"  quarantined failures (not blocking): {', '.join(t.quarantined[:20])}"
                   + (" ..." if len(t.quarantined) > 20 else ""))
    out.append("")
    out.append("Quality dimensions (weight -> effective weight: base -> head):")
    for d, w in c.head_score.weights.items():
        out.append(f"  {d}: {w:g} -> {c.head_score.effective_weights[d]:.1f}: "
                   f"{fmt_dim(c.base_score, d)} -> {fmt_dim(c.head_score, d)}"
                   + (f"  ({c.head_score.notes[d]})" if d in c.head_score.notes and c.head_score.dimensions.get(d) is not None
                      else ""))
    return "\n".join(out) + "\n"
