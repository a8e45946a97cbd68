"""End to end: an Express service instrumented by `rq-obs instrument apply`, its dependencies installed from
the npm registry at the pinned versions, started with its own `npm start`, sent traffic (a mounted route,
404s, thrown and rejected errors, a slow route), scraped by a real Prometheus through the generated
`apps` job with the generated rules, and every panel of the SRE dashboard's "Instrumented apps" row
queried; its spans (OTLP/HTTP, the OpenTelemetry Node SDK) are decoded with the official protobuf classes.

The panel arithmetic is the same as for the Python app (tests/e2e/test_app_scrape.py): every request of
the first phase exists before the first scrape, so rates over a window holding every sample are exact.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest

from rq_obs.catalog import M
from rq_obs.config import Config
from tests.e2e.test_app_scrape import by, panels_now, prometheus_yaml, request, second_phase
from tests.helpers.apps import committed_copy
from tests.helpers.cli import run_cli
from tests.helpers.procs import Prometheus, free_port, http_get, need_tool, wait_until
from tests.e2e.conftest import jaeger_server_spans
from tests.telemetry.test_otlp import Receiver


pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The fixture app, instrumented, with `npm install` done (once for the module)."""
    npm = need_tool("npm", "install Node.js and npm (Debian: nodejs npm)")
    root = committed_copy("express-notes", tmp_path_factory.mktemp("node") / "notes-api")
    r = run_cli("instrument", "apply", str(root))
    assert r.code == 0, r.err
    cp = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], cwd=root,
                        capture_output=True, text=True, timeout=600)
    assert cp.returncode == 0, cp.stderr[-2000:]
    for name, version in json_dependencies(root).items():  # what npm installed is what apply pinned
        installed_version = json_version(root / "node_modules" / name / "package.json")
        assert installed_version == version, (name, installed_version, version)
    return root


def json_dependencies(root: Path) -> dict:
    import json

    return json.loads((root / "package.json").read_text())["dependencies"]


def json_version(path: Path) -> str:
    import json

    return json.loads(path.read_text())["version"]


class App:
    def __init__(self, root: Path, log: Path, env: dict):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.instance = f"127.0.0.1:{self.port}"
        self.log = log
        npm = need_tool("npm", "install Node.js and npm")
        full = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "RQ_OBS_"))}
        full.update(env, PORT=str(self.port))
        self._out = open(log, "wb")
        # npm start runs `node --require ./rq-obs-instrumentation.cjs server.js`; exec keeps one process to stop
        self.proc = subprocess.Popen([npm, "start", "--silent"], cwd=root, env=full, stdout=self._out,
                                     stderr=subprocess.STDOUT, start_new_session=True)

        def health():
            if self.proc.poll() is not None:  # fail now, not after the wait (wait_until retries assertions)
                pytest.fail(f"the app exited: {log.read_text()[-3000:]}")
            try:
                return http_get(self.base + "/health")[0] == 200
            except OSError:
                return False

        wait_until(health, 60, what="the instrumented Express app answering /health")

    def stop(self) -> None:
        os.killpg(self.proc.pid, 15)
        self.proc.wait(timeout=30)
        self._out.close()


def test_express_app_serves_metrics_to_prometheus_and_spans_to_the_collector(installed, tmp_path, trace_backend):
    collector, jaeger = trace_backend
    app = App(installed, tmp_path / "app.log", {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlp_http,
                                                "OTEL_SERVICE_NAME": "notes-api"})
    try:
        base, instance = app.base, app.instance
        status, body = http_get(base + "/ready")
        assert (status, body) == (200, b'{"status":"ready","service":"notes-api"}')
        phase1 = [("GET", "/api/notes/1"), ("GET", "/api/notes/0"), ("GET", "/nope"), ("POST", "/api/notes"),
                  ("GET", "/boom"), ("GET", "/async-boom"), ("GET", "/slow")]
        assert [request(base, m, p) for m, p in phase1] == [200, 404, 404, 201, 500, 500, 200]

        config = dataclasses.replace(Config(), app_targets=[instance], scrape_interval="1s",
                                     evaluation_interval="1s")
        count = M.HTTP_SERVER_DURATION.count
        with Prometheus(tmp_path, prometheus_yaml(config, tmp_path / "rules")) as prom:
            wait_until(lambda: prom.value(f"sum({count})") == 7, 60, what="Prometheus scraping the Node app",
                       describe=lambda: (prom.query(count), http_get(prom.url + "/api/v1/targets")[1][:800], (tmp_path / "app.log").read_text()[-1500:]))
            phase2 = [("GET", "/api/notes/1")] * 6 + [("GET", "/boom")] * 2 + [("GET", "/slow")] * 2
            second_phase(prom, base, phase2, [200] * 6 + [500] * 2 + [200] * 2, 17)

            raw = prom.query(count)
            assert {r["metric"]["job"] for r in raw} == {"apps"}
            assert by(raw, "http_request_method", "http_route", "http_response_status_code", "error_type") == {
                ("GET", "/api/notes/:id", "200", ""): 7, ("GET", "/api/notes/:id", "404", ""): 1,
                ("GET", "", "404", ""): 1, ("POST", "/api/notes", "201", ""): 1,
                ("GET", "/boom", "500", "TypeError"): 3, ("GET", "/async-boom", "500", "RangeError"): 1,
                ("GET", "/slow", "200", ""): 3}

            q = panels_now(prom, config)
            rate = by(q["App request rate"][0], "instance", "http_request_method", "http_route")
            one = rate[(instance, "GET", "/boom")] / 2
            assert {k: round(v / one, 9) for k, v in rate.items()} == {
                (instance, "GET", "/api/notes/:id"): 6, (instance, "GET", ""): 0,
                (instance, "POST", "/api/notes"): 0, (instance, "GET", "/boom"): 2,
                (instance, "GET", "/async-boom"): 0, (instance, "GET", "/slow"): 2}
            ratio, recorded = q["App error ratio"]
            assert by(ratio, "instance") == {(instance,): pytest.approx(2 / 10, rel=1e-9)}
            errors = by(q["App errors by route"][0], "http_route", "http_response_status_code", "error_type")
            assert errors == {("/boom", "500", "TypeError"): pytest.approx(2 * one),
                              ("/async-boom", "500", "RangeError"): 0.0}
            per_route = by(q["App p95 latency by route"][0], "instance", "http_route")
            assert per_route[(instance, "/slow")] == pytest.approx(0.25 + 0.25 * 0.95, rel=1e-9)
            assert by(q["App targets up"][0], "instance") == {(instance,): 1.0}
            assert by(q["App in-flight requests"][0], "instance") == {(instance,): 0.0}
            empty = sorted(t for t, results in q.items() if not any(results))
            # the function panels read @traced/@profiled Python functions, which a Node app has none of
            assert empty == ["Function time p95", "Peak memory per call p95"]

        # spans, through the real collector into Jaeger: one SERVER span per request (probes excluded), with
        # the route template the Express instrumentation found; 5xx are errors
        wait_until(lambda: len(jaeger_server_spans(jaeger, "notes-api")) == 17, 60,
                   what="17 server spans of notes-api in Jaeger",
                   describe=lambda: jaeger_server_spans(jaeger, "notes-api"))
        spans = jaeger_server_spans(jaeger, "notes-api")
        routes = sorted((s.get("http.route", ""), bool(s.get("error"))) for s in spans)
        assert routes.count(("/api/notes/:id", False)) == 8 and routes.count(("/boom", True)) == 3
        assert routes.count(("/async-boom", True)) == 1 and routes.count(("/slow", False)) == 3
        assert not any(p in str(s.get("url.path", "")) for s in spans for p in ("/health", "/ready", "/metrics"))
    finally:
        app.stop()


def test_sampling_rate_zero_keeps_metrics_and_sends_no_spans(installed, tmp_path):
    with Receiver() as receiver:
        app = App(installed, tmp_path / "app.log", {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
                                                    "RQ_OBS_SAMPLING_RATE": "0"})
        try:
            assert [request(app.base, "GET", "/api/notes/2") for _ in range(5)] == [200] * 5
            status, body = http_get(app.base + "/metrics")
            line = next(l for l in body.decode().splitlines()
                        if l.startswith(M.HTTP_SERVER_DURATION.count) and 'http_route="/api/notes/:id"' in l)
            assert line.endswith(" 5")
        finally:
            app.stop()  # SIGTERM shuts the SDK down, which flushes anything it had
        assert receiver.spans() == []
