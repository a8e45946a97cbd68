"""Write the store's history as Prometheus TSDB blocks (promtool), so dashboards show the past.

Replays the store's runs in time order, samples every store-derived counter (tests, attempts,
durations, API calls, tokens, cost, tracked-file changes) and the run and tracked-file gauges
every --step from its first appearance to --end (default: now), checks the OpenMetrics text and
runs `promtool tsdb create-blocks-from openmetrics` into --data-dir. Then (--rules, the default)
a temporary Prometheus on 127.0.0.1 evaluates the generated recording rules
(rules/rq-obs.rules.yml) over that history, at the same step, and their series are added as
blocks too: Prometheus itself only records rules from its own start. Analytics, experiment and
release gauges are not backfilled (they start at Prometheus' first scrape), nor are the rules
that read only them. Point Prometheus at that directory (or move the blocks into its data
directory) with a retention longer than the data.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import click

from rq_obs import durations, proc
from rq_obs.commands._common import config_from, open_store, store_option
from rq_obs.errors import RqObsError, UsageError


def _seconds(text: str) -> int:
    step = durations.seconds(text, "--step")
    if step < 1 or step != int(step):
        raise UsageError(f"--step {text!r}: expected whole seconds (OpenMetrics timestamps), e.g. 30s, 5m, 1h")
    return int(step)


def _time(flag: str, text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{flag} {text!r}: expected Unix seconds or an ISO 8601 date/time") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


@click.command(help=__doc__)
@store_option
@click.option("--data-dir", required=True, type=click.Path(file_okay=False),
              help="Directory promtool writes the blocks into (Prometheus' --storage.tsdb.path, or a staging dir).")
@click.option("--step", default="5m", show_default=True, help="Sample spacing; at most 5m so instant queries see a sample.")
@click.option("--start", default=None, help="First sample time (Unix seconds or ISO 8601, UTC). Default: the first run.")
@click.option("--end", default=None, help="Last sample time (Unix seconds or ISO 8601, UTC). Default: now.")
@click.option("--keep-openmetrics", type=click.Path(dir_okay=False), default=None,
              help="Also keep the OpenMetrics text written for promtool at this path.")
@click.option("--rules/--no-rules", default=True, show_default=True,
              help="Also backfill the recording rules, evaluated over the history by a temporary Prometheus "
                   "(Debian package prometheus).")
@click.option("--rules-via", type=click.Choice(["query", "promtool"]), default="query", show_default=True,
              help="query: range queries at --step, a few large blocks; promtool: `promtool tsdb create-blocks-from "
                   "rules` (a block per rule per 2 h: for short histories).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bars on stderr. Default: when stderr is a terminal.")
@click.pass_context
def command(ctx, store_path, data_dir, step, start, end, keep_openmetrics, rules, rules_via, progress):
    from rq_obs.backfill import backfill

    step_s = _seconds(step)
    if step_s > 300:
        click.echo(f"rq-obs: warning: --step {step} is longer than Prometheus' default 5m lookback; instant queries "
                   "will miss samples between steps", err=True)
    t_start, t_end = _time("--start", start), _time("--end", end)
    proc.require("promtool")  # before any work: a replay can take long
    if rules:
        try:
            proc.require("prometheus")
        except UsageError as exc:
            raise UsageError(f"{exc}; --rules evaluates the recording rules over the history with a temporary "
                             "Prometheus (--no-rules backfills without them)") from None
    config = config_from(ctx)
    store = open_store(ctx, store_path)
    show = sys.stderr.isatty() if progress is None else progress
    bars: dict = {}

    def on_progress(phase: str, done: int, total: int) -> None:
        if not show:
            return
        bar = bars.get(phase)
        if bar is None:
            label = {"replay": "replaying runs  ", "samples": "writing samples ", "rules": "recording rules "}[phase]
            bar = bars[phase] = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
            bar.done = 0
        bar.update(done - bar.done)
        bar.done = done
        if done >= total:
            bar.__exit__(None, None, None)

    def on_bytes(n: int) -> None:
        if show:
            click.echo(f"\rvalidating OpenMetrics: {on_bytes.total + n >> 20} MiB", err=True, nl=False)
            on_bytes.total += n

    on_bytes.total = 0
    result = backfill(store, data_dir, step=step_s, start=t_start, end=t_end, keep_openmetrics=keep_openmetrics,
                      max_tests=config.max_tests_per_suite, max_label_length=config.max_label_length,
                      max_series=config.max_series, progress=on_progress, bytes_progress=on_bytes)
    if show and on_bytes.total:
        click.echo("", err=True)
    s = result.stats
    size = sum(b.bytes for b in result.blocks)
    click.echo(f"replayed {result.runs} runs: {s.series} series, {s.samples} samples every {step} from "
               f"{_iso(s.first_sample)} to {_iso(s.last_sample)}")
    took = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    click.echo(f"wrote {len(result.blocks)} block(s) ({size / 1e6:.1f} MB) into {data_dir} ({took})")
    if keep_openmetrics:
        click.echo(f"kept the OpenMetrics text ({s.bytes / 1e6:.1f} MB) at {keep_openmetrics}")
    if result.offset_series:
        click.echo(f"{result.offset_series} series include totals of runs pruned from the store; those counts appear "
                   "at the series' first sample")
    if result.folded_tests:
        click.echo(f"{result.folded_tests} tests over max_tests_per_suite were folded into __other__, as on /metrics")
    if result.skipped_totals:
        click.echo("totals not in the metric catalogue were not backfilled: " + ", ".join(result.skipped_totals))
    if rules and s.first_sample is not None:
        _rules(config, data_dir, s.first_sample, s.last_sample, step_s, step, rules_via, on_progress)
    click.echo(f"run Prometheus with {result.retention_flag} (or longer) so it keeps this history; "
               f"blocks older than the retention are deleted at start-up")


def _iso(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _rules(config, data_dir, first: float, last: float, step_s: int, step: str, via: str, progress) -> None:
    from rq_obs.backfill.rules import backfill_rules, deployed_rules
    from rq_obs.rules.prometheus import RECORDING_PATH

    rules = deployed_rules(config)
    try:
        result = backfill_rules(data_dir, rules, start_time=first, end_time=last, step=step_s, via=via,
                                progress=progress)
    except RqObsError as exc:
        raise UsageError(f"recording rules not backfilled: {exc} (the store's history is in {data_dir} already; "
                        "--no-rules skips the rules)") from None
    how = "range queries" if via == "query" else "promtool tsdb create-blocks-from rules"
    click.echo(f"recording rules: {len(rules)} from {RECORDING_PATH}, evaluated every {step} from "
               f"{_iso(result.start)} to {_iso(result.end)} via {how}, in {len(result.passes)} pass(es)")
    for n, p in enumerate(result.passes, 1):
        t = p.seconds
        click.echo(f"  pass {n}: {len(p.rules)} rules; Prometheus ready in {t['start']:.1f} s, evaluated in "
                   f"{t['evaluate']:.1f} s, {len(p.blocks)} block(s) written in {t['blocks']:.1f} s")
    width = max((len(r.record) for r in result.rules if r.samples), default=0)
    for r in result.rules:
        if r.samples:
            series = f"{r.series} series, " if r.series is not None else ""
            click.echo(f"  {r.record:{width}}  {series}{r.samples} samples")
    size = sum(b.bytes for b in result.blocks)
    click.echo(f"wrote {result.samples} rule samples in {len(result.blocks)} block(s) ({size / 1e6:.1f} MB) "
               f"into {data_dir}")
    if result.without_data:
        click.echo(f"no samples for {len(result.without_data)} rules (their inputs have no history in {data_dir}: "
                   "analytics, experiment and release gauges are not backfilled): " + ", ".join(result.without_data))
