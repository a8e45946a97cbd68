"""The durable local store: SQLite in WAL mode, schema versioned per component.

Each area owns its tables as a *component* with an ordered list of migrations
(``core`` is below; release snapshots, analytics caches etc. register their own
with :meth:`Store.ensure`). ``schema_versions`` records the version applied per
component; a store written by a newer rq-obs is refused with a clear error
rather than half-read.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from rq_obs.errors import StoreError

__all__ = ["Store", "CORE_MIGRATIONS", "writable"]

CORE_MIGRATIONS: tuple[str, ...] = (
    # 1: runs, attempts, API calls, tracked files, change events, running totals
    """
    CREATE TABLE runs (
        run_id      TEXT PRIMARY KEY,
        suite       TEXT NOT NULL,
        sequence    INTEGER NOT NULL,
        started_at  REAL NOT NULL,
        finished_at REAL,
        status      TEXT NOT NULL CHECK (status IN ('complete', 'incomplete')),
        commit_sha  TEXT NOT NULL DEFAULT '',
        branch      TEXT NOT NULL DEFAULT '',
        experiment  TEXT NOT NULL DEFAULT 'none',
        host        TEXT NOT NULL DEFAULT '',
        source      TEXT NOT NULL DEFAULT 'pytest',
        trace_id    TEXT NOT NULL DEFAULT '',
        ingested_at REAL NOT NULL,
        pushed_at   REAL
    );
    CREATE INDEX runs_suite_sequence ON runs (suite, sequence);
    CREATE INDEX runs_started ON runs (started_at);
    CREATE TABLE attempts (
        id          INTEGER PRIMARY KEY,
        run_id      TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        test        TEXT NOT NULL,
        outcome     TEXT NOT NULL,
        duration    REAL NOT NULL,
        attempt     INTEGER NOT NULL,
        worker      TEXT NOT NULL,
        category    TEXT NOT NULL,
        markers     TEXT NOT NULL,
        variant     TEXT NOT NULL,
        started_at  REAL NOT NULL,
        trace_id    TEXT NOT NULL DEFAULT '',
        span_id     TEXT NOT NULL DEFAULT '',
        attributes  TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX attempts_run ON attempts (run_id);
    CREATE INDEX attempts_test_time ON attempts (test, started_at);
    CREATE TABLE api_calls (
        id            INTEGER PRIMARY KEY,
        attempt_id    INTEGER NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
        run_id        TEXT NOT NULL,
        provider      TEXT NOT NULL,
        model         TEXT NOT NULL,
        status_code   INTEGER,
        error         TEXT NOT NULL DEFAULT '',
        latency       REAL NOT NULL,
        retries       INTEGER NOT NULL,
        retry_reasons TEXT NOT NULL DEFAULT '[]',
        input_tokens  INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cached_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd      REAL NOT NULL DEFAULT 0,
        started_at    REAL NOT NULL
    );
    CREATE INDEX api_calls_run ON api_calls (run_id);
    CREATE INDEX api_calls_time ON api_calls (started_at);
    CREATE TABLE tracked_files (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        path   TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (run_id, path)
    );
    CREATE TABLE file_changes (
        id            INTEGER PRIMARY KEY,
        path          TEXT NOT NULL,
        old_sha256    TEXT NOT NULL,
        new_sha256    TEXT NOT NULL,
        commit_sha    TEXT NOT NULL DEFAULT '',
        author        TEXT NOT NULL DEFAULT '',
        lines_added   INTEGER,
        lines_removed INTEGER,
        changed_at    REAL NOT NULL,
        run_id        TEXT NOT NULL
    );
    CREATE INDEX file_changes_path ON file_changes (path, changed_at);
    CREATE TABLE totals (
        metric TEXT NOT NULL,
        labels TEXT NOT NULL,
        value  REAL NOT NULL,
        PRIMARY KEY (metric, labels)
    ) WITHOUT ROWID;
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: when each running-total series was first written (NULL: before this migration, i.e. an old series).
    # The store exporter shows a series younger than ``new_series_grace`` as 0 so that Prometheus
    # scrapes a 0 before the first value and increase()/rate() count the first increment.
    """
    ALTER TABLE totals ADD COLUMN created_at REAL
    """,
    # 3: attempts' counters are folded into totals in batches (rq_obs.store.totals): the watermark starts
    # at the newest attempt, whose counts are already in totals; API calls are found by attempt for the fold.
    # Runs newest first, of a suite (a tracked file's previous hash, per push) or of all (each tracked
    # file's current hash, per scrape), and the tracked paths, without reading every run.
    """
    INSERT INTO meta (key, value) SELECT 'folded_attempt_id', CAST(COALESCE(MAX(id), 0) AS TEXT) FROM attempts
        WHERE true ON CONFLICT (key) DO UPDATE SET value = excluded.value;
    CREATE INDEX api_calls_attempt ON api_calls (attempt_id);
    CREATE INDEX runs_suite_started ON runs (suite, started_at, sequence);
    DROP INDEX runs_started;
    CREATE INDEX runs_started ON runs (started_at, sequence);
    CREATE INDEX tracked_files_path ON tracked_files (path)
    """,
    # 4: repair. Migration 3 was edited after release (its indexes were added to it in place), so a store
    # that ran the first version of 3 has only api_calls_attempt: give it the rest. Idempotent on any store.
    """
    CREATE INDEX IF NOT EXISTS runs_suite_started ON runs (suite, started_at, sequence);
    DROP INDEX IF EXISTS runs_started;
    CREATE INDEX runs_started ON runs (started_at, sequence);
    CREATE INDEX IF NOT EXISTS tracked_files_path ON tracked_files (path)
    """,
)


class Store:
    """A connection to one store file. Thread-safe: one connection per thread.

    Use :meth:`transaction` for writes; each is one SQLite transaction
    (``BEGIN IMMEDIATE``), committed to disk (WAL, ``synchronous=FULL``) before it returns.
    """

    def __init__(self, path: str | os.PathLike, *, create: bool = True, readonly: bool = False,
                 busy_timeout: float = 30.0):
        self.path = Path(path)
        if (readonly or not create) and not self.path.exists():
            raise StoreError(f"{self.path}: store not found (run the tests with --rq-obs first, or pass --store)")
        #: opened for reading only (``mode=ro``, or ``immutable=1`` on a read-only file system): no migrations
        self.readonly = readonly
        #: seconds a write waits for another process's write lock before SQLITE_BUSY ("database is locked")
        self.busy_timeout = busy_timeout
        #: this object made the file (it did not exist): a command that then fails can :meth:`discard` it
        self.created = create and not readonly and not self.path.exists()
        if create and not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            ignore = self.path.parent / ".gitignore"
            # the default store's directory: kept out of git, also when something else made the directory first
            if self.path.parent.name == ".rq-obs" and not ignore.exists():
                ignore.write_text("# created by rq-obs: the local store\n*\n")
        self._local = threading.local()
        self._ensured: set[str] = set()
        self._lock = threading.Lock()
        #: (series, sorted label items) -> ``totals`` label key, filled by :mod:`rq_obs.store.runs`
        self.label_keys: dict = {}
        if readonly:
            self._check_readable()
            return
        self.ensure("core", CORE_MIGRATIONS)
        from rq_obs.store.outcomes import OUTCOMES_MIGRATIONS

        self.ensure("outcomes", OUTCOMES_MIGRATIONS)

    # -- connections ----------------------------------------------------------------
    def connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.readonly:
                conn = self._connect_readonly()
            else:
                try:
                    conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                           check_same_thread=False)
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA synchronous=FULL")
                    conn.execute("PRAGMA foreign_keys=ON")
                    conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
                except sqlite3.DatabaseError as exc:
                    raise self.error(exc) from None
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    def _connect_readonly(self) -> sqlite3.Connection:
        """``mode=ro``; when that cannot open the WAL's shared memory (a read-only file system or directory),
        ``immutable=1``: SQLite then reads the file as it is, without locks (a checkpointed WAL store reads
        whole; what is only in a -wal file is not seen)."""
        uri = self.path.resolve().as_uri()
        last: Exception | None = None
        for query in ("?mode=ro", "?immutable=1"):
            try:
                conn = sqlite3.connect(uri + query, uri=True, timeout=self.busy_timeout, isolation_level=None,
                                       check_same_thread=False)
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                return conn
            except sqlite3.DatabaseError as exc:
                last = exc
        raise StoreError(f"{self.path}: not a readable rq-obs store, even read-only ({last})")

    def _check_readable(self) -> None:
        try:
            rows = self.connect().execute("SELECT component, version FROM schema_versions").fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a readable rq-obs store, opened read-only ({exc})") from None
        if dict((r[0], r[1]) for r in rows).get("core", 0) > len(CORE_MIGRATIONS):
            raise StoreError(f"{self.path}: component 'core' is newer than this rq-obs knows; upgrade rq-obs")

    def error(self, exc: BaseException) -> StoreError:
        """A StoreError that says what is wrong: locked by another process, read-only, or not a store."""
        text = str(exc)
        if "locked" in text or "busy" in text:
            return StoreError(f"{self.path}: the store is locked by another process's write for more than "
                              f"{self.busy_timeout:g} s ({text})")
        if "readonly" in text or "read-only" in text or (self.path.exists() and not writable(self.path)):
            return StoreError(f"{self.path}: the store is read-only here ({text}); commands that only read it "
                              f"(runs, flaky, ...) still work")
        return StoreError(f"{self.path}: not a readable rq-obs store ({text})")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def discard(self) -> None:
        """Remove the store file this object created (and its WAL files): a command that failed before
        storing anything leaves no empty store behind. Does nothing to a store that existed."""
        if not self.created:
            return
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    @contextmanager
    def lock_wait(self, ms: int) -> Iterator[sqlite3.Connection]:
        """This thread's connection, waiting at most ``ms`` (and never longer than it did) for another
        process's write lock inside the block; the connection's own wait comes back after it."""
        conn = self.connect()
        before = conn.execute("PRAGMA busy_timeout").fetchone()[0]
        conn.execute(f"PRAGMA busy_timeout={min(before, int(ms))}")
        try:
            yield conn
        finally:
            conn.execute(f"PRAGMA busy_timeout={before}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence = ()) -> list[sqlite3.Row]:
        return self.connect().execute(sql, params).fetchall()

    # -- migrations -----------------------------------------------------------------
    def ensure(self, component: str, migrations: Sequence[str]) -> None:
        """Apply the component's pending migrations (idempotent, once per process)."""
        if component in self._ensured:
            return
        if self._current(component, len(migrations)):  # up to date: no write lock needed (a busy store opens)
            self._ensured.add(component)
            return
        if self.readonly:
            raise StoreError(f"{self.path}: the store is read-only here and its {component!r} tables are not at "
                             f"schema version {len(migrations)}; open it once where it is writable")
        with self._lock:
            if component in self._ensured:
                return
            try:
                with self.transaction() as conn:
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
                    )
                    row = conn.execute("SELECT version FROM schema_versions WHERE component = ?", (component,)).fetchone()
                    have = row[0] if row else 0
                    if have > len(migrations):
                        raise StoreError(
                            f"{self.path}: component {component!r} is at schema version {have}, newer than this "
                            f"rq-obs knows ({len(migrations)}); upgrade rq-obs"
                        )
                    for version in range(have + 1, len(migrations) + 1):
                        for stmt in _statements(migrations[version - 1]):
                            conn.execute(stmt)
                    if len(migrations) > have:
                        conn.execute(
                            "INSERT INTO schema_versions (component, version) VALUES (?, ?) "
                            "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                            (component, len(migrations)),
                        )
            except sqlite3.DatabaseError as exc:
                raise self.error(exc) from None
            self._ensured.add(component)

    def _current(self, component: str, version: int) -> bool:
        try:
            row = self.connect().execute("SELECT version FROM schema_versions WHERE component = ?",
                                         (component,)).fetchone()
        except sqlite3.DatabaseError:
            return False
        return row is not None and row[0] == version

    def schema_version(self, component: str = "core") -> int:
        row = self.connect().execute("SELECT version FROM schema_versions WHERE component = ?", (component,)).fetchone()
        return row[0] if row else 0

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                total += p.stat().st_size
        return total


def writable(path: Path) -> bool:
    """Whether SQLite can write a WAL store here: the file and its directory (-wal, -shm files) are writable."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
