"""``/healthz`` (the process answers) and ``/readyz`` (the store is readable)."""

from __future__ import annotations

import logging

from rq_obs.store.db import Store

__all__ = ["healthz", "readyz"]

log = logging.getLogger("rq_obs.server")


def healthz() -> tuple[int, dict]:
    return 200, {"status": "ok"}


def readyz(store: Store) -> tuple[int, dict]:
    try:
        store.connect().execute("SELECT COUNT(*) FROM runs").fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        log.warning("readyz: store %s not readable: %s", store.path, exc)
        return 503, {"status": "unavailable", "error": f"store {store.path} is not readable: {exc}"}
    return 200, {"status": "ready"}
