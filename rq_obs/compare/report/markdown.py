"""Markdown comparison report sized for a PR comment or a GitHub job summary, rendered from
``templates/report.md.j2`` (jinja2; every value is escaped for a table cell: ``|`` and newlines).

Charts are unicode bars in table cells (``+████▌``), which render in GitHub comments,
job summaries and terminals alike.
"""

from __future__ import annotations

from functools import lru_cache

from rq_obs.compare import Comparison
from rq_obs.compare.report.common import (MAX_DEPS, MAX_OPS, bar, chart_scale, deps_read_from, fmt_bytes, fmt_ci,
                                          fmt_dim, fmt_p, fmt_pct, fmt_score, fmt_seconds, memory_rule, ordered_memory,
                                          ordered_ops, rule_text, short_test, tests_used, verdict_text)

_ICON = {"approve": "✅", "review": "⚠️", "block": "⛔"}
_STATUS = {"regression": "🔴 ", "improvement": "🟢 ", "unchanged": "", "inconclusive": "🟡 "}
_MEM_STATUS = {"regression": "🔴 regression", "improvement": "🟢 smaller", "unchanged": "unchanged", "inconclusive": "🟡 inconclusive"}


def _cell(x: object) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


@lru_cache(maxsize=1)
def _template():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("rq_obs.compare.report", "templates"), autoescape=False,
                      undefined=StrictUndefined, finalize=_cell, keep_trailing_newline=True)
    return env.get_template("report.md.j2")


def render_markdown(c: Comparison) -> str:
    ops = ordered_ops(c)
    scale = chart_scale(c.perf.threshold)
    mem = ordered_memory(c) if c.perf.memory else []
    mscale = chart_scale(c.perf.memory_threshold)
    t = c.tests
    n = c.deps.counts
    ctx = {
        "c": c, "icon": _ICON[c.recommendation], "headline": c.headline.text(), "rule": rule_text(c),
        "tests": tests_used(c), "level": f"{1 - 2 * c.perf.alpha:.0%}",
        "ops": [[o.operation, fmt_seconds(o.base), fmt_seconds(o.head), fmt_pct(o.change), fmt_ci(o),
                 bar(o.change, scale), short_test(o), fmt_p(o), _STATUS[o.status] + verdict_text(o)] for o in ops[:MAX_OPS]],
        "more_ops": max(0, len(ops) - MAX_OPS),
        "mem": [[m.operation, fmt_bytes(m.base), fmt_bytes(m.head), fmt_pct(m.change), bar(m.change, mscale),
                 _MEM_STATUS[m.status] + (f" ({m.severity})" if m.severity else "")] for m in mem[:MAX_OPS]],
        "more_mem": max(0, len(mem) - MAX_OPS), "memory_rule": memory_rule(c) if mem else "",
        "dims": [[d, f"{w:g}", f"{c.head_score.effective_weights[d]:.1f}", fmt_dim(c.base_score, d),
                  fmt_dim(c.head_score, d)] for d, w in c.head_score.weights.items()],
        "totals": [fmt_score(c.base_score.total), fmt_score(c.head_score.total)],
        "missing": ", ".join(c.head_score.missing),
        "dep_counts": " · ".join(f"{n[k]} {k}" for k in ("added", "removed", "major", "minor", "patch", "other")),
        "read_from": deps_read_from(c) or "",
        "deps": [[ch.name, ch.ecosystem, ch.old or "absent", ch.new or "absent",
                  ch.change + (" ⬇ downgrade" if ch.downgrade else ""), ch.security_impact or "none known"]
                 for ch in c.deps.changes[:MAX_DEPS]],
        "more_deps": max(0, len(c.deps.changes) - MAX_DEPS),
        "env": [[e.field, e.base, e.head, e.risk] for e in c.env.changes[:40]],
        "tests_line": (f"Pass rate {fmt_pct(t.base_pass_rate, False)} → {fmt_pct(t.head_pass_rate, False)}"
                       + (f" ({t.pass_rate_delta * 100:+.1f} points)" if t.pass_rate_delta is not None else "")
                       + f" · {len(t.new)} new · {len(t.removed)} removed · {len(t.flaked)} flaked ({len(t.newly_flaked)} newly)"),
        "test_lists": [(label, items[:20], len(items) > 20) for label, items in
                       (("Newly flaked", t.newly_flaked), ("Removed", t.removed),
                        ("Quarantined failures (not blocking)", t.quarantined)) if items],
    }
    return _template().render(**ctx).rstrip() + "\n"
