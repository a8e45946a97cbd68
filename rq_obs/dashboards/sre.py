"""SRE operations: API health (retries, latency, 429/5xx), workers, tokens and cost, rq-obs and collector health."""

from __future__ import annotations

from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.dashboards import panels as P
from rq_obs.dashboards import queries as q
from rq_obs.dashboards.defaults import Spec, query_var
from rq_obs.dashboards.panels import Q
from rq_obs.rules.definitions import EXPORTER_JOB, FIVE_XX, N

#: Scrape jobs of the generated stack whose health the SRE dashboard shows.
JOBS = f'job=~"{EXPORTER_JOB}|spanmetrics|otelcol|prometheus|tempo"'
CODE_429 = 'code="429"'



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
        P.timeseries("Ingest rate", "Runs pushed to rq-obs serve per second by result (stored, duplicate, rejected) "
                     "and attempts received.", "reqps", Q(f"sum by (result) ({q.rate(M.INGEST_RUNS.total)})",
                                                          "runs {{result}}"),
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
                     Q(f"sum({q.rate(M.OTELCOL_ACCEPTED_SPANS.total)})", "accepted"),
                     Q(f"sum({q.rate(M.OTELCOL_REFUSED_SPANS.total)})", "refused"),
                     Q(f"sum({q.rate(M.OTELCOL_SEND_FAILED.total)})", "export failed"), w=12),
        P.timeseries("Store rows", "Rows per store table.", "short", Q(M.STORE_ROWS.name, "{{table}}"), w=12),
    ]
    return Spec(
        name="sre",
        description="Operations for SREs: API retries, latency, 429 and 5xx rates, worker utilisation, token usage "
                    "and cost, and the health of rq-obs, Prometheus and the collector.",
        rows=[P.row("API health", *api), P.row("Workers and host", *workers), P.row("Tokens and cost", *cost),
              P.row("rq-obs and collector health", *health)],
        variables=[query_var("suite", "Suite", M.TEST_RUNS.total, "suite"),
                   query_var("model", "Model", M.API_REQUESTS.total, "model")],
        time_from="now-24h",
    )

