"""Store + config -> analysis results: what the commands print and the analytics collector publishes."""

from __future__ import annotations

from dataclasses import dataclass

from rq_obs.analysis import executive as ex
from rq_obs.analysis import experiments as exp
from rq_obs.analysis import flaky as fl
from rq_obs.analysis import impact as im
from rq_obs.analytics import queries as q
from rq_obs.config import Config
from rq_obs.store.db import Store

__all__ = ["flaky_report", "impact_report", "last_impacts", "experiment_report", "executive_report", "Snapshot",
           "snapshot"]


def flaky_report(store: Store, config: Config, now: float, window: str | None = None, *,
                 with_first_seen: bool = False) -> list[fl.TestFlakiness]:
    seconds = q.duration_seconds(window or config.flaky_window, "--window" if window else "flaky_window")
    rows = q.window_attempts(store, now - seconds, now)
    seen = q.first_seen(store) if with_first_seen else None
    return fl.analyse(rows, config.flaky_band, config.flaky_min_attempts, seen)


def impact_report(store: Store, config: Config, path: str | None = None, window: str | None = None) -> list[im.Impact]:
    """Impact of every recorded change (of one path, or all), oldest first per path."""
    seconds = q.duration_seconds(window or config.flaky_window, "--window" if window else "flaky_window")
    events = q.change_events(store, path)
    out = []
    by_path: dict[str, list[im.ChangeEvent]] = {}
    for e in events:
        by_path.setdefault(e.path, []).append(e)
    for p in sorted(by_path):
        evs = by_path[p]
        for i, e in enumerate(evs):
            prev_at = evs[i - 1].changed_at if i > 0 else None
            next_at = evs[i + 1].changed_at if i + 1 < len(evs) else None
            bounds = im.bounds(e.changed_at, seconds, prev_at, next_at)
            tallies = q.first_attempt_tallies(store, bounds[0], bounds[1], bounds[2], e.suite)
            out.append(im.analyse_change(e, bounds, tallies, config.significance_level))
    return out


def last_impacts(store: Store, config: Config) -> list[im.Impact]:
    """The impact of each tracked file's latest change."""
    seconds = q.duration_seconds(config.flaky_window, "flaky_window")
    latest: dict[str, tuple[im.ChangeEvent, float | None]] = {}
    for e in q.change_events(store):  # ordered by path, time: the last one per path wins
        prev = latest.get(e.path)
        latest[e.path] = (e, prev[0].changed_at if prev else None)
    out = []
    for p in sorted(latest):
        e, prev_at = latest[p]
        bounds = im.bounds(e.changed_at, seconds, prev_at, None)
        tallies = q.first_attempt_tallies(store, bounds[0], bounds[1], bounds[2], e.suite)
        out.append(im.analyse_change(e, bounds, tallies, config.significance_level))
    return out


def experiment_report(store: Store, config: Config, name: str | None = None) -> list[exp.ExperimentResult]:
    return exp.analyse_all(q.experiment_arms(store, name), config.significance_level, config.experiment_splits)


def executive_report(store: Store, config: Config, now: float) -> ex.Executive:
    today, week, today_by_model, history = q.costs(store, now)
    return ex.figures(weeks=q.week_counts(store, now), cost_today=today, cost_last_7_days=week,
                      today_by_model=today_by_model, history_by_model=history, now=now,
                      daily_budget_usd=config.daily_budget_usd, slo_pass_rate=config.slo_pass_rate)


@dataclass(frozen=True)
class Snapshot:
    """Everything the analytics collector publishes, computed at ``now``."""

    now: float
    tests: list[fl.TestFlakiness]
    impacts: list[im.Impact]
    experiments: list[exp.ExperimentResult]
    executive: ex.Executive


def snapshot(store: Store, config: Config, now: float) -> Snapshot:
    return Snapshot(now, flaky_report(store, config, now), last_impacts(store, config),
                    experiment_report(store, config), executive_report(store, config, now))
