"""Routing and the HTTP server (the standard library's ``ThreadingHTTPServer``).

Routes: ``GET /`` (what is served here), ``GET /metrics``, ``POST /api/v1/runs``, ``POST /api/v1/snapshots``,
``GET /healthz``, ``GET /readyz``, ``GET /api/v1/quarantine``.
Every request is logged once at INFO (method, path, status, bytes, milliseconds; never
headers, so the bearer token is never logged).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rq_obs import __version__
from rq_obs.config import Config
from rq_obs.exporters import collectors as build_collectors
from rq_obs.exporters.base import LabelGuard
from rq_obs.exporters.health import HealthCollector, ScrapeStats
from rq_obs.quarantine.remote import PATH as QUARANTINE_PATH
from rq_obs.quarantine.remote import reply as quarantine_reply
from rq_obs.server import health
from rq_obs.server.ingest import PATH as INGEST_PATH
from rq_obs.server.ingest import ingest
from rq_obs.server.metrics import Scraper
from rq_obs.server.snapshots import PATH as SNAPSHOTS_PATH
from rq_obs.server.snapshots import ingest_snapshot
from rq_obs.store.db import Store
from rq_obs.store.totals import Folder

__all__ = ["Service", "make_server"]

log = logging.getLogger("rq_obs.server")


class Service:
    """What the handlers share: config, store, the scrape registry."""

    def __init__(self, config: Config, store: Store, collectors: list | None = None):
        self.config = config
        self.store = store
        # Handler threads close their connection after each request; this one stays open so such a
        # close is never the store's last connection (closing the last one checkpoints the WAL: an fsync).
        self._keeper = sqlite3.connect(store.path, check_same_thread=False)
        self.guard = LabelGuard(config.max_tests_per_suite, config.max_label_length)
        self.stats = ScrapeStats()
        found = build_collectors(store, config, self.guard) if collectors is None else list(collectors)
        names = [c.name for c in found] + [HealthCollector.name]
        found.append(HealthCollector(store, self.guard, self.stats, names))
        self.collectors = found
        self.scraper = Scraper(found, self.guard, self.stats)
        #: folds pushed attempts into the running totals in the background, so scrapes find little to fold
        self.folder = Folder(store).start()

    def warm_up(self) -> threading.Thread:
        """One scrape in the background, so the first real scrape does not pay for building the store
        collector's layout and the first analytics computation (seconds on a large store)."""

        def scrape() -> None:
            try:
                self.scraper.render(None)
            finally:
                self.store.close()  # this thread's connection

        thread = threading.Thread(target=scrape, name="rq-obs-warm-up", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.folder.stop()
        self._keeper.close()
        for c in self.collectors:
            close = getattr(c, "close", None)
            if close is not None:
                close()


class Handler(BaseHTTPRequestHandler):
    server: "RqObsServer"
    protocol_version = "HTTP/1.1"
    server_version = "rq-obs"
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for the
    # client's delayed ACK of the first (~40 ms per reply on Linux loopback).
    disable_nagle_algorithm = True

    # -- plumbing -------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._sent = (status, len(body))

    def _json(self, status: int, doc: dict, headers: dict | None = None) -> None:
        self._send(status, (json.dumps(doc, ensure_ascii=False) + "\n").encode("utf-8"),
                   "application/json; charset=utf-8", headers)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's name
        log.debug("http: " + format, *args)

    def log_request(self, code="-", size="-") -> None:  # replaced by the one line in _handle
        pass

    def _handle(self, route) -> None:
        t0 = time.perf_counter()
        self._sent = (0, 0)
        try:
            route()
        except Exception:  # noqa: BLE001 - answer 500 rather than drop the connection
            log.exception("%s %s failed", self.command, self.path)
            if self._sent[0] == 0:
                self._json(500, {"error": "internal error (see the server log)"})
        finally:
            status, size = self._sent
            log.info('%s "%s %s" %s %s %.1fms', self.client_address[0], self.command, self.path.split("?", 1)[0],
                     status, size, (time.perf_counter() - t0) * 1000)

    def handle(self) -> None:
        """Every request on this connection (keep-alive), then this thread's store connection is closed:
        a thread serves one client connection, so requests on it share one store connection."""
        try:
            super().handle()
        finally:
            self.server.service.store.close()

    # -- routes ---------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._handle(self._route_get)

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle(self._route_get)

    def do_POST(self) -> None:  # noqa: N802
        self._handle(self._route_post)

    def _route_get(self) -> None:
        path = self.path.split("?", 1)[0]
        svc = self.server.service
        if path == "/metrics":
            body, ctype = svc.scraper.render(self.headers.get("Accept"))
            self._send(200, body, ctype)
        elif path == "/":
            self._json(200, {"service": "rq-obs serve", "version": __version__, "routes": {
                "/metrics": "GET: metrics for Prometheus (OpenMetrics when asked)",
                INGEST_PATH: "POST: push a test run (bearer token; docs/INGEST.md)",
                SNAPSHOTS_PATH: "POST: push a release snapshot (bearer token; docs/INGEST.md)",
                "/healthz": "GET: the process is up", "/readyz": "GET: the store is readable",
                QUARANTINE_PATH: "GET: the quarantine list (YAML; docs/QUARANTINE.md)"}})
        elif path == "/healthz":
            self._json(*health.healthz())
        elif path == "/readyz":
            self._json(*health.readyz(svc.store))
        elif path == QUARANTINE_PATH:
            self._send(*quarantine_reply(svc.config.quarantine_file))
        elif path in (INGEST_PATH, SNAPSHOTS_PATH):
            self._json(405, {"error": f"{path} accepts POST"}, {"Allow": "POST"})
        else:
            self._json(404, {"error": f"no such path {path!r}; try /metrics, {INGEST_PATH}, {SNAPSHOTS_PATH}, "
                                      f"/healthz, /readyz"})

    def _route_post(self) -> None:
        path = self.path.split("?", 1)[0]
        svc = self.server.service
        if path == INGEST_PATH:
            reply = ingest(svc.config, svc.store, self.headers, self.rfile.read)
            if reply.status == 201:
                svc.folder.poke()
        elif path == SNAPSHOTS_PATH:
            reply = ingest_snapshot(svc.config, svc.store, self.headers, self.rfile.read)
        else:
            self.close_connection = True
            self._json(404, {"error": f"no such path {path!r}; runs are pushed to {INGEST_PATH}, release snapshots "
                                      f"to {SNAPSHOTS_PATH}"})
            return
        if reply.status in (401, 411, 413, 415, 503) or reply.status >= 500:
            self.close_connection = True  # the body was not read; don't reuse the connection
            reply.headers.setdefault("Connection", "close")
        self._json(reply.status, reply.body, reply.headers)


class RqObsServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], service: Service):
        self.service = service
        super().__init__(address, Handler)


def make_server(config: Config, store: Store, host: str | None = None, port: int | None = None,
                collectors: list | None = None) -> RqObsServer:
    """A server bound to ``host:port`` (config defaults); call ``serve_forever()``. Port 0 picks a free one."""
    service = Service(config, store, collectors)
    return RqObsServer((host or config.exporter_host, config.exporter_port if port is None else port), service)
