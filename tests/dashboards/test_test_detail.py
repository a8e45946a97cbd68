"""The test detail dashboard's Infinity panels, checked against the plugin's query model
(``InfinityJSONQuery`` in grafana-infinity-datasource's src/types/query.types.ts) and against the real API:
every target's route, parameters and column selectors are answered by `rq-obs serve`'s API on a store with
data. Grafana and the plugin do not run here (docs/CHECKED.md)."""

from __future__ import annotations

import json
import re
import urllib.parse

import pytest
import yaml

from rq_obs.config import Config
from rq_obs.dashboards import render_all
from rq_obs.dashboards.infinity import API_DS
from rq_obs.server import api
from rq_obs.stack import compose, grafana
from rq_obs.store import Store
from tests.server.apistore import build

CONFIG = Config()
DOC = render_all(CONFIG)["test"]
TARGETS = [(p["title"], t) for p in DOC["panels"] if p["type"] != "row" for t in p["targets"]]
VARS = {v["name"]: v for v in DOC["templating"]["list"]}

# the plugin's query model (src/types/query.types.ts)
COLUMN_TYPES = {"string", "number", "timestamp", "timestamp_epoch", "timestamp_epoch_s"}
FORMATS = {"table", "timeseries", "dataframe", "as-is", "node-graph-nodes", "node-graph-edges"}
PARSERS = {"simple", "backend", "sqlite", "uql", "groq"}


def test_every_target_is_an_infinity_json_url_query():
    assert len(TARGETS) == 5
    for title, t in TARGETS:
        assert t["datasource"] == API_DS and (t["type"], t["source"]) == ("json", "url"), title
        assert t["parser"] in PARSERS and t["format"] in FORMATS, title
        assert t["url_options"]["method"] == "GET" and t["url_options"]["data"] == "", title
        assert all(set(kv) == {"key", "value"} for kv in t["url_options"]["params"]), title
        assert t["root_selector"] == "rows" and t["filters"] == [], title
        assert t["columns"] and all(set(c) == {"selector", "text", "type"} and c["type"] in COLUMN_TYPES
                                    for c in t["columns"]), title
        # every variable used is defined on the dashboard
        used = re.findall(r"\$\{(\w+)", json.dumps(t))
        assert set(used) <= set(VARS), (title, set(used) - set(VARS))


def test_every_route_and_parameter_is_the_apis():
    routes = api.routes()
    for title, t in TARGETS:
        path = t["url"].replace("${api_url}", "")
        assert path in routes, (title, path)
        assert {kv["key"] for kv in t["url_options"]["params"]} <= set(routes[path].params), title


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = Store(build(tmp_path_factory.mktemp("detail") / "store.db"), readonly=True)
    yield s
    s.close()


@pytest.mark.parametrize("by", VARS["by"]["query"].split(","))
def test_every_column_selector_is_in_the_apis_answer(store, by):
    """Each panel's query as Grafana would send it (variables at the values a user picks), answered by the API:
    200, rows, and every column the panel shows present in every row."""
    answerer = api.Api(CONFIG, store)
    values = {"suite": "shop", "test": "t::answer", "by": by, "limit": "10", "window": VARS["window"]["query"].split(",")[0],
              "run_a": "", "run_b": ""}
    for title, t in TARGETS:
        params = [(kv["key"], re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], kv["value"]))
                  for kv in t["url_options"]["params"]]
        reply = answerer.answer(t["url"].replace("${api_url}", ""), urllib.parse.urlencode(params))
        doc = json.loads(reply.body)
        assert reply.status == 200, (title, doc)
        rows = doc["rows"]
        assert rows, f"{title}: no rows"
        for c in t["columns"]:
            assert all(c["selector"] in r for r in rows), (title, c["selector"])


def test_the_provisioned_data_source_reaches_only_rq_obs_serve():
    (ds,) = [d for d in grafana.datasources(CONFIG)["datasources"] if d["uid"] == grafana.API_UID]
    assert ds["type"] == API_DS["type"] == VARS["api"]["query"]
    assert ds["jsonData"]["allowedHosts"] == [ds["url"]] == [VARS["api_url"]["query"]] == ["http://rq-obs:9464"]
    assert VARS["api"]["current"]["value"] == grafana.API_UID
    # rendered as Grafana reads it, and Grafana installs the plugin, pinned
    rendered = yaml.safe_load(grafana.render_datasources(CONFIG))
    assert [d for d in rendered["datasources"] if d["uid"] == grafana.API_UID] == [ds]
    env = compose.document(CONFIG)["services"]["grafana"]["environment"]
    plugin, _, version = env["GF_PLUGINS_PREINSTALL_SYNC"].partition("@")
    assert plugin == ds["type"] and re.fullmatch(r"\d+\.\d+\.\d+", version)
    # the rq-obs service answers on the port the URL names
    assert compose.document(CONFIG)["services"]["rq-obs"]["ports"][0].endswith(":9464")
