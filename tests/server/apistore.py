"""A store for the read-only API's tests: 12 runs of suite 'shop' every 6 hours up to an hour ago (steady,
flaky, broken, rerun, slow, a test with a recorded response, one with a planted secret, one with an SQL-like
id), an old run outside the 7-day window and a run of suite 'nightly'."""

from __future__ import annotations

import time
from pathlib import Path

from rq_obs.store import Attempt, Run, Store
from rq_obs.store.runs import save_run

#: a credential written into the store behind the recorder's back (the API must still not answer it)
PLANTED = "ghp_" + "Zq8Lm3Xv7Rt2Nw5Kp9Bc4Hd6Jf1Gs0Ya2Ue"
SQLISH = "t::x'); DROP TABLE attempts;--"
NOW = time.time()
HOUR = 3600.0


def _response(run: int) -> str:
    route = "billing" if run % 3 else "unknown"
    return f"intent: refund\nroute: {route}\nreply: we will refund order {100 + run // 4}\nsigned: router"


def _attempts(run: int, started: float) -> list[Attempt]:
    out = []

    def add(test, outcome, duration=0.1, attempt=1, variant="control", **attrs):
        out.append(Attempt(test=test, outcome=outcome, duration=duration, attempt=attempt, variant=variant,
                           started_at=started + len(out), attributes=attrs))

    add("t::steady", "passed")
    ok = run % 2 == 0
    add("t::flaky", "passed" if ok else "failed", **({} if ok else {"failure_message": f"AssertionError: run {run}"}))
    add("t::broken", "failed", failure_message=f"ValueError: boom {run}")
    if run % 4 == 1:
        add("t::rerun", "failed", failure_message="TimeoutError: order service")
        add("t::rerun", "passed", attempt=2)
    else:
        add("t::rerun", "passed")
    add("t::slow", "passed", duration=5.0 + run)
    add("t::answer", "passed" if run % 3 else "failed", variant="v2" if run % 2 else "control",
        response=_response(run), **({} if run % 3 else {"failure_message": "AssertionError: route unknown"}))
    add("t::secret", "failed", failure_message=f"401 with token {PLANTED}", response=f"token={PLANTED}")
    add(SQLISH, "skipped")
    return out




def build(path: Path) -> Path:
    store = Store(path)
    for run in range(1, 13):  # 12 runs of 'shop', one every 6 hours up to an hour ago
        started = NOW - HOUR - (12 - run) * 6 * HOUR
        save_run(store, Run(f"shop-{run:02d}", "shop", started, started + 60, commit=f"c{run:02d}",
                            attempts=tuple(_attempts(run, started))))
    # an old run outside the 7-day window, and another suite with the same test id
    save_run(store, Run("shop-old", "shop", NOW - 20 * 86400, NOW - 20 * 86400 + 60,
                        attempts=(Attempt("t::steady", "failed", 0.1, started_at=NOW - 20 * 86400,
                                          attributes={"failure_message": "old failure"}),)))
    save_run(store, Run("nightly-1", "nightly", NOW - 2 * HOUR, NOW - 2 * HOUR + 60,
                        attempts=(Attempt("t::steady", "failed", 0.2, started_at=NOW - 2 * HOUR),)))
    store.close()
    return path
