"""Push local runs and release snapshots to an `rq-obs serve` ingest API (``POST /api/v1/runs``,
``POST /api/v1/snapshots``).

:func:`push_pending` sends every complete run not pushed yet (``runs.pushed_at IS NULL``),
one POST per run, and marks a run pushed only after a 2xx reply (201 stored or 200
duplicate: both mean the server has it on disk). :func:`push_snapshots` does the same for
release snapshots (``release_snapshots.pushed_at IS NULL``: never pushed, or re-snapshotted
since), one POST per snapshot, its environment redacted again before it leaves
(:func:`rq_obs.snapshot.environment.redact_environment`); a snapshot is marked pushed only
if it was not replaced locally meanwhile. Connection errors, 5xx and 429 are retried with
exponential backoff. A 401/403 is a hard error (every push would get it). Any other 4xx (413: too large,
400: a document the server refuses) skips that one run or snapshot: it stays pending, is listed in the
report's ``skipped`` with the server's one-line reason, and the ones after it are still pushed; a run larger
than ``max_bytes`` is skipped the same way without being sent. Nothing is deleted locally: a failed push leaves
what was not confirmed pending for the next one. The token is sent only in the Authorization header and never
logged; messages show the URL without user-info or query (where credentials hide).
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Callable

from rq_obs.errors import RqObsError, UsageError
from rq_obs.server.ingest import PATH
from rq_obs.server.snapshots import PATH as SNAPSHOTS_PATH
from rq_obs.snapshot.environment import redact_environment
from rq_obs.snapshot.store import load_revision, mark_pushed, pending_snapshots
from rq_obs.store import loading
from rq_obs.store.db import Store
from rq_obs.store.records import Run, run_to_dict

__all__ = ["PushReport", "SnapshotPushReport", "push_pending", "push_snapshots", "pending_run_ids", "load_run",
           "ingest_url", "snapshots_url"]

log = logging.getLogger("rq_obs.push")


@dataclass
class PushReport:
    stored: list[str] = field(default_factory=list)  # newly stored by the server
    duplicates: list[str] = field(default_factory=list)  # the server already had them
    pending: int = 0  # runs still not pushed after this call (0 on success)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (run id, one-line reason): refused, kept pending

    @property
    def pushed(self) -> int:
        return len(self.stored) + len(self.duplicates)


@dataclass
class SnapshotPushReport:
    stored: list[str] = field(default_factory=list)  # releases the server did not have
    replaced: list[str] = field(default_factory=list)  # releases whose earlier snapshot the server replaced
    duplicates: list[str] = field(default_factory=list)  # the server already had this very snapshot
    pending: int = 0  # snapshots still not pushed after this call (0 on success)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (release, one-line reason): refused, kept pending

    @property
    def pushed(self) -> int:
        return len(self.stored) + len(self.replaced) + len(self.duplicates)


def _base_url(url: str) -> str:
    """The server's base URL from its base URL or either ingest URL (http or https, with a host)."""
    url = url.strip()
    parts = urllib.parse.urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise UsageError(f"push URL {display_url(url)!r} has user-info (user:password@) in it: pass the token with "
                         f"--token or RQ_OBS_TOKEN instead")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"push URL {display_url(url)!r}: expected http://HOST:PORT or https://HOST (the rq-obs serve address), "
                         f"e.g. http://127.0.0.1:9464")
    url = url.rstrip("/")
    for path in (PATH, SNAPSHOTS_PATH):
        if url.endswith(path):
            return url[: -len(path)]
    return url


def display_url(url: str) -> str:
    """``url`` for messages: no ``user:password@``, no query or fragment (a token in ``?token=`` stays out)."""
    parts = urllib.parse.urlsplit(url.strip())
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return urllib.parse.urlunsplit((parts.scheme, host + port, parts.path, "", ""))


def _skippable(status: int) -> bool:
    """A refusal of this one document (kept pending, the next ones pushed), not of every push (401/403)."""
    return 400 <= status < 500 and status not in (401, 403)


def _one_line(reply: dict) -> str:
    return " ".join(str(reply.get("error", reply)).split())[:300]


def ingest_url(url: str) -> str:
    """Accept the server's base URL or the full ingest URL (http or https, with a host)."""
    return _base_url(url) + PATH


def snapshots_url(url: str) -> str:
    """Where snapshots go, from the server's base URL or either ingest URL."""
    return _base_url(url) + SNAPSHOTS_PATH


def pending_run_ids(store: Store, since: float | None = None) -> list[str]:
    sql = "SELECT run_id FROM runs WHERE pushed_at IS NULL AND status = 'complete'"
    params: tuple = ()
    if since is not None:
        sql += " AND started_at >= ?"
        params = (since,)
    return [r[0] for r in store.query(sql + " ORDER BY started_at, sequence", params)]


def load_run(store: Store, run_id: str) -> Run:
    """The stored run as pushed: the receiving store assigns its own sequence number; tracked files carry
    their kept, redacted texts so serve can show diffs."""
    return dataclasses.replace(loading.load_run(store, run_id, contents=True), sequence=None)


class _Retry(Exception):
    pass


def _post(url: str, token: str, body: bytes, timeout: float) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}", "User-Agent": "rq-obs-push"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = {"error": raw.decode("utf-8", "replace")[:200] or exc.reason}
        if exc.code == 429 or exc.code >= 500:
            raise _Retry(f"HTTP {exc.code}: {doc.get('error', '')}".strip()) from None
        return exc.code, doc
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        # refused, reset, timeout, a reply cut short (IncompleteRead: the server died while answering)
        reason = getattr(exc, "reason", exc)
        raise _Retry(f"{type(exc).__name__}: {reason}") from None


def push_pending(store: Store, url: str, token: str, *, since: float | None = None, retries: int = 5,
                 backoff: float = 0.5, timeout: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep, max_bytes: int | None = None) -> PushReport:
    """Push every complete, not yet pushed run; see the module docstring for the rules.

    Raises :class:`RqObsError` when the server stays unreachable after ``retries`` retries
    (naming how many runs are still pending) or refuses a run (naming it and the reason).
    """
    target = ingest_url(url)
    shown = display_url(target)
    _need_token(token)
    report = PushReport()
    ids = pending_run_ids(store, since)
    for i, run_id in enumerate(ids):
        doc = run_to_dict(load_run(store, run_id))
        doc.pop("sequence", None)  # the server numbers runs per suite
        body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        left = f"{len(ids) - i + len(report.skipped)} run(s) still pending"  # skipped runs stay pending too
        if max_bytes is not None and len(body) > max_bytes:
            report.skipped.append((run_id, f"{len(body)} bytes, over the {max_bytes}-byte push limit "
                                           f"(max_payload_bytes); not sent"))
            continue
        status, reply = _deliver(target, token, body, f"run {run_id}", retries, backoff, timeout, sleep,
                                 left, store, shown)
        if _skippable(status):
            report.skipped.append((run_id, f"refused with HTTP {status}: {_one_line(reply)}"))
            continue
        if not 200 <= status < 300:
            raise RqObsError(f"{shown}: run {run_id!r} refused with HTTP {status}: "
                             f"{reply.get('error', reply)}; {left}")
        with store.transaction() as conn:
            conn.execute("UPDATE runs SET pushed_at = ? WHERE run_id = ?", (time.time(), run_id))
        (report.duplicates if reply.get("duplicate") else report.stored).append(run_id)
    report.pending = len(report.skipped)
    return report


def _need_token(token: str) -> None:
    if not token.strip():
        raise RqObsError("push needs a token (this one is empty or only whitespace): pass --token or set RQ_OBS_TOKEN")


def _deliver(target: str, token: str, body: bytes, what: str, retries: int, backoff: float, timeout: float,
             sleep: Callable[[float], None], left: str, store: Store, shown: str) -> tuple[int, dict]:
    """POST ``body``, retrying connection errors, 5xx and 429; the reply (status, JSON body) of the last try.
    ``left`` says what is still pending (in ``store``) when the server stays unreachable."""
    attempt = 0
    while True:
        try:
            return _post(target, token, body, timeout)
        except _Retry as exc:
            if attempt == retries:
                raise RqObsError(f"{shown}: unreachable after {retries + 1} tries ({exc}); "
                                 f"{left} in {store.path}, kept for the next push") from None
            delay = backoff * (2 ** attempt)
            log.warning("push of %s failed (%s); retrying in %.1fs", what, exc, delay)
            sleep(delay)
            attempt += 1


def push_snapshots(store: Store, url: str, token: str, *, since: float | None = None, retries: int = 5,
                   backoff: float = 0.5, timeout: float = 30.0,
                   sleep: Callable[[float], None] = time.sleep) -> SnapshotPushReport:
    """Push every release snapshot not pushed since it was stored (``since``: only those taken after it).

    The same rules as :func:`push_pending`: raises :class:`RqObsError` naming how many snapshots are still
    pending when the server stays unreachable, or naming the release and the reason when it refuses one.
    """
    target = snapshots_url(url)
    shown = display_url(target)
    _need_token(token)
    report = SnapshotPushReport()
    pending = pending_snapshots(store, since)
    for i, (release, revision) in enumerate(pending):
        left = f"{len(pending) - i + len(report.skipped)} snapshot(s) still pending"  # skipped ones stay pending
        snap = load_revision(store, release, revision)
        if snap is None:  # re-snapshotted since it was listed: the new one is pending for the next push
            continue
        doc = dataclasses.replace(snap, environment=redact_environment(snap.environment)).to_dict()
        body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        status, reply = _deliver(target, token, body, f"snapshot {release}", retries, backoff, timeout, sleep,
                                 left, store, shown)
        if _skippable(status):
            report.skipped.append((release, f"refused with HTTP {status}: {_one_line(reply)}"))
            continue
        if not 200 <= status < 300:
            raise RqObsError(f"{shown}: snapshot of release {release!r} refused with HTTP {status}: "
                             f"{reply.get('error', reply)}; {left}")
        mark_pushed(store, release, revision, time.time())
        (report.duplicates if reply.get("duplicate") else report.replaced if reply.get("replaced")
         else report.stored).append(release)
    report.pending = len(pending_snapshots(store, since))
    return report
