"""Shared by `build` and `build-dashboards`."""

from __future__ import annotations

from typing import Callable

import click

from rq_obs import build
from rq_obs.commands._common import config_from, stack_dir
from rq_obs.errors import CheckFailed


def build_options(f: Callable) -> Callable:
    f = click.option("--check", is_flag=True, help="Write nothing; exit 1 naming files that are missing or differ.")(f)
    return click.option("--out", type=click.Path(file_okay=False), default=None,
                        help="Output directory. Default: the project root.")(f)


def run_build(ctx: click.Context, out: str | None, check: bool, *, dashboards_only: bool,
              targets: tuple[str, ...] = ("compose",)) -> None:
    config = config_from(ctx)
    target = stack_dir(ctx, out)
    files = build.collect(config, dashboards_only=dashboards_only, targets=targets)
    if check:
        problems = build.check(target, files)
        for rel, what in problems:
            click.echo(f"{what}: {target / rel}", err=True)
        if problems:
            raise CheckFailed(f"{len(problems)} generated file(s) not current; run `rq-obs build --out {target}`")
        click.echo(f"{len(files)} generated files are current in {target}")
        return
    changed = build.write(target, files)
    click.echo(f"wrote {len(files)} files to {target} ({len(changed)} changed)")
    if not dashboards_only and "compose" in targets:
        from rq_obs.stack.wheel import wheel_path

        if not (target / wheel_path()).is_file():
            click.echo(f"next: rq-obs stack wheel --out {target}   (the rq-obs image installs {wheel_path()})")
