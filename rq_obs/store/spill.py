"""Side files: the rest of a run that could not be written because another process held the store's lock.

A test session never waits long for the store (``serve`` pruning, a long ``import``, another
session's final commit): the recorder keeps attempts in memory while the store is locked and
writes them when the lock clears. If it is still locked when the session ends (after
``store_lock_wait`` seconds), the rest of the run goes to a side file next to the store,
``<store>.<run_id>.pending.json``: the run (when its row was never written), the attempts not yet
written, pytest's exit code and summary counts. :func:`drain` writes every side file into the
store in one transaction each and deletes it; the plugin calls it at the start of each session
and ``rq-obs push`` before it pushes. A side file is written under a temporary name and renamed,
so a reader never sees half of one.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple

from rq_obs.errors import InputError, StoreError
from rq_obs.store.db import Store
from rq_obs.store.records import Attempt, Run, run_from_dict, run_to_dict

__all__ = ["SUFFIX", "is_locked", "side_files", "write_side_file", "drain", "Drained"]

SUFFIX = ".pending.json"
FORMAT = 1


def is_locked(exc: BaseException) -> bool:
    """Whether a store error means another process holds the write lock (SQLITE_BUSY / SQLITE_LOCKED)."""
    text = str(exc)
    return isinstance(exc, (sqlite3.OperationalError, StoreError)) and ("locked" in text or "busy" in text)


def side_files(store_path: Path) -> list[Path]:
    """The side files waiting next to a store, oldest run first."""
    store_path = Path(store_path)
    if not store_path.parent.is_dir():
        return []
    found = store_path.parent.glob(f"{store_path.name}.*{SUFFIX}")
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


def side_file(store_path: Path, run_id: str) -> Path:
    return Path(f"{store_path}.{run_id}{SUFFIX}")


def write_side_file(store_path: Path, run: Run, begun: bool, attempts: Iterable[Any], *, finished_at: float,
                    exit_code: int | None, counts: Mapping[str, int] | None, experiment: str | None) -> Path:
    """Write the rest of ``run`` next to the store; ``attempts`` are attempt rows (named tuples or
    :class:`~rq_obs.store.records.Attempt`) whose API calls' costs are settled."""
    rows = []
    for a in attempts:
        d = {f.name: getattr(a, f.name) for f in dataclasses.fields(Attempt)}
        d["markers"] = list(d["markers"])
        d["attributes"] = dict(d["attributes"])
        d["api_calls"] = [dataclasses.asdict(c) for c in d["api_calls"]]
        for c in d["api_calls"]:
            c["retry_reasons"] = list(c["retry_reasons"])
        rows.append((d, getattr(a, "summary", "")))
    doc = {
        "format": FORMAT,
        "run": run_to_dict(dataclasses.replace(run, attempts=())),
        "begun": begun,
        "attempts": [d for d, _ in rows],
        "summaries": [s for _, s in rows],
        "finished_at": finished_at,
        "exit_code": exit_code,
        "counts": dict(counts) if counts is not None else None,
        "experiment": experiment,
    }
    path = side_file(store_path, run.run_id)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, sort_keys=True, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


class Drained(NamedTuple):
    path: Path
    run_id: str
    attempts: int


def _load(path: Path) -> tuple[Run, list[Any], dict]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable rq-obs side file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("run"), dict):
        raise InputError(f"{path}: not an rq-obs side file of format {FORMAT} (field 'format'/'run')")
    summaries = doc.get("summaries") or []
    run = run_from_dict(dict(doc["run"], attempts=doc.get("attempts") or []), where=str(path))
    if len(summaries) != len(run.attempts):
        raise InputError(f"{path}: field 'summaries' has {len(summaries)} entries; expected one per attempt "
                         f"({len(run.attempts)})")
    from rq_obs.telemetry.recorder import AttemptRow

    rows = [AttemptRow(*(getattr(a, f.name) for f in dataclasses.fields(Attempt)), summary=str(s))
            for a, s in zip(run.attempts, summaries)]
    return dataclasses.replace(run, attempts=()), rows, doc


def drain(store: Store) -> list[Drained]:
    """Write every side file next to ``store`` into it (one transaction each) and delete it.

    Raises the store's lock error when it is still locked (the files stay), :class:`InputError`
    naming a side file that cannot be read (it stays, the others are written).
    """
    done = []
    bad: list[str] = []
    for path in side_files(store.path):
        try:
            run, rows, doc = _load(path)
        except InputError as exc:
            bad.append(str(exc))
            continue
        now = time.time()
        try:
            _write_rest(store, run, rows, doc, now)
        except sqlite3.DatabaseError as exc:
            raise store.error(exc) from None
        path.unlink()
        done.append(Drained(path, run.run_id, len(rows)))
    if bad:
        raise InputError("; ".join(bad) + " (left in place; the other side files were written)")
    return done


def _write_rest(store: Store, run: Run, rows: list, doc: dict, now: float) -> None:
    from rq_obs.store.runs import _begin_in, _finish_in, _insert_attempts

    with store.transaction() as conn:
        row = conn.execute("SELECT status FROM runs WHERE run_id = ?", (run.run_id,)).fetchone()
        if row is not None and row[0] == "complete":  # written before (the file outlived its commit)
            return
        if row is None:  # the session never got to write its run row
            _begin_in(conn, store, run, now)
        _insert_attempts(conn, run, rows, None)
        if doc.get("experiment"):
            conn.execute("UPDATE runs SET experiment = ? WHERE run_id = ?", (doc["experiment"], run.run_id))
        _finish_in(conn, store, run, float(doc.get("finished_at") or now), doc.get("exit_code"),
                   doc.get("counts"), now)
