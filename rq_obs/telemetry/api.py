"""What a test can tell rq-obs that only it knows: API calls, tokens, cost, variant, attributes.

Two ways in, same data:

* the ``rq_obs`` fixture (an :class:`RqObs`), for tests::

      def test_answer(rq_obs):
          rq_obs.variant = "B"
          with rq_obs.record_api_call("openai", "gpt-4o") as call:
              resp = client.chat(...)
              call.status_code = resp.status_code
              call.usage(input=resp.usage.prompt_tokens, output=resp.usage.completion_tokens)
          rq_obs.attach(prompt_version="v7")

* module-level :func:`record_api_call`, :func:`add_api_call` and :func:`attach` for helper
  code deep inside the code under test that has no fixture at hand. They act on the test
  currently running in this process (see :class:`Slot`) and do nothing when rq-obs is not
  recording, so library code can call them unconditionally.

Everything recorded for one test attempt is kept in a :class:`Holder`; the plugin turns it
into a plain dict (:meth:`Holder.to_wire`) attached to the test's teardown report, which is
how data recorded inside an xdist worker reaches the controller that writes the run.
"""

from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any, Iterator, Mapping

from rq_obs.redact import redact
from rq_obs.store.records import RETRY_REASONS, ApiCall, retry_reason

__all__ = ["Holder", "Slot", "RqObs", "CallRecorder", "record_api_call", "add_api_call", "attach", "current",
           "MAX_KEY_LENGTH", "MAX_VALUE_LENGTH"]

MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 1024


#: one lock for every holder's appends: they are rare (API calls, attributes), one holder is made per test
_LOCK = threading.Lock()


class Holder:
    """Everything recorded for one test attempt (thread-safe appends)."""

    __slots__ = ("variant", "attributes", "calls", "dropped", "max_attributes", "_lock")

    def __init__(self, max_attributes: int = 32):
        self.variant: str | None = None
        self.attributes: dict[str, Any] = {}
        self.calls: list[ApiCall] = []
        self.dropped = 0
        self.max_attributes = max_attributes
        self._lock = _LOCK

    def add_call(self, call: ApiCall) -> None:
        with self._lock:
            self.calls.append(call)

    def attach(self, attrs: Mapping[str, Any]) -> None:
        with self._lock:
            for key, value in attrs.items():
                key = str(key)[:MAX_KEY_LENGTH]
                if not key:
                    continue
                if key not in self.attributes and len(self.attributes) >= self.max_attributes:
                    self.dropped += 1
                    continue
                self.attributes[key] = redact(_clean_value(value))

    def to_wire(self) -> dict:
        """A dict of builtins only (it crosses the xdist channel with the report)."""
        out: dict[str, Any] = {}
        if self.variant is not None:
            out["variant"] = self.variant
        if self.attributes:
            out["attributes"] = dict(self.attributes)
        if self.dropped:
            out["dropped"] = self.dropped
        if self.calls:
            out["calls"] = [_call_to_wire(c) for c in self.calls]
        return out


def _call_to_wire(call: ApiCall) -> dict:
    d = asdict(call)
    d["retry_reasons"] = list(call.retry_reasons)
    return d


def call_from_wire(d: Mapping[str, Any]) -> ApiCall:
    return ApiCall(**{**d, "retry_reasons": tuple(d.get("retry_reasons") or ())})


def _clean_value(value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, int) and -(2 ** 63) <= value < 2 ** 63:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    text = value if isinstance(value, str) else str(value)
    return text[:MAX_VALUE_LENGTH]


class Slot:
    """The holder of the test running in this process, set by the plugin around each test.

    A plain attribute rather than a context variable on purpose: API calls are often made
    from worker threads (thread pools, HTTP clients) that must still be attributed to the
    test that started them; pytest runs one test at a time per process.
    """

    __slots__ = ("holder",)

    def __init__(self) -> None:
        self.holder: Holder | None = None


#: The process-wide slot the module-level functions use (set by the pytest plugin).
current = Slot()


def _coerce_reason(reason: Any) -> str:
    if isinstance(reason, int) and not isinstance(reason, bool):
        return retry_reason(reason)
    text = str(reason)
    if text.isdigit():
        return retry_reason(int(text))
    return text if text in RETRY_REASONS else "other"


class CallRecorder:
    """The mutable call yielded by :func:`record_api_call`; becomes an :class:`ApiCall` on exit."""

    def __init__(self, provider: str, model: str, *, status_code: int | None = 200, error: str = "",
                 latency: float | None = None, retries: int | None = None, retry_reasons: tuple = (),
                 input_tokens: int = 0, output_tokens: int = 0, cached_tokens: int = 0,
                 cost_usd: float | None = None):
        self.provider = str(provider)
        self.model = str(model)
        self.status_code = status_code
        self.error = error
        self.latency = latency
        self.retries = retries
        self.retry_reasons = [_coerce_reason(r) for r in retry_reasons]
        self.input_tokens = int(input_tokens)
        self.output_tokens = int(output_tokens)
        self.cached_tokens = int(cached_tokens)
        self.cost_usd = cost_usd
        self.started_at = time.time()

    def retry(self, reason: int | str) -> None:
        """Note one retry: an HTTP status (429, 503...) or 'timeout' / 'connection' / 'other'."""
        self.retry_reasons.append(_coerce_reason(reason))

    def usage(self, input: int = 0, output: int = 0, cached: int = 0) -> None:
        """Add token usage. ``input`` includes cached input tokens (OpenTelemetry GenAI convention)."""
        self.input_tokens += int(input)
        self.output_tokens += int(output)
        self.cached_tokens += int(cached)

    def build(self, elapsed: float) -> ApiCall:
        reasons = tuple(self.retry_reasons)
        retries = self.retries if self.retries is not None else len(reasons)
        return ApiCall(
            provider=self.provider, model=self.model, status_code=self.status_code, error=self.error,
            latency=float(self.latency if self.latency is not None else elapsed), retries=int(retries),
            retry_reasons=reasons, input_tokens=self.input_tokens, output_tokens=self.output_tokens,
            cached_tokens=self.cached_tokens, cost_usd=self.cost_usd, started_at=self.started_at,
        )


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) or "timeout" in type(exc).__name__.lower():
        return "timeout"
    if isinstance(exc, ConnectionError) or "connect" in type(exc).__name__.lower():
        return "connection"
    return type(exc).__name__[:64]


@contextmanager
def _recording(holder: Holder | None, provider: str, model: str, **fields: Any) -> Iterator[CallRecorder]:
    call = CallRecorder(provider, model, **fields)
    t0 = time.perf_counter()
    try:
        yield call
    except BaseException as exc:
        if call.error == "" and (call.status_code is None or call.status_code == 200):
            call.status_code = None
            call.error = _error_kind(exc)
        if holder is not None:
            holder.add_call(call.build(time.perf_counter() - t0))
        raise
    if holder is not None:
        holder.add_call(call.build(time.perf_counter() - t0))


class RqObs:
    """The ``rq_obs`` fixture: records into the current test attempt; inert when rq-obs is off."""

    def __init__(self, holder: Holder | None):
        self._holder = holder

    @property
    def enabled(self) -> bool:
        """True when rq-obs records this run."""
        return self._holder is not None

    @property
    def variant(self) -> str | None:
        return self._holder.variant if self._holder is not None else None

    @variant.setter
    def variant(self, value: str) -> None:
        if self._holder is not None:
            self._holder.variant = str(value)[:256] or None

    def record_api_call(self, provider: str, model: str, **fields: Any):
        """Context manager timing one API call; set ``status_code``, ``usage()``, ``retry()`` on it."""
        return _recording(self._holder, provider, model, **fields)

    def add_api_call(self, provider: str, model: str, **fields: Any) -> None:
        """Record a finished API call (``latency`` in seconds, tokens, ``retries``/``retry_reasons``, ``cost_usd``)."""
        if self._holder is not None:
            self._holder.add_call(CallRecorder(provider, model, **fields).build(0.0))

    def attach(self, attributes: Mapping[str, Any] | None = None, **kw: Any) -> None:
        """Attach free-form attributes (bounded: ``max_attributes`` keys, values cut to 1,024 characters; a value
        that looks like a credential is kept as ``<redacted: KIND>``)."""
        if self._holder is not None:
            self._holder.attach({**(attributes or {}), **kw})


def record_api_call(provider: str, model: str, **fields: Any):
    """Context manager recording an API call into the test running now (no-op outside rq-obs)."""
    return _recording(current.holder, provider, model, **fields)


def add_api_call(provider: str, model: str, **fields: Any) -> None:
    """Record a finished API call into the test running now (no-op outside rq-obs)."""
    RqObs(current.holder).add_api_call(provider, model, **fields)


def attach(attributes: Mapping[str, Any] | None = None, **kw: Any) -> None:
    """Attach free-form attributes to the test running now (no-op outside rq-obs)."""
    RqObs(current.holder).attach(attributes, **kw)
