"""List flaky and broken tests: pass rate, flip rate, stability score and state per test."""

from __future__ import annotations

import time

import click

from rq_obs.commands._common import config_from, emit_json, format_option, open_store, store_option


@click.command("flaky")
@store_option
@click.option("--window", default=None, metavar="DURATION",
              help="Look at runs started this long ago or later (e.g. 7d, 36h). Default: flaky_window from config.")
@click.option("--all", "show_all", is_flag=True, help="List healthy tests too.")
@format_option("text", "json")
@click.pass_context
def command(ctx: click.Context, store_path: str | None, window: str | None, show_all: bool, fmt: str) -> None:
    """List flaky and broken tests over a window of runs.

    A test is broken when it has at least flaky_min_attempts counted attempts and the
    latest flaky_min_attempts all failed; otherwise flaky when it passed and failed on
    the same commit and variant (a pass on rerun counts), or has at least
    flaky_min_attempts counted attempts and a pass rate inside flaky_band; otherwise
    healthy. The same states as the dashboards, rqobs_flaky_tests, rqobs_broken_tests
    and rqobs_test_state. Definitions: docs/ANALYTICS.md ("Words").
    """
    from rq_obs.commands import _analytics_format as f
    from rq_obs.analysis.flaky import STATES
    from rq_obs.analytics.reports import flaky_report

    config = config_from(ctx)
    store = open_store(ctx, store_path, readonly=True)
    now = time.time()
    tests = flaky_report(store, config, now, window, with_first_seen=True)
    summary = {s: sum(1 for t in tests if t.state == s) for s in STATES}
    # healthy by definition (too few attempts to judge) though it never passed: listed, so it is not missed
    unjudged = [t for t in tests if t.state == "healthy" and t.attempts < config.flaky_min_attempts and not t.passed]
    shown = tests if show_all else [t for t in tests if t.state != "healthy"] + unjudged
    order = {"broken": 0, "flaky": 1, "healthy": 2}
    shown = sorted(shown, key=lambda t: (order[t.state], t.stability if t.stability is not None else 0, t.suite, t.test))
    win = window or config.flaky_window
    if fmt == "json":
        emit_json({"window": win, "flaky_band": list(config.flaky_band), "min_attempts": config.flaky_min_attempts,
                   "tests_seen": len(tests), "summary": summary, "tests": [t.to_dict() for t in shown],
                   "never_passed_too_few_attempts": [t.test for t in unjudged]})
        return
    click.echo(f"{len(tests)} tests passed or failed in the last {win} (tests only skipped or xfailed are not "
               f"judged): {summary['flaky']} flaky, {summary['broken']} broken, {summary['healthy']} healthy")
    if unjudged:
        click.echo(f"{len(unjudged)} of the healthy never passed but have fewer than flaky_min_attempts "
                   f"({config.flaky_min_attempts}) attempts: too few to call broken yet (listed below)")
    if not shown:
        return
    header = ("state", "pass", "flips", "stability", "attempts", "last flake", "first seen", "suite", "test")
    rows = [(t.state, f.pct(t.pass_rate), f.pct(t.flip_rate), f"{t.stability:.1f}", str(t.attempts),
             f.when(t.last_flake), f.when(t.first_seen), t.suite, t.test) for t in shown]
    from rq_obs.commands._table import STATE_COLOURS, echo_table

    echo_table(header, rows, {0: STATE_COLOURS})
