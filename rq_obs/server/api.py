"""The read-only JSON API of ``rq-obs serve``: per-test questions answered from the store.

Prometheus holds aggregates; one test among thousands (its history, its last failure, its flips, its
response in two runs) is a question for the store (docs/API.md). Every route is a ``GET`` under
``/api/v1/`` registered in :data:`ROUTES` with :func:`route`: a handler ``(Api, Params) -> dict`` and the
parameters it accepts (name -> what is expected), so adding a question is one decorated function here or in
another module imported by :func:`routes`.

Answers are JSON objects whose ``rows`` is a list of flat objects (what a Grafana JSON data source such as
Infinity turns into a table: ``root_selector: rows``). A bad request gets 400 and
``{"error": ..., "parameter": NAME, "expected": WHAT}``; an unknown parameter is a bad request too (a typo is
not silently ignored); a test or run the store does not have gets 404 naming the parameter. The store is
opened read-only (SQLite ``mode=ro``): nothing here can write it. A query running longer than
:data:`QUERY_SECONDS` is interrupted and answered 503. Worst-N ranks every test's figures over the window,
computed once per window and store state (:meth:`Api.figures`), over the default window in the background.
Text values come from attempt attributes, which are redacted when recorded and again when pushed
(:mod:`rq_obs.redact`); they are redacted once more on the way out, so a row written by anything else cannot
leak a credential either.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable

from rq_obs import durations
from rq_obs.config import Config
from rq_obs.errors import UsageError
from rq_obs.server.http import Response, json_response
from rq_obs.store.db import Store

__all__ = ["PREFIX", "ROUTES", "Route", "route", "Api", "Params", "ApiError", "QUERY_SECONDS", "MAX_WINDOW"]

log = logging.getLogger("rq_obs.server")

PREFIX = "/api/v1/"
#: seconds one API request may spend in SQLite before it is interrupted (503); Grafana's data source waits 30 s
QUERY_SECONDS = 25.0
#: the longest window a request may ask for
MAX_WINDOW = "10y"
_MAX_WINDOW_SECONDS = durations.seconds(MAX_WINDOW, MAX_WINDOW)
#: most query parameters one request may carry
MAX_PARAMETERS = 16
#: seconds a costly answer (every test's figures over a window) is reused while the store is unchanged
CACHE_SECONDS = 60.0
#: costly answers kept (one per suite and window asked)
CACHE_ENTRIES = 32
#: seconds between checks of the background worst-N figures (redone when the store changed since)
WARM_EVERY = 30.0
#: the background figures are redone at least this often (windows slide), and not used once older
WARM_MAX_AGE = 300.0
#: longest text parameter (a test id is at most 4,096 characters in the store)
MAX_TEXT = 4096


class ApiError(Exception):
    """A request the API cannot answer: its status, the parameter at fault and what was expected."""

    def __init__(self, status: int, message: str, parameter: str = "", expected: str = ""):
        super().__init__(message)
        self.status, self.parameter, self.expected = status, parameter, expected

    def body(self) -> dict[str, str]:
        out = {"error": str(self)}
        if self.parameter:
            out["parameter"] = self.parameter
        if self.expected:
            out["expected"] = self.expected
        return out


@dataclass(frozen=True)
class Route:
    path: str
    summary: str
    params: dict[str, str]  # name -> what is expected
    handler: Callable[["Api", "Params"], dict]


#: path -> route; filled by :func:`route` at import of the modules :func:`routes` imports
ROUTES: dict[str, Route] = {}


def route(name: str, summary: str, **params: str) -> Callable:
    """Register ``handler(api, params) -> dict`` at ``/api/v1/<name>`` accepting ``params`` (name -> expected)."""

    def deco(handler: Callable) -> Callable:
        path = PREFIX + name
        if path in ROUTES:
            raise ValueError(f"API route {path} registered twice")
        ROUTES[path] = Route(path, summary, dict(params), handler)
        return handler

    return deco


def routes() -> dict[str, Route]:
    """Every route (importing the modules that register them)."""
    from rq_obs.server import api_tests  # noqa: F401 - registers the per-test routes

    return ROUTES


class Params:
    """A request's query parameters, checked against what its route accepts."""

    def __init__(self, query: str, accepted: dict[str, str]):
        try:
            pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=False, errors="strict",
                                           max_num_fields=MAX_PARAMETERS)
        except UnicodeDecodeError:
            raise ApiError(400, "the query string is not UTF-8 once percent-decoded", "", "UTF-8 text") from None
        except ValueError:
            raise ApiError(400, f"more than {MAX_PARAMETERS} query parameters", "",
                           f"at most {MAX_PARAMETERS} parameters") from None
        self.values: dict[str, str] = {}
        for name, value in pairs:
            if name not in accepted:
                known = ", ".join(sorted(accepted)) or "none"
                raise ApiError(400, f"unknown parameter {name[:64]!r}", name[:64], f"one of: {known}")
            if name in self.values:
                raise ApiError(400, f"parameter {name!r} given twice", name, "one value")
            self.values[name] = value
        self.accepted = accepted

    def _fail(self, name: str, message: str) -> ApiError:
        return ApiError(400, message, name, self.accepted[name])

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise self._fail(name, f"parameter {name!r} is required")
            return None
        if len(value) > MAX_TEXT:
            raise self._fail(name, f"parameter {name!r} is {len(value)} characters long, over {MAX_TEXT}")
        if "\x00" in value:
            raise self._fail(name, f"parameter {name!r} contains a NUL character")
        return value

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if not (value.isascii() and value.isdigit()) or len(value) > 9 or not lo <= int(value) <= hi:
            raise self._fail(name, f"parameter {name!r} is {value[:64]!r}; expected an integer {lo}-{hi}")
        return int(value)

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.values.get(name) or default
        if value not in choices:
            raise self._fail(name, f"parameter {name!r} is {value[:64]!r}; expected one of {', '.join(choices)}")
        return value

    def window(self, name: str, default: str) -> float:
        """Seconds of a Prometheus-style duration (``7d``), at most :data:`MAX_WINDOW`."""
        value = self.values.get(name) or default
        most = _MAX_WINDOW_SECONDS
        try:
            if len(value) > 32:
                raise UsageError(value)
            seconds = durations.seconds(value, name)
        except UsageError:
            raise self._fail(name, f"parameter {name!r} is {value[:64]!r}; expected {durations.EXPECTED}") from None
        if seconds > most:
            raise self._fail(name, f"parameter {name!r} is {value[:64]!r}; the longest window is {MAX_WINDOW}")
        return float(seconds)


class Api:
    """What the handlers share: the config, the store opened read-only, the clock, a cache of costly answers."""

    def __init__(self, config: Config, store: Store, clock: Callable[[], float] = time.time):
        if not store.readonly:
            raise ValueError("the API reads a store opened read-only (Store(path, readonly=True))")
        self.config = config
        self.store = store
        self.clock = clock
        self._cache: dict[Any, tuple[Any, float, Any]] = {}
        self._cache_lock = threading.Lock()
        self._key_locks: dict[Any, threading.Lock] = {}
        self._warm: tuple[Any, float, list] | None = None  # (store fingerprint, monotonic time, all suites' figures)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def cached(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``, kept while the store is unchanged (its fingerprint: the last ingest and change events)
        and for at most :data:`CACHE_SECONDS` (windows slide); at most :data:`CACHE_ENTRIES` are kept. Two
        requests for the same key compute once."""
        from rq_obs.analytics.queries import fingerprint

        with self._cache_lock:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            mark, now = fingerprint(self.store), time.monotonic()
            hit = self._cache.get(key)
            if hit is not None and hit[0] == mark and now - hit[1] < CACHE_SECONDS:
                return hit[2]
            value = compute()
            with self._cache_lock:
                self._cache[key] = (mark, now, value)
                while len(self._cache) > CACHE_ENTRIES:
                    oldest = min(self._cache, key=lambda k: self._cache[k][1])
                    del self._cache[oldest]
                    self._key_locks.pop(oldest, None)
            return value

    # -- every test's figures over a window: what worst-N ranks ------------------------------------------
    def figures(self, suite: str | None, window: str, now: float, since: float) -> list:
        """:func:`rq_obs.analytics.testdetail.figures` of one suite (or all). Over the default window
        (``flaky_window``) from the background computation when there is one (:meth:`start`; at most
        :data:`WARM_MAX_AGE` old, redone within :data:`WARM_EVERY` of a change, as the analytics collector
        does); otherwise computed and cached while the store is unchanged (:meth:`cached`)."""
        from rq_obs.analytics import testdetail

        warm = self._warm
        if window == self.config.flaky_window and warm is not None and time.monotonic() - warm[1] < WARM_MAX_AGE:
            return warm[2] if suite is None else [f for f in warm[2] if f[0].suite == suite]
        return self.cached(("figures", suite, window),
                           lambda: testdetail.figures(self.store, self.config, now, since, suite))

    def _warm_once(self) -> None:
        from rq_obs.analytics import testdetail
        from rq_obs.analytics.queries import duration_seconds, fingerprint

        mark, started, now = fingerprint(self.store), time.monotonic(), self.clock()
        since = now - duration_seconds(self.config.flaky_window, "flaky_window")
        self._warm = (mark, started, testdetail.figures(self.store, self.config, now, since))

    def _warm_due(self) -> bool:
        from rq_obs.analytics.queries import fingerprint

        warm = self._warm
        if warm is None:
            return True
        age = time.monotonic() - warm[1]
        return age >= WARM_MAX_AGE or (age >= WARM_EVERY and fingerprint(self.store) != warm[0])

    def start(self) -> "Api":
        """Compute every test's figures over the default window in a background thread, again when the store
        changed (checked every :data:`WARM_EVERY` seconds) or the result is :data:`WARM_MAX_AGE` old, so worst-N
        over that window never waits for them. A failed computation is logged and retried at the next check."""

        def loop() -> None:
            try:
                while not self._stop.is_set():
                    try:
                        if self._warm_due():
                            self._warm_once()
                    except Exception:  # noqa: BLE001 - logged; requests compute on demand meanwhile
                        log.exception("computing the API's worst-N figures failed")
                    self._stop.wait(WARM_EVERY)
            finally:
                self.store.close()  # this thread's connection

        self._thread = threading.Thread(target=loop, name="rq-obs-api-warm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def answer(self, path: str, query: str) -> Response:
        """The reply to ``GET path?query`` (``path`` is one of :data:`ROUTES`)."""
        r = routes()[path]
        conn = self.store.connect()
        deadline = time.monotonic() + QUERY_SECONDS
        conn.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
        try:
            return json_response(200, r.handler(self, Params(query, r.params)))
        except ApiError as exc:
            return json_response(exc.status, exc.body())
        except UsageError as exc:  # NotFound and the library's own checks
            parameter = getattr(exc, "parameter", "")
            status = 404 if parameter else 400
            return json_response(status, {"error": str(exc), **({"parameter": parameter} if parameter else {})})
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                return json_response(503, {"error": f"the query took longer than {QUERY_SECONDS:g} s; ask for a "
                                                    f"shorter window or a smaller limit"}, {"Retry-After": "5"})
            raise
        finally:
            conn.set_progress_handler(None, 0)


def index() -> dict[str, Any]:
    """What the API serves: route -> summary and parameters (``GET /api/v1/``)."""
    return {path: {"summary": r.summary, "parameters": r.params} for path, r in sorted(routes().items())}
