"""OpenTelemetry spans for a test run: one session span, one child span per test attempt.

Spans are wanted when an OTLP endpoint is set (config ``otlp_endpoint``, else
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_ENDPOINT``) or a tracer provider
is handed in through the ``pytest_rq_obs_tracer_provider`` hook (tests use an in-memory
exporter). ``OTEL_SDK_DISABLED=true`` turns span export off, as it does for the SDK.

* To an endpoint, spans go through :mod:`rq_obs.telemetry.otlp_wire`: encoded by hand and posted
  over OTLP/HTTP by a sender thread, without importing the OpenTelemetry SDK (its cost is in
  that module's docstring and docs/BENCHMARKS.md).
* To a provider that was handed in, :class:`SpanSink` creates SDK spans on it.

Both make the same spans (tests compare them field by field). rq-obs never touches the
global tracer provider, so it cannot change how the code under test traces. An export
failure (collector down, refused, timing out) is remembered, later batches are dropped
without further network waits, and ``finish`` returns one warning; the run is in the store
regardless.

Attribute names: docs/SPANS.md.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from rq_obs.redact import redact_attributes

__all__ = ["endpoint_from", "SpanSink", "make_sink", "traces_url"]

SESSION_SPAN_NAME = "rq-obs test session"
SCOPE_NAME = "rq_obs.pytest_plugin"


def traces_url(base: str) -> str:
    """``OTEL_EXPORTER_OTLP_ENDPOINT`` semantics: a base URL gets ``/v1/traces`` appended."""
    base = base.strip()
    if base.rstrip("/").endswith("/v1/traces"):
        return base
    return base.rstrip("/") + "/v1/traces"


def endpoint_from(config_endpoint: str, env: Mapping[str, str]) -> str:
    """The OTLP/HTTP traces URL to export to, or '' for none."""
    if config_endpoint:
        return traces_url(config_endpoint)
    if env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].strip()
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return traces_url(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
    return ""


class SpanSink:
    """SDK spans on a tracer provider that was handed in (created after the fact, with the tests' own
    timestamps). The provider is not ours: it is flushed at the end, never shut down."""

    def __init__(self, provider: Any):
        from opentelemetry import trace
        from opentelemetry.trace import Status, StatusCode

        from rq_obs import __version__

        self._trace = trace
        self._error_status = Status(StatusCode.ERROR)
        self.provider = provider
        self.problems: list[str] = []
        self.tracer = provider.get_tracer(SCOPE_NAME, __version__)
        self.session = None
        self._ctx = None
        self._base: dict[str, Any] = {}  # run-wide attributes, on every attempt span too

    def start_session(self, start_ns: int, attributes: Mapping[str, Any]) -> str:
        """Start the session span; returns its trace id (hex)."""
        self._base = redact_attributes(attributes)
        self.session = self.tracer.start_span(SESSION_SPAN_NAME, start_time=start_ns, attributes=dict(self._base))
        self._ctx = self._trace.set_span_in_context(self.session)
        return format(self.session.get_span_context().trace_id, "032x")

    def set_session_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Add run-wide attributes (to the session span and to every later attempt span)."""
        attributes = redact_attributes(attributes)
        self._base.update(attributes)
        if self.session is not None:
            self.session.set_attributes(attributes)

    def attempt(self, name: str, start_ns: int, end_ns: int, attributes: Mapping[str, Any], error: bool) -> tuple[str, str]:
        """Record one finished test attempt (its own attributes; the run-wide ones are added); returns (trace id,
        span id) in hex."""
        span = self.tracer.start_span(name, context=self._ctx, start_time=start_ns,
                                      attributes={**self._base, **attributes})
        if error:
            span.set_status(self._error_status)
        span.end(end_time=end_ns)
        sc = span.get_span_context()
        return format(sc.trace_id, "032x"), format(sc.span_id, "016x")

    def finish(self, end_ns: int, attributes: Mapping[str, Any], flush_timeout_s: float = 30.0) -> str | None:
        """End the session span and flush the provider. Returns a warning or None."""
        if self.session is not None:
            self.session.set_attributes(redact_attributes(attributes))
            self.session.end(end_time=end_ns)
        if not self.provider.force_flush(int(flush_timeout_s * 1000)):
            return f"the tracer provider did not flush within {flush_timeout_s:g} s"
        return None


def make_sink(service_name: str, endpoint: str, provider: Any = None,
              env: Mapping[str, str] | None = None) -> Any:
    """A :class:`SpanSink` on ``provider`` (not owned, e.g. tests), else a wire sink posting to ``endpoint``
    (:mod:`rq_obs.telemetry.otlp_wire`); None when neither, or when ``OTEL_SDK_DISABLED`` is true.
    A malformed endpoint raises ``ValueError`` naming it."""
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if provider is not None:
        return SpanSink(provider)
    if not endpoint:
        return None
    from rq_obs.telemetry import otlp_wire

    settings = otlp_wire.export_settings(endpoint, env)
    resource = otlp_wire.resource_attributes(service_name, env, settings.problems)
    return otlp_wire.WireSink(settings, resource, SCOPE_NAME)
