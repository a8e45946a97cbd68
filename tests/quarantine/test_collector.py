"""The quarantine collector: exact exposition from a list file and a store with quarantined attempts."""

from __future__ import annotations

import datetime as dt

from prometheus_client import CollectorRegistry, generate_latest

from rq_obs.config import Config
from rq_obs.exporters.quarantine import QuarantineCollector
from rq_obs.quarantine import MARKER
from rq_obs.store import Attempt, Run, Store, save_run

NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.timezone.utc).timestamp()
DAY = 86400.0


def _scrape(store, config) -> list[str]:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(QuarantineCollector(store, config, clock=lambda: NOW))
    return [ln for ln in generate_latest(reg).decode().splitlines() if not ln.startswith("#")]


def test_entries_by_kind_and_absorbed_failures_per_suite(tmp_path):
    q = tmp_path / "q.yaml"
    q.write_text("quarantine:\n"
                 "  - {nodeid: a, reason: r, expires: '2027-01-31'}\n"
                 "  - {nodeid: b, reason: r, expires: '2026-12-10'}\n"  # within a week: expiring
                 "  - {nodeid: c, reason: r, expires: '2026-12-01'}\n"  # expired
                 "  - {nodeid: d, reason: r, expires: '2026-12-13'}\n")
    store = Store(tmp_path / "s.db")
    flagged = {"markers": (MARKER,)}
    save_run(store, Run("r1", "s1", NOW - DAY, attempts=(
        Attempt("t1", "failed", 1.0, **flagged), Attempt("t1", "passed", 1.0, attempt=2, **flagged),
        Attempt("t2", "error", 1.0, **flagged), Attempt("t3", "failed", 1.0))))
    save_run(store, Run("r2", "s2", NOW - 2 * DAY, attempts=(Attempt("t1", "passed", 1.0, **flagged),)))
    save_run(store, Run("old", "s1", NOW - 8 * DAY, attempts=(Attempt("t9", "failed", 1.0, **flagged),)))  # outside 7d
    save_run(store, Run("r3", "s3", NOW - DAY, attempts=(Attempt("t1", "failed", 1.0),)))  # nothing quarantined: 0
    config = Config(quarantine_file=str(q))
    assert _scrape(store, config) == [
        'rqobs_quarantine_entries{kind="active"} 1.0',
        'rqobs_quarantine_entries{kind="expired"} 1.0',
        'rqobs_quarantine_entries{kind="expiring"} 2.0',
        'rqobs_quarantined_tests{suite="s1"} 2.0',
        'rqobs_quarantined_tests{suite="s2"} 1.0',
        'rqobs_quarantined_tests{suite="s3"} 0.0',
        'rqobs_quarantine_absorbed_failures{suite="s1"} 2.0',
        'rqobs_quarantine_absorbed_failures{suite="s2"} 0.0',
        'rqobs_quarantine_absorbed_failures{suite="s3"} 0.0',
    ]
    q.write_text("quarantine:\n  - {nodeid: a, reason: r, expires: later}\n")
    assert _scrape(store, config)[0] == 'rqobs_quarantined_tests{suite="s1"} 2.0'  # no entries family, no exception
    q.unlink()
    assert _scrape(store, config)[:3] == ['rqobs_quarantine_entries{kind="active"} 0.0',
                                          'rqobs_quarantine_entries{kind="expired"} 0.0',
                                          'rqobs_quarantine_entries{kind="expiring"} 0.0']
