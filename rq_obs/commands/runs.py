"""List recent test runs with counts by outcome and pass rate.

Newest first. ``counts`` are the counts of pytest's own summary line (same keys: passed, failed,
error, skipped, xfailed, xpassed, rerun, ...); ``attempt_counts`` count stored attempts by outcome.
Pass rate = passed / (passed + failed + error) of ``counts``. The text table shows pytest's exit code.
"""

from __future__ import annotations

from datetime import datetime, timezone

import click

from rq_obs.commands._common import emit_json, format_option, open_store, store_option

_OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")


def _iso(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@click.command("runs")
@store_option
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs to show.")
@format_option("text", "json")
@click.pass_context
def command(ctx: click.Context, store_path: str | None, limit: int, fmt: str) -> None:
    """List recent test runs, newest first, with counts by outcome and pass rate."""
    from rq_obs.store.runs import list_runs

    store = open_store(ctx, store_path, readonly=True)
    runs = list_runs(store, limit)
    for r in runs:
        r["started"] = _iso(r["started_at"])
        r["finished"] = _iso(r["finished_at"]) if r["finished_at"] is not None else None
    if fmt == "json":
        emit_json(runs)
        return
    if not runs:
        click.echo("no runs in the store yet")
        return
    # other keys of pytest's summary line (subtests passed, deselected, ...) get a column when a shown run has one
    extra = sorted({k for r in runs for k, n in r["counts"].items() if n and k not in (*_OUTCOMES, "rerun")})
    header = ["run_id", "suite", "seq", "started (UTC)", "status", "exit", "commit", *_OUTCOMES, "rerun", *extra,
              "pass rate"]
    rows = [[r["run_id"], r["suite"], str(r["sequence"]), r["started"], r["status"],
             "-" if r["exit_code"] is None else str(r["exit_code"]), (r["commit"] or "-")[:12],
             *(str(r["counts"].get(o, 0)) for o in (*_OUTCOMES, "rerun", *extra)),
             "-" if r["pass_rate"] is None else f"{100 * r['pass_rate']:.1f}%"] for r in runs]
    from rq_obs.commands._table import STATE_COLOURS, echo_table

    echo_table(header, rows, {4: STATE_COLOURS})
