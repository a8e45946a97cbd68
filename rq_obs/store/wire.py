"""A pushed run document decoded and checked in one pass at C speed (msgspec), for the common case.

:func:`fast_run` decodes the JSON body straight into typed structs whose constraints are
those of :func:`rq_obs.store.records.run_from_dict`, then builds the same
:class:`~rq_obs.store.records.Run`. It accepts a subset of what ``run_from_dict`` accepts
and returns ``None`` for everything else: a body it cannot decode, a field it finds wrong,
an explicit ``null`` where the validator would take the default, a string that may hold a
NUL (an escaped ``\\u0000`` anywhere in the body), a float outside ±2⁶³. The caller then
takes the slow path (``json.loads`` + ``run_from_dict``), which decides, and names the bad
field if there is one. So error messages come from one place, and a document is never
accepted here that the validator would refuse (tests/test_wire.py checks both on generated
documents).
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

import msgspec

from rq_obs.store.records import (MAX_ATTRIBUTES, MAX_CONTENT, MAX_COST_USD, MAX_COUNT, MAX_KEY, MAX_MARKERS,
                                   MAX_NAME, MAX_SECONDS, MAX_TEXT, MAX_TOKENS, MAX_UNIX_TIME, RETRY_REASONS, ApiCall,
                                   Attempt, Run, TrackedFile)

__all__ = ["fast_run"]

_BIG = 2 ** 63
_Int = Annotated[int, msgspec.Meta(ge=-_BIG, le=_BIG - 1)]
_Seconds = Annotated[float, msgspec.Meta(ge=0.0, le=MAX_SECONDS)]
_Time = Annotated[float, msgspec.Meta(ge=0.0, le=MAX_UNIX_TIME)]
_Tokens = Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)]
_Name = Annotated[str, msgspec.Meta(max_length=MAX_NAME)]
_NonNegative = Annotated[int, msgspec.Meta(ge=0, le=_BIG - 1)]
_Hex = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]*\Z")]


def _text(limit: int):
    return Annotated[str, msgspec.Meta(min_length=1, max_length=limit)]


class _Call(msgspec.Struct):
    provider: _text(256)
    model: _text(256)
    status_code: Optional[_Int] = None
    error: Annotated[str, msgspec.Meta(max_length=MAX_TEXT)] = ""
    latency: _Seconds = 0.0
    retries: Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)] = 0
    retry_reasons: list[Literal[RETRY_REASONS]] = []
    input_tokens: _Tokens = 0
    output_tokens: _Tokens = 0
    cached_tokens: _Tokens = 0
    cost_usd: Optional[Annotated[float, msgspec.Meta(ge=0.0, le=MAX_COST_USD)]] = None
    started_at: _Time = 0.0


class _Attempt(msgspec.Struct):
    test: _text(4096)
    outcome: Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]
    duration: _Seconds
    attempt: Annotated[int, msgspec.Meta(ge=1, le=MAX_COUNT)] = 1
    worker: _text(64) = "main"
    category: _text(256) = "none"
    markers: Annotated[list[_Name], msgspec.Meta(max_length=MAX_MARKERS)] = []
    variant: _text(256) = "control"
    started_at: Optional[_Time] = None
    trace_id: _Hex = ""
    span_id: _Hex = ""
    attributes: Annotated[dict[Annotated[str, msgspec.Meta(max_length=MAX_KEY)],
                               Union[Annotated[str, msgspec.Meta(max_length=MAX_TEXT)], int, float, bool]],
                          msgspec.Meta(max_length=MAX_ATTRIBUTES)] = {}
    api_calls: list[_Call] = []


class _Tracked(msgspec.Struct):
    path: _text(1024)
    sha256: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{1,64}\Z")]
    lines_added: Optional[_NonNegative] = None
    lines_removed: Optional[_NonNegative] = None
    author: _Name = ""
    content: Optional[Annotated[str, msgspec.Meta(max_length=MAX_CONTENT)]] = None


class _Run(msgspec.Struct):
    run_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,128}\Z")]
    suite: _text(512)
    started_at: _Time
    schema_version: Literal[1] = 1
    finished_at: Optional[_Time] = None
    status: Literal["complete", "incomplete"] = "complete"
    sequence: Optional[_Int] = None
    commit: _Name = ""
    branch: _Name = ""
    experiment: _Name = "none"
    host: _Name = ""
    source: _Name = "push"
    trace_id: _Name = ""
    tracked_files: list[_Tracked] = []
    attempts: list[_Attempt] = []


_decoder = msgspec.json.Decoder(_Run)
_asdict = msgspec.structs.asdict
_new = object.__new__


def _frozen(cls, fields: dict):
    """An instance of the frozen dataclass ``cls`` with ``fields`` (what its __init__ would set, one call)."""
    out = _new(cls)
    out.__dict__.update(fields)
    return out


def fast_run(body: bytes) -> Run | None:
    """The :class:`Run` in ``body`` when it is plainly valid, else None (the slow path decides)."""
    if b"\\u0000" in body:
        return None
    try:
        doc = _decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    started = doc.started_at
    if doc.finished_at is not None and doc.finished_at < started:
        return None
    attempts = []
    for a in doc.attempts:
        d = _asdict(a)
        d["markers"] = tuple(a.markers)
        if a.started_at is None:
            d["started_at"] = started
        if a.api_calls:
            calls = []
            for c in a.api_calls:
                cd = _asdict(c)
                cd["retry_reasons"] = tuple(c.retry_reasons)
                calls.append(_frozen(ApiCall, cd))
            d["api_calls"] = tuple(calls)
        else:
            d["api_calls"] = ()
        attempts.append(_frozen(Attempt, d))
    return Run(
        run_id=doc.run_id, suite=doc.suite, started_at=float(started), finished_at=doc.finished_at, status=doc.status,
        sequence=doc.sequence, commit=doc.commit, branch=doc.branch, experiment=doc.experiment or "none",
        host=doc.host, source=doc.source, trace_id=doc.trace_id,
        tracked_files=tuple(TrackedFile(**_asdict(t)) for t in doc.tracked_files), attempts=tuple(attempts),
    )
