"""Response diff: what one test's recorded response was in two runs, as a unified diff.

A suite records a response by attaching it to the attempt through the ``rq_obs`` fixture:
``rq_obs.attach(response=text)`` (attribute :data:`ATTRIBUTE`; docs/INSTRUMENTING.md). Attribute values are
cut to 1,024 characters and redacted at record time (:mod:`rq_obs.telemetry.api`), so that is what is
compared. A run's response is that of the test's last attempt in the run that recorded one (a rerun's
answer wins over the first attempt's). The diff is the standard library's :func:`difflib.unified_diff`
of the two texts split into lines: the format ``diff -u`` and ``git diff`` print, which every reader knows.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from rq_obs.analytics.queries import and_equal
from rq_obs.analytics.testdetail import NotFound, attributes_of
from rq_obs.store.db import Store
from rq_obs.telemetry.attributes import RESPONSE

__all__ = ["ATTRIBUTE", "Recorded", "ResponseDiff", "recorded", "diff", "unified"]

#: The attempt attribute a suite attaches its response under.
ATTRIBUTE = RESPONSE  # rq_obs.telemetry.attributes: the one place attribute names live


@dataclass(frozen=True)
class Recorded:
    """One run's recorded response of a test."""

    run_id: str
    suite: str
    sequence: int
    started_at: float
    attempt: int
    variant: str
    outcome: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class ResponseDiff:
    test: str
    a: Recorded
    b: Recorded
    lines: tuple[str, ...]  # the unified diff, one line each, without line ends

    @property
    def changed(self) -> bool:
        return self.a.text != self.b.text

    @property
    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        return {"test": self.test, "a": self.a.to_dict(), "b": self.b.to_dict(), "changed": self.changed,
                "diff": self.text, "lines": [{"n": i, "line": line} for i, line in enumerate(self.lines, start=1)]}


def unified(a: str, b: str, a_label: str, b_label: str) -> list[str]:
    """``difflib.unified_diff`` of two texts, line ends dropped (a missing final newline is no change)."""
    return list(difflib.unified_diff(a.splitlines(), b.splitlines(), a_label, b_label, lineterm=""))


def recorded(store: Store, test: str, suite: str | None = None, run_id: str | None = None,
             limit: int = 20, before: Recorded | None = None) -> list[Recorded]:
    """The test's recorded responses, one per run, newest run first: of one run when ``run_id`` is given,
    of runs started before ``before``'s run when that is given."""
    sql = ("SELECT r.run_id, r.suite, r.sequence, r.started_at, a.attempt, a.variant, a.outcome, a.attributes "
           "FROM attempts a JOIN runs r ON r.run_id = a.run_id WHERE a.test = ? AND instr(a.attributes, ?) > 0")
    params: list = [test, f'"{ATTRIBUTE}"']
    sql += and_equal(params, {"r.suite": suite, "r.run_id": run_id})
    if before is not None:
        sql += " AND (r.started_at < ? OR (r.started_at = ? AND r.sequence < ?))"
        params += [before.started_at, before.started_at, before.sequence]
    sql += " ORDER BY r.started_at DESC, r.sequence DESC, a.attempt DESC"
    out: list[Recorded] = []
    seen: set[str] = set()
    for row in store.query(sql, params):
        if row[0] in seen:
            continue
        value = attributes_of(row[7]).get(ATTRIBUTE)
        if value is None:
            continue
        seen.add(row[0])
        out.append(Recorded(row[0], row[1], row[2], row[3], row[4], row[5], row[6], str(value)))
        if len(out) >= limit:
            break
    return out


def _missing(test: str, what: str, parameter: str) -> NotFound:
    return NotFound(f"{what} recorded no {ATTRIBUTE!r} attribute for test {test!r} (a suite attaches it with "
                    f"rq_obs.attach({ATTRIBUTE}=...); docs/INSTRUMENTING.md)", parameter)


def diff(store: Store, test: str, run_a: str | None = None, run_b: str | None = None,
         suite: str | None = None) -> ResponseDiff:
    """The diff of the test's response from run ``run_a`` to run ``run_b``. ``run_b`` defaults to the latest run
    that recorded a response (other than ``run_a``), ``run_a`` to the latest such run started before ``run_b``."""
    if run_b is None:
        found = [r for r in recorded(store, test, suite, limit=2) if r.run_id != run_a]
        if not found:
            raise _missing(test, "no run" if run_a is None else f"no run but {run_a!r}", "run_b")
        b = found[0]
    else:
        b = (recorded(store, test, suite, run_b, limit=1) or [None])[0]
        if b is None:
            raise _missing(test, f"run {run_b!r}", "run_b")
    if run_a is None:
        a = (recorded(store, test, suite, limit=1, before=b) or [None])[0]
        if a is None:
            raise _missing(test, f"no run before {b.run_id!r}", "run_a")
    else:
        a = (recorded(store, test, suite, run_a, limit=1) or [None])[0]
        if a is None:
            raise _missing(test, f"run {run_a!r}", "run_a")
    lines = unified(a.text, b.text, f"{test} @ run {a.run_id}", f"{test} @ run {b.run_id}")
    return ResponseDiff(test, a, b, tuple(lines))
