"""The demo's example web app (``notes.py.txt``, package data) and its traffic, served for real.

:func:`start_app` copies the app into the demo directory, instruments it with ``rq-obs instrument
apply`` (the command users run: metrics, spans, health endpoints, ``--functions load_note --profile crunch``), serves it with
werkzeug in its own process on a free loopback port (spans to the collector when one runs), and
starts :class:`Traffic`: a bounded loop of requests over every route, 4xx, 5xx and slow ones included,
stopped with the demo's services.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

from rq_obs import proc
from rq_obs.demo.processes import Service, Services
from rq_obs.errors import UsageError

__all__ = ["ROUND", "App", "Traffic", "start_app", "available"]

#: One round of traffic: (method, path, expected status). 2 of 8 fail with 5xx, 2 with 4xx, 1 is slow.
ROUND = (("GET", "/notes/1", 200), ("GET", "/notes/2", 200), ("GET", "/notes/0", 404), ("GET", "/nope", 404),
         ("POST", "/notes", 201), ("GET", "/boom", 500), ("GET", "/slow", 200), ("GET", "/report", 200))
#: Traffic is bounded: at most this many rounds, one every INTERVAL seconds (about an hour).
MAX_ROUNDS = 3600
INTERVAL = 1.0

_SERVE = ("import sys; sys.path.insert(0, '.'); import notes; from werkzeug.serving import make_server; "
          "make_server('127.0.0.1', int(sys.argv[1]), notes.app, threaded=True).serve_forever()")


def available() -> str:
    """'' when the app can run here, else what is missing."""
    missing = [m for m in ("flask", "werkzeug", "opentelemetry.sdk") if importlib.util.find_spec(m) is None]
    return f"the demo web app needs {', '.join(missing)} (pip install flask)" if missing else ""


def request(base: str, method: str, path: str, timeout: float = 10) -> int:
    req = urllib.request.Request(base + path, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


class Traffic:
    """Rounds of :data:`ROUND` against ``base`` in a thread until stopped or MAX_ROUNDS; counts what it sent."""

    def __init__(self, base: str, *, interval: float = INTERVAL, max_rounds: int = MAX_ROUNDS):
        self.base, self.interval, self.max_rounds = base, interval, max_rounds
        self.sent: dict[tuple[str, str, int], int] = {}
        self.unexpected: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rq-obs-demo-traffic", daemon=True)

    def one_round(self) -> None:
        for method, path, want in ROUND:
            try:
                got = request(self.base, method, path)
            except OSError as exc:
                got, detail = 0, str(exc)
            else:
                detail = ""
            key = (method, path, got)
            self.sent[key] = self.sent.get(key, 0) + 1
            if got != want:
                self.unexpected.append(f"{method} {path}: {got or detail}, expected {want}")

    def _run(self) -> None:
        for _ in range(self.max_rounds):
            if self._stop.wait(self.interval):
                return
            self.one_round()

    def start(self) -> "Traffic":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


@dataclass(frozen=True)
class App:
    service: Service
    traffic: Traffic

    @property
    def url(self) -> str:
        return self.service.url

    @property
    def target(self) -> str:
        return self.url.split("//", 1)[1]


def start_app(services: Services, root: Path, logs: Path, *, otlp_endpoint: str = "",
              say: Callable[[str], None] = lambda s: None, timeout: float = 60) -> App:
    """Instrument, serve and drive the example app (see the module doc); ``services`` stops it."""
    missing = available()
    if missing:
        raise UsageError(missing)
    root.mkdir(parents=True, exist_ok=True)
    (root / "notes.py").write_bytes((resources.files(__package__) / "notes.py.txt").read_bytes())
    res = proc.run([sys.executable, "-m", "rq_obs", "instrument", "apply", str(root), "--service-name", "notes",
                    "--functions", "load_note", "--profile", "crunch"], cwd=str(root), timeout=120)
    if not res.ok:
        raise UsageError(f"rq-obs instrument apply {root} failed (exit {res.returncode}): {res.stderr.strip()[-800:]}")
    say(f"instrumented the example web app with `rq-obs instrument apply` in {root}")
    from rq_obs.demo.runner import _clean_env

    env = _clean_env({"RQ_OBS_PROFILE": "1", "PYTHONDONTWRITEBYTECODE": "1",
                      **({"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint} if otlp_endpoint else {})})
    service = services.start_on_free_port(lambda port: Service(
        "notes-app", f"http://127.0.0.1:{port}", [sys.executable, "-c", _SERVE, str(port)], logs / "notes-app.log",
        ready_path="/health", cwd=str(root), env=env), timeout)
    traffic = Traffic(service.url)
    traffic.one_round()  # every series exists before Prometheus' first scrape
    services.on_stop(traffic.stop)
    return App(service, traffic.start())

