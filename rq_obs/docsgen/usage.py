"""Which dashboards' panels, recording rules and alerts read each catalogued metric.

A generated PromQL expression reads a metric when one of the metric's sample names appears in it as
an identifier, directly or through the recording rules it reads (followed transitively).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rq_obs.catalog import METRICS
from rq_obs.config import Config

__all__ = ["Usage", "usage", "names_in"]

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def names_in(expr: str) -> set[str]:
    """Identifiers of a PromQL expression (string literals removed): metric and rule names among them."""
    return set(_IDENT.findall(_STRING.sub('""', expr)))


@dataclass
class Usage:
    panels: dict[str, set[str]] = field(default_factory=dict)  # metric name -> {"dashboard: panel"}
    rules: dict[str, set[str]] = field(default_factory=dict)  # metric name -> {recording rule}
    alerts: dict[str, set[str]] = field(default_factory=dict)  # metric name -> {alert}


def _panel_exprs(config: Config) -> list[tuple[str, str]]:
    from rq_obs.dashboards import render_all

    out = []
    for doc in render_all(config).values():
        title = doc["title"]
        for p in doc["panels"]:
            for t in p.get("targets", []):
                if "expr" in t:  # Infinity targets (rq-obs serve's JSON API) read no metric
                    out.append((f"{title}: {p['title']}", t["expr"]))
        for v in doc["templating"]["list"]:
            if v.get("type") == "query":
                q = v["query"]
                out.append((f"{title}: variable ${v['name']}", q["query"] if isinstance(q, dict) else q))
        for a in doc["annotations"]["list"]:
            if "expr" in a:
                out.append((f"{title}: annotation {a['name']}", a["expr"]))
    return out


def usage(config: Config) -> Usage:
    from rq_obs.rules.definitions import alerts, recording_rules

    sample_to_metric = {s: m.name for m in METRICS for s in m.sample_names()}
    rules = {r.record: r.expr for r in recording_rules(config)}
    # metrics each rule reads, through the rules it reads
    reads = {rec: names_in(expr) for rec, expr in rules.items()}
    changed = True
    while changed:
        changed = False
        for rec, names in reads.items():
            extra = set().union(*(reads[n] for n in names if n in reads and n != rec)) - names
            if extra:
                names |= extra
                changed = True

    def metrics_of(expr: str) -> set[str]:
        names = names_in(expr)
        for n in list(names):
            names |= reads.get(n, set())
        return {sample_to_metric[n] for n in names if n in sample_to_metric}

    u = Usage()
    for where, expr in _panel_exprs(config):
        for m in metrics_of(expr):
            u.panels.setdefault(m, set()).add(where)
    for rec in rules:
        for m in {sample_to_metric[n] for n in reads[rec] if n in sample_to_metric}:
            u.rules.setdefault(m, set()).add(rec)
    for a in alerts(config):
        for m in metrics_of(a.prometheus_expr):
            u.alerts.setdefault(m, set()).add(a.name)
    return u
