"""Trends over releases (pure): least-squares slope, anomalies, a linear forecast.

x is the release index (0 = oldest). Slope, intercept and forecast come from the
least-squares line. An anomaly is a point far from a robust (Theil-Sen) line: its residual's
modified z-score ``|r - median(r)| / (1.4826 * MAD)`` exceeds ``z`` (default 3.5; needs 4
points; when MAD is 0, any residual above 1 % of the mean's magnitude). The forecast extends
the least-squares line ``periods`` releases ahead. ``direction`` calls a slope *flat* when the fitted change
per release is under 1 % of the mean's magnitude.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any, Sequence

__all__ = ["Trend", "linear_fit", "analyse"]


@dataclass(frozen=True)
class Trend:
    metric: str
    points: tuple[tuple[str, float], ...]
    slope: float  # per release
    intercept: float
    mean: float
    stddev: float
    min: float
    max: float
    direction: str  # improving | degrading | flat | n/a
    anomalies: tuple[str, ...]
    forecast: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["points"] = [{"release": r, "value": v} for r, v in self.points]
        return d


def linear_fit(ys: Sequence[float]) -> tuple[float, float]:
    n = len(ys)
    if n == 0:
        raise ValueError("no points")
    if n == 1:
        return 0.0, float(ys[0])
    xbar = (n - 1) / 2
    ybar = statistics.fmean(ys)
    sxx = sum((i - xbar) ** 2 for i in range(n))
    sxy = sum((i - xbar) * (y - ybar) for i, y in enumerate(ys))
    slope = sxy / sxx
    return slope, ybar - slope * xbar


def _theil_sen(ys: Sequence[float]) -> tuple[float, float]:
    slopes = [(ys[j] - ys[i]) / (j - i) for i in range(len(ys)) for j in range(i + 1, len(ys))]
    slope = statistics.median(slopes)
    return slope, statistics.median(y - slope * i for i, y in enumerate(ys))


def analyse(metric: str, points: Sequence[tuple[str, float]], higher_is_better: bool = True, z: float = 3.5,
            periods: int = 3) -> Trend:
    ys = [float(v) for _, v in points]
    slope, intercept = linear_fit(ys)
    mean = statistics.fmean(ys)
    sd = statistics.stdev(ys) if len(ys) > 1 else 0.0
    anomalies: list[str] = []
    if len(ys) >= 4:
        ts, ti = _theil_sen(ys)
        resid = [y - (ti + ts * i) for i, y in enumerate(ys)]
        med = statistics.median(resid)
        mad = statistics.median(abs(r - med) for r in resid)
        if mad > 0:
            anomalies = [points[i][0] for i, r in enumerate(resid) if abs(r - med) / (1.4826 * mad) > z]
        else:
            anomalies = [points[i][0] for i, r in enumerate(resid) if abs(r - med) > 0.01 * max(abs(mean), 1e-12)]
    if len(ys) < 2:
        direction = "n/a"
    elif abs(slope) < 0.01 * max(abs(mean), 1e-12):
        direction = "flat"
    else:
        direction = "improving" if (slope > 0) == higher_is_better else "degrading"
    n = len(ys)
    forecast = tuple(intercept + slope * (n + k) for k in range(periods))
    return Trend(metric, tuple((r, float(v)) for r, v in points), slope, intercept, mean, sd, min(ys), max(ys),
                 direction, tuple(anomalies), forecast)
