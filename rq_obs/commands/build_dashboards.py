"""Generate only the Grafana dashboards (dashboards/*.json)."""

from __future__ import annotations

import click

from rq_obs.commands._build_common import build_options, run_build


@click.command("build-dashboards")
@build_options
@click.pass_context
def command(ctx: click.Context, out: str | None, check: bool) -> None:
    """Write dashboards/*.json under --out; with --check exit 1 naming stale files."""
    run_build(ctx, out, check, dashboards_only=True)
