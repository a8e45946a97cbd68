"""Panel builders shared by every dashboard.

Each builder returns a grafanalib panel whose unit, description, thresholds and
queries are already in the shape Grafana's dashboard schema expects (grafanalib's
own defaults are not: see :mod:`rq_obs.dashboards.defaults` for the rest).
Panels are placed by :class:`Grid`, which assigns ``gridPos`` row by row.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import attr
import grafanalib.core as G

__all__ = [
    "DS", "TEMPO_UID", "Q", "Step", "steps", "stat", "timeseries", "table", "bargauge", "row", "Grid",
    "trace_link", "dashboard_link", "CELL_TEST", "SERIES_TEST", "arrow_mappings", "value_mappings", "floor", "ceiling",
]

#: Every panel, target and variable queries the data source picked by the ``datasource`` variable.
DS = {"type": "prometheus", "uid": "${datasource}"}
#: Tempo's data source uid in the generated provisioning.
TEMPO_UID = "tempo"
JAEGER_UID = "jaeger"


@dataclass(frozen=True)
class Q:
    """One query of a panel."""

    expr: str
    legend: str = ""
    instant: bool = False  # one value per series (stat, table, bar gauge)
    table: bool = False  # format "table" (one row per series, labels as columns)
    exemplar: bool = False  # show exemplars (trace links) on histogram panels


@attr.s
class _Target(G.Target):
    """A Prometheus target in the modern shape (no legacy step/metric/target fields)."""

    exemplar = attr.ib(default=False)

    def to_json_data(self):
        return {
            "datasource": dict(DS),
            "editorMode": "code",
            "expr": self.expr,
            "exemplar": self.exemplar,
            "format": self.format,
            "instant": self.instant,
            "legendFormat": self.legendFormat or "__auto",
            "range": not self.instant,
            "refId": self.refId,
        }


@attr.s
class Step:
    """A threshold step: ``value=None`` is the base (-Infinity) step."""

    color = attr.ib()
    value = attr.ib(default=None)

    def to_json_data(self):
        return {"color": self.color, "value": None if self.value is None else float(self.value)}


def steps(*pairs: tuple[str, float | None]) -> list[Step]:
    """``steps(("red", None), ("green", 0.85))``; the first step must be the base."""
    if not pairs or pairs[0][1] is not None:
        raise ValueError("the first threshold step is the base step and has value None")
    return [Step(c, v) for c, v in pairs]


_NEUTRAL = [Step("blue", None)]


def floor(ok: float, warn: float | None = None) -> list[Step]:
    """Red below ``warn`` (or ``ok``), orange between, green from ``ok`` up (pass rates, scores)."""
    if warn is None:
        return steps(("red", None), ("green", ok))
    return steps(("red", None), ("orange", warn), ("green", ok))


def ceiling(bad: float, warn: float | None = None) -> list[Step]:
    """Green below ``warn`` (or ``bad``), orange between, red from ``bad`` up (costs, error rates)."""
    if warn is None:
        return steps(("green", None), ("red", bad))
    return steps(("green", None), ("orange", warn), ("red", bad))


def _targets(queries: Sequence[Q]) -> list[_Target]:
    if not queries:
        raise ValueError("a panel needs at least one query")
    return [
        _Target(expr=q.expr, legendFormat=q.legend, instant=q.instant, refId=chr(ord("A") + i),
                format="table" if q.table else "time_series", exemplar=q.exemplar)
        for i, q in enumerate(queries)
    ]


def _common(title: str, description: str, w: int, h: int, links: Iterable[dict]) -> dict[str, Any]:
    if not description:
        raise ValueError(f"panel {title!r}: every panel needs a description")
    return {"title": title, "description": description, "gridPos": G.GridPos(h=h, w=w, x=0, y=0),
            "links": list(links)}


def value_mappings(mapping: dict[str, tuple[str, str]]) -> list[dict]:
    """``{"1": ("▲", "green")}`` -> one Grafana value mapping."""
    return [{"type": "value", "options": {k: {"text": t, "color": c, "index": i}
                                          for i, (k, (t, c)) in enumerate(mapping.items())}}]


def arrow_mappings(up_good: bool = True) -> list[dict]:
    """Trend arrows for a ``sgn(...)`` query: ▲ / ▼ / ▶ coloured by whether up is good."""
    good, bad = ("green", "red") if up_good else ("red", "green")
    return value_mappings({"1": ("▲", good), "-1": ("▼", bad), "0": ("▶", "blue")})


def stat(title: str, description: str, unit: str, *queries: Q, thresholds: list[Step] | None = None,
         w: int = 6, h: int = 4, decimals: int | None = None, sparkline: bool = False,
         mappings: list[dict] | None = None, links: Iterable[dict] = (), color_mode: str = "value",
         text_mode: str = "auto", data_links: Iterable[dict] = ()) -> G.Stat:
    panel = G.Stat(
        targets=_targets(queries), format=unit, thresholds=thresholds or _NEUTRAL, reduceCalc="lastNotNull",
        graphMode="area" if sparkline else "none", decimals=decimals, mappings=mappings or [],
        colorMode=color_mode, textMode=text_mode, noValue="no data", dataSource=dict(DS),
        **_common(title, description, w, h, links),
    )
    return _with_data_links(panel, data_links)


def timeseries(title: str, description: str, unit: str, *queries: Q, thresholds: list[Step] | None = None,
               w: int = 12, h: int = 8, stack: bool = False, bars: bool = False, min_zero: bool = True,
               max_one: bool = False, links: Iterable[dict] = (), legend_calcs: Sequence[str] = ("lastNotNull",),
               show_thresholds: bool = False, points: bool = False,
               data_links: Iterable[dict] = ()) -> G.TimeSeries:
    panel = G.TimeSeries(
        targets=_targets(queries), unit=unit, thresholds=thresholds or _NEUTRAL,
        stacking={"mode": "normal", "group": "A"} if stack else {"mode": "none", "group": "A"},
        drawStyle="bars" if bars else "line", fillOpacity=60 if bars else 10,
        showPoints="always" if points else "auto",
        valueMin=0 if min_zero else None, valueMax=1 if max_one else None,
        legendDisplayMode="table", legendPlacement="bottom", legendCalcs=list(legend_calcs),
        tooltipMode="multi", tooltipSort="desc", thresholdsStyleMode="line" if show_thresholds else "off",
        dataSource=dict(DS), **_common(title, description, w, h, links),
    )
    return _with_data_links(panel, data_links)


def table(title: str, description: str, unit: str, *queries: Q, w: int = 24, h: int = 8,
          thresholds: list[Step] | None = None, columns: dict[str, tuple[str, str]] | None = None,
          column_links: dict[str, list[dict]] | None = None, hide: Sequence[str] = (),
          sort_by: str | None = None, sort_desc: bool = True, color_columns: Sequence[str] = (),
          mappings: list[dict] | None = None, links: Iterable[dict] = ()) -> G.Table:
    """A table of instant queries, merged on their labels.

    ``columns`` renames query values (``{"Value #A": ("Pass rate", "percentunit")}``);
    ``hide`` drops label columns; ``color_columns`` colour their cells by threshold; ``column_links``
    puts data links on columns (``{"test": [trace_link()]}``).
    """
    columns = columns or {}
    renames = {src: name for src, (name, _) in columns.items()}
    overrides = []
    for src, (name, col_unit) in columns.items():
        props = [{"id": "unit", "value": col_unit}]
        if src in color_columns:
            props.append({"id": "custom.cellOptions", "value": {"type": "color-background", "mode": "basic"}})
        overrides.append({"matcher": {"id": "byName", "options": name}, "properties": props})
    for col, col_links in (column_links or {}).items():
        overrides.append({"matcher": {"id": "byName", "options": col},
                          "properties": [{"id": "links", "value": col_links}]})
    transformations: list[dict] = []
    if len(queries) > 1:
        transformations.append({"id": "merge", "options": {}})
    transformations.append({"id": "organize", "options": {
        "excludeByName": {c: True for c in ("Time", *hide)}, "indexByName": {}, "renameByName": renames}})
    qs = [Q(q.expr, q.legend, instant=True, table=True) for q in queries]
    return G.Table(targets=_targets(qs), unit=unit, thresholds=thresholds or _NEUTRAL, overrides=overrides,
                transformations=transformations, mappings=mappings or [], dataSource=dict(DS),
                sortBy=[G.TableSortByField(displayName=sort_by, desc=sort_desc)] if sort_by else [],
                filterable=True, **_common(title, description, w, h, links))


@attr.s
class _BarGauge(G.BarGauge):
    """grafanalib's BarGauge writes the pre-7 ``options.fieldOptions`` shape; this is the current one."""

    def to_json_data(self):
        defaults = {"unit": self.format, "min": self.min, "mappings": self.valueMaps,
                    "thresholds": {"mode": "absolute", "steps": self.thresholds}}
        if self.max is not None:
            defaults["max"] = self.max
        return self.panel_json({
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {"displayMode": self.displayMode, "orientation": self.orientation, "showUnfilled": True,
                        "reduceOptions": {"calcs": [self.calc], "fields": "", "values": False}},
            "type": G.BARGAUGE_TYPE,
        })


def bargauge(title: str, description: str, unit: str, *queries: Q, thresholds: list[Step] | None = None,
             w: int = 12, h: int = 8, min_value: float = 0, max_value: float | None = None,
             links: Iterable[dict] = (), data_links: Iterable[dict] = ()) -> G.BarGauge:
    qs = [Q(q.expr, q.legend, instant=True) for q in queries]
    panel = _BarGauge(targets=_targets(qs), format=unit, thresholds=thresholds or _NEUTRAL, calc="lastNotNull",
                      displayMode="gradient", orientation="horizontal", dataSource=dict(DS), min=min_value,
                      max=max_value, **_common(title, description, w, h, links))
    return _with_data_links(panel, data_links)


@dataclass
class _Row:
    title: str
    panels: list = field(default_factory=list)


def row(title: str, *panels: G.Panel) -> _Row:
    return _Row(title, list(panels))


class Grid:
    """Places rows of panels on Grafana's 24-column grid, left to right, wrapping."""

    WIDTH = 24

    def __init__(self) -> None:
        self.y = 0

    def place(self, rows: Sequence[_Row]) -> list:
        out: list = []
        for r in rows:
            out.append(G.RowPanel(title=r.title, gridPos=G.GridPos(h=1, w=self.WIDTH, x=0, y=self.y)))
            self.y += 1
            x, line_h = 0, 0
            for p in r.panels:
                w, h = p.gridPos.w, p.gridPos.h
                if x + w > self.WIDTH:
                    self.y += line_h
                    x, line_h = 0, 0
                p.gridPos = G.GridPos(h=h, w=w, x=x, y=self.y)
                x += w
                line_h = max(line_h, h)
                out.append(p)
            self.y += line_h
        return out


#: How a data link names the test of the clicked value: a table cell, or a series' label.
CELL_TEST = "${__data.fields.test}"
SERIES_TEST = "${__field.labels.test}"


def trace_link(test_ref: str = CELL_TEST, title: str = "Traces of this test", config: Any = None) -> dict:
    """A data link opening the trace backend in Explore with a search for spans named after the clicked test:
    Tempo (TraceQL) by default, Jaeger (service + operation search) when ``config.trace_backend`` is jaeger."""
    if config is not None and config.trace_backend == "jaeger":
        query = {"refId": "A", "datasource": {"type": "jaeger", "uid": JAEGER_UID}, "queryType": "search",
                 "service": config.service_name, "operation": "PLACEHOLDER"}
        uid = JAEGER_UID
    else:
        query = {"refId": "A", "datasource": {"type": "tempo", "uid": TEMPO_UID}, "queryType": "traceql",
                 "query": "{name=\"PLACEHOLDER\"}"}
        uid = TEMPO_UID
    left = {"datasource": uid, "queries": [query], "range": {"from": "FROM", "to": "TO"}}
    encoded = urllib.parse.quote(json.dumps(left, sort_keys=True, separators=(",", ":")), safe="")
    if not (test_ref.startswith("${") and test_ref.endswith("}")):
        raise ValueError(f"trace_link needs a Grafana variable such as {CELL_TEST}, not {test_ref!r}")
    ref = test_ref[:-1] + ":percentencode}"
    encoded = encoded.replace("PLACEHOLDER", ref).replace("FROM", "${__from}").replace("TO", "${__to}")
    return {"title": title, "url": "/explore?orgId=1&left=" + encoded, "targetBlank": True}


def _with_data_links(panel: G.Panel, data_links: Iterable[dict]) -> G.Panel:
    data_links = list(data_links)
    if data_links:
        extra = panel.extraJson or {}
        extra.setdefault("fieldConfig", {}).setdefault("defaults", {})["links"] = data_links
        panel.extraJson = extra
    return panel


def dashboard_link(uid: str, title: str, vars_: str = "") -> dict:
    """A panel link to another rq-obs dashboard, keeping the time range (and the variables in ``vars_``)."""
    return {"title": title, "type": "link", "url": f"/d/{uid}?${{__url_time_range}}{vars_}", "targetBlank": False,
            "asDropdown": False, "icon": "dashboard", "includeVars": False, "keepTime": False, "tags": [],
            "tooltip": f"Open {title}"}
