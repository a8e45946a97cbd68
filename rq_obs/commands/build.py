"""Generate the whole stack: dashboards, rules, collector, Grafana provisioning, compose."""

from __future__ import annotations

import click

from rq_obs.commands._build_common import build_options, run_build


@click.command("build")
@build_options
@click.pass_context
def command(ctx: click.Context, out: str | None, check: bool) -> None:
    """Write dashboards/, rules/, collector/, grafana/, exporters/ and docker-compose.yml under --out.

    With --check nothing is written: exit 1 and name every file that is missing or differs.
    """
    run_build(ctx, out, check, dashboards_only=False)
