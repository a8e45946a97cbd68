import sqlite3
from pathlib import Path

import pytest

from rq_obs.telemetry.gitinfo import _CI_VARS


@pytest.fixture
def plain_env(monkeypatch):
    """No rq-obs/OTel/CI variables from the outer environment leak into inner pytest runs."""
    import os

    for name in list(os.environ):
        if name.startswith(("RQ_OBS_", "OTEL_")) or name.lower() in ("http_proxy", "https_proxy", "no_proxy"):
            monkeypatch.delenv(name)
    for commit_var, branch_var in _CI_VARS:
        monkeypatch.delenv(commit_var, raising=False)
        monkeypatch.delenv(branch_var, raising=False)
    monkeypatch.setenv("RQ_OBS_SUITE", "demo")
    return monkeypatch


class Rows:
    """Read a store file with plain sqlite3 (what another tool would see)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def __call__(self, sql: str, params=()) -> list[tuple]:
        conn = sqlite3.connect(self.path)
        try:
            return [tuple(r) for r in conn.execute(sql, params)]
        finally:
            conn.close()

    def one(self, sql: str, params=()):
        rows = self(sql, params)
        assert len(rows) == 1, rows
        return rows[0][0] if len(rows[0]) == 1 else rows[0]


@pytest.fixture
def store_file(tmp_path) -> Path:
    return tmp_path / "store" / "rq.db"


@pytest.fixture
def rows(store_file) -> Rows:
    return Rows(store_file)


def warnings_in(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("rq-obs: warning:")]
