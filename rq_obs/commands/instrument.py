"""Analyse a code base and add OpenTelemetry tracing, metrics and health endpoints to it.

``rq-obs instrument analyze PATH`` reports the framework, endpoints, database/cache clients and the
packages needed; ``rq-obs instrument apply PATH`` edits the code (``--dry-run`` shows the diff):
tracing, HTTP server metrics, ``@traced`` and ``@profiled`` functions, /metrics, /health, /ready.
"""

from __future__ import annotations

from pathlib import Path

import click

from rq_obs.commands._common import emit_json, format_option


@click.group("instrument")
def command() -> None:
    """Instrument a code base with OpenTelemetry."""


@command.command("analyze")
@click.argument("path", type=click.Path(exists=True, file_okay=False), default=".")
@format_option("text", "json")
def analyze(path: str, fmt: str) -> None:
    """Framework, app objects, endpoints, database/cache clients, async functions and packages needed."""
    from rq_obs.instrument.analyze import render_text
    from rq_obs.instrument.project import analyze as run

    result = run(Path(path))
    if fmt == "json":
        emit_json(result.to_dict())
    else:
        click.echo(render_text(result), nl=False)


@command.command("apply")
@click.argument("path", type=click.Path(exists=True, file_okay=False), default=".")
@click.option("--dry-run", is_flag=True, help="Print the changes as a unified diff; write nothing.")
@click.option("--service-name", default=None, help="OpenTelemetry service.name. Default: the directory name.")
@click.option("--functions", "functions", multiple=True, metavar="NAME[,NAME...]",
              help="Functions to trace with @traced: NAME, Class.method or FILE:NAME (repeatable, comma-separated).")
@click.option("--profile", "profile", multiple=True, metavar="NAME[,NAME...]",
              help="Functions to profile with @profiled (CPU time, peak memory, cProfile while RQ_OBS_PROFILE is "
                   "on at run time): NAME, Class.method or FILE:NAME (repeatable, comma-separated).")
@click.option("--sampling-rate", type=click.FloatRange(0.0, 1.0), default=None, metavar="RATE",
              help="Share of traces to sample, 0 to 1 (parent-based trace-id ratio; written to the settings file; "
                   "RQ_OBS_SAMPLING_RATE overrides it at run time). Default: 1, or what the settings file says.")
@click.option("--force", is_flag=True, help="Write even when the git work tree has uncommitted changes.")
def apply(path: str, dry_run: bool, service_name: str | None, functions: tuple[str, ...], profile: tuple[str, ...],
          sampling_rate: float | None, force: bool) -> None:
    """Add tracing, HTTP metrics, @traced/@profiled, /metrics, /health, /ready, a config file, the dependencies."""
    from rq_obs.errors import UsageError
    from rq_obs.instrument.apply import unified_diff, write
    from rq_obs.instrument.git import uncommitted_changes
    from rq_obs.instrument.project import analyze as run, plan

    root = Path(path)
    names = [n.strip() for f in functions for n in f.split(",") if n.strip()]
    profiles = [n.strip() for f in profile for n in f.split(",") if n.strip()]
    changes = plan(root, run(root), service_name=service_name, functions=names, profile=profiles,
                   sampling_rate=sampling_rate)
    if dry_run:
        click.echo(unified_diff(changes), nl=False)
        return
    if not changes:
        click.echo("nothing to change: already instrumented")
        return
    dirty = uncommitted_changes(root)
    if dirty and not force:
        shown = "; ".join(dirty[:5]) + (f"; ... ({len(dirty)} in all)" if len(dirty) > 5 else "")
        raise UsageError(f"{root} has uncommitted changes ({shown}); commit or stash them, or use --force")
    write(root, changes)
    for c in changes:
        click.echo(f"{'created' if c.old is None else 'updated':8} {c.path}")
