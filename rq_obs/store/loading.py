"""Rebuild :class:`~rq_obs.store.records.Run` records from stored rows (for push and backfill)."""

from __future__ import annotations

import json

from rq_obs.errors import StoreError
from rq_obs.store.db import Store
from rq_obs.store.records import ApiCall, Attempt, Run, TrackedFile
from rq_obs.store.texts import stored_texts

__all__ = ["load_run"]


def load_run(store: Store, run_id: str, *, contents: bool = False) -> Run:
    """The whole run as stored: attempts, API calls, tracked files (with change details) and its sequence.
    ``contents``: with each tracked file's kept (redacted) text, for a push."""
    conn = store.connect()
    r = conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if r is None:
        raise StoreError(f"{store.path}: no run {run_id!r}")
    calls: dict[int, list[ApiCall]] = {}
    for c in conn.execute("SELECT * FROM api_calls WHERE run_id = ? ORDER BY id", (run_id,)):
        calls.setdefault(c["attempt_id"], []).append(ApiCall(
            provider=c["provider"], model=c["model"], status_code=c["status_code"], error=c["error"],
            latency=c["latency"], retries=c["retries"], retry_reasons=tuple(json.loads(c["retry_reasons"])),
            input_tokens=c["input_tokens"], output_tokens=c["output_tokens"], cached_tokens=c["cached_tokens"],
            cost_usd=c["cost_usd"], started_at=c["started_at"]))
    attempts = tuple(
        Attempt(test=a["test"], outcome=a["outcome"], duration=a["duration"], attempt=a["attempt"], worker=a["worker"],
                category=a["category"], markers=tuple(json.loads(a["markers"])), variant=a["variant"],
                started_at=a["started_at"], trace_id=a["trace_id"], span_id=a["span_id"],
                attributes=json.loads(a["attributes"]), api_calls=tuple(calls.get(a["id"], ())))
        for a in conn.execute("SELECT * FROM attempts WHERE run_id = ? ORDER BY id", (run_id,))
    )
    changes = {c["path"]: c for c in conn.execute(
        "SELECT path, lines_added, lines_removed, author FROM file_changes WHERE run_id = ?", (run_id,))}
    files = []
    rows = conn.execute("SELECT path, sha256 FROM tracked_files WHERE run_id = ? ORDER BY path", (run_id,)).fetchall()
    texts = stored_texts(store, [t["sha256"] for t in rows]) if contents else {}
    for t in rows:
        ch = changes.get(t["path"])
        files.append(TrackedFile(path=t["path"], sha256=t["sha256"],
                                 lines_added=ch["lines_added"] if ch else None,
                                 lines_removed=ch["lines_removed"] if ch else None,
                                 author=ch["author"] if ch else "", content=texts.get(t["sha256"])))
    return Run(run_id=r["run_id"], suite=r["suite"], started_at=r["started_at"], finished_at=r["finished_at"],
               status=r["status"], sequence=r["sequence"], commit=r["commit_sha"], branch=r["branch"],
               experiment=r["experiment"], host=r["host"], source=r["source"], trace_id=r["trace_id"],
               tracked_files=tuple(files), attempts=attempts)
