"""Generate a CI pipeline (GitHub, GitLab, Jenkins) that runs the tests, compares releases and enforces gates.

``rq-obs ci generate PATH --provider github|gitlab|jenkins`` writes the pipeline file and
``.quality-gates.yaml`` into the project at PATH.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from rq_obs.commands._common import emit_json, format_option

PROVIDERS = ("github", "gitlab", "jenkins")


class ProjectPath(click.Path):
    """An existing project directory; a provider name given as PATH gets a hint instead of click's error."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and value in PROVIDERS and not os.path.exists(value):
            self.fail(f"Directory {value!r} does not exist; did you mean --provider {value}? "
                      f"(usage: rq-obs ci generate [PATH] --provider {value})", param, ctx)
        return super().convert(value, param, ctx)


@click.group("ci")
def command() -> None:
    """CI pipelines for a project."""


@command.command("generate")
@click.argument("path", type=ProjectPath(exists=True, file_okay=False), default=".")
@click.option("--provider", type=click.Choice(PROVIDERS), required=True, help="CI system to generate for.")
@click.option("--rq-obs-spec", default=None,
              help="What CI installs rq-obs from (it is not on PyPI): a wheel committed in the project, "
                   "'rq-obs @ git+https://...', or a requirement your package index serves. Default: the wheel "
                   "`rq-obs stack wheel` wrote into the stack, when it is committed; else required.")
@click.option("--stack-dir", default=None,
              help="Directory (relative to PATH) of the stack `rq-obs build --out` wrote, checked in CI with "
                   "`rq-obs build-dashboards --check --out DIR`. Default: found under PATH; none found: no check.")
@click.option("--base-branch", default=None,
              help="Branch pull requests target; its latest successful run is the comparison baseline. "
                   "Default: origin's default branch, else the current branch if main or master, else main.")
@click.option("--push-url", default=None,
              help="Also run `rq-obs push --url URL` (token from the RQ_OBS_TOKEN secret): the runs, and the release "
                   "snapshot from the base branch and tags.")
@click.option("--force", is_flag=True, help="Replace an existing pipeline file that differs.")
@format_option("text", "json")
@click.pass_context
def generate(ctx: click.Context, path: str, provider: str, rq_obs_spec: str | None, stack_dir: str | None,
             base_branch: str | None, push_url: str | None, force: bool, fmt: str) -> None:
    """Detect the Python version, package manager, test command, base branch, stack and where CI gets rq-obs;
    write the pipeline and gates file."""
    from rq_obs.cigen import detect, generate as gen, resolve, write
    from rq_obs.cigen.pipeline import dashboards_check
    from rq_obs.config import load

    root = Path(path)
    obj = ctx.find_root().obj or {}
    config = load(root, config_file=obj.get("config_file")).config
    info = detect(root, config)
    plan = resolve(root, base_branch=base_branch, rq_obs_spec=rq_obs_spec, stack_dir=stack_dir, push_url=push_url)
    opts = plan.options
    info, files = gen(root, provider, config, opts, info)
    written = write(root, files, force=force)
    check = dashboards_check(info, opts.stack_dir) if opts.stack_dir is not None else None
    if fmt == "json":
        emit_json({"project": info.to_dict(),
                   "base_branch": {"name": opts.base_branch, "reason": plan.base_branch_reason},
                   "rq_obs": {"spec": opts.rq_obs_spec, "reason": plan.rq_obs_reason},
                   "stack": {"dir": opts.stack_dir, "dashboards_check": check, "reason": plan.stack_reason},
                   "files": [{"path": w.path, "action": w.action} for w in written]})
        return
    click.echo(f"python {info.python_version} ({info.python_source}), {info.package_manager}, "
               f"tests: {info.test_command}")
    click.echo("test dependencies: " + "; ".join(f.describe() for f in info.test_deps)
               + f"; and by the pipeline: {', '.join(info.tools())}")
    click.echo(f"base branch: {opts.base_branch} ({plan.base_branch_reason})")
    click.echo(f"rq-obs from: {opts.rq_obs_spec} ({plan.rq_obs_reason})")
    click.echo(f"dashboards check: {check} ({plan.stack_reason})" if check
               else f"dashboards check: omitted ({plan.stack_reason})")
    for w in written:
        click.echo(f"{w.action:9} {w.path}")
