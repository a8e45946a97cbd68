"""The metrics and alerts references, from the catalogue, the rule definitions and the dashboards."""

from __future__ import annotations

from rq_obs.catalog import EXPORTERS, LABELS, METRICS, M
from rq_obs.config import Config
from rq_obs.docsgen import _md
from rq_obs.docsgen.usage import usage

__all__ = ["render_metrics", "render_alerts"]


def _list(items: set[str], link=None) -> str:
    if not items:
        return "none"
    return ", ".join(link(i) if link else _md.cell(i) for i in sorted(items))


def render_metrics(config: Config) -> str:
    u = usage(config)
    out = ["# Metrics\n",
           f"Every metric rq-obs publishes or queries ({len(METRICS)}), generated from the catalogue "
           "(`rq_obs/catalog.py`), with its labels, where each label's values come from, how its cardinality is "
           "capped (`max_tests_per_suite`, `max_label_length`: capped values fold into `__other__` and are counted "
           f"in `{M.CARDINALITY_CAPPED.total}`), and the dashboard panels, recording rules and alerts that read it "
           "(directly or through a recording rule). Grouped by who publishes it.\n"]
    for exporter, what in EXPORTERS.items():
        metrics = [m for m in METRICS if m.exporter == exporter]
        if not metrics:
            continue
        out.append(f"## {exporter}\n")
        out.append(_md.text(what) + "\n")
        for m in metrics:
            out.append(f"### {m.name}\n")
            samples = ", ".join(_md.code(s) for s in m.sample_names())
            unit = m.unit or "count"
            out.append(f"{_md.text(m.help)}\n")
            out.append(f"- **type** {m.type}, **unit** {unit}; samples {samples}")
            if m.buckets:
                out.append(f"- **buckets** {', '.join(f'{b:g}' for b in m.buckets)}")
            out.append(f"- **panels** {_list(u.panels.get(m.name, set()))}")
            out.append(f"- **recording rules** {_list(u.rules.get(m.name, set()), _md.code)}")
            out.append(f"- **alerts** {_list(u.alerts.get(m.name, set()), lambda a: f'[{a}](alerts.md#{a.lower()})')}\n")
            if m.labels:
                rows = [[_md.code(l), _md.cell(LABELS[l].source), _md.cell(LABELS[l].cap)] for l in m.labels]
                out.append(_md.table(["label", "values", "cardinality cap"], rows))
    return "\n".join(out)


def render_alerts(config: Config) -> str:
    from rq_obs.rules.definitions import alerts

    out = ["# Alerts\n",
           "Every alert, generated from `rq_obs/rules/definitions.py` with the default settings (thresholds come "
           "from the config: see [settings](settings.md)). Each renders as a Prometheus rule "
           "(`rules/rq-obs.alerts.yml`) and as a Grafana alert rule; its `runbook_url` is `runbook_base_url` plus "
           "the anchor below.\n"]
    for a in alerts(config):
        out.append(f"## {a.name}\n")
        out.append(f"**{a.severity}**, for {a.for_}: {_md.text(a.summary)}\n")
        out.append(_md.text(a.description.replace("{value}", "VALUE")) + "\n")
        out.append(f"Runbook: [{a.anchor}](../RUNBOOKS.md#{a.anchor}) (`{a.runbook_url(config)}`)\n")
        out.append(f"```promql\n{a.prometheus_expr}\n```\n")
    return "\n".join(out)
