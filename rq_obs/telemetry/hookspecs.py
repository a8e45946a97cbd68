"""Hooks the rq-obs pytest plugin adds (for tests and integrations)."""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("pytest")


@hookspec(firstresult=True)
def pytest_rq_obs_tracer_provider(config):  # type: ignore[no-untyped-def]
    """Return an OpenTelemetry TracerProvider for rq-obs's test spans instead of the OTLP exporter.

    rq-obs flushes it at session end but does not shut it down (it belongs to the caller).
    Its own tests return a provider with an in-memory exporter.
    """
