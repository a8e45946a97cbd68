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
@format_option("text", "json")
@click.pass_context
def command(ctx: click.Context, file: str | None, store_path: str | None, window: str | None, poll: bool,
            show_all: bool, fmt: str) -> None:
    """Show how the pass rate moved after changes of FILE (default: every tracked file).

    Before/after are the first attempts of the suite's runs within the window on
    each side of the change (bounded by the file's neighbouring changes); the
    difference is tested with a two-proportion z-test, per file and per test.
    --poll records changes from git first (run it between test runs, e.g. in CI).
    Definitions: docs/ANALYTICS.md.
    """
    from rq_obs.commands import _analytics_format as f
    from rq_obs.analytics.reports import impact_report
    from rq_obs.errors import UsageError

    config = config_from(ctx)
    store = open_store(ctx, store_path, create=poll)
    polled = None
    if poll:
        from rq_obs.analytics.gitpoll import poll as git_poll

        polled = git_poll(project_root(ctx), store, config.tracked_files)
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
        c = i.change
        lines = "" if c.lines_added is None else f"  +{c.lines_added} -{c.lines_removed}"
        click.echo(f"{c.path}  changed {f.when(c.changed_at)}  commit {c.commit[:12] or '-'}"
                   f"  by {c.author or '-'}{lines}  {c.old_sha256[:12] or '(new)'} -> {c.new_sha256[:12] or '(deleted)'}")
        comp = i.comparison
        ci = "n/a" if not comp or not comp.ci else f"[{100 * comp.ci[0]:+.1f}, {100 * comp.ci[1]:+.1f}] pp"
        click.echo(f"  pass rate before {f.pct(i.before_rate)} ({i.before[0]}/{i.before[1]})  after "
                   f"{f.pct(i.after_rate)} ({i.after[0]}/{i.after[1]})  delta {f.pp(comp.diff if comp else None)}  "
                   f"95% CI {ci}  p = {f.pval(comp.p_value if comp else None)}"
                   + ("  significant" if i.significant else ""))
        for t in i.tests:
            if t.delta:
                click.echo(f"    {t.test}: {f.pct(t.comparison.control)} -> {f.pct(t.comparison.treatment)}  "
                           f"delta {f.pp(t.delta)}  p = {f.pval(t.comparison.p_value)}")
