"""Recording and alerting rule definitions: one source, rendered for Prometheus and Grafana.

Recording rules are named ``level:metric:operation`` (level = the labels kept,
metric = the catalogue metric, operation = what was done and over which window).
Dashboards and alerts reuse them through :class:`Names`.

An :class:`Alert` is a value expression, a comparison and a threshold taken from
the config. Prometheus gets ``value <op> threshold``; Grafana gets the value as
query A, a ``last`` reduce as B and the threshold as C, so both fire on the
same condition.
"""

from __future__ import annotations

from dataclasses import dataclass

from rq_obs.analysis.flaky import words as flaky_words
from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.dashboards.queries import fmt_num, increase, latest_release, rate, ratio, sel, sum_by
from rq_obs.stack.prometheus import APP_JOB

__all__ = ["Recording", "Alert", "Names", "N", "recording_rules", "alerts", "EXPORTER_JOB", "APP_JOB", "APP_LEVEL",
           "FAILED_REQUEST", "recording_names", "FAILED"]

#: Scrape job of ``rq-obs serve`` in the generated prometheus.yml (rq_obs.stack.prometheus.JOBS).
EXPORTER_JOB = "rq-obs"
#: The collector's own telemetry (Jaeger v2 exposes otelcol_* names too, under its own job).
COLLECTOR_JOB = 'job="otelcol"'

#: Attempts by suite and outcome, every one counted (the attempt-duration histogram's count): the suite pass
#: rates read it rather than the per-test counter, whose series grow with the tests (at 10,000 tests x 3
#: variants, 38,000 series; the 7d rule over them took seconds per evaluation: docs/SCALE.md).
BY_SUITE = M.TEST_ATTEMPT_DURATION.count
#: Outcomes that count towards a pass rate (skips and expected failures do not).
COUNTED = 'outcome=~"passed|failed|error"'
PASSED = 'outcome="passed"'
FAILED = 'outcome=~"failed|error"'
FLAKY_STATE = 'state="flaky"'
FIVE_XX = 'status_class="5xx"'
#: A request an instrumented app failed: OpenTelemetry's error.type is set for a 5xx and for an unhandled exception.
FAILED_REQUEST = 'error_type!=""'
#: Instrumented apps' rules keep one series per scrape target (any job: apps scraped by your own jobs count too).
APP_LEVEL = ("job", "instance")


@dataclass(frozen=True)
class Recording:
    record: str
    expr: str
    help: str  # one line: what panels/alerts use it for (rendered as a YAML comment-free field in docs)


@dataclass(frozen=True)
class Alert:
    name: str
    value: str  # PromQL whose value is compared with the threshold
    op: str  # ">" or "<"
    threshold: float
    for_: str
    severity: str  # critical | warning | info
    summary: str
    description: str  # may contain {value} and {{ $labels.x }}
    anchor: str  # section of docs/RUNBOOKS.md
    value_format: str = "humanize"  # humanize | humanizePercentage | humanizeDuration | fixed2
    absent: str = ""  # PromQL for "no data means firing" (Prometheus: or absent(...); Grafana: noDataState Alerting)

    def __post_init__(self) -> None:
        if self.op not in (">", "<"):
            raise ValueError(f"alert {self.name}: op must be > or <, not {self.op!r}")
        if self.severity not in ("critical", "warning", "info"):
            raise ValueError(f"alert {self.name}: unknown severity {self.severity!r}")

    @property
    def prometheus_expr(self) -> str:
        expr = f"{_paren(self.value)} {self.op} {fmt_num(self.threshold)}"
        if self.absent:
            expr += f"\nor\nabsent({self.absent})"
        return expr

    def runbook_url(self, config: Config) -> str:
        return f"{config.runbook_base_url}#{self.anchor}"


def _paren(expr: str) -> str:
    return expr if _is_atom(expr) else f"({expr})"


def _is_atom(expr: str) -> bool:
    return all(c not in expr for c in " \n/*+-<>")


class Names:
    """Recording-rule names, built from catalogue names."""

    def __init__(self) -> None:
        a, c = M.TEST_ATTEMPTS.name, M.COST.name
        self.pass_rate = {w: f"suite:{a}:pass_ratio_rate{w}" for w in ("1h", "1d", "7d")}
        # Pre-ranked per-test rules: at most config.top_tests_max series per suite at any instant, whatever
        # the number of tests (a rule keeping every test's series would cost what the raw series cost).
        self.test_pass_rate_bottom = f"suite_test:{M.TEST_PASS_RATE.name}:bottomk"
        self.test_failures_top = f"suite_test:{M.TEST_ATTEMPTS.name}:failed_rate1h_topk"
        self.test_retries_top = f"suite_test:{M.TEST_RETRIES.name}:rate1h_topk"
        self.state_count = f"suite_state:{M.TEST_STATE.name}:count"
        self.flaky_flip_top = f"suite_test:{M.TEST_FLIP_RATE.name}:flaky_topk"
        self.attempt_duration_rate = f"suite_le:{M.TEST_ATTEMPT_DURATION.name}:bucket_rate5m"
        self.variant_outcome_rate = f"suite_variant_outcome:{a}:rate5m"
        # the pass-rate clause of "flaky" alone: not a state, so it is named apart (docs/ANALYTICS.md, "Words")
        self.uncertain_band = f"suite_test:{M.TEST_PASS_RATE.name}:uncertain_band"
        self.uncertain_band_count = f"suite:{M.TEST_PASS_RATE.name}:uncertain_band_count"
        self.retry_ratio = f"provider:{M.API_RETRIES.name}:per_request_rate5m"
        self.ratio_429 = f"provider:{M.API_REQUESTS.name}:ratio_429_rate5m"
        self.ratio_5xx = f"provider:{M.API_REQUESTS.name}:ratio_5xx_rate5m"
        self.cost_1d = f"suite:{c}:increase1d"
        self.cost_rate_1h = f"suite:{c}:rate1h"
        self.latency = {q: f"provider_model:{M.API_REQUEST_DURATION.name}:p{q}_rate5m" for q in (50, 95, 99)}
        self.quality_latest = f"release:{M.QUALITY_SCORE.name}:latest"
        self.quality_previous = f"release:{M.QUALITY_SCORE.name}:previous"
        self.quality_delta = f"release:{M.QUALITY_SCORE.name}:delta_previous"
        self.slowdown_latest = f"release_operation:{M.REGRESSION_RATIO.name}:latest"
        self.app_error_ratio = f"{'_'.join(APP_LEVEL)}:{M.HTTP_SERVER_DURATION.name}:error_ratio_rate5m"


N = Names()


def recording_rules(config: Config) -> tuple[Recording, ...]:
    lo, hi = (fmt_num(x) for x in config.flaky_band)
    att, ts = M.TEST_ATTEMPTS.total, M.RELEASE_TIMESTAMP.name
    top = config.top_tests_max
    newest = f"topk(1, {ts})"
    previous = f"topk(1, {ts} < scalar(max({ts})))"
    out: list[Recording] = []
    for w, name in N.pass_rate.items():
        out.append(Recording(name, ratio(sum_by("suite", rate(BY_SUITE, PASSED, window=w)),
                                          sum_by("suite", rate(BY_SUITE, COUNTED, window=w))),
                             f"pass rate per suite over {w} (passed / passed+failed+error)"))
    out += [
        Recording(N.test_pass_rate_bottom, f"bottomk by (suite) ({top}, {M.TEST_PASS_RATE.name})",
                  f"the {top} tests of each suite with the lowest pass rate over the flaky window (analytics)"),
        Recording(N.test_failures_top, f"topk by (suite) ({top}, {sum_by(('suite', 'test'), rate(att, FAILED, window='1h'))} > 0)",
                  f"failed or errored attempts per second over the last hour, the {top} most failing tests per suite"),
        Recording(N.test_retries_top,
                  f"topk by (suite) ({top}, {sum_by(('suite', 'test'), rate(M.TEST_RETRIES.total, window='1h'))} > 0)",
                  f"reruns per second over the last hour, the {top} most rerun tests per suite"),
        Recording(N.state_count, f"count by (suite, state) ({M.TEST_STATE.name} == 1)",
                  "tests in each state (healthy, flaky, broken) per suite (analytics). "
                  + " ".join(flaky_words(config)[w] for w in ("broken", "flaky", "healthy"))),
        Recording(N.flaky_flip_top, f"topk by (suite) ({top}, {M.TEST_FLIP_RATE.name} and on (suite, test) "
                                    f"({sel(M.TEST_STATE.name, FLAKY_STATE)} == 1))",
                  f"flip rate of the {top} flakiest tests (highest flip rate among those the analytics call flaky) per "
                  f"suite. {flaky_words(config)['flaky']}"),
        # the attempt-duration histogram without its outcome label: 3x fewer series for the percentile panels
        Recording(N.attempt_duration_rate, sum_by(("suite", "le"), rate(M.TEST_ATTEMPT_DURATION.bucket, window="5m")),
                  "attempt-duration histogram buckets per suite, per second over 5m"),
        # Panels over long ranges read 3 label values per suite here instead of every test's series;
        # summing it over a window weights every attempt alike, so passed/counted ratios stay exact.
        Recording(N.variant_outcome_rate, sum_by(("suite", "variant", "outcome"), rate(att, window="5m")),
                  "attempts per second by suite, experiment variant and outcome"),
        Recording(N.uncertain_band, f"{M.TEST_PASS_RATE.name} >= {lo} <= {hi}",
                  "tests whose windowed pass rate is inside the band flaky_band, whatever their state "
                  "(value: the pass rate)"),
        Recording(N.uncertain_band_count, f"count by (suite) ({N.uncertain_band})",
                  "tests per suite whose windowed pass rate is inside the band flaky_band, whatever their state"),
        Recording(N.retry_ratio, ratio(sum_by("provider", rate(M.API_RETRIES.total, window="5m")),
                                       sum_by("provider", rate(M.API_REQUESTS.total, window="5m"))),
                  "API retries per request"),
        Recording(N.ratio_429, ratio(sum_by("provider", rate(M.API_REQUESTS.total, 'code="429"', window="5m")),
                                     sum_by("provider", rate(M.API_REQUESTS.total, window="5m"))),
                  "share of API requests answered 429"),
        Recording(N.ratio_5xx, ratio(sum_by("provider", rate(M.API_REQUESTS.total, FIVE_XX, window="5m")),
                                     sum_by("provider", rate(M.API_REQUESTS.total, window="5m"))),
                  "share of API requests answered 5xx"),
        Recording(N.cost_1d, sum_by("suite", increase(M.COST.total, window="1d")), "USD spent over the last 24 h"),
        Recording(N.cost_rate_1h, sum_by("suite", rate(M.COST.total, window="1h")),
                  "USD per second over the last hour"),
    ]
    app = M.HTTP_SERVER_DURATION.count
    out.append(Recording(N.app_error_ratio, ratio(sum_by(APP_LEVEL, rate(app, FAILED_REQUEST, window="5m")),
                                                  sum_by(APP_LEVEL, rate(app, window="5m"))),
                         "share of an instrumented app's requests that failed (5xx or an unhandled exception)"))
    buckets = sum_by(("le", "provider", "model"), rate(M.API_REQUEST_DURATION.bucket, window="5m"))
    for q, name in N.latency.items():
        out.append(Recording(name, f"histogram_quantile({fmt_num(q / 100)}, {buckets})", f"API latency p{q}"))
    out += [
        Recording(N.quality_latest, f"max by (release) ({latest_release(M.QUALITY_SCORE.name, ts)})",
                  "quality score of the newest release"),
        Recording(N.quality_previous, f"max by (release) ({M.QUALITY_SCORE.name} and on (release) {previous})",
                  "quality score of the release before the newest"),
        Recording(N.quality_delta, f"{N.quality_latest} - on () group_left () {N.quality_previous}",
                  "quality score change of the newest release vs the previous one"),
        Recording(N.slowdown_latest,
                  f"max by (release, operation) ({M.REGRESSION_RATIO.name} and on (release) {newest})",
                  "slowdown of each regressed operation of the newest release"),
    ]
    return tuple(out)


def recording_names(config: Config) -> frozenset[str]:
    return frozenset(r.record for r in recording_rules(config))


#: Quarantine entries that still hold (active, or ending within a week) and those that expired.
QUARANTINE_HELD = 'kind=~"active|expiring"'
QUARANTINE_EXPIRED = 'kind="expired"'


def alerts(config: Config) -> tuple[Alert, ...]:
    budget = config.daily_budget_usd
    up = sel(M.UP.name, f'job="{EXPORTER_JOB}"')
    app_up = sel(M.UP.name, f'job="{APP_JOB}"')
    return (
        Alert("RqObsPassRateBelowSLO", N.pass_rate["1d"], "<", config.slo_pass_rate, "15m", "critical",
              "Pass rate of {{ $labels.suite }} below the SLO",
              f"The 1-day pass rate of suite {{{{ $labels.suite }}}} is {{value}}, below the SLO of "
              f"{config.slo_pass_rate:.0%}.", "pass-rate-below-slo", "humanizePercentage"),
        # The exporter's gauge, not increase() over the counters: it counts the UTC day from the store,
        # including spend recorded before Prometheus first scraped a new series (the Cost today panel).
        Alert("RqObsDailyCostOverBudget", f"max({M.COST_TODAY.name})", ">", budget, "5m", "warning",
              "API cost over the daily budget",
              f"API cost today (UTC) is ${{value}}, over the daily budget of ${fmt_num(budget)}.",
              "daily-cost-over-budget", "fixed2"),
        Alert("RqObsBudgetBurnRateHigh", f"sum({N.cost_rate_1h}) * 86400 / {fmt_num(budget)}", ">",
              config.budget_burn_threshold, "15m", "critical",
              "API spend is burning the daily budget fast",
              "The last hour's API spend, extrapolated to a day, is {value} times the daily budget "
              f"(threshold {fmt_num(config.budget_burn_threshold)}).", "budget-burn-rate-high", "fixed2"),
        Alert("RqObsApiRetryRateHigh", N.retry_ratio, ">", config.api_retry_rate_threshold, "10m", "warning",
              "High API retry rate for {{ $labels.provider }}",
              f"{{{{ $labels.provider }}}} API calls are retried {{value}} times per request "
              f"(threshold {fmt_num(config.api_retry_rate_threshold)}).", "api-retry-rate-high", "fixed2"),
        Alert("RqObsApi429RateHigh", N.ratio_429, ">", config.rate_429_threshold, "10m", "warning",
              "Rate limited (429) by {{ $labels.provider }}",
              f"{{value}} of {{{{ $labels.provider }}}} API requests are answered 429 "
              f"(threshold {config.rate_429_threshold:.0%}).", "api-429-rate-high", "humanizePercentage"),
        Alert("RqObsApi5xxRateHigh", N.ratio_5xx, ">", config.rate_5xx_threshold, "10m", "critical",
              "Server errors (5xx) from {{ $labels.provider }}",
              f"{{value}} of {{{{ $labels.provider }}}} API requests are answered 5xx "
              f"(threshold {config.rate_5xx_threshold:.0%}).", "api-5xx-rate-high", "humanizePercentage"),
        Alert("RqObsQualityScoreBelowGate", N.quality_latest, "<", config.min_quality_score, "5m", "critical",
              "Release {{ $labels.release }} is below the quality gate",
              f"The quality score of release {{{{ $labels.release }}}} is {{value}}, below the gate of "
              f"{fmt_num(config.min_quality_score)}.", "quality-score-below-gate"),
        Alert("RqObsQualityScoreDropped", N.quality_delta, "<", -config.quality_drop_threshold, "5m", "warning",
              "Quality score of {{ $labels.release }} dropped vs the previous release",
              f"The quality score of release {{{{ $labels.release }}}} changed by {{value}} points vs the previous "
              f"release (alert below -{fmt_num(config.quality_drop_threshold)}).", "quality-score-dropped"),
        Alert("RqObsPerformanceRegression", N.slowdown_latest, ">", config.regression_threshold, "5m", "warning",
              "Performance regression in {{ $labels.operation }}",
              f"Operation {{{{ $labels.operation }}}} of release {{{{ $labels.release }}}} is {{value}} slower "
              f"than the baseline (threshold {config.regression_threshold:.0%}).", "performance-regression",
              "humanizePercentage"),
        Alert("RqObsFlakyTestsRising", f"max by (suite) ({M.FLAKY_TESTS.name}) - max by (suite) "
              f"({M.FLAKY_TESTS.name} offset 1d)", ">", config.flaky_rise_threshold, "30m", "warning",
              "More flaky tests in {{ $labels.suite }} than a day ago",
              f"Suite {{{{ $labels.suite }}}} has {{value}} more flaky tests than 24 hours ago "
              f"(threshold {config.flaky_rise_threshold}). {flaky_words(config)['flaky']}", "flaky-tests-rising"),
        Alert("RqObsExporterDown", up, "<", 1, "5m", "critical", "rq-obs exporter down",
              f"Prometheus cannot scrape the rq-obs exporter (job {EXPORTER_JOB}): no test, release or cost "
              "metrics are being collected.", "exporter-down", absent=up),
        Alert("RqObsScrapeFailing", sum_by("collector", increase(M.SCRAPE_ERRORS.total, window="10m")), ">", 0,
              "10m", "warning", "rq-obs collector {{ $labels.collector }} is failing",
              "The {{ $labels.collector }} collector failed {value} times in 10 minutes; its metrics are "
              "skipped (see the exporter log).", "scrape-failing"),
        Alert("RqObsAppErrorRatioHigh", N.app_error_ratio, ">", config.app_error_ratio_threshold, "10m", "critical",
              "Requests failing on {{ $labels.instance }}",
              f"{{value}} of the requests {{{{ $labels.instance }}}} (job {{{{ $labels.job }}}}) served in the last 5 "
              f"minutes failed with a 5xx or an unhandled exception (threshold {config.app_error_ratio_threshold:.0%}).",
              "app-error-ratio-high", "humanizePercentage"),
        Alert("RqObsAppTargetDown", app_up, "<", 1, "5m", "warning", "Instrumented app {{ $labels.instance }} is down",
              f"Prometheus cannot scrape {{{{ $labels.instance }}}} (job {APP_JOB}, from app_targets): the app is down "
              "or no longer serves its metrics path.", "app-target-down"),
        Alert("RqObsNoRunsIngested", f"time() - max({M.INGEST_LAST.name})", ">", config.no_runs_hours * 3600,
              "10m", "warning", f"No test runs ingested for {config.no_runs_hours} hours",
              "The last test run was stored {value} ago.", "no-runs-ingested", "humanizeDuration"),
        Alert("RqObsCollectorExportFailing", sum_by("exporter", increase(M.OTELCOL_SEND_FAILED.total, COLLECTOR_JOB,
                                                                        window="10m")), ">", 0, "10m", "warning",
              "The collector cannot export spans through {{ $labels.exporter }}",
              "The OpenTelemetry Collector's exporter {{ $labels.exporter }} gave up on {value} spans in 10 minutes "
              "(after its retries): traces are missing from the trace backend. Test results are not lost (the "
              "store has them).", "collector-export-failing"),
        Alert("RqObsQuarantineTooLarge", f"sum({sel(M.QUARANTINE_ENTRIES.name, QUARANTINE_HELD)})", ">",
              config.quarantine_alert_count, "1h", "warning", "Too many tests quarantined",
              f"{{value}} tests are quarantined (threshold {config.quarantine_alert_count}): their failures no longer "
              "fail runs. Fix or remove entries (rq-obs quarantine suggest lists those that can end).",
              "quarantine-too-large"),
        Alert("RqObsQuarantineEntryExpired", f"sum({sel(M.QUARANTINE_ENTRIES.name, QUARANTINE_EXPIRED)})", ">", 0,
              "5m", "warning", "A quarantine entry expired",
              "{value} quarantine entries expired: their tests fail runs again. Renew or remove them "
              "(rq-obs quarantine list names each entry and its owner).", "quarantine-entry-expired"),
    )
