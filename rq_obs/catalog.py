"""THE metric catalogue: every metric rq-obs publishes or queries.

No metric name is written as a string anywhere else. Exporters register from
these entries, dashboards and rules build PromQL from them, and a test parses
every generated expression and fails on a name that is neither here nor a
recording rule defined in :mod:`rq_obs.rules`.

``Metric.name`` is the family name as OpenMetrics writes it (no ``_total`` or
``_info`` suffix); the sample names PromQL uses are ``Metric.total`` (counters),
``Metric.info`` (info), ``Metric.bucket/sum/count`` (histograms) or
``Metric.name`` (gauges), and :attr:`Metric.series` gives the main one.

Label value sources and cardinality caps are in :data:`LABELS`. Caps come from
the config (``max_tests_per_suite``, ``max_label_length``); a value over a cap is
folded into ``"__other__"`` and counted by ``rqobs_cardinality_capped_total``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

__all__ = ["Label", "Metric", "LABELS", "METRICS", "M", "by_name", "all_series_names", "OTHER", "EXPORTERS", "CAPS"]

#: The label value a capped label collapses into.
OTHER = "__other__"

#: Global caps on distinct values per label, enforced when pushed attempts are folded into the running totals
#: (rq_obs.store.cardinality): the first values seen are kept, later new ones become OTHER and are counted
#: in rqobs_cardinality_capped_total{label}. Global: varying the suite does not bypass them.
CAPS: dict[str, int] = {"suite": 200, "test": 20_000, "variant": 100, "experiment": 50, "worker": 256,
                        "category": 100, "provider": 20, "model": 100, "code": 100, "path": 200}
#: Routes (expected_route, chosen_route) and input terms published by the analytics exporter: the most frequent
#: CAPS["route"] routes keep their names (rest -> __other__), the CAPS["term"] top terms are published (rest left out).
CAPS.update({"route": 50, "term": 25})


@dataclass(frozen=True)
class Label:
    name: str
    source: str  # where the values come from
    cap: str  # how its cardinality is bounded


LABELS: dict[str, Label] = {
    l.name: l
    for l in (
        Label("suite", "config `suite` or the project directory name; pushed runs carry their own", "CAPS: 200 globally (rest -> __other__ at ingest); max_label_length"),
        Label("test", "pytest node id (or JUnit classname::name)", "CAPS: 20,000 globally at ingest, and max_tests_per_suite per suite per scrape (rest -> __other__), max_label_length"),
        Label("outcome", "passed, failed, error, skipped, xfailed, xpassed", "fixed set of 6"),
        Label("status", "run status: complete or incomplete", "fixed set of 2"),
        Label("variant", "experiment arm from marker, fixture or env var; 'control' when none", "CAPS: 100 globally (rest -> __other__ at ingest), max_label_length"),
        Label("experiment", "experiment name from marker or env var; 'none' when none", "CAPS: 50 experiments published (the rest left out, counted), max_label_length"),
        Label("worker", "pytest-xdist worker id (gw0, gw1...) or 'main'", "bounded by -n; CAPS: 256 globally (rest -> __other__ at ingest)"),
        Label("category", "first pytest marker of a test (or 'none')", "markers registered in the suite; CAPS: 100 globally (rest -> __other__ at ingest)"),
        Label("provider", "API provider reported by the test (gen_ai.provider.name)", "CAPS: 20 globally (rest -> __other__ at ingest), max_label_length"),
        Label("model", "model name reported by the test (gen_ai.request.model)", "CAPS: 100 globally (rest -> __other__ at ingest), max_label_length"),
        Label("status_class", "HTTP status class: 2xx, 3xx, 4xx, 5xx, error (no response)", "fixed set of 5"),
        Label("code", "HTTP status code, or 'timeout'/'error' when none", "HTTP codes only (~60 possible)"),
        Label("reason", "retry reason: 429, 5xx, timeout, connection, other", "fixed set of 5"),
        Label("token_type", "gen_ai.token.type: input, output, cached", "fixed set of 3"),
        Label("path", "tracked file path relative to the project root", "files matched by tracked_files globs; max 200"),
        Label("sha256", "content hash (first 12 hex digits) of a tracked file", "one current value per path"),
        Label("state", "test state: healthy, flaky, broken", "fixed set of 3"),
        Label("period", "before or after a tracked-file change", "fixed set of 2"),
        Label("metric", "experiment metric: pass_rate, duration, tokens, cost", "fixed set of 4"),
        Label("kind", "depends on the metric; documented in its help", "fixed small sets"),
        Label("verdict", "experiment verdict: better, worse, inconclusive, srm", "fixed set of 4"),
        Label("release", "release name given to `rq-obs snapshot --release`", "one per snapshot; releases older than the last 50 are not published"),
        Label("commit", "git commit of a release snapshot (12 hex digits)", "one per release"),
        Label("dimension", "quality dimension: code_quality, test_coverage, dependencies, documentation, performance", "fixed set of 5"),
        Label("operation", "benchmark name from pytest-benchmark JSON or the built-in runner", "max 500 per release"),
        Label("stat", "benchmark statistic: mean, min, max, stddev, p50, p95, p99", "fixed set of 7"),
        Label("severity", "regression or vulnerability severity: minor/major/critical or low/medium/high/critical/unknown", "fixed sets"),
        Label("change", "dependency change: added, removed, major, minor, patch, other", "fixed set of 6"),
        Label("license", "licence string from package metadata (normalised)", "max 50 per release (rest -> __other__)"),
        Label("os", "platform.system()", "one per release"),
        Label("kernel", "platform.release()", "one per release"),
        Label("python_implementation", "platform.python_implementation()", "one per release"),
        Label("python_version", "platform.python_version()", "one per release"),
        Label("cpu_model", "CPU model name", "one per release; max_label_length"),
        Label("container", "detected container runtime or 'none'", "one per release"),
        Label("version", "rq-obs version", "one"),
        Label("collector", "rq-obs collector name (store, analytics, release, host, self)", "fixed set"),
        Label("table", "store table name", "fixed set"),
        Label("label", "label whose cap was hit, or series (the max_series cap)", "labels of this catalogue, plus series"),
        Label("result", "ingest result: stored, duplicate, rejected", "fixed set of 3"),
        Label("service_name", "OTel service.name (spanmetrics)", "services sending spans"),
        Label("span_name", "span name (spanmetrics): test node id for test spans", "bounded by the collector's spanmetrics cardinality limit"),
        Label("status_code", "span status (spanmetrics): STATUS_CODE_OK, STATUS_CODE_ERROR, STATUS_CODE_UNSET", "fixed set of 3"),
        Label("span_kind", "span kind (spanmetrics)", "fixed set of 5"),
        Label("test_suite_name", "span attribute test.suite.name (spanmetrics dimension; absent on spans without it)", "one per suite"),
        Label("test_case_result_status", "span attribute test.case.result.status: pass or fail (spanmetrics dimension; absent on spans without it)", "fixed set of 2"),
        Label("job", "Prometheus scrape job", "jobs in the generated prometheus.yml"),
        Label("instance", "Prometheus scrape target", "targets in the generated prometheus.yml"),
        Label("receiver", "collector receiver name", "receivers in the generated collector config"),
        Label("transport", "collector receiver transport", "grpc, http"),
        Label("exporter", "collector exporter name", "exporters in the generated collector config"),
        Label("processor", "collector processor name", "processors in the generated collector config"),
        Label("data_type", "collector signal of an exporter queue: traces, metrics, logs", "fixed set of 3"),
        Label("function", "__qualname__ of a function decorated with @traced or @profiled by `rq-obs instrument apply`", "functions chosen with --functions and --profile"),
        Label("http_request_method", "HTTP method of a request an instrumented app served (OpenTelemetry http.request.method); a method outside the nine standard ones is _OTHER", "fixed set of 10"),
        Label("http_route", "route template the framework matched (OpenTelemetry http.route: FastAPI /items/{item_id}, Flask /items/<int:item_id>, Django items/<int:pk>/), never the raw path; empty when no route matched (404)", "routes of the app"),
        Label("http_response_status_code", "HTTP status code an instrumented app answered (500 when the handler raised before responding)", "HTTP codes only (~60 possible)"),
        Label("error_type", "OpenTelemetry error.type of a failed request: the exception's class when the handler raised, else the status code of a 5xx; empty (absent) when the request succeeded", "exception classes the app raises, plus 5xx codes"),
        Label("expected_route", "route (skill, intent) a test attached as expected_route (docs/INSTRUMENTING.md)", "CAPS: the 50 routes in most attempts keep their names, rest -> __other__; redacted; max_label_length"),
        Label("chosen_route", "route a test attached as chosen_route ('none' when it attached only an expected one)", "same route cap as expected_route"),
        Label("ambiguous", "true for inputs attached as ambiguous (attribute or @pytest.mark.ambiguous), else false", "fixed set of 2"),
        Label("term", "word or bigram of attached inputs (lower-cased, stop words out, 2-24 characters; inputs holding a credential give none)", "CAPS: the 25 terms of most failing attempts are published, the rest left out and counted"),
    )
}

#: Who publishes a metric.
EXPORTERS = {
    "store": "rq-obs serve: counters and gauges from the store's runs, attempts and running totals",
    "analytics": "rq-obs serve: flakiness, change impact, experiments and executive figures computed in Python",
    "release": "rq-obs serve: release snapshots, quality score, benchmarks, regressions, dependencies, environment",
    "host": "rq-obs serve: host metrics from psutil through the OpenTelemetry SDK's Prometheus exporter",
    "self": "rq-obs serve: its own health (ingest, store, scrape)",
    "spanmetrics": "OpenTelemetry Collector spanmetrics connector (from test spans)",
    "otelcol": "OpenTelemetry Collector internal telemetry",
    "prometheus": "Prometheus itself (synthetic scrape series)",
    "instrumented": "an app instrumented by `rq-obs instrument apply` (its own /metrics endpoint)",
    "quarantine": "rq-obs serve: the quarantine list (quarantine_file) and quarantined attempts in the store",
}


@dataclass(frozen=True)
class Metric:
    name: str
    type: str  # counter | gauge | histogram | info
    unit: str  # base unit: seconds, bytes, ratio, usd, tokens, score, "" for counts
    labels: tuple[str, ...]
    help: str
    exporter: str
    buckets: tuple[float, ...] = ()

    @property
    def total(self) -> str:
        assert self.type == "counter", self.name
        return self.name + "_total"

    @property
    def info(self) -> str:
        assert self.type == "info", self.name
        return self.name + "_info"

    @property
    def bucket(self) -> str:
        assert self.type == "histogram", self.name
        return self.name + "_bucket"

    @property
    def sum(self) -> str:
        assert self.type == "histogram", self.name
        return self.name + "_sum"

    @property
    def count(self) -> str:
        assert self.type == "histogram", self.name
        return self.name + "_count"

    @property
    def series(self) -> str:
        """The sample name PromQL uses for this metric's main series."""
        return {"counter": self.name + "_total", "info": self.name + "_info", "histogram": self.name + "_bucket"}.get(
            self.type, self.name
        )

    def sample_names(self) -> tuple[str, ...]:
        if self.type == "counter":
            return (self.name + "_total",)
        if self.type == "info":
            return (self.name + "_info",)
        if self.type == "histogram":
            return (self.name + "_bucket", self.name + "_sum", self.name + "_count")
        return (self.name,)


_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: OpenTelemetry's recommended boundaries for http.server.request.duration (semantic conventions).
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
_CPU_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0)
#: 1 KiB to 1 GiB in steps of 4.
_MEMORY_BUCKETS = tuple(float(1024 * 4 ** i) for i in range(11))
_TEST_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0)

_C, _G, _H, _I = "counter", "gauge", "histogram", "info"


class M:
    """Every metric, as attributes (``M.TEST_ATTEMPTS.total``)."""

    # --- test runs and attempts (store) ---------------------------------------------
    TEST_RUNS = Metric("rqobs_test_runs", _C, "", ("suite", "status"), "Test runs recorded, by completion status.", "store")
    TEST_ATTEMPTS = Metric("rqobs_test_attempts", _C, "", ("suite", "test", "outcome", "variant"), "Test attempts (every rerun counts) by outcome and experiment variant.", "store")
    TEST_RETRIES = Metric("rqobs_test_retries", _C, "", ("suite", "test"), "Test attempts after the first one (reruns).", "store")
    TEST_DURATION_SECONDS = Metric("rqobs_test_duration_seconds", _C, "seconds", ("suite", "test"), "Total time spent in a test's attempts.", "store")
    TEST_ATTEMPT_DURATION = Metric("rqobs_test_attempt_duration_seconds", _H, "seconds", ("suite", "outcome"), "Duration of test attempts per suite.", "store", _TEST_BUCKETS)
    CATEGORY_ATTEMPTS = Metric("rqobs_test_category_attempts", _C, "", ("suite", "category", "outcome"), "Test attempts by marker/category and outcome.", "store")
    WORKER_ATTEMPTS = Metric("rqobs_test_worker_attempts", _C, "", ("suite", "worker", "outcome"), "Test attempts by xdist worker and outcome.", "store")
    WORKER_BUSY_SECONDS = Metric("rqobs_test_worker_busy_seconds", _C, "seconds", ("suite", "worker"), "Seconds a worker spent running tests (utilisation = rate / 1).", "store")
    RUN_SEQUENCE = Metric("rqobs_test_run_sequence", _G, "", ("suite",), "Sequence number of the latest run of a suite.", "store")
    LAST_RUN_TIMESTAMP = Metric("rqobs_test_last_run_timestamp_seconds", _G, "seconds", ("suite",), "Unix time the latest run of a suite finished.", "store")
    RUN_DURATION = Metric("rqobs_test_last_run_duration_seconds", _G, "seconds", ("suite",), "Wall time of the latest run of a suite.", "store")

    # --- API calls, tokens, cost (store) --------------------------------------------
    API_REQUESTS = Metric("rqobs_api_requests", _C, "", ("provider", "model", "status_class", "code"), "API requests made by tests, by HTTP status.", "store")
    API_REQUEST_DURATION = Metric("rqobs_api_request_duration_seconds", _H, "seconds", ("provider", "model"), "API request latency as reported by tests.", "store", _LATENCY_BUCKETS)
    API_RETRIES = Metric("rqobs_api_retries", _C, "", ("provider", "model", "reason"), "API request retries by reason (429, 5xx, timeout, connection, other).", "store")
    TOKENS = Metric("rqobs_gen_ai_tokens", _C, "tokens", ("provider", "model", "token_type"), "Tokens used (gen_ai.client.token.usage) by type: input, output, cached.", "store")
    COST = Metric("rqobs_cost_usd", _C, "usd", ("suite", "provider", "model"), "API cost in USD, reported by tests or estimated from the price table.", "store")

    # --- tracked files (store) ------------------------------------------------------
    TRACKED_FILE = Metric("rqobs_tracked_file", _I, "", ("path", "sha256"), "Current content hash of a tracked file (SKILL.md, prompts).", "store")
    TRACKED_FILE_CHANGES = Metric("rqobs_tracked_file_changes", _C, "", ("path",), "Change events of a tracked file.", "store")
    TRACKED_FILE_CHANGED_LINES = Metric("rqobs_tracked_file_changed_lines", _C, "", ("path", "kind"), "Lines changed in tracked files; kind is added or removed.", "store")
    TRACKED_FILE_LAST_CHANGE = Metric("rqobs_tracked_file_last_change_timestamp_seconds", _G, "seconds", ("path",), "Unix time of a tracked file's last change.", "store")

    # --- flakiness (analytics) ------------------------------------------------------
    TEST_PASS_RATE = Metric("rqobs_test_pass_rate_ratio", _G, "ratio", ("suite", "test"), "Pass rate of a test over the flaky window (passed / (passed+failed+error)).", "analytics")
    TEST_FLIP_RATE = Metric("rqobs_test_flip_rate_ratio", _G, "ratio", ("suite", "test"), "Outcome changes between consecutive attempts / attempts of a test over the flaky window.", "analytics")
    TEST_STABILITY = Metric("rqobs_test_stability_score", _G, "score", ("suite", "test"), "Stability score 0-100 of a test (100 = always the same outcome).", "analytics")
    TEST_STATE = Metric("rqobs_test_state", _G, "", ("suite", "test", "state"), "1 for the test's current state (healthy, flaky, broken).", "analytics")
    TEST_DURATION_P95 = Metric("rqobs_test_duration_p95_seconds", _G, "seconds", ("suite", "test"), "95th percentile duration of a test over the flaky window.", "analytics")
    TEST_LAST_FLAKE = Metric("rqobs_test_last_flake_timestamp_seconds", _G, "seconds", ("suite", "test"), "Unix time a test last flaked.", "analytics")
    FLAKY_TESTS = Metric("rqobs_flaky_tests", _G, "", ("suite",), "Number of tests currently flaky.", "analytics")
    BROKEN_TESTS = Metric("rqobs_broken_tests", _G, "", ("suite",), "Number of tests currently broken (their latest flaky_min_attempts attempts all failed).", "analytics")

    # --- quarantine (the list file and quarantined attempts in the store) -----------
    QUARANTINE_ENTRIES = Metric("rqobs_quarantine_entries", _G, "", ("kind",), "Entries of the quarantine list by kind: active, expiring (ends within a week, still active) or expired.", "quarantine")
    QUARANTINED_TESTS = Metric("rqobs_quarantined_tests", _G, "", ("suite",), "Tests that ran under an active quarantine entry in the flaky window.", "quarantine")
    QUARANTINE_ABSORBED_FAILURES = Metric("rqobs_quarantine_absorbed_failures", _G, "", ("suite",), "Failed or errored attempts of quarantined tests in the flaky window: failures that did not fail their run.", "quarantine")

    # --- tracked-file change impact (analytics) -------------------------------------
    CHANGE_PASS_RATE = Metric("rqobs_change_pass_rate_ratio", _G, "ratio", ("path", "period"), "Pass rate before and after the last change of a tracked file.", "analytics")
    CHANGE_DELTA = Metric("rqobs_change_pass_rate_delta_ratio", _G, "ratio", ("path",), "Pass-rate change (after - before) of the last change of a tracked file.", "analytics")
    CHANGE_P_VALUE = Metric("rqobs_change_p_value", _G, "", ("path",), "p-value of the before/after pass-rate difference (two-proportion z-test).", "analytics")
    CHANGE_TEST_DELTA = Metric("rqobs_change_test_pass_rate_delta_ratio", _G, "ratio", ("path", "test"), "Per-test pass-rate change after the last change of a tracked file.", "analytics")

    # --- experiments (analytics) ----------------------------------------------------
    EXPERIMENT_SAMPLES = Metric("rqobs_experiment_samples", _G, "", ("experiment", "variant"), "Attempts per experiment variant.", "analytics")
    EXPERIMENT_VALUE = Metric("rqobs_experiment_value", _G, "", ("experiment", "variant", "metric"), "Rate or mean of a metric per variant (pass_rate ratio, duration seconds, tokens, cost usd).", "analytics")
    EXPERIMENT_LIFT = Metric("rqobs_experiment_lift_ratio", _G, "ratio", ("experiment", "variant", "metric", "kind"), "Lift vs control; kind is absolute or relative.", "analytics")
    EXPERIMENT_CI_LOWER = Metric("rqobs_experiment_lift_ci_lower_ratio", _G, "ratio", ("experiment", "variant", "metric"), "Lower bound of the 95 % CI of the absolute lift.", "analytics")
    EXPERIMENT_CI_UPPER = Metric("rqobs_experiment_lift_ci_upper_ratio", _G, "ratio", ("experiment", "variant", "metric"), "Upper bound of the 95 % CI of the absolute lift.", "analytics")
    EXPERIMENT_P_VALUE = Metric("rqobs_experiment_p_value", _G, "", ("experiment", "variant", "metric"), "p-value vs control (z-test for rates, Welch's t-test for means).", "analytics")
    EXPERIMENT_SRM_P_VALUE = Metric("rqobs_experiment_srm_p_value", _G, "", ("experiment",), "Sample-ratio-mismatch chi-square p-value (flag below 0.001).", "analytics")
    EXPERIMENT_POWER = Metric("rqobs_experiment_power_ratio", _G, "ratio", ("experiment", "variant", "metric"), "Achieved power of the comparison vs control.", "analytics")
    EXPERIMENT_MDE = Metric("rqobs_experiment_mde_ratio", _G, "ratio", ("experiment", "variant", "metric"), "Minimum detectable (absolute) effect at 80 % power.", "analytics")
    EXPERIMENT_VERDICT = Metric("rqobs_experiment_verdict", _G, "", ("experiment", "variant", "verdict"), "1 for the current verdict of a variant (better, worse, inconclusive, srm).", "analytics")

    # --- executive figures (analytics) ----------------------------------------------
    PASS_RATE_WOW_DELTA = Metric("rqobs_pass_rate_wow_delta_ratio", _G, "ratio", ("suite",), "Pass rate of the last 7 days minus the 7 days before.", "analytics")
    COST_TODAY = Metric("rqobs_cost_today_usd", _G, "usd", (), "API cost since midnight UTC.", "analytics")
    COST_MONTH_PROJECTED = Metric("rqobs_cost_month_projected_usd", _G, "usd", (), "Month cost projected from the last 7 days.", "analytics")
    BUDGET_BURN = Metric("rqobs_cost_budget_burn_ratio", _G, "ratio", (), "Today's cost divided by the daily budget.", "analytics")
    COST_ANOMALY = Metric("rqobs_cost_anomaly_score", _G, "", ("model",), "z-score of today's cost per model against the previous 14 days.", "analytics")
    SLO_PASS_RATE = Metric("rqobs_slo_pass_rate_ratio", _G, "ratio", (), "The configured pass-rate SLO (for panels).", "analytics")
    DAILY_BUDGET = Metric("rqobs_daily_budget_usd", _G, "usd", (), "The configured daily cost budget (for panels).", "analytics")

    # --- LLM routing: disambiguation and input terms (analytics; attributes in docs/INSTRUMENTING.md) ----------
    ROUTE_ATTEMPTS = Metric("rqobs_route_attempts", _G, "", ("suite", "expected_route", "chosen_route", "ambiguous"), "Counted attempts (passed, failed, error) over the flaky window of tests that attached an expected route, by expected and chosen route.", "analytics")
    ROUTE_PASSED = Metric("rqobs_route_passed_attempts", _G, "", ("suite", "expected_route", "chosen_route", "ambiguous"), "Passed attempts among rqobs_route_attempts (pass rate = passed / attempts).", "analytics")
    INPUT_TERM_ATTEMPTS = Metric("rqobs_input_term_attempts", _G, "", ("suite", "term"), "Counted attempts over the flaky window whose attached input contains the term (top terms of failing inputs only).", "analytics")
    INPUT_TERM_FAILED = Metric("rqobs_input_term_failed_attempts", _G, "", ("suite", "term"), "Failed or errored attempts among rqobs_input_term_attempts (failure share = failed / attempts).", "analytics")

    # --- releases (release) ---------------------------------------------------------
    RELEASE = Metric("rqobs_release", _I, "", ("release", "commit"), "A release snapshot.", "release")
    RELEASE_TIMESTAMP = Metric("rqobs_release_timestamp_seconds", _G, "seconds", ("release",), "Unix time a release snapshot was taken.", "release")
    QUALITY_SCORE = Metric("rqobs_quality_score", _G, "score", ("release",), "Quality score 0-100 of a release.", "release")
    QUALITY_DIMENSION = Metric("rqobs_quality_dimension_score", _G, "score", ("release", "dimension"), "Quality score 0-100 per dimension (absent when the dimension is missing).", "release")
    QUALITY_DIMENSION_MISSING = Metric("rqobs_quality_dimension_missing", _G, "", ("release", "dimension"), "1 when a quality dimension had no input and was re-weighted.", "release")
    RELEASE_PASS_RATE = Metric("rqobs_release_pass_rate_ratio", _G, "ratio", ("release",), "Pass rate recorded in a release snapshot.", "release")
    RELEASE_COVERAGE = Metric("rqobs_release_coverage_ratio", _G, "ratio", ("release",), "Line coverage recorded in a release snapshot.", "release")
    BENCHMARK_SECONDS = Metric("rqobs_benchmark_duration_seconds", _G, "seconds", ("release", "operation", "stat"), "Benchmark statistic per operation.", "release")
    BENCHMARK_MEMORY = Metric("rqobs_benchmark_peak_memory_bytes", _G, "bytes", ("release", "operation"), "Peak memory of a benchmark operation.", "release")
    REGRESSIONS = Metric("rqobs_regressions", _G, "", ("release", "severity"), "Regressions of a release vs its baseline, by severity.", "release")
    REGRESSION_RATIO = Metric("rqobs_regression_slowdown_ratio", _G, "ratio", ("release", "operation", "severity"), "Slowdown (head/base - 1) of a regressed operation.", "release")
    DEPENDENCIES = Metric("rqobs_dependencies", _G, "", ("release", "kind"), "Dependencies of a release; kind is direct or transitive.", "release")
    DEPENDENCY_CHANGES = Metric("rqobs_dependency_changes", _G, "", ("release", "change"), "Dependency changes vs the baseline release.", "release")
    VULNERABILITIES = Metric("rqobs_dependency_vulnerabilities", _G, "", ("release", "severity"), "Known vulnerabilities in a release's dependencies.", "release")
    LICENSES = Metric("rqobs_dependency_licenses", _G, "", ("release", "license"), "Dependencies per licence.", "release")
    ENVIRONMENT = Metric("rqobs_environment", _I, "", ("release", "os", "kernel", "python_implementation", "python_version", "cpu_model", "container"), "Environment a release snapshot was taken in.", "release")
    ENV_CPU_CORES = Metric("rqobs_environment_cpu_cores", _G, "", ("release", "kind"), "CPU cores (kind physical or logical).", "release")
    ENV_MEMORY = Metric("rqobs_environment_memory_bytes", _G, "bytes", ("release",), "Total memory of the snapshot machine.", "release")
    ENV_DRIFT = Metric("rqobs_environment_drift", _G, "", ("release",), "Environment fields that differ from the baseline release.", "release")

    # --- host (OpenTelemetry SDK + psutil) ------------------------------------------
    HOST_CPU = Metric("rqobs_host_cpu_utilization_ratio", _G, "ratio", (), "Host CPU utilisation.", "host")
    HOST_MEMORY_USED = Metric("rqobs_host_memory_used_bytes", _G, "bytes", (), "Host memory in use.", "host")
    HOST_DISK_USED = Metric("rqobs_host_disk_used_bytes", _G, "bytes", (), "Disk used on the store's filesystem.", "host")

    # --- self health ----------------------------------------------------------------
    BUILD_INFO = Metric("rqobs_build", _I, "", ("version",), "rq-obs version.", "self")
    INGEST_RUNS = Metric("rqobs_ingest_runs", _C, "", ("result",), "Pushed runs by result (stored, duplicate, rejected).", "self")
    INGEST_SNAPSHOTS = Metric("rqobs_ingest_snapshots", _C, "", ("result",), "Pushed release snapshots by result (stored: new or replacing the release's, duplicate, rejected).", "self")
    INGEST_ATTEMPTS = Metric("rqobs_ingest_attempts", _C, "", (), "Test attempts received through pushes.", "self")
    INGEST_LAST = Metric("rqobs_ingest_last_timestamp_seconds", _G, "seconds", (), "Unix time of the last run stored (pushed or recorded).", "self")
    STORE_SIZE = Metric("rqobs_store_size_bytes", _G, "bytes", (), "Size of the store file (with WAL).", "self")
    STORE_ROWS = Metric("rqobs_store_rows", _G, "", ("table",), "Rows per store table.", "self")
    SCRAPE_DURATION = Metric("rqobs_scrape_duration_seconds", _G, "seconds", ("collector",), "Time the last scrape spent in each collector.", "self")
    SCRAPE_ERRORS = Metric("rqobs_scrape_errors", _C, "", ("collector",), "Collector failures during scrapes (logged and skipped).", "self")
    CARDINALITY_CAPPED = Metric("rqobs_cardinality_capped", _C, "", ("label",), "Label values folded into __other__ or truncated by a cardinality cap.", "self")

    # --- OpenTelemetry Collector (spanmetrics connector, internal telemetry) --------
    SPAN_CALLS = Metric("traces_span_metrics_calls", _C, "", ("service_name", "span_name", "span_kind", "status_code", "test_suite_name", "test_case_result_status"), "Spans seen by the spanmetrics connector.", "spanmetrics")
    SPAN_DURATION = Metric("traces_span_metrics_duration_seconds", _H, "seconds", ("service_name", "span_name", "span_kind", "status_code", "test_suite_name", "test_case_result_status"), "Span durations (spanmetrics connector, unit s).", "spanmetrics")
    OTELCOL_ACCEPTED_SPANS = Metric("otelcol_receiver_accepted_spans", _C, "", ("receiver", "transport"), "Spans the collector accepted.", "otelcol")
    OTELCOL_REFUSED_SPANS = Metric("otelcol_receiver_refused_spans", _C, "", ("receiver", "transport"), "Spans the collector refused.", "otelcol")
    OTELCOL_SEND_FAILED = Metric("otelcol_exporter_send_failed_spans", _C, "", ("exporter",), "Spans the collector failed to export.", "otelcol")
    # the collector's resource and pipeline health (names as collector v0.139.0 exposes them on :8888, read from its /metrics)
    OTELCOL_RECEIVER_FAILED_SPANS = Metric("otelcol_receiver_failed_spans", _C, "", ("receiver", "transport"), "Spans the collector's receivers failed to process (not caused by a downstream refusal).", "otelcol")
    OTELCOL_PROCESSOR_REFUSED_SPANS = Metric("otelcol_processor_refused_spans", _C, "", ("processor",), "Spans the memory_limiter processor refused (the collector is over its memory limit).", "otelcol")
    OTELCOL_ENQUEUE_FAILED_SPANS = Metric("otelcol_exporter_enqueue_failed_spans", _C, "", ("exporter",), "Spans dropped because an exporter's sending queue was full.", "otelcol")
    OTELCOL_SEND_FAILED_POINTS = Metric("otelcol_exporter_send_failed_metric_points", _C, "", ("exporter",), "Metric points the collector failed to export.", "otelcol")
    OTELCOL_SENT_SPANS = Metric("otelcol_exporter_sent_spans", _C, "", ("exporter",), "Spans an exporter sent successfully.", "otelcol")
    OTELCOL_QUEUE_SIZE = Metric("otelcol_exporter_queue_size", _G, "", ("exporter", "data_type"), "Batches in an exporter's sending queue (waiting or being retried).", "otelcol")
    OTELCOL_QUEUE_CAPACITY = Metric("otelcol_exporter_queue_capacity", _G, "", ("exporter", "data_type"), "Capacity of an exporter's sending queue, in batches.", "otelcol")
    OTELCOL_CPU = Metric("otelcol_process_cpu_seconds", _C, "seconds", (), "CPU time (user + system) the collector process used.", "otelcol")
    OTELCOL_RSS = Metric("otelcol_process_memory_rss_bytes", _G, "bytes", (), "Resident memory of the collector process.", "otelcol")
    OTELCOL_HEAP = Metric("otelcol_process_runtime_heap_alloc_bytes", _G, "bytes", (), "Bytes of allocated heap objects in the collector (Go runtime).", "otelcol")

    # --- apps instrumented by `rq-obs instrument apply` (their own /metrics) --------
    APP_FUNCTION_DURATION = Metric("app_function_duration_seconds", _H, "seconds", ("function",), "Duration of functions decorated with @traced (rq-obs instrument apply).", "instrumented", _LATENCY_BUCKETS)
    APP_FUNCTION_CPU = Metric("app_function_cpu_time_seconds", _H, "seconds", ("function",), "CPU time (of the calling thread) per call of functions decorated with @profiled, recorded while RQ_OBS_PROFILE is on.", "instrumented", _CPU_BUCKETS)
    APP_FUNCTION_MEMORY = Metric("app_function_peak_memory_bytes", _H, "bytes", ("function",), "Peak memory (tracemalloc) allocated during a call of a function decorated with @profiled, above what was allocated when the call began; recorded while RQ_OBS_PROFILE is on.", "instrumented", _MEMORY_BUCKETS)
    HTTP_SERVER_DURATION = Metric("http_server_request_duration_seconds", _H, "seconds", ("http_request_method", "http_route", "http_response_status_code", "error_type"), "Duration of HTTP requests an instrumented app served (OpenTelemetry http.server.request.duration); _count is the number of requests.", "instrumented", _HTTP_BUCKETS)
    HTTP_SERVER_ACTIVE = Metric("http_server_active_requests", _G, "", ("http_request_method",), "HTTP requests an instrumented app is serving now (OpenTelemetry http.server.active_requests).", "instrumented")

    # --- Prometheus synthetic series ------------------------------------------------
    UP = Metric("up", _G, "", ("job", "instance"), "1 when the last scrape of a target succeeded.", "prometheus")
    SCRAPE_DURATION_PROM = Metric("scrape_duration_seconds", _G, "seconds", ("job", "instance"), "Duration of the last scrape of a target.", "prometheus")


METRICS: tuple[Metric, ...] = tuple(v for k, v in vars(M).items() if isinstance(v, Metric))

_BY_NAME = {m.name: m for m in METRICS}


def by_name(name: str) -> Metric:
    return _BY_NAME[name]


def all_series_names() -> frozenset[str]:
    """Every sample name a PromQL expression may reference (besides recording rules)."""
    return frozenset(s for m in METRICS for s in m.sample_names())


def iter_exporter(exporter: str) -> Iterator[Metric]:
    return (m for m in METRICS if m.exporter == exporter)
