"""A store with known attributed attempts and the figures counted by hand from it (tests of the routing views)."""

from __future__ import annotations

from rq_obs.store import Store
from rq_obs.store.records import Attempt, Run
from rq_obs.store.runs import save_run

HOUR = 3600.0
DAY = 86400.0


def _a(test, outcome, i, at, markers=(), **attrs):
    return Attempt(test, outcome, 1.0, markers=tuple(markers), started_at=at + i, attributes=attrs)


def write(store: Store, now: float) -> None:
    r1 = now - 3 * HOUR
    save_run(store, Run("r1", "s", r1, finished_at=r1 + 10, attempts=(
        _a("t_amb", "failed", 0, r1, input="my invoice is wrong", expected_route="unknown", chosen_route="billing",
           ambiguous=True),
        _a("t_amb2", "passed", 1, r1, input="refund my invoice", expected_skill="billing", chosen_skill="billing",
           ambiguous="true"),
        _a("t_plain", "passed", 2, r1, input="where is my order", expected_route="orders", chosen_route="orders"),
        _a("t_marked", "failed", 3, r1, markers=("ambiguous",), input="cancel my order now", expected_route="orders"),
        _a("t_skip", "skipped", 4, r1, input="invoice invoice", expected_route="billing", chosen_route="billing",
           ambiguous=True),
        _a("t_none", "passed", 5, r1),
    )))
    r2 = now - 2 * HOUR
    save_run(store, Run("r2", "s", r2, finished_at=r2 + 10, attempts=(
        _a("t_amb", "passed", 0, r2, input="my invoice is wrong", expected_route="billing", chosen_route="billing",
           ambiguous=True),
        _a("t_err", "error", 1, r2, input="Invoice totals wrong"),
    )))
    old = now - 30 * DAY  # outside the 7-day window
    save_run(store, Run("old", "s", old, finished_at=old + 10, attempts=(
        _a("t_amb", "failed", 0, old, input="my invoice is wrong", expected_route="unknown", chosen_route="billing",
           ambiguous=True),
    )))


#: (suite, expected, chosen, ambiguous) -> (attempts, passed), counted by hand from :func:`write`
ROUTES = {
    ("s", "billing", "billing", True): (2, 2),  # t_amb2 (skill aliases, "true"), r2's t_amb; t_skip not counted
    ("s", "unknown", "billing", True): (1, 0),  # r1's t_amb (the 30-day-old one is outside the window)
    ("s", "orders", "none", True): (1, 0),  # t_marked: ambiguous by marker, no chosen route
    ("s", "orders", "orders", False): (1, 1),
}
AMBIGUOUS = (2, 4)  # passed, attempts

#: term -> (attempts, failed), in rank order (most failing attempts, then failure share, then alphabetical)
TERMS = {
    "wrong": (3, 2),  # "my invoice is wrong" gives no bigram: "is" is a stop word between
    "invoice": (4, 2),
    "cancel": (1, 1), "invoice totals": (1, 1), "now": (1, 1), "order now": (1, 1), "totals": (1, 1),
    "totals wrong": (1, 1), "order": (2, 1),
}
INPUTS = (6, 3)  # counted attempts with an input, of which failed
