"""Every dashboard query, variable query and annotation, and every rule, is accepted by a real Prometheus."""

from __future__ import annotations

import re

import pytest

from rq_obs.config import Config
from rq_obs.dashboards import render_all
from rq_obs.rules import prometheus as prom_rules
from rq_obs.rules.definitions import alerts, recording_rules
from tests.helpers.procs import Prometheus, wait_until
from tests.helpers.promql import extract_exprs

pytestmark = pytest.mark.e2e
CONFIG = Config()

#: What Grafana substitutes for its variables when the dashboard opens.
VALUES = {"__rate_interval": "1m", "__range": "1h", "__interval": "15s", "suite": ".*", "test": ".*", "top": "10", "path": ".*",
          "model": ".*", "experiment": ".*", "release": ".*", "metric": "pass_rate", "base": "r1", "head": "r2"}


def substitute(expr: str) -> str:
    def value(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        assert name in VALUES, f"unknown variable ${name} in {expr}"
        return VALUES[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", value, expr)


@pytest.fixture(scope="module")
def prom(tmp_path_factory):
    d = tmp_path_factory.mktemp("prom")
    files = []
    for rel, text in prom_rules.render(CONFIG).items():
        path = d / rel.rsplit("/", 1)[-1]
        path.write_text(text)
        files.append(str(path))
    config = "global:\n  evaluation_interval: 1s\nrule_files:\n" + "".join(f"  - {f}\n" for f in files)
    with Prometheus(d, config) as p:
        yield p


def test_prometheus_loads_every_rule_and_evaluates_it_without_error(prom):
    expected = len(recording_rules(CONFIG)) + len(alerts(CONFIG))

    def evaluated():  # health is "unknown" until a rule's first evaluation, "err" when it fails
        rules = [r for g in prom.api("rules")["groups"] for r in g["rules"]]
        return rules if len(rules) == expected and all(r["health"] == "ok" for r in rules) else None

    rules = wait_until(evaluated, 30, what="every rule evaluated with health ok")
    assert {r["name"] for r in rules} == {r.record for r in recording_rules(CONFIG)} | {a.name for a in alerts(CONFIG)}


def test_every_dashboard_expression_is_valid_promql(prom):
    checked = 0
    for name, doc in render_all(CONFIG).items():
        for where, expr in extract_exprs(doc):
            m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", expr, re.S)
            query = substitute(m.group(1) if m else expr)
            prom.query(query)  # raises with Prometheus' own error message on a bad expression
            checked += 1
    assert checked > 100
