"""Panels that read ``rq-obs serve``'s read-only JSON API (docs/API.md) through the Infinity data source.

A target is the plugin's JSON query model (``type: json``, ``source: url``, ``parser: backend``,
``format: table``, ``url``, ``url_options`` with ``method`` and ``params``, ``root_selector``, ``columns`` of
``selector``/``text``/``type``), as the plugin's ``InfinityJSONQuery`` type defines it. Every API answer keeps
its rows under ``rows``, so ``root_selector`` is ``rows``. Query parameters go in ``url_options.params``
(the plugin encodes them: a pytest node id such as ``tests/t.py::test_x[a b]`` reaches the API intact),
not into the URL string. The data source is the dashboard's ``api`` variable (default: the provisioned
``rq-obs API``), the base URL its ``api_url`` variable.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import attr
import grafanalib.core as G

from rq_obs.dashboards.defaults import textbox_var
from rq_obs.dashboards.panels import _common
from rq_obs.stack.grafana import API_UID, INFINITY_TYPE, api_url

__all__ = ["API_DS", "Col", "api_table", "api_var", "api_url_var", "is_infinity"]

#: the data source of every API panel and target: the dashboard's ``api`` variable
API_DS = {"type": INFINITY_TYPE, "uid": "${api}"}

#: (JSON field, column title, Infinity column type: string | number | timestamp_epoch_s)
Col = tuple[str, str, str]


def is_infinity(datasource) -> bool:
    return isinstance(datasource, dict) and datasource.get("type") == INFINITY_TYPE


@attr.s
class _InfinityTarget(G.Target):
    route = attr.ib(default="")
    params = attr.ib(factory=list)
    columns = attr.ib(factory=list)

    def to_json_data(self):
        return {
            "datasource": dict(API_DS), "refId": self.refId, "type": "json", "source": "url", "parser": "backend",
            "format": "table", "url": "${api_url}/api/v1/" + self.route,
            "url_options": {"method": "GET", "data": "",
                            "params": [{"key": k, "value": v} for k, v in self.params]},
            "root_selector": "rows", "filters": [],
            "columns": [{"selector": s, "text": t, "type": ty} for s, t, ty in self.columns],
        }


def api_table(title: str, description: str, route: str, params: Sequence[tuple[str, str]], columns: Sequence[Col],
              *, units: dict[str, str] | None = None, w: int = 24, h: int = 8,
              column_links: dict[str, list[dict]] | None = None, links: Iterable[dict] = ()) -> G.Table:
    """A table of one API answer's ``rows``; ``units``: column title -> unit (the rest are plain text)."""
    overrides = [{"matcher": {"id": "byName", "options": col}, "properties": [{"id": "unit", "value": unit}]}
                 for col, unit in (units or {}).items()]
    for col, col_links in (column_links or {}).items():
        overrides.append({"matcher": {"id": "byName", "options": col},
                          "properties": [{"id": "links", "value": col_links}]})
    target = _InfinityTarget(refId="A", route=route, params=list(params), columns=list(columns))
    return G.Table(targets=[target], unit="string", overrides=overrides, dataSource=dict(API_DS),
                   filterable=True, **_common(title, description, w, h, links))


def api_var() -> dict:
    """The Infinity data source variable (defaults to the provisioned rq-obs API data source)."""
    return {"name": "api", "label": "rq-obs API", "type": "datasource", "query": INFINITY_TYPE,
            "current": {"text": "rq-obs API", "value": API_UID}, "hide": 0, "refresh": 1, "regex": "",
            "options": [], "includeAll": False, "multi": False,
            "description": "The Infinity data source reading rq-obs serve's JSON API"}


def api_url_var() -> dict:
    """The base URL of ``rq-obs serve`` as Grafana reaches it (the compose network's by default)."""
    return textbox_var("api_url", "rq-obs serve URL (from Grafana)", api_url(),
                       "Base URL of rq-obs serve as Grafana reaches it (must be in the data source's allowedHosts)",
                       hide=2)
