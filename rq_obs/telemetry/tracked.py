"""Tracked files (SKILL.md, prompts): content hashes per run, and what changed since the last run.

Files are chosen by the config's ``tracked_files`` globs (``**`` spans directories),
relative to the project root. In a git work tree the candidates come from ``git ls-files``
(tracked and untracked-but-not-ignored files), so a virtualenv or ``node_modules`` is never
walked; elsewhere the tree is walked, skipping hidden and tool directories.

When a file's hash differs from the one recorded by the previous run of the same suite the
store writes a change event (see :func:`rq_obs.store.runs.begin_run`); this module fills in
the lines added/removed and the author for it. Lines are counted by diffing against the
previous content, which the store keeps per hash, redacted (:mod:`rq_obs.store.texts`, files up
to 1 MiB; also what ``rq-obs impact FILE --diff`` shows), so the count is exact even when the
previous run had uncommitted edits (a line whose only change is a redacted secret is not
counted); without it, ``git diff --numstat <previous run's commit>`` is used.
The author is the local git user when the file has uncommitted changes, else the author of
the last commit that touched it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Sequence

from rq_obs import proc
from rq_obs.errors import RqObsError
from rq_obs.store.db import Store
from rq_obs.store.records import TrackedFile
from rq_obs.store.texts import COMPONENT as TEXTS
from rq_obs.store.texts import MAX_TEXT_BYTES, TEXTS_MIGRATIONS, keep_texts, redact_text, stored_texts

__all__ = ["TELEMETRY_MIGRATIONS", "glob_regex", "find_tracked", "file_sha256", "line_delta", "tracked_states"]

TELEMETRY_MIGRATIONS: tuple[str, ...] = (
    # 1: previous contents of tracked files, so changes can be measured in lines
    """
    CREATE TABLE tracked_file_blobs (
        sha256  TEXT PRIMARY KEY,
        content BLOB NOT NULL
    )
    """,
    # 2: raw contents could hold a secret: the redacted texts of rq_obs.store.texts replace them
    "DROP TABLE tracked_file_blobs",
)
_SKIP_DIRS = {"node_modules", "__pycache__", "venv", "site-packages", "build", "dist"}


def glob_regex(pattern: str) -> re.Pattern:
    """Compile a glob where ``**/`` matches any number of directories, ``*`` and ``?`` stay in one."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _git_candidates(root: Path, globs: Sequence[str]) -> list[str] | None:
    specs = [f":(glob){g}" for g in globs]
    try:
        res = proc.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *specs],
                       cwd=str(root), timeout=30)
    except (RqObsError, OSError):
        return None
    if not res.ok:
        return None
    return [p for p in res.stdout.split("\0") if p]


def _walk_candidates(root: Path, globs: Sequence[str]) -> list[str]:
    regexes = [glob_regex(g) for g in globs]
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS]
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        for name in filenames:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if any(r.match(rel) for r in regexes):
                found.append(rel)
    return found


def find_tracked(root: str | os.PathLike, globs: Sequence[str]) -> list[str]:
    """Relative POSIX paths of the files matching ``globs`` under ``root``, sorted."""
    root = Path(root)
    if not globs:
        return []
    candidates = _git_candidates(root, globs)
    if candidates is None:
        candidates = _walk_candidates(root, globs)
    regexes = [glob_regex(g) for g in globs]
    return sorted({p for p in candidates if any(r.match(p) for r in regexes) and (root / p).is_file()})


def file_sha256(data: bytes) -> str:
    import hashlib  # here, not at import: loading OpenSSL costs every pytest session ~3 ms, and most track no file

    return hashlib.sha256(data).hexdigest()


def line_delta(old: bytes, new: bytes) -> tuple[int, int]:
    """(lines added, lines removed) going from ``old`` to ``new``, as ``git diff --numstat`` counts them."""
    a = old.decode("utf-8", "replace").splitlines()
    b = new.decode("utf-8", "replace").splitlines()
    added = removed = 0
    import difflib  # only when a tracked file changed

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            removed += i2 - i1
        if tag in ("replace", "insert"):
            added += j2 - j1
    return added, removed


def _previous(store: Store, suite: str, path: str) -> tuple[str, str] | None:
    rows = store.query(
        "SELECT t.sha256, r.commit_sha FROM runs r JOIN tracked_files t ON t.run_id = r.run_id AND t.path = ? "
        "WHERE r.suite = ? ORDER BY r.started_at DESC, r.sequence DESC LIMIT 1",  # index runs_suite_started
        (path, suite),
    )
    return (rows[0][0], rows[0][1]) if rows else None


def _git(root: Path, *args: str) -> str | None:
    try:
        res = proc.run(["git", *args], cwd=str(root), timeout=30)
    except (RqObsError, OSError):
        return None
    return res.stdout if res.ok else None


def _git_numstat(root: Path, commit: str, path: str) -> tuple[int | None, int | None]:
    out = _git(root, "diff", "--numstat", commit, "--", path) if commit else None
    if out:
        parts = out.split("\t")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            return int(parts[0]), int(parts[1])
    return None, None


def _author(root: Path, path: str) -> str:
    dirty = _git(root, "status", "--porcelain", "--", path)
    if dirty:
        name = _git(root, "config", "user.name")
        if name and name.strip():
            return name.strip()
    last = _git(root, "log", "-1", "--format=%an", "--", path)
    return last.strip() if last else ""


def tracked_states(store: Store, root: str | os.PathLike, suite: str, globs: Iterable[str]) -> tuple[TrackedFile, ...]:
    """Hash every tracked file; for files changed since the suite's previous run, count lines and find the author.

    Also keeps each new content in the store, redacted and deduplicated by hash, for the next run's line counts
    and for diffs.
    """
    root = Path(root)
    paths = find_tracked(root, list(globs))
    if not paths:
        return ()
    store.ensure("telemetry", TELEMETRY_MIGRATIONS)
    store.ensure(TEXTS, TEXTS_MIGRATIONS)
    states, blobs = [], {}
    for rel in paths:
        try:
            data = (root / rel).read_bytes()
        except OSError:
            continue
        sha = file_sha256(data)
        added = removed = None
        author = ""
        prev = _previous(store, suite, rel)
        if prev is not None and prev[0] != sha:
            old = stored_texts(store, [prev[0]]).get(prev[0])
            if old is not None:
                new = redact_text(data.decode("utf-8", "replace"))[0]
                added, removed = line_delta(old.encode("utf-8"), new.encode("utf-8"))
            else:
                added, removed = _git_numstat(root, prev[1], rel)
            author = _author(root, rel)
        if len(data) <= MAX_TEXT_BYTES:
            blobs[sha] = data
        states.append(TrackedFile(path=rel, sha256=sha, lines_added=added, lines_removed=removed, author=author))
    if len(stored_texts(store, blobs)) < len(blobs):
        with store.transaction() as conn:
            keep_texts(conn, blobs)
    return tuple(states)
