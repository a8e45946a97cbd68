"""Formatting shared by the report renderers."""

from __future__ import annotations

from rq_obs.analysis.regression import OpChange
from rq_obs.compare import Comparison

__all__ = ["fmt_seconds", "fmt_pct", "fmt_score", "ordered_ops", "short_test", "bar", "tests_used", "deps_read_from",
           "MAX_OPS", "MAX_DEPS"]

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


def fmt_pct(x: float | None, signed: bool = True) -> str:
    if x is None:
        return "—"
    return f"{x * 100:+.1f} %" if signed else f"{x * 100:.1f} %"


def fmt_score(x: float | None) -> str:
    return "missing" if x is None else f"{x:.1f}"


def ordered_ops(comp: Comparison) -> list[OpChange]:
    rank = {"regression": 0, "unverified": 1, "improvement": 2, "unchanged": 3}
    return sorted(comp.perf.ops, key=lambda o: (rank[o.status], -abs(o.change), o.operation))


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
