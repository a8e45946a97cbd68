"""Export a release snapshot's dependencies as a CycloneDX 1.5 JSON SBOM."""

from __future__ import annotations

import json
from pathlib import Path

import click

from rq_obs.commands._common import open_store, store_option


@click.command(help=__doc__)
@click.option("--release", default=None, help="Release. Default: the latest snapshot.")
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="Write here instead of stdout.")
@store_option
@click.pass_context
def command(ctx, release, output, store_path):
    from rq_obs.snapshot.sbom import cyclonedx
    from rq_obs.snapshot.store import load_snapshot, resolve_release

    store = open_store(ctx, store_path)
    release = resolve_release(store, release)
    text = json.dumps(cyclonedx(load_snapshot(store, release)), indent=2, sort_keys=True) + "\n"
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"CycloneDX SBOM of {release} written to {output}")
    else:
        click.echo(text, nl=False)
