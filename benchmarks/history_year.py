"""A year of history backfilled into Prometheus, and how fast the dashboards' queries run over it.

1. Synthesises a store with ``--days`` of runs every ``--cadence`` for ``--tests`` tests x
   ``--variants`` experiment variants (realistic mix: a few flaky and broken tests, reruns,
   skipped tests, LLM calls with 429/5xx and retries, a SKILL.md that changes monthly), written
   with ``save_run`` like the pytest plugin does.
2. Runs ``rq-obs backfill --no-rules`` (the real CLI) into a data directory and times it.
3. Backfills the recording rules (``rules/rq-obs.rules.yml``) over the same history and times it
   apart: :func:`rq_obs.backfill.rules.backfill_rules`, what ``rq-obs backfill --rules`` runs
   (a temporary Prometheus on links to the blocks; ``--rules-via query``, the default: each rule
   as range queries at the backfill step, written as a few large blocks; ``--rules-via
   promtool``: ``promtool tsdb create-blocks-from rules``, a block per rule per 2 h in 2.42, so
   for short histories). Rules that read other recorded series come in a later pass.
4. Starts Prometheus on all the blocks and, for every dashboard JSON in
   ``--dashboards`` (default: the project's ``dashboards/``), runs each panel target's expr as a
   range query over the last 7 days and over the whole history (~250 points each), with Grafana's
   template variables substituted. Prints per query and per dashboard times and flags queries over
   500 ms and dashboards over 2 s (queries summed, as if run one after another), and counts the
   queries that returned data (a timing of an empty query proves little).

Usage: python benchmarks/history_year.py [--tests 300] [--variants 3] [--days 365] [--cadence 2h]
       [--workdir DIR] [--reuse] [--dashboards DIR] [--rules-via promtool|query|none]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rq_obs.backfill.prometheus import PrometheusError, api  # noqa: E402
from rq_obs.backfill.prometheus import start as start_prometheus  # noqa: E402
from rq_obs.backfill.rules import backfill_rules, deployed_rules  # noqa: E402
from rq_obs.config import load  # noqa: E402
from rq_obs.demo.processes import Services  # noqa: E402
from rq_obs.proc import require  # noqa: E402
from rq_obs.store import ApiCall, Attempt, Run, Store, TrackedFile, save_run  # noqa: E402

QUERY_GOAL_MS = 500
DASHBOARD_GOAL_MS = 2000
POINTS = 250


# --------------------------------------------------------------------------- synthetic store

def _seconds(text: str) -> int:
    m = re.fullmatch(r"(\d+)([smhd])", text)
    if not m:
        raise SystemExit(f"bad duration {text!r} (expected e.g. 30m, 2h)")
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def test_profiles(rnd: random.Random, tests: int) -> list[dict]:
    """Per test: failure probability (5% flaky, 1% broken, the rest stable), skipped, duration, LLM, category."""
    cats = ["api", "ui", "db", "slow", "none"]
    profile = []
    for i in range(tests):
        r = rnd.random()
        fail = 0.5 if r < 0.05 else (0.97 if r < 0.06 else 0.01)
        profile.append({"fail": fail, "skip": rnd.random() < 0.02, "dur": rnd.lognormvariate(-1.0, 1.0),
                        "llm": i % 3 == 0, "cat": cats[i % len(cats)]})
    return profile


def run_attempts(rnd: random.Random, names: list[str], profile: list[dict], arms: list[str],
                 started: float) -> tuple[list[Attempt], float]:
    """One run's attempts (reruns of flaky failures, LLM calls with 429/5xx retried) and its duration."""
    attempts = []
    clock = 0.0
    for i, name in enumerate(names):
        p = profile[i]
        for arm in arms:
            if p["skip"]:
                outcome = "skipped"
            else:
                outcome = "failed" if rnd.random() < p["fail"] * (1.2 if arm == "v2" else 1.0) else "passed"
            dur = p["dur"] * rnd.uniform(0.8, 1.25)
            calls = ()
            if p["llm"] and outcome != "skipped":
                x = rnd.random()
                code = 429 if x < 0.01 else (500 if x < 0.015 else 200)
                retries = 1 if code != 200 else 0
                model = "gpt-4o" if i % 2 else "claude-sonnet"
                calls = (ApiCall(provider="openai" if model == "gpt-4o" else "anthropic", model=model,
                                 status_code=200 if retries else code, latency=rnd.uniform(0.3, 3.0),
                                 retries=retries, retry_reasons=("429" if code == 429 else "5xx",) * retries,
                                 input_tokens=rnd.randint(200, 2000), output_tokens=rnd.randint(50, 500),
                                 cost_usd=0.001 * rnd.uniform(1, 5), started_at=started + clock),)
            attempts.append(Attempt(test=name, outcome=outcome, duration=dur, worker=f"gw{i % 4}",
                                    category=p["cat"], variant=arm, started_at=started + clock,
                                    api_calls=calls))
            if outcome == "failed" and p["fail"] < 0.9:  # a rerun
                attempts.append(Attempt(test=name, outcome="passed", duration=dur, attempt=2,
                                        worker=f"gw{i % 4}", category=p["cat"], variant=arm,
                                        started_at=started + clock))
            clock += dur / 4
    return attempts, clock


def arms_of(variants: int) -> list[str]:
    return ["control"] + [f"v{i}" for i in range(1, variants)]


def synthesise(path: Path, tests: int, variants: int, days: int, cadence: int, end: float, seed: int = 7) -> int:
    rnd = random.Random(seed)
    store = Store(path)
    store.connect().execute("PRAGMA synchronous=OFF")  # a benchmark fixture, not user data
    names = [f"tests/test_mod{i // 15:02d}.py::test_case_{i:03d}" for i in range(tests)]
    arms = arms_of(variants)
    profile = test_profiles(rnd, tests)
    start = end - days * 86400
    n_runs = int(days * 86400 // cadence)
    sha = "0" * 16
    t0 = time.perf_counter()
    for r in range(n_runs):
        started = start + r * cadence
        if r and r % max(1, int(30 * 86400 // cadence)) == 0:
            sha = f"{rnd.getrandbits(64):016x}"
        attempts, clock = run_attempts(rnd, names, profile, arms, started)
        save_run(store, Run(run_id=f"r{r:06d}", suite="realistic", started_at=started,
                            finished_at=started + clock, experiment="prompt-style", attempts=tuple(attempts),
                            tracked_files=(TrackedFile("skills/SKILL.md", sha, lines_added=5, lines_removed=2),)))
        if r % 100 == 0 or r == n_runs - 1:
            print(f"\r  store: {r + 1}/{n_runs} runs ({time.perf_counter() - t0:.0f} s)", end="", file=sys.stderr)
    print(file=sys.stderr)
    store.close()
    return n_runs


# --------------------------------------------------------------------------- prometheus

class Prom:
    """Prometheus on ``data`` itself (so its compactions persist for ``--reuse``), via the library."""

    def __init__(self, workdir: Path, data: Path):
        self.services = Services()
        self.url = start_prometheus(self.services, require("prometheus"), data, workdir).url

    def api(self, path: str, get: bool = False, **params) -> dict:
        """The answer as a document with ``status``: a failing dashboard query is a figure, not an abort."""
        try:
            return {"status": "success", "data": api(self.url, path, params, get=get, timeout=600)}
        except PrometheusError as exc:
            return {"status": "error", "error": exc.error or str(exc)}

    def close(self) -> None:
        self.services.stop()


def backfill_cli(store: Path, data: Path, step: str, end: float, env: dict | None = None) -> str:
    """``rq-obs backfill --no-rules`` (the real CLI) of ``store`` into ``data``; its output."""
    cp = subprocess.run([sys.executable, "-m", "rq_obs", "backfill", "--store", str(store), "--data-dir", str(data),
                         "--step", step, "--end", str(end), "--no-progress", "--no-rules"],
                        cwd=ROOT, capture_output=True, text=True, env=env)
    if cp.returncode != 0:
        raise SystemExit(f"rq-obs backfill failed: {cp.stderr}")
    return cp.stdout.strip()


# --------------------------------------------------------------------------- recording rules over history

def backfill_rules_figures(data: Path, start: int, end: int, step: int, via: str, only=None) -> dict:
    """The deployed recording rules (those whose record is in ``only``, if given) over the backfilled history
    (:mod:`rq_obs.backfill.rules`); figures."""
    rules = [r for r in deployed_rules(load(ROOT, env={}).config) if only is None or r.record in only]
    result = backfill_rules(data, rules, start_time=start, end_time=end, step=step, via=via)
    fig: dict = {"via": via, "passes": [], "rules": {}}
    for n, ps in enumerate(result.passes, 1):
        fig["passes"].append({"rules": [r.record for r in ps.rules], "start_seconds": ps.seconds["start"],
                              "evaluate_seconds": ps.seconds["evaluate"], "blocks_seconds": ps.seconds["blocks"],
                              "blocks": len(ps.blocks)})
        for r in ps.rules:
            fig["rules"][r.record] = (r.series if r.series is not None else 0, r.samples)
        print(f"  rules pass {n}: {len(ps.rules)} rules via {via}, Prometheus ready in {ps.seconds['start']:.1f} s, "
              f"{ps.seconds['evaluate']:.1f} s evaluating, {len(ps.blocks)} blocks in {ps.seconds['blocks']:.1f} s",
              file=sys.stderr)
    return fig


# --------------------------------------------------------------------------- dashboards

def dashboard_targets(dashboard: dict) -> list[tuple[str, dict]]:
    """(panel title, target) for every shown Prometheus target, rows' nested panels included."""
    out = []

    def walk(panels):
        for p in panels or ():
            walk(p.get("panels"))
            for t in p.get("targets") or ():
                if t.get("expr") and not t.get("hide"):
                    out.append((p.get("title") or "(untitled)", t))

    walk(dashboard.get("panels"))
    return out


def panel_targets(dashboard: dict) -> list[tuple[str, str]]:
    """(panel title, expr) for every Prometheus target, rows' nested panels included."""
    return [(title, t["expr"]) for title, t in dashboard_targets(dashboard)]


def variable_values(dashboard: dict, prom: Prom) -> dict[str, str]:
    """A value per template variable, as a user opening the dashboard would have it (All -> .*)."""
    values = {}
    for v in (dashboard.get("templating") or {}).get("list") or ():
        name, kind = v.get("name"), v.get("type")
        if not name or kind == "datasource":
            continue
        if v.get("includeAll") or v.get("multi"):
            values[name] = ".*"
            continue
        current = (v.get("current") or {}).get("value")
        if isinstance(current, list):
            current = current[0] if current else None
        if current not in (None, "", "$__all"):
            values[name] = str(current)
            continue
        query = v.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        m = re.match(r"\s*label_values\((?:(.*),\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\)\s*$", query or "")
        if m:
            params = {"match[]": m.group(1)} if m.group(1) else {}
            got = prom.api(f"label/{m.group(2)}/values", get=True, **params).get("data") or []
            values[name] = got[0] if got else ".*"
        elif kind == "custom" and v.get("options"):
            values[name] = str(v["options"][0].get("value"))
        else:
            values[name] = ".*"
    return values


def substitute(expr: str, values: dict[str, str], range_s: int, step_s: int, scrape_s: int) -> str:
    rate = max(step_s + scrape_s, 4 * scrape_s)
    builtin = {"__rate_interval": f"{rate}s", "__interval": f"{step_s}s", "__interval_ms": str(step_s * 1000),
               "__range": f"{range_s}s", "__range_s": str(range_s), "__range_ms": str(range_s * 1000),
               "__all": ".*"}
    allv = {**values, **builtin}

    def repl(m: re.Match) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        return allv.get(name, m.group(0))

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}|\[\[([A-Za-z_][A-Za-z0-9_]*)\]\]|\$([A-Za-z_][A-Za-z0-9_]*)",
                  repl, expr)


def run_dashboards(prom: Prom, files: list[Path], end: float, windows: dict[str, int], scrape_s: int,
                   repeat: int = 3) -> list[dict]:
    results = []
    for f in files:
        dash = json.loads(f.read_text())
        values = variable_values(dash, prom)
        targets = panel_targets(dash)
        for wname, range_s in windows.items():
            step = max(60, int(math.ceil(range_s / POINTS / 60.0)) * 60)
            total = 0.0
            rows = []
            for title, expr in targets:
                q = substitute(expr, values, range_s, step, scrape_s)
                times = []
                for _ in range(repeat):  # the first run is cold; the median is what a refresh sees
                    t = time.perf_counter()
                    doc = prom.api("query_range", query=q, start=end - range_s, end=end, step=step)
                    times.append((time.perf_counter() - t) * 1000)
                ms = sorted(times)[len(times) // 2]
                total += ms
                ok = doc.get("status") == "success"
                n = len(doc["data"]["result"]) if ok else 0
                rows.append({"panel": title, "expr": q, "ms": ms, "first_ms": times[0], "series": n,
                             "error": None if ok else doc.get("error")})
            results.append({"dashboard": f.stem, "window": wname, "step": step, "queries": rows, "total_ms": total})
    return results


# --------------------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tests", type=int, default=300)
    ap.add_argument("--variants", type=int, default=3)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--cadence", default="2h", help="time between runs")
    ap.add_argument("--step", default="5m", help="backfill sample step")
    ap.add_argument("--workdir", type=Path, default=None, help="keep store, blocks and logs here")
    ap.add_argument("--reuse", action="store_true", help="reuse the store and blocks already in --workdir")
    ap.add_argument("--dashboards", type=Path, default=ROOT / "dashboards")
    ap.add_argument("--repeat", type=int, default=3, help="runs per query; the median is reported")
    ap.add_argument("--rules-via", choices=("promtool", "query", "none"), default="query",
                    help="how to backfill the recording rules (none: not at all)")
    ap.add_argument("--json", type=Path, default=None, help="also write all figures as JSON here")
    args = ap.parse_args()
    if not shutil.which("prometheus") or not shutil.which("promtool"):
        raise SystemExit("needs prometheus and promtool (Debian package 'prometheus')")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="rq-obs-history-"))
    work.mkdir(parents=True, exist_ok=True)
    store, data = work / "store.db", work / "data"
    end = float(int(time.time()) // 300 * 300)
    figures: dict = {"tests": args.tests, "variants": args.variants, "days": args.days, "cadence": args.cadence,
                     "step": args.step}
    if not (args.reuse and store.exists() and data.exists()):
        for p in (store, data):
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
        t = time.perf_counter()
        figures["runs"] = synthesise(store, args.tests, args.variants, args.days, _seconds(args.cadence), end)
        figures["store_seconds"] = time.perf_counter() - t
        t = time.perf_counter()
        figures["backfill_output"] = backfill_cli(store, data, args.step, end)
        figures["backfill_seconds"] = time.perf_counter() - t
        (work / "backfill.out").write_text(figures["backfill_output"] + "\n")
        via = args.rules_via
        if via != "none":
            first = min(json.loads(m.read_text())["minTime"] for m in data.glob("*/meta.json")) // 1000
            step = _seconds(args.step)
            t = time.perf_counter()
            figures["rules"] = backfill_rules_figures(data, int(first), int(end), step, via)
            figures["rules_seconds"] = time.perf_counter() - t
            (work / "rules.json").write_text(json.dumps(figures["rules"]))
    else:
        figures["backfill_output"] = (work / "backfill.out").read_text().strip()
        # the windows end where the reused history ends, not at the time of this rerun
        end = float(max(json.loads(m.read_text())["maxTime"] for m in data.glob("*/meta.json")) // 1000 // 300 * 300)
        if (work / "rules.json").exists():
            figures["rules"] = json.loads((work / "rules.json").read_text())
    figures["store_bytes"] = sum(p.stat().st_size for p in work.glob("store.db*"))
    metas = [json.loads(m.read_text()) for m in data.glob("*/meta.json")]
    figures["blocks"] = len(metas)
    figures["series"] = max((m["stats"]["numSeries"] for m in metas), default=0)
    figures["samples"] = sum(m["stats"]["numSamples"] for m in metas)
    figures["block_bytes"] = sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
    print(f"history: {args.tests} tests x {args.variants} variants, {args.days} days, a run every {args.cadence}")
    print(figures["backfill_output"])
    if "rules" in figures:
        for i, ps in enumerate(figures["rules"]["passes"], 1):
            print(f"  rules pass {i} via {figures['rules']['via']}: {len(ps['rules'])} rules, "
                  f"{ps['evaluate_seconds']:.1f} s evaluating, {ps['blocks']} blocks in {ps['blocks_seconds']:.1f} s")
        for name, (n_series, n_samples) in sorted(figures["rules"]["rules"].items()):
            print(f"    {name:66} {n_series:6,} series {n_samples:12,} samples")
    for k in ("runs", "store_seconds", "backfill_seconds", "rules_seconds", "store_bytes", "blocks", "series",
              "samples", "block_bytes"):
        if k in figures:
            v = figures[k]
            print(f"  {k:18} {v:,.1f}" if isinstance(v, float) else f"  {k:18} {v:,}")
    files = sorted(args.dashboards.glob("*.json")) if args.dashboards.is_dir() else []
    if not files:
        print(f"no dashboards in {args.dashboards}")
    t = time.perf_counter()
    prom = Prom(work, data)
    figures["prometheus_start_seconds"] = time.perf_counter() - t
    print(f"  prometheus ready in {figures['prometheus_start_seconds']:.1f} s")
    try:
        windows = {"7d": 7 * 86400, f"{args.days}d": args.days * 86400}
        results = run_dashboards(prom, files, end, windows, _seconds(args.step), args.repeat)
    finally:
        prom.close()
    figures["dashboards"] = results
    slow = 0
    for r in results:
        flag = "  OVER 2 s" if r["total_ms"] > DASHBOARD_GOAL_MS else ""
        print(f"\n{r['dashboard']} over {r['window']} (step {r['step']} s): {len(r['queries'])} queries, "
              f"{r['total_ms']:.0f} ms (sum of medians){flag}")
        for q in r["queries"]:
            mark = "  OVER 500 ms" if q["ms"] > QUERY_GOAL_MS else ""
            err = f"  ERROR {q['error']}" if q["error"] else ""
            slow += bool(mark)
            print(f"  {q['ms']:8.1f} ms (first {q['first_ms']:7.1f}) {q['series']:5d} series  {q['panel'][:40]:40}  {q['expr'][:90]}{mark}{err}")
    print("\nsummary (ms; 'with data' = queries returning at least one series)")
    print(f"  {'dashboard':12} {'window':7} {'queries':>7} {'with data':>9} {'total':>8} {'max':>8}  slowest panel")
    for r in results:
        qs = r["queries"]
        top = max(qs, key=lambda q: q["ms"]) if qs else {"ms": 0.0, "panel": "-"}
        r["with_data"] = sum(q["series"] > 0 for q in qs)
        print(f"  {r['dashboard']:12} {r['window']:7} {len(qs):7d} {r['with_data']:9d} {r['total_ms']:8.0f} "
              f"{top['ms']:8.1f}  {top['panel'][:50]}")
    print(f"\n{slow} queries over {QUERY_GOAL_MS} ms; "
          f"{sum(r['total_ms'] > DASHBOARD_GOAL_MS for r in results)} dashboard windows over {DASHBOARD_GOAL_MS} ms")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
