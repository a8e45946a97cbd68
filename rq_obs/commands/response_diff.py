"""Show how one test's recorded response changed between two runs, as a unified diff.

The response is the attempt attribute ``response`` a suite attaches through the ``rq_obs`` fixture
(``rq_obs.attach(response=text)``; docs/INSTRUMENTING.md). Without ``--run``: the two latest runs that
recorded one; with one ``--run A``: from A to the latest other run; with ``--run A --run B``: from A to B.
Exit 0 whether or not the responses differ (``--exit-code`` makes a difference exit 1, like ``git diff``).
"""

from __future__ import annotations

import click

from rq_obs.commands._common import emit_json, format_option, open_store, store_option


@click.command("response-diff")
@click.argument("test")
@store_option
@click.option("--run", "runs", multiple=True, metavar="RUN_ID",
              help="A run id; give it twice (old, then new). Default: the two latest runs with a response.")
@click.option("--suite", default=None, help="Only runs of this suite.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when the responses differ.")
@format_option("text", "json")
@click.pass_context
def command(ctx: click.Context, test: str, store_path: str | None, runs: tuple[str, ...], suite: str | None,
            exit_code: bool, fmt: str) -> None:
    """Diff TEST's recorded response between two runs (attribute 'response')."""
    from rq_obs.analytics.responses import diff
    from rq_obs.errors import CheckFailed, UsageError

    if len(runs) > 2:
        raise UsageError(f"--run: given {len(runs)} times; expected at most two run ids (old, then new)")
    store = open_store(ctx, store_path, readonly=True)
    run_a = runs[0] if len(runs) == 2 else None
    run_b = runs[-1] if runs else None
    if len(runs) == 1:  # one run: from it to the latest other run
        run_a, run_b = runs[0], None
    d = diff(store, test, run_a, run_b, suite)
    if fmt == "json":
        emit_json(d.to_dict())
    elif not d.changed:
        click.echo(f"{test}: the response is the same in run {d.a.run_id} and run {d.b.run_id}")
    else:
        for line in d.lines:
            colour = "green" if line.startswith("+") and not line.startswith("+++") else \
                "red" if line.startswith("-") and not line.startswith("---") else None
            click.secho(line, fg=colour)
    if exit_code and d.changed:
        raise CheckFailed(f"{test}: the response differs between run {d.a.run_id} and run {d.b.run_id}")
