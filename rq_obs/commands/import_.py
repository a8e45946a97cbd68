"""Import test results from other tools into the store (JUnit XML).

``rq-obs import junit FILE...``: one run per file, idempotent (the run id is derived from the
file's content); reruns count as attempts, whether written as flakyFailure/rerunFailure elements or
as pytest-rerunfailures' repeated test cases; pytest class names become node ids where the project's
files match (docs in :mod:`rq_obs.telemetry.junit`).
"""

from __future__ import annotations

import click

from rq_obs.commands._common import config_from, emit_json, format_option, open_store, project_root, store_option


@click.group("import")
def command() -> None:
    """Import test results from other tools into the store."""


@command.command("junit")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@store_option
@click.option("--suite", default=None, help="Suite label (default: config suite, else the XML's suite name).")
@click.option("--commit", default=None, help="Commit the results belong to (default: git HEAD of the project).")
@click.option("--branch", default=None, help="Branch the results belong to (default: the project's git branch).")
@format_option("text", "json")
@click.pass_context
def junit(ctx: click.Context, files: tuple[str, ...], store_path: str | None, suite: str | None, commit: str | None,
          branch: str | None, fmt: str) -> None:
    """Import JUnit XML FILEs, one run each. Every file is checked before anything is stored."""
    from rq_obs.telemetry.gitinfo import git_info
    from rq_obs.telemetry.junit import parse_junit
    from rq_obs.telemetry.recorder import price_function
    from rq_obs.store.outcomes import set_outcome
    from rq_obs.store.runs import save_run

    cfg = config_from(ctx)
    if commit is None or branch is None:
        git = git_info(project_root(ctx))
        commit = git.commit if commit is None else commit
        branch = git.branch if branch is None else branch
    project = project_root(ctx)
    parsed = [parse_junit(f, suite=suite or cfg.suite, commit=commit, branch=branch, project=project) for f in files]
    store = open_store(ctx, store_path, create=True)
    price = price_function(cfg.price_table)
    results = []
    for jf in parsed:
        res = save_run(store, jf.run, price)
        if res.stored:  # what pytest's summary line said (reruns apart), as `rq-obs runs` shows it
            with store.transaction() as conn:
                set_outcome(conn, jf.run.run_id, None, jf.counts)
        counts: dict[str, int] = {}
        for a in jf.run.attempts:
            counts[a.outcome] = counts.get(a.outcome, 0) + 1
        results.append({"file": jf.path, "run_id": jf.run.run_id, "suite": jf.run.suite, "sequence": res.sequence,
                        "stored": res.stored, "attempts": len(jf.run.attempts), "counts": counts})
    if fmt == "json":
        emit_json(results)
        return
    for r in results:
        what = ", ".join(f"{n} {o}" for o, n in sorted(r["counts"].items())) or "no tests"
        if r["stored"]:
            click.echo(f"{r['file']}: run {r['sequence']} of suite {r['suite']!r}: {r['attempts']} attempts ({what})")
        else:
            click.echo(f"{r['file']}: already imported as run {r['sequence']} of suite {r['suite']!r}; nothing changed")
