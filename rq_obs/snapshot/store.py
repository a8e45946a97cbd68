"""Release snapshots in the store (component ``release``): one row per release, the snapshot as JSON.

Re-snapshotting a release replaces its row (:func:`save_snapshot` says so, and the
command warns). Pass rates for a snapshot are read from the core ``attempts`` table.
"""

from __future__ import annotations

import json
from collections import defaultdict

from rq_obs.errors import InputError, UsageError
from rq_obs.snapshot.model import Snapshot, TestSummary, snapshot_from_dict
from rq_obs.store import Store

__all__ = ["MIGRATIONS", "save_snapshot", "load_snapshot", "list_snapshots", "load_recent", "baseline_for", "resolve_release",
           "summarise_tests", "delete_snapshot"]

MIGRATIONS: tuple[str, ...] = (
    # 1: one snapshot document per release
    """
    CREATE TABLE release_snapshots (
        release     TEXT PRIMARY KEY,
        created_at  REAL NOT NULL,
        commit_sha  TEXT NOT NULL DEFAULT '',
        document    TEXT NOT NULL
    );
    CREATE INDEX release_snapshots_created ON release_snapshots (created_at);
    """,
)


def _ready(store: Store) -> Store:
    store.ensure("release", MIGRATIONS)
    return store


def save_snapshot(store: Store, snap: Snapshot) -> bool:
    """Store ``snap``; True when it replaced an earlier snapshot of the same release."""
    doc = json.dumps(snap.to_dict(), sort_keys=True, separators=(",", ":"))
    with _ready(store).transaction() as conn:
        replaced = conn.execute("SELECT 1 FROM release_snapshots WHERE release = ?", (snap.release,)).fetchone() is not None
        conn.execute(
            "INSERT INTO release_snapshots (release, created_at, commit_sha, document) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (release) DO UPDATE SET created_at = excluded.created_at, commit_sha = excluded.commit_sha, "
            "document = excluded.document",
            (snap.release, snap.created_at, snap.commit, doc))
    return replaced


def delete_snapshot(store: Store, release: str) -> bool:
    with _ready(store).transaction() as conn:
        return conn.execute("DELETE FROM release_snapshots WHERE release = ?", (release,)).rowcount > 0


def list_snapshots(store: Store, limit: int | None = None) -> list[dict]:
    """Releases oldest first (``limit``: only the newest N)."""
    rows = _ready(store).query(
        "SELECT release, created_at, commit_sha FROM release_snapshots ORDER BY created_at DESC, release DESC"
        + (" LIMIT ?" if limit else ""), (limit,) if limit else ())
    return [{"release": r["release"], "created_at": r["created_at"], "commit": r["commit_sha"]} for r in reversed(rows)]


def _decode(release: str, text: str) -> Snapshot:
    try:
        return snapshot_from_dict(json.loads(text), f"store snapshot {release!r}")
    except ValueError as exc:
        raise InputError(f"store snapshot {release!r}: document is not valid JSON ({exc})") from None


def load_snapshot(store: Store, release: str) -> Snapshot:
    rows = _ready(store).query("SELECT document FROM release_snapshots WHERE release = ?", (release,))
    if not rows:
        known = [s["release"] for s in list_snapshots(store, 20)]
        raise UsageError(f"no snapshot of release {release!r} in {store.path}"
                         + (f"; known: {', '.join(known)}" if known else "; run rq-obs snapshot --release first"))
    return _decode(release, rows[0]["document"])


def resolve_release(store: Store, release: str | None) -> str:
    """``release``, or the newest snapshot's when None; a UsageError when the store has none."""
    if release is not None:
        return release
    snaps = list_snapshots(store, 1)
    if not snaps:
        raise UsageError(f"{store.path}: no release snapshots; run rq-obs snapshot --release V first")
    return snaps[-1]["release"]


def load_recent(store: Store, n: int = 50) -> list[Snapshot]:
    """The newest ``n`` snapshots, oldest first."""
    rows = _ready(store).query(
        "SELECT release, document FROM release_snapshots ORDER BY created_at DESC, release DESC LIMIT ?", (n,))
    return [_decode(r["release"], r["document"]) for r in reversed(rows)]


def baseline_for(store: Store, release: str, created_at: float, baseline: str) -> Snapshot | None:
    """The snapshot ``release`` is compared with: the previous one (``baseline = "previous"``) or a named release."""
    if baseline and baseline != "previous":
        if baseline == release:
            return None
        return load_snapshot(store, baseline)
    rows = _ready(store).query(
        "SELECT release, document FROM release_snapshots WHERE release != ? AND created_at <= ? "
        "ORDER BY created_at DESC, release DESC LIMIT 1", (release, created_at))
    return _decode(rows[0]["release"], rows[0]["document"]) if rows else None


def _human(seconds: float) -> str:
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= n and seconds % n == 0:
            return f"{int(seconds // n)}{unit}"
    return f"{seconds:g}s"


_COUNTED = {"passed": "passed", "failed": "failed", "error": "errors", "skipped": "skipped"}


def summarise_tests(store: Store, commit: str, window_seconds: float, now: float) -> TestSummary:
    """Attempts of runs at ``commit`` (prefix match either way); when there are none, of the last window.

    Pass rate = passed / (passed + failed + error); skipped/xfailed/xpassed are not counted.
    """
    base = ("SELECT a.test AS test, a.outcome AS outcome, COUNT(*) AS n, COUNT(DISTINCT a.run_id) AS runs "
            "FROM attempts a JOIN runs r ON r.run_id = a.run_id WHERE {} GROUP BY a.test, a.outcome")
    rows, scope = [], "none"
    if commit:
        rows = store.query(base.format("r.commit_sha != '' AND (? LIKE r.commit_sha || '%' OR r.commit_sha LIKE ? || '%')"),
                           (commit, commit))
        scope = f"commit {commit[:12]}"
        run_q = ("SELECT COUNT(DISTINCT a.run_id) FROM attempts a JOIN runs r ON r.run_id = a.run_id WHERE r.commit_sha != '' "
                 "AND (? LIKE r.commit_sha || '%' OR r.commit_sha LIKE ? || '%')", (commit, commit))
    if not rows:
        since = now - window_seconds
        rows = store.query(base.format("a.started_at >= ?"), (since,))
        scope = f"last {_human(window_seconds)}" if rows else "none"
        run_q = ("SELECT COUNT(DISTINCT run_id) FROM attempts WHERE started_at >= ?", (since,))
    counts: dict[str, int] = defaultdict(int)
    tests: dict[str, dict[str, int]] = defaultdict(dict)
    for r in rows:
        if r["outcome"] in _COUNTED:
            counts[_COUNTED[r["outcome"]]] += r["n"]
        tests[r["test"]][r["outcome"]] = r["n"]
    runs = store.query(*run_q)[0][0] if rows else 0
    return TestSummary(counts["passed"], counts["failed"], counts["errors"], counts["skipped"], runs, scope,
                       {k: dict(sorted(v.items())) for k, v in sorted(tests.items())})
