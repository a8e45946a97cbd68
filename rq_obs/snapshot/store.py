"""Release snapshots in the store (component ``release``): one row per release, the snapshot as JSON.

Re-snapshotting a release replaces its row (:func:`save_snapshot` says so, and the
command warns). Pass rates for a snapshot are read from the core ``attempts`` table.

A snapshot's identity is its release and its document (canonical JSON: sorted keys, no
spaces): :func:`put_snapshot` of the same document again changes nothing (``duplicate``), a
different document of a stored release replaces it (``replaced``) and bumps the row's
``revision`` (what the release exporter's cache is keyed on). ``pushed_at`` is when
``rq-obs push`` last had the row's document confirmed by a server; a replaced row is pending
again (:func:`pending_snapshots`, :func:`mark_pushed`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Callable

from rq_obs.errors import InputError, UsageError
from rq_obs.quarantine import MARKER as QUARANTINE_MARKER
from rq_obs.snapshot.model import Snapshot, TestSummary, snapshot_from_dict
from rq_obs.store import Store
from rq_obs.store.totals import Totals, key_cache

__all__ = ["MIGRATIONS", "put_snapshot", "save_snapshot", "document_of", "pending_snapshots", "mark_pushed", "load_revision",
           "STORED", "REPLACED", "DUPLICATE", "load_snapshot", "list_snapshots", "load_recent", "baseline_for", "resolve_release",
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
    # 2: a revision per row (bumped when a different document replaces it) and when it was pushed
    """
    ALTER TABLE release_snapshots ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE release_snapshots ADD COLUMN pushed_at REAL
    """,
)

#: What :func:`put_snapshot` did: a new release, a different document replacing a release's, or nothing.
STORED, REPLACED, DUPLICATE = "stored", "replaced", "duplicate"


def _ready(store: Store) -> Store:
    store.ensure("release", MIGRATIONS)
    return store


def document_of(snap: Snapshot) -> str:
    """The stored form of ``snap``: canonical JSON, so equal snapshots have equal documents."""
    return json.dumps(snap.to_dict(), sort_keys=True, separators=(",", ":"))


def put_snapshot(store: Store, snap: Snapshot, count: Callable[[Totals, str], None] | None = None) -> str:
    """Store ``snap`` in one transaction: ``"stored"`` (a new release), ``"replaced"`` (a different document
    replaced the release's) or ``"duplicate"`` (this very document was stored already: nothing is written).

    ``count(totals, outcome)``, when given, adds to running totals that commit with it (as
    :func:`rq_obs.store.runs.save_run`'s ``count``).
    """
    doc = document_of(snap)
    with _ready(store).transaction() as conn:
        row = conn.execute("SELECT document FROM release_snapshots WHERE release = ?", (snap.release,)).fetchone()
        if row is not None and row[0] == doc:
            outcome = DUPLICATE
        else:
            outcome = STORED if row is None else REPLACED
            conn.execute(
                "INSERT INTO release_snapshots (release, created_at, commit_sha, document) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (release) DO UPDATE SET created_at = excluded.created_at, commit_sha = excluded.commit_sha, "
                "document = excluded.document, revision = revision + 1, pushed_at = NULL",
                (snap.release, snap.created_at, snap.commit, doc))
        if count is not None:
            totals = Totals(key_cache(store))
            count(totals, outcome)
            totals.flush(conn)
    return outcome


def save_snapshot(store: Store, snap: Snapshot) -> bool:
    """Store ``snap``; True when the release already had a snapshot (now replaced by this one)."""
    return put_snapshot(store, snap) != STORED


def pending_snapshots(store: Store, since: float | None = None) -> list[tuple[str, int]]:
    """(release, revision) of every snapshot not pushed since it was stored, oldest first (``since``: taken at
    or after this Unix time)."""
    sql = "SELECT release, revision FROM release_snapshots WHERE pushed_at IS NULL"
    params: tuple = ()
    if since is not None:
        sql += " AND created_at >= ?"
        params = (since,)
    return [(r[0], r[1]) for r in _ready(store).query(sql + " ORDER BY created_at, release", params)]


def mark_pushed(store: Store, release: str, revision: int, when: float) -> bool:
    """Record that ``revision`` of ``release`` is on a server; False (nothing marked) when the release was
    re-snapshotted since that revision was read: the new document is still pending."""
    with _ready(store).transaction() as conn:
        return conn.execute("UPDATE release_snapshots SET pushed_at = ? WHERE release = ? AND revision = ?",
                            (when, release, revision)).rowcount > 0


def load_revision(store: Store, release: str, revision: int) -> Snapshot | None:
    """That revision of ``release``'s snapshot (None when it has been replaced or deleted since)."""
    rows = _ready(store).query("SELECT document FROM release_snapshots WHERE release = ? AND revision = ?",
                               (release, revision))
    return _decode(release, rows[0]["document"]) if rows else None


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
    # q: attempts the quarantine plugin flagged; the failures among them are also counted as "quarantined"
    base = ("SELECT a.test AS test, a.outcome AS outcome, COUNT(*) AS n, COUNT(DISTINCT a.run_id) AS runs, "
            f"SUM(a.markers LIKE '%\"{QUARANTINE_MARKER}\"%') AS q "
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
        if r["q"] and r["outcome"] in ("failed", "error"):
            tests[r["test"]]["quarantined"] = tests[r["test"]].get("quarantined", 0) + r["q"]
    runs = store.query(*run_q)[0][0] if rows else 0
    return TestSummary(counts["passed"], counts["failed"], counts["errors"], counts["skipped"], runs, scope,
                       {k: dict(sorted(v.items())) for k, v in sorted(tests.items())})


def count_runs(store: Store) -> int:
    """Test runs in the store, whatever their commit or age."""
    return int(store.query("SELECT COUNT(*) FROM runs")[0][0])
