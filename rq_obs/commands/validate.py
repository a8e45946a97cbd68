"""Check a generated stack: promtool, amtool, the compose schema, the collector's pipelines, image builds.

Prints one line per check (ok / FAIL / n/a naming the missing program's Debian package). A file an
image build needs but that is missing (the exporter's rq-obs wheel) is named with the command that makes it.
Exit 0 when every check passes, 1 when one fails, 2 when a required program is missing.
"""

from __future__ import annotations


import click

from rq_obs.commands._common import stack_dir
from rq_obs.errors import CheckFailed, UsageError


@click.command("validate")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.pass_context
def command(ctx: click.Context, directory: str | None) -> None:
    """Validate the stack under DIRECTORY (default: the project root), as written by `rq-obs build`."""
    from rq_obs.stack.validate import validate_dir

    root = stack_dir(ctx, directory)
    if root.is_dir() and not (root / "docker-compose.yml").is_file() and not (root / "collector").is_dir():
        raise UsageError(f"no generated stack in {root} (no docker-compose.yml, no collector/): run "
                         f"`rq-obs build --out DIR` first, then `rq-obs validate DIR`")
    checks = validate_dir(root)
    for check in checks:
        click.echo(check.line())
    failed = [c for c in checks if not c.ok and not c.missing_tool]
    if failed:
        raise CheckFailed(f"{len(failed)} of {len(checks)} checks failed in {root}")
    missing = [c for c in checks if c.missing_tool]
    if missing:
        raise UsageError(missing[0].detail)
    click.echo(f"all {len(checks)} checks passed in {root}")
