"""pytest plugin: record every test attempt into the rq-obs store (and as OTLP spans).

Off unless asked: ``--rq-obs`` or ``enabled = true`` in the rq-obs config (``RQ_OBS_ENABLED=1``);
``--no-rq-obs`` turns it off again. When off it registers its markers and an inert ``rq_obs``
fixture and does nothing else (no store file, no hooks per test).

Hooks only; the work is in :mod:`rq_obs.telemetry`. One plugin object per process, by role:

* ``_Controller`` where the run is written (pytest itself, or the xdist controller): it turns
  reports into attempts (:class:`~rq_obs.telemetry.recorder.Recorder`). A test that runs in this
  process gets a :class:`~rq_obs.telemetry.api.Holder` for its attempt at setup; the attempt's
  setup and call reports are noted, and at its teardown report the holder and the test's
  markers/category/variant go straight to the recorder (no copies, no wire format).
* ``_Runner`` in each xdist worker: the same holder per attempt, and at the teardown report it
  attaches what the test recorded, with its markers/category/variant, as ``report.rq_obs``
  (plain builtins, so xdist carries it to the controller, whose ``_Controller`` records it).

What is stored agrees with pytest by construction: the run's counts are read from pytest's terminal
reporter at session finish, collection errors and skips are recorded from ``pytest_collectreport``,
and every session that reaches ``pytest_sessionfinish`` is ``complete`` with pytest's exit code
(see :mod:`rq_obs.telemetry.summary`, docs/RECORDS.md). A store locked by another process never
stalls the suite nor loses a run (:mod:`rq_obs.store.spill`).

Per test that is one ``pytest_runtest_setup`` and three ``pytest_runtest_logreport`` calls, no
hook wrappers, no per-test dicts; reports are matched to the running attempt by their location
(cheaper than a node id). Everything heavier happens once per session or once per batch of
attempts (see :mod:`rq_obs.telemetry.recorder` for the write policy). At the end of the session
the store's ``retention_days`` is applied (a single index lookup unless a run has aged out).

Nothing here may change a test's or the session's outcome: every failure of rq-obs is caught,
reported as one ``rq-obs: warning:`` line, and recording stops while the suite goes on.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest



def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rq-obs", "rq-obs test-run telemetry")
    group.addoption("--rq-obs", dest="rq_obs", action="store_const", const=True, default=None,
                    help="Record every test attempt into the rq-obs store (and OTLP spans when an endpoint is set).")
    group.addoption("--no-rq-obs", dest="rq_obs", action="store_const", const=False,
                    help="Do not record, even when the rq-obs config says enabled = true.")
    group.addoption("--rq-obs-store", dest="rq_obs_store", metavar="PATH", default=None,
                    help="Store file; records like --rq-obs (default: $RQ_OBS_STORE, else store_path from the rq-obs config).")
    group.addoption("--rq-obs-push", dest="rq_obs_push", metavar="URL", default=None,
                    help="Record like --rq-obs, then after the run push pending runs to this rq-obs ingest server "
                         "(token from $RQ_OBS_TOKEN).")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from rq_obs.telemetry import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rq_obs_variant(name): experiment arm (variant) this test belongs to.")
    config.addinivalue_line("markers", "rq_obs_experiment(name): experiment this test is part of.")
    config.addinivalue_line("markers", "ambiguous: the test's inputs are deliberately ambiguous (rq-obs disambiguation "
                                       "view; docs/INSTRUMENTING.md).")
    flag = config.getoption("rq_obs", None)
    if flag is False:
        return
    if flag is None and (config.getoption("rq_obs_store", None) or config.getoption("rq_obs_push", None)):
        flag = True  # a store or a push URL asks for recording as plainly as --rq-obs does
    if flag is None:
        from rq_obs.configfiles import may_enable

        if not may_enable(config.rootpath, os.environ):  # off, and no setting could say otherwise
            return
    from rq_obs.errors import RqObsError

    try:
        from rq_obs.config import load

        cfg = load(config.rootpath).config
    except RqObsError as exc:
        if flag:  # recording was asked for: a run that records nothing must not pass for one that did
            raise pytest.UsageError(f"rq-obs config: {exc}; fix it, or run without --rq-obs") from None
        _stderr_warning(f"rq-obs config: {exc}; not recording this run")
        return
    if not (flag or cfg.enabled):
        return
    if hasattr(config, "workerinput"):
        config.pluginmanager.register(_Runner(cfg), "rq_obs_runner")
    elif not config.getoption("collectonly", False):
        config.pluginmanager.register(_Controller(config, cfg), "rq_obs_controller")


@pytest.fixture
def rq_obs(request: pytest.FixtureRequest):
    """Record API calls, tokens, cost, variant and attributes for this test (inert when rq-obs is off)."""
    from rq_obs.telemetry.api import RqObs

    # the holder the plugin made for this item's attempt when its setup began (none when rq-obs is off)
    pm = request.config.pluginmanager
    plugin = pm.get_plugin("rq_obs_controller") or pm.get_plugin("rq_obs_runner")
    attempt = plugin.tests.attempt if plugin is not None else None
    return RqObs(attempt.holder if attempt is not None and attempt.item is request.node else None)


def _spaced_store_outside(config: pytest.Config) -> str | None:
    """The PATH of ``--rq-obs-store PATH`` given with a space, when PATH exists outside the directory pytest
    was started in: pytest parses its arguments before plugins' options are known, counts such a PATH as a
    test path when it chooses the rootdir and ini file, and so starts looking above the project."""
    args = list(config.invocation_params.args)
    here = Path(config.invocation_params.dir).resolve()
    for i, arg in enumerate(args[:-1]):
        if arg == "--rq-obs-store":
            value = (here / args[i + 1]).resolve()
            if value.exists() and not value.is_relative_to(here):
                return args[i + 1]
    return None


#: seconds a store write waits for another process's lock during the session (then tried again later)
RUN_LOCK_WAIT = 0.2


def _stderr_warning(msg: str) -> None:
    sys.stderr.write(f"rq-obs: warning: {msg}\n")


class _Attempt:
    """The attempt running in this process, from the plugin's setup hook to its teardown report."""

    __slots__ = ("item", "holder", "location", "part")

    def __init__(self, item: pytest.Item, holder) -> None:
        self.item = item
        self.holder = holder
        self.location = item.location  # every report of this attempt carries it (cheaper than its node id)
        self.part: list = [None, None, 0.0]  # setup phase, call phase, start (see Recorder.phase)


class _Tests:
    """What the plugin keeps about the test running in this process (pytest runs one at a time)."""

    def __init__(self, cfg) -> None:
        import importlib

        from rq_obs.telemetry.items import LiveEnviron, describe_item

        # the module as sys.modules has it: tests import it by name, and must share its `current` slot
        self.api = importlib.import_module("rq_obs.telemetry.api")
        self._describe_item = describe_item
        self._env = LiveEnviron(os.environ)
        self._max_attributes = cfg.max_attributes
        self._variant_env = cfg.variant_env
        self._experiment_env = cfg.experiment_env
        self.attempt: _Attempt | None = None

    def setup(self, item: pytest.Item) -> None:
        """A new attempt begins: a fresh holder, current for the module-level API and the fixture."""
        holder = self.api.Holder(self._max_attributes)
        self.api.current.holder = holder
        self.attempt = _Attempt(item, holder)

    def owns(self, report: pytest.TestReport) -> _Attempt | None:
        """The running attempt when ``report`` is one of its phases, else None (e.g. a report from an xdist worker)."""
        attempt = self.attempt
        if attempt is not None and report.location == attempt.location:
            return attempt
        return None

    def end(self, attempt: _Attempt) -> None:
        """The attempt's teardown report is in: nothing more is recorded into its holder."""
        self.attempt = None
        if self.api.current.holder is attempt.holder:
            self.api.current.holder = None

    def describe(self, item: pytest.Item) -> dict:
        """The item's markers/category/variant/experiment (at the end of each attempt: markers may be added)."""
        return self._describe_item(item, self._env, self._variant_env, self._experiment_env)


class _Runner:
    """In an xdist worker: a holder per attempt; what it recorded, and the test's markers, onto the teardown report."""

    def __init__(self, cfg) -> None:
        self.tests = _Tests(cfg)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        try:
            self.tests.setup(item)
        except Exception as exc:  # noqa: BLE001 - never affect the test
            _stderr_warning(f"could not prepare {item.nodeid}: {type(exc).__name__}: {exc}")

    @pytest.hookimpl(tryfirst=True)  # before xdist's own hook sends the report to the controller
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":
            return
        try:
            attempt = self.tests.owns(report)
            if attempt is None:
                return
            self.tests.end(attempt)
            wire = self.tests.describe(attempt.item)
            wire.update(attempt.holder.to_wire())
            report.rq_obs = wire
        except Exception as exc:  # noqa: BLE001 - never affect the test
            _stderr_warning(f"could not describe {report.nodeid}: {type(exc).__name__}: {exc}")


class _Controller:
    """Where the run is written: reports -> attempts -> store (and spans)."""

    def __init__(self, config: pytest.Config, cfg) -> None:
        self.config = config
        self.cfg = cfg
        self.recorder = None
        self.store = None
        self.store_path = None
        self.warnings: list[str] = []
        self.notes: list[str] = []
        self.pruned = 0
        self.pushed = ""  # what a successful --rq-obs-push did
        self.tests = _Tests(cfg)  # tests running in this process (none in an xdist controller)

    def warn(self, msg: str) -> None:
        if msg not in self.warnings:
            self.warnings.append(msg)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        sink = None
        try:
            from rq_obs.store import Store
            from rq_obs.telemetry import otlp
            from rq_obs.telemetry.gitinfo import git_info
            from rq_obs.telemetry.recorder import Recorder, price_function, resolve_store_path
            from rq_obs.telemetry.tracked import tracked_states

            cfg, config = self.cfg, self.config
            root = config.rootpath
            spaced = _spaced_store_outside(config)
            if spaced:
                self.warn(f"'--rq-obs-store {spaced}' (with a space): pytest took {spaced} for a test path when it "
                          f"chose its rootdir ({root}) and ini file, before rq-obs' options were known; write "
                          f"--rq-obs-store={spaced} (or set RQ_OBS_STORE)")
            self.store_path = resolve_store_path(config.getoption("rq_obs_store"), os.environ, cfg.store_path, root,
                                                 config.invocation_params.dir)
            self.store = Store(self.store_path, busy_timeout=RUN_LOCK_WAIT)
            self._drain_side_files()
            suite = cfg.suite or root.name
            git = git_info(root)
            tracked = tracked_states(self.store, root, suite, cfg.tracked_files)
            provider = config.hook.pytest_rq_obs_tracer_provider(config=config)
            try:
                sink = otlp.make_sink(cfg.service_name, otlp.endpoint_from(cfg.otlp_endpoint, os.environ), provider)
            except ValueError as exc:  # a malformed endpoint: the run is still recorded, without spans
                self.warn(f"no spans exported: {exc}")
            for problem in sink.problems if sink is not None else ():
                self.warn(f"spans: {problem}")
            self.recorder = Recorder.start(
                self.store, suite=suite, commit=git.commit, branch=git.branch,
                experiment=os.environ.get(cfg.experiment_env) or "none", tracked=tracked,
                price=price_function(cfg.price_table), sink=sink)
        except Exception as exc:  # noqa: BLE001 - never affect the session
            self.warn(f"not recording this run: {type(exc).__name__}: {exc}")
            self.recorder = None
            if sink is not None:
                try:
                    sink.finish(0, {})
                except Exception:  # noqa: BLE001
                    pass

    def _drain_side_files(self) -> None:
        """Runs an earlier session kept next to a locked store go into it now (see rq_obs.store.spill)."""
        from rq_obs.store.spill import drain, is_locked, side_files

        if not side_files(self.store_path):
            return
        try:
            for done in drain(self.store):
                self.notes.append(f"wrote run {done.run_id} ({done.attempts} attempts) from {done.path.name}, kept "
                                  f"there by an earlier session while the store was locked")
        except Exception as exc:  # noqa: BLE001 - never affect the session
            if not is_locked(exc):
                self.warn(f"side files next to {self.store_path}: {exc}")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # what pytest's summary counts from collection: errors (a module that does not import) and skips
        if (report.failed or report.skipped) and self.recorder is not None:
            try:
                self.recorder.collect_report(report)
            except Exception as exc:  # noqa: BLE001 - never affect the session
                self.warn(f"could not record the collection report of {report.nodeid}: {type(exc).__name__}: {exc}")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        # only for tests running in this process (never called in an xdist controller)
        try:
            self.tests.setup(item)
        except Exception as exc:  # noqa: BLE001 - never affect the test
            self.warn(f"could not prepare {item.nodeid}: {type(exc).__name__}: {exc}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        rec = self.recorder
        try:
            attempt = self.tests.owns(report)
            if attempt is None:  # a report from an xdist worker (its data in report.rq_obs), or a test not set up here
                if rec is not None:
                    rec.report(report)
                return
            when = report.when
            if when == "teardown":
                self.tests.end(attempt)
                if rec is not None:
                    try:
                        info = self.tests.describe(attempt.item)
                    except Exception as exc:  # noqa: BLE001 - record the attempt without what could not be read
                        self.warn(f"could not describe {report.nodeid}: {type(exc).__name__}: {exc}")
                        info = None
                    rec.local_attempt(report, attempt.part, info, attempt.holder)
            elif rec is not None:
                rec.phase(attempt.part, report)
        except Exception as exc:  # noqa: BLE001
            self.warn(f"stopped recording at {report.nodeid} (the run stays incomplete): {type(exc).__name__}: {exc}")
            self.recorder = None

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        rec = self.recorder
        if rec is not None:
            try:
                from rq_obs.telemetry.summary import session_counts

                span_warning = rec.finish(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED,
                                          exit_code=int(exitstatus), counts=session_counts(self.config, rec),
                                          lock_wait=self.cfg.store_lock_wait)
                if span_warning:
                    self.warn(span_warning)
                if rec.lock_note():
                    self.warn(rec.lock_note())
            except Exception as exc:  # noqa: BLE001
                self.warn(f"could not finish the run (it stays incomplete): {type(exc).__name__}: {exc}")
        url = self.config.getoption("rq_obs_push")
        if url and self.store is not None:
            from rq_obs.telemetry.recorder import push

            ok, said = push(self.store, url, os.environ.get("RQ_OBS_TOKEN") or self.cfg.token)
            if ok:
                self.pushed = said
            else:
                self.warn(said)
        # after the push, as serve would; not while another process holds the store (the next session prunes)
        if rec is not None and exitstatus != pytest.ExitCode.INTERRUPTED and rec.side_file is None:
            try:
                from rq_obs.store.retention import apply_retention_if_due

                self.pruned = apply_retention_if_due(self.store, self.cfg.retention_days)
            except Exception as exc:  # noqa: BLE001 - never affect the session
                from rq_obs.store.spill import is_locked

                if not is_locked(exc):  # locked: another process is writing, a later session prunes
                    self.warn(f"could not prune runs older than {self.cfg.retention_days} days: "
                              f"{type(exc).__name__}: {exc}")
        if self.config.pluginmanager.get_plugin("terminalreporter") is None:
            for msg in self.warnings:
                _stderr_warning(msg)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        rec = self.recorder
        for note in self.notes:
            terminalreporter.write_line(f"rq-obs: {note}")
        if rec is not None and rec.stored and rec.side_file is None:
            terminalreporter.write_line(
                f"rq-obs: run {rec.sequence} of suite {rec.run.suite!r} ({rec.stored} attempts) stored in "
                f"{self.store_path} [run id {rec.run.run_id}]")
            from rq_obs.telemetry.firstrun import notes

            for line, warn in notes(rec.sequence, rec.run.suite, bool(self.cfg.suite), self.store_path):
                terminalreporter.write_line(f"rq-obs: {'warning: ' if warn else ''}{line}", yellow=warn)
        if self.pushed:
            terminalreporter.write_line(f"rq-obs: {self.pushed}")
        if self.pruned:
            terminalreporter.write_line(
                f"rq-obs: pruned {self.pruned} run(s) older than retention_days = {self.cfg.retention_days} "
                f"from {self.store_path} (counters keep their totals)")
        for msg in self.warnings:
            terminalreporter.write_line(f"rq-obs: warning: {msg}", yellow=True)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.store is not None:
            self.store.close()
