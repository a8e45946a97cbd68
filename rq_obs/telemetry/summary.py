"""Outcome counts the way pytest's terminal summary line counts them ("3 passed, 1 failed, 2 errors").

pytest's ``TerminalReporter`` asks the ``pytest_report_teststatus`` hook for each report's
*category* and appends the report to ``stats[category]``; collection reports go to ``error``
(failed) or ``skipped``. The summary line is ``len(stats[key])`` per non-empty key, leaving out
reports whose ``count_towards_summary`` is false. So one test can count more than once: a test
that passes and then errors in teardown is "1 passed, 1 error", a failure with a teardown error
is "1 failed, 1 error", and each pytest-rerunfailures rerun adds to ``rerun``.

Two sources, by construction:

* :func:`stats_counts` reads the terminal reporter's own ``stats`` at session finish: the counts
  *are* the summary line's (every key but ``warnings``, which are not outcomes).
* :func:`category` is the same decision for one report, from the hook implementations pytest
  and pytest-rerunfailures ship (rerunfailures, then skipping, then runner, then terminal), for
  each stored attempt: which categories it added (its ``summary`` column). It costs a few
  comparisons, where a hook call per report would cost thousands of instructions per test. The
  parity tests check both against pytest's output on every case.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

__all__ = ["KEYS", "NOT_OUTCOMES", "category", "attempt_categories", "stats_counts", "counts_of", "pass_rate",
           "collect_error_text"]

#: the keys pytest prints for test outcomes, in the order its summary line has them (plus reruns)
KEYS = ("passed", "failed", "error", "skipped", "xfailed", "xpassed", "rerun")
#: summary keys that are not outcomes of a test
NOT_OUTCOMES = frozenset({"warnings", ""})
#: stored error text is cut to this many characters (the head and the tail are kept)
MAX_ERROR_TEXT = 8000


def category(outcome: str, when: str, wasxfail: bool) -> str:
    """The summary category pytest gives a report: ``""`` for a passed setup or teardown (not counted)."""
    if outcome == "rerun":  # pytest-rerunfailures
        return "rerun"
    if wasxfail:  # _pytest.skipping
        if outcome == "skipped":
            return "xfailed"
        if outcome == "passed":
            return "xpassed"
    if when == "setup" or when == "teardown" or when == "collect":  # _pytest.runner / terminal
        if outcome == "failed":
            return "error"
        return "skipped" if outcome == "skipped" else ""
    return outcome  # _pytest.terminal: call (and xdist's "???" for a crashed worker: failed)


def attempt_categories(setup: tuple | None, call: tuple | None, teardown: str) -> str:
    """Space-separated categories one attempt added: its setup and call (outcome, wasxfail, ...) and teardown outcome."""
    out = []
    if setup is not None:
        c = category(setup[0], "setup", setup[1])
        if c:
            out.append(c)
    if call is not None:
        c = category(call[0], "call", call[1])
        if c:
            out.append(c)
    c = category(teardown, "teardown", False)
    if c:
        out.append(c)
    return " ".join(out)


def stats_counts(stats: Mapping[str, Iterable[Any]]) -> dict[str, int]:
    """Counts per summary key from a ``TerminalReporter.stats`` (what its summary line prints)."""
    out: dict[str, int] = {}
    for key, reports in stats.items():
        if key in NOT_OUTCOMES:
            continue
        n = sum(1 for r in reports if getattr(r, "count_towards_summary", True))
        if n:
            out[key] = n
    return out


def counts_of(summaries: Iterable[str]) -> dict[str, int]:
    """Counts per key from stored per-attempt ``summary`` strings."""
    out: dict[str, int] = {}
    for s in summaries:
        for key in s.split():
            out[key] = out.get(key, 0) + 1
    return out


def pass_rate(counts: Mapping[str, int]) -> float | None:
    """passed / (passed + failed + error) of a summary; None when none of the three is there."""
    passed = counts.get("passed", 0)
    denom = passed + counts.get("failed", 0) + counts.get("error", 0)
    return passed / denom if denom else None


def collect_error_text(report: Any) -> str:
    """The error text pytest shows for a collection report (cut to :data:`MAX_ERROR_TEXT`)."""
    text = getattr(report, "longreprtext", "") or str(getattr(report, "longrepr", "") or "")
    if len(text) > MAX_ERROR_TEXT:
        half = MAX_ERROR_TEXT // 2
        text = text[:half] + "\n[...]\n" + text[-half:]
    return text


def session_counts(config: Any, recorder: Any) -> dict[str, int]:
    """The session's summary counts: pytest's terminal reporter's ``stats`` when it runs (the summary line's
    own source), else the categories of the attempts the recorder has seen (``-p no:terminal``)."""
    tr = config.pluginmanager.get_plugin("terminalreporter")
    stats = getattr(tr, "stats", None)
    if stats is not None:
        return stats_counts(stats)
    return recorder.summary_counts()
