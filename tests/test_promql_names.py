"""Every PromQL expression rq-obs generates references only catalogued metrics or recording rules defined here."""

from __future__ import annotations

import pytest

from rq_obs.catalog import METRICS, all_series_names
from rq_obs.config import Config
from rq_obs.dashboards import render_all
from rq_obs.rules import grafana, prometheus
from rq_obs.rules.definitions import alerts, recording_names, recording_rules
from tests.helpers.promql import PromQLError, extract_exprs, functions, metric_names

CONFIG = Config()
KNOWN = all_series_names() | recording_names(CONFIG)


def _all_exprs() -> list[tuple[str, str]]:
    out = []
    for name, doc in render_all(CONFIG).items():
        out += [(f"dashboard {name}: {where}", e) for where, e in extract_exprs(doc)]
    out += [(f"recording rule {r.record}", r.expr) for r in recording_rules(CONFIG)]
    for g in prometheus.alerts_document(CONFIG)["groups"]:
        out += [(f"prometheus alert {r['alert']}", r["expr"]) for r in g["rules"]]
    for g in grafana.rules_document(CONFIG)["groups"]:
        out += [(f"grafana alert {r['title']}", r["data"][0]["model"]["expr"]) for r in g["rules"]]
    return out


def test_every_expression_references_only_catalogued_metrics_or_recording_rules():
    exprs = _all_exprs()
    assert len(exprs) > 150  # dashboards, variables, annotations, rules and both alert renderings
    unknown = [(where, sorted(metric_names(e) - KNOWN)) for where, e in exprs if metric_names(e) - KNOWN]
    assert unknown == []


def test_every_expression_selects_at_least_one_metric():
    assert [w for w, e in _all_exprs() if not metric_names(e) and "time()" not in e] == []


def test_recording_rules_only_use_catalogued_metrics_or_earlier_rules():
    seen: set[str] = set()
    for r in recording_rules(CONFIG):
        assert metric_names(r.expr) <= all_series_names() | seen, r.record
        seen.add(r.record)


def test_recording_rule_names_follow_level_metric_operation():
    families = {m.name for m in METRICS}
    for name in recording_names(CONFIG):
        level, metric, operation = name.split(":")
        assert level and operation and metric in families, name


def test_every_alert_uses_a_recording_rule_or_catalogued_metric():
    for a in alerts(CONFIG):
        assert metric_names(a.value) and metric_names(a.value) <= KNOWN, a.name


@pytest.mark.parametrize("expr, names", [
    ('sum by (suite) (rate(foo_total{outcome="passed",suite=~"$suite"}[$__rate_interval]))', {"foo_total"}),
    ("a:b:c - on () group_left () d offset 1d > bool 0.5 unless e", {"a:b:c", "d", "e"}),
    ('histogram_quantile(0.95, sum(rate(h_bucket[5m])) by (le))', {"h_bucket"}),
    ('label_values(x_total{suite=~"$suite"}, test)', {"x_total"}),
    ('topk(1, ts < scalar(max(ts))) * 1e3', {"ts"}),
])
def test_the_tokenizer_finds_metric_names(expr, names):
    assert metric_names(expr) == names


def test_the_tokenizer_rejects_unknown_functions():
    with pytest.raises(PromQLError, match="unknown function 'rat'"):
        metric_names("rat(x[5m])")
    assert functions("sum(rate(x[5m]))") == {"sum", "rate"}
