"""OpenTelemetry spans for a test run: one session span, one child span per test attempt.

The OpenTelemetry SDK is imported only when spans are wanted: an OTLP endpoint is set
(config ``otlp_endpoint``, else ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_ENDPOINT``) or a tracer provider is handed in (tests use an in-memory
exporter). rq-obs never touches the global tracer provider, so it cannot change how the code
under test traces.

Spans are exported over OTLP/HTTP by a batch processor on a background thread. An exporter
failure (collector down, refused, timing out) is remembered, later batches are dropped
without further network waits, and :meth:`SpanSink.finish` returns one warning; the run is
in the store regardless. The exporter's own log lines are muted for the session so that
warning is the only one.

Attribute names: docs/SPANS.md.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Mapping

__all__ = ["endpoint_from", "SpanSink", "make_sink", "traces_url"]

_EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.sdk.trace.export",
    "opentelemetry.sdk._shared_internal",
)
SESSION_SPAN_NAME = "rq-obs test session"


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


def _guarded_exporter(inner: Any):
    """Wrap an exporter: after the first failure, drop batches at once and remember why."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class Guarded(SpanExporter):
        def __init__(self) -> None:
            self.failed: str | None = None
            self.exported = 0

        def export(self, spans):  # type: ignore[override]
            if self.failed is not None:
                return SpanExportResult.FAILURE
            try:
                result = inner.export(spans)
            except Exception as exc:  # noqa: BLE001 - an exporter must never break the run
                self.failed = f"{type(exc).__name__}: {exc}"
                return SpanExportResult.FAILURE
            if result is SpanExportResult.SUCCESS:
                self.exported += len(spans)
            else:
                self.failed = "export failed (collector unreachable or refused the batch)"
            return result

        def shutdown(self) -> None:
            inner.shutdown()

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return True

    return Guarded()


class SpanSink:
    """Creates the session span and attempt spans (after the fact, with the tests' own timestamps)."""

    def __init__(self, provider: Any, *, owned: bool, guard: Any = None, endpoint: str = ""):
        from opentelemetry import trace
        from opentelemetry.trace import Status, StatusCode

        from rq_obs import __version__

        self._trace = trace
        self._error_status = Status(StatusCode.ERROR)
        self.provider = provider
        self.owned = owned
        self.guard = guard
        self.endpoint = endpoint
        self.tracer = provider.get_tracer("rq_obs.pytest_plugin", __version__)
        self.session = None
        self._ctx = None
        self._muted: list[tuple[logging.Logger, bool]] = []
        if guard is not None:
            for name in _EXPORTER_LOGGERS:
                lg = logging.getLogger(name)
                self._muted.append((lg, lg.disabled))
                lg.disabled = True

    def start_session(self, start_ns: int, attributes: Mapping[str, Any]) -> str:
        """Start the session span; returns its trace id (hex)."""
        self.session = self.tracer.start_span(SESSION_SPAN_NAME, start_time=start_ns, attributes=dict(attributes))
        self._ctx = self._trace.set_span_in_context(self.session)
        return format(self.session.get_span_context().trace_id, "032x")

    def set_session_attributes(self, attributes: Mapping[str, Any]) -> None:
        if self.session is not None:
            self.session.set_attributes(dict(attributes))

    def attempt(self, name: str, start_ns: int, end_ns: int, attributes: Mapping[str, Any], error: bool) -> tuple[str, str]:
        """Record one finished test attempt; returns (trace id, span id) in hex."""
        span = self.tracer.start_span(name, context=self._ctx, start_time=start_ns, attributes=attributes)
        if error:
            span.set_status(self._error_status)
        span.end(end_time=end_ns)
        sc = span.get_span_context()
        return format(sc.trace_id, "032x"), format(sc.span_id, "016x")

    def finish(self, end_ns: int, attributes: Mapping[str, Any], flush_timeout_s: float = 30.0) -> str | None:
        """End the session span, flush, shut down what we own. Returns a warning or None."""
        try:
            if self.session is not None:
                self.session.set_attributes(dict(attributes))
                self.session.end(end_time=end_ns)
            self.provider.force_flush(int(flush_timeout_s * 1000))
            if self.owned:
                self.provider.shutdown()
        finally:
            for lg, was in self._muted:
                lg.disabled = was
        if self.guard is not None and self.guard.failed is not None:
            return (f"could not export spans to {self.endpoint} ({self.guard.failed}); "
                    "the run is in the store, nothing was lost")
        return None


def make_sink(service_name: str, endpoint: str, provider: Any = None,
              env: Mapping[str, str] | None = None) -> SpanSink | None:
    """A sink for ``provider`` (not owned, e.g. tests) or an OTLP/HTTP one for ``endpoint``; None when neither."""
    if provider is not None:
        return SpanSink(provider, owned=False)
    if not endpoint:
        return None
    env = os.environ if env is None else env
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    timeout = None if (env.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or env.get("OTEL_EXPORTER_OTLP_TIMEOUT")) else 5.0
    inner = OTLPSpanExporter(endpoint=endpoint, timeout=timeout)
    guard = _guarded_exporter(inner)
    tp = TracerProvider(resource=Resource.create({"service.name": service_name}))
    tp.add_span_processor(BatchSpanProcessor(guard, max_queue_size=16384, schedule_delay_millis=1000,
                                             max_export_batch_size=512))
    return SpanSink(tp, owned=True, guard=guard, endpoint=endpoint)
