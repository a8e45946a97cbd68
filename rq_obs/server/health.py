"""``/healthz`` (the process answers) and ``/readyz`` (the store is readable, writable, and has disk to write to).

``/readyz`` answers 503 naming the reason when the store cannot be read, when it is locked by another
writer past a short wait (a push would wait or fail), or when its disk has less free space than
``readyz_min_free_bytes`` (a push would get 503 for a full disk): a load balancer stops sending pushes.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path

from rq_obs.config import Config
from rq_obs.store.db import Store

__all__ = ["healthz", "readyz"]

log = logging.getLogger("rq_obs.server")

#: milliseconds /readyz waits for the store's write lock
LOCK_WAIT_MS = 500


def healthz() -> tuple[int, dict]:
    return 200, {"status": "ok"}


def _unavailable(store: Store, reason: str) -> tuple[int, dict]:
    log.warning("readyz: store %s %s", store.path, reason)
    return 503, {"status": "unavailable", "error": f"store {store.path} {reason}"}


def readyz(store: Store, config: Config | None = None) -> tuple[int, dict]:
    try:
        conn = store.connect()
        conn.execute("SELECT COUNT(*) FROM runs").fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return _unavailable(store, f"is not readable: {exc}")
    try:  # a writer's lock is tried, and released at once
        with store.lock_wait(LOCK_WAIT_MS):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        return _unavailable(store, f"is not writable ({exc}): pushes would wait or fail")
    minimum = config.readyz_min_free_bytes if config is not None else 0
    try:
        free = shutil.disk_usage(Path(store.path).parent).free
    except OSError as exc:
        return _unavailable(store, f"disk space unknown: {exc}")
    if free < minimum:
        return _unavailable(store, f"has {free} bytes of disk free, under readyz_min_free_bytes ({minimum}): "
                                   f"pushes would be refused")
    return 200, {"status": "ready"}
