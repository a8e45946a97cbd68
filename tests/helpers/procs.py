"""Real Prometheus and Alertmanager processes on loopback for tests; poll, never sleep blindly."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable

import pytest

from rq_obs.demo.processes import free_port  # noqa: F401 - one helper for the product and the tests

PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
PROMTOOL = shutil.which("promtool")


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; return that value."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - keep polling, report the last one
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}" + (f" (last error: {last_exc})" if last_exc else ""))


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def need(binary: str | None, package: str) -> str:
    if binary is None:
        pytest.fail(f"{package} is not installed; the README's test command installs it (apt-get install {package})")
    return binary


class Prometheus:
    """A real Prometheus on 127.0.0.1 with a temp data dir. Use as a context manager.

    ``data_dir``: an existing TSDB directory (e.g. backfilled blocks) instead of ``workdir/data``;
    ``extra_args`` are passed on (e.g. ``--storage.tsdb.retention.time=10y``).
    """

    def __init__(self, workdir: Path, config_yaml: str, extra_args: tuple[str, ...] = (),
                 data_dir: Path | None = None):
        self.workdir = Path(workdir)
        self.data_dir = Path(data_dir) if data_dir is not None else self.workdir / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_file = self.workdir / "prometheus.yml"
        self.config_file.write_text(config_yaml)
        self.extra_args = extra_args
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Prometheus":
        exe = need(PROMETHEUS, "prometheus")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, 4):  # a free port is only free when asked: another process may bind it first
            self.log = open(self.workdir / "prometheus.log", "wb")
            self.proc = subprocess.Popen(
                [exe, f"--config.file={self.config_file}", f"--storage.tsdb.path={self.data_dir}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-lifecycle", *self.extra_args],
                stdout=self.log, stderr=subprocess.STDOUT,
            )
            if not self._ready_or_exited(60):
                self.log.close()
                lost_port = "address already in use" in (self.workdir / "prometheus.log").read_text().lower()
                if attempt < 3 and lost_port:
                    self.port = free_port()
                    self.url = f"http://127.0.0.1:{self.port}"
                    continue
                self._alive()  # raises with the end of its log
            # ready, and it is ours (not another Prometheus that got the port while ours failed to bind)
            flags = self.api("status/flags")
            assert flags["storage.tsdb.path"] == str(self.data_dir), flags["storage.tsdb.path"]
            return self
        raise AssertionError("unreachable")  # pragma: no cover

    def _ready_or_exited(self, timeout: float) -> bool:
        """Poll until it answers /-/ready (True) or exits (False); AssertionError after ``timeout``."""
        def state():
            if self.proc.poll() is not None:
                return "exited"
            try:
                return "ready" if http_get(self.url + "/-/ready")[0] == 200 else None
            except OSError:
                return None
        return wait_until(state, timeout, what="prometheus ready") == "ready"

    def _alive(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError("prometheus exited:\n" + (self.workdir / "prometheus.log").read_text()[-3000:])
        return True

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def api(self, path: str, **params: Any) -> Any:
        url = f"{self.url}/api/v1/{path}?" + urllib.parse.urlencode(params)
        status, body = http_get(url, timeout=30)
        doc = json.loads(body)
        if status != 200 or doc.get("status") != "success":
            raise AssertionError(f"prometheus {path} {params} -> {status}: {doc.get('error')}")
        return doc["data"]

    def query(self, expr: str, **params: Any) -> list[dict]:
        return self.api("query", query=expr, **params)["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None


def python_env(extra: dict | None = None) -> dict:
    """Environment for a subprocess that must import this checkout's rq_obs (even when not installed)."""
    import os

    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra or {})
    return env
