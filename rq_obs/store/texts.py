"""Redacted contents of tracked files (SKILL.md, prompts) by content hash: what ``rq-obs impact FILE --diff`` diffs.

Component ``tracked_texts``, table ``tracked_file_texts``: one row per distinct content
(``sha256`` of the file's exact bytes, the hash runs and change events record), holding the
text as UTF-8 (undecodable bytes replaced) after :func:`redact_text`, and how many lines were
redacted. Written when a run records a tracked file whose hash the table does not have yet
(:func:`rq_obs.telemetry.tracked.tracked_states`), for both sides of every change git
polling records (:mod:`rq_obs.analytics.gitpoll`) and for the ``content`` a pushed run carries
(:func:`rq_obs.store.runs.save_run`; ``rq-obs push`` sends what its store kept). Files over :data:`MAX_TEXT_BYTES` are not
kept (a diff of them says so).

Redaction works line by line, so a diff keeps its shape: a line holding a value that looks
like a credential (:func:`rq_obs.redact.secret_kind`: token formats, private keys, high
entropy) becomes ``<indent><redacted: KIND>``; a ``NAME: value`` / ``NAME=value`` line whose
name looks secret (:func:`rq_obs.config.is_secret_name`) keeps its name and loses its value; a
URL's ``user:password@`` is masked in place. The raw bytes never reach the store.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Iterable, Mapping

from rq_obs.config import is_secret_name
from rq_obs.redact import redact, redacted
from rq_obs.store.db import Store

__all__ = ["COMPONENT", "TEXTS_MIGRATIONS", "MAX_TEXT_BYTES", "redact_text", "keep_texts", "stored_texts"]

COMPONENT = "tracked_texts"

TEXTS_MIGRATIONS: tuple[str, ...] = (
    # 1: redacted contents of tracked files, so a change can be shown as a diff
    """
    CREATE TABLE tracked_file_texts (
        sha256     TEXT PRIMARY KEY,
        text       TEXT NOT NULL,
        redactions INTEGER NOT NULL
    )
    """,
)

#: larger tracked files are not kept (a SKILL.md or a prompt is a few KiB)
MAX_TEXT_BYTES = 1024 * 1024

_ASSIGNMENT = re.compile(r"""(\s*(?:export\s+)?["']?([A-Za-z_][A-Za-z0-9_.\-]*)["']?\s*[:=]\s*)(\S.*)""")
_SECRET_NAMED = redacted("secret-named value")


def _redact_line(line: str) -> str:
    m = _ASSIGNMENT.fullmatch(line)
    if m and is_secret_name(m.group(2)) and not m.group(3).startswith("<redacted: "):
        return m.group(1) + _SECRET_NAMED
    body = line.lstrip()
    out = redact(body)
    return line if out == body else line[:len(line) - len(body)] + out


def redact_text(text: str) -> tuple[str, int]:
    """``text`` with every secret-looking line redacted (line endings kept), and the number of lines redacted."""
    out, n = [], 0
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        clean = _redact_line(line)
        if clean != line:
            n += 1
        out.append(clean + raw[len(line):])
    return "".join(out), n


def keep_texts(conn: sqlite3.Connection, contents: Mapping[str, bytes]) -> int:
    """Store the redacted text of each ``sha256 -> bytes`` not stored yet (in the caller's transaction; the
    component must be ensured). Returns how many were added."""
    rows = []
    for sha, data in sorted(contents.items()):
        if not sha or len(data) > MAX_TEXT_BYTES:
            continue
        if conn.execute("SELECT 1 FROM tracked_file_texts WHERE sha256 = ?", (sha,)).fetchone():
            continue
        text, n = redact_text(data.decode("utf-8", "replace"))
        rows.append((sha, text, n))
    conn.executemany("INSERT OR IGNORE INTO tracked_file_texts (sha256, text, redactions) VALUES (?, ?, ?)", rows)
    return len(rows)


def stored_texts(store: Store, shas: Iterable[str]) -> dict[str, str]:
    """``sha256 -> redacted text`` of the given hashes the store holds (none on a store without the table)."""
    wanted = sorted({s for s in shas if s})
    if not wanted or not store.query("SELECT 1 FROM sqlite_master WHERE name = 'tracked_file_texts'"):
        return {}
    marks = ",".join("?" * len(wanted))
    return {r[0]: r[1] for r in store.query(f"SELECT sha256, text FROM tracked_file_texts WHERE sha256 IN ({marks})",
                                            wanted)}
