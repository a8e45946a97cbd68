"""Generate a CI pipeline (GitHub, GitLab, Jenkins) that runs the tests, compares releases and enforces gates.

``rq-obs ci generate PATH --provider github|gitlab|jenkins`` writes the pipeline file and
``.quality-gates.yaml`` into the project at PATH.
"""

from __future__ import annotations

from pathlib import Path

import click

from rq_obs.commands._common import emit_json, format_option

PROVIDERS = ("github", "gitlab", "jenkins")


@click.group("ci")
def command() -> None:
    """CI pipelines for a project."""


@command.command("generate")
@click.argument("path", type=click.Path(exists=True, file_okay=False), default=".")
@click.option("--provider", type=click.Choice(PROVIDERS), required=True, help="CI system to generate for.")
@click.option("--base-branch", default="main", show_default=True,
              help="Branch pull requests target; its latest successful run is the comparison baseline.")
@click.option("--push-url", default=None, help="Also run `rq-obs push --url URL` (token from the RQ_OBS_TOKEN secret).")
@click.option("--force", is_flag=True, help="Replace an existing pipeline file that differs.")
@format_option("text", "json")
@click.pass_context
def generate(ctx: click.Context, path: str, provider: str, base_branch: str, push_url: str | None, force: bool,
             fmt: str) -> None:
    """Detect the Python version, package manager and test command; write the pipeline and gates file."""
    from rq_obs.cigen import Options, generate as gen, write
    from rq_obs.config import load

    root = Path(path)
    obj = ctx.find_root().obj or {}
    config = load(root, config_file=obj.get("config_file")).config
    info, files = gen(root, provider, config, Options(base_branch=base_branch, push_url=push_url))
    written = write(root, files, force=force)
    if fmt == "json":
        emit_json({"project": info.to_dict(), "files": [{"path": w.path, "action": w.action} for w in written]})
        return
    click.echo(f"python {info.python_version} ({info.python_source}), {info.package_manager}, "
               f"tests: {info.test_command}")
    for w in written:
        click.echo(f"{w.action:9} {w.path}")
