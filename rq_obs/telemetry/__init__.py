"""Test-run telemetry: the pytest plugin's parts (recorder, test API, spans, git, tracked files, JUnit import).

What tests use is :mod:`rq_obs.telemetry.api` (the ``rq_obs`` fixture and
``record_api_call`` / ``add_api_call`` / ``attach``); the rest is driven by
:mod:`rq_obs.pytest_plugin`.
"""
