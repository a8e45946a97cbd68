"""Routing for ``rq-obs serve``; the connections, limits and worker pools are :mod:`rq_obs.server.http`'s.

Routes: ``GET /`` (what is served here), ``GET /metrics``, ``POST /api/v1/runs``, ``POST /api/v1/snapshots``,
``GET /healthz``, ``GET /readyz``, ``GET /api/v1/quarantine``, and the read-only JSON API's ``GET`` routes
(:mod:`rq_obs.server.api`, answered by the ``api`` pool). Any other method answers 405, any other path 404,
both with a JSON body. ``/``, ``/healthz`` and refusals are answered in the event loop; ``/metrics``, ``/readyz``
and the quarantine list by the scrape pool, pushes by the ingest pool (so a scrape is answered while ingest is
saturated).
Every request is logged once at INFO (method, path, status, bytes, milliseconds; never
headers, so the bearer token is never logged).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

from rq_obs import __version__
from rq_obs.config import Config
from rq_obs.exporters import collectors as build_collectors
from rq_obs.exporters.base import LabelGuard
from rq_obs.exporters.health import HealthCollector, ScrapeStats
from rq_obs.quarantine.remote import PATH as QUARANTINE_PATH
from rq_obs.quarantine.remote import reply as quarantine_reply
from rq_obs.server import api, health, impactdiff
from rq_obs.server.http import AsyncHTTPServer, Headers, Limits, Pending, Response, json_response
from rq_obs.server.ingest import PATH as INGEST_PATH
from rq_obs.server.ingest import check_request, ingest
from rq_obs.server.metrics import Scraper
from rq_obs.server.snapshots import PATH as SNAPSHOTS_PATH
from rq_obs.server.snapshots import ingest_snapshot
from rq_obs.store.cardinality import configure as configure_cardinality
from rq_obs.store.db import Store
from rq_obs.store.totals import Folder

__all__ = ["Service", "make_server", "limits_of"]

log = logging.getLogger("rq_obs.server")

#: milliseconds a scrape thread's store connection waits for a lock
SCRAPE_WAIT_MS = 300


class Service:
    """What the handlers share: config, store, the scrape registry."""

    def __init__(self, config: Config, store: Store, collectors: list | None = None):
        self.config = config
        self.store = store
        configure_cardinality(store, config.max_series)
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
        #: the read-only JSON API, on its own read-only connection to the store (docs/API.md)
        self.api = api.Api(config, Store(store.path, readonly=True)).start()

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

    def thread_exit(self) -> None:
        """A worker thread's end: close its store connections."""
        self.store.close()
        self.api.store.close()

    def close(self) -> None:
        self.folder.stop()
        self.api.stop()
        self.api.store.close()
        self._keeper.close()
        for c in self.collectors:
            close = getattr(c, "close", None)
            if close is not None:
                close()


#: What serve answers: its home page (``/``) lists these, and its start-up line names them.
ROUTES = {
    "/metrics": "GET: metrics for Prometheus (OpenMetrics when asked)",
    INGEST_PATH: "POST: push a test run (bearer token; docs/INGEST.md)",
    SNAPSHOTS_PATH: "POST: push a release snapshot (bearer token; docs/INGEST.md)",
    "/healthz": "GET: the process is up", "/readyz": "GET: the store is readable and writable",
    QUARANTINE_PATH: "GET: the quarantine list (YAML; docs/QUARANTINE.md)",
    api.PREFIX: "GET: the read-only JSON API, per-test questions from the store (docs/API.md)",
    impactdiff.PREFIX + "<file>": "GET: a tracked file's diffs and pass-rate changes (docs/ANALYTICS.md)",
}


def _routes(svc: Service):
    """``route(method, path, headers)`` for :class:`AsyncHTTPServer`."""
    api_routes = api.routes()

    def get(path: str, headers: Headers) -> Response | Pending:
        if path == "/metrics":
            accept = headers.get("Accept")

            def scrape(_body: bytes) -> Response:
                # a collector that needs the write lock (a migration, a fold) waits at most this long for it, then
                # is skipped for this scrape (logged, counted): a scrape is never stuck behind a writer
                with svc.store.lock_wait(SCRAPE_WAIT_MS):
                    body, ctype = svc.scraper.render(accept)
                return Response(200, body, ctype)

            return Pending("scrape", scrape)
        if path == "/":
            return json_response(200, {"service": "rq-obs serve", "version": __version__, "routes": ROUTES})
        if path in api_routes:
            return Pending("api", lambda _body: svc.api.answer(path, headers.query))
        if path in (api.PREFIX, api.PREFIX[:-1]):
            return json_response(200, {"routes": api.index()})
        if path == "/healthz":
            return json_response(*health.healthz())
        if path == "/readyz":
            return Pending("scrape", lambda _body: json_response(*health.readyz(svc.store, svc.config)))
        if path == QUARANTINE_PATH:
            return Pending("scrape", lambda _body: Response(*quarantine_reply(svc.config.quarantine_file)))
        if impactdiff.matches(path):
            # a read of the store like the API's: its pool, never delaying a scrape
            return Pending("api", lambda _body: impactdiff.reply(svc.config, svc.store, path, headers))
        if path in (INGEST_PATH, SNAPSHOTS_PATH):
            return json_response(405, {"error": f"{path} accepts POST"}, {"Allow": "POST"})
        return json_response(404, {"error": f"no such path {path!r}; try /metrics, {INGEST_PATH}, {SNAPSHOTS_PATH}, "
                                            f"/healthz, /readyz, {QUARANTINE_PATH}, {api.PREFIX} (its routes)"})

    def post(path: str, headers: Headers) -> Response | Pending:
        if path == INGEST_PATH:
            handler = ingest
        elif path == SNAPSHOTS_PATH:
            handler = ingest_snapshot
        elif path in api_routes:
            return json_response(405, {"error": f"{path} is read-only: use GET"}, {"Allow": "GET, HEAD"}, close=True)
        else:
            return json_response(404, {"error": f"no such path {path!r}; runs are pushed to {INGEST_PATH}, release "
                                                f"snapshots to {SNAPSHOTS_PATH}"}, close=True)
        checked = check_request(svc.config, headers)
        if not isinstance(checked, int):  # refused before the body is read (the body is drained, up to a bound)
            return Pending("ingest", lambda _body: _reply(checked), refusal=_reply(checked))

        def run(body: bytes) -> Response:
            reply = handler(svc.config, svc.store, headers, lambda n: body[:n])
            if path == INGEST_PATH and reply.status == 201:
                svc.folder.poke()
            return _reply(reply)

        return Pending("ingest", run, checked)

    def route(method: str, path: str, headers: Headers) -> Response | Pending:
        if method in ("GET", "HEAD"):
            return get(path, headers)
        if method == "POST":
            return post(path, headers)
        allow = "POST" if path in (INGEST_PATH, SNAPSHOTS_PATH) else "GET, HEAD"
        return json_response(405, {"error": f"method {method} is not allowed on {path!r}; use {allow}"},
                             {"Allow": allow}, close=True)

    return route


def _reply(reply) -> Response:
    close = reply.status in (401, 411, 413, 415, 503) or reply.status >= 500
    return json_response(reply.status, reply.body, reply.headers, close=close)


def _log_request(peer: str, method: str, path: str, status: int, size: int, t0: float) -> None:
    log.info('%s "%s %s" %s %s %.1fms', peer, method, path, status, size, (time.perf_counter() - t0) * 1000)


def limits_of(config: Config) -> Limits:
    """The connection limits from the config (``serve_*`` settings)."""
    return Limits(max_connections=config.serve_max_connections, header_timeout=config.serve_header_timeout,
                  body_timeout=config.serve_body_timeout, idle_timeout=config.serve_idle_timeout,
                  ingest_workers=config.serve_ingest_workers, ingest_queue=16 * config.serve_ingest_workers,
                  discard_bytes=config.serve_discard_bytes)


class RqObsServer(AsyncHTTPServer):
    def __init__(self, address: tuple[str, int], service: Service, limits: Limits):
        self.service = service
        super().__init__(address, _routes(service), limits, service.thread_exit, _log_request)


def make_server(config: Config, store: Store, host: str | None = None, port: int | None = None,
                collectors: list | None = None) -> RqObsServer:
    """A server bound to ``host:port`` (config defaults); call ``serve_forever()``. Port 0 picks a free one."""
    service = Service(config, store, collectors)
    try:
        return RqObsServer((host or config.exporter_host, config.exporter_port if port is None else port), service,
                           limits_of(config))
    except BaseException:
        service.close()
        raise
