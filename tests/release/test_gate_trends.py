import json
import sys

import pytest

from rq_obs.analysis.trends import analyse, linear_fit
from rq_obs.snapshot.benchmarks import from_samples
from rq_obs.snapshot.store import save_snapshot
from rq_obs.store import Store
from tests.helpers.cli import run_cli
from tests.release.factory import make

BASE = (0.0100, 0.0101, 0.0099, 0.0100, 0.0102, 0.0098)


def _score(total):
    return {"total": total, "dimensions": {}, "missing": []}


@pytest.fixture
def db(tmp_path):
    store = Store(tmp_path / "s.db")
    save_snapshot(store, make("v1", 1.0, benchmarks=[from_samples("op", BASE, "runner")], score=_score(70.0), coverage=0.7))
    save_snapshot(store, make("v2", 2.0, benchmarks=[from_samples("op", [x * 1.12 for x in BASE], "runner")], vulns=[],
                              score=_score(85.0), coverage=0.9, baseline="v1"))
    return tmp_path / "s.db"


def test_gate_fails_on_regression_and_prints_a_table(db):
    r = run_cli("gate", "--store", db)
    assert r.code == 1
    lines = r.out.splitlines()
    assert lines[0] == "Quality gates for v2 (baseline v1)"
    assert lines[2].split() == ["min_score", "80", "85", "PASS", "config"]
    assert " ".join(lines[3].split()) == ("max_regressions 0 1 FAIL config; 1 timing of 1 operations, "
                                          "0 memory of 0 with peak memory")
    assert lines[4].split() == ["max_vulnerabilities", "0", "0", "PASS", "config"]
    assert lines[5].split()[:4] == ["min_coverage", "0.0%", "90.0%", "SKIP"]  # as snapshot shows coverage
    assert lines[6].split()[:4] == ["max_failing_tests", "0", "—", "SKIP"]  # no test runs in these snapshots
    assert lines[-1] == "FAIL (1 of 5 gates)" and "gates failed: max_regressions" in r.err


def test_gate_file_and_flags_override_config(db, tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / ".quality-gates.yaml").write_text("max_regressions: 1\nmin_coverage: 0.95\n")
    r = run_cli("--project", proj, "gate", "--store", db, "--format", "json")
    assert r.code == 1
    gates = {g["name"]: g for g in json.loads(r.out)["gates"]}
    assert (gates["max_regressions"]["result"], gates["max_regressions"]["source"]) == ("pass", ".quality-gates.yaml")
    assert (gates["min_coverage"]["result"], gates["min_coverage"]["actual"]) == ("fail", 0.9)
    r = run_cli("--project", proj, "gate", "--store", db, "--min-coverage", "0.9", "--min-score", "85")
    assert r.code == 0 and r.out.splitlines()[-1] == "PASS (1 of 5 gates skipped: input not measured; --strict fails them)"
    r = run_cli("gate", "--store", db, "--release", "v1", "--strict", "--format", "json")
    v1 = {g["name"]: g["result"] for g in json.loads(r.out)["gates"]}
    assert r.code == 1 and v1 == {"min_score": "fail", "max_regressions": "fail", "max_vulnerabilities": "fail",
                                  "min_coverage": "skip", "max_failing_tests": "fail"}


def test_gate_file_errors_name_the_key(db, tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / ".quality-gates.yaml").write_text("min_scor: 50\n")
    r = run_cli("--project", proj, "gate", "--store", db)
    assert r.code == 2 and ".quality-gates.yaml: unknown key 'min_scor'" in r.err
    (proj / ".quality-gates.yaml").write_text("min_coverage: 80\n")
    r = run_cli("--project", proj, "gate", "--store", db)
    assert r.code == 2 and "key 'min_coverage' is 80; expected 0 to 1" in r.err


def test_trend_slope_anomaly_forecast():
    assert linear_fit([70, 72, 74, 76]) == (2.0, 70.0)
    t = analyse("q", [("a", 70), ("b", 72), ("c", 74), ("d", 76)], periods=3)
    assert (t.slope, t.direction, t.anomalies, t.forecast) == (2.0, "improving", (), (78.0, 80.0, 82.0))
    t = analyse("q", [(str(i), v) for i, v in enumerate([80, 82, 84, 60, 88, 90])])
    assert t.anomalies == ("3",)
    assert analyse("deps", [("a", 10), ("b", 12)], higher_is_better=False).direction == "degrading"
    assert analyse("q", [("a", 80.0), ("b", 80.1)]).direction == "flat"


def _series(tmp_path):
    store = Store(tmp_path / "t.db")
    for i, s in enumerate([70.0, 72.0, 74.0, 76.0]):
        save_snapshot(store, make(f"v{i}", float(i), score=_score(s), coverage=0.5 + i / 10, commit=f"{i:040x}"))
    return tmp_path / "t.db"


def test_trends_command(tmp_path):
    db = _series(tmp_path)
    r = run_cli("releases", "trends", "--store", db, "--format", "json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert (d["slope"], d["direction"], d["forecast"]) == (2.0, "improving", [78.0, 80.0, 82.0])
    r = run_cli("releases", "trends", "--store", db, "--metric", "coverage")
    assert r.code == 0 and r.out.startswith("coverage over 4 releases: improving, slope +0.1 per release")
    assert run_cli("releases", "trends", "--store", db, "--metric", "nope").code == 2


def test_export_csv_json_and_parquet_message(tmp_path, monkeypatch):
    db = _series(tmp_path)
    r = run_cli("releases", "export", "--store", db)
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0].startswith("release,commit,created_at,baseline,quality_score,quality_code_quality,")
    assert lines[1].startswith("v0,0000000000000000000000000000000000000000,0.0,,70.0,,")
    assert lines[2].startswith("v1,0000000000000000000000000000000000000001,1.0,v0,72.0,,")
    assert len(lines) == 5
    r = run_cli("releases", "export", "--store", db, "--format", "json", "--output", tmp_path / "x.json")
    rows = json.loads((tmp_path / "x.json").read_text())
    assert [(x["release"], x["quality_score"], x["coverage"]) for x in rows] == [
        ("v0", 70.0, 0.5), ("v1", 72.0, 0.6), ("v2", 74.0, 0.7), ("v3", 76.0, 0.8)]
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if pyarrow were not installed
    r = run_cli("releases", "export", "--store", db, "--format", "parquet", "--output", tmp_path / "x.parquet")
    assert r.code == 2 and "Parquet export needs pyarrow, which is not installed: pip install pyarrow" in r.err
    assert not (tmp_path / "x.parquet").exists()
