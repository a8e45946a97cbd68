"""Pass rate before and after changes of tracked files (SKILL.md, prompts), with a significance test."""

from __future__ import annotations

import click

from rq_obs.commands._common import config_from, emit_json, format_option, open_store, project_root, store_option


@click.command("impact")
@click.argument("file", required=False)
@store_option
@click.option("--window", default=None, metavar="DURATION",
              help="Compare this long before and after each change (e.g. 7d). Default: flaky_window from config.")
@click.option("--poll", is_flag=True,
              help="First record changes committed to the tracked files since the last poll (git log of the project).")
@click.option("--all", "show_all", is_flag=True, help="Every recorded change, not only the latest per file.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Print FILE's diff at each of its changes beside its pass-rate change (docs/ANALYTICS.md).")
@format_option("text", "json")
@click.pass_context
def command(ctx: click.Context, file: str | None, store_path: str | None, window: str | None, poll: bool,
            show_all: bool, show_diff: bool, fmt: str) -> None:
    """Show how the pass rate moved after changes of FILE (default: every tracked file).

    Before/after are the first attempts of the suite's runs within the window on
    each side of the change (bounded by the file's neighbouring changes); the
    difference is tested with a two-proportion z-test, per file and per test.
    --poll records changes from git first (run it between test runs, e.g. in CI).
    --diff prints FILE's diff at every change (contents kept redacted in the store, else
    found in git history), as GET /api/v1/impact/diff/FILE on rq-obs serve answers.
    Definitions: docs/ANALYTICS.md.
    """
    from rq_obs.analytics.filediff import impact_lines
    from rq_obs.analytics.reports import impact_report
    from rq_obs.errors import UsageError

    if show_diff and file is None:
        raise UsageError("--diff needs FILE, a tracked file's path relative to the project (e.g. skills/x/SKILL.md)")
    config = config_from(ctx)
    store = open_store(ctx, store_path, create=poll)
    polled = None
    if poll:
        from rq_obs.analytics.gitpoll import poll as git_poll

        polled = git_poll(project_root(ctx), store, config.tracked_files)
    if show_diff:
        from rq_obs.analytics import filediff

        diffs = filediff.diff_report(store, config, file, window, project_root(ctx))
        if fmt == "json":
            emit_json(filediff.to_json(diffs, config, file, window))
        else:
            click.echo(filediff.render_text(diffs), nl=False)
        return
    impacts = impact_report(store, config, file, window)
    if file is not None and not impacts:
        known = sorted({i.change.path for i in impact_report(store, config)})
        raise UsageError(f"no recorded change of {file!r} in {store.path}; files with changes: {', '.join(known) or 'none'}")
    if not show_all and file is None:
        last: dict = {}
        for i in impacts:
            last[i.change.path] = i
        impacts = [last[p] for p in sorted(last)]
    if fmt == "json":
        doc = {"window": window or config.flaky_window, "alpha": config.significance_level,
               "changes": [i.to_dict() for i in impacts]}
        if polled is not None:
            doc["polled"] = [c.__dict__ for c in polled]
        emit_json(doc)
        return
    if polled is not None:
        click.echo(f"git poll: {len(polled)} new change event{'s' if len(polled) != 1 else ''} recorded")
    if not impacts:
        click.echo("no tracked-file changes recorded")
        return
    for i in impacts:
        click.echo("\n".join(impact_lines(i)))
