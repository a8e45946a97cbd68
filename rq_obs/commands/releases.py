"""List release snapshots, show trends over releases, export release metrics (CSV, JSON, Parquet)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from rq_obs.commands._common import config_from, emit_json, format_option, open_store, store_option


@click.group(help=__doc__)
def command():
    pass


@command.command("list", help="Release snapshots, oldest first, with score and counts.")
@click.option("--last", type=click.IntRange(1, 10000), default=50, show_default=True)
@store_option
@format_option("text", "json")
@click.pass_context
def list_(ctx, last, store_path, fmt):
    from rq_obs.snapshot.history import rows, views
    from rq_obs.snapshot.store import load_recent

    rs = rows(views(load_recent(open_store(ctx, store_path), last), config_from(ctx)))
    if fmt == "json":
        emit_json(rs)
        return
    for r in rs:
        when = datetime.fromtimestamp(r["created_at"], tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
        score = "—" if r["quality_score"] is None else f"{r['quality_score']:.1f}"
        click.echo(f"{r['release']:<20} {when}  {r['commit'][:12]:<12}  score {score:>5}  deps "
                   f"{r['dependencies_direct']}+{r['dependencies_transitive']}  benchmarks {r['benchmarks']}")


@command.command(help="Trend of a release metric: slope per release, anomalies, forecast.")
@click.option("--metric", default="quality_score", show_default=True,
              help="quality_score, pass_rate, coverage, dependencies, vulnerabilities, regressions, or benchmark:<operation> (mean).")
@click.option("--last", type=click.IntRange(2, 10000), default=20, show_default=True)
@click.option("--forecast", "periods", type=click.IntRange(0, 50), default=3, show_default=True)
@store_option
@format_option("text", "json")
@click.pass_context
def trends(ctx, metric, last, periods, store_path, fmt):
    from rq_obs.analysis.trends import analyse
    from rq_obs.errors import UsageError
    from rq_obs.snapshot.history import METRICS, value_of, views
    from rq_obs.snapshot.store import load_recent

    if metric not in METRICS and not metric.startswith("benchmark:"):
        raise UsageError(f"--metric {metric!r}: expected one of {', '.join(METRICS)} or benchmark:<operation>")
    vs = views(load_recent(open_store(ctx, store_path), last), config_from(ctx))
    points = [(v.snap.release, value_of(v, metric)) for v in vs]
    points = [(r, x) for r, x in points if x is not None]
    if not points:
        raise UsageError(f"no release has a value for {metric}")
    higher = METRICS.get(metric, ("", False))[1]
    t = analyse(metric, points, higher_is_better=higher, periods=periods)
    if fmt == "json":
        emit_json(t.to_dict())
        return
    click.echo(f"{metric} over {len(points)} releases: {t.direction}, slope {t.slope:+.4g} per release")
    click.echo(f"  mean {t.mean:.4g}, stddev {t.stddev:.4g}, min {t.min:.4g}, max {t.max:.4g}")
    for r, x in t.points:
        click.echo(f"  {r:<20} {x:.4g}" + ("  <- anomaly" if r in t.anomalies else ""))
    if t.forecast:
        click.echo("  forecast: " + ", ".join(f"{x:.4g}" for x in t.forecast))


@command.command(help="Export per-release metrics (one row per release).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "parquet"]), default="csv", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="Output file (required for parquet).")
@click.option("--last", type=click.IntRange(1, 100000), default=1000, show_default=True)
@store_option
@click.pass_context
def export(ctx, fmt, output, last, store_path):
    from rq_obs.errors import UsageError
    from rq_obs.snapshot.export import to_csv, to_json, write_parquet
    from rq_obs.snapshot.history import rows, views
    from rq_obs.snapshot.store import load_recent

    if fmt == "parquet" and not output:
        raise UsageError("--format parquet needs --output FILE")
    rs = rows(views(load_recent(open_store(ctx, store_path), last), config_from(ctx)))
    if fmt == "parquet":
        write_parquet(rs, Path(output))
    else:
        text = to_csv(rs) if fmt == "csv" else to_json(rs)
        if not output:
            click.echo(text, nl=False)
            return
        Path(output).write_text(text, encoding="utf-8")
    click.echo(f"{len(rs)} releases exported to {output} ({fmt})", err=True)
