"""End to end: an app instrumented by `rq-obs instrument apply`, served over HTTP, scraped by a real
Prometheus through the generated prometheus.yml's `apps` job (``app_targets``), with the generated
recording rules and alerts; then every query of the SRE dashboard's "Instrumented apps" row.

The app is a Flask app served by werkzeug in its own process with ``RQ_OBS_PROFILE=1``. Requests come
in two phases: one of each kind before Prometheus starts (so every series exists from the first scrape
on), then the measured ones. Rates over a window holding every sample scale each series' increase by
the same factor, so ratios and quantiles are exact: 2 failed of 12 requests, and quantiles inside the
one bucket a known share of the requests fell into (/slow sleeps 300 ms: (0.25 s, 0.5 s]; the @profiled
function burns 20 ms of CPU: (10 ms, 50 ms]; it allocates 5 MiB: (4 MiB, 16 MiB]).
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import yaml

from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.dashboards import render_all
from rq_obs.rules import prometheus as prom_rules
from rq_obs.rules.definitions import N
from rq_obs.stack import prometheus as stack_prom
from tests.helpers.cli import run_cli
from tests.helpers.procs import Prometheus, free_port, http_get, python_env, wait_until

pytestmark = pytest.mark.e2e

APP = '''\
import time

from flask import Flask, abort, jsonify

app = Flask(__name__)


def crunch(size):
    block = bytearray(size)
    start = time.thread_time()
    while time.thread_time() - start < 0.02:
        pass
    return len(block)


@app.route("/notes/<int:note_id>")
def note(note_id):
    if note_id == 0:
        abort(404)
    return jsonify(id=note_id)


@app.route("/notes", methods=["POST"])
def add_note():
    return jsonify(ok=True), 201


@app.route("/slow")
def slow():
    time.sleep(0.3)
    return jsonify()


@app.route("/boom")
def boom():
    return str(1 / 0)


@app.route("/report")
def report():
    return jsonify(size=crunch(5 * 1024 * 1024))
'''

SERVE = ("import sys; sys.path.insert(0, '.'); import notes; from werkzeug.serving import make_server; "
         "make_server('127.0.0.1', int(sys.argv[1]), notes.app, threaded=True).serve_forever()")

MIB = 1024 * 1024


def request(base: str, method: str, path: str) -> int:
    req = urllib.request.Request(base + path, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def app(tmp_path):
    root = tmp_path / "notes"
    root.mkdir()
    (root / "notes.py").write_text(APP)
    r = run_cli("instrument", "apply", str(root), "--profile", "crunch")
    assert r.code == 0, r.err
    port = free_port()
    log = open(tmp_path / "app.log", "wb")
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], cwd=root, stdout=log, stderr=subprocess.STDOUT,
                            env=python_env({"RQ_OBS_PROFILE": "1", "OTEL_SERVICE_NAME": "",
                                            "OTEL_EXPORTER_OTLP_ENDPOINT": ""}))
    base = f"http://127.0.0.1:{port}"

    def health():
        if proc.poll() is not None:  # fail now, not after the wait (wait_until retries assertions)
            pytest.fail(f"the app exited: {(tmp_path / 'app.log').read_text()[-3000:]}")
        try:
            return http_get(base + "/health")[0] == 200
        except OSError:
            return False

    try:
        wait_until(health, 60, what="the instrumented app answering /health")
        yield base, f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def prometheus_yaml(config: Config, rules_dir) -> str:
    """The generated prometheus.yml with only the apps job (nothing else runs here) and the generated rules,
    alerts with ``for: 0s``."""
    doc = stack_prom.document(config)
    doc["scrape_configs"] = [j for j in doc["scrape_configs"] if j["job_name"] == stack_prom.APP_JOB]
    doc.pop("alerting", None)
    rules_dir.mkdir()
    (rules_dir / "recording.yml").write_text(prom_rules.render(config)[prom_rules.RECORDING_PATH])
    (rules_dir / "alerts.yml").write_text(yaml.safe_dump(prom_rules.alerts_document(config, for_override="0s")))
    doc["rule_files"] = [str(rules_dir / "recording.yml"), str(rules_dir / "alerts.yml")]
    return yaml.safe_dump(doc, sort_keys=True)


def app_panels(config: Config) -> dict[str, list[str]]:
    """Title -> queries of the SRE dashboard's "Instrumented apps" row, with Grafana's variables filled in."""
    panels = render_all(config)["sre"]["panels"]
    start = next(i for i, p in enumerate(panels) if p["type"] == "row" and p["title"] == "Instrumented apps")
    end = next(i for i, p in enumerate(panels) if i > start and p["type"] == "row")
    # a window holding every sample of this test: every series' increase is scaled alike
    return {p["title"]: [re.sub(r"\$__rate_interval", "5m", t["expr"]) for t in p["targets"]]
            for p in panels[start + 1:end]}


def second_phase(prom, base: str, requests: list[tuple[str, str]], statuses: list[int], total: int) -> None:
    """Send the measured requests, then wait until Prometheus counted ``total`` and holds 10 samples of each
    series (from then on every rate in a window holding every sample carries the same factor)."""
    count = M.HTTP_SERVER_DURATION.count
    assert [request(base, m, p) for m, p in requests] == statuses
    wait_until(lambda: prom.value(f"sum({count})") == total, 60, what="the second phase scraped")
    wait_until(lambda: prom.value(f"min(count_over_time({count}[5m]))") >= 10, 60, what="10 samples per series")


def panels_now(prom, config: Config) -> dict[str, list]:
    """Title -> results of the "Instrumented apps" row's queries, all at one instant as Grafana draws them."""
    at = time.time()
    return {title: [prom.query(e, time=at) for e in exprs] for title, exprs in app_panels(config).items()}


def by(result: list[dict], *labels: str) -> dict:
    return {tuple(r["metric"].get(l, "") for l in labels): float(r["value"][1]) for r in result}


def test_generated_apps_job_scrapes_the_app_and_every_app_panel_has_its_figures(app, tmp_path):
    base, instance = app
    phase1 = [("GET", "/notes/1"), ("GET", "/notes/0"), ("GET", "/nope"), ("POST", "/notes"), ("GET", "/boom"),
              ("GET", "/slow"), ("GET", "/report")]
    assert [request(base, m, p) for m, p in phase1] == [200, 404, 404, 201, 500, 200, 200]

    config = dataclasses.replace(Config(), app_targets=[instance], scrape_interval="1s", evaluation_interval="1s")
    count = M.HTTP_SERVER_DURATION.count
    with Prometheus(tmp_path, prometheus_yaml(config, tmp_path / "rules")) as prom:
        wait_until(lambda: prom.value(f"sum({count})") == 7, 60, what="Prometheus scraping the app (job apps)")
        phase2 = [("GET", "/notes/1")] * 6 + [("GET", "/boom")] * 2 + [("GET", "/slow")] * 2 + [("GET", "/report")] * 2
        assert [request(base, m, p) for m, p in phase2] == [200] * 6 + [500] * 2 + [200] * 4
        wait_until(lambda: prom.value(f"sum({count})") == 19, 60, what="Prometheus scraping the second phase")
        wait_until(lambda: prom.value(f"sum({M.APP_FUNCTION_CPU.count})") == 3, 30, what="the profiled calls")
        # rate() extrapolates a series towards the window start by at most the time its counter needs to reach 0
        # (first value / increase x the sampled span), and by half a scrape interval once that is longer than
        # 1.1 intervals: with 10 samples every series here (increase <= 6 x the first value) is past that point,
        # so every rate carries the same factor and ratios are exact
        wait_until(lambda: prom.value(f"min(count_over_time({count}[5m]))") >= 10, 60, what="10 samples per series")

        # the counts as the app published them, per route, status code and error type (scrape labels added)
        raw = prom.query(count)
        assert {r["metric"]["job"] for r in raw} == {"apps"} and {r["metric"]["instance"] for r in raw} == {instance}
        assert by(raw, "http_request_method", "http_route", "http_response_status_code", "error_type") == {
            ("GET", "/notes/<int:note_id>", "200", ""): 7, ("GET", "/notes/<int:note_id>", "404", ""): 1,
            ("GET", "", "404", ""): 1, ("POST", "/notes", "201", ""): 1,
            ("GET", "/boom", "500", "ZeroDivisionError"): 3, ("GET", "/slow", "200", ""): 3,
            ("GET", "/report", "200", ""): 3}

        # the recording rule and the alert over it: 2 of the 12 requests since the first scrape failed
        seen = []

        def rule_final():  # evaluations before the 10th sample may still differ
            seen.append(by(prom.query(N.app_error_ratio), "job", "instance"))
            return seen[-1] == {("apps", instance): pytest.approx(2 / 12, rel=1e-9)}

        try:
            wait_until(rule_final, 30, interval=0.5, what="the error-ratio rule at 2/12")
        except AssertionError:
            pytest.fail(f"{N.app_error_ratio}: last value {seen[-1]}, expected 2/12")
        firing = wait_until(lambda: prom.query('ALERTS{alertname="RqObsAppErrorRatioHigh",alertstate="firing"}'), 30,
                            what="RqObsAppErrorRatioHigh firing")
        assert [(a["metric"]["job"], a["metric"]["instance"], a["metric"]["severity"]) for a in firing] == [
            ("apps", instance, "critical")]
        assert prom.query('ALERTS{alertname="RqObsAppTargetDown"}') == []

        panels = app_panels(config)
        at = time.time()  # every panel at one instant, as Grafana draws them
        q = {title: [prom.query(e, time=at) for e in exprs] for title, exprs in panels.items()}
        assert sorted(q) == ["App error ratio", "App errors by route", "App in-flight requests",
                             "App latency percentiles", "App p95 latency by route", "App request rate",
                             "App responses by status code", "App targets up", "Function time p95",
                             "Peak memory per call p95"]

        rate = by(q["App request rate"][0], "instance", "http_request_method", "http_route")
        assert set(rate) == {(instance, "GET", "/notes/<int:note_id>"), (instance, "GET", ""), (instance, "POST", "/notes"),
                             (instance, "GET", "/boom"), (instance, "GET", "/slow"), (instance, "GET", "/report")}
        one = rate[(instance, "GET", "/boom")] / 2  # the rate of one request in the window
        assert {k: round(v / one, 9) for k, v in rate.items()} == {
            (instance, "GET", "/notes/<int:note_id>"): 6, (instance, "GET", ""): 0, (instance, "POST", "/notes"): 0,
            (instance, "GET", "/boom"): 2, (instance, "GET", "/slow"): 2, (instance, "GET", "/report"): 2}

        ratio, recorded = q["App error ratio"]
        assert by(ratio, "instance") == {(instance,): pytest.approx(2 / 12, rel=1e-9)}
        assert by(recorded, "instance") == {(instance,): pytest.approx(2 / 12, rel=1e-9)}

        errors = by(q["App errors by route"][0], "http_route", "http_response_status_code", "error_type")
        assert list(errors) == [("/boom", "500", "ZeroDivisionError")] and errors[list(errors)[0]] == pytest.approx(2 * one)
        codes = by(q["App responses by status code"][0], "http_response_status_code")
        assert {k: round(v / one, 9) for k, v in codes.items()} == {("200",): 10, ("201",): 0, ("404",): 0, ("500",): 2}

        # 12 requests: 10 fast (< 250 ms), 2 in (0.25, 0.5]: p95 and p99 interpolate inside that bucket
        p50, p95, p99 = (by(r, "instance")[(instance,)] for r in q["App latency percentiles"])
        assert p50 <= 0.25
        assert p95 == pytest.approx(0.25 + 0.25 * (0.95 * 12 - 10) / 2, rel=1e-9)
        assert p99 == pytest.approx(0.25 + 0.25 * (0.99 * 12 - 10) / 2, rel=1e-9)
        per_route = by(q["App p95 latency by route"][0], "instance", "http_route")
        assert per_route[(instance, "/slow")] == pytest.approx(0.25 + 0.25 * 0.95, rel=1e-9)
        assert all(v <= 0.25 for k, v in per_route.items() if k[1] != "/slow" and v == v)  # NaN: no requests

        assert by(q["App targets up"][0], "instance") == {(instance,): 1.0}
        assert by(q["App in-flight requests"][0], "instance") == {(instance,): 0.0}
        wall, cpu = q["Function time p95"]
        assert wall == []  # crunch is profiled, not traced
        assert by(cpu, "function") == {("crunch",): pytest.approx(0.01 + 0.04 * 0.95, rel=1e-9)}
        assert by(q["Peak memory per call p95"][0], "function") == {
            ("crunch",): pytest.approx(4 * MIB + 12 * MIB * 0.95, rel=1e-9)}
