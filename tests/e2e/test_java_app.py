"""End to end: a Spring Boot service (Maven) instrumented by `rq-obs instrument apply`, built with `mvn package`
(dependencies and the OpenTelemetry Java agent from Maven Central), started with the generated
`rq-obs-run.sh`, sent traffic (a mapped prefix, 404s, a thrown exception, a slow route), scraped by a real
Prometheus through the generated `apps` job, every query of the SRE dashboard's "Instrumented apps" row
answered with its figures, and the agent's spans decoded with the official OTLP protobuf classes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

import pytest

from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.instrument import java
from tests.e2e.test_app_scrape import by, panels_now, prometheus_yaml, request, second_phase
from tests.helpers.apps import committed_copy, git
from tests.helpers.cli import run_cli
from tests.helpers.procs import Prometheus, free_port, http_get, need_tool, wait_until
from tests.e2e.conftest import jaeger_server_spans


pytestmark = pytest.mark.e2e

@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    mvn = need_tool("mvn", "install Maven and a JDK 17+ (Debian: maven openjdk-17-jdk-headless)")
    root = committed_copy("spring-notes", tmp_path_factory.mktemp("java") / "notes")
    r = run_cli("instrument", "apply", str(root))
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        "created  rq-obs-instrumentation.json", "updated  pom.xml", "created  src/main/resources/application.properties",
        f"created  src/main/java/com/example/notes/{java.CLASS_NAME}.java", f"created  {java.RUN_SCRIPT}"]
    git(root, "add", "-A")
    git(root, "commit", "-qm", "instrumented")
    again = run_cli("instrument", "apply", str(root))
    assert (again.code, again.out) == (0, "nothing to change: already instrumented\n")
    cp = subprocess.run([mvn, "-q", "-B", "package", "-DskipTests"], cwd=root, capture_output=True, text=True,
                        timeout=900)
    assert cp.returncode == 0, (cp.stdout + cp.stderr)[-3000:]
    assert (root / java.AGENT_PATH).is_file() and (root / "target" / "notes-1.0.0.jar").is_file()
    return root


def test_spring_boot_app_serves_metrics_to_prometheus_and_spans_to_the_collector(built, tmp_path, trace_backend):
    collector, jaeger = trace_backend
    port = free_port()
    base, instance = f"http://127.0.0.1:{port}", f"127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "RQ_OBS_", "JAVA_TOOL"))}
    log = tmp_path / "app.log"
    with open(log, "wb") as out:
        env.update(SERVER_PORT=str(port), SERVER_ADDRESS="127.0.0.1", OTEL_EXPORTER_OTLP_ENDPOINT=collector.otlp_http,
                   OTEL_BSP_SCHEDULE_DELAY="500")
        proc = subprocess.Popen(["./" + java.RUN_SCRIPT], cwd=built, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            def ready():
                if proc.poll() is not None:  # fail now, not after the wait (wait_until retries assertions)
                    pytest.fail(f"the app exited: {log.read_text()[-3000:]}")
                try:
                    return http_get(base + "/readyz")[0] == 200
                except OSError:
                    return False

            wait_until(ready, 240, interval=0.5, what="the Spring Boot app answering /readyz")
            assert http_get(base + "/health")[0] == 200
            phase1 = [("GET", "/api/notes/1"), ("GET", "/api/notes/0"), ("POST", "/api/notes"), ("GET", "/boom"),
                      ("GET", "/slow")]
            assert [request(base, m, p) for m, p in phase1] == [200, 404, 201, 500, 200]

            config = dataclasses.replace(Config(), app_targets=[instance], scrape_interval="1s",
                                         evaluation_interval="1s")
            count = M.HTTP_SERVER_DURATION.count
            with Prometheus(tmp_path, prometheus_yaml(config, tmp_path / "rules")) as prom:
                wait_until(lambda: prom.value(f"sum({count})") == 5, 60, what="Prometheus scraping the Java app",
                           describe=lambda: prom.query(count))
                phase2 = [("GET", "/api/notes/1")] * 6 + [("GET", "/boom")] * 2 + [("GET", "/slow")] * 2
                second_phase(prom, base, phase2, [200] * 6 + [500] * 2 + [200] * 2, 15)
                raw = prom.query(count)  # probes (/metrics, /health, /readyz) are not counted
                assert by(raw, "http_request_method", "http_route", "http_response_status_code", "error_type") == {
                    ("GET", "/api/notes/{id}", "200", ""): 7, ("GET", "/api/notes/{id}", "404", ""): 1,
                    ("POST", "/api/notes", "201", ""): 1, ("GET", "/boom", "500", "java.lang.IllegalStateException"): 3,
                    ("GET", "/slow", "200", ""): 3}

                q = panels_now(prom, config)
                rate = by(q["App request rate"][0], "instance", "http_request_method", "http_route")
                one = rate[(instance, "GET", "/boom")] / 2
                assert {k: round(v / one, 9) for k, v in rate.items()} == {
                    (instance, "GET", "/api/notes/{id}"): 6, (instance, "POST", "/api/notes"): 0,
                    (instance, "GET", "/boom"): 2, (instance, "GET", "/slow"): 2}
                ratio, _ = q["App error ratio"]
                assert by(ratio, "instance") == {(instance,): pytest.approx(2 / 10, rel=1e-9)}
                errors = by(q["App errors by route"][0], "http_route", "http_response_status_code", "error_type")
                assert errors == {("/boom", "500", "java.lang.IllegalStateException"): pytest.approx(2 * one)}
                per_route = by(q["App p95 latency by route"][0], "instance", "http_route")
                assert per_route[(instance, "/slow")] == pytest.approx(0.25 + 0.25 * 0.95, rel=1e-9)
                assert by(q["App targets up"][0], "instance") == {(instance,): 1.0}
                assert by(q["App in-flight requests"][0], "instance") == {(instance,): 0.0}
                assert sorted(t for t, results in q.items() if not any(results)) == [
                    "Function time p95", "Peak memory per call p95"]  # Python @traced/@profiled only

            # the agent's spans, through the real collector into Jaeger: 7 answered 200 and one 404 (a client
            # error leaves a server span's status unset); 5xx are errors. Unlike the Python and Node modules, the
            # agent also traces the probe paths.
            wait_until(lambda: len([s for s in jaeger_server_spans(jaeger, "notes") if "http.route" in s]) >= 15, 90,
                       what="15 server spans of notes in Jaeger", describe=lambda: jaeger_server_spans(jaeger, "notes"))
            routes = [(s.get("http.route", ""), bool(s.get("error"))) for s in jaeger_server_spans(jaeger, "notes")]
            assert routes.count(("/api/notes/{id}", False)) == 8 and routes.count(("/boom", True)) == 3
            assert routes.count(("/slow", False)) == 3 and routes.count(("/api/notes", False)) == 1
        finally:
            proc.terminate()
            proc.wait(60)
    settings = json.loads((built / java.CONFIG_FILE).read_text())
    assert settings["sampling_rate"] == 1.0 and settings["ready_path"] == "/readyz"
