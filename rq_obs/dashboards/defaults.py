"""Defaults applied to every dashboard in one place, and grafanalib's output fixed at the source.

A dashboard module describes its audience's panels as a :class:`Spec`;
:func:`render` turns it into the dashboard JSON: stable uid ``rq-obs-<name>``,
tags, refresh, time range, links to the other rq-obs dashboards, the
``datasource`` template variable, annotations for tracked-file changes and
releases, panel ids, and the repairs grafanalib needs to validate against
Grafana's own schema (schemaVersion, data-source references, threshold steps,
no nulls where the schema wants a value, no legacy fields).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Sequence

from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.dashboards.panels import DS, Grid

__all__ = ["Spec", "render", "to_text", "uid", "datasource_var", "query_var", "custom_var", "SCHEMA_VERSION",
           "ANNOTATIONS", "TAG"]

SCHEMA_VERSION = 39
TAG = "rq-obs"

#: Dashboards: name -> title (used for uids, links and the README).
TITLES = {
    "executive": "rq-obs / Executive summary",
    "qa": "rq-obs / QA test engineer",
    "skills": "rq-obs / Skills engineer: change impact and A/B",
    "sre": "rq-obs / SRE operations",
    "experiment": "rq-obs / Experiments",
    "release": "rq-obs / Release quality",
    "test": "rq-obs / Test detail",
}


def uid(name: str) -> str:
    return f"rq-obs-{name}"


@dataclass(frozen=True)
class Spec:
    name: str
    description: str
    rows: Sequence[Any]  # panels.row(...)
    variables: Sequence[dict] = ()
    time_from: str = "now-7d"
    annotations: Sequence[str] = ("files", "releases")  # keys of ANNOTATIONS
    extra_tags: Sequence[str] = field(default_factory=tuple)


def datasource_var() -> dict:
    return {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
            "current": {"text": "Prometheus", "value": "prometheus"}, "hide": 0, "refresh": 1, "regex": "",
            "options": [], "includeAll": False, "multi": False}


def query_var(name: str, label: str, series: str, label_name: str, *, multi: bool = True, include_all: bool = True,
              matchers: str = "", description: str = "") -> dict:
    """A variable listing the values of ``label_name`` on ``series`` (``label_values``)."""
    q = f"label_values({series}{'{' + matchers + '}' if matchers else ''}, {label_name})"
    var = {"name": name, "label": label, "type": "query", "datasource": dict(DS), "definition": q,
           "query": {"query": q, "refId": "PrometheusVariableQueryEditor-VariableQuery", "qryType": 1},
           "refresh": 2, "sort": 1, "hide": 0, "regex": "", "options": [], "includeAll": include_all,
           "multi": multi, "description": description or label,
           "current": {"text": ["All"], "value": ["$__all"]} if include_all else {"text": "", "value": ""}}
    if include_all:
        var["allValue"] = ".*"
    return var


def textbox_var(name: str, label: str, value: str, description: str, *, hide: int = 0) -> dict:
    """A text box holding ``value`` until the user types another (hide 2: not shown on the dashboard)."""
    return {"name": name, "label": label, "type": "textbox", "query": value, "hide": hide,
            "current": {"text": value, "value": value}, "options": [{"text": value, "value": value, "selected": True}],
            "description": description}


def custom_var(name: str, label: str, values: Sequence[str], description: str = "") -> dict:
    return {"name": name, "label": label, "type": "custom", "query": ",".join(values), "hide": 0,
            "current": {"text": values[0], "value": values[0]}, "includeAll": False, "multi": False,
            "description": description or label,
            "options": [{"text": v, "value": v, "selected": i == 0} for i, v in enumerate(values)]}


def _annotation(name: str, expr: str, title: str, text: str, color: str, tag_keys: str) -> dict:
    return {"name": name, "datasource": dict(DS), "enable": True, "hide": False, "iconColor": color,
            "expr": expr, "step": "60s", "titleFormat": title, "textFormat": text, "tagKeys": tag_keys,
            "useValueForTime": True}


#: Annotations dashboards may show. The value is the event's Unix time (ms), hence useValueForTime.
ANNOTATIONS = {
    "files": lambda: _annotation(
        "Tracked-file changes", f"max by (path) ({M.TRACKED_FILE_LAST_CHANGE.name}) * 1000",
        "{{path}} changed", "Tracked file {{path}} changed (see the Skills dashboard for its impact)",
        "orange", "path"),
    "releases": lambda: _annotation(
        "Releases", f"max by (release) ({M.RELEASE_TIMESTAMP.name}) * 1000",
        "Release {{release}}", "Snapshot of release {{release}} (see the Release quality dashboard)",
        "purple", "release"),
}


def _links() -> list[dict]:
    return [
        {"title": "rq-obs dashboards", "type": "dashboards", "tags": [TAG], "asDropdown": True, "includeVars": False,
         "keepTime": True, "targetBlank": False, "icon": "external link", "tooltip": "", "url": ""},
    ]


def _runbook_link(config: Config) -> dict:
    return {"title": "Runbooks", "type": "link", "url": config.runbook_base_url, "icon": "doc", "tooltip":
            "What to do when an rq-obs alert fires", "targetBlank": True, "asDropdown": False, "includeVars": False,
            "keepTime": False, "tags": []}


def render(config: Config, spec: Spec) -> dict:
    """The dashboard JSON (a dict) for ``spec``, with every default and repair applied."""
    import grafanalib.core as G
    from grafanalib._gen import DashboardEncoder

    if spec.name not in TITLES:
        raise ValueError(f"unknown dashboard {spec.name!r}; add it to TITLES")
    panels = Grid().place(spec.rows)
    board = G.Dashboard(
        title=TITLES[spec.name], uid=uid(spec.name), description=spec.description, panels=panels,
        tags=[TAG, spec.name, *spec.extra_tags], refresh=config.dashboard_refresh, timezone="utc",
        time=G.Time(spec.time_from, "now"),
    )
    doc = json.loads(json.dumps(board.to_json_data(), cls=DashboardEncoder))
    doc = _fix_dashboard(doc)
    doc["templating"] = {"list": [datasource_var(), *spec.variables]}
    doc["annotations"] = {"list": [_builtin_annotation(), *(ANNOTATIONS[a]() for a in spec.annotations)]}
    doc["links"] = [*_links(), _runbook_link(config)]
    _number_panels(doc["panels"])
    return doc


def to_text(doc: dict) -> str:
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _builtin_annotation() -> dict:
    return {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard",
            "target": {"limit": 100, "matchAny": False, "tags": [], "type": "dashboard"}}


# --- repairs of grafanalib's output ------------------------------------------------------------

#: Root keys grafanalib writes that modern Grafana dropped (or that only matter for imports).
_ROOT_LEGACY = ("__inputs", "rows", "hideControls", "sharedCrosshair", "style", "gnetId", "id")
#: Panel keys from the pre-7 (Angular) panels.
_PANEL_LEGACY = ("span", "height", "minSpan", "error", "editable", "cacheTimeout", "columns", "fontSize", "color",
                 "hideTimeOverride", "repeatDirection", "maxPerRow", "maxDataPoints", "timeFrom", "timeShift",
                 "interval", "repeat")


def _drop_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_none(v) for v in obj]
    return obj


def _fix_dashboard(doc: dict) -> dict:
    for k in _ROOT_LEGACY:
        doc.pop(k, None)
    doc["schemaVersion"] = SCHEMA_VERSION
    doc["version"] = 1
    doc["fiscalYearStartMonth"] = 0
    doc["graphTooltip"] = 1  # shared crosshair: compare panels at the same instant
    doc["timepicker"] = {"refresh_intervals": ["30s", "1m", "5m", "15m", "1h"]}
    doc["panels"] = [_fix_panel(p) for p in doc["panels"]]
    return doc


def _fix_steps(thresholds: Any) -> dict:
    steps = thresholds.get("steps") if isinstance(thresholds, dict) else None
    if not isinstance(steps, list) or not steps:  # grafanalib writes "" when a Stat has none
        steps = [{"color": "blue", "value": None}]
    fixed = [{"color": s["color"], "value": None if s.get("value") in (None, "null") else float(s["value"])}
             for s in steps]
    fixed[0]["value"] = None
    return {"mode": "absolute", "steps": fixed}


def _fix_panel(p: dict) -> dict:
    thresholds = p.get("fieldConfig", {}).get("defaults", {}).get("thresholds")
    mappings = p.pop("mappings", None)
    for k in _PANEL_LEGACY:
        p.pop(k, None)
    if p.get("type") == "row":
        return {"type": "row", "title": p["title"], "collapsed": False, "panels": [], "gridPos": p["gridPos"],
                "id": 0}
    p = _drop_none(p)
    from rq_obs.dashboards.infinity import is_infinity  # panels reading rq-obs serve's API keep their data source

    p["datasource"] = dict(p["datasource"]) if is_infinity(p.get("datasource")) else dict(DS)
    fc = p.setdefault("fieldConfig", {})
    fc.setdefault("overrides", [])
    defaults = fc.setdefault("defaults", {})
    defaults["thresholds"] = _fix_steps(thresholds)
    if mappings and not defaults.get("mappings"):
        defaults["mappings"] = mappings
    defaults.setdefault("mappings", [])
    custom = defaults.get("custom", {})
    if p["type"] == "timeseries":
        custom.pop("axisSoftMin", None)
        custom.pop("axisSoftMax", None)
        if custom.get("stacking") == {}:
            custom["stacking"] = {"mode": "none", "group": "A"}
    if p["type"] == "table":
        custom.pop("displayMode", None)
        custom["cellOptions"] = {"type": "auto"}
    return p


def _number_panels(panels: list[dict]) -> None:
    for i, p in enumerate(panels, start=1):
        p["id"] = i
