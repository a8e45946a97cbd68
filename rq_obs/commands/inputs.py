"""Disambiguation (pass rate by expected vs chosen route) and the terms of failing inputs.

Reads the attributes tests attached through the rq_obs fixture (input, expected_route,
chosen_route, ambiguous: docs/INSTRUMENTING.md) over a window of runs. Prints tables, JSON, or
a self-contained HTML report with a word cloud of the terms of failing inputs.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from rq_obs.commands._common import config_from, emit_json, format_option, open_store, store_option


@click.command("inputs", help=__doc__)
@store_option
@click.option("--window", default=None, metavar="DURATION",
              help="Look at runs started this long ago or later (e.g. 7d, 36h). Default: flaky_window from config.")
@click.option("--suite", default=None, help="Only this suite.")
@click.option("--top", type=click.IntRange(1, 500), default=None,
              help="How many terms to show (default: the 25 the exporter publishes).")
@format_option("text", "json", "html")
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="Write the report here instead of stdout.")
@click.pass_context
def command(ctx: click.Context, store_path: str | None, window: str | None, suite: str | None, top: int | None,
            fmt: str, output: str | None) -> None:
    from rq_obs.analytics.reports import inputs_report

    config = config_from(ctx)
    store = open_store(ctx, store_path, readonly=True)
    report = inputs_report(store, config, time.time(), window, suite, top)
    if fmt == "json" and output is None:
        emit_json(report.to_dict())
        return
    if fmt == "json":
        import json

        text = json.dumps(report.to_dict(), indent=2, sort_keys=True, default=str) + "\n"
    elif fmt == "html":
        from rq_obs.analytics.inputs_html import render_html

        text = render_html(report)
    else:
        text = _text(report)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"{fmt} report written to {output}")
    else:
        click.echo(text, nl=False)


def _text(report) -> str:
    from rq_obs.analysis.disambiguation import overall
    from rq_obs.commands._table import format_table

    lines = []
    passed, attempts = overall(report.routes)
    lines.append(f"Ambiguous inputs over the last {report.window}: "
                 + (f"{passed} of {attempts} attempts passed ({passed / attempts:.1%})" if attempts
                    else "none recorded (attach ambiguous=True or mark tests @pytest.mark.ambiguous)"))
    if report.routes:
        rows = [(c.suite, "yes" if c.ambiguous else "no", c.expected, c.chosen, f"{c.pass_rate:.1%}", str(c.passed),
                 str(c.attempts)) for c in report.routes]
        lines += format_table(("suite", "ambiguous", "expected", "chosen", "pass", "passed", "attempts"), rows)
    t = report.terms
    lines.append("")
    lines.append(f"Terms in failing inputs: {t.failed_inputs} of {t.inputs} attempts with an input failed; "
                 f"{t.terms_seen} distinct terms" + (f", {t.left_out} not shown" if t.left_out else ""))
    totals = t.totals()
    if totals:
        lines += format_table(("failing", "attempts", "share", "term"),
                              [(str(s.failed), str(s.attempts), f"{s.failure_share:.1%}", s.term) for s in totals])
    return "\n".join(lines) + "\n"
