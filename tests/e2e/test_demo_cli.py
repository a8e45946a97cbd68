"""``rq-obs demo`` as a user runs it: service lines, live URLs, Ctrl-C stops everything; clear errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil
import pytest

from tests.helpers.procs import http_get, python_env

pytestmark = pytest.mark.e2e


def _run(args, env, timeout=60):
    return subprocess.run([sys.executable, "-m", "rq_obs", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_missing_prometheus_names_the_debian_packages(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    res = _run(["demo", "--dir", str(tmp_path / "d")], python_env({"PATH": str(empty)}))
    assert res.returncode == 2
    assert res.stderr.strip() == (
        "rq-obs: error: rq-obs demo needs prometheus, promtool, prometheus-alertmanager (Debian packages prometheus, "
        "prometheus-alertmanager: apt-get install -y --no-install-recommends prometheus prometheus-alertmanager); "
        "or run it with --docker")
    assert not (tmp_path / "d").exists()  # nothing was started or written


def test_docker_flag_without_docker_is_a_clear_error(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    res = _run(["demo", "--docker", "--dir", str(tmp_path / "d")], python_env({"PATH": str(empty)}))
    assert res.returncode == 2
    assert "needs Docker with Compose" in res.stderr and "'docker-compose'" in res.stderr


def test_demo_prints_services_serves_them_and_stops_everything_on_ctrl_c(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "rq_obs", "demo", "--dir", str(tmp_path / "demo"), "--quiet"],
                            env=python_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline().rstrip("\n") for _ in range(8)]
        assert [ln.split(": ")[0] for ln in lines[:7]] == ["serve", "prometheus", "alertmanager", "slack-sink",
                                                           "otel-collector", "jaeger", "notes-app"], \
            lines + [proc.stderr.read() if proc.poll() is not None else ""]
        assert lines[7] == "press Ctrl-C to stop"
        urls = dict(ln.split(": ", 1) for ln in lines[:7])
        for name, url in urls.items():
            assert url.startswith("http://127.0.0.1:"), (name, url)
        status, body = http_get(urls["serve"] + "/metrics")
        assert status == 200 and b"rqobs_test_attempts_total" in body
        assert http_get(urls["prometheus"] + "/-/ready")[0] == 200
        assert http_get(urls["alertmanager"] + "/-/ready")[0] == 200
        assert http_get(urls["slack-sink"] + "/")[0] == 200
        assert http_get(urls["otel-collector"] + "/v1/traces")[0] == 405  # the OTLP/HTTP receiver: POST only
        assert http_get(urls["jaeger"] + "/api/services")[0] == 200
        assert http_get(urls["notes-app"] + "/health")[0] == 200
        children = psutil.Process(proc.pid).children(recursive=True)
        names = sorted(os.path.basename(c.cmdline()[0]) for c in children)
        # serve and the notes app (python), prometheus, prometheus-alertmanager, the collector, jaeger
        assert names == ["jaeger", "otelcol-rq-obs", "prometheus", "prometheus-alertmanager", "python", "python"], names
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, proc.stderr.read()
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive
        for url in urls.values():
            with pytest.raises(OSError):  # nothing answers any more
                http_get(url + "/", timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_docker_flag_with_compose_but_no_daemon_says_so(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    compose = fake / "docker-compose"  # Compose installed, no daemon: what docker-compose 1.29 prints then
    compose.write_text("#!/bin/sh\necho \"docker.errors.DockerException: Error while fetching server API version: "
                       "('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))\" >&2\nexit 1\n")
    compose.chmod(0o755)
    res = _run(["demo", "--docker", "--dir", str(tmp_path / "d")], python_env({"PATH": str(fake)}), timeout=300)
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("rq-obs: error: rq-obs demo --docker: no Docker daemon answers "
                                         "(docker-compose: docker.errors.DockerException: Error while fetching")
    assert res.stderr.strip().endswith("start Docker (`docker info` tells), or run rq-obs demo, which needs no Docker")
