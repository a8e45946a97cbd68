"""The QA dashboard's LLM-routing panels on a real Prometheus scraping rq-obs serve: the values the panels' own
queries return equal the hand count and what the analyses compute from the store."""

from __future__ import annotations

import time

import pytest

from rq_obs.analysis import disambiguation as dis
from rq_obs.analytics.reports import inputs_report
from rq_obs.catalog import M
from rq_obs.dashboards import render_all
from rq_obs.store import Store
from tests.analysis import routing_history as H
from tests.helpers.procs import Prometheus, wait_until

pytestmark = pytest.mark.e2e

VALUES = {"$suite": ".*"}


def panel_exprs(dashboard: dict, title: str) -> dict[str, str]:
    panel = next(p for p in dashboard["panels"] if p["title"] == title)
    out = {}
    for t in panel["targets"]:
        expr = t["expr"]
        for k, v in VALUES.items():
            expr = expr.replace(k, v)
        out[t["refId"]] = expr
    return out


def test_routing_panels_return_the_store_s_figures(serve, tmp_path):
    now = time.time()
    store = Store(tmp_path / "store.db")
    H.write(store, now)
    srv = serve(store)
    report = inputs_report(store, srv.config, now)
    target = srv.url.removeprefix("http://")
    config = (f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
              f"scrape_configs:\n  - job_name: rq-obs\n    static_configs:\n      - targets: ['{target}']\n")
    (tmp_path / "prom").mkdir()
    qa = render_all(srv.config)["qa"]
    with Prometheus(tmp_path / "prom", config) as prom:
        wait_until(lambda: prom.query(M.INPUT_TERM_FAILED.name), 60, what=f"{M.INPUT_TERM_FAILED.name} in Prometheus")

        stat = panel_exprs(qa, "Ambiguous inputs: pass rate")
        passed, attempts = H.AMBIGUOUS
        assert prom.value(stat["A"]) == passed / attempts == dis.overall(report.routes)[0] / dis.overall(report.routes)[1]
        every = [v for v in H.ROUTES.values()]
        assert prom.value(stat["B"]) == sum(p for _, p in every) / sum(n for n, _ in every)

        table = panel_exprs(qa, "Disambiguation: expected vs chosen route")
        rate = {(r["metric"]["expected_route"], r["metric"]["chosen_route"]): float(r["value"][1])
                for r in prom.query(table["A"])}
        count = {(r["metric"]["expected_route"], r["metric"]["chosen_route"]): float(r["value"][1])
                 for r in prom.query(table["B"])}
        want = {(e, c): (n, p) for (_, e, c, amb), (n, p) in H.ROUTES.items() if amb}
        assert rate == {k: p / n for k, (n, p) in want.items()}
        assert count == {k: float(n) for k, (n, _) in want.items()}
        assert rate == {(c.expected, c.chosen): c.pass_rate for c in report.routes if c.ambiguous}

        terms = panel_exprs(qa, "Terms in failing inputs")
        got = {name: {r["metric"]["term"]: float(r["value"][1]) for r in prom.query(expr)} for name, expr in terms.items()}
        assert got["A"] == {t: float(f) for t, (_, f) in H.TERMS.items()}
        assert got["B"] == {t: float(a) for t, (a, _) in H.TERMS.items()}
        assert got["C"] == {t.term: t.failure_share for t in report.terms.totals()}

        bars = panel_exprs(qa, "Failure share by term")
        top = {r["metric"]["term"]: float(r["value"][1]) for r in prom.query(bars["A"])}
        shares = sorted((f / a for a, f in H.TERMS.values()), reverse=True)
        assert sorted(top.values(), reverse=True) == shares[:10]
