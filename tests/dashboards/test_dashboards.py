"""Generated dashboards: Grafana's own schema, the lint rules from DESIGN.md, each audience's panels,
thresholds taken from the config, links and annotations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from jsonschema.exceptions import best_match

from rq_obs.config import Config
from rq_obs.dashboards import NAMES, render_all
from rq_obs.dashboards.infinity import API_DS
from rq_obs.dashboards.panels import DS
from tests.helpers.promql import range_windows

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "data" / "grafana-dashboard.schema.json").read_text())
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
CONFIG = Config()
BOARDS = render_all(CONFIG)


def panels(doc: dict) -> list[dict]:
    return [p for p in doc["panels"] if p["type"] != "row"]


def by_title(doc: dict, title: str) -> dict:
    found = [p for p in doc["panels"] if p["title"] == title]
    assert len(found) == 1, f"{title!r}: {len(found)} panels"
    return found[0]


def steps(panel: dict) -> list[tuple[str, float | None]]:
    return [(s["color"], s["value"]) for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def schema_errors(doc: dict) -> list[str]:
    """Every failing leaf (inside anyOf branches too) as "json/path: message", best match first."""
    errors = list(VALIDATOR.iter_errors(doc))
    out: list[str] = []

    def leaves(e):
        if e.context:
            for c in e.context:
                yield from leaves(c)
        else:
            yield e

    if errors:
        best = best_match(errors)
        out.append(f"{'/'.join(map(str, best.absolute_path))}: {best.message}")
    for e in errors:
        for leaf in leaves(e):
            text = f"{'/'.join(map(str, leaf.absolute_path))}: {leaf.message}"
            if text not in out:
                out.append(text)
    return out


# --- schema --------------------------------------------------------------------------------------

def test_the_schema_itself_is_valid_draft7():
    jsonschema.Draft7Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("name", NAMES)
def test_dashboard_validates_against_grafanas_schema(name):
    assert schema_errors(BOARDS[name]) == []


def test_grafanalib_defaults_fail_the_schema_and_are_fixed_at_the_source():
    """What grafanalib emits by default (string datasource, ``"steps": ""``, ``"null"`` thresholds) is invalid."""
    import grafanalib.core as G
    from grafanalib._gen import DashboardEncoder

    raw = G.Dashboard(title="t", panels=[
        G.Stat(title="s", dataSource="${datasource}", targets=[G.Target(expr="up")], gridPos=G.GridPos(h=4, w=6, x=0, y=0)),
        G.TimeSeries(title="ts", targets=[G.Target(expr="up")], gridPos=G.GridPos(h=4, w=6, x=6, y=0),
                     thresholds=[G.Threshold("green", 0, 0.0), G.Threshold("red", 1, 0.9)]),
    ]).to_json_data()
    raw = json.loads(json.dumps(raw, cls=DashboardEncoder))
    assert raw["schemaVersion"] < 39 and raw["panels"][0]["fieldConfig"]["defaults"]["thresholds"]["steps"] == ""
    assert raw["panels"][1]["fieldConfig"]["defaults"]["thresholds"]["steps"][0]["value"] == "null"
    problems = schema_errors(raw)
    assert "panels/0/fieldConfig/defaults/thresholds/steps: '' is not of type 'array'" in problems
    assert "panels/1/fieldConfig/defaults/thresholds/steps/0/value: 'null' is not of type 'number', 'null'" in problems
    assert any(p.startswith("panels/0/datasource: '${datasource}' is not of type 'object'") for p in problems), problems
    for doc in BOARDS.values():
        assert doc["schemaVersion"] >= 39
        for p in panels(doc):
            first = p["fieldConfig"]["defaults"]["thresholds"]["steps"][0]
            assert first["value"] is None
            assert all(isinstance(s["value"], float) for s in p["fieldConfig"]["defaults"]["thresholds"]["steps"][1:])


# --- lint ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_datasource_is_templated_everywhere(name):
    doc = BOARDS[name]
    ds_var = doc["templating"]["list"][0]
    assert (ds_var["name"], ds_var["type"], ds_var["query"]) == ("datasource", "datasource", "prometheus")
    for p in panels(doc):  # Prometheus, or rq-obs serve's API through the Infinity data source (test detail)
        assert p["datasource"] in (DS, API_DS), p["title"]
        assert all(t["datasource"] == p["datasource"] for t in p["targets"]), p["title"]
    if any(p["datasource"] == API_DS for p in panels(doc)):
        api_var = [v for v in doc["templating"]["list"] if v["name"] == "api"]
        assert [(v["type"], v["query"]) for v in api_var] == [("datasource", API_DS["type"])]
    for v in doc["templating"]["list"]:
        if v["type"] == "query":
            assert v["datasource"] == DS, v["name"]
    for a in doc["annotations"]["list"]:
        if not a.get("builtIn"):
            assert a["datasource"] == DS, a["name"]
    assert "prometheus" not in json.dumps([p["datasource"] for p in panels(doc)]).replace('"type": "prometheus"', "")
    assert "infinity" not in json.dumps([p["datasource"] for p in panels(doc)]).replace(f'"type": "{API_DS["type"]}"', "")


@pytest.mark.parametrize("name", NAMES)
def test_rate_windows_follow_the_dashboard_unless_a_fixed_window_is_documented(name):
    for p in panels(BOARDS[name]):
        for t in p["targets"]:
            for window in range_windows(t.get("expr", "")):  # Infinity targets (API) have no PromQL
                if window in ("$__rate_interval", "$__range"):
                    continue
                assert window in p["description"], f"{p['title']}: fixed window [{window}] not in its description"


@pytest.mark.parametrize("name", NAMES)
def test_every_panel_has_unit_description_targets_and_unique_ids(name):
    doc = BOARDS[name]
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    for p in panels(doc):
        assert p["fieldConfig"]["defaults"].get("unit"), f"{p['title']}: no unit"
        assert len(p.get("description", "")) > 20, f"{p['title']}: no description"
        assert p["targets"], f"{p['title']}: no targets"
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]
        assert all(t["expr"].strip() if t["datasource"] == DS else t["url"].startswith("${api_url}/api/v1/")
                   for t in p["targets"]), p["title"]


@pytest.mark.parametrize("name", NAMES)
def test_no_overlapping_panels_inside_the_grid(name):
    cells: dict[tuple[int, int], str] = {}
    for p in BOARDS[name]["panels"]:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = p["title"]


def test_uids_tags_refresh_and_links_are_the_shared_defaults():
    uids = [doc["uid"] for doc in BOARDS.values()]
    assert uids == [f"rq-obs-{n}" for n in NAMES]
    for name, doc in BOARDS.items():
        assert doc["tags"][:2] == ["rq-obs", name] and doc["refresh"] == CONFIG.dashboard_refresh
        assert doc["timezone"] == "utc" and doc["graphTooltip"] == 1
        link = doc["links"][0]
        assert (link["type"], link["tags"], link["asDropdown"], link["keepTime"]) == ("dashboards", ["rq-obs"], True, True)
        assert doc["links"][1]["url"] == CONFIG.runbook_base_url


def test_annotations_mark_tracked_file_changes_and_releases():
    for name, doc in BOARDS.items():
        names = [a["name"] for a in doc["annotations"]["list"]]
        assert "Tracked-file changes" in names, name
        if name != "experiment":
            assert "Releases" in names, name
        for a in doc["annotations"]["list"]:
            if "expr" in a:
                assert a["useValueForTime"] is True and a["expr"].endswith("* 1000")


# --- audiences ----------------------------------------------------------------------------------

AUDIENCE = {
    "executive": ["Pass rate vs SLO", "Pass rate, week over week", "Pass-rate trend", "Quality score (latest release)",
                  "Quality vs previous release", "Quality score across releases", "Open regressions", "Flaky tests",
                  "Cost today", "Projected month cost", "Budget used today", "Budget burn rate (last hour)"],
    "qa": ["Pass rate by test", "Lowest pass rates", "Most failing tests", "Flaky tests", "Least stable tests", "Failures by test", "Retries by test",
           "Slowest tests (p95)", "Outcomes by marker/category", "Results by worker", "Flip rate of flaky tests"],
    "skills": ["Tracked-file change timeline", "Current file hashes", "Pass rate before vs after the last change",
               "Per-test impact of the last change", "Variant comparison", "Pass-rate change of the last change"],
    "sre": ["API retry rate", "API latency percentiles", "429 rate", "5xx rate", "Worker utilisation",
            "Token usage by model", "Cost rate", "Cost anomalies", "Scrape duration", "Ingest rate", "Store size",
            "Collector spans", "Targets up", "App request rate", "App error ratio", "App latency percentiles",
            "App p95 latency by route", "App errors by route", "App targets up", "Function time p95",
            "Peak memory per call p95"],
    "test": ["Worst tests", "History of ${test}", "Last failure", "Flips", "Response diff"],
    "experiment": ["Variants", "Verdict", "Sample-ratio mismatch (p-value)", "Lift with 95 % confidence interval",
                   "p-value", "Power", "Samples per variant"],
    "release": ["Quality score ($head)", "Quality dimensions ($head)", "Quality score per release",
                "Benchmark deltas ($base → $head)", "Dependency changes ($head)", "Environment differences ($base vs $head)",
                "Benchmark p50 / p95 / p99 (newest release)", "Benchmark peak memory (newest release)",
                "Vulnerabilities ($head)", "Licences ($head)", "Environment history", "Environment drift per release"],
}
VARIABLES = {"executive": ["datasource", "suite"], "qa": ["datasource", "suite", "test", "top"],
             "skills": ["datasource", "suite", "path", "serve_url"], "sre": ["datasource", "suite", "model"],
             "experiment": ["datasource", "experiment", "metric"], "release": ["datasource", "release", "base", "head"],
             "test": ["datasource", "api", "api_url", "suite", "test", "by", "limit", "window", "run_a", "run_b"]}


@pytest.mark.parametrize("name", NAMES)
def test_each_audience_has_its_panels_and_variables(name):
    doc = BOARDS[name]
    titles = {p["title"] for p in doc["panels"]}
    assert [t for t in AUDIENCE[name] if t not in titles] == []
    assert [v["name"] for v in doc["templating"]["list"]] == VARIABLES[name]


def test_flaky_table_shows_pass_rate_flip_rate_and_links_tests_to_traces():
    table = [
        p for p in BOARDS["qa"]["panels"] if p["title"] == "Flaky tests" and p["type"] == "table"][0]
    renames = table["transformations"][-1]["options"]["renameByName"]
    assert renames == {"Value #A": "Pass rate", "Value #B": "Flip rate", "Value #C": "Stability", "Value #D": "Last flake"}
    link = [o for o in table["fieldConfig"]["overrides"] if o["matcher"]["options"] == "test"][0]["properties"][0]
    url = link["value"][0]["url"]
    assert url.startswith("/explore?orgId=1&left=") and "tempo" in url and "${__data.fields.test:percentencode}" in url
    # rows are the $top flakiest of the tests the analytics call flaky (the set the "Flaky tests" stat counts),
    # pre-ranked by a rule that keeps top_tests_max of them per suite
    assert table["targets"][0]["expr"] == (
        'rqobs_test_pass_rate_ratio{suite=~"$suite",test=~"$test"} and on (suite, test) '
        'topk($top, suite_test:rqobs_test_flip_rate_ratio:flaky_topk{suite=~"$suite",test=~"$test"})')


def test_span_duration_panel_shows_exemplars_for_trace_links():
    p = by_title(BOARDS["qa"], "Test duration p95 from spans")
    assert p["targets"][0]["exemplar"] is True
    assert f'service_name="{CONFIG.service_name}"' in p["targets"][0]["expr"]


# --- thresholds from the config -------------------------------------------------------------------

def test_thresholds_follow_the_config():
    custom = Config(slo_pass_rate=0.9, daily_budget_usd=40.0, min_quality_score=70.0, api_retry_rate_threshold=0.2,
                    rate_429_threshold=0.07, budget_burn_threshold=3.0, flaky_band=[0.2, 0.8],
                    app_error_ratio_threshold=0.01)
    boards = render_all(custom)
    ex, qa, sre = boards["executive"], boards["qa"], boards["sre"]
    assert steps(by_title(ex, "Pass rate vs SLO")) == [("red", None), ("green", 0.9)]
    assert steps(by_title(ex, "Cost today")) == [("green", None), ("orange", 32.0), ("red", 40.0)]
    assert steps(by_title(ex, "Projected month cost")) == [("green", None), ("orange", 960.0), ("red", 1200.0)]
    assert steps(by_title(ex, "Quality score (latest release)")) == [("red", None), ("green", 70.0)]
    assert steps(by_title(ex, "Budget burn rate (last hour)")) == [("green", None), ("orange", 1.0), ("red", 3.0)]
    assert "/ 40" in by_title(ex, "Budget burn rate (last hour)")["targets"][0]["expr"]
    assert steps(by_title(qa, "Pass rate by test")) == [("red", None), ("green", 0.9)]
    assert steps(by_title(sre, "API retry rate")) == [("green", None), ("red", 0.2)]
    assert steps(by_title(sre, "429 rate")) == [("green", None), ("red", 0.07)]
    assert steps(by_title(sre, "App error ratio")) == [("green", None), ("red", 0.01)]
    assert "threshold 1% is the line" in by_title(sre, "App error ratio")["description"]
    assert "20%-80%" in by_title(ex, "Flaky tests")["description"]
    assert steps(by_title(BOARDS["executive"], "Pass rate vs SLO")) == [("red", None), ("green", 0.85)]


def test_output_is_deterministic_and_sorted():
    from rq_obs.dashboards import artifacts

    a, b = artifacts(CONFIG), artifacts(CONFIG)
    assert a == b and sorted(a) == [f"dashboards/{n}.json" for n in sorted(NAMES)]
    for text in a.values():
        assert text.endswith("}\n") and json.loads(text) and text == json.dumps(json.loads(text), sort_keys=True,
                                                                                 indent=2, ensure_ascii=False) + "\n"
        assert not re.search(r"20\d\d-\d\d-\d\dT", text)  # no timestamps
