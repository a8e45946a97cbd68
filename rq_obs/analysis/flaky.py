"""Flaky and broken tests: pass rate, flip rate, stability score and state per test.

Pure functions over attempt rows (see :class:`AttemptRow`); the store query is in
:mod:`rq_obs.analytics.queries`. Definitions (docs/ANALYTICS.md):

- counted attempts: outcome passed, failed or error (skipped/xfailed/xpassed are ignored);
  failed and error are both "fail". Every attempt counts, reruns included.
- pass rate = passed / counted attempts.
- flip rate = outcome changes between consecutive counted attempts (ordered by time,
  run sequence, attempt number) / counted attempts.
- stability = 100 × (1 − flip rate) × max(pass rate, 1 − pass rate).
- a *flake* is a pass and a fail on the same commit (on the same run when the commit
  is unknown) and the same experiment variant — pass-on-rerun is one; ``last_flake`` is when the latest such change happened.
- state: ``broken`` when its latest min_attempts counted attempts all failed (an
  always-failing test, or one that started failing and keeps failing); else ``flaky`` when
  it flaked, or has ≥ min_attempts attempts and a pass rate inside the band (inclusive);
  ``healthy`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, NamedTuple, Sequence

from rq_obs.analysis.stats import percentile

__all__ = ["AttemptRow", "TestFlakiness", "analyse", "analyse_test", "counts_by_state", "counted_in_order",
           "flip_points", "definitions", "words", "COUNTED", "STATES"]

COUNTED = ("passed", "failed", "error")
STATES = ("healthy", "flaky", "broken")


def definitions(band: Sequence[float], min_attempts: int, window: str) -> dict[str, str]:
    """The one sentence per word (state, flake, stability) that panels, alerts and help texts quote.

    The words mean what :func:`analyse_test` computes; docs/ANALYTICS.md ("Words") says the same.
    """
    lo, hi = band
    return {
        "broken": f"Broken: at least {min_attempts} counted attempts in the {window} window and the latest "
                  f"{min_attempts} all failed.",
        "flaky": f"Flaky: not broken, and in the {window} window it passed and failed on the same commit and "
                 f"variant (a pass on rerun counts), or it has at least {min_attempts} counted attempts and a pass "
                 f"rate inside the flaky band {lo:.0%}-{hi:.0%}.",
        "healthy": "Healthy: neither broken nor flaky (tests with too few attempts to judge included).",
        "flake": "A flake: a pass and a fail of one test on the same commit and experiment variant.",
        "stability": "Stability score: 100 x (1 - flip rate) x max(pass rate, 1 - pass rate); 100 = always the "
                     "same outcome, 0 = alternating.",
    }


def words(config) -> dict[str, str]:
    """:func:`definitions` with the thresholds of ``config`` (a :class:`rq_obs.config.Config`)."""
    return definitions(config.flaky_band, config.flaky_min_attempts, config.flaky_window)


class AttemptRow(NamedTuple):
    suite: str
    test: str
    outcome: str
    duration: float
    started_at: float
    attempt: int
    run_id: str
    commit: str
    sequence: int
    variant: str = "control"


@dataclass(frozen=True)
class TestFlakiness:
    suite: str
    test: str
    attempts: int  # counted attempts (passed + failed + error)
    passed: int
    failed: int  # failed + error
    flips: int
    pass_rate: float | None
    flip_rate: float | None
    stability: float | None
    state: str
    flaky_commits: int  # commits (or runs without a commit) with both a pass and a fail
    last_flake: float | None
    duration_p95: float | None
    first_seen: float | None = None

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _order(a: AttemptRow) -> tuple:
    return (a[4], a[8], a[5])  # started_at, run sequence, attempt


def counted_in_order(rows: Iterable[AttemptRow]) -> list[AttemptRow]:
    """The counted attempts of one test in the order flips are counted in (time, run sequence, attempt)."""
    return sorted((r for r in rows if r[2] in COUNTED), key=_order)


def flip_points(rows: Iterable[AttemptRow]) -> list[tuple[AttemptRow, AttemptRow]]:
    """Each flip of one test as (attempt before, attempt after): consecutive counted attempts, one passed and
    the other failed or error. ``len(flip_points(rows)) == analyse_test(...).flips``."""
    counted = counted_in_order(rows)
    return [(a, b) for a, b in zip(counted, counted[1:]) if (a[2] == "passed") != (b[2] == "passed")]


def analyse_test(suite: str, test: str, rows: Sequence[AttemptRow], band: Sequence[float],
                 min_attempts: int) -> TestFlakiness:
    """Flakiness of one test from its attempts in the window (any order)."""
    counted = counted_in_order(rows)
    oks = [r[2] == "passed" for r in counted]
    n = len(oks)
    passed = sum(oks)
    flips = sum(1 for a, b in zip(oks, oks[1:]) if a != b)
    # flakes: a pass and a fail on one commit (one run when the commit is unknown) and one variant
    groups: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(counted):
        groups.setdefault((r[7] or "run:" + r[6], r[9]), []).append(i)
    flaky_commits, last_flake = 0, None
    if 0 < passed < n:
        for idx in groups.values():
            if len(idx) > 1 and len({oks[i] for i in idx}) == 2:
                flaky_commits += 1
                for i, j in zip(idx, idx[1:]):
                    if oks[i] != oks[j]:
                        t = counted[j][4]
                        last_flake = t if last_flake is None or t > last_flake else last_flake
    pass_rate = passed / n if n else None
    flip_rate = flips / n if n else None
    stability = 100.0 * (1.0 - flip_rate) * max(pass_rate, 1.0 - pass_rate) if n else None
    lo, hi = band
    if n >= min_attempts and not any(oks[-min_attempts:]):
        state = "broken"
    elif flaky_commits or (n >= min_attempts and lo <= pass_rate <= hi):
        state = "flaky"
    else:
        state = "healthy"
    return TestFlakiness(
        suite=suite, test=test, attempts=n, passed=passed, failed=n - passed, flips=flips, pass_rate=pass_rate,
        flip_rate=flip_rate, stability=stability, state=state, flaky_commits=flaky_commits, last_flake=last_flake,
        duration_p95=percentile(sorted(r[3] for r in counted), 0.95),
    )


def analyse(rows: Iterable[AttemptRow], band: Sequence[float], min_attempts: int,
            first_seen: dict[tuple[str, str], float] | None = None) -> list[TestFlakiness]:
    """Per (suite, test) flakiness, sorted by suite and test. Tests with no counted attempts are left out."""
    groups: dict[tuple[str, str], list[AttemptRow]] = {}
    for r in rows:
        groups.setdefault((r.suite, r.test), []).append(r)
    out = []
    for (suite, test), group in sorted(groups.items()):
        t = analyse_test(suite, test, group, band, min_attempts)
        if t.attempts == 0:
            continue
        if first_seen is not None:
            t = TestFlakiness(**{**t.to_dict(), "first_seen": first_seen.get((suite, test))})
        out.append(t)
    return out


def counts_by_state(tests: Iterable[TestFlakiness]) -> dict[str, dict[str, int]]:
    """suite -> {state: number of tests}."""
    out: dict[str, dict[str, int]] = {}
    for t in tests:
        d = out.setdefault(t.suite, {s: 0 for s in STATES})
        d[t.state] += 1
    return out
