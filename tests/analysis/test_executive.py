"""Executive figures on a constructed cost and pass-rate history, by hand."""

import math
from datetime import datetime, timezone

import pytest

from rq_obs.analysis.executive import days_in_month, midnight_utc
from rq_obs.analytics.reports import executive_report
from rq_obs.config import Config
from tests.analysis.history import DAY, HOUR, add_run, store_at

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc).timestamp()
MIDNIGHT = datetime(2026, 11, 21, tzinfo=timezone.utc).timestamp()


def test_day_helpers():
    assert midnight_utc(NOW) == MIDNIGHT and days_in_month(NOW) == 30
    assert days_in_month(datetime(2028, 2, 10, tzinfo=timezone.utc).timestamp()) == 29


def test_wow_delta_cost_projection_burn_and_anomaly(tmp_path):
    s = store_at(tmp_path)
    # 14 previous days at 10:00 UTC: gpt-4o alternates $1 / $3 (mean 2, sample std sqrt(14/13))
    for d in range(14):
        at = MIDNIGHT - (14 - d) * DAY + 10 * HOUR
        add_run(s, f"h{d}", at, [("t_cost", "passed", 1.0, 1, "control", 1.0 if d % 2 == 0 else 3.0, 100)],
                suite="costs")
    # today: gpt-4o $8, and a new model with $0.50
    add_run(s, "today", MIDNIGHT + 10 * HOUR, [("t_cost", "passed", 1.0, 1, "control", 8.0, 100),
                                               ("t_new", "passed", 1.0, 1, "control", 0.5, 10, "claude")], suite="costs")
    # pass rates of suite "main": 9/10 in the week before, 8/10 in the last 7 days
    add_run(s, "w1", NOW - 10 * DAY, [(f"t{i}", "passed" if i < 9 else "failed") for i in range(10)], suite="main")
    add_run(s, "w2", NOW - 2 * DAY, [(f"t{i}", "passed" if i < 8 else "error") for i in range(10)], suite="main")
    x = executive_report(s, Config(), NOW)
    assert x.wow["main"] == pytest.approx(0.8 - 0.9)
    # "costs": every attempt passed in both weeks
    assert x.wow["costs"] == 0.0
    assert x.cost_today == pytest.approx(8.5)
    assert x.burn_ratio == pytest.approx(8.5 / 25)
    # last 7 days = [NOW - 7 d, NOW): the 10:00 calls of days -6..-1 ($1,$3,$1,$3,$1,$3 = $12) + today $8.50
    assert x.month_projected == pytest.approx((12 + 8.5) / 7 * 30)
    assert x.anomalies["gpt-4o"] == pytest.approx((8.0 - 2.0) / math.sqrt(14 / 13))
    assert x.anomalies["claude"] is None  # no spend history yet: a new model is not an anomaly
    assert (x.slo_pass_rate, x.daily_budget_usd) == (0.85, 25.0)
    assert executive_report(s, Config(daily_budget_usd=10.0), NOW).burn_ratio == pytest.approx(0.85)


def test_empty_store_has_no_wow_and_zero_cost(tmp_path):
    x = executive_report(store_at(tmp_path), Config(), NOW)
    assert (x.wow, x.cost_today, x.month_projected, x.burn_ratio, x.anomalies) == ({}, 0.0, 0.0, 0.0, {})
