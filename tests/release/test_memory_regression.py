"""Peak-memory regressions: the threshold rule, its config setting, compare's reports and the gate count."""

import json

import pytest

from rq_obs.analysis.regression import MEMORY_FLOOR_BYTES, compare_memory
from rq_obs.compare import compare
from rq_obs.compare.perf import compare_performance, performance_diff
from rq_obs.compare.report import render
from rq_obs.config import Config
from rq_obs.snapshot.benchmarks import from_samples
from rq_obs.snapshot.store import save_snapshot
from rq_obs.store import Store
from tests.helpers.cli import run_cli
from tests.release.factory import make

KIB = 1024.0
BASE = (0.0100, 0.0101, 0.0099, 0.0100, 0.0102, 0.0098)


@pytest.mark.parametrize("base,head,change,status,sev", [
    (100 * KIB, 115 * KIB, 0.15, "regression", "minor"),  # 10 % < +15 % <= 20 %
    (100 * KIB, 130 * KIB, 0.30, "regression", "major"),  # 20 % < +30 % <= 40 %
    (100 * KIB, 150 * KIB, 0.50, "regression", "critical"),  # > 40 %
    (100 * KIB, 110 * KIB, 0.10, "unchanged", ""),  # exactly the threshold is not beyond it
    (100 * KIB, 120 * KIB, 0.20, "regression", "minor"),  # exactly 2x the threshold is still minor
    (100 * KIB, 80 * KIB, -0.20, "improvement", ""),
    (0.0, 900.0, 0.0, "unchanged", ""),  # both under the 1 KiB floor
    (0.0, 2048.0, 1.0, "regression", "critical"),  # 2 KiB vs the floor of 1 KiB
])
def test_memory_rule(base, head, change, status, sev):
    m = compare_memory("op", base, head, threshold=0.10)
    assert m.change == pytest.approx(change, abs=1e-12)
    assert (m.status, m.severity, m.base, m.head) == (status, sev, base, head)
    assert MEMORY_FLOOR_BYTES == 1024


def _pair(memory_head=130 * KIB):
    base = make("v1", 1.0, vulns=[], benchmarks=[
        from_samples("op.mem", BASE, "runner", peak_memory_bytes=100 * KIB),
        from_samples("op.flat", BASE, "runner", peak_memory_bytes=40 * KIB),
        from_samples("op.nomem", BASE, "pytest-benchmark")])
    head = make("v2", 2.0, vulns=[], benchmarks=[
        from_samples("op.mem", BASE, "runner", peak_memory_bytes=memory_head),
        from_samples("op.flat", BASE, "runner", peak_memory_bytes=41 * KIB),
        from_samples("op.nomem", BASE, "pytest-benchmark")])
    return base, head


def test_performance_diff_compares_memory_where_both_sides_have_it():
    base, head = _pair()
    perf = performance_diff(base, head, Config())
    assert perf.memory_threshold == 0.10
    assert [(m.operation, m.status, m.severity) for m in perf.memory] == [
        ("op.flat", "unchanged", ""), ("op.mem", "regression", "major")]  # op.nomem: no peak memory recorded
    assert (len(perf.regressions), len(perf.memory_regressions), perf.regression_count) == (0, 1, 1)
    assert perf.by_severity() == {"minor": 0, "major": 0, "critical": 0}  # timing only: the score's input
    assert perf.memory_by_severity() == {"minor": 0, "major": 1, "critical": 0}
    assert compare_performance(base, head, 0.05, 0.05).memory == ()  # no memory threshold: not compared
    assert performance_diff(base, head, Config(memory_regression_threshold=0.5)).memory_regressions == []


def test_compare_reports_memory_regressions_in_every_format():
    base, head = _pair()
    c = compare(base, head, Config())
    assert (c.recommendation, c.risk) == ("block", "high")
    assert c.reasons[0] == "1 performance regressions, more than max_regressions 0 (config): memory 1 major"
    rule = ("Memory regression: peak memory (one measurement per side, so no significance test) more than 10% higher; "
            "peaks under 1 KiB count as 1 KiB.")
    text = render(c, "text")
    assert f"Memory (1 regressions in 2 operations): {rule}" in text
    assert "  op.mem: 100 KiB -> 130 KiB +30.0 % regression (major)\n  op.flat: 40 KiB -> 41 KiB +2.5 % unchanged\n" in text
    md = render(c, "markdown")
    assert "### Memory — 1 regressions in 2 operations" in md and rule in md
    # bars are scaled to 4 x the 10 % threshold, not to the largest change: +30 % is 3/4 of a bar, +2.5 % a sliver
    assert "| `op.mem` | 100 KiB | 130 KiB | +30.0 % | `+███████▌` | 🔴 regression (major) |" in md
    assert "| `op.flat` | 40 KiB | 41 KiB | +2.5 % | `+▋` | unchanged |" in md
    html = render(c, "html")
    assert "<h2>Memory — 1 regressions in 2 operations</h2>" in html
    assert '<tr class="regression"><td>op.mem</td><td>100 KiB</td><td>130 KiB</td><td>+30.0 %</td><td>regression (major)</td></tr>' in html
    doc = json.loads(render(c, "json"))["performance"]
    assert doc["memory"]["threshold"] == 0.1 and doc["memory"]["floor_bytes"] == 1024
    assert doc["memory"]["regressions_by_severity"] == {"minor": 0, "major": 1, "critical": 0}
    assert doc["memory"]["operations"][1] == {"operation": "op.mem", "base": 102400.0, "head": 133120.0,
                                              "change": pytest.approx(0.3), "status": "regression", "severity": "major",
                                              "test": "one peak per side: threshold only (no noise estimate)",
                                              "ci": None, "samples_needed": None}
    assert doc["regression_count"] == 1


def test_memory_regression_fails_the_gate_and_the_setting_lifts_it(tmp_path):
    base, head = _pair()
    db = tmp_path / "s.db"
    store = Store(db)
    save_snapshot(store, base)
    save_snapshot(store, head)
    r = run_cli("gate", "--store", db, "--format", "json")
    g = {x["name"]: x for x in json.loads(r.out)["gates"]}["max_regressions"]
    assert r.code == 1 and (g["actual"], g["result"]) == (1, "fail")
    assert g["detail"] == "0 timing of 3 operations, 1 memory of 2 with peak memory"
    assert run_cli("compare", "v1", "v2", "--store", db).code == 1
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "rq-obs.yaml").write_text("memory_regression_threshold: 0.5\n")  # the config setting, in the project file
    r = run_cli("--project", proj, "gate", "--store", db, "--format", "json")
    g = {x["name"]: x for x in json.loads(r.out)["gates"]}["max_regressions"]
    assert r.code == 0 and (g["actual"], g["result"]) == (0, "pass")
    r = run_cli("--project", proj, "compare", "v1", "v2", "--store", db, "--format", "json")
    assert r.code == 0 and json.loads(r.out)["performance"]["memory"]["threshold"] == 0.5
    (proj / "rq-obs.yaml").write_text("memory_regression_threshold: 1.5\n")
    r = run_cli("--project", proj, "gate", "--store", db)
    assert r.code == 2 and "memory_regression_threshold" in r.err and "between 0 and 1" in r.err
