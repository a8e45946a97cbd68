"""Push local test runs and release snapshots to an rq-obs serve ingest API (retries with backoff).

Sends every complete run not pushed yet, then every release snapshot not pushed since it was
taken (optionally only those started or taken after --since; --no-snapshots sends runs only),
marks each pushed only after the server confirms it is on disk, and exits 2 naming how many
are still pending when the server stays unreachable (they stay for the next push).
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone

import click

from rq_obs.commands._common import emit_json, format_option, open_store, store_option
from rq_obs import durations
from rq_obs.errors import UsageError



def parse_since(text: str, now: float | None = None) -> float:
    """An ISO date/time (UTC when no zone) or a duration back from now (30m, 24h, 7d) -> Unix time."""
    if durations.problem(text) is None:
        return (time.time() if now is None else now) - durations.seconds(text, "--since")
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--since {text!r}: expected an ISO date (2026-11-20, 2026-11-20T08:00) or a duration "
                         f"(30m, 24h, 7d)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


@click.command("push")
@store_option
@click.option("--url", required=True,
              help="The server (http://host:9464) or one of its ingest URLs (.../api/v1/runs, .../api/v1/snapshots).")
@click.option("--token", default=None, help="Bearer token. Default: RQ_OBS_TOKEN (prefer it: flags show in ps).")
@click.option("--since", default=None,
              help="Only runs started and snapshots taken after this ISO date or duration ago (24h, 7d).")
@click.option("--snapshots/--no-snapshots", default=True, show_default=True,
              help="Also push release snapshots (--no-snapshots: runs only, e.g. from a pull request's pipeline).")
@click.option("--retries", type=click.IntRange(0, 20), default=5, show_default=True,
              help="Retries per run or snapshot on connection errors, 5xx and 429 (exponential backoff).")
@click.option("--backoff", type=click.FloatRange(0, 60), default=0.5, show_default=True,
              help="First retry delay in seconds; doubles each retry.")
@format_option("text", "json")
@click.pass_context
def command(ctx: click.Context, store_path: str | None, url: str, token: str | None, since: str | None,
            snapshots: bool, retries: int, backoff: float, fmt: str) -> None:
    """Push local runs and release snapshots to an rq-obs serve ingest API."""
    import logging

    from rq_obs.push import push_pending, push_snapshots
    from rq_obs.snapshot.store import pending_snapshots

    logging.basicConfig(level=logging.WARNING, format="rq-obs push: %(message)s")
    token = token or os.environ.get("RQ_OBS_TOKEN", "")
    if not token:
        from rq_obs.commands._common import config_from

        token = config_from(ctx).token
    since_ts = parse_since(since) if since else None
    store = open_store(ctx, store_path)
    from rq_obs.commands._common import config_from
    from rq_obs.push import display_url
    from rq_obs.store.spill import drain

    for done in drain(store):  # runs a test session kept beside the store while it was locked
        click.echo(f"wrote run {done.run_id} ({done.attempts} attempts) from {done.path} into the store", err=True)
    report = push_pending(store, url, token, since=since_ts, retries=retries, backoff=backoff,
                          max_bytes=config_from(ctx).max_payload_bytes)
    snaps = push_snapshots(store, url, token, since=since_ts, retries=retries, backoff=backoff) if snapshots else None
    skipped = [("run", *s) for s in report.skipped] + [("snapshot", *s) for s in (snaps.skipped if snaps else [])]
    for kind, name, reason in skipped:  # one line each; they stay pending, the others were pushed
        click.echo(f"rq-obs push: {kind} {name!r} skipped ({reason}); kept pending", err=True)
    url = display_url(url)
    if fmt == "json":
        emit_json({"stored": report.stored, "duplicates": report.duplicates, "pending": report.pending,
                   "skipped": [{"kind": k, "name": n, "reason": r} for k, n, r in skipped],
                   "snapshots": None if snaps is None else {
                       "stored": snaps.stored, "replaced": snaps.replaced, "duplicates": snaps.duplicates,
                       "pending": snaps.pending}})
        _fail_on(skipped)
        return
    click.echo(f"pushed {report.pushed} run(s) to {url}: {len(report.stored)} stored, "
               f"{len(report.duplicates)} already there")
    if snaps is None:
        unsent = len(pending_snapshots(store, since_ts))
        click.echo(f"pushed no snapshots (--no-snapshots); {unsent} snapshot(s) not pushed yet")
        _fail_on(skipped)
        return
    sent = snaps.stored + snaps.replaced + snaps.duplicates
    click.echo(f"pushed {snaps.pushed} snapshot(s) to {url}: {len(snaps.stored)} stored, {len(snaps.replaced)} "
               f"replaced, {len(snaps.duplicates)} already there"
               + (f" ({', '.join(sent[:10])}{', ...' if len(sent) > 10 else ''})" if sent else ""))
    _fail_on(skipped)


def _fail_on(skipped: list) -> None:
    if skipped:
        from rq_obs.errors import RqObsError

        raise RqObsError(f"{len(skipped)} run(s)/snapshot(s) refused by the server and kept pending (see above)")
