"""Run records: the one format shared by the pytest plugin, JUnit import, push and ingest.

A :class:`Run` serialises to the JSON document ``POST /api/v1/runs`` accepts
(schema version :data:`SCHEMA_VERSION`, documented in docs/INGEST.md).
:func:`run_from_dict` validates a document and names the first bad field.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from rq_obs.errors import InputError

__all__ = ["OUTCOMES", "PASSING", "FAILING", "RETRY_REASONS", "SCHEMA_VERSION", "ApiCall", "Attempt", "TrackedFile", "Run",
           "run_from_dict", "run_to_dict", "status_class", "retry_reason"]

SCHEMA_VERSION = 1
OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
#: outcomes that count for a pass rate; skipped/xfailed/xpassed are not counted.
PASSING = ("passed",)
FAILING = ("failed", "error")
RETRY_REASONS = ("429", "5xx", "timeout", "connection", "other")
#: Bounds on what a run document may hold (issue 17): a value past them would corrupt a total (a negative
#: cost, a duration that makes a counter +Inf) or grow the store and the series without limit.
MAX_SECONDS = 7 * 86400.0  # a test attempt's duration, an API call's latency
MAX_UNIX_TIME = 4_102_444_800.0  # 2100-01-01: started_at / finished_at
MAX_COST_USD = 100_000.0  # one API call
MAX_TOKENS = 10 ** 9  # one API call, per kind
MAX_COUNT = 10_000  # an attempt number, retries of one call
MAX_ATTRIBUTES = 64  # per attempt
MAX_KEY = 128  # attribute names
MAX_TEXT = 1024  # attribute text values, an API call's error
MAX_NAME = 256  # branch, host, experiment, variant, category, author, provider, model, a marker
MAX_MARKERS = 128
MAX_CONTENT = 1024 * 1024  # a tracked file's text, in characters (rq_obs.store.texts keeps files up to 1 MiB)
_RUN_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}\Z")  # \Z, not $: "$" also matches before a final newline
_HEX = re.compile(r"^[0-9a-f]*\Z")


def status_class(code: int | None) -> str:
    if code is None:
        return "error"
    return f"{code // 100}xx" if 100 <= code < 600 else "error"


def retry_reason(code: int | None, error: str = "") -> str:
    """Classify why a request was retried."""
    if code == 429:
        return "429"
    if code is not None and 500 <= code < 600:
        return "5xx"
    if error in ("timeout", "connection"):
        return error
    return "other"


@dataclass(frozen=True)
class ApiCall:
    provider: str
    model: str
    status_code: int | None = 200
    error: str = ""  # "timeout", "connection", ... when no status code
    latency: float = 0.0  # seconds, of the final try
    retries: int = 0
    retry_reasons: tuple[str, ...] = ()  # one per retry
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float | None = None  # None: estimate from the price table
    started_at: float = 0.0


@dataclass(frozen=True)
class TrackedFile:
    path: str
    sha256: str
    lines_added: int | None = None  # filled when a change vs the previous run is known (git diff)
    lines_removed: int | None = None
    author: str = ""
    content: str | None = None  # the file's redacted text (rq_obs.store.texts), pushed so serve can show diffs


@dataclass(frozen=True)
class Attempt:
    test: str
    outcome: str
    duration: float
    attempt: int = 1
    worker: str = "main"
    category: str = "none"
    markers: tuple[str, ...] = ()
    variant: str = "control"
    started_at: float = 0.0
    trace_id: str = ""
    span_id: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    api_calls: tuple[ApiCall, ...] = ()


@dataclass(frozen=True)
class Run:
    run_id: str
    suite: str
    started_at: float
    finished_at: float | None = None
    status: str = "complete"  # complete | incomplete
    sequence: int | None = None  # assigned by the store when None
    commit: str = ""
    branch: str = ""
    experiment: str = "none"
    host: str = ""
    source: str = "pytest"  # pytest | junit | push
    trace_id: str = ""
    tracked_files: tuple[TrackedFile, ...] = ()
    attempts: tuple[Attempt, ...] = ()


def run_to_dict(run: Run) -> dict:
    d = asdict(run)
    d["schema_version"] = SCHEMA_VERSION
    return d


# --------------------------------------------------------------------------- validation


#: SQLite stores integers in 64 bits; larger ones are refused at validation, not at insert.
_INT_LIMIT = 2 ** 63


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and -_INT_LIMIT <= v < _INT_LIMIT


def _is_number(v: Any) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return math.isfinite(v) if isinstance(v, float) else -_INT_LIMIT <= v < _INT_LIMIT


#: Each kind's test, evaluated only for the field's own kind.
_KIND_OK = {
    "str": lambda v: isinstance(v, str),
    "int": _is_int,
    "opt_int": lambda v: v is None or _is_int(v),
    "number": _is_number,
    "opt_number": lambda v: v is None or _is_number(v),
    "list": lambda v: isinstance(v, list),
    "dict": lambda v: isinstance(v, dict),
}


class _V:
    """Small validator that names the failing field path."""

    def __init__(self, where: str):
        self.where = where

    def fail(self, path: str, expected: str, got: Any) -> InputError:
        shown = repr(got)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return InputError(f"{self.where}: field {path!r} is {shown}; expected {expected}")

    def get(self, obj: Mapping, key: str, path: str, kind: str, default: Any = ..., *, check=None, expected: str = ""):
        if key not in obj or obj[key] is None and kind != "opt_number" and kind != "opt_int":
            if default is ...:
                raise InputError(f"{self.where}: field {path + key!r} is missing; expected {expected or kind}")
            return default
        v = obj[key]
        p = path + key
        ok = _KIND_OK[kind](v)
        if not ok:
            raise self.fail(p, expected or {"str": "a string", "int": "an integer", "opt_int": "an integer or null",
                                             "number": "a finite number", "opt_number": "a finite number or null",
                                             "list": "a list", "dict": "an object"}[kind], v)
        if check is not None and not check(v):
            raise self.fail(p, expected, v)
        return v


def _str_ok(limit: int):
    return lambda s: 0 < len(s) <= limit and "\x00" not in s


_SECONDS = f"seconds 0-{MAX_SECONDS:g}"
_TIME = f"a Unix time in seconds 0-{MAX_UNIX_TIME:g}"
_TOKENS = f"an integer 0-{MAX_TOKENS}"
_COUNT = "an integer >= 0 or null"
_NAME = f"a string of at most {MAX_NAME} characters"


def _seconds(x: float) -> bool:
    return 0 <= x <= MAX_SECONDS


def _time(x: float) -> bool:
    return 0 <= x <= MAX_UNIX_TIME


def _tokens(x: int) -> bool:
    return 0 <= x <= MAX_TOKENS


def _opt_count(x: int | None) -> bool:
    return x is None or x >= 0


def _name(s: str) -> bool:
    return len(s) <= MAX_NAME


_OUTCOME_SET = frozenset(OUTCOMES)
_isfinite = math.isfinite
_new_attempt = object.__new__
_BIG = 2 ** 63


def _finite(x: Any) -> bool:
    """A plain finite float, or an int well inside float range (others: the slow path decides)."""
    t = type(x)
    return _isfinite(x) if t is float else t is int and -_BIG < x < _BIG


def _fast_attempt(a: Any, started: Any) -> Attempt | None:
    """An :class:`Attempt` from a plain valid attempt object, or None when :func:`_slow_attempt` must decide.

    Accepts exactly what :func:`_slow_attempt` accepts and builds the same value; it returns None
    (never raises) for anything unusual: API calls, str/number subclasses, defaults it does not know.
    """
    if type(a) is not dict:
        return None
    get = a.get
    calls = get("api_calls")
    if calls:
        return None
    test = get("test")
    if type(test) is not str or not 0 < len(test) <= 4096 or "\x00" in test:
        return None
    outcome = get("outcome")
    if type(outcome) is not str or outcome not in _OUTCOME_SET:
        return None
    duration = get("duration")
    if not _finite(duration) or not 0 <= duration <= MAX_SECONDS:
        return None
    attempt = get("attempt")
    if attempt is None:
        attempt = 1
    elif type(attempt) is not int or not 1 <= attempt <= MAX_COUNT:
        return None
    worker = get("worker")
    if worker is None:
        worker = "main"
    elif type(worker) is not str or not 0 < len(worker) <= 64 or "\x00" in worker:
        return None
    category = get("category")
    if category is None:
        category = "none"
    elif type(category) is not str or not 0 < len(category) <= 256 or "\x00" in category:
        return None
    variant = get("variant")
    if variant is None:
        variant = "control"
    elif type(variant) is not str or not 0 < len(variant) <= 256 or "\x00" in variant:
        return None
    at = get("started_at")
    if at is None:
        at = started
    elif not _finite(at) or not 0 <= at <= MAX_UNIX_TIME:
        return None
    markers = get("markers")
    if markers is None:
        markers = ()
    elif type(markers) is not list or len(markers) > MAX_MARKERS:
        return None
    else:
        for m in markers:
            if type(m) is not str or len(m) > MAX_NAME:
                return None
        markers = tuple(markers)
    trace_id = get("trace_id")
    if trace_id is None:
        trace_id = ""
    elif type(trace_id) is not str or not _HEX.match(trace_id):
        return None
    span_id = get("span_id")
    if span_id is None:
        span_id = ""
    elif type(span_id) is not str or not _HEX.match(span_id):
        return None
    attrs = get("attributes")
    if attrs is None:
        attrs = {}
    elif type(attrs) is not dict or len(attrs) > MAX_ATTRIBUTES:
        return None
    else:
        for key, val in attrs.items():
            if len(key) > MAX_KEY:
                return None
            t = type(val)
            if t is float:
                if not _isfinite(val):
                    return None
            elif t is str:
                if len(val) > MAX_TEXT:
                    return None
            elif t is not int and t is not bool:
                return None
        attrs = dict(attrs)
    if calls is not None and type(calls) is not list:
        return None
    # the frozen dataclass's __init__ sets fields one object.__setattr__ at a time; same fields, same values
    out = _new_attempt(Attempt)
    out.__dict__.update(test=test, outcome=outcome, duration=duration, attempt=attempt, worker=worker,
                        category=category, markers=markers, variant=variant, started_at=at, trace_id=trace_id,
                        span_id=span_id, attributes=attrs, api_calls=())
    return out

def _slow_attempt(v: _V, i: int, a: Any, started: Any) -> Attempt:
    """Validate one attempt field by field (names the first bad field)."""
    p = f"attempts[{i}]."
    if not isinstance(a, dict):
        raise v.fail(p[:-1], "an object", a)
    calls = []
    for j, c in enumerate(v.get(a, "api_calls", p, "list", [])):
        q = f"{p}api_calls[{j}]."
        if not isinstance(c, dict):
            raise v.fail(q[:-1], "an object", c)
        reasons = v.get(c, "retry_reasons", q, "list", [])
        for k, r in enumerate(reasons):
            if r not in RETRY_REASONS:
                raise v.fail(f"{q}retry_reasons[{k}]", "one of " + ", ".join(RETRY_REASONS), r)
        calls.append(ApiCall(
            provider=v.get(c, "provider", q, "str", check=_str_ok(256), expected="a non-empty string"),
            model=v.get(c, "model", q, "str", check=_str_ok(256), expected="a non-empty string"),
            status_code=v.get(c, "status_code", q, "opt_int", None),
            error=v.get(c, "error", q, "str", "", check=lambda s: len(s) <= MAX_TEXT,
                        expected=f"at most {MAX_TEXT} characters"),
            latency=v.get(c, "latency", q, "number", 0.0, check=_seconds, expected=_SECONDS),
            retries=v.get(c, "retries", q, "int", 0, check=lambda x: 0 <= x <= MAX_COUNT,
                          expected=f"an integer 0-{MAX_COUNT}"),
            retry_reasons=tuple(reasons),
            input_tokens=v.get(c, "input_tokens", q, "int", 0, check=_tokens, expected=_TOKENS),
            output_tokens=v.get(c, "output_tokens", q, "int", 0, check=_tokens, expected=_TOKENS),
            cached_tokens=v.get(c, "cached_tokens", q, "int", 0, check=_tokens, expected=_TOKENS),
            cost_usd=v.get(c, "cost_usd", q, "opt_number", None, check=lambda x: x is None or 0 <= x <= MAX_COST_USD,
                           expected=f"USD 0-{MAX_COST_USD:g} or null"),
            started_at=v.get(c, "started_at", q, "number", 0.0, check=_time, expected=_TIME),
        ))
    attrs = v.get(a, "attributes", p, "dict", {}, check=lambda d: len(d) <= MAX_ATTRIBUTES,
                  expected=f"at most {MAX_ATTRIBUTES} attributes")
    for key, val in attrs.items():
        if len(key) > MAX_KEY:
            raise v.fail(f"{p}attributes", f"attribute names of at most {MAX_KEY} characters", key)
        if not isinstance(val, (str, int, float, bool)) or isinstance(val, float) and not math.isfinite(val):
            raise v.fail(f"{p}attributes.{key}", "a string, number or boolean", val)
        if isinstance(val, str) and len(val) > MAX_TEXT:
            raise v.fail(f"{p}attributes.{key}", f"at most {MAX_TEXT} characters", val)
    markers = v.get(a, "markers", p, "list", [])
    if len(markers) > MAX_MARKERS or not all(isinstance(m, str) and len(m) <= MAX_NAME for m in markers):
        raise v.fail(p + "markers", f"a list of at most {MAX_MARKERS} strings of at most {MAX_NAME} characters",
                     markers)
    return Attempt(
        test=v.get(a, "test", p, "str", check=_str_ok(4096), expected="a non-empty test id"),
        outcome=v.get(a, "outcome", p, "str", check=lambda s: s in OUTCOMES, expected="one of " + ", ".join(OUTCOMES)),
        duration=v.get(a, "duration", p, "number", check=_seconds, expected=_SECONDS),
        attempt=v.get(a, "attempt", p, "int", 1, check=lambda x: 1 <= x <= MAX_COUNT,
                      expected=f"an integer 1-{MAX_COUNT}"),
        worker=v.get(a, "worker", p, "str", "main", check=_str_ok(64), expected="a non-empty string (max 64)"),
        category=v.get(a, "category", p, "str", "none", check=_str_ok(256), expected="a non-empty string"),
        markers=tuple(markers),
        variant=v.get(a, "variant", p, "str", "control", check=_str_ok(256), expected="a non-empty string"),
        started_at=v.get(a, "started_at", p, "number", started, check=_time, expected=_TIME),
        trace_id=v.get(a, "trace_id", p, "str", "", check=lambda s: bool(_HEX.match(s)), expected="hex digits"),
        span_id=v.get(a, "span_id", p, "str", "", check=lambda s: bool(_HEX.match(s)), expected="hex digits"),
        attributes=dict(attrs),
        api_calls=tuple(calls),
    )


def run_from_dict(doc: Any, where: str = "run") -> Run:
    """Validate a run document (JSON-decoded) and build a :class:`Run`.

    Raises :class:`InputError` naming the first bad field, e.g.
    ``request body: field 'attempts[3].outcome' is 'ok'; expected one of passed, failed, ...``.
    """
    v = _V(where)
    if not isinstance(doc, dict):
        raise v.fail("(document)", "a JSON object", doc)
    ver = v.get(doc, "schema_version", "", "int", SCHEMA_VERSION)
    if ver != SCHEMA_VERSION:
        raise v.fail("schema_version", f"{SCHEMA_VERSION}", ver)
    run_id = v.get(doc, "run_id", "", "str", check=lambda s: bool(_RUN_ID.match(s)),
                   expected="1-128 characters of A-Z a-z 0-9 _ . : -")
    suite = v.get(doc, "suite", "", "str", check=_str_ok(512), expected="a non-empty string (max 512)")
    started = v.get(doc, "started_at", "", "number", check=_time, expected=_TIME)
    finished = v.get(doc, "finished_at", "", "opt_number", None, check=lambda x: x is None or started <= x <= MAX_UNIX_TIME,
                     expected=f"a Unix time in seconds, at or after started_at ({started!r}), or null")
    status = v.get(doc, "status", "", "str", "complete", check=lambda s: s in ("complete", "incomplete"),
                   expected="complete or incomplete")
    seq = v.get(doc, "sequence", "", "opt_int", None)
    tracked = []
    for i, t in enumerate(v.get(doc, "tracked_files", "", "list", [])):
        p = f"tracked_files[{i}]."
        if not isinstance(t, dict):
            raise v.fail(p[:-1], "an object", t)
        tracked.append(TrackedFile(
            path=v.get(t, "path", p, "str", check=_str_ok(1024), expected="a non-empty path"),
            sha256=v.get(t, "sha256", p, "str", check=lambda s: bool(_HEX.match(s)) and 0 < len(s) <= 64,
                         expected="lower-case hex digits"),
            lines_added=v.get(t, "lines_added", p, "opt_int", None, check=_opt_count, expected=_COUNT),
            lines_removed=v.get(t, "lines_removed", p, "opt_int", None, check=_opt_count, expected=_COUNT),
            author=v.get(t, "author", p, "str", "", check=_name, expected=_NAME),
            content=v.get(t, "content", p, "str", None, check=lambda s: len(s) <= MAX_CONTENT,
                          expected=f"the file's text, at most {MAX_CONTENT} characters, or null"),
        ))
    attempts = []
    for i, a in enumerate(v.get(doc, "attempts", "", "list", [])):
        # the common, valid attempt takes the fast path; anything it is unsure of is checked field by field
        attempts.append(_fast_attempt(a, started) or _slow_attempt(v, i, a, started))
    return Run(
        run_id=run_id, suite=suite, started_at=float(started), finished_at=finished, status=status, sequence=seq,
        commit=v.get(doc, "commit", "", "str", "", check=_name, expected=_NAME),
        branch=v.get(doc, "branch", "", "str", "", check=_name, expected=_NAME),
        experiment=v.get(doc, "experiment", "", "str", "none", check=_name, expected=_NAME) or "none",
        host=v.get(doc, "host", "", "str", "", check=_name, expected=_NAME),
        source=v.get(doc, "source", "", "str", "push", check=_name, expected=_NAME),
        trace_id=v.get(doc, "trace_id", "", "str", "", check=_name, expected=_NAME),
        tracked_files=tuple(tracked), attempts=tuple(attempts),
    )
