import json

import pytest

from rq_obs.compare import compare
from rq_obs.compare.deps import change_kind
from rq_obs.compare.report import render
from rq_obs.config import Config
from rq_obs.snapshot.benchmarks import from_samples
from rq_obs.snapshot.model import TestSummary
from rq_obs.snapshot.store import save_snapshot
from rq_obs.store import Store
from tests.helpers.cli import run_cli
from tests.release.factory import ENV, deps, make, vuln

# 21 rounds spread evenly over ±2 % of the median: enough for the detector to call an unchanged pair "unchanged"
BASE_SLOW = tuple(0.0100 * (1 + 0.002 * k) for k in range(-10, 11))
FLAT = tuple(0.0020 * (1 + 0.002 * k) for k in range(-10, 11))


def _pair():
    base = make("v1.0", 1000.0, dependencies=deps("click==8.1.7", "requests==2.31.0", "six==1.16.0~", "jinja2==3.1.4~"),
                benchmarks=[from_samples("op.slow", BASE_SLOW, "runner"), from_samples("op.flat", FLAT, "runner")],
                vulns=[], coverage=0.80, code_quality=90, documentation=80,
                tests=TestSummary(9, 1, 0, 0, 2, "commit x", {"t::a": {"passed": 2}, "t::b": {"passed": 1, "failed": 1},
                                                                "t::gone": {"passed": 2}}))
    env = {**ENV, "python": {**ENV["python"], "version": "3.12.1"}, "memory": {**ENV["memory"], "available_bytes": 1}}
    head = make("v1.1", 2000.0, dependencies=deps("click==8.2.0", "requests==3.0.0", "httpx==0.27.2", "jinja2==3.1.3~"),
                benchmarks=[from_samples("op.slow", [x * 1.3 for x in BASE_SLOW], "runner"), from_samples("op.flat", FLAT, "runner"),
                            from_samples("op.new", FLAT, "runner")],
                vulns=[vuln("GHSA-h75v-3vvj-5mfj", "jinja2", "3.1.3", "high")], coverage=0.82, code_quality=90,
                documentation=80, env=env,
                tests=TestSummary(8, 2, 0, 0, 2, "commit y", {"t::a": {"passed": 1, "failed": 1}, "t::b": {"passed": 1, "failed": 1},
                                                               "t::new": {"passed": 2}}))
    return base, head


def test_change_kinds():
    assert [change_kind(a, b) for a, b in (("1.2.3", "2.0.0"), ("1.2.3", "1.3.0"), ("1.2.3", "1.2.4"), ("1.2", "1.2.0.1"),
                                           ("1.0", "not-a-version"), ("1!1.0", "1.0"))] == [
        "major", "minor", "patch", "other", "other", "major"]


def test_comparison_blocks_on_regression_and_new_high_vulnerability():
    base, head = _pair()
    c = compare(base, head, Config())
    assert (c.recommendation, c.risk) == ("block", "critical")  # a critical regression
    slow = {o.operation: o for o in c.perf.ops}["op.slow"]
    assert (slow.status, slow.severity) == ("regression", "critical")
    assert slow.change == pytest.approx(0.3)
    assert {o.operation: o.status for o in c.perf.ops}["op.flat"] == "unchanged" and c.perf.added == ("op.new",)
    assert c.deps.counts == {"added": 1, "removed": 1, "major": 1, "minor": 1, "patch": 1, "other": 0}
    j = {ch.name: ch for ch in c.deps.changes}["jinja2"]
    assert (j.change, j.downgrade, j.security_impact) == ("patch", True, "introduces GHSA-h75v-3vvj-5mfj")
    assert c.env.risk == "high" and [e.field for e in c.env.changes] == ["python.version"]  # available memory ignored
    assert (c.tests.new, c.tests.removed, c.tests.newly_flaked) == (("t::new",), ("t::gone",), ("t::a",))
    assert c.tests.pass_rate_delta == pytest.approx(-0.1)
    # head: code 90, coverage 82, deps 100-15 = 85, docs 80, performance 100-50 = 50
    assert c.head_score.total == pytest.approx((25 * 90 + 20 * 82 + 20 * 85 + 15 * 80 + 20 * 50) / 100)
    # block reasons are `rq-obs gate`'s failed gates, in its order, naming threshold and source
    assert c.reasons[:3] == (
        "quality score 77.9 below min_score 80 (config)",
        "1 performance regressions, more than max_regressions 0 (config): timing 1 critical",
        "1 known vulnerabilities, more than max_vulnerabilities 0 (config); new critical/high: GHSA-h75v-3vvj-5mfj (jinja2)")
    assert [(g.name, g.result) for g in c.gates] == [("min_score", "fail"), ("max_regressions", "fail"),
                                                    ("max_vulnerabilities", "fail"), ("min_coverage", "skip"),
                                                    ("max_failing_tests", "pass")]


def test_benchmarks_timed_on_a_busy_machine_are_flagged_for_review():
    base, head = _pair()
    busy = {**head.environment, "load": {"per_cpu_1m": 1.7}}
    c = compare(base, make("v1.1", 2000.0, benchmarks=head.benchmarks, env=busy), Config())
    note = ("benchmarks were timed on a busy machine (head v1.1 at load 1.7 per CPU; 1 of 2 operations not unchanged): "
            "rerun the snapshot on an idle machine before trusting the performance verdicts")
    assert note in c.reasons
    assert all(e.field != "load.per_cpu_1m" for e in c.env.changes)  # a reading, not an environment change
    quiet = {**head.environment, "load": {"per_cpu_1m": 0.2}}
    assert not any("busy machine" in r for r in
                   compare(base, make("v1.1", 2000.0, benchmarks=head.benchmarks, env=quiet), Config()).reasons)
    # nothing changed, but snapshot warned "compare will say so": it does (noise hides changes too)
    same = compare(base, make("v1.0b", 2000.0, benchmarks=base.benchmarks, env=busy), Config())
    assert same.perf.regressions == [] and (
        "benchmarks were timed on a busy machine (head v1.0b at load 1.7 per CPU; 0 of 2 operations not unchanged): "
        "rerun the snapshot on an idle machine before trusting the performance verdicts") in same.reasons


def test_same_snapshot_is_approved():
    base, _ = _pair()
    c = compare(base, base, Config())
    assert (c.recommendation, c.risk, c.reasons) == ("approve", "low", ())


def test_reports_contain_the_rows(tmp_path):
    base, head = _pair()
    c = compare(base, head, Config())
    md = render(c, "markdown")
    assert "**⛔ Recommendation: BLOCK** · risk **critical**" in md
    assert "| `op.slow` | 10 ms | 13 ms | +30.0 % | 1.285–1.316 | `+██████████»` | MWU | 1.86e-12 | 🔴 regression (critical) |" in md
    assert "| `op.flat` | 2 ms | 2 ms | +0.0 % | 0.988–1.012 | `0` | MWU | 0.51 | unchanged |" in md
    assert ("Test: Mann-Whitney U with Hodges-Lehmann ratio and 99% interval (alpha=0.005 per side, n_base=21, "
            "n_head=21).") in md
    assert "| requests | pypi | 2.31.0 | 3.0.0 | major | none known |" in md
    assert "| six | pypi | 1.16.0 | absent | removed | none known |" in md
    assert "| jinja2 | pypi | 3.1.4 | 3.1.3 | patch ⬇ downgrade | introduces GHSA-h75v-3vvj-5mfj |" in md
    assert "| python.version | 3.11.7 | 3.12.1 | high |" in md
    assert ("| performance | 20 | 20.0 | missing: no baseline with common benchmarks (snapshot it and its baseline "
            "with --benchmarks or --run-benchmarks) | 50.0 |") in md
    assert len(md) < 65536
    html = render(c, "html")
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "<title>op.slow: +30.00 %</title>" in html
    assert "<td>op.slow</td><td>10 ms</td><td>13 ms</td><td>+30.0 %</td>" in html
    data = json.loads(render(c, "json"))
    assert data["recommendation"] == "block" and data["performance"]["regressions_by_severity"] == {"minor": 0, "major": 0, "critical": 1}
    assert "Recommendation: BLOCK   risk: critical" in render(c, "text")


def test_compare_command_exit_codes(tmp_path):
    base, head = _pair()
    db = tmp_path / "s.db"
    store = Store(db)
    save_snapshot(store, base)
    save_snapshot(store, head)
    r = run_cli("compare", "v1.0", "v1.1", "--store", db, "--format", "markdown")
    assert r.code == 1 and "| `op.slow` |" in r.out and "recommendation for v1.1 vs v1.0 is block" in r.err
    r = run_cli("compare", "v1.0", "v1.0", "--store", db, "--format", "html", "--output", tmp_path / "r.html")
    assert r.code == 0 and "approve (risk low)" in r.out and (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    r = run_cli("compare", "v1.0", "v9", "--store", db)
    assert r.code == 2 and "no snapshot of release 'v9'" in r.err and "known: v1.0, v1.1" in r.err


def test_no_benchmarks_in_common_is_said_in_every_report():
    base, head = make("v1.0", 1000.0), make("v1.1", 2000.0)
    c = compare(base, head, Config())
    text = render(c, "text")
    assert ("Performance (threshold 5%, alpha 0.005 per side):\n"
            "  no benchmarks in common (snapshot both releases with --benchmarks or --run-benchmarks)\n") in text
    assert "_No benchmark present in both snapshots._" in render(c, "markdown")


def test_score_headline_compares_the_same_dimensions():
    """The base (a first snapshot) was scored without a performance dimension, the head against it with one;
    coverage and the rest are identical. The headline compares the four common dimensions (+0.0) and names what
    the base lacks, where it used to read 88.1 -> 90.5 (+2.4)."""
    from rq_obs.compare import quality_of

    bench = [from_samples("op", FLAT, "runner")]
    inputs = dict(coverage=0.80, code_quality=90, documentation=80, vulns=[], benchmarks=bench)
    first = make("v1.0", 1000.0, **inputs)
    base = make("v1.0", 1000.0, **inputs, score=quality_of(first, None, Config()).to_dict())
    head = make("v1.1", 2000.0, **inputs)
    c = compare(base, head, Config())
    assert c.base_score.dimensions["performance"] is None and c.head_score.dimensions["performance"] == 100.0
    assert (c.base_score.total, c.head_score.total) == (88.125, 90.5)  # what the old headline subtracted
    assert c.score_delta == 0.0
    line = ("88.1 → 88.1 (+0.0) on the 4 dimensions measured on both sides; left out: performance only on head "
            "(base: snapshot it and its baseline with --benchmarks or --run-benchmarks)")
    assert f"quality score {line}" in render(c, "markdown") and f"Quality score: {line}" in render(c, "text")
    assert json.loads(render(c, "json"))["quality"]["like_for_like"] == {
        "base": 88.125, "head": 88.125, "delta": 0.0,
        "dimensions": ["code_quality", "test_coverage", "dependencies", "documentation"], "only_base": [],
        "only_head": [{"dimension": "performance", "to_add": "snapshot it and its baseline with --benchmarks or --run-benchmarks"}]}


def test_html_charts_plot_signed_deltas_scaled_to_the_thresholds():
    base, head = _pair()
    html = render(compare(base, head, Config()), "html")
    # quality: head − base per dimension measured on both sides (coverage 80 -> 82: +2.0), never head's absolute value
    assert "<title>test_coverage: +2.00</title>" in html and "+82.00" not in html and "+90.00" not in html
    assert "<title>code_quality: +0.00</title>" in html  # unchanged: a zero-width bar, not a full one
    # performance: a full bar is 4 x the 5 % threshold (20 %); +30 % is clipped to the full half-width, 0 % has none
    assert '<rect x="450.0" y="3" width="140.0" height="12" fill="#d32f2f"><title>op.slow: +30.00 %</title>' in html
    assert '<rect x="450.0" y="21" width="0.0" height="12" fill="#90a4ae"><title>op.flat: +0.00 %</title>' in html
    assert html.count('class="threshold"') >= 4  # ±threshold lines on the performance and quality charts


def test_empty_performance_cells_say_why():
    from rq_obs.snapshot.model import Benchmark

    one = Benchmark("op.once", 1.0, 1.0, 1.0, 0.0, 1.0, rounds=1)
    c = compare(make("v1", 1.0, benchmarks=[one]), make("v2", 2.0, benchmarks=[one]), Config())
    md = render(c, "markdown")
    row = next(x for x in md.splitlines() if x.startswith("| `op.once`"))
    assert row == ("| `op.once` | 1 s | 1 s | +0.0 % | none: < 2 rounds a side | `0` | none: < 2 rounds | "
                   "n/a: no test (< 2 rounds) | 🟡 inconclusive (needs ~5 rounds a side) |")
    assert "—" not in row
    html = render(c, "html")
    assert "<td>none: &lt; 2 rounds a side</td>" in html and "<p class=\"empty\">No dependency changed.</p>" in html


def test_upgrades_that_clear_the_vulnerabilities():
    from rq_obs.snapshot.model import Vulnerability

    base, head = _pair()
    vulns = (Vulnerability("GHSA-h75v-3vvj-5mfj", "jinja2", "3.1.3", "high", (), ("3.1.4",)),
             Vulnerability("GHSA-q2x7-8rv6-6q7h", "jinja2", "3.1.3", "medium", (), ("3.1.5", "3.0.9")),
             Vulnerability("PYSEC-0000-1", "httpx", "0.27.2", "low", (), ()))
    c = compare(base, head.__class__(**{**head.__dict__, "vulnerabilities": vulns}), Config())
    assert [u.text() for u in c.deps.upgrades] == [
        "httpx 0.27.2: no fixed version known",
        "jinja2 3.1.3 -> 3.1.5 clears GHSA-h75v-3vvj-5mfj, GHSA-q2x7-8rv6-6q7h"]  # 3.0.9 is an older branch's fix
    assert "- jinja2 3.1.3 -> 3.1.5 clears GHSA-h75v-3vvj-5mfj, GHSA-q2x7-8rv6-6q7h\n" in render(c, "markdown")
    assert "<li>jinja2 3.1.3 -&gt; 3.1.5 clears" in render(c, "html")
    assert json.loads(render(c, "json"))["dependencies"]["upgrades"][1] == {
        "ecosystem": "pypi", "package": "jinja2", "version": "3.1.3", "to": "3.1.5",
        "clears": ["GHSA-h75v-3vvj-5mfj", "GHSA-q2x7-8rv6-6q7h"], "unfixed": []}
