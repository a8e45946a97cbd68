"""``POST /api/v1/runs``: authenticate, check the request, validate the run document, store it.

Order of checks (the first failure answers): token (401), content type (415), length
(411 without ``Content-Length``, 413 above ``max_payload_bytes``; the body is not read),
JSON (400), run document (400 naming the field). A stored run answers 201, a run id
already stored answers 200 with ``"duplicate": true``; either reply means the run is
committed to disk. A store failure answers 503 so the client retries.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import logging
import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.pricing import price_function
from rq_obs.errors import InputError, RqObsError
from rq_obs.exporters.health import ingest_count, record_ingest
from rq_obs.store.db import Store
from rq_obs.redact import redact, redact_attributes
from rq_obs.store.records import Run, run_from_dict
from rq_obs.store.runs import save_run
from rq_obs.store.wire import fast_run

__all__ = ["Reply", "ingest", "read_body", "error_reply", "rejected_reply", "PATH"]

log = logging.getLogger("rq_obs.server")

PATH = "/api/v1/runs"
_DIGITS = re.compile(r"[0-9]+")


@dataclass
class Reply:
    status: int
    body: dict
    headers: dict = field(default_factory=dict)


def error_reply(status: int, message: str, **headers: str) -> Reply:
    return Reply(status, {"error": message}, dict(headers))


def authorised(config: Config, authorization: str | None) -> bool:
    if not config.token.strip():
        return False
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), config.token.strip().encode("utf-8"))


def read_body(config: Config, headers: Mapping[str, str], read: Callable[[int], bytes]) -> Reply | bytes:
    """The checks every ingest route makes before it reads a document: the body, or the reply refusing it
    (nothing read or written). ``headers`` behaves like ``http.client`` headers; ``read(n)`` reads the body."""
    checked = check_request(config, headers)
    return checked if isinstance(checked, Reply) else read(checked)


def check_request(config: Config, headers: Mapping[str, str]) -> Reply | int:
    """:func:`read_body`'s checks without the read: the body's length, or the reply refusing the request."""
    if not config.token.strip():
        return error_reply(503, "ingest is disabled: the server has no token, or one of only whitespace (set "
                                "RQ_OBS_TOKEN or `token` in the config)")
    if not authorised(config, headers.get("Authorization")):
        return error_reply(401, "missing or wrong bearer token (send 'Authorization: Bearer <token>')",
                      **{"WWW-Authenticate": 'Bearer realm="rq-obs"'})
    ctype = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if ctype != "application/json":
        return error_reply(415, f"Content-Type is {ctype or 'missing'!r}; expected 'application/json'")
    length_text = headers.get("Content-Length")
    if length_text is None:
        return error_reply(411, "Content-Length is required")
    if not _DIGITS.fullmatch(length_text):  # not int(): it takes "+7", " 7", "7_0" and "٧"
        return error_reply(400, f"Content-Length is {length_text!r}; expected a byte count")
    length = int(length_text)
    if length > config.max_payload_bytes:
        return error_reply(413, f"request body is {length} bytes; the limit is {config.max_payload_bytes} "
                           f"(max_payload_bytes)")
    return length


def decode_json(body: bytes, **loads_kw: Any) -> Any:
    """A request body as JSON; InputError naming why it is not UTF-8 or not JSON (other errors of
    ``json.loads``' hooks in ``loads_kw`` propagate)."""
    try:
        return json.loads(body.decode("utf-8"), **loads_kw)
    except UnicodeDecodeError as exc:
        raise InputError(f"request body: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"request body: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:  # a run or snapshot document is a few levels deep; [[[[...]]]] is not one
        raise InputError("request body: JSON nested too deeply (arrays or objects inside each other past "
                         "Python's recursion limit)") from None


def ingest(config: Config, store: Store, headers: Mapping[str, str], read: Callable[[int], bytes]) -> Reply:
    """Handle one push. ``headers`` behaves like ``http.client`` headers; ``read(n)`` reads the body."""
    body = read_body(config, headers, read)
    if isinstance(body, Reply):
        return body
    run = fast_run(body)  # the common, valid document; anything else is decided (and named) below
    if run is None:
        try:
            run = run_from_dict(decode_json(body), "request body")
        except InputError as exc:
            return rejected_reply(store, str(exc))
    run = redact_run(run)
    try:
        result = save_run(store, run, price_function(config.price_table), ingest_count(len(run.attempts)))
    except OverflowError:  # an integer beyond SQLite's 64 bits; the transaction was rolled back
        return rejected_reply(store, f"request body: run {run.run_id!r} has an integer too large to store "
                                f"(more than 64 bits)")
    except UnicodeEncodeError:  # a lone UTF-16 surrogate (a \\udXXX escape); the transaction was rolled back
        return rejected_reply(store, f"request body: run {run.run_id!r} has a string with a lone UTF-16 surrogate "
                                f"(an unpaired \\ud800-\\udfff escape), which is not text")
    except (sqlite3.Error, RqObsError) as exc:
        log.error("ingest of run %r failed: %s", run.run_id, exc)
        return error_reply(503, f"the store could not save run {run.run_id!r} ({exc}); retry later", **{"Retry-After": "1"})
    reply = {"run_id": run.run_id, "stored": result.stored, "duplicate": not result.stored,
             "sequence": result.sequence}
    return Reply(201 if result.stored else 200, reply)


def redact_run(run: Run) -> Run:
    """``run`` with every attempt attribute and API-call error text that looks like a credential replaced by
    ``<redacted: KIND>`` (:mod:`rq_obs.redact`): a client's own filter is not trusted."""
    changed = False
    attempts = []
    for a in run.attempts:
        attrs = redact_attributes(a.attributes) if a.attributes else a.attributes
        calls = tuple(c if not c.error else dataclasses.replace(c, error=redact(c.error)) for c in a.api_calls)
        if attrs != a.attributes or calls != a.api_calls:
            a = dataclasses.replace(a, attributes=attrs, api_calls=calls)
            changed = True
        attempts.append(a)
    return dataclasses.replace(run, attempts=tuple(attempts)) if changed else run


def rejected_reply(store: Store, message: str, metric=M.INGEST_RUNS) -> Reply:
    """A 400 naming the problem; the refused push is counted (``metric``, result ``rejected``) and nothing else
    is written."""
    try:
        record_ingest(store, "rejected", metric=metric)
    except sqlite3.Error as exc:
        log.error("could not count a rejected push: %s", exc)
    return error_reply(400, message)
