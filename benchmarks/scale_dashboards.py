"""Every dashboard target at 10,000 tests, on real Prometheus, as Grafana runs it (issue 19).

1. Synthesises a store: one suite of ``--big-tests`` tests x ``--variants`` variants plus ``--suites``
   smaller suites of ``--min-tests``..``--max-tests`` tests (one variant), every suite run every
   ``--cadence`` for ``--days`` days, with the mix of :mod:`history_year` (5 % flaky with reruns,
   1 % broken, 2 % skipped, a third calling an LLM with 429/5xx retried).
   The store's ingest gate gets ``--max-series`` (serve's ``max_series``; the default 1,000,000 keeps every
   test's series, where serve's default 50,000 folds the series past it into ``__other__``).
2. ``rq-obs backfill --no-rules`` (the real CLI, ``--step``), with ``max_tests_per_suite`` raised to
   the big suite's size so no test folds into ``__other__`` (the default cap is 5,000 per suite).
3. The analytics gauges (per-test pass rate, flip rate, stability, state, p95, last flake; flaky and
   broken counts...), computed once from the store by the real analytics collector and written for the
   last ``--analytics-hours`` at the step (the backfill does not cover them; a live Prometheus has them
   from its first scrape), so the panels reading them time real data.
4. The deployed recording rules over that history (:func:`rq_obs.backfill.rules.backfill_rules`).
5. Prometheus on the blocks; for every dashboard JSON, every target as Grafana sends it: range
   queries over the last 7 and 30 days with ``step = max(range / 1000, scrape interval)`` (a wide
   panel's ``maxDataPoints``), instant queries for instant targets (tables, bar gauges, stats), each
   target alone (median of ``--repeat``) and then all targets of the dashboard at once (``--parallel``
   at a time, as Grafana's browser does; median wall of ``--repeat``).

Usage: python benchmarks/scale_dashboards.py [--big-tests 10000] [--days 2] [--cadence 4h] [--workdir DIR]
       [--reuse] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from history_year import (  # noqa: E402
    DASHBOARD_GOAL_MS, QUERY_GOAL_MS, ROOT, Prom, _seconds, arms_of, backfill_cli, backfill_rules_figures,
    dashboard_targets, run_attempts, substitute, test_profiles, variable_values,
)

from rq_obs.backfill.rules import deployed_rules  # noqa: E402
from rq_obs.backfill.openmetrics import EOF, format_timestamp, format_value, series_prefix  # noqa: E402
from rq_obs.backfill.tsdb import create_blocks  # noqa: E402
from rq_obs.catalog import M  # noqa: E402
from rq_obs.config import load  # noqa: E402
from rq_obs.dashboards.queries import rate, ratio, sum_by  # noqa: E402
from rq_obs.exporters.analytics import AnalyticsCollector  # noqa: E402
from rq_obs.exporters.base import LabelGuard  # noqa: E402
from rq_obs.store import Run, Store, TrackedFile, save_run  # noqa: E402
from rq_obs.rules.definitions import BY_SUITE, COUNTED, FAILED, PASSED, N  # noqa: E402
from rq_obs.store.cardinality import configure  # noqa: E402
from rq_obs.store.totals import fold  # noqa: E402

POINTS = 1000  # Grafana's maxDataPoints for a wide panel
WINDOWS = {"7d": 7 * 86400, "30d": 30 * 86400}


def suites(big: int, n_small: int, lo: int, hi: int, variants: int, rnd: random.Random) -> list[dict]:
    out = [{"suite": "main", "tests": big, "arms": arms_of(variants)}]
    out += [{"suite": f"svc{k:02d}", "tests": rnd.randint(lo, hi), "arms": ["control"]} for k in range(n_small)]
    for s in out:
        s["names"] = [f"tests/{s['suite']}/test_mod{i // 25:03d}.py::test_case_{i:05d}" for i in range(s["tests"])]
        s["profile"] = test_profiles(rnd, s["tests"])
    return out


def synthesise(path: Path, spec: list[dict], days: float, cadence: int, end: float, rnd: random.Random,
               max_series: int) -> int:
    store = Store(path)
    store.connect().execute("PRAGMA synchronous=OFF")  # a benchmark fixture, not user data
    configure(store, max_series)  # the ingest gate, as serve sets it from the config
    n_runs = int(days * 86400 // cadence)
    t0 = time.perf_counter()
    for r in range(n_runs):
        started = end - days * 86400 + r * cadence
        for s in spec:
            attempts, clock = run_attempts(rnd, s["names"], s["profile"], s["arms"], started)
            save_run(store, Run(run_id=f"{s['suite']}-{r:05d}", suite=s["suite"], started_at=started,
                                finished_at=started + clock, experiment="prompt-style" if len(s["arms"]) > 1 else "",
                                commit=f"c{r // 3:05d}", attempts=tuple(attempts),
                                tracked_files=(TrackedFile("skills/SKILL.md", f"{r // 6:016x}"),)))
        print(f"\r  store: {r + 1}/{n_runs} rounds of {len(spec)} suites ({time.perf_counter() - t0:.0f} s)",
              end="", file=sys.stderr)
    print(file=sys.stderr)
    fold(store)  # the totals, through this gate (a reader with the default gate would fold them at 50,000)
    store.close()
    return n_runs * len(spec)


def analytics_blocks(store_path: Path, data: Path, work: Path, config, end: float, hours: float, step: int) -> dict:
    """The analytics collector's families at ``end``, held for the last ``hours`` at ``step``, as blocks."""
    store = Store(store_path, create=False)
    t = time.perf_counter()
    collector = AnalyticsCollector(store, config, LabelGuard(config.max_tests_per_suite, config.max_label_length),
                                   background=False, min_interval=1e9, max_age=1e9)
    families = list(collector.collect())
    seconds = time.perf_counter() - t
    store.close()
    om = work / "analytics.om"
    grid = [end - k * step for k in range(int(hours * 3600 // step), -1, -1)]
    series = 0
    with om.open("w") as fh:
        for fam in families:
            if not fam.samples:
                continue
            fh.write(f"# TYPE {fam.name} gauge\n")
            prefixes = [(series_prefix(s.name, sorted(s.labels.items())), format_value(s.value)) for s in fam.samples]
            series += len(prefixes)
            for ts in grid:
                stamp = format_timestamp(ts)
                fh.writelines(f"{p} {v} {stamp}\n" for p, v in prefixes)
        fh.write(EOF)
    create_blocks(om, data)
    om.unlink()
    return {"analytics_seconds": seconds, "analytics_series": series, "analytics_samples": series * len(grid)}


def _timed(prom: Prom, target: dict, end: float) -> tuple[float, int, str | None]:
    t = time.perf_counter()
    if target["instant"]:
        doc = prom.api("query", query=target["q"], time=end)
    else:
        doc = prom.api("query_range", query=target["q"], start=end - target["range"], end=end, step=target["step"])
    ms = (time.perf_counter() - t) * 1000
    ok = doc.get("status") == "success"
    return ms, len(doc["data"]["result"]) if ok else 0, None if ok else doc.get("error")


def run_dashboard(prom: Prom, dash: dict, name: str, end: float, scrape_s: int, repeat: int, parallel: int) -> list[dict]:
    values = variable_values(dash, prom)
    out = []
    for wname, range_s in WINDOWS.items():
        step = max(scrape_s, int(math.ceil(range_s / POINTS)))
        targets = [{"panel": title, "instant": bool(t.get("instant")), "range": range_s, "step": step,
                    "q": substitute(t["expr"], values, range_s, step, scrape_s)} for title, t in dashboard_targets(dash)]
        for tg in targets:  # each alone: the first run is cold, the median is what a refresh sees
            runs = [_timed(prom, tg, end) for _ in range(repeat)]
            tg["ms"] = sorted(r[0] for r in runs)[len(runs) // 2]
            tg["first_ms"], tg["series"], tg["error"] = runs[0][0], runs[-1][1], runs[-1][2]
        walls = []
        for _ in range(repeat):  # all at once, as the dashboard loads
            t = time.perf_counter()
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                list(pool.map(lambda tg: _timed(prom, tg, end), targets))
            walls.append((time.perf_counter() - t) * 1000)
        out.append({"dashboard": name, "window": wname, "step": step, "queries": targets,
                    "sum_ms": sum(tg["ms"] for tg in targets), "max_ms": max((tg["ms"] for tg in targets), default=0),
                    "wall_ms": sorted(walls)[len(walls) // 2]})
    return out


def decision_queries(config) -> list[tuple[str, str, str]]:
    """(question, with per-test series, without them): the same figure from the per-test attempt counters and
    from series without a test label (the attempt-duration histogram's count holds every attempt by suite and
    outcome; the analytics gauges and the pre-ranked rules hold per-test figures computed elsewhere)."""
    att, by_suite = M.TEST_ATTEMPTS.total, BY_SUITE
    out = []
    for w in ("1h", "1d", "7d"):
        out.append((f"suite pass rate over {w} (what the rule evaluates every {config.evaluation_interval})",
                    ratio(sum_by("suite", rate(att, PASSED, window=w)), sum_by("suite", rate(att, COUNTED, window=w))),
                    ratio(sum_by("suite", rate(by_suite, PASSED, window=w)),
                          sum_by("suite", rate(by_suite, COUNTED, window=w)))))
    per_test_1d = ratio(sum_by(("suite", "test"), rate(att, PASSED, window="1d")),
                        sum_by(("suite", "test"), rate(att, COUNTED, window="1d")))
    out.append(("10 tests with the lowest pass rate over 1d", f"bottomk(10, {per_test_1d})",
                f"bottomk(10, {N.test_pass_rate_bottom})"))
    out.append(("10 most failing tests over the last hour",
                f"topk(10, {sum_by(('suite', 'test'), rate(att, FAILED, window='1h'))})",
                f"topk(10, {N.test_failures_top})"))
    out.append(("series read", f"count({att})", f"count({by_suite})"))
    return out


def run_decision(prom: Prom, config, end: float, repeat: int) -> list[dict]:
    rows = []
    for question, with_q, without_q in decision_queries(config):
        row = {"question": question}
        for key, expr in (("with", with_q), ("without", without_q)):
            runs = [_timed(prom, {"instant": True, "q": expr}, end) for _ in range(repeat)]
            row[key] = {"expr": expr, "ms": sorted(r[0] for r in runs)[len(runs) // 2], "series": runs[-1][1],
                        "error": runs[-1][2]}
        if question == "series read":
            for key in ("with", "without"):
                doc = prom.api("query", query=row[key]["expr"], time=end)
                row[key]["count"] = int(float(doc["data"]["result"][0]["value"][1])) if doc["data"]["result"] else 0
        rows.append(row)
    return rows


def markdown_decision(rows: list[dict]) -> str:
    lines = ["| question (instant query at the end of the history) | with per-test series | without |", "| --- | --- | --- |"]
    for r in rows:
        cells = [f"{r[k]['ms']:,.0f} ms" + (f" ({r[k]['count']:,} series)" if "count" in r[k] else "")
                 for k in ("with", "without")]
        lines.append(f"| {r['question']} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def markdown(fig: dict, results: list[dict]) -> str:
    lines = ["| dashboard | targets (with data) | 7 d: sum / slowest / parallel wall (ms) | 30 d: sum / slowest / parallel wall (ms) | slowest target |",
             "| --- | --- | --- | --- | --- |"]
    by = {}
    for r in results:
        by.setdefault(r["dashboard"], {})[r["window"]] = r
    for name, w in by.items():
        qs = w["7d"]["queries"]
        cells = []
        for wn in WINDOWS:
            r = w[wn]
            wall = f"**{r['wall_ms']:,.0f}**" if r["wall_ms"] > DASHBOARD_GOAL_MS else f"{r['wall_ms']:,.0f}"
            top = f"**{r['max_ms']:,.0f}**" if r["max_ms"] > QUERY_GOAL_MS else f"{r['max_ms']:,.0f}"
            cells.append(f"{r['sum_ms']:,.0f} / {top} / {wall}")
        slow = max((q for r in w.values() for q in r["queries"]), key=lambda q: q["ms"], default=None)
        slow_txt = f"{slow['panel']} ({slow['ms']:,.0f} ms, {'instant' if slow['instant'] else 'range'})" if slow else "-"
        lines.append(f"| {name} | {len(qs)} ({sum(q['series'] > 0 for q in qs)}) | {cells[0]} | {cells[1]} | {slow_txt} |")
    over = [(r["window"], r["dashboard"], q) for r in results for q in r["queries"] if q["ms"] > QUERY_GOAL_MS]
    lines.append("")
    if over:
        lines.append(f"Targets over {QUERY_GOAL_MS} ms:")
        for wn, d, q in over:
            lines.append(f"- {d}, {wn}: {q['panel']} {q['ms']:,.0f} ms (+{q['ms'] - QUERY_GOAL_MS:,.0f}): `{q['q'][:160]}`")
    else:
        lines.append(f"No target over {QUERY_GOAL_MS} ms.")
    slow_d = [r for r in results if r["wall_ms"] > DASHBOARD_GOAL_MS or r["sum_ms"] > DASHBOARD_GOAL_MS]
    for r in slow_d:
        lines.append(f"- dashboard {r['dashboard']}, {r['window']}: sum {r['sum_ms']:,.0f} ms, parallel wall "
                     f"{r['wall_ms']:,.0f} ms (goal {DASHBOARD_GOAL_MS:,})")
    if not slow_d:
        lines.append(f"No dashboard over {DASHBOARD_GOAL_MS:,} ms (sum or parallel wall).")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big-tests", type=int, default=10_000)
    ap.add_argument("--variants", type=int, default=3)
    ap.add_argument("--suites", type=int, default=50)
    ap.add_argument("--min-tests", type=int, default=20)
    ap.add_argument("--max-tests", type=int, default=100)
    ap.add_argument("--days", type=float, default=2)
    ap.add_argument("--cadence", default="4h", help="time between runs of each suite")
    ap.add_argument("--step", default="5m", help="backfill sample step (the project's default)")
    ap.add_argument("--analytics-hours", type=float, default=24)
    ap.add_argument("--max-series", type=int, default=1_000_000,
                    help="the store's ingest cap (config max_series, default 50,000): 1,000,000 keeps every test's "
                         "series; 50000 is what serve does by default")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--reuse", action="store_true", help="reuse the store and blocks in --workdir; only query")
    ap.add_argument("--dashboards", type=Path, default=ROOT / "dashboards")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--parallel", type=int, default=6, help="targets in flight at once (a browser's 6 connections)")
    ap.add_argument("--rules-via", choices=("query", "none"), default="query")
    ap.add_argument("--build-only", action="store_true", help="build the history (and rules), run no queries")
    ap.add_argument("--decision-only", action="store_true", help="only the with/without per-test series queries")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--markdown", type=Path, default=None, help="write the table here")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="rq-obs-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    store, data = work / "store.db", work / "data"
    step = _seconds(args.step)
    caps = {"max_tests_per_suite": max(args.big_tests, 5000), "max_series": args.max_series}
    config = load(ROOT, env={}, overrides=caps).config
    fig_path = work / "build.json"
    if not (args.reuse and fig_path.exists()):
        for p in (store, data):
            shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
        end = float(int(time.time()) // step * step)
        rnd = random.Random(19)
        spec = suites(args.big_tests, args.suites, args.min_tests, args.max_tests, args.variants, rnd)
        fig = {"max_series": args.max_series, "tests": sum(s["tests"] for s in spec), "big_tests": args.big_tests, "variants": args.variants,
               "suites": len(spec), "days": args.days, "cadence": args.cadence, "step": args.step, "end": end}
        t = time.perf_counter()
        fig["runs"] = synthesise(store, spec, args.days, _seconds(args.cadence), end, rnd, config.max_series)
        fig["store_seconds"] = time.perf_counter() - t
        env = {**os.environ, "RQ_OBS_MAX_TESTS_PER_SUITE": str(caps["max_tests_per_suite"]),
               "RQ_OBS_MAX_SERIES": str(caps["max_series"])}
        t = time.perf_counter()
        fig["backfill_output"] = backfill_cli(store, data, args.step, end, env)
        fig["backfill_seconds"] = time.perf_counter() - t
        fig.update(analytics_blocks(store, data, work, config, end, args.analytics_hours, step))
        fig["store_bytes"] = sum(p.stat().st_size for p in work.glob("store.db*"))
        fig_path.write_text(json.dumps(fig, indent=1))
    fig = json.loads(fig_path.read_text())
    deployed = {r.record for r in deployed_rules(config)}
    missing = deployed - set((fig.get("rules") or {}).get("rules", {}))
    if args.rules_via != "none" and missing:  # a separate phase: rules added since the build are backfilled then
        first = min(json.loads(m.read_text())["minTime"] for m in data.glob("*/meta.json")) // 1000
        t = time.perf_counter()
        got = backfill_rules_figures(data, int(first), int(fig["end"]), step, args.rules_via, only=missing)
        if "rules" in fig:
            fig["rules"]["rules"].update(got["rules"])
            fig["rules"]["passes"] += got["passes"]
        else:
            fig["rules"] = got
        fig["rules_seconds"] = fig.get("rules_seconds", 0) + time.perf_counter() - t
        metas = [json.loads(m.read_text()) for m in data.glob("*/meta.json")]
        fig["blocks"], fig["samples"] = len(metas), sum(m["stats"]["numSamples"] for m in metas)
        fig_path.write_text(json.dumps(fig, indent=1))
    if args.build_only:
        return
    end = fig["end"]
    print(f"history: {fig['suites']} suites, {fig['tests']:,} tests ({fig['big_tests']:,} x {fig['variants']} variants "
          f"in one), {fig['days']} days, every suite run every {fig['cadence']}, backfill step {fig['step']}")
    print(fig["backfill_output"])
    for k in ("runs", "store_seconds", "backfill_seconds", "analytics_seconds", "analytics_series", "analytics_samples",
              "rules_seconds", "blocks", "samples", "store_bytes"):
        if k in fig:
            v = fig[k]
            print(f"  {k:18} {v:,.1f}" if isinstance(v, float) else f"  {k:18} {v:,}")
    files = sorted(args.dashboards.glob("*.json"))
    prom = Prom(work, data)
    try:
        series = prom.api("query", query="count({__name__=~\".+\"})", time=end)
        print(f"  series in Prometheus at the end: {series['data']['result'][0]['value'][1]}")
        decision = run_decision(prom, config, end, args.repeat)
        results = []
        for f in files if not args.decision_only else ():
            results += run_dashboard(prom, json.loads(f.read_text()), f.stem, end, _seconds(config.scrape_interval),
                                     args.repeat, args.parallel)
    finally:
        prom.close()
    print("\nper-test series or not, the same figure:\n" + markdown_decision(decision))
    for r in decision:
        for k in ("with", "without"):
            if r[k]["error"]:
                print(f"  ERROR {r['question']} ({k}): {r[k]['error']}")
    if args.decision_only:
        return
    for r in results:
        print(f"\n{r['dashboard']} over {r['window']} (step {r['step']} s): {len(r['queries'])} targets, sum "
              f"{r['sum_ms']:.0f} ms, slowest {r['max_ms']:.0f} ms, all at once {r['wall_ms']:.0f} ms")
        for q in r["queries"]:
            mark = "  OVER 500 ms" if q["ms"] > QUERY_GOAL_MS else ""
            err = f"  ERROR {q['error']}" if q["error"] else ""
            kind = "instant" if q["instant"] else "range"
            print(f"  {q['ms']:8.1f} ms (first {q['first_ms']:7.1f}) {kind:7} {q['series']:5d} series  "
                  f"{q['panel'][:40]:40}  {q['q'][:100]}{mark}{err}")
    table = markdown(fig, results)
    print("\n" + table)
    if args.markdown:
        args.markdown.write_text(table)
    if args.json:
        args.json.write_text(json.dumps({"build": fig, "dashboards": results, "decision": decision}, indent=1,
                                        sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
