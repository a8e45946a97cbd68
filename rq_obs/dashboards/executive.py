"""Executive summary: pass rate vs SLO, release quality, regressions, flakiness, cost and budget."""

from __future__ import annotations

from rq_obs.analysis.flaky import words as flaky_words
from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.dashboards import panels as P
from rq_obs.dashboards import queries as q
from rq_obs.dashboards.defaults import Spec, query_var, uid
from rq_obs.dashboards.panels import Q
from rq_obs.rules.definitions import N


def spec(config: Config) -> Spec:
    words = flaky_words(config)
    slo, budget = config.slo_pass_rate, config.daily_budget_usd
    ts = M.RELEASE_TIMESTAMP.name
    pass7d = q.sel(N.pass_rate["7d"], q.SUITE)
    qa_link = [P.dashboard_link(uid("qa"), "QA dashboard", "&${suite:queryparam}")]
    release_link = [P.dashboard_link(uid("release"), "Release quality dashboard")]
    quality = [
        P.stat("Pass rate vs SLO", f"Pass rate of each suite over the last 7d (recording rule), coloured against "
               f"the {slo:.0%} SLO.", "percentunit", Q(pass7d, "{{suite}}"), thresholds=P.floor(slo),
               sparkline=True, links=qa_link),
        P.stat("Pass rate, week over week", "Pass rate of the last 7 days minus the 7 days before, per suite.",
               "percentunit", Q(q.sel(M.PASS_RATE_WOW_DELTA.name, q.SUITE), "{{suite}}"),
               thresholds=P.steps(("red", None), ("green", 0)), w=4),
        P.stat("Pass-rate trend", "Direction of the week-over-week change: ▲ better, ▼ worse, ▶ unchanged.",
               "none", Q(f"sgn({q.sel(M.PASS_RATE_WOW_DELTA.name, q.SUITE)})", "{{suite}}"),
               mappings=P.arrow_mappings(), w=2),
        P.stat("Quality score (latest release)", f"Quality score 0-100 of the newest release snapshot; the gate is "
               f"{config.min_quality_score:g}.", "none", Q(N.quality_latest, "{{release}}"), decimals=1,
               thresholds=P.floor(config.min_quality_score), links=release_link),
        P.stat("Quality vs previous release", "Quality score change of the newest release vs the previous one "
               "(points); the arrow shows the direction.", "none", Q(N.quality_delta, "{{release}}"),
               Q(f"sgn({N.quality_delta})", "trend"), decimals=1, mappings=P.arrow_mappings(),
               thresholds=P.steps(("red", None), ("orange", -config.quality_drop_threshold), ("green", 0)), w=6),
        P.timeseries("Pass rate vs SLO over time", f"Pass rate of each suite over the previous 1d at every instant, "
                     f"with the {slo:.0%} SLO as a line.", "percentunit", Q(q.sel(N.pass_rate["1d"], q.SUITE),
                                                                             "{{suite}}"),
                     Q(M.SLO_PASS_RATE.name, "SLO"), thresholds=P.floor(slo), show_thresholds=True, max_one=True),
        P.bargauge("Quality score across releases", "Quality score of each published release (the last 50).",
                   "none", Q(f"max by (release) ({M.QUALITY_SCORE.name})", "{{release}}"),
                   thresholds=P.floor(config.min_quality_score), max_value=100, links=release_link),
    ]
    risk = [
        P.stat("Open regressions", "Performance regressions of the newest release vs its baseline, all severities.",
               "short", Q(f"sum({q.latest_release(M.REGRESSIONS.name, ts)})", "regressions"),
               thresholds=P.ceiling(config.max_regressions + 1), links=release_link),
        P.stat("Flaky tests", f"Tests currently flaky (analytics). {words['flaky']}", "short",
               Q(f"sum({q.sel(M.FLAKY_TESTS.name, q.SUITE)})", "flaky"), thresholds=P.ceiling(5, 1), links=qa_link),
        P.stat("Broken tests", f"Tests currently broken (analytics). {words['broken']}", "short",
               Q(f"sum({q.sel(M.BROKEN_TESTS.name, q.SUITE)})", "broken"), thresholds=P.ceiling(1), links=qa_link),
        P.stat("Vulnerabilities (latest release)", "Known vulnerabilities in the newest release's dependencies.",
               "short", Q(f"sum({q.latest_release(M.VULNERABILITIES.name, ts)})", "vulnerabilities"),
               thresholds=P.ceiling(config.max_vulnerabilities + 1), links=release_link),
    ]
    sre_link = [P.dashboard_link(uid("sre"), "SRE dashboard")]
    cost = [
        P.stat("Cost today", f"API cost since midnight UTC; the daily budget is ${budget:g}.", "currencyUSD",
               Q(M.COST_TODAY.name, "today"), thresholds=P.ceiling(budget, 0.8 * budget), decimals=2, links=sre_link),
        P.stat("Projected month cost", f"Month cost projected from the last 7 days; 30 daily budgets are "
               f"${30 * budget:g}.", "currencyUSD", Q(M.COST_MONTH_PROJECTED.name, "projected"),
               thresholds=P.ceiling(30 * budget, 24 * budget), decimals=0),
        P.stat("Budget used today", "Today's cost divided by the daily budget.", "percentunit",
               Q(M.BUDGET_BURN.name, "today"), thresholds=P.ceiling(1, 0.8)),
        P.stat("Budget burn rate (last hour)", f"The last 1h of spend extrapolated to a day, in daily budgets; the "
               f"alert fires above {config.budget_burn_threshold:g}.", "x",
               Q(f"sum({N.cost_rate_1h}) * 86400 / {q.fmt_num(budget)}", "burn"),
               thresholds=P.ceiling(config.budget_burn_threshold, 1), decimals=2),
        P.timeseries("Cost per day", "API cost over the previous 1d at every instant (rolling 24 h), with the daily "
                     "budget as a line.", "currencyUSD", Q(f"sum({N.cost_1d})", "last 24 h"),
                     Q(M.DAILY_BUDGET.name, "budget"), thresholds=P.ceiling(budget), show_thresholds=True, w=24),
    ]
    return Spec(
        name="executive",
        description="Release quality and cost at a glance: pass rate vs SLO, quality score, regressions, "
                    "flakiness and spend against budget.",
        rows=[P.row("Quality", *quality), P.row("Risk", *risk), P.row("Cost", *cost)],
        variables=[query_var("suite", "Suite", M.TEST_RUNS.total, "suite")],
        time_from="now-30d",
    )
