"""The quarantine as pytest sees it: a quarantined failure is reported as QUARANTINED, not failed.

pytest decides the exit code and the summary from the reports, so the change is made to the
report, in a ``pytest_runtest_makereport`` wrapper (in the process that runs the test, an xdist
worker included; the attributes set here travel with the report to the controller):

* ``outcome`` becomes ``skipped`` (pytest then neither counts it in ``testsfailed`` nor fails
  the session), ``longrepr`` a skip tuple whose reason names the entry, reason, owner and expiry;
* ``rq_obs_outcome`` keeps the real outcome (``failed``): the recorder stores that, so the store
  sees the failure as it happened; the attempt's markers carry the flag ``rq_obs_quarantined``;
* ``pytest_report_teststatus`` gives it its own category, letter and word (``quarantined``, ``Q``,
  ``QUARANTINED``), so the summary line reads ``1 passed, 1 quarantined`` rather than skipped;
* JUnit XML: skipped (``<skipped message="quarantined: ...">``), which CI tools (GitHub/GitLab
  test reports, Jenkins) show as non-blocking yet listed, where ``<failure>`` would turn the build
  red and a pass would hide it; the entry and the failure's traceback go to ``<properties>``
  (``rq_obs.quarantined``, ``rq_obs.quarantined.call`` / ``.setup`` / ``.teardown``), which junitxml always writes, whereas
  ``<system-out>`` is written only with ``junit_logging`` set.

An expired entry applies no quarantine (its test fails the run again) and is named, with its
owner, in a warning. Collection errors are absorbed only when an entry covers the collector
itself (the module's or class's node id): an entry for one test in a module that fails to import
would otherwise hide every other test of the module.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rq_obs.quarantine.listfile import Entry, QuarantineFileError, QuarantineList, ancestors, covers, read
from rq_obs.quarantine import MARKER
from rq_obs.quarantine.summary import SummarySection

__all__ = ["QuarantinePlugin"]

CATEGORY = "quarantined"


class QuarantinePlugin(SummarySection):
    title = "rq-obs quarantine"

    def __init__(self, qlist: QuarantineList | None, now: float, rootpath: Path, warnings: list[str]):
        self.path = qlist.path if qlist is not None else ""
        entries = qlist.entries if qlist is not None else ()
        self.active = [e for e in entries if not e.expired(now)]
        self.expired = [e for e in entries if e.expired(now)]
        self.rootpath = rootpath
        self.warnings = list(warnings)
        self.absorbed: list[tuple[str, str, dict]] = []  # nodeid, phase, what _absorb noted
        self.collected: set[str] = set()
        self.uncovered_errors: list[tuple[str, list[Entry]]] = []
        self._by_id = {e.nodeid: e for e in self.active}
        for e in self.expired:
            self.warnings.append(f"quarantine entry {e.nodeid} expired {e.expires_text} (owner "
                                 f"{e.owner or 'none'}; {e.reason}): its failures fail the run again; "
                                 f"renew it or remove it ({self.path}:{e.line})")

    @classmethod
    def from_source(cls, config: pytest.Config, source: Path | str, now: float,
                    warnings: list[str]) -> "QuarantinePlugin":
        """From a file, or an ``http(s)://`` URL (`rq-obs serve`'s ``/api/v1/quarantine``)."""
        from rq_obs.quarantine import remote

        try:
            qlist = remote.fetch(source) if isinstance(source, str) else read(source)
        except QuarantineFileError as exc:
            warnings = [*warnings, f"{exc}; no quarantine applied"]
            qlist = None
        return cls(qlist, now, config.rootpath, warnings)

    def entry_for(self, nodeid: str) -> Entry | None:
        """The active entry covering ``nodeid`` (the closest when several do)."""
        by_id = self._by_id
        for candidate in ancestors(nodeid):
            e = by_id.get(candidate)
            if e is not None:
                return e
        return None

    # -- collection ----------------------------------------------------------------
    def pytest_itemcollected(self, item: pytest.Item) -> None:
        self.collected.add(item.nodeid)
        if self.entry_for(item.nodeid) is not None:
            item.add_marker(MARKER)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        self.collected.update(ids)

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector):
        report = yield
        if report.failed:
            entry = self.entry_for(collector.nodeid)
            if entry is not None:
                self._absorb(report, entry, Path(str(collector.path)), 0)
            else:
                inside = [e for e in self.active if covers(collector.nodeid, e.nodeid)]
                if inside:
                    self.uncovered_errors.append((collector.nodeid, inside))
        return report

    # -- tests -----------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call):
        report = yield
        if report.failed:
            entry = self.entry_for(item.nodeid)
            if entry is not None:
                path, lineno, _ = item.location
                failure = report.longreprtext
                self._absorb(report, entry, self.rootpath / path, (lineno or 0) + 1)
                # junitxml writes the properties of the teardown report, which pytest takes from the item
                item.user_properties.append(("rq_obs.quarantined", f"{entry.nodeid}: {entry.describe()}"))
                item.user_properties.append((f"rq_obs.quarantined.{report.when}", failure))
        return report

    def _absorb(self, report, entry: Entry, path: Path, lineno: int) -> None:
        from rq_obs.telemetry.failures import crash_line

        crash = (crash_line(report).splitlines() or [""])[0]
        report.rq_obs_outcome = report.outcome
        report.rq_obs_quarantine = {"entry": entry.nodeid, "reason": entry.reason, "owner": entry.owner,
                                    "expires": entry.expires_text, "message": crash[:500]}
        report.outcome = "skipped"
        report.longrepr = (str(path), lineno, f"quarantined: {entry.describe()}")

    def pytest_runtest_logreport(self, report) -> None:
        q = report.__dict__.get("rq_obs_quarantine")
        if q is not None:
            self.absorbed.append((report.nodeid, report.when, q))

    def pytest_collectreport(self, report) -> None:
        q = report.__dict__.get("rq_obs_quarantine")
        if q is not None:
            self.absorbed.append((report.nodeid, "collect", q))

    def pytest_report_teststatus(self, report, config):
        if report.__dict__.get("rq_obs_quarantine") is not None:
            return CATEGORY, "Q", ("QUARANTINED", {"yellow": True})
        return None

    # -- the end -----------------------------------------------------------------------
    def unknown(self) -> list[Entry]:
        """Active or expired entries matching no collected test, whose file was collected or does not exist."""
        if not self.collected:
            return []
        files = {n.split("::", 1)[0] for n in self.collected}
        covered = {a for n in self.collected for a in ancestors(n)}
        out = []
        for e in [*self.active, *self.expired]:
            if e.nodeid in covered:
                continue
            file = e.nodeid.split("::", 1)[0]
            if file in files or not (self.rootpath / file).exists():
                out.append(e)
        return out

    def lines(self) -> list[tuple[str, bool]]:
        """(line, is_warning) for the terminal summary."""
        out: list[tuple[str, bool]] = []
        for nodeid, when, q in sorted(self.absorbed, key=lambda a: (a[0], a[1])):  # xdist: any order
            phase = "" if when == "call" else f" ({when})"
            out.append((f"QUARANTINED {nodeid}{phase}: {q['message']} -- {q['reason']} (entry {q['entry']}, owner "
                        f"{q['owner'] or 'none'}, expires {q['expires']})", False))
        for nodeid, inside in self.uncovered_errors:
            out.append((f"collection error in {nodeid} is not quarantined: the quarantined "
                        f"{', '.join(e.nodeid for e in inside)} cannot run; quarantine {nodeid} itself to absorb it",
                        True))
        for e in self.unknown():
            out.append((f"quarantine entry {e.nodeid} ({self.path}:{e.line}) matches no test: fix or remove it", True))
        out.extend((w, True) for w in self.warnings)
        return out
