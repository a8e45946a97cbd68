"""Set a project up in one step: settings, the stack and its wheel, the CI pipeline, .gitignore lines.

``rq-obs init [PATH] [--provider github|gitlab|jenkins] [--stack-dir DIR] [--dry-run] [--force]``
"""

from __future__ import annotations

from pathlib import Path

import click

from rq_obs.commands._common import emit_json, format_option

PROVIDERS = ("github", "gitlab", "jenkins")


@click.command("init")
@click.argument("path", type=click.Path(exists=True, file_okay=False), default=".")
@click.option("--provider", type=click.Choice(PROVIDERS), default=None,
              help="CI system. Default: detected from the repository (.github/, .gitlab-ci.yml, Jenkinsfile, origin).")
@click.option("--stack-dir", default="observability", show_default=True,
              help="Directory (relative to PATH) for the generated stack and the rq-obs wheel.")
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing.")
@click.option("--force", is_flag=True, help="Replace files that exist and that init did not write.")
@format_option("text", "json")
@click.pass_context
def command(ctx: click.Context, path: str, provider: str | None, stack_dir: str, dry_run: bool, force: bool,
            fmt: str) -> None:
    """Write the rq-obs settings it detects, the stack, the wheel CI installs, the CI pipeline and .gitignore
    lines; print what it wrote and the next three commands. Running it again changes nothing."""
    from rq_obs.projectinit import apply, plan

    obj = ctx.find_root().obj or {}
    p = plan(Path(path), provider=provider, stack_dir=stack_dir, config_file=obj.get("config_file"))
    changes = p.changes if dry_run else apply(p, force=force)
    if fmt == "json":
        emit_json({"provider": {"name": p.provider, "reason": p.provider_reason}, "stack_dir": p.stack_dir,
                   "settings": {"file": p.settings_file, "values": p.settings}, "dry_run": dry_run,
                   "files": [{"path": c.path, "action": c.action, "why": c.why} for c in changes],
                   "next": list(p.next_commands)})
        return
    click.echo(f"provider: {p.provider} ({p.provider_reason})")
    click.echo(f"settings: " + (", ".join(f"{k} = {v!r}" for k, v in p.settings.items()) + f" -> {p.settings_file}"
                                if p.settings else "kept (the project already has rq-obs settings)"))
    stack = [c for c in changes if c.path.startswith(p.stack_dir + "/") and not c.path.endswith(".whl")]
    actions = sorted({c.action for c in stack})
    click.echo(f"stack: {len(stack)} files in {p.stack_dir}/ (" + ", ".join(
        f"{sum(c.action == a for c in stack)} {a}" for a in actions) + ")")
    verb = "would " if dry_run else ""
    for c in changes:
        if c.path.startswith(p.stack_dir + "/") and not c.path.endswith(".whl"):
            continue
        click.echo(f"{verb}{c.action:9} {c.path}" + (f"  ({c.why})" if c.why else ""))
    if dry_run:
        click.echo("dry run: nothing written")
        return
    click.echo("next:")
    for i, line in enumerate(p.next_commands, 1):
        click.echo(f"  {i}. {line}")
