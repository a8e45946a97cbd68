"""Formatting shared by the report renderers."""

from __future__ import annotations

from rq_obs.analysis.regression import MEMORY_FLOOR_BYTES, MemChange, OpChange
from rq_obs.compare import Comparison

__all__ = ["fmt_seconds", "fmt_bytes", "fmt_pct", "fmt_score", "fmt_dim", "ordered_ops", "ordered_memory", "memory_rule", "short_test", "bar",
           "tests_used", "deps_read_from", "MAX_OPS", "MAX_DEPS", "rule_text", "fmt_ci", "fmt_p", "verdict_text",
           "chart_scale", "BAR_BANDS"]

MAX_OPS = 100  # rows per table, so a markdown report stays within a PR comment (65,536 characters)
MAX_DEPS = 60
_EIGHTHS = " ▏▎▍▌▋▊▉"


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "—"
    for unit, f in (("s", 1), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if abs(s) >= f or unit == "ns":
            return f"{s / f:.3g} {unit}"
    return f"{s:g} s"


def fmt_bytes(b: float | None) -> str:
    """Binary units, three significant digits (1536 -> '1.5 KiB')."""
    if b is None:
        return "—"
    for unit, f in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(b) >= f:
            return f"{b / f:.3g} {unit}"
    return f"{b:.0f} B"


def fmt_pct(x: float | None, signed: bool = True) -> str:
    if x is None:
        return "—"
    return f"{x * 100:+.1f} %" if signed else f"{x * 100:.1f} %"


def fmt_score(x: float | None) -> str:
    return "missing" if x is None else f"{x:.1f}"


def fmt_dim(score, d: str) -> str:
    """A dimension's score, or why it is missing and what to add."""
    from rq_obs.compare import TO_ADD

    x = score.dimensions.get(d)
    if x is not None:
        return f"{x:.1f}"
    note = score.notes.get(d, "")
    return f"{note} ({TO_ADD[d]})" if note.startswith("missing") else f"missing ({TO_ADD[d]})"


def ordered_ops(comp: Comparison) -> list[OpChange]:
    rank = {"regression": 0, "inconclusive": 1, "improvement": 2, "unchanged": 3}
    return sorted(comp.perf.ops, key=lambda o: (rank[o.status], -abs(o.change), o.operation))


def ordered_memory(comp: Comparison) -> list[MemChange]:
    rank = {"regression": 0, "inconclusive": 1, "improvement": 2, "unchanged": 3}
    return sorted(comp.perf.memory, key=lambda m: (rank[m.status], -abs(m.change), m.operation))


def memory_rule(comp: Comparison) -> str:
    """One sentence: what a memory regression is (no test: one peak per side)."""
    return (f"Memory regression: peak memory (one measurement per side, so no significance test) more than "
            f"{comp.perf.memory_threshold:.0%} higher; peaks under {fmt_bytes(MEMORY_FLOOR_BYTES)} count as "
            f"{fmt_bytes(MEMORY_FLOOR_BYTES)}.")


def short_test(o: OpChange) -> str:
    if o.test.startswith("Mann"):
        return "MWU"
    if o.test.startswith("Welch"):
        return "Welch t"
    if o.test.startswith("no spread"):
        return "none: no spread"
    return "none: < 2 rounds"


#: Bars are scaled so that a full bar is this many thresholds (the "critical" severity band starts at 4).
BAR_BANDS = 4


def chart_scale(threshold: float | None) -> float:
    """Full-bar change: BAR_BANDS x the gate's threshold (not the largest change, so a -0.01 % change stays a sliver)."""
    return BAR_BANDS * (threshold or 0.05)


def rule_text(comp: Comparison) -> str:
    """One sentence: what each verdict means, at the comparison's threshold and confidence."""
    t, level = f"{comp.perf.threshold:.0%}", f"{1 - 2 * comp.perf.alpha:.0%}"
    return (f"Verdicts on the ratio head/base with its {level} interval: regression when the interval is above 1 and "
            f"the estimate beyond +{t}; improvement mirrors it; unchanged when the whole interval lies within ±{t}; "
            f"inconclusive otherwise (with the rounds a side that would decide it). Bars: full width = "
            f"{BAR_BANDS} x the {t} threshold.")


def fmt_ci(o: OpChange) -> str:
    if o.ci is not None:
        return f"{o.ci[0]:.3f}–{o.ci[1]:.3f}"
    if o.test.startswith("not testable"):
        return "none: < 2 rounds a side"
    return "none: too few rounds for the level"


def fmt_p(o: OpChange) -> str:
    if o.p_value is not None:
        return f"{o.p_value:.3g}"
    return "n/a: no spread, exact" if o.test.startswith("no spread") else "n/a: no test (< 2 rounds)"


def verdict_text(o: OpChange) -> str:
    if o.status == "inconclusive":
        return "inconclusive" + (f" (needs ~{o.samples_needed} rounds a side)" if o.samples_needed else "")
    return o.status + (f" ({o.severity})" if o.severity else "")


def tests_used(comp: Comparison) -> list[str]:
    kinds = []
    for o in comp.perf.ops:
        if o.p_value is not None and o.test not in kinds:
            kinds.append(o.test)
    return kinds


def bar(change: float, scale: float, width: int = 10) -> str:
    """A unicode bar of |change| relative to ``scale`` (renders in GitHub tables and terminals)."""
    if scale <= 0:
        return ""
    eighths = round(min(abs(change) / scale, 1.0) * width * 8)
    if eighths == 0:
        return "0"
    full, part = divmod(eighths, 8)
    clipped = "»" if abs(change) > scale else ""
    return ("+" if change > 0 else "-") + "█" * full + (_EIGHTHS[part] if part else "") + clipped


def deps_read_from(comp: Comparison) -> str | None:
    """"Read from: base <interpreter> (Python X, <kind>); head ..." or None when neither snapshot recorded it."""
    from rq_obs.snapshot.pyenv import KINDS, env_from_dict

    parts = []
    for label, snap in (("base", comp.base), ("head", comp.head)):
        e = env_from_dict(snap.dependency_environment)
        parts.append(f"{label} {e.interpreter} (Python {e.python}, {KINDS.get(e.kind, e.kind)})" if e
                     else f"{label} not recorded")
    return None if all(p.endswith("not recorded") for p in parts) else "Read from: " + "; ".join(parts)
