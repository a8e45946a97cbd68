"""Benchmark result files: compare two runs with the regression detector (no store needed)."""

from __future__ import annotations

import click

from rq_obs.commands._common import config_from, emit_json


@click.group(help=__doc__)
def command():
    pass


@command.command("compare")
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("head", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True,
              help="Output format.")
@click.option("--threshold", type=float, default=None, help="Timing threshold (ratio; default regression_threshold, 0.05).")
@click.pass_context
def compare_command(ctx, base, head, fmt, threshold):
    """Compare BASE and HEAD result files (pytest-benchmark JSON saved with --benchmark-save-data, or pyperf JSON).

    Per benchmark: regressed, improved, unchanged or inconclusive (with the rounds a side that would decide it),
    the ratio head/base and its interval. Exit 1 when any benchmark regressed, 2 on a file without raw samples.
    """
    from rq_obs.compare.benchdiff import diff_series, render_markdown, render_text
    from rq_obs.compare.benchfiles import load_bench_file
    from rq_obs.errors import CheckFailed

    config = config_from(ctx, regression_threshold=threshold)
    d = diff_series(load_bench_file(base), load_bench_file(head), config.regression_threshold,
                    config.memory_regression_threshold, config.regression_alpha)
    if fmt == "json":
        emit_json(dict(d.to_dict(), base=str(base), head=str(head)))
    else:
        click.echo(render_markdown(d) if fmt == "markdown" else render_text(d), nl=False)
    if d.regressed:
        raise CheckFailed(f"{len(d.regressed)} benchmarks regressed: " + ", ".join(r.name for r in d.regressed[:5]))
