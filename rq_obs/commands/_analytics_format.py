"""Small text formatters shared by the analytics commands (no heavy imports)."""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["pct", "pp", "num", "when", "pval"]


def pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


def pp(x: float | None, digits: int = 1) -> str:
    """A difference of ratios in percentage points, signed."""
    return "n/a" if x is None else f"{100 * x:+.{digits}f} pp"


def num(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def pval(p: float | None) -> str:
    if p is None:
        return "n/a"
    return f"{p:.4f}" if p >= 0.0001 else f"{p:.2e}"


def when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%MZ")
