"""Turns pytest's reports into attempts and writes the run to the store in batches.

One :class:`Recorder` per test session, in the process that writes the run (the xdist
controller, or pytest itself without xdist). Each test attempt produces setup, call and
teardown reports (pytest-rerunfailures logs all three for every attempt, with outcome
``rerun`` for the failed ones); the attempt is complete at its teardown report.

Outcome of an attempt: a failed setup is ``error``; a skipped setup is ``skipped`` (``xfailed``
when it carried an xfail); otherwise the call decides (``xfailed``/``xpassed`` from
``wasxfail``), and a failing teardown turns a pass into ``error``. Beside it, each attempt keeps
the categories its reports added to pytest's summary line (``passed error`` for that last case). Duration is the call
phase's, or the setup's when the test never got to its call (setup error or skip): the time
the test itself ran, without fixture teardown.

Write policy: the run row is written first (``incomplete``), then attempts in batches, each in
one transaction, whenever :data:`BATCH_SIZE` attempts are pending or :data:`BATCH_SECONDS` have
passed since the last batch (checked as attempts complete), and the run is marked ``complete`` at
the end. Batches are written in pytest's own thread, between two tests. The run row and the
batches are committed with ``PRAGMA synchronous=NORMAL``: SQLite's WAL then survives the pytest
process being killed at any point (it is in the OS's hands once committed), but the commit does
not wait for the disk. The final commit (the run marked ``complete``) is ``synchronous=FULL``,
which syncs everything before it too, so a run that finished is on disk when pytest exits. So a
session syncs four times whatever its size: the WAL header at its first write (SQLite does that
even at ``NORMAL``), the final commit, and the checkpoint when the store is closed (WAL, database).

So a killed pytest loses at most the attempts not yet in a batch (fewer than ``BATCH_SIZE``, or
those of the last ``BATCH_SECONDS``) and leaves its run ``incomplete``; an OS crash or power loss
can also lose the batches committed since the last sync, never the store's consistency. Any session
that reaches its end is ``complete`` (Ctrl-C, ``pytest.exit()`` and internal errors included), with
pytest's exit code and its summary counts (:mod:`rq_obs.telemetry.summary`).

A store another process holds locked: writes wait ``RUN_LOCK_WAIT`` (the plugin's), then the
attempts stay pending and are tried again every :data:`LOCK_RETRY_SECONDS`; at the end the
recorder waits ``store_lock_wait`` and otherwise writes the rest of the run to a side file
(:mod:`rq_obs.store.spill`).

Why no writer thread: a thread committing batches competed with the tests for the GIL (the
``sqlite3`` module releases it around every statement step, so each row meant a GIL hand-over:
~14,000 context switches for 2,000 tests) and cost more CPU than the writes themselves; a batch
of 200 attempts takes ~2-3 ms to write in-line.
"""

from __future__ import annotations

import socket
import time
import uuid
from dataclasses import replace as _replace
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple

from rq_obs.pricing import price_function  # noqa: F401 - re-exported for the plugin
from rq_obs.store.db import Store
from rq_obs.store.records import ApiCall, Run
from rq_obs.store.runs import PriceFn, add_attempts, begin_run, finish_run
from rq_obs.telemetry.api import call_from_wire
from rq_obs.store.spill import is_locked
from rq_obs.quarantine import MARKER as QUARANTINED, real_outcome
from rq_obs.telemetry.failures import ATTRIBUTE as FAILURE_ATTRIBUTE
from rq_obs.telemetry.failures import failure_message
from rq_obs.telemetry.summary import attempt_categories, category, collect_error_text

__all__ = ["BATCH_SIZE", "BATCH_SECONDS", "AttemptRow", "Recorder", "price_function", "attempt_outcome", "span_attributes",
           "resolve_store_path", "push"]

BATCH_SIZE = 200
BATCH_SECONDS = 1.0
#: while another process holds the store's write lock, a write is tried again this often
LOCK_RETRY_SECONDS = 2.0
MAX_SPAN_TRACKED_FILES = 16


class AttemptRow(NamedTuple):
    """One attempt as the recorder hands it to :func:`~rq_obs.store.runs.add_attempts`.

    The fields of :class:`~rq_obs.store.records.Attempt`, same names and order (a test checks),
    which is all ``add_attempts`` reads, and ``summary`` (stored in ``attempts.summary``). A named tuple because one is built per test: ~4,700
    instructions, against ~26,000 for the frozen dataclass (it sets each of its 13 fields through
    ``object.__setattr__``).
    """

    test: str
    outcome: str
    duration: float
    attempt: int
    worker: str
    category: str
    markers: tuple
    variant: str
    started_at: float
    trace_id: str
    span_id: str
    attributes: Mapping[str, Any]
    api_calls: tuple
    summary: str = ""  # the categories this attempt added to pytest's summary line (rq_obs.telemetry.summary)


def _failed(outcome: str) -> bool:
    return outcome == "failed" or outcome == "rerun"


def attempt_outcome(setup: tuple | None, call: tuple | None, teardown_outcome: str) -> tuple[str, float]:
    """(outcome, duration) from (outcome, wasxfail, duration) of setup and call and the teardown outcome."""
    if setup is not None and _failed(setup[0]):
        return "error", setup[2]
    if setup is not None and setup[0] == "skipped":
        return ("xfailed" if setup[1] else "skipped"), setup[2]
    if call is None:
        outcome, duration = ("error" if _failed(teardown_outcome) else "passed"), (setup[2] if setup else 0.0)
        return outcome, duration
    c_outcome, wasxfail, duration = call[:3]
    if wasxfail:
        outcome = "xfailed" if c_outcome == "skipped" else ("xpassed" if c_outcome == "passed" else "failed")
    elif _failed(c_outcome):
        outcome = "failed"
    elif c_outcome == "skipped":
        outcome = "skipped"
    else:
        outcome = "passed"
    if outcome == "passed" and _failed(teardown_outcome):
        outcome = "error"
    return outcome, duration


def _failure_of(part: list, teardown: Any) -> str:
    """The message of the first failed phase of an attempt: setup, call, then teardown."""
    for phase in part[:2]:
        if phase is not None and len(phase) > 3 and phase[3]:
            return phase[3]
    return failure_message(teardown) if real_outcome(teardown) == "failed" else ""


def span_attributes(a: Mapping[str, Any]) -> dict[str, Any]:
    """Per-attempt span attributes from an attempt's fields (the run-wide ones, suite included, are the
    sink's: :meth:`Recorder.start` gives them to its session)."""
    outcome = a["outcome"]
    attrs: dict[str, Any] = {
        "test.case.name": a["test"],
        "test.outcome": outcome,
        "test.attempt": a["attempt"],
        "test.worker": a["worker"],
        "test.variant": a["variant"],
        "test.category": a["category"],
        "test.duration_seconds": a["duration"],
    }
    if outcome in ("passed", "xfailed", "xpassed"):
        attrs["test.case.result.status"] = "pass"
    elif outcome in ("failed", "error"):
        attrs["test.case.result.status"] = "fail"
    if a["markers"]:
        attrs["test.markers"] = list(a["markers"])
    for key, value in a["attributes"].items():
        if key == "experiment":
            attrs["test.experiment"] = value
        else:
            attrs[f"rq_obs.attribute.{key}"] = value
    if a["api_calls"]:
        attrs.update(_api_attributes(a["api_calls"]))
    return attrs


def _api_attributes(calls: tuple[ApiCall, ...]) -> dict[str, Any]:
    first = calls[0]
    models = sorted({c.model for c in calls})
    attrs: dict[str, Any] = {
        "gen_ai.provider.name": first.provider,
        "gen_ai.system": first.provider,
        "gen_ai.request.model": first.model,
        "gen_ai.usage.input_tokens": sum(c.input_tokens for c in calls),
        "gen_ai.usage.output_tokens": sum(c.output_tokens for c in calls),
        "gen_ai.usage.cache_read.input_tokens": sum(c.cached_tokens for c in calls),
        "rq_obs.api.calls": len(calls),
        "rq_obs.api.retries": sum(c.retries for c in calls),
        "rq_obs.api.latency_seconds": sum(c.latency for c in calls),
        "rq_obs.api.status_codes": [c.status_code if c.status_code is not None else 0 for c in calls],
    }
    if len(models) > 1:
        attrs["rq_obs.api.models"] = models
    reasons = [r for c in calls for r in c.retry_reasons]
    if reasons:
        attrs["rq_obs.api.retry_reasons"] = reasons
    errors = sorted({c.error for c in calls if c.error})
    if errors:
        attrs["error.type"] = errors[0]
    known = [c.cost_usd for c in calls if c.cost_usd is not None]
    if known:
        attrs["rq_obs.api.reported_cost_usd"] = sum(known)
    return attrs


class Recorder:
    """Collects the attempts of one run and writes them in batches (see the module docstring)."""

    def __init__(self, store: Store, run: Run, *, price: PriceFn | None = None, sink: Any = None,
                 batch_size: int = BATCH_SIZE, batch_seconds: float = BATCH_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.store = store
        self.run = run
        self.price = price
        self.sink = sink
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.clock = clock
        self.sequence: int | None = None
        self.pending: list[AttemptRow] = []
        self.stored = 0
        self.counts: dict[str, int] = {}
        self._partial: dict[str, list] = {}
        self._seen: dict[str, int] = {}
        self._experiments: set[str] = set()
        self._last_flush = clock()
        #: the run row is in the store (False while the store was locked when the session started)
        self.begun = False
        #: when a write first found the store locked by another process (time.time()), 0.0 when never
        self.locked_since = 0.0
        self._retry_at = 0.0
        #: where the rest of the run went when the store stayed locked to the end (see rq_obs.store.spill)
        self.side_file: Path | None = None

    # -- lifecycle ------------------------------------------------------------------
    @classmethod
    def start(cls, store: Store, *, suite: str, commit: str = "", branch: str = "", experiment: str = "none",
              tracked: tuple = (), price: PriceFn | None = None, sink: Any = None, **kw: Any) -> "Recorder":
        """Write the run row (``incomplete``) and start the session span."""
        started = time.time()
        trace_id = ""
        base: dict[str, Any] = {"test.suite.name": suite}
        if commit:
            base["vcs.ref.head.revision"] = commit
        if branch:
            base["vcs.ref.head.name"] = branch
        run_id = uuid.uuid4().hex
        base["test.run_id"] = run_id
        for f in tracked[:MAX_SPAN_TRACKED_FILES]:
            base[f"rq_obs.tracked_file.{f.path}.sha256"] = f.sha256
        if sink is not None:
            trace_id = sink.start_session(int(started * 1e9), base)
        run = Run(run_id=run_id, suite=suite, started_at=started, status="incomplete", commit=commit, branch=branch,
                  experiment=experiment or "none", host=socket.gethostname(), source="pytest", trace_id=trace_id,
                  tracked_files=tuple(tracked))
        rec = cls(store, run, price=price, sink=sink, **kw)
        store.connect().execute("PRAGMA synchronous=NORMAL")  # run row and batches: no fsync (module docstring)
        rec._write(rec._begin)
        return rec

    def _begin(self) -> None:
        self.sequence = begin_run(self.store, self.run)
        self.begun = True
        if self.sink is not None:
            self.sink.set_session_attributes({"test.run_sequence": self.sequence})

    def _write(self, write: Callable[[], None]) -> bool:
        """Do one store write; False when another process holds the store's write lock (tried again later)."""
        try:
            write()
        except Exception as exc:
            if not is_locked(exc):
                raise
            self.locked_since = self.locked_since or time.time()
            self._retry_at = self.clock() + LOCK_RETRY_SECONDS
            return False
        return True

    @staticmethod
    def phase(part: list, report: Any) -> None:
        """Note a setup or call report in ``part`` ([setup, call, start]): (outcome, xfail?, duration)."""
        # a quarantined failure is reported to pytest as skipped; the store keeps what really happened
        outcome = real_outcome(report)
        # the 4th item: the failure message (only a failed phase has one)
        phase = (outcome, hasattr(report, "wasxfail"), report.duration,
                 failure_message(report) if outcome == "failed" else "")
        if report.when == "setup":
            part[0] = phase
            part[2] = getattr(report, "start", 0.0)
        else:  # "call"
            part[1] = phase
            if not part[2]:
                part[2] = getattr(report, "start", 0.0)

    def report(self, report: Any) -> None:
        """Feed one pytest TestReport (setup, call or teardown phase) of a test identified by its node id.

        For reports from xdist workers: the teardown report completes the attempt with what the
        test recorded, attached as ``report.rq_obs`` (a wire dict). Tests run in this process
        go through :meth:`phase` and :meth:`local_attempt` instead.
        """
        nodeid = report.nodeid
        when = report.when
        if when == "setup" or when == "call":
            part = self._partial.get(nodeid)
            if part is None or when == "setup":
                part = self._partial[nodeid] = [None, None, 0.0]
            self.phase(part, report)
        elif when == "teardown":
            self._wire_attempt(report, nodeid, self._partial.pop(nodeid, None))
        elif report.outcome == "failed":
            # xdist reports a test whose worker crashed once, with phase "???": an error attempt
            part = self._partial.pop(nodeid, None) or [None, None, getattr(report, "start", 0.0)]
            part[1] = None
            self._wire_attempt(report, nodeid, part)

    def _wire_attempt(self, teardown: Any, nodeid: str, part: list | None) -> None:
        wire = getattr(teardown, "rq_obs", None) or {}
        attributes = wire.get("attributes")
        calls = wire.get("calls")
        self._finish_attempt(teardown, nodeid, part, wire, wire.get("variant"),
                             dict(attributes) if attributes else {}, wire.get("dropped") or 0,
                             tuple(call_from_wire(c) for c in calls) if calls else ())

    def local_attempt(self, teardown: Any, part: list, info: Mapping[str, Any] | None, holder: Any) -> None:
        """Complete an attempt that ran in this process: teardown report, phases, item description, holder."""
        attributes = holder.attributes
        calls = holder.calls
        self._finish_attempt(teardown, teardown.nodeid, part, info or {}, holder.variant,
                             dict(attributes) if attributes else {}, holder.dropped, tuple(calls) if calls else ())

    def _finish_attempt(self, teardown: Any, nodeid: str, part: list | None, info: Mapping[str, Any],
                        variant: str | None, attributes: dict, dropped: int, calls: tuple) -> None:
        if part is None:
            part = [None, None, getattr(teardown, "start", 0.0)]
        # a quarantined failure is reported to pytest as skipped; the store keeps what really happened
        td_outcome = real_outcome(teardown)
        outcome, duration = attempt_outcome(part[0], part[1], td_outcome)
        summary = attempt_categories(part[0], part[1], td_outcome if teardown.when == "teardown" else "passed")
        if teardown.when != "teardown":  # xdist's "???" report for a test whose worker crashed
            summary = category(teardown.outcome, teardown.when, False)
        n = self._seen.get(nodeid, 0) + 1
        self._seen[nodeid] = n
        experiment = info.get("experiment") or "none"
        if experiment != "none":
            attributes["experiment"] = experiment
            self._experiments.add(experiment)
        if dropped:
            attributes["dropped_attributes"] = dropped
        if outcome in ("failed", "error") and FAILURE_ATTRIBUTE not in attributes:
            message = _failure_of(part, teardown)
            if message:
                attributes[FAILURE_ATTRIBUTE] = message
        started = part[2] or getattr(teardown, "start", 0.0) or time.time()
        worker = getattr(teardown, "worker_id", None) or "main"
        test_category = info.get("category") or "none"
        markers = tuple(info.get("markers") or ())
        if QUARANTINED in markers:  # pytest's summary counted the absorbed failure or error as quarantined
            summary = " ".join("quarantined" if c in ("failed", "error") else c for c in summary.split())
        variant = variant or info.get("variant") or "control"
        duration = float(duration)
        if self.sink is None:
            attempt = AttemptRow(nodeid, outcome, duration, n, worker, test_category, markers, variant, started, "",
                                 "", attributes, calls, summary)
        else:
            fields = dict(
                test=nodeid, outcome=outcome, duration=duration, attempt=n, worker=worker, category=test_category,
                markers=markers, variant=variant, started_at=started, attributes=attributes, api_calls=calls,
            )
            attrs = span_attributes(fields)
            stop = getattr(teardown, "stop", 0.0) or started + duration
            fields["trace_id"], fields["span_id"] = self.sink.attempt(
                nodeid, int(started * 1e9), int(stop * 1e9), attrs, outcome in ("failed", "error"))
            attempt = AttemptRow(**fields, summary=summary)
        pending = self.pending
        pending.append(attempt)
        counts = self.counts
        counts[outcome] = counts.get(outcome, 0) + 1
        if len(pending) >= self.batch_size or self.clock() - self._last_flush >= self.batch_seconds:
            self.flush()

    def flush(self, *, force: bool = False) -> bool:
        """Write the pending attempts (one transaction); False when the store is locked (they stay pending).

        While locked, a write is tried again every :data:`LOCK_RETRY_SECONDS` (``force``: now).
        """
        self._last_flush = now = self.clock()
        if not force and self._retry_at and now < self._retry_at:
            return False
        if not self.begun and not self._write(self._begin):
            return False
        if not self.pending:
            return True
        batch, self.pending = self.pending, []
        if not self._write(lambda: add_attempts(self.store, self.run, batch, self.price)):
            self.pending = batch + self.pending
            return False
        self.stored += len(batch)
        return True

    def collect_report(self, report: Any) -> None:
        """A collection report that pytest counts (failed: ``error``; skipped, e.g. a module-level skip:
        ``skipped``): one attempt record under the collector's node id, with the error text."""
        outcome = "error" if report.failed else "skipped"
        attributes = {"error": collect_error_text(report)} if report.failed else {}
        n = self._seen.get(report.nodeid, 0) + 1
        self._seen[report.nodeid] = n
        self.pending.append(AttemptRow(report.nodeid or ".", outcome, 0.0, n, "main", "none", (), "control",
                                       time.time(), "", "", attributes, (), outcome))
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def finish(self, *, interrupted: bool = False, exit_code: int | None = None,
               counts: Mapping[str, int] | None = None, lock_wait: float = 5.0) -> str | None:
        """Flush and mark the run complete with pytest's exit code and summary counts; end the spans.

        Waits up to ``lock_wait`` seconds for another process's write lock; when the store is still
        locked, the rest of the run goes to a side file (:attr:`side_file`). Returns a span warning or None.
        """
        finished = time.time()
        try:
            conn = self.store.connect()
            conn.execute(f"PRAGMA busy_timeout={int(lock_wait * 1000)}")
            experiment = next(iter(self._experiments)) if len(self._experiments) == 1 and \
                self.run.experiment == "none" else None
            if self.flush(force=True):
                def complete() -> None:
                    if experiment:
                        with self.store.transaction() as c:
                            c.execute("UPDATE runs SET experiment = ? WHERE run_id = ?", (experiment, self.run.run_id))
                    conn.execute("PRAGMA synchronous=FULL")  # the last commit syncs the whole run
                    finish_run(self.store, self.run, finished, exit_code, dict(counts) if counts is not None else None)

                done = self._write(complete)
            else:
                done = False
            if not done:
                self.side_file = self._spill(finished, exit_code, counts, experiment)
        finally:
            warning = None
            if self.sink is not None:
                total = sum(self.counts.values())
                failed = self.counts.get("failed", 0) + self.counts.get("error", 0)
                warning = self.sink.finish(int(finished * 1e9), {
                    "test.suite.run.status": "aborted" if interrupted else ("failure" if failed else "success"),
                    "test.attempts": total,
                })
        return warning

    def _spill(self, finished: float, exit_code: int | None, counts: Mapping[str, int] | None,
               experiment: str | None) -> Path:
        from rq_obs.store.spill import write_side_file

        price = self.price
        rows = []
        for a in self.pending:  # costs are settled now: the side file is written into the store without a price table
            if a.api_calls and price is not None:
                calls = tuple(c if c.cost_usd is not None else
                              _replace(c, cost_usd=price(c.model, c.input_tokens, c.output_tokens, c.cached_tokens))
                              for c in a.api_calls)
                a = a._replace(api_calls=calls)
            rows.append(a)
        path = write_side_file(self.store.path, self.run, self.begun, rows, finished_at=finished,
                               exit_code=exit_code, counts=counts, experiment=experiment)
        self.pending = []
        return path

    def summary_counts(self) -> dict[str, int]:
        """Counts per summary category of this run's attempts (stored and pending)."""
        from rq_obs.telemetry.summary import counts_of

        stored = []
        if self.begun:
            stored = [r[0] for r in self.store.query("SELECT summary FROM attempts WHERE run_id = ?",
                                                     (self.run.run_id,))]
        return counts_of([*stored, *(a.summary for a in self.pending)])

    def lock_note(self) -> str:
        """One line on what a locked store did to this run ('' when it never was locked)."""
        if not self.locked_since:
            return ""
        where = self.store.path
        if self.side_file is not None:
            return (f"the store {where} was locked by another process (since "
                    f"{time.strftime('%H:%M:%S', time.localtime(self.locked_since))}, still at the end of the session): "
                    f"nothing was lost; the run's remaining results are kept in {self.side_file} and are written "
                    f"into the store at the next test session or `rq-obs push`")
        return (f"the store {where} was locked by another process during the run (from "
                f"{time.strftime('%H:%M:%S', time.localtime(self.locked_since))}): attempts were kept in memory "
                f"and written when the lock cleared; nothing was lost")


def resolve_store_path(option: str | None, env: Mapping[str, str], config_path: str, rootdir: Path,
                       invocation_dir: Path) -> Path:
    """--rq-obs-store (relative to where pytest was started), else RQ_OBS_STORE, else the config's (project root)."""
    if option:
        p = Path(option)
        return p if p.is_absolute() else invocation_dir / p
    if env.get("RQ_OBS_STORE"):
        p = Path(env["RQ_OBS_STORE"])
        return p if p.is_absolute() else invocation_dir / p
    p = Path(config_path)
    return p if p.is_absolute() else rootdir / p


def push(store: Store, url: str, token: str) -> tuple[bool, str]:
    """Push the store's pending runs to an ingest server: (ok, what happened, one line); never raises."""
    from rq_obs.errors import RqObsError

    try:
        from rq_obs.push import push_pending  # type: ignore[import-not-found]
    except ImportError as exc:
        return False, f"cannot push runs to {url}: this rq-obs has no push support ({exc})"
    try:
        report = push_pending(store, url, token)
    except RqObsError as exc:
        return False, f"push to {url} failed: {exc}; runs stay in the store and are sent next time"
    except Exception as exc:  # noqa: BLE001 - pushing must never fail the suite
        return False, f"push to {url} failed: {type(exc).__name__}: {exc}; runs stay in the store"
    return True, (f"pushed {report.pushed} run(s) to {url}: {len(report.stored)} stored, "
                  f"{len(report.duplicates)} already there")
