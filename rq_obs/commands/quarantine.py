"""Quarantine flaky tests with a reason, an owner and an expiry; suggest entries from the store."""

from __future__ import annotations

import time
from pathlib import Path

import click

from rq_obs.commands._common import config_from, emit_json, format_option, project_root


def _file_option(f):
    return click.option("--file", "file_path", type=click.Path(dir_okay=False), default=None,
                        help="Quarantine list. Default: quarantine_file from config (rq-obs-quarantine.yaml).")(f)


def _path(ctx: click.Context, file_path: str | None) -> Path:
    from rq_obs.quarantine.listfile import path_in

    return Path(file_path) if file_path else path_in(config_from(ctx), project_root(ctx))


def _owner(ctx: click.Context, owner: str | None, nodeid: str) -> str:
    if owner is not None:
        return owner
    from rq_obs.quarantine import codeowners

    found = codeowners.find(project_root(ctx))
    if found is None:
        return ""
    return codeowners.owners_for(codeowners.parse(found.read_text(encoding="utf-8")), nodeid.split("::", 1)[0])


@click.group("quarantine")
def command() -> None:
    """Quarantine flaky tests: their failures do not fail the run until the entry expires.

    The list is a YAML file committed with the code (docs/QUARANTINE.md); the pytest plugin obeys it.
    """


@command.command("add")
@click.argument("nodeid")
@click.option("--reason", required=True, help="Why (an issue link helps whoever ends it).")
@click.option("--expires", required=True, metavar="DURATION|DATE", help="14d, 36h, or a date YYYY-MM-DD.")
@click.option("--owner", default=None, help="Who ends it. Default: the test file's owners in CODEOWNERS.")
@_file_option
@click.pass_context
def add(ctx: click.Context, nodeid: str, reason: str, expires: str, owner: str | None, file_path: str | None) -> None:
    """Quarantine NODEID (a test, or a module/class node id for all its tests)."""
    from rq_obs.errors import UsageError
    from rq_obs.quarantine import listfile

    path = _path(ctx, file_path)
    try:
        entry = listfile.new_entry(nodeid, reason, expires, _owner(ctx, owner, nodeid), time.time())
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    listfile.write_text(path, listfile.with_entry(text, entry, str(path)))
    click.echo(f"quarantined {entry.nodeid} until {entry.expires_text} (owner {entry.owner or 'none'}) in {path}")


@command.command("remove")
@click.argument("nodeid")
@_file_option
@click.pass_context
def remove(ctx: click.Context, nodeid: str, file_path: str | None) -> None:
    """End the quarantine of NODEID."""
    from rq_obs.quarantine import listfile

    path = _path(ctx, file_path)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    listfile.write_text(path, listfile.without_entry(text, nodeid, str(path)))
    click.echo(f"removed {nodeid} from {path}")


@command.command("list")
@_file_option
@format_option("text", "json")
@click.pass_context
def list_(ctx: click.Context, file_path: str | None, fmt: str) -> None:
    """List the entries with their state (active, expiring within a week, expired)."""
    from rq_obs.quarantine import listfile
    from rq_obs.quarantine.status import entry_state

    path = _path(ctx, file_path)
    now = time.time()
    entries = listfile.read(path).entries
    rows = [{**e.to_dict(), "state": entry_state(e, now), "line": e.line} for e in entries]
    if fmt == "json":
        emit_json({"file": str(path), "entries": rows})
        return
    click.echo(f"{len(rows)} quarantined in {path}: {sum(r['state'] == 'expired' for r in rows)} expired, "
               f"{sum(r['state'] == 'expiring' for r in rows)} expiring within a week")
    if not rows:
        return
    header = ("state", "expires", "owner", "nodeid", "reason")
    table = [header, *[(r["state"], r["expires"], r["owner"] or "-", r["nodeid"], r["reason"]) for r in rows]]
    widths = [max(len(t[i]) for t in table) for i in range(len(header) - 1)]
    for t in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(t, widths)) + "  " + t[-1])


@command.command("suggest")
@click.option("--store", "store_path", type=click.Path(dir_okay=False), default=None,
              help="Store file. Default: store_path from config (.rq-obs/store.db).")
@click.option("--window", default=None, metavar="DURATION",
              help="Judge flakiness over this window, as `rq-obs flaky` does. Default: flaky_window from config.")
@click.option("--end-after", type=int, default=None, metavar="N",
              help="Suggest ending an entry whose tests passed N runs in a row since it was added. "
                   "Default: quarantine_end_after from config.")
@click.option("--owner", default=None, help="Owner of the entries --apply writes. Default: CODEOWNERS.")
@click.option("--expires", default=None, metavar="DURATION|DATE",
              help="Expiry of the entries --apply writes. Default: quarantine_expiry from config (14d).")
@click.option("--apply", "apply_", is_flag=True, help="Write the suggestions into the quarantine list.")
@_file_option
@format_option("text", "json")
@click.pass_context
def suggest(ctx: click.Context, store_path: str | None, window: str | None, end_after: int | None, owner: str | None,
            expires: str | None, apply_: bool, file_path: str | None, fmt: str) -> None:
    """Suggest flaky tests to quarantine (with the evidence) and entries that can end."""
    from rq_obs.analytics import queries
    from rq_obs.analytics.reports import flaky_report
    from rq_obs.commands import _analytics_format as f
    from rq_obs.commands._common import open_store
    from rq_obs.errors import UsageError
    from rq_obs.quarantine import listfile
    from rq_obs.quarantine import suggest as sg

    config = config_from(ctx)
    end_after = config.quarantine_end_after if end_after is None else end_after
    if end_after < 1:
        raise UsageError(f"--end-after: {end_after}; expected 1 or more")
    path = _path(ctx, file_path)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    qlist = listfile.parse(text, str(path))
    now = time.time()
    store = open_store(ctx, store_path)
    tests = flaky_report(store, config, now, window)
    active = [e for e in qlist.entries if not e.expired(now)]
    adds = sg.to_add(tests, active, lambda nodeid: _owner(ctx, owner, nodeid))
    since_default = now - queries.duration_seconds(window or config.flaky_window, "--window" if window else "flaky_window")
    starts = [sg.added_at(e) for e in qlist.entries]
    since = min([since_default, *[s for s in starts if s is not None]])
    ends = sg.to_end(qlist.entries, queries.window_attempts(store, since, None), end_after, since_default)
    if apply_:
        expiry = expires or config.quarantine_expiry
        for s in ends:
            text = listfile.without_entry(text, s.nodeid, str(path))
        written = []
        for s in adds:
            try:
                entry = listfile.new_entry(s.nodeid, s.evidence["reason"], expiry, s.owner, now)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            text = listfile.with_entry(text, entry, str(path))
            written.append(entry)
        if adds or ends:
            listfile.write_text(path, text)
    if fmt == "json":
        emit_json({"file": str(path), "window": window or config.flaky_window, "end_after": end_after,
                   "applied": apply_, "suggestions": [s.to_dict() for s in adds + ends]})
        return
    click.echo(f"{len(adds)} to quarantine (flaky over the last {window or config.flaky_window}), {len(ends)} to end "
               f"(passed {end_after} runs in a row since added) for {path}")
    for s in adds:
        e = s.evidence
        click.echo(f"add     {s.nodeid}  flips {e['flips']} in {e['attempts']} attempts, pass rate "
                   f"{f.pct(e['pass_rate'])}, last flake {f.when(e['last_flake'])}, owner {s.owner or 'none'}")
    for s in ends:
        click.echo(f"remove  {s.nodeid}  passed {s.evidence['passing_runs']} runs in a row since "
                   f"{s.evidence['since'] or 'the window began'}, owner {s.owner or 'none'}")
    if apply_ and (adds or ends):
        click.echo(f"applied: {len(adds)} added (expires {written[0].expires_text if written else '-'}), "
                   f"{len(ends)} removed in {path}")
