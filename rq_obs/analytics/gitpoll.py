"""Record tracked-file changes by polling git between runs (no webhook needed).

:func:`poll` walks ``git log`` of the tracked globs since the last commit it processed
(``meta`` key ``gitpoll.head``; the whole history on the first poll or after a
rewrite), and records one change event per (commit, file) into ``file_changes``:
content hashes before and after (sha256 of the file bytes, the same hash the pytest
plugin records for tracked files; '' when the file was added or deleted), the commit,
its author name, lines added/removed from ``git log --numstat`` and the committer time.
Recording goes through :func:`rq_obs.store.runs.record_file_change`, the same function the
pytest plugin's save path uses, so one dedup rule holds whichever notices a change first: an
event already recorded for the same path and the same old → new hash, or the same path,
commit and new hash, is not recorded again. Running totals for
``rqobs_tracked_file_changes_total`` and ``rqobs_tracked_file_changed_lines_total`` are added
through the store's :class:`~rq_obs.store.runs.Totals` in the same transaction, and the redacted
contents of both sides are kept (:mod:`rq_obs.store.texts`) so ``rq-obs impact FILE --diff`` can show them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from rq_obs import proc
from rq_obs.errors import UsageError
from rq_obs.store.db import Store
from rq_obs.store.runs import Totals, record_file_change
from rq_obs.store.texts import COMPONENT as TEXTS
from rq_obs.store.texts import TEXTS_MIGRATIONS, keep_texts

__all__ = ["PolledChange", "poll", "META_KEY"]

META_KEY = "gitpoll.head"


@dataclass(frozen=True)
class PolledChange:
    path: str
    old_sha256: str
    new_sha256: str
    commit: str
    author: str
    lines_added: int | None  # None for binary files
    lines_removed: int | None
    changed_at: float


def _git(project: Path, *args: str, binary: bool = False) -> proc.Result:
    return proc.run(["git", "-c", "core.quotePath=false", *args], cwd=str(project), binary=binary)


def _content(project: Path, rev: str, path: str) -> tuple[str, bytes]:
    """(sha256, bytes) of the file at ``rev`` (('', b'') when it does not exist there)."""
    r = _git(project, "cat-file", "blob", f"{rev}:./{path}", binary=True)
    return (hashlib.sha256(r.stdout).hexdigest(), r.stdout) if r.ok else ("", b"")


def _parse_log(text: str) -> list[tuple[str, str, float, list[tuple[int | None, int | None, str]]]]:
    """``git log -z --format=%x1e%H%x1f%an%x1f%ct --numstat`` -> [(commit, author, time, [(added, removed, path)])]."""
    out = []
    for chunk in text.split("\x1e")[1:]:
        head, _, rest = chunk.partition("\x00")
        sha, author, ct = head.split("\x1f")
        files = []
        for item in rest.split("\x00"):
            item = item.strip("\n")
            if not item:
                continue
            added, removed, path = item.split("\t", 2)
            files.append((None if added == "-" else int(added), None if removed == "-" else int(removed), path))
        out.append((sha, author, float(ct), files))
    return out


def poll(project_dir: str | Path, store: Store, globs: Sequence[str]) -> list[PolledChange]:
    """Record the tracked-file changes committed since the last poll; returns the events recorded, oldest first."""
    project = Path(project_dir)
    top = _git(project, "rev-parse", "--is-inside-work-tree")
    if not top.ok or top.stdout.strip() != "true":
        raise UsageError(f"{project}: not a git work tree, cannot poll tracked-file changes "
                         f"({(top.stderr.strip().splitlines() or ['git rev-parse failed'])[-1]})")
    head = _git(project, "rev-parse", "--verify", "-q", "HEAD")
    if not head.ok:
        return []  # a repository without commits has no changes yet
    head_sha = head.stdout.strip()
    rows = store.query("SELECT value FROM meta WHERE key = ?", (META_KEY,))
    last = rows[0][0] if rows else None
    rng = [head_sha]
    if last and last != head_sha and _git(project, "merge-base", "--is-ancestor", last, head_sha).ok:
        rng = [f"{last}..{head_sha}"]
    elif last == head_sha:
        return []
    log = _git(project, "log", "-z", "--reverse", "--no-renames", "--relative", "--format=%x1e%H%x1f%an%x1f%ct",
               "--numstat", *rng, "--", *[f":(glob){g}" for g in globs])
    if not log.ok:
        raise UsageError(f"{project}: git log failed: {log.stderr.strip()}")
    changes, contents = [], {}
    for sha, author, ct, files in _parse_log(log.stdout):
        for added, removed, path in files:
            old, old_data = _content(project, f"{sha}^", path)
            new, new_data = _content(project, sha, path)
            if old == new:
                continue  # mode-only change
            changes.append(PolledChange(path, old, new, sha, author, added, removed, ct))
            contents.update({old: old_data, new: new_data})
    recorded = []
    store.ensure(TEXTS, TEXTS_MIGRATIONS)
    with store.transaction() as conn:
        keep_texts(conn, contents)
        totals = Totals(store.label_keys)
        for c in changes:
            if record_file_change(conn, totals, c.path, c.old_sha256, c.new_sha256, c.commit, c.author,
                                  c.lines_added, c.lines_removed, c.changed_at, ""):
                recorded.append(c)
        totals.flush(conn)
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     (META_KEY, head_sha))
    return recorded
