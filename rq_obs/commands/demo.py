"""Run the whole product locally: example runs, releases, serve, Prometheus, Alertmanager, Slack sink.

Needs the Debian packages prometheus and prometheus-alertmanager (no Docker). The OpenTelemetry
Collector (`rq-obs stack collector` builds it) and Jaeger v2 (.ci/tools/build-jaeger.sh) run too when
their binaries are found: the example suite then exports its spans through them (it says which ran). Prints one
line per service ("name: url") and runs until Ctrl-C, then stops everything it started.
--docker runs the generated docker-compose.yml instead.
"""

from __future__ import annotations

import signal
import tempfile
import threading
from pathlib import Path

import click


@click.command(help=__doc__)
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None,
              help="Demo directory (empty or absent). Default: a new temporary directory.")
@click.option("--docker", is_flag=True, help="Generate the stack into DIR and run it with docker compose instead.")
@click.option("--quiet", is_flag=True, help="Only print the service lines (the progress line shows only on a terminal).")
def command(directory: str | None, docker: bool, quiet: bool) -> None:
    from rq_obs.demo import runner
    from rq_obs.demo.processes import Services
    from rq_obs.progress import Status

    root = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="rq-obs-demo-"))
    status = Status(quiet, lines=True)  # minutes of start-up: a log (not a terminal) gets a line a step
    say = status.step
    if docker:
        from rq_obs.demo.docker import compose_up

        compose_up(root, say=(lambda s: None) if quiet else (lambda s: click.echo(f"rq-obs demo: {s}", err=True)))
        return
    stop = threading.Event()

    def on_signal(signum, frame) -> None:  # noqa: ARG001
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with Services() as services:
        prepared = runner.prepare(root, say=say, services=services)
        endpoints = runner.start(prepared, services, say=say)
        runner.push_latest(prepared, endpoints)
        status.done()
        for name, url in endpoints.lines():
            click.echo(f"{name}: {url}")
        click.echo("press Ctrl-C to stop")
        while not stop.wait(0.5):
            pass
    if not quiet:
        click.echo(f"rq-obs demo: stopped; the demo directory {root} is kept", err=True)
