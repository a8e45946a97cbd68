"""Skills engineer: did a change to SKILL.md or a prompt move the pass rate? Change impact and variants."""

from __future__ import annotations

from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.dashboards import panels as P
from rq_obs.dashboards import queries as q
from rq_obs.dashboards.defaults import Spec, query_var, textbox_var, uid
from rq_obs.dashboards.panels import Q
from rq_obs.rules.definitions import COUNTED, PASSED, N


#: the dashboard variable holding the address of ``rq-obs serve`` as the browser reaches it
SERVE_VAR = "serve_url"
DIFF_HINT = ("Click a file for its diff at each change beside the pass-rate change (rq-obs serve's "
             "/api/v1/impact/diff/<file>, at the 'rq-obs serve URL (from your browser)' variable); `rq-obs impact FILE --diff` prints "
             "the same.")


def serve_var(config: Config) -> dict:
    """A text box with rq-obs serve's URL (the exporter address by default), for links to its read-only API."""
    return textbox_var(SERVE_VAR, "rq-obs serve URL (from your browser)",
                       f"http://{config.exporter_host}:{config.exporter_port}",
                       "Where the browser reaches rq-obs serve (its read-only API answers the diff links)")


def diff_link(path_ref: str) -> dict:
    """A data link to the tracked file's diffs and pass-rate changes on rq-obs serve (text for a browser)."""
    ref = path_ref[:-1] + ":percentencode}"
    return {"title": "Diff of this file at each change, with its pass-rate change",
            "url": f"${{{SERVE_VAR}}}/api/v1/impact/diff/{ref}", "targetBlank": True}


def spec(config: Config) -> Spec:
    slo, alpha = config.slo_pass_rate, config.significance_level
    experiment_link = [P.dashboard_link(uid("experiment"), "Experiments dashboard")]
    series_diff, cell_diff = [diff_link("${__field.labels.path}")], diff_link("${__data.fields.path}")
    changes = [
        P.timeseries("Tracked-file change timeline", "Changes of each tracked file (SKILL.md, prompts) per interval; "
                     "the orange annotations mark the same changes on every time panel. " + DIFF_HINT, "short",
                     Q(f"sum by (path) ({q.increase(M.TRACKED_FILE_CHANGES.total, q.PATH)})", "{{path}}"),
                     bars=True, w=16, data_links=series_diff),
        P.timeseries("Lines changed", "Lines added and removed in tracked files per interval.", "short",
                     Q(f"sum by (kind) ({q.increase(M.TRACKED_FILE_CHANGED_LINES.total, q.PATH)})", "{{kind}}"),
                     bars=True, stack=True, w=8),
        P.table("Current file hashes", "Content hash (first 12 hex digits) of each tracked file and when it last "
                "changed. " + DIFF_HINT, "dateTimeAsIso", Q(q.sel(M.TRACKED_FILE.info, q.PATH)),
                Q(f"max by (path) ({q.sel(M.TRACKED_FILE_LAST_CHANGE.name, q.PATH)}) * 1000"),
                columns={"Value #B": ("Last change", "dateTimeAsIso")}, column_links={"path": [cell_diff]},
                hide=("Value #A", "__name__", "job", "instance"), sort_by="Last change", w=12, h=7),
        P.timeseries("Suite pass rate around changes", "Pass rate of each suite over the previous 1d at every "
                     "instant; compare it before and after the change annotations.", "percentunit",
                     Q(q.sel(N.pass_rate["1d"], q.SUITE), "{{suite}}"), thresholds=P.floor(slo),
                     show_thresholds=True, max_one=True, w=12, h=7),
    ]
    impact = [
        P.bargauge("Pass rate before vs after the last change", "Pass rate of the runs before and after the last "
                   "change of each tracked file.", "percentunit",
                   Q(q.sel(M.CHANGE_PASS_RATE.name, q.PATH), "{{path}} {{period}}"), thresholds=P.floor(slo),
                   max_value=1, w=8),
        P.stat("Pass-rate change of the last change", "After minus before, per tracked file: negative means the "
               "change made the tests pass less often. " + DIFF_HINT, "percentunit",
               Q(q.sel(M.CHANGE_DELTA.name, q.PATH), "{{path}}"),
               thresholds=P.steps(("red", None), ("orange", -config.regression_threshold), ("green", 0)), w=8, h=8,
               data_links=series_diff),
        P.stat("Significance of the change (p-value)", f"Two-proportion z-test of before vs after; below {alpha:g} "
               "the difference is significant (coloured).", "none",
               Q(q.sel(M.CHANGE_P_VALUE.name, q.PATH), "{{path}}"), decimals=4,
               thresholds=P.steps(("orange", None), ("text", alpha)), w=8, h=8),
        P.table("Per-test impact of the last change", "Pass-rate change of each test after the last change of the "
                "selected files, worst first. Click a test for its traces.", "percentunit",
                Q(q.sel(M.CHANGE_TEST_DELTA.name, q.PATH)), columns={"Value #A": ("Pass-rate change", "percentunit")},
                column_links={"test": [P.trace_link(config=config)]}, sort_by="Pass-rate change", sort_desc=False,
                thresholds=P.steps(("red", None), ("orange", -config.regression_threshold), ("green", 0)),
                color_columns=("Value #A",), hide=("__name__", "job", "instance"), h=9),
    ]
    variants = [
        P.timeseries("Pass rate by variant", "Passed / (passed+failed+error) attempts per experiment variant, per "
                     "interval (from the per-variant recording rule, so a year of history stays fast).",
                     "percentunit",
                     Q(q.ratio(f"sum by (variant) (sum_over_time({q.sel(N.variant_outcome_rate, q.SUITE, PASSED)}"
                               f"[{q.RATE}]))",
                               f"sum by (variant) (sum_over_time({q.sel(N.variant_outcome_rate, q.SUITE, COUNTED)}"
                               f"[{q.RATE}]))"), "{{variant}}"),
                     thresholds=P.floor(slo), max_one=True, points=True),
        P.bargauge("Variant comparison", "Pass rate of each variant of every experiment (analytics over the "
                   "experiment's runs); open the Experiments dashboard for lift and significance.", "percentunit",
                   Q(f'{M.EXPERIMENT_VALUE.name}{{metric="pass_rate"}}', "{{experiment}} / {{variant}}"),
                   thresholds=P.floor(slo), max_value=1, links=experiment_link),
    ]
    return Spec(
        name="skills",
        description="Change impact for prompt and skill engineers: when tracked files (SKILL.md, prompts) changed, "
                    "their current hashes, pass rate before vs after, per-test impact and variant comparison.",
        rows=[P.row("Tracked-file changes", *changes), P.row("Impact of the last change", *impact),
              P.row("Variants", *variants)],
        variables=[query_var("suite", "Suite", M.TEST_RUNS.total, "suite"),
                   query_var("path", "Tracked file", M.TRACKED_FILE.info, "path"), serve_var(config)],
        time_from="now-14d",
    )
