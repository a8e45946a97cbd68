"""Prepare a generated stack for Docker: `stack wheel` writes the wheel the rq-obs image installs.

rq-obs is not on PyPI: exporters/Dockerfile installs exporters/dist/rq_obs-<version>-py3-none-any.whl,
which this command builds from the running rq-obs (its source tree with pip wheel, or its
installed files repacked). The wheel is git-ignored and not checked by `rq-obs build --check`.
"""

from __future__ import annotations

from pathlib import Path

import click

from rq_obs.commands._common import project_root


@click.group("stack")
def command() -> None:
    """Prepare a generated stack for Docker."""


@command.command("wheel")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="The stack directory (where docker-compose.yml is). Default: the project root.")
@click.pass_context
def wheel(ctx: click.Context, out: str | None) -> None:
    """Write this rq-obs' wheel into OUT/exporters/dist/, where the rq-obs image installs it from.

    Built with `pip wheel --no-deps` when rq-obs runs from a source tree (offline when this Python has
    the build backend), else repacked from the installed distribution's files. Older rq-obs wheels there
    are removed.
    """
    from rq_obs.stack import exporter
    from rq_obs.stack.wheel import wheel_filename, write_wheel

    target = Path(out) if out else project_root(ctx)
    result = write_wheel(target)
    click.echo(f"wrote {result.path} ({result.how} {result.origin})")
    for name in result.removed:
        click.echo(f"removed older wheel {result.path.parent / name}")
    dockerfile = target / exporter.DOCKERFILE
    if not dockerfile.is_file():
        click.echo(f"note: {dockerfile} does not exist yet; run `rq-obs build --out {target}`", err=True)
    elif wheel_filename() not in dockerfile.read_text(encoding="utf-8", errors="replace"):
        click.echo(f"warning: {dockerfile} does not install {wheel_filename()}: another rq-obs version generated "
                   f"it; run `rq-obs build --out {target}` with this one", err=True)


@command.command("collector")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Directory to put the binary in. Default: the tools directory's bin/ "
                   "($RQ_OBS_TOOLS/bin, ~/.cache/rq-obs/tools/bin), where rq-obs looks for it.")
@click.pass_context
def collector(ctx: click.Context, out: str | None) -> None:
    """Build the OpenTelemetry Collector distribution of collector/builder-config.yaml with Go; print its path.

    The components are exactly those the generated collector/otelcol.yaml uses, at one pinned collector
    release. Needs Go and the Go module proxy (exit 2 naming what is missing otherwise).
    """
    from rq_obs.commands._common import config_from
    from rq_obs.stack import distribution
    from rq_obs.toolpaths import tools_dir

    config = config_from(ctx)
    target = Path(out) if out else tools_dir() / "bin"
    click.echo(f"building {distribution.BINARY} (collector {distribution.RELEASE}) with "
               f"{distribution.BUILDER} ...", err=True)
    built = distribution.build(config, target)
    click.echo(f"built in {built.seconds:.0f} s", err=True)
    click.echo(str(built.path))
