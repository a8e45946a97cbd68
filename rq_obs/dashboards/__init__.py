"""Grafana dashboards generated with grafanalib: one module per audience.

Each module has ``spec(config) -> defaults.Spec``; :func:`render_all` applies the
shared defaults (:mod:`rq_obs.dashboards.defaults`). grafanalib is imported only
when a dashboard is rendered, never by ``rq-obs --help``.
"""

from __future__ import annotations

import importlib

from rq_obs.config import Config

__all__ = ["artifacts", "render_all", "NAMES"]

#: Dashboard modules, in the order the README lists them.
NAMES = ("executive", "qa", "skills", "sre", "experiment", "release", "test")


def render_all(config: Config) -> dict[str, dict]:
    """{name: dashboard JSON as a dict}."""
    from rq_obs.dashboards.defaults import render

    return {name: render(config, importlib.import_module(f"rq_obs.dashboards.{name}").spec(config)) for name in NAMES}


def artifacts(config: Config) -> dict[str, str]:
    """{"dashboards/<name>.json": json text} for every dashboard."""
    from rq_obs.dashboards.defaults import to_text

    return {f"dashboards/{name}.json": to_text(doc) for name, doc in render_all(config).items()}
