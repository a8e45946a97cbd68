"""Show or check the effective configuration and where each value came from."""

from __future__ import annotations

import click

from rq_obs.commands._common import emit_json, format_option, loaded_config
from rq_obs.errors import ConfigError


@click.group("config")
def command() -> None:
    """Show or check the effective configuration."""


@command.command("show")
@format_option("text", "json")
@click.pass_context
def show(ctx: click.Context, fmt: str) -> None:
    """Print every setting, its value, where it came from, and why it exists."""
    loaded = loaded_config(ctx)
    values = loaded.config.public_dict()
    if fmt == "json":
        emit_json({name: {"value": values[name], "source": loaded.sources[name], "why": loaded.config.why(name)}
                   for name in values})
        return
    import json

    for path in loaded.ignored:
        click.echo(f"# not read: {path} ({loaded.files[0]} takes its place)")
    width = max(len(n) for n in values)
    for name, value in values.items():
        shown = json.dumps(value) if not isinstance(value, str) else value
        click.echo(f"{name:<{width}}  {shown}  [{loaded.sources[name]}]")
        click.echo(f"{'':<{width}}  # {loaded.config.why(name)}")


@command.command("check")
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the configuration; list every problem (file, key, what was expected) and exit 2 when there is one."""
    problems: list[str] = []
    loaded = loaded_config(ctx, problems=problems)
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        for problem in problems:
            click.echo(f"rq-obs: error: {problem}", err=True)
        raise ConfigError(f"{len(problems)} problem(s) in the configuration" + " (listed above)")
    where = ", ".join(loaded.files) or "defaults only (no rq-obs.yaml or [tool.rq-obs] found)"
    click.echo(f"config ok: {where}")
    for path in loaded.ignored:
        click.echo(f"note: {path} is not read: {loaded.files[0]} takes its place (only the first of "
                   f"rq-obs.yaml, rq-obs.yml, pyproject.toml [tool.rq-obs] is read)")
