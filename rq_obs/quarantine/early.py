"""Early flake detection: run a new test N extra times before it merges; a flip is reported flaky.

A test is *new* when no complete run of this suite in the store has an attempt of it, or when its
file changed in this commit (``git diff-tree HEAD``) or in the working tree (``git diff HEAD``,
untracked files). When a suite has no complete run in the store, or more than
:data:`MAX_NEW_SHARE` of the collected tests are new (a renamed directory, a fresh clone's store),
nothing is retried and a warning says why: retrying a whole suite is not what was asked.

Each run of a new test is a full pytest attempt (setup, call, teardown; logged like any other), so
pytest's summary, JUnit and the store count every run; a run that fails fails the session as any
failure does (unless quarantined), and the summary names the tests that flipped. The reports carry
``rq_obs_new_run`` (1-based) so the xdist controller, which runs no test, can tell them apart.
Works the way pytest-rerunfailures does: a ``pytest_runtest_protocol`` that calls
``runtestprotocol`` several times; a new test is not also rerun by pytest-rerunfailures.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import pytest

from rq_obs.quarantine import real_outcome
from rq_obs.quarantine.summary import SummarySection

__all__ = ["MAX_NEW_SHARE", "EarlyFlakePlugin", "known_tests", "changed_files", "choose_new"]

MAX_NEW_SHARE = 0.3


def known_tests(store, suite: str) -> set[str] | None:
    """Node ids with an attempt in a complete run of ``suite``; None when the suite has no complete run."""
    if not store.query("SELECT 1 FROM runs WHERE suite = ? AND status = 'complete' LIMIT 1", (suite,)):
        return None
    rows = store.query("SELECT DISTINCT a.test FROM attempts a JOIN runs r ON r.run_id = a.run_id "
                       "WHERE r.suite = ? AND r.status = 'complete'", (suite,))
    return {r[0] for r in rows}


def changed_files(rootpath: Path) -> set[str]:
    """Files (relative to ``rootpath``) changed by the HEAD commit, in the working tree, or untracked."""
    from rq_obs import proc
    from rq_obs.errors import RqObsError

    try:
        top = proc.run(["git", "rev-parse", "--show-toplevel"], cwd=str(rootpath), timeout=10)
        if not top.ok:
            return set()
        names: set[str] = set()
        for args in (["git", "diff-tree", "--root", "--no-commit-id", "--name-only", "-r", "HEAD"],
                     ["git", "diff", "--name-only", "HEAD"],
                     ["git", "ls-files", "--others", "--exclude-standard"]):
            res = proc.run(args, cwd=top.stdout.strip(), timeout=30)
            if res.ok:
                names.update(n for n in res.stdout.splitlines() if n)
    except (RqObsError, OSError):
        return set()
    base = Path(top.stdout.strip())
    out = set()
    for n in names:
        p = base / n
        try:
            out.add(p.resolve().relative_to(rootpath.resolve()).as_posix())
        except ValueError:
            continue
    return out


def choose_new(ids: Iterable[str], known: set[str] | None, changed: set[str], suite: str) -> tuple[set[str], str]:
    """(node ids to retry, a warning or '') by the rules in the module docstring."""
    ids = list(ids)
    if known is None:
        return set(), (f"early flake detection: suite {suite!r} has no complete run in the store yet, so no test "
                       f"can be told new; nothing retried")
    new = {n for n in ids if n not in known or n.split("::", 1)[0] in changed}
    if ids and len(new) > MAX_NEW_SHARE * len(ids):
        return set(), (f"early flake detection: {len(new)} of {len(ids)} tests are new or changed (more than "
                       f"{MAX_NEW_SHARE:.0%}); nothing retried")
    return new, ""


class EarlyFlakePlugin(SummarySection):
    title = "rq-obs early flake detection"

    def __init__(self, config: pytest.Config, cfg, retries: int, warnings: list[str]):
        self.config = config
        self.retries = retries
        self.warnings = list(warnings)
        self.suite = cfg.suite or config.rootpath.name
        self.new: set[str] = set()
        self.runs: dict[str, dict[int, str]] = {}  # nodeid -> run -> passed/failed/skipped
        self.known: set[str] | None = None
        self.changed: set[str] = set()
        try:
            from rq_obs.store import Store
            from rq_obs.telemetry.recorder import resolve_store_path

            path = resolve_store_path(config.getoption("rq_obs_store", None), os.environ, cfg.store_path,
                                      config.rootpath, Path(config.invocation_params.dir))
            if path.is_file():
                store = Store(path, create=False)
                try:
                    self.known = known_tests(store, self.suite)
                finally:
                    store.close()
            self.changed = changed_files(config.rootpath)
        except Exception as exc:  # noqa: BLE001 - never affect the session: no retries
            self.known = None
            self.warnings.append(f"early flake detection off: cannot read the store ({type(exc).__name__}: {exc})")

    def _choose(self, ids: Iterable[str]) -> None:
        self.new, warning = choose_new(ids, self.known, self.changed, self.suite)
        if warning and warning not in self.warnings:
            self.warnings.append(warning)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._choose(item.nodeid for item in session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        self._choose(ids)  # the controller: the same choice its workers make, for its warnings

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        if item.nodeid not in self.new:
            return None
        from _pytest.runner import runtestprotocol

        for run in range(1, self.retries + 2):
            item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
            reports = runtestprotocol(item, nextitem=nextitem, log=False)
            for report in reports:
                report.rq_obs_new_run = run
                item.ihook.pytest_runtest_logreport(report=report)
            item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    def pytest_runtest_logreport(self, report) -> None:
        run = report.__dict__.get("rq_obs_new_run")
        if run is None:
            return
        outcome = real_outcome(report)  # a quarantined failure is a failure
        per = self.runs.setdefault(report.nodeid, {})
        current = per.get(run, "passed")
        if outcome == "failed":
            current = "failed"
        elif outcome == "skipped" and current != "failed" and report.when != "teardown":
            current = "skipped"
        per[run] = current

    def flaky(self) -> list[tuple[str, int, int]]:
        """(nodeid, passed runs, failed runs) of the new tests that flipped."""
        out = []
        for nodeid, per in sorted(self.runs.items()):
            runs = list(per.values())
            passed, failed = runs.count("passed"), runs.count("failed")
            if passed and failed:
                out.append((nodeid, passed, failed))
        return out

    def lines(self) -> list[tuple[str, bool]]:
        out: list[tuple[str, bool]] = []
        if self.runs:
            flaky = self.flaky()
            out.append((f"early flake detection: {len(self.runs)} new test(s) run {self.retries + 1} times each: "
                        f"{len(flaky)} flaky", False))
            out.extend((f"FLAKY (new) {nodeid}: {p} passed, {f} failed of {p + f} runs: fix it before it merges, "
                        f"or quarantine it", False) for nodeid, p, f in flaky)
        out.extend((w, True) for w in self.warnings)
        return out
