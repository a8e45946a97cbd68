"""Store + config -> analysis results: what the commands print and the analytics collector publishes."""

from __future__ import annotations

from dataclasses import dataclass, field

from rq_obs.analysis import executive as ex
from rq_obs.analysis import experiments as exp
from rq_obs.analysis import flaky as fl
from rq_obs.analysis import disambiguation as dis
from rq_obs.analysis import impact as im
from rq_obs.analysis import input_terms as it
from rq_obs.analytics import queries as q
from rq_obs.config import Config
from rq_obs.store.db import Store

__all__ = ["flaky_report", "impact_report", "last_impacts", "experiment_report", "executive_report", "Snapshot",
           "snapshot", "InputsReport", "inputs_report"]


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
class InputsReport:
    """Disambiguation cells and input terms of a window (docs/INSTRUMENTING.md names the attributes)."""

    window: str
    routes: list[dis.RouteCell]
    routes_folded: int  # routes beyond CAPS["route"], folded into __other__
    terms: it.TermReport

    def to_dict(self) -> dict:
        t = self.terms
        passed, attempts = dis.overall(self.routes)
        return {"window": self.window, "routes": [c.to_dict() for c in self.routes], "routes_folded": self.routes_folded,
                "ambiguous": {"passed": passed, "attempts": attempts,
                              "pass_rate": passed / attempts if attempts else None},
                "terms": [x.to_dict() for x in t.totals()], "terms_by_suite": [x.to_dict() for x in t.stats],
                "inputs": t.inputs, "failed_inputs": t.failed_inputs, "terms_seen": t.terms_seen,
                "terms_left_out": t.left_out}


def inputs_report(store: Store, config: Config, now: float, window: str | None = None, suite: str | None = None,
                  top: int | None = None) -> InputsReport:
    """Disambiguation (pass rate by expected vs chosen route) and the top terms of failing inputs."""
    from rq_obs.analysis.flaky import COUNTED
    from rq_obs.catalog import CAPS
    from rq_obs.telemetry import attributes as A

    win = window or config.flaky_window
    seconds = q.duration_seconds(win, "--window" if window else "flaky_window")
    rows = q.attributed_attempts(store, now - seconds, now, suite)
    cells, folded = dis.route_cells(rows, CAPS["route"], min(dis.MAX_ROUTE_LENGTH, config.max_label_length))
    texts = [(r.suite, r.outcome, str(A.get(r.attributes, A.INPUT))) for r in rows
             if r.outcome in COUNTED and A.get(r.attributes, A.INPUT) is not None]
    return InputsReport(win, cells, folded, it.term_stats(texts, top or CAPS["term"]))


@dataclass(frozen=True)
class Snapshot:
    """Everything the analytics collector publishes, computed at ``now``."""

    now: float
    tests: list[fl.TestFlakiness]
    impacts: list[im.Impact]
    experiments: list[exp.ExperimentResult]
    executive: ex.Executive
    inputs: InputsReport | None = field(default=None)


def snapshot(store: Store, config: Config, now: float) -> Snapshot:
    return Snapshot(now, flaky_report(store, config, now), last_impacts(store, config),
                    experiment_report(store, config), executive_report(store, config, now),
                    inputs_report(store, config, now))
