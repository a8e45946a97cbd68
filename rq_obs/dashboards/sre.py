"""SRE operations: API health (retries, latency, 429/5xx), instrumented apps (request rate, errors, latency),
workers, tokens and cost, rq-obs and collector health."""

from __future__ import annotations

from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.dashboards import panels as P
from rq_obs.dashboards import queries as q
from rq_obs.dashboards.defaults import Spec, query_var
from rq_obs.dashboards.panels import Q
from rq_obs.rules.definitions import APP_JOB, APP_LEVEL, COLLECTOR_JOB, EXPORTER_JOB, FAILED_REQUEST, FIVE_XX, N

#: Scrape jobs of the generated stack whose health the SRE dashboard shows.
JOBS = f'job=~"{EXPORTER_JOB}|spanmetrics|otelcol|prometheus|tempo|jaeger"'
CODE_429 = 'code="429"'


#: Why the collector's failure panels chart totals, not rates.
SINCE_START = ("Totals, not rates: the collector creates these counters with their first event, so a rate "
               "would never show the first burst; a drop to 0 is a collector restart.")


def _zero_when_up(expr: str) -> str:
    """``expr``, or 0 while the collector is scraped: counters the collector creates on their first event
    (send failures, drops) read 0 instead of "No data" until then."""
    return f"({expr}) or on () (0 * sum({q.sel(M.UP.name, COLLECTOR_JOB)}))"


def _collector() -> list:
    """Collector resources and pipeline health from its own metrics (job otelcol, :8888)."""
    def per_exporter(metric) -> str:
        return f"sum by (exporter) ({q.sel(metric.total, COLLECTOR_JOB)})"

    return [
        P.timeseries("Collector CPU", "CPU time the OpenTelemetry Collector process uses per second (1 = one core).",
                     "percentunit", Q(f"sum by (instance) ({q.rate(M.OTELCOL_CPU.total, COLLECTOR_JOB)})", "{{instance}}"),
                     w=6),
        P.timeseries("Collector memory", "Resident memory (RSS) of the collector process and its Go heap in use; "
                     "the memory_limiter refuses data above 80 % of the limit.", "bytes",
                     Q(f"sum by (instance) ({q.sel(M.OTELCOL_RSS.name, COLLECTOR_JOB)})", "RSS {{instance}}"),
                     Q(f"sum by (instance) ({q.sel(M.OTELCOL_HEAP.name, COLLECTOR_JOB)})", "heap {{instance}}"), w=6),
        P.timeseries("Exporter queue", "Batches waiting (or being retried) in each exporter's sending queue, and the "
                     "queue's capacity: a queue that fills drops spans.", "short",
                     Q(f"sum by (exporter) ({q.sel(M.OTELCOL_QUEUE_SIZE.name, COLLECTOR_JOB)})", "{{exporter}} size"),
                     Q(f"sum by (exporter) ({q.sel(M.OTELCOL_QUEUE_CAPACITY.name, COLLECTOR_JOB)})",
                       "{{exporter}} capacity"), w=6),
        P.stat("Spans accepted", "Spans the collector's receivers accepted since it started (a counter the "
               "collector creates with its first spans, so increase() would miss them).", "short",
               Q(f"sum({q.sel(M.OTELCOL_ACCEPTED_SPANS.total, COLLECTOR_JOB)})", "accepted"), w=6),
        P.timeseries("Refused and dropped spans", f"Spans the receivers refused or failed to process, the "
                     f"memory_limiter refused, and exporters dropped because their queue was full, since the "
                     f"collector started. {SINCE_START}", "short",
                     Q(f"sum({q.sel(M.OTELCOL_REFUSED_SPANS.total, COLLECTOR_JOB)})", "refused (receiver)"),
                     Q(f"sum({q.sel(M.OTELCOL_RECEIVER_FAILED_SPANS.total, COLLECTOR_JOB)})", "failed (receiver)"),
                     Q(_zero_when_up(f"sum({q.sel(M.OTELCOL_PROCESSOR_REFUSED_SPANS.total, COLLECTOR_JOB)})"),
                       "refused (memory limit)"),
                     Q(_zero_when_up(f"sum({q.sel(M.OTELCOL_ENQUEUE_FAILED_SPANS.total, COLLECTOR_JOB)})"),
                       "dropped (queue full)"), w=12),
        P.timeseries("Exporter send failures", f"Spans and metric points each exporter failed to send (after its "
                     f"retries), beside the spans it sent, since the collector started. {SINCE_START}", "short",
                     Q(_zero_when_up(per_exporter(M.OTELCOL_SEND_FAILED)), "{{exporter}} spans failed"),
                     Q(per_exporter(M.OTELCOL_SEND_FAILED_POINTS), "{{exporter}} metric points failed"),
                     Q(_zero_when_up(per_exporter(M.OTELCOL_SENT_SPANS)), "{{exporter}} spans sent"), w=12),
    ]


def _apps(config: Config) -> list:
    """Panels of the apps instrumented by `rq-obs instrument apply` (any job scraping them; job apps is app_targets)."""
    http = M.HTTP_SERVER_DURATION
    up_mappings = P.value_mappings({"1": ("UP", "green"), "0": ("DOWN", "red")})
    return [
        P.timeseries("App request rate", "Requests per second each instrumented app served, by method and route "
                     "template (a request no route matched has none); the probes /metrics, /health and /ready are "
                     "not counted.", "reqps",
                     Q(f"sum by (instance, http_request_method, http_route) ({q.rate(http.count)})",
                       "{{instance}} {{http_request_method}} {{http_route}}"), w=8),
        P.timeseries("App error ratio", "Share of each app's requests that failed: a 5xx answer or an unhandled "
                     f"exception; the alert threshold {config.app_error_ratio_threshold:.0%} is the line.",
                     "percentunit",
                     Q(q.ratio(q.sum_by(APP_LEVEL, q.rate(http.count, FAILED_REQUEST)),
                               q.sum_by(APP_LEVEL, q.rate(http.count))), "{{instance}}"),
                     Q(N.app_error_ratio, "{{instance}} (5m rule)"),
                     thresholds=P.ceiling(config.app_error_ratio_threshold), show_thresholds=True, w=8),
        P.timeseries("App latency percentiles", "p50, p95 and p99 request duration per app (histogram of "
                     "http.server.request.duration).", "s",
                     *(Q(q.quantile(x, http.bucket, by=("instance",)), f"p{round(x * 100)} {{{{instance}}}}")
                       for x in (0.5, 0.95, 0.99)), w=8),
        P.timeseries("App p95 latency by route", "95th percentile request duration per app and route template: "
                     "which route is slow.", "s",
                     Q(q.quantile(0.95, http.bucket, by=("instance", "http_route")), "{{instance}} {{http_route}}"),
                     w=8),
        P.timeseries("App errors by route", "Failed requests per second by route, status code and error type "
                     "(the exception's class, or the code of a 5xx answered without one).", "reqps",
                     Q(f"sum by (instance, http_route, http_response_status_code, error_type) "
                       f"({q.rate(http.count, FAILED_REQUEST)})",
                       "{{instance}} {{http_route}} {{http_response_status_code}} {{error_type}}"), stack=True, w=8),
        P.timeseries("App responses by status code", "Requests per second by HTTP status code, all apps.", "reqps",
                     Q(f"sum by (http_response_status_code) ({q.rate(http.count)})", "{{http_response_status_code}}"),
                     stack=True, w=8),
        P.stat("App targets up", f"1 when Prometheus' last scrape of each app in app_targets (job {APP_JOB}) "
               "succeeded.", "none", Q(q.sel(M.UP.name, f'job="{APP_JOB}"'), "{{instance}}"), mappings=up_mappings,
               thresholds=P.floor(1), w=6, h=6),
        P.timeseries("App in-flight requests", "Requests each app is serving at scrape time.", "short",
                     Q(f"sum by (instance) ({M.HTTP_SERVER_ACTIVE.name})", "{{instance}}"), w=6, h=6),
        P.timeseries("Function time p95", "p95 wall time of @traced functions and p95 CPU time of @profiled ones "
                     "(recorded only while the app runs with RQ_OBS_PROFILE on).", "s",
                     Q(q.quantile(0.95, M.APP_FUNCTION_DURATION.bucket, by=("function",)), "wall {{function}}"),
                     Q(q.quantile(0.95, M.APP_FUNCTION_CPU.bucket, by=("function",)), "CPU {{function}}"), w=6, h=6),
        P.timeseries("Peak memory per call p95", "p95 of the memory a call of a @profiled function allocated at "
                     "its peak (tracemalloc; only while the app runs with RQ_OBS_PROFILE on).", "bytes",
                     Q(q.quantile(0.95, M.APP_FUNCTION_MEMORY.bucket, by=("function",)), "{{function}}"), w=6, h=6),
    ]


def spec(config: Config) -> Spec:
    req = M.API_REQUESTS.total
    all_requests = f"sum({q.rate(req, q.MODEL)})"
    api = [
        P.timeseries("API retry rate", f"Retries per API request for the selected models; the alert threshold "
                     f"{config.api_retry_rate_threshold:g} is the line.", "percentunit",
                     Q(q.ratio(f"sum({q.rate(M.API_RETRIES.total, q.MODEL)})", all_requests), "all models"),
                     Q(N.retry_ratio, "{{provider}} (5m rule)"),
                     thresholds=P.ceiling(config.api_retry_rate_threshold), show_thresholds=True, w=8),
        P.timeseries("Retries by reason", "API retries per second by reason (429, 5xx, timeout, connection, other).",
                     "reqps", Q(f"sum by (reason) ({q.rate(M.API_RETRIES.total, q.MODEL)})", "{{reason}}"),
                     stack=True, w=8),
        P.timeseries("API latency percentiles", "p50, p95 and p99 latency of API requests made by tests "
                     "(histogram).", "s",
                     *(Q(q.quantile(x, M.API_REQUEST_DURATION.bucket, q.MODEL), f"p{round(x * 100)}")
                       for x in (0.5, 0.95, 0.99)), w=8),
        P.timeseries("429 rate", f"Share of API requests answered 429 (rate limited); alert above "
                     f"{config.rate_429_threshold:.0%}.", "percentunit",
                     Q(q.ratio(f"sum by (provider) ({q.rate(req, q.MODEL, CODE_429)})",
                               f"sum by (provider) ({q.rate(req, q.MODEL)})"), "{{provider}}"),
                     thresholds=P.ceiling(config.rate_429_threshold), show_thresholds=True, w=8),
        P.timeseries("5xx rate", f"Share of API requests answered 5xx; alert above {config.rate_5xx_threshold:.0%}.",
                     "percentunit",
                     Q(q.ratio(f"sum by (provider) ({q.rate(req, q.MODEL, FIVE_XX)})",
                               f"sum by (provider) ({q.rate(req, q.MODEL)})"), "{{provider}}"),
                     thresholds=P.ceiling(config.rate_5xx_threshold), show_thresholds=True, w=8),
        P.timeseries("Requests by status class", "API requests per second by HTTP status class.", "reqps",
                     Q(f"sum by (status_class) ({q.rate(req, q.MODEL)})", "{{status_class}}"), stack=True, w=8),
    ]
    workers = [
        P.timeseries("Worker utilisation", "Share of wall time each pytest-xdist worker spent running tests.",
                     "percentunit", Q(f"sum by (worker) ({q.rate(M.WORKER_BUSY_SECONDS.total, q.SUITE)})",
                                      "{{worker}}"), max_one=True, w=12),
        P.timeseries("Host CPU", "CPU utilisation of the rq-obs host.", "percentunit",
                     Q(M.HOST_CPU.name, "CPU"), max_one=True, w=6),
        P.stat("Host memory and disk", "Memory in use on the rq-obs host and disk used on the store's filesystem.",
               "bytes", Q(M.HOST_MEMORY_USED.name, "memory"), Q(M.HOST_DISK_USED.name, "disk"), w=6, h=8),
    ]
    cost = [
        P.timeseries("Token usage by model", "Tokens per second by model and type (input, output, cached).",
                     "suffix: tok/s", Q(f"sum by (model, token_type) ({q.rate(M.TOKENS.total, q.MODEL)})",
                                        "{{model}} {{token_type}}"), stack=True, w=8),
        P.timeseries("Cost rate", "API spend in USD per hour by model.", "currencyUSD",
                     Q(f"sum by (model) ({q.rate(M.COST.total, q.MODEL)}) * 3600", "{{model}}"), stack=True, w=8),
        P.timeseries("Cost anomalies", "z-score of today's cost per model against the previous 14 days; above 3 is "
                     "unusual.", "none", Q(q.sel(M.COST_ANOMALY.name, q.MODEL), "{{model}}"),
                     thresholds=P.ceiling(3, 2), show_thresholds=True, min_zero=False, w=8),
    ]
    up = q.sel(M.UP.name, JOBS)
    health = [
        P.stat("Targets up", "1 when Prometheus' last scrape of each stack component succeeded.", "none",
               Q(up, "{{job}}"), mappings=P.value_mappings({"1": ("UP", "green"), "0": ("DOWN", "red")}),
               thresholds=P.floor(1), w=8, h=6),
        P.timeseries("Scrape duration", "How long Prometheus' scrapes take per job, and the rq-obs exporter's time "
                     "per collector.", "s", Q(q.sel(M.SCRAPE_DURATION_PROM.name, JOBS), "{{job}}"),
                     Q(M.SCRAPE_DURATION.name, "rq-obs {{collector}}"), w=8, h=6),
        P.timeseries("Ingest rate", "Runs and release snapshots pushed to rq-obs serve per second by result "
                     "(stored, duplicate, rejected), and attempts received.", "reqps",
                     Q(f"sum by (result) ({q.rate(M.INGEST_RUNS.total)})", "runs {{result}}"),
                     Q(f"sum by (result) ({q.rate(M.INGEST_SNAPSHOTS.total)})", "snapshots {{result}}"),
                     Q(f"sum({q.rate(M.INGEST_ATTEMPTS.total)})", "attempts"), w=8, h=6),
        P.stat("Store size", "Size of the SQLite store file (with WAL).", "bytes", Q(M.STORE_SIZE.name, "store"),
               sparkline=True, w=4),
        P.stat("Last run ingested", "Time since the last run was stored; the no-runs alert fires after "
               f"{config.no_runs_hours} h.", "s", Q(f"time() - max({M.INGEST_LAST.name})", "ago"),
               thresholds=P.ceiling(config.no_runs_hours * 3600, config.no_runs_hours * 1800), w=4),
        P.stat("Exporter errors", "Collector failures (logged and skipped) and label values folded by cardinality "
               "caps in the selected time range.", "short",
               Q(f"sum(increase({M.SCRAPE_ERRORS.total}[$__range]))", "collector errors"),
               Q(f"sum(increase({M.CARDINALITY_CAPPED.total}[$__range]))", "capped labels"),
               thresholds=P.ceiling(1), w=4),
        P.timeseries("Collector spans", "Spans the OpenTelemetry Collector accepted and refused, and failed to "
                     "export, per second.", "short",
                     Q(f"sum({q.rate(M.OTELCOL_ACCEPTED_SPANS.total, COLLECTOR_JOB)})", "accepted"),
                     Q(f"sum({q.rate(M.OTELCOL_REFUSED_SPANS.total, COLLECTOR_JOB)})", "refused"),
                     Q(f"sum({q.rate(M.OTELCOL_SEND_FAILED.total, COLLECTOR_JOB)})", "export failed"), w=12),
        P.timeseries("Store rows", "Rows per store table.", "short", Q(M.STORE_ROWS.name, "{{table}}"), w=12),
    ]
    return Spec(
        name="sre",
        description="Operations for SREs: API retries, latency, 429 and 5xx rates, the request rate, errors and "
                    "latency of apps instrumented by rq-obs instrument apply, worker utilisation, token usage "
                    "and cost, and the health of rq-obs, Prometheus and the collector.",
        rows=[P.row("API health", *api), P.row("Instrumented apps", *_apps(config)), P.row("Workers and host", *workers),
              P.row("Tokens and cost", *cost), P.row("rq-obs and collector health", *health),
              P.row("Collector resources", *_collector())],
        variables=[query_var("suite", "Suite", M.TEST_RUNS.total, "suite"),
                   query_var("model", "Model", M.API_REQUESTS.total, "model")],
        time_from="now-24h",
    )

