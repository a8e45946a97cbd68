"""Generate the whole stack: dashboards, rules, collector, Grafana provisioning, compose."""

from __future__ import annotations

import click

from rq_obs.commands._build_common import build_options, run_build


@click.command("build")
@build_options
@click.option("--target", "targets", multiple=True, type=click.Choice(["compose", "kubernetes", "all"]),
              default=("compose",), show_default=True,
              help="compose: dashboards/, rules/, collector/, grafana/, exporters/, docker-compose.yml; "
                   "kubernetes: the Helm chart charts/rq-obs/ (and charts/kube-prometheus-stack-values.yaml); "
                   "all: both. Repeatable.")
@click.pass_context
def command(ctx: click.Context, out: str | None, check: bool, targets: tuple[str, ...]) -> None:
    """Write the stack for --target under --out (default: the compose stack).

    With --check nothing is written: exit 1 and name every file that is missing or differs.
    """
    from rq_obs.build import TARGETS

    chosen = TARGETS if "all" in targets else tuple(t for t in TARGETS if t in targets)
    run_build(ctx, out, check, dashboards_only=False, targets=chosen)
