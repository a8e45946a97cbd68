"""Compare two release snapshots: performance, dependencies, environment, tests, quality score.

Prints a report (text, markdown for a PR comment or job summary, json, html) with a
recommendation approve / review / block and a risk level. Exit 1 when the recommendation is block,
which is exactly when one of `rq-obs gate`'s gates fails (same thresholds: config <
.quality-gates.yaml in the project; regressions are timing and memory).
"""

from __future__ import annotations

from pathlib import Path

import click

from rq_obs.commands._common import config_from, open_store, project_root, store_option


@click.command(help=__doc__)
@click.argument("base")
@click.argument("head")
@store_option
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json", "html", "pdf"]), default="text",
              show_default=True, help="Report format (pdf: the HTML report printed by headless Chromium; needs --output).")
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="Write the report here instead of stdout.")
@click.option("--threshold", type=float, default=None, help="Regression threshold (ratio; default regression_threshold, 0.05).")
@click.pass_context
def command(ctx, base, head, store_path, fmt, output, threshold):
    from rq_obs.analysis.gates import thresholds
    from rq_obs.compare import compare
    from rq_obs.compare.report import render
    from rq_obs.errors import CheckFailed, UsageError
    from rq_obs.snapshot.store import load_snapshot

    if fmt == "pdf" and not output:
        raise UsageError("--format pdf writes a file: give --output FILE.pdf")
    config = config_from(ctx, regression_threshold=threshold)
    store = open_store(ctx, store_path)
    limits = thresholds(config, project_root(ctx))
    comp = compare(load_snapshot(store, base), load_snapshot(store, head), config, limits)
    if fmt == "pdf":
        from rq_obs.compare.report.browser import html_to_pdf

        html_to_pdf(render(comp, "html"), Path(output))
        click.echo(f"pdf report written to {output}: {comp.recommendation} (risk {comp.risk})")
    elif output:
        Path(output).write_text(render(comp, fmt), encoding="utf-8")
        click.echo(f"{fmt} report written to {output}: {comp.recommendation} (risk {comp.risk})")
    else:
        click.echo(render(comp, fmt), nl=False)
    if comp.recommendation == "block":
        raise CheckFailed(f"recommendation for {head} vs {base} is block: " + "; ".join(comp.reasons[:3]))
