"""The generated Prometheus rules under the real promtool: syntax, every recording rule's value, every alert
firing and not firing (with its ``for:`` timing and exact annotations).

The test input is built here from the catalogue (no metric name is written as a string) and written to a
promtool test file next to the rendered rules.
"""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.rules import prometheus
from rq_obs.rules.definitions import N, alerts, recording_rules
from tests.helpers.procs import PROMTOOL, need

CONFIG = Config()
ALERTS = {a.name: a for a in alerts(CONFIG)}


def s(name: str, **labels: str) -> str:
    """A series selector for promtool (``name{a="b"}``)."""
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{name}{{{inner}}}" if labels else name


def inp(name: str, values: str, **labels: str) -> dict:
    return {"series": s(name, **labels), "values": values}


def sample(name: str, value: float, **labels: str) -> dict:
    return {"labels": s(name, **labels), "value": value}


def expect(expr: str, at: str, *samples: dict) -> dict:
    return {"expr": expr, "eval_time": at, "exp_samples": list(samples)}


def fired(alertname: str, value: str, **labels: str) -> dict:
    """One expected firing alert with its annotations as promtool renders them."""
    alert = ALERTS[alertname]
    ann = prometheus.annotations(alert, CONFIG)

    def expand(text: str) -> str:
        text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], text)
        return re.sub(r"\{\{ (\$value \| \w+|printf \"%\.2f\" \$value) \}\}", value, text)

    return {"exp_labels": {"severity": alert.severity, **labels},
            "exp_annotations": {k: expand(v) for k, v in ann.items()}}


def rounded(expr: str) -> str:
    """``expr`` rounded to 4 decimals (exactly: round to an integer, then divide)."""
    return f"round({expr} * 10000) / 10000"


def alert_at(alertname: str, at: str, *exp: dict) -> dict:
    return {"eval_time": at, "alertname": alertname, "exp_alerts": list(exp)}


ATT, REQ = M.TEST_ATTEMPTS.total, M.API_REQUESTS.total
#: Rules are evaluated every 5 minutes in these tests (25 h of 1-minute evaluations would be slow); every
#: ``for:`` check below is placed with that grid in mind.
EVALUATION = "5m"


def _tests() -> list[dict]:
    day = "1500"  # 25 h of one-minute samples: every 1d window is fully covered
    t: list[dict] = []

    # --- pass rates (1h/1d/7d, per test) and the SLO alert -----------------------------------------
    att = lambda suite, outcome, values: inp(ATT, values, suite=suite, test="t1", outcome=outcome, variant="control")  # noqa: E731
    t.append({
        "interval": "1m",
        # every attempt in the per-test counter and in the histogram's count by suite and outcome (pass rates)
        "input_series": [
            x for suite, outcome, values in (
                ("bad", "passed", f"0+3x{day}"), ("bad", "failed", f"0+1x{day}"),
                ("bad", "skipped", f"0+5x{day}"),  # skips do not count
                ("good", "passed", f"0+7x{day}"), ("good", "error", f"0+1x{day}"))
            for x in (att(suite, outcome, values),
                      inp(M.TEST_ATTEMPT_DURATION.count, values, suite=suite, outcome=outcome))
        ],
        "promql_expr_test": [
            # rate() extrapolates both sides alike; rounding absorbs the last bit of float error
            *(expect(rounded(N.pass_rate[w]), "25h", sample("", 0.75, suite="bad"),
                     sample("", 0.875, suite="good")) for w in ("1h", "1d", "7d")),
            # failed + errored attempts per second over the last hour: 1 a minute in each suite
            expect(rounded(N.test_failures_top), "25h", sample("", 0.0167, suite="bad", test="t1"),
                   sample("", 0.0167, suite="good", test="t1")),
            # per-minute increments 3, 1, 5, 7, 1 -> attempts per second over 5m, by suite/variant/outcome
            expect(rounded(N.variant_outcome_rate), "25h",
                   *(sample("", round(n / 60, 4), suite=suite, variant="control", outcome=o)
                     for suite, o, n in (("bad", "failed", 1), ("bad", "passed", 3), ("bad", "skipped", 5),
                                         ("good", "error", 1), ("good", "passed", 7)))),
        ],
        "alert_rule_test": [
            alert_at("RqObsPassRateBelowSLO", "10m"),  # below the SLO since 5m: pending, for: 15m
            alert_at("RqObsPassRateBelowSLO", "25m", fired("RqObsPassRateBelowSLO", "75%", suite="bad")),
        ],
    })

    # --- uncertain band (the config's flaky_band 0.3-0.7, inclusive) -----------------------------------------------------
    pr = M.TEST_PASS_RATE.name
    t.append({
        "interval": "1m",
        "input_series": [inp(pr, "0.5x10", suite="s", test="a"), inp(pr, "0.95x10", suite="s", test="b"),
                         inp(pr, "0.3x10", suite="s", test="c"), inp(pr, "0.1x10", suite="s", test="d")],
        "promql_expr_test": [
            expect(N.uncertain_band, "5m", sample(N.uncertain_band, 0.5, suite="s", test="a"),
                   sample(N.uncertain_band, 0.3, suite="s", test="c")),
            expect(N.uncertain_band_count, "5m", sample(N.uncertain_band_count, 2, suite="s")),
            # all four are within the top_tests_max lowest of their suite
            expect(N.test_pass_rate_bottom, "5m",
                   *(sample(N.test_pass_rate_bottom, v, suite="s", test=k)
                     for k, v in (("a", 0.5), ("b", 0.95), ("c", 0.3), ("d", 0.1)))),
        ],
    })

    # --- per-test states counted, reruns ranked ----------------------------------------------------------
    st, rr, fr, hb = M.TEST_STATE.name, M.TEST_RETRIES.total, M.TEST_FLIP_RATE.name, M.TEST_ATTEMPT_DURATION.bucket
    t.append({
        "interval": "1m",
        "input_series": [inp(st, "1x70", suite="s", test="a", state="flaky"),
                         inp(st, "1x70", suite="s", test="b", state="healthy"),
                         inp(st, "1x70", suite="s", test="c", state="flaky"),
                         inp(st, "0x70", suite="s", test="d", state="broken"),  # 0: not its state
                         inp(rr, "0+2x70", suite="s", test="a"), inp(rr, "0x70", suite="s", test="b"),
                         inp(fr, "0.4x70", suite="s", test="a"), inp(fr, "0.1x70", suite="s", test="b"),
                         inp(fr, "0.2x70", suite="s", test="c"),
                         # per minute: 60 attempts within 1 s, 30 more within +Inf, in each of two outcomes
                         *(inp(hb, f"0+{n}x70", suite="s", outcome=o, le=le)
                           for o in ("passed", "failed") for le, n in (("1", 60), ("+Inf", 90)))],
        "promql_expr_test": [
            expect(N.state_count, "65m", sample(N.state_count, 2, suite="s", state="flaky"),
                   sample(N.state_count, 1, suite="s", state="healthy")),
            # flaky tests only (a, c), highest flip rate first
            expect(N.flaky_flip_top, "65m", sample(N.flaky_flip_top, 0.4, suite="s", test="a"),
                   sample(N.flaky_flip_top, 0.2, suite="s", test="c")),
            expect(N.attempt_duration_rate, "65m", sample(N.attempt_duration_rate, 2, suite="s", le="1"),
                   sample(N.attempt_duration_rate, 3, suite="s", le="+Inf")),
            # 2 reruns a minute; a test that was never rerun is not ranked
            expect(rounded(N.test_retries_top), "65m", sample("", 0.0333, suite="s", test="a")),
        ],
    })

    # --- API retries, 429, 5xx, latency ---------------------------------------------------------------
    def req(provider: str, klass: str, code: str, per_min: int) -> dict:
        return inp(REQ, f"0+{per_min}x60", provider=provider, model="m", status_class=klass, code=code)

    def retries(provider: str, per_min: int) -> dict:
        return inp(M.API_RETRIES.total, f"0+{per_min}x60", provider=provider, model="m", reason="429")

    bucket = M.API_REQUEST_DURATION.bucket
    t.append({
        "interval": "1m",
        "input_series": [
            req("openai", "2xx", "200", 96), req("openai", "4xx", "429", 16), req("openai", "5xx", "503", 16),
            retries("openai", 32),
            req("anthropic", "2xx", "200", 127), req("anthropic", "4xx", "429", 1),
            req("anthropic", "5xx", "500", 0), retries("anthropic", 8),
            *(inp(bucket, f"0+{n}x60", provider="openai", model="m", le=le)
              for le, n in (("0.25", 0), ("0.5", 10), ("1.0", 10), ("+Inf", 10))),
        ],
        "promql_expr_test": [
            expect(N.retry_ratio, "30m", sample(N.retry_ratio, 0.25, provider="openai"),
                   sample(N.retry_ratio, 0.0625, provider="anthropic")),
            expect(N.ratio_429, "30m", sample(N.ratio_429, 0.125, provider="openai"),
                   sample(N.ratio_429, 0.0078125, provider="anthropic")),
            expect(N.ratio_5xx, "30m", sample(N.ratio_5xx, 0.125, provider="openai"),
                   sample(N.ratio_5xx, 0, provider="anthropic")),
            # every request took between 0.25 s and 0.5 s: linear interpolation inside that bucket
            expect(N.latency[50], "30m", sample(N.latency[50], 0.375, provider="openai", model="m")),
            expect(rounded(N.latency[95]), "30m", sample("", 0.4875, provider="openai", model="m")),
            expect(rounded(N.latency[99]), "30m", sample("", 0.4975, provider="openai", model="m")),
        ],
        "alert_rule_test": [
            alert_at("RqObsApiRetryRateHigh", "8m"),  # for: 10m
            alert_at("RqObsApiRetryRateHigh", "30m", fired("RqObsApiRetryRateHigh", "0.25", provider="openai")),
            alert_at("RqObsApi429RateHigh", "8m"),
            alert_at("RqObsApi429RateHigh", "30m", fired("RqObsApi429RateHigh", "12.5%", provider="openai")),
            alert_at("RqObsApi5xxRateHigh", "8m"),
            alert_at("RqObsApi5xxRateHigh", "30m", fired("RqObsApi5xxRateHigh", "12.5%", provider="openai")),
        ],
    })

    # --- cost: $0.0625 a minute = $90 a day, 3.6 daily budgets of $25 -----------------------------------
    cost = M.COST.total
    t.append({
        "interval": "1m",
        "input_series": [inp(cost, f"0+0.0625x{day}", suite="s", provider="p", model="m"),
                         inp(M.COST_TODAY.name, f"0+0.0625x{day}")],  # the exporter's UTC-day gauge
        "promql_expr_test": [
            expect(N.cost_1d, "25h", sample(N.cost_1d, 90, suite="s")),
            expect(N.cost_rate_1h, "25h", sample(N.cost_rate_1h, 0.0625 / 60, suite="s")),
        ],
        "alert_rule_test": [
            alert_at("RqObsDailyCostOverBudget", "6h"),  # $22.50 so far
            alert_at("RqObsDailyCostOverBudget", "8h", fired("RqObsDailyCostOverBudget", "30.00")),
            # the 1h rate passes 2 budgets/day once 34 minutes of spend are in the window; for: 15m
            alert_at("RqObsBudgetBurnRateHigh", "20m"),
            alert_at("RqObsBudgetBurnRateHigh", "45m"),
            alert_at("RqObsBudgetBurnRateHigh", "60m", fired("RqObsBudgetBurnRateHigh", "3.60")),
        ],
    })
    t.append({  # $1.44 a day: neither cost alert
        "interval": "1m",
        "input_series": [inp(cost, f"0+0.001x{day}", suite="s", provider="p", model="m"),
                         inp(M.COST_TODAY.name, f"0+0.001x{day}")],
        "alert_rule_test": [alert_at("RqObsDailyCostOverBudget", "25h"), alert_at("RqObsBudgetBurnRateHigh", "25h")],
    })

    # --- releases: quality gate, drop vs previous, performance regressions --------------------------------
    ts, qs, slow = M.RELEASE_TIMESTAMP.name, M.QUALITY_SCORE.name, M.REGRESSION_RATIO.name

    def releases(*scores: float) -> list[dict]:
        return [x for i, score in enumerate(scores, 1) for x in (
            inp(ts, f"{i * 1000}x30", release=f"r{i}"), inp(qs, f"{score}x30", release=f"r{i}"))]

    t.append({
        "interval": "1m",
        "input_series": [
            *releases(90, 88, 75),
            inp(slow, "0.25x30", release="r3", operation="op1", severity="major"),
            inp(slow, "0.03x30", release="r3", operation="op2", severity="minor"),
            inp(slow, "0.5x30", release="r2", operation="op3", severity="critical"),  # an older release
        ],
        "promql_expr_test": [
            expect(N.quality_latest, "10m", sample(N.quality_latest, 75, release="r3")),
            expect(N.quality_previous, "10m", sample(N.quality_previous, 88, release="r2")),
            expect(N.quality_delta, "10m", sample(N.quality_delta, -13, release="r3")),
            expect(N.slowdown_latest, "10m", sample(N.slowdown_latest, 0.25, release="r3", operation="op1"),
                   sample(N.slowdown_latest, 0.03, release="r3", operation="op2")),
        ],
        "alert_rule_test": [
            alert_at("RqObsQualityScoreBelowGate", "4m"),  # for: 5m
            alert_at("RqObsQualityScoreBelowGate", "10m", fired("RqObsQualityScoreBelowGate", "75", release="r3")),
            alert_at("RqObsQualityScoreDropped", "10m", fired("RqObsQualityScoreDropped", "-13", release="r3")),
            alert_at("RqObsPerformanceRegression", "4m"),
            alert_at("RqObsPerformanceRegression", "10m",
                     fired("RqObsPerformanceRegression", "25%", release="r3", operation="op1")),
        ],
    })
    t.append({  # a good newest release, better than the previous one, no regressions
        "interval": "1m",
        "input_series": [*releases(70, 85, 86)],
        "alert_rule_test": [alert_at("RqObsQualityScoreBelowGate", "10m"), alert_at("RqObsQualityScoreDropped", "10m"),
                            alert_at("RqObsPerformanceRegression", "10m")],
    })

    # --- flaky tests rising: 2 -> 5 flaky tests in suite s after a day; suite t stays at 3 ----------------
    flaky = M.FLAKY_TESTS.name
    t.append({
        "interval": "1m",
        "input_series": [inp(flaky, "2x1440 5x120", suite="s"), inp(flaky, "3x1560", suite="t")],
        "alert_rule_test": [
            alert_at("RqObsFlakyTestsRising", "1450m"),  # risen at 1441m (seen at 1445m): pending, for: 30m
            alert_at("RqObsFlakyTestsRising", "1500m", fired("RqObsFlakyTestsRising", "3", suite="s")),
        ],
    })

    # --- instrumented apps: failed-request ratio per scrape target, target down ----------------------------
    def app_req(instance: str, route: str, code: str, error: str, per_min: int) -> dict:
        return inp(M.HTTP_SERVER_DURATION.count, f"0+{per_min}x40", job="apps", instance=instance,
                   http_request_method="GET", http_route=route, http_response_status_code=code, error_type=error)

    t.append({
        "interval": "1m",
        "input_series": [
            # shop: 10 of 100 requests a minute fail (an exception, a 503); its 404s are not failures
            app_req("shop:8000", "/items/{item_id}", "200", "", 80), app_req("shop:8000", "/items/{item_id}", "404", "", 10),
            app_req("shop:8000", "/boom", "500", "ZeroDivisionError", 6), app_req("shop:8000", "/pay", "503", "503", 4),
            # api: 1 of 100
            app_req("api:9000", "/v1/x", "200", "", 99), app_req("api:9000", "/v1/x", "500", "500", 1),
            inp(M.UP.name, "1x10 0x30", job="apps", instance="shop:8000"),
            inp(M.UP.name, "1x40", job="apps", instance="api:9000"),
            inp(M.UP.name, "0x40", job="rq-obs", instance="rq-obs:9464"),  # another job: not this alert
        ],
        "promql_expr_test": [
            expect(rounded(N.app_error_ratio), "30m", sample("", 0.1, job="apps", instance="shop:8000"),
                   sample("", 0.01, job="apps", instance="api:9000")),
        ],
        "alert_rule_test": [
            alert_at("RqObsAppErrorRatioHigh", "8m"),  # for: 10m
            alert_at("RqObsAppErrorRatioHigh", "30m",
                     fired("RqObsAppErrorRatioHigh", "10%", job="apps", instance="shop:8000")),
            alert_at("RqObsAppTargetDown", "9m"),
            alert_at("RqObsAppTargetDown", "14m"),  # down since 11m (seen at 15m): pending, for: 5m
            alert_at("RqObsAppTargetDown", "25m", fired("RqObsAppTargetDown", "0", job="apps", instance="shop:8000")),
        ],
    })

    # --- exporter down, scrape failing, no runs ingested ------------------------------------------------
    up = M.UP.name
    errors = M.SCRAPE_ERRORS.total
    last = M.INGEST_LAST.name
    t.append({
        "interval": "1m",
        "input_series": [
            inp(up, "1x10 0x20", job="rq-obs", instance="rq-obs:9464"),
            inp(up, "0x30", job="otelcol", instance="otel-collector:8888"),  # another job: not this alert
            inp(errors, "0x5 1+1x30", collector="release"), inp(errors, "0x35", collector="store"),
        ],
        "alert_rule_test": [
            alert_at("RqObsExporterDown", "9m"),
            alert_at("RqObsExporterDown", "14m"),  # down since 11m (seen at 15m): pending, for: 5m
            alert_at("RqObsExporterDown", "25m",
                     fired("RqObsExporterDown", "0", job="rq-obs", instance="rq-obs:9464")),
            alert_at("RqObsScrapeFailing", "12m"),  # failing since 6m (seen at 10m): pending, for: 10m
            alert_at("RqObsScrapeFailing", "30m", fired("RqObsScrapeFailing", "10", collector="release")),
        ],
    })
    t.append({  # no rq-obs target at all (scrape job missing): absent() fires
        "interval": "1m",
        "input_series": [inp(up, "1x30", job="otelcol", instance="otel-collector:8888")],
        "alert_rule_test": [
            alert_at("RqObsExporterDown", "3m"),
            alert_at("RqObsExporterDown", "10m", fired("RqObsExporterDown", "1", job="rq-obs")),
        ],
    })
    t.append({
        "interval": "1m",
        "input_series": [inp(last, "0x1500")],
        "alert_rule_test": [
            alert_at("RqObsNoRunsIngested", "1445m"),  # 24 h passed at 1440m; for: 10m
            alert_at("RqObsNoRunsIngested", "1460m", fired("RqObsNoRunsIngested", "1d 0h 20m 0s")),
        ],
    })
    t.append({  # runs keep arriving: the last one is always a minute old at most
        "interval": "1m",
        "input_series": [inp(last, "0+60x1500")],
        "alert_rule_test": [alert_at("RqObsNoRunsIngested", "1460m")],
    })

    # --- collector export failing: the trace exporter gives up on spans from 5m; Jaeger's own job is not it ---
    failed = M.OTELCOL_SEND_FAILED.total
    t.append({
        "interval": "1m",
        "input_series": [inp(failed, "0x5 6+6x30", job="otelcol", exporter="otlp/tempo"),
                         inp(failed, "0+6x35", job="jaeger", exporter="otlp/tempo")],
        "alert_rule_test": [
            alert_at("RqObsCollectorExportFailing", "5m"),  # nothing failed yet (Jaeger's failures are not ours)
            alert_at("RqObsCollectorExportFailing", "12m"),  # failing since 6m: pending, for: 10m
            alert_at("RqObsCollectorExportFailing", "25m",
                     fired("RqObsCollectorExportFailing", "60", exporter="otlp/tempo")),
        ],
    })
    # --- quarantine: 10 entries held, 11 from 61m (threshold 10); an entry expires at 31m ------------------
    entries = M.QUARANTINE_ENTRIES.name
    t.append({
        "interval": "1m",
        "input_series": [inp(entries, "8x60 9x120", kind="active"), inp(entries, "2x180", kind="expiring"),
                         inp(entries, "0x30 1x150", kind="expired")],
        "alert_rule_test": [
            alert_at("RqObsQuarantineTooLarge", "55m"),  # 10: not above the threshold
            alert_at("RqObsQuarantineTooLarge", "100m"),  # 11 since 61m (seen at 65m): pending, for: 1h
            alert_at("RqObsQuarantineTooLarge", "130m", fired("RqObsQuarantineTooLarge", "11")),
            alert_at("RqObsQuarantineEntryExpired", "30m"),
            alert_at("RqObsQuarantineEntryExpired", "40m", fired("RqObsQuarantineEntryExpired", "1")),
        ],
    })
    return t


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("rules")
    for rel, text in prometheus.render(CONFIG).items():
        (d / rel.split("/")[-1]).write_text(text)
    return d


def _promtool(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([need(PROMTOOL, "prometheus"), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_promtool_check_rules(rules_dir):
    files = sorted(p.name for p in rules_dir.iterdir())
    res = _promtool("check", "rules", *files, cwd=rules_dir)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"SUCCESS: {len(recording_rules(CONFIG))} rules found" in res.stdout
    assert f"SUCCESS: {len(ALERTS)} rules found" in res.stdout


def test_promtool_unit_tests(rules_dir):
    files = [p.rsplit("/", 1)[-1] for p in (prometheus.RECORDING_PATH, prometheus.ALERTS_PATH)]
    groups = [g["name"] for f in files for g in yaml.safe_load((rules_dir / f).read_text())["groups"]]
    assert groups == ["rq-obs.recording", "rq-obs.alerts"]
    # recording rules first at each evaluation time: without an order promtool picks one at random (a Go map),
    # and an alert evaluated before the recording rule it reads sees the previous step's value (a flake)
    doc = {"rule_files": files, "evaluation_interval": EVALUATION, "group_eval_order": groups, "tests": _tests()}
    (rules_dir / "tests.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    res = _promtool("test", "rules", "tests.yml", cwd=rules_dir)
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_rule_is_covered_by_the_unit_tests():
    tests = _tests()
    checked = " ".join(e["expr"] for t in tests for e in t.get("promql_expr_test", []))
    missing = [r.record for r in recording_rules(CONFIG) if not re.search(re.escape(r.record) + r"\b", checked)]
    assert missing == [], f"recording rules without a value check: {missing}"
    cases = [(a["alertname"], bool(a["exp_alerts"])) for t in tests for a in t.get("alert_rule_test", [])]
    for name in ALERTS:
        assert (name, True) in cases, f"{name} is never tested firing"
        assert (name, False) in cases, f"{name} is never tested not firing"
