"""QA test engineer: pass rate by test, flaky tests, stability, failures and retries, slow tests, breakdowns."""

from __future__ import annotations

from rq_obs.analysis.flaky import words as flaky_words
from rq_obs.catalog import CAPS, M
from rq_obs.config import Config
from rq_obs.dashboards import panels as P
from rq_obs.dashboards import queries as q
from rq_obs.dashboards.defaults import Spec, custom_var, query_var
from rq_obs.dashboards.panels import Q
from rq_obs.rules.definitions import COUNTED, PASSED, QUARANTINE_EXPIRED, QUARANTINE_HELD, N

SPAN_TEST = 'span_name=~"$test"'
EXPIRING = 'kind="expiring"'
#: How many tests the worst-N tables and top-k series show (the ``top`` variable).
TOP = "$top"


def top_var(config: Config) -> dict:
    """``$top``: 5, 10 (default), 20 ... up to ``config.top_tests_max`` (what the pre-ranked rules keep)."""
    values = [str(v) for v in (5, 10, 20, 50, 100, 200) if v <= config.top_tests_max] or [str(config.top_tests_max)]
    var = custom_var("top", "Top N", values, "How many tests the worst-N tables and top-k panels show (at most "
                     f"top_tests_max, {config.top_tests_max}, what the per-test recording rules keep per suite)")
    default = "10" if "10" in values else values[0]
    var["current"] = {"text": default, "value": default}
    for o in var["options"]:
        o["selected"] = o["value"] == default
    return var


def spec(config: Config) -> Spec:
    slo = config.slo_pass_rate
    lo, hi = config.flaky_band
    words = flaky_words(config)
    st = (q.SUITE, q.TEST)
    att = M.TEST_ATTEMPTS.total
    traces = [P.trace_link(P.CELL_TEST, config=config)]
    service = f'service_name="{config.service_name}"'
    top_max = config.top_tests_max
    worst = f"bottomk({TOP}, {q.sel(M.TEST_PASS_RATE.name, *st)})"

    flakiest = f"topk({TOP}, {q.sel(N.flaky_flip_top, *st)})"

    def flaky_only(series: str) -> str:
        """``series`` for the $top flakiest tests: the highest flip rates among the tests the analytics call flaky
        (the set the Flaky tests stat counts), pre-ranked by a recording rule."""
        return f"{q.sel(series, *st)} and on (suite, test) {flakiest}"

    pass_rates = [
        P.stat("Suite pass rate (1h / 1d / 7d)", f"Pass rate of the selected suites over the last 1h, 1d and 7d "
               f"(recording rules), against the {slo:.0%} SLO.", "percentunit",
               *(Q(q.sel(N.pass_rate[w], q.SUITE), f"{{{{suite}}}} {w}") for w in ("1h", "1d", "7d")),
               thresholds=P.floor(slo), w=8, h=6),
        P.timeseries("Pass rate by test", f"The $top tests with the lowest pass rate over the {config.flaky_window} "
                     "window at every instant (analytics, pre-ranked by a recording rule keeping the worst "
                     f"{top_max} per suite, so the panel costs the same at 100 or 10,000 tests); the {slo:.0%} SLO "
                     "is the threshold line. A test's own history: the store (rq-obs serve).", "percentunit",
                     Q(f"bottomk({TOP}, {q.sel(N.test_pass_rate_bottom, *st)})", "{{test}}"), thresholds=P.floor(slo),
                     show_thresholds=True, max_one=True, w=16, h=6),
        P.table("Lowest pass rates", f"The $top tests with the lowest pass rate over the {config.flaky_window} window "
                "now (analytics; tests that passed every attempt are not published), with their flip rate and "
                f"stability score. Click a test for its traces. {words['stability']}", "percentunit",
                Q(worst), Q(f"{q.sel(M.TEST_FLIP_RATE.name, *st)} and on (suite, test) {worst}"),
                Q(f"{q.sel(M.TEST_STABILITY.name, *st)} and on (suite, test) {worst}"),
                columns={"Value #A": ("Pass rate", "percentunit"), "Value #B": ("Flip rate", "percentunit"),
                         "Value #C": ("Stability", "none")},
                column_links={"test": traces}, sort_by="Pass rate", sort_desc=False, thresholds=P.floor(slo),
                color_columns=("Value #A",), hide=("__name__", "job", "instance"), h=8),
    ]
    flaky = [
        P.stat("Flaky tests", f"Tests currently flaky (analytics). {words['flaky']}", "short",
               Q(f"sum({q.sel(M.FLAKY_TESTS.name, q.SUITE)})", "flaky"), thresholds=P.ceiling(5, 1), w=3),
        P.stat("Broken tests", f"Tests currently broken (analytics). {words['broken']}", "short",
               Q(f"sum({q.sel(M.BROKEN_TESTS.name, q.SUITE)})", "broken"), thresholds=P.ceiling(1), w=3),
        P.stat("Uncertain pass rate", f"Tests whose pass rate over the {config.flaky_window} window is inside "
               f"{lo:.0%}-{hi:.0%} (recording rule), whatever their state: a pass-rate figure that also counts "
               "tests with few attempts and tests that started failing (see Tests by state).", "short",
               Q(f"sum({q.sel(N.uncertain_band_count, q.SUITE)})", "tests"), w=3),
        P.timeseries("Tests by state", f"Number of tests in each state over time (analytics, counted by a recording "
                     f"rule). {words['broken']} {words['flaky']} {words['healthy']}", "short",
                     Q(f"sum by (state) ({q.sel(N.state_count, q.SUITE)})", "{{state}}"), stack=True, w=15,
                     h=4),
        P.table("Flaky tests", f"The $top flakiest tests now: among the tests currently flaky (analytics), those with "
                "the highest flip rate (outcome changes per attempt), with their pass rate, stability score and last "
                f"flake. Click a test for its traces. {words['flaky']} {words['stability']}",
                "percentunit",
                Q(flaky_only(M.TEST_PASS_RATE.name)), Q(flaky_only(M.TEST_FLIP_RATE.name)), Q(flaky_only(M.TEST_STABILITY.name)),
                Q(f"({flaky_only(M.TEST_LAST_FLAKE.name)}) * 1000"),
                columns={"Value #A": ("Pass rate", "percentunit"), "Value #B": ("Flip rate", "percentunit"),
                         "Value #C": ("Stability", "none"), "Value #D": ("Last flake", "dateTimeAsIso")},
                column_links={"test": traces}, sort_by="Flip rate", thresholds=P.floor(hi, lo),
                color_columns=("Value #A",), h=9),
        P.bargauge("Least stable tests", f"The $top tests with the lowest stability score (analytics). "
                   f"{words['stability']}", "none", Q(f"bottomk({TOP}, {q.sel(M.TEST_STABILITY.name, *st)})", "{{test}}"),
                   thresholds=P.floor(90, 70), max_value=100, h=9,
                   data_links=[P.trace_link(P.SERIES_TEST, config=config)]),
        P.timeseries("Flip rate of flaky tests", "Outcome changes per attempt over the flaky window, for the $top "
                     "tests currently flaky (analytics) with the highest flip rate at each instant (a recording rule "
                     f"keeps the {top_max} flakiest per suite). {words['flaky']}", "percentunit",
                     Q(flakiest, "{{test}}"), max_one=True,
                     h=9),
    ]
    failures = [
        P.timeseries("Failures by test", "Failed and errored attempts per hour over the previous hour, for the $top "
                     f"most failing tests at each instant (a recording rule keeps the {top_max} most failing per "
                     "suite, so the panel costs the same at 100 or 10,000 tests).", "short",
                     Q(f"topk({TOP}, {q.sel(N.test_failures_top, *st)}) * 3600", "{{test}}"),
                     data_links=[P.trace_link(P.SERIES_TEST, config=config)]),
        P.timeseries("Retries by test", "Reruns (attempts after the first) per hour over the previous hour, for the "
                     f"$top most rerun tests at each instant (recording rule: the {top_max} most rerun per suite).",
                     "short", Q(f"topk({TOP}, {q.sel(N.test_retries_top, *st)}) * 3600", "{{test}}")),
        P.table("Most failing tests", "The $top tests with the most failed or errored attempts per hour over the "
                "last hour, now (one instant query of the pre-ranked rule). Over longer ranges, a test's failures "
                "are a question for the store (rq-obs serve). Click a test for its traces.", "short",
                Q(f"topk({TOP}, {q.sel(N.test_failures_top, *st)}) * 3600"),
                columns={"Value #A": ("Failures per hour", "short")}, column_links={"test": traces},
                sort_by="Failures per hour", w=12),
        P.table("Slowest tests (p95)", f"95th percentile duration of each test over the {config.flaky_window} "
                "window, slowest first (the $top slowest). Click a test for its traces.", "s",
                Q(f"topk({TOP}, {q.sel(M.TEST_DURATION_P95.name, *st)})"), columns={"Value #A": ("p95", "s")},
                column_links={"test": traces}, sort_by="p95", w=12),
        P.timeseries("Test duration p95 from spans", "95th percentile duration of test spans (spanmetrics), with "
                     "exemplars linking to the traces in Tempo.", "s",
                     Q(f"histogram_quantile(0.95, sum by (le, span_name) ("
                       f"{q.rate(M.SPAN_DURATION.bucket, service, SPAN_TEST)}))",
                       "{{span_name}}", exemplar=True)),
        P.timeseries("Attempt duration percentiles", "p50 and p95 attempt duration per suite (histogram, from the "
                     "per-suite recording rule).", "s",
                     *(Q(f"histogram_quantile({p / 100}, sum by (le, suite) (sum_over_time("
                         f"{q.sel(N.attempt_duration_rate, q.SUITE)}[{q.RATE}])))", f"p{p} {{{{suite}}}}")
                       for p in (50, 95))),
    ]
    breakdown = [
        P.timeseries("Outcomes by marker/category", "Attempts per category (first pytest marker) and outcome, per "
                     "interval.", "short",
                     Q(f"sum by (category, outcome) ({q.increase(M.CATEGORY_ATTEMPTS.total, q.SUITE)})",
                       "{{category}} {{outcome}}"), bars=True, stack=True),
        P.timeseries("Results by worker", "Attempts per pytest-xdist worker and outcome, per interval.", "short",
                     Q(f"sum by (worker, outcome) ({q.increase(M.WORKER_ATTEMPTS.total, q.SUITE)})",
                       "{{worker}} {{outcome}}"), bars=True, stack=True),
        P.timeseries("Pass rate by worker", "Passed / (passed+failed+error) attempts per worker; a worker far below "
                     "the others points at shared state or resources.", "percentunit",
                     Q(q.ratio(f"sum by (worker) ({q.increase(M.WORKER_ATTEMPTS.total, q.SUITE, PASSED)})",
                               f"sum by (worker) ({q.increase(M.WORKER_ATTEMPTS.total, q.SUITE, COUNTED)})"),
                       "{{worker}}"), thresholds=P.floor(slo), max_one=True, points=True),
        P.stat("Runs", "Test runs recorded in the selected time range, by status.", "short",
               Q(f"sum by (status) (increase({q.sel(M.TEST_RUNS.total, q.SUITE)}[$__range]))", "{{status}}"), w=12,
               h=8),
    ]
    entries = M.QUARANTINE_ENTRIES.name
    quarantine = [
        P.stat("Quarantined tests", "Entries of the quarantine list that still hold (failures of their tests do not "
               f"fail runs), against quarantine_alert_count = {config.quarantine_alert_count}; 'ran' counts the "
               f"selected suites' tests that ran quarantined over the {config.flaky_window} window.", "short",
               Q(f"sum({q.sel(entries, QUARANTINE_HELD)})", "entries"),
               Q(f"sum({q.sel(M.QUARANTINED_TESTS.name, q.SUITE)})", "ran"),
               thresholds=P.ceiling(config.quarantine_alert_count + 1, max(config.quarantine_alert_count, 1)), w=6),
        P.stat("Entries expiring within a week", "Entries that end within 7 days (still holding), and entries that "
               "expired: their tests fail runs again until renewed or removed (rq-obs quarantine list).", "short",
               Q(f"sum({q.sel(entries, EXPIRING)})", "expiring"),
               Q(f"sum({q.sel(entries, QUARANTINE_EXPIRED)})", "expired"), thresholds=P.ceiling(1), w=6),
        P.timeseries("Failures absorbed by quarantine", "Failed or errored attempts of quarantined tests over the "
                     f"{config.flaky_window} window, per suite: failures that did not fail their run (each is stored "
                     "as it happened).", "short",
                     Q(q.sel(M.QUARANTINE_ABSORBED_FAILURES.name, q.SUITE), "{{suite}}"), w=12, h=6),
    ]
    routing = _routing_panels(config)
    return Spec(
        name="qa",
        description="Test health for QA engineers: pass rate by test, flaky and broken tests, stability, "
                    "failures and retries, slow tests, outcomes by marker and by worker.",
        rows=[P.row("Pass rates", *pass_rates), P.row("Flakiness and stability", *flaky),
              P.row("Failures, retries and duration", *failures), P.row("Breakdowns", *breakdown),
              P.row("Quarantine", *quarantine), P.row("LLM routing: disambiguation and inputs", *routing)],
        variables=[query_var("suite", "Suite", M.TEST_RUNS.total, "suite"),
                   query_var("test", "Test", M.TEST_ATTEMPTS.total, "test", matchers=q.SUITE),
                   top_var(config)],
    )


AMBIGUOUS = 'ambiguous="true"'
ROUTES = ("expected_route", "chosen_route")


def _routing_panels(config: Config) -> list:
    """Disambiguation validation and input terms (attributes a suite attaches: docs/INSTRUMENTING.md)."""
    slo = config.slo_pass_rate
    win = config.flaky_window

    def routes(metric: str, *matchers: str) -> str:
        return q.sum_by(ROUTES, q.sel(metric, q.SUITE, *matchers))

    def by_term(metric: str) -> str:
        return q.sum_by("term", q.sel(metric, q.SUITE))

    passed, attempts = M.ROUTE_PASSED.name, M.ROUTE_ATTEMPTS.name
    failed_t, attempts_t = M.INPUT_TERM_FAILED.name, M.INPUT_TERM_ATTEMPTS.name
    return [
        P.stat("Ambiguous inputs: pass rate", f"Pass rate over the {win} window of the attempts whose input was "
               "attached as ambiguous (attribute ambiguous=true or @pytest.mark.ambiguous) and that attached an "
               f"expected route; 'all routed' counts every attempt with an expected route. Against the {slo:.0%} SLO.",
               "percentunit",
               Q(q.ratio(f"sum({q.sel(passed, q.SUITE, AMBIGUOUS)})", f"sum({q.sel(attempts, q.SUITE, AMBIGUOUS)})"),
                 "ambiguous"),
               Q(q.ratio(f"sum({q.sel(passed, q.SUITE)})", f"sum({q.sel(attempts, q.SUITE)})"), "all routed"),
               thresholds=P.floor(slo), w=6, h=8),
        P.table("Disambiguation: expected vs chosen route", f"Ambiguous inputs over the {win} window by the route "
                "the test expected and the route the system chose: pass rate and counted attempts per pair (a "
                "confusion table; off-diagonal pairs are misroutes). Routes beyond the "
                f"{CAPS['route']} most frequent are __other__.", "percentunit",
                Q(q.ratio(routes(passed, AMBIGUOUS), routes(attempts, AMBIGUOUS))), Q(routes(attempts, AMBIGUOUS)),
                columns={"Value #A": ("Pass rate", "percentunit"), "Value #B": ("Attempts", "short")},
                sort_by="Pass rate", sort_desc=False, thresholds=P.floor(slo), color_columns=("Value #A",), w=18,
                h=8),
        P.table("Terms in failing inputs", f"Words and bigrams of the attached inputs over the {win} window, the "
                f"{CAPS['term']} found in most failing attempts: failing attempts with the term, all attempts with it, and the "
                "failure share (failing / all: a term in 9 of 10 failing inputs is a pattern, in 40 of 400 noise).",
                "short",
                Q(by_term(failed_t)), Q(by_term(attempts_t)), Q(q.ratio(by_term(failed_t), by_term(attempts_t))),
                columns={"Value #A": ("Failing", "short"), "Value #B": ("Attempts", "short"),
                         "Value #C": ("Failure share", "percentunit")},
                sort_by="Failing", thresholds=P.ceiling(0.5, 0.2), color_columns=("Value #C",), w=12, h=10),
        P.bargauge("Failure share by term", f"The 10 input terms (of the {CAPS['term']} in most failing attempts over the {win} "
                   "window) whose inputs fail most often.", "percentunit",
                   Q(f"topk(10, {q.ratio(by_term(failed_t), by_term(attempts_t))})", "{{term}}"),
                   thresholds=P.ceiling(0.5, 0.2), max_value=1, w=12, h=10),
    ]
