"""Real Prometheus and Alertmanager processes on loopback for tests; poll, never sleep blindly."""

from __future__ import annotations

import json
import shutil
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable

import pytest

from rq_obs.demo.processes import Service, Services, free_port  # noqa: F401 - free_port: one for product and tests

PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
PROMTOOL = shutil.which("promtool")


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05, what: str = "condition",
               describe: Callable[[], Any] | None = None):
    """Poll ``predicate`` until it returns something truthy; return that value. ``describe``: called on time-out,
    its value goes into the failure message (what was seen instead)."""
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
    seen = ""
    if describe is not None:
        try:
            seen = f"; saw {describe()!r}"
        except Exception as exc:  # noqa: BLE001 - the time-out is the failure to report
            seen = f"; describing it failed: {exc}"
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}" + (f" (last error: {last_exc})" if last_exc else "")
                         + seen)


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
        self.port = 0
        self.url = ""
        self.config_file = self.workdir / "prometheus.yml"
        self.config_file.write_text(config_yaml)
        self.extra_args = extra_args
        self._services = Services()

    def __enter__(self) -> "Prometheus":
        exe = need(PROMETHEUS, "prometheus")
        self.data_dir.mkdir(parents=True, exist_ok=True)

        def make(port: int) -> Service:
            return Service("prometheus", f"http://127.0.0.1:{port}",
                           [exe, f"--config.file={self.config_file}", f"--storage.tsdb.path={self.data_dir}",
                            f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle", *self.extra_args],
                           self.workdir / "prometheus.log", ready_path="/-/ready")

        try:  # on a free port, and a new one if another process takes it before Prometheus binds it
            service = self._services.start_on_free_port(make, 60)
        except BaseException:
            self._services.stop()
            raise
        self.url = service.url
        self.port = int(self.url.rsplit(":", 1)[1])
        # ready, and it is ours (not another Prometheus that got the port while ours failed to bind)
        flags = self.api("status/flags")
        assert flags["storage.tsdb.path"] == str(self.data_dir), flags["storage.tsdb.path"]
        return self

    def __exit__(self, *exc: object) -> None:
        self._services.stop()

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


def need_tool(name: str, how: str) -> str:
    """A Go-built (or otherwise installed) program the test runs for real; fail naming how to get it."""
    from rq_obs.toolpaths import find_tool

    path = find_tool(name)
    if path is None:
        pytest.fail(f"{name} is not installed; {how} (the README's test command runs .ci/tools/install)")
    return path


class AlertmanagerProcess:
    """A real Alertmanager on 127.0.0.1 (``exe``: Debian's or a Go-built one) with ``config`` and a temp
    data dir under ``workdir``; ready when used as a context manager. ``url`` is its base URL."""

    def __init__(self, exe: str, config: Path, workdir: Path):
        import subprocess

        self.log = Path(workdir) / "am.log"
        data = Path(workdir) / "am-data"
        data.mkdir(exist_ok=True)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._out = open(self.log, "wb")
        self.proc = subprocess.Popen([exe, f"--config.file={config}", f"--storage.path={data}",
                                      f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                                     stdout=self._out, stderr=subprocess.STDOUT)

    def __enter__(self) -> "AlertmanagerProcess":
        try:
            wait_until(lambda: http_get(self.url + "/-/ready")[0] == 200, 30, what="alertmanager ready",
                       describe=lambda: self.log.read_text()[-1000:])
        except BaseException:
            self.__exit__()
            raise
        return self

    def post_alerts(self, alerts: list[dict]) -> None:
        req = urllib.request.Request(self.url + "/api/v2/alerts", data=json.dumps(alerts).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(15)
        self._out.close()
