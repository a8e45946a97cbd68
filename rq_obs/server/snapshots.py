"""``POST /api/v1/snapshots``: authenticate, check the request, validate the snapshot, redact it, store it.

The request checks are the runs route's (:func:`rq_obs.server.ingest.read_body`: token 401,
content type 415, length 411/413, same ``max_payload_bytes``), then JSON (400; ``NaN`` and
``Infinity`` are not JSON) and the snapshot document (400 naming the field; the validator is
:func:`rq_obs.snapshot.model.snapshot_from_dict`, the one every stored snapshot is read with).
The environment is then redacted as a local snapshot's is
(:func:`rq_obs.snapshot.environment.redact_environment`): a secret-looking variable's value is
never stored, whatever the client sent.

Idempotent on the snapshot's identity, its release and document
(:func:`rq_obs.snapshot.store.put_snapshot`): the same document again answers 200 ``duplicate``
and changes nothing; a different document of a stored release replaces it, as re-running
``rq-obs snapshot`` does locally (201, ``"replaced": true``). A 2xx reply means the snapshot is
committed to disk. A refused request writes nothing but its ``rejected`` count.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from typing import Callable, Mapping

from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.errors import InputError, RqObsError
from rq_obs.exporters.health import snapshot_count
from rq_obs.server.ingest import Reply, decode_json, error_reply, read_body, rejected_reply
from rq_obs.snapshot.environment import redact_environment
from rq_obs.snapshot.model import snapshot_from_dict
from rq_obs.snapshot.store import DUPLICATE, REPLACED, put_snapshot
from rq_obs.store.db import Store

__all__ = ["PATH", "ingest_snapshot"]

log = logging.getLogger("rq_obs.server")

PATH = "/api/v1/snapshots"


def _not_json(name: str):
    raise ValueError(f"{name} is not allowed")


def ingest_snapshot(config: Config, store: Store, headers: Mapping[str, str], read: Callable[[int], bytes]) -> Reply:
    """Handle one snapshot push. ``headers`` behaves like ``http.client`` headers; ``read(n)`` reads the body."""
    body = read_body(config, headers, read)
    if isinstance(body, Reply):
        return body
    rejected = lambda message: rejected_reply(store, message, M.INGEST_SNAPSHOTS)  # noqa: E731
    try:
        doc = decode_json(body, parse_constant=_not_json)
    except InputError as exc:
        return rejected(str(exc))
    except ValueError as exc:  # NaN, Infinity
        return rejected(f"request body: not valid JSON ({exc})")
    except RecursionError:
        return rejected("request body: nested too deeply to read")
    try:
        snap = snapshot_from_dict(doc, "request body")
    except InputError as exc:
        return rejected(str(exc))
    snap = dataclasses.replace(snap, environment=redact_environment(snap.environment))
    try:
        outcome = put_snapshot(store, snap, snapshot_count)
    except (sqlite3.Error, RqObsError) as exc:
        log.error("ingest of the snapshot of release %r failed: %s", snap.release, exc)
        return error_reply(503, f"the store could not save the snapshot of release {snap.release!r} ({exc}); retry later",
                      **{"Retry-After": "1"})
    if outcome == REPLACED:
        log.info("snapshot of release %r replaced by a pushed one (commit %s)", snap.release, snap.commit[:12] or "-")
    reply = {"release": snap.release, "stored": outcome != DUPLICATE, "replaced": outcome == REPLACED,
             "duplicate": outcome == DUPLICATE}
    return Reply(200 if outcome == DUPLICATE else 201, reply)
