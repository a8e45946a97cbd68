"""Write the store's history as Prometheus TSDB blocks (promtool), so dashboards show the past.

Replays the store's runs in time order, samples every store-derived counter and gauge every
--step from its first appearance to --end (default: now), checks the OpenMetrics text and
runs `promtool tsdb create-blocks-from openmetrics` into --data-dir. Point Prometheus at that
directory (or move the blocks into its data directory) with a retention longer than the data.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import click

from rq_obs.commands._common import config_from, open_store, store_option
from rq_obs import durations
from rq_obs.errors import UsageError

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
@click.option("--progress/--no-progress", default=None,
              help="Progress bars on stderr. Default: when stderr is a terminal.")
@click.pass_context
def command(ctx, store_path, data_dir, step, start, end, keep_openmetrics, progress):
    from rq_obs.backfill import backfill

    step_s = _seconds(step)
    if step_s > 300:
        click.echo(f"rq-obs: warning: --step {step} is longer than Prometheus' default 5m lookback; instant queries "
                   "will miss samples between steps", err=True)
    t_start, t_end = _time("--start", start), _time("--end", end)
    config = config_from(ctx)
    store = open_store(ctx, store_path)
    show = sys.stderr.isatty() if progress is None else progress
    bars: dict = {}

    def on_progress(phase: str, done: int, total: int) -> None:
        if not show:
            return
        bar = bars.get(phase)
        if bar is None:
            label = {"replay": "replaying runs  ", "samples": "writing samples "}[phase]
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
                      progress=on_progress, bytes_progress=on_bytes)
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
    click.echo(f"run Prometheus with {result.retention_flag} (or longer) so it keeps this history; "
               f"blocks older than the retention are deleted at start-up")


def _iso(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
