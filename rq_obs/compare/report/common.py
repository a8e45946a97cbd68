"""Formatting shared by the report renderers."""

from __future__ import annotations

from rq_obs.analysis.regression import MEMORY_FLOOR_BYTES, MemChange, OpChange
from rq_obs.compare import Comparison

__all__ = ["fmt_seconds", "fmt_bytes", "fmt_pct", "fmt_score", "ordered_ops", "ordered_memory", "memory_rule", "short_test", "bar", "tests_used", "deps_read_from", "MAX_OPS", "MAX_DEPS"]

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


def ordered_ops(comp: Comparison) -> list[OpChange]:
    rank = {"regression": 0, "unverified": 1, "improvement": 2, "unchanged": 3}
    return sorted(comp.perf.ops, key=lambda o: (rank[o.status], -abs(o.change), o.operation))


def ordered_memory(comp: Comparison) -> list[MemChange]:
    rank = {"regression": 0, "improvement": 1, "unchanged": 2}
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
    return "—"


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
    full, part = divmod(eighths, 8)
    return ("+" if change > 0 else "-") + "█" * full + (_EIGHTHS[part] if part else "")


def deps_read_from(comp: Comparison) -> str | None:
    """"Read from: base <interpreter> (Python X, <kind>); head ..." or None when neither snapshot recorded it."""
    from rq_obs.snapshot.pyenv import KINDS, env_from_dict

    parts = []
    for label, snap in (("base", comp.base), ("head", comp.head)):
        e = env_from_dict(snap.dependency_environment)
        parts.append(f"{label} {e.interpreter} (Python {e.python}, {KINDS.get(e.kind, e.kind)})" if e
                     else f"{label} not recorded")
    return None if all(p.endswith("not recorded") for p in parts) else "Read from: " + "; ".join(parts)
