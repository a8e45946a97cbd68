"""PromQL helpers shared by dashboards and rules.

Metric names come from :mod:`rq_obs.catalog` only; these helpers only add
selectors, ranges and aggregations around them. Dashboards use the range
``$__rate_interval`` (:data:`RATE`); rules use fixed windows.
"""

from __future__ import annotations

__all__ = [
    "RATE", "RANGE", "SUITE", "TEST", "RELEASE", "EXPERIMENT", "PATH", "MODEL",
    "sel", "rate", "increase", "sum_by", "ratio", "quantile", "latest_release", "fmt_num",
]

#: The range dashboards give rate()/increase() so a panel follows the scrape interval.
RATE = "$__rate_interval"
#: The whole dashboard time range (for "over the selected range" figures).
RANGE = "$__range"

#: Label matchers bound to the dashboards' template variables.
SUITE = 'suite=~"$suite"'
TEST = 'test=~"$test"'
RELEASE = 'release=~"$release"'
EXPERIMENT = 'experiment=~"$experiment"'
PATH = 'path=~"$path"'
MODEL = 'model=~"$model"'


def fmt_num(value: float) -> str:
    """A number as PromQL writes it: no trailing zeros, no exponent for usual values."""
    text = repr(float(value))
    if text.endswith(".0"):
        text = text[:-2]
    return text


def sel(series: str, *matchers: str) -> str:
    """``series{m1,m2}`` (or bare ``series`` when there are no matchers)."""
    ms = [m for m in matchers if m]
    return f"{series}{{{','.join(ms)}}}" if ms else series


def rate(series: str, *matchers: str, window: str = RATE) -> str:
    return f"rate({sel(series, *matchers)}[{window}])"


def increase(series: str, *matchers: str, window: str = RATE) -> str:
    return f"increase({sel(series, *matchers)}[{window}])"


def sum_by(labels: str | tuple[str, ...], inner: str, agg: str = "sum") -> str:
    """``sum by (a, b) (inner)``; ``labels=()`` gives ``sum(inner)``."""
    if isinstance(labels, str):
        labels = (labels,) if labels else ()
    if not labels:
        return f"{agg}({inner})"
    return f"{agg} by ({', '.join(labels)}) ({inner})"


def ratio(numerator: str, denominator: str) -> str:
    return f"({numerator})\n/\n({denominator})"


def quantile(q: float, bucket_series: str, *matchers: str, by: tuple[str, ...] = (), window: str = RATE) -> str:
    """``histogram_quantile(q, sum by (le, ...) (rate(bucket[window])))``."""
    return f"histogram_quantile({fmt_num(q)}, {sum_by(('le', *by), rate(bucket_series, *matchers, window=window))})"


def latest_release(expr: str, timestamp_series: str) -> str:
    """Keep only the series of ``expr`` whose ``release`` is the newest snapshot."""
    return f"({expr} and on (release) topk(1, {timestamp_series}))"
