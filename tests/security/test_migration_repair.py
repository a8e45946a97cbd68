"""Core migration 4 repairs stores created before migration 3 was edited in place (issue 17, item 7): such a
store has migration 3's first version (one index) and is at schema version 3, so it never ran the edit."""

from __future__ import annotations

import sqlite3

from rq_obs.store import Store
from rq_obs.store.db import CORE_MIGRATIONS

#: migration 3 as first released (commit 6b0104f)
OLD_3 = """
    INSERT INTO meta (key, value) SELECT 'folded_attempt_id', CAST(COALESCE(MAX(id), 0) AS TEXT) FROM attempts
        WHERE true ON CONFLICT (key) DO UPDATE SET value = excluded.value;
    CREATE INDEX api_calls_attempt ON api_calls (attempt_id)
"""


def _indexes(path) -> dict[str, list[str]]:
    conn = sqlite3.connect(path)
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
    out = {n: [r[2] for r in conn.execute(f"PRAGMA index_info({n})")] for n in names}
    conn.close()
    return out


def test_a_store_from_before_the_edit_gets_the_missing_indexes(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(CORE_MIGRATIONS[0] + ";" + CORE_MIGRATIONS[1] + ";" + OLD_3)
    conn.execute("CREATE TABLE schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_versions VALUES ('core', 3)")
    conn.commit()
    conn.close()
    before = _indexes(path)
    assert "runs_suite_started" not in before and "tracked_files_path" not in before
    assert before["runs_started"] == ["started_at"]
    store = Store(path)
    assert store.schema_version("core") == len(CORE_MIGRATIONS) == 4
    after = _indexes(path)
    assert after["runs_suite_started"] == ["suite", "started_at", "sequence"]
    assert after["runs_started"] == ["started_at", "sequence"]
    assert after["tracked_files_path"] == ["path"]
    # a store made with the edited migration 3 is unchanged by the repair
    fresh = Store(tmp_path / "new.db")
    fresh.connect()
    assert _indexes(tmp_path / "new.db") == after
