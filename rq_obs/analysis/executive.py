"""Executive figures: week-over-week pass-rate delta, cost today, month projection, burn ratio, cost anomalies.

Definitions (docs/ANALYTICS.md). Days are UTC days.

- WoW delta (per suite) = pass rate of attempts in [now − 7 d, now) − pass rate in
  [now − 14 d, now − 7 d); every attempt counts, like ``rqobs_test_attempts_total``.
- cost today = API cost since 00:00 UTC.
- month projection = cost of [now − 7 d, now) / 7 × days in the current (UTC) month.
- burn ratio = cost today / daily budget.
- anomaly score (per model) = (today's cost − mean) / max(std, 0.01) over the model's
  daily costs of the 14 previous UTC days (days without calls count as 0); none until the
  model had spend on at least 3 of those days (a new model is not an anomaly).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping, Sequence

from rq_obs.analysis.stats import zscore

__all__ = ["DAY", "WEEK", "ANOMALY_DAYS", "Executive", "midnight_utc", "days_in_month", "wow_delta",
           "month_projection", "figures"]

DAY = 86400.0
WEEK = 7 * DAY
ANOMALY_DAYS = 14
#: Days with spend a model needs in its history before it gets an anomaly score.
ANOMALY_MIN_SPEND_DAYS = 3


def midnight_utc(now: float) -> float:
    d = datetime.fromtimestamp(now, tz=timezone.utc)
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp()


def days_in_month(now: float) -> int:
    d = datetime.fromtimestamp(now, tz=timezone.utc)
    return calendar.monthrange(d.year, d.month)[1]


def wow_delta(last: tuple[int, int], previous: tuple[int, int]) -> float | None:
    """(passed, counted) of the last 7 days and the 7 before -> difference of pass rates (None when a week is empty)."""
    if not last[1] or not previous[1]:
        return None
    return last[0] / last[1] - previous[0] / previous[1]


def month_projection(cost_last_7_days: float, now: float) -> float:
    return cost_last_7_days / 7.0 * days_in_month(now)


@dataclass(frozen=True)
class Executive:
    wow: dict[str, float | None]  # suite -> delta
    cost_today: float
    month_projected: float
    burn_ratio: float
    anomalies: dict[str, float | None]  # model -> z-score
    slo_pass_rate: float
    daily_budget_usd: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def figures(*, weeks: Mapping[str, tuple[tuple[int, int], tuple[int, int]]], cost_today: float, cost_last_7_days: float,
            today_by_model: Mapping[str, float], history_by_model: Mapping[str, Sequence[float]], now: float,
            daily_budget_usd: float, slo_pass_rate: float) -> Executive:
    """``weeks``: suite -> ((passed, counted) last 7 d, (passed, counted) the 7 d before);
    ``history_by_model``: model -> the 14 previous days' costs (oldest first)."""
    models = sorted(set(today_by_model) | set(history_by_model))
    return Executive(
        wow={s: wow_delta(last, prev) for s, (last, prev) in sorted(weeks.items())},
        cost_today=cost_today,
        month_projected=month_projection(cost_last_7_days, now),
        burn_ratio=cost_today / daily_budget_usd,
        anomalies={m: _anomaly(today_by_model.get(m, 0.0), history_by_model.get(m, ())) for m in models},
        slo_pass_rate=slo_pass_rate,
        daily_budget_usd=daily_budget_usd,
    )


def _anomaly(today: float, history: Sequence[float]) -> float | None:
    if sum(1 for x in history if x > 0) < ANOMALY_MIN_SPEND_DAYS:
        return None
    return zscore(today, list(history))
