"""`rq-obs gate` and `rq-obs compare` apply one set of thresholds (config < .quality-gates.yaml < flags) to the
same inputs, so compare blocks exactly when gate fails; unmeasured inputs are skipped unless --strict."""

import json
from dataclasses import replace

import pytest

from rq_obs.compare import quality_of
from rq_obs.config import Config
from rq_obs.snapshot.benchmarks import from_samples
from rq_obs.snapshot.store import save_snapshot
from rq_obs.store import Store
from tests.helpers.cli import run_cli
from tests.release.factory import make, vuln

BASE = (0.0100, 0.0101, 0.0099, 0.0100, 0.0102, 0.0098)
KIB = 1024.0


def _store(path, base, head):
    """Save base and head the way `rq-obs snapshot` does: each with its score against its baseline."""
    store = Store(path)
    save_snapshot(store, replace(base, score=quality_of(base, None, Config()).to_dict()))
    save_snapshot(store, replace(head, score=quality_of(head, base, Config()).to_dict(), baseline=base.release))
    return path


def _project(tmp_path, gates_yaml: str | None, name="proj"):
    proj = tmp_path / name
    proj.mkdir()
    if gates_yaml is not None:
        (proj / ".quality-gates.yaml").write_text(gates_yaml)
    return proj


def _gate_and_compare(proj, db):
    g = run_cli("--project", proj, "gate", "--store", db, "--format", "json")
    c = run_cli("--project", proj, "compare", "v1", "v2", "--store", db, "--format", "json")
    return g, json.loads(g.out), c, json.loads(c.out)


# --- 1. one resolution of thresholds -------------------------------------------------------------

def test_gates_file_lowering_min_score_unblocks_both_gate_and_compare(tmp_path):
    # score of v2: code 60, coverage 70, deps 100, docs 70, performance 100 (no regression)
    # = (25*60 + 20*70 + 20*100 + 15*70 + 20*100) / 100 = 79.5, below the default 80
    base = make("v1", 1.0, benchmarks=[from_samples("op", BASE, "runner")], vulns=[], coverage=0.7, code_quality=60,
                documentation=70)
    head = make("v2", 2.0, benchmarks=[from_samples("op", BASE, "runner")], vulns=[], coverage=0.7, code_quality=60,
                documentation=70)
    db = _store(tmp_path / "s.db", base, head)

    g, gj, c, cj = _gate_and_compare(_project(tmp_path, None, "plain"), db)
    assert (g.code, c.code) == (1, 1)
    assert [(x["name"], x["actual"], x["result"]) for x in gj["gates"]][0] == ("min_score", 79.5, "fail")
    assert cj["recommendation"] == "block" and cj["reasons"] == ["quality score 79.5 below min_score 80 (config)"]
    assert "recommendation for v2 vs v1 is block: quality score 79.5 below min_score 80 (config)" in c.err

    proj = _project(tmp_path, "min_score: 75\n")
    g, gj, c, cj = _gate_and_compare(proj, db)
    assert (g.code, c.code) == (0, 0)
    assert [(x["name"], x["threshold"], x["result"], x["source"]) for x in gj["gates"]][0] == (
        "min_score", 75.0, "pass", ".quality-gates.yaml")
    assert (cj["recommendation"], cj["reasons"]) == ("approve", [])
    assert cj["gates"] == gj["gates"]
    text = run_cli("--project", proj, "gate", "--store", db)
    assert text.code == 0 and text.out.splitlines()[-1] == \
        "PASS (1 of 5 gates skipped: input not measured; --strict fails them)"  # no test runs: max_failing_tests
    # a bad gates file stops compare too, naming the key
    (proj / ".quality-gates.yaml").write_text("min_scor: 75\n")
    r = run_cli("--project", proj, "compare", "v1", "v2", "--store", db)
    assert r.code == 2 and ".quality-gates.yaml: unknown key 'min_scor'" in r.err


def _rich_pair():
    """v2 vs v1: op.a 12 % slower (major timing regression), op.b peak memory +30 % (major memory regression),
    one medium vulnerability, coverage 75 %."""
    base = make("v1", 1.0, vulns=[], coverage=0.75, code_quality=90, documentation=80, benchmarks=[
        from_samples("op.a", BASE, "runner", peak_memory_bytes=50 * KIB),
        from_samples("op.b", BASE, "runner", peak_memory_bytes=100 * KIB)])
    head = make("v2", 2.0, vulns=[vuln("PYSEC-1", "six", "1.16.0", "medium")], coverage=0.75, code_quality=90,
                documentation=80, benchmarks=[
                    from_samples("op.a", [x * 1.12 for x in BASE], "runner", peak_memory_bytes=50 * KIB),
                    from_samples("op.b", BASE, "runner", peak_memory_bytes=130 * KIB)])
    return base, head


# score of v2: code 90, coverage 75, deps 100-8 = 92, docs 80, performance 100-25 = 75 (the memory regression
# counts for the gates, not the score) = (2250 + 1500 + 1840 + 1200 + 1500) / 100 = 82.9
@pytest.mark.parametrize("gates_yaml,failing", [
    ("", ["max_regressions", "max_vulnerabilities"]),
    ("max_regressions: 2\nmax_vulnerabilities: 1\n", []),
    ("max_regressions: 1\nmax_vulnerabilities: 1\n", ["max_regressions"]),  # memory counts as a regression
    ("max_regressions: 2\nmax_vulnerabilities: 1\nmin_score: 85\n", ["min_score"]),
    ("max_regressions: 2\nmax_vulnerabilities: 1\nmin_coverage: 0.8\n", ["min_coverage"]),
    ("max_regressions: 0\nmax_vulnerabilities: 0\nmin_score: 90\nmin_coverage: 0.7\n",
     ["min_score", "max_regressions", "max_vulnerabilities"]),
])
def test_gate_and_compare_agree_across_threshold_settings(tmp_path, gates_yaml, failing):
    db = _store(tmp_path / "s.db", *_rich_pair())
    g, gj, c, cj = _gate_and_compare(_project(tmp_path, gates_yaml), db)
    assert [x["name"] for x in gj["gates"] if x["result"] == "fail"] == failing
    assert cj["gates"] == gj["gates"]  # same thresholds, sources, inputs and verdicts
    assert g.code == c.code == (1 if failing else 0)
    assert (cj["recommendation"] == "block") == bool(failing)
    actual = {x["name"]: x["actual"] for x in gj["gates"]}
    assert (actual["min_score"], actual["max_regressions"], actual["max_vulnerabilities"]) == (82.9, 2, 1)
    if gates_yaml.startswith("max_regressions: 1"):
        assert cj["reasons"][0] == ("2 performance regressions, more than max_regressions 1 (.quality-gates.yaml): "
                                    "timing 1 major; memory 1 major")


def test_compare_flag_free_library_call_uses_the_config_alone():
    from rq_obs.compare import compare

    base, head = _rich_pair()
    c = compare(base, head, Config(max_regressions=2, max_vulnerabilities=1))
    assert (c.recommendation, c.gate_sources["max_regressions"]) == ("review", "config")
    assert c.reasons == ("1 new vulnerabilities: PYSEC-1 (six, medium)",)


# --- 2. an unmeasured input is skipped (failed with --strict) -------------------------------------

NOTHING = {
    "min_score": "no quality dimension measured: snapshot with --coverage, --vulns, --code-quality, --documentation "
                 "or --benchmarks (with a baseline)",
    "max_regressions": "no baseline sharing a benchmark: snapshot both releases with --benchmarks or --run-benchmarks",
    "max_vulnerabilities": "no vulnerability report: run pip-audit -f json (or OSV-Scanner) and snapshot with --vulns",
    "min_coverage": "disabled (min_coverage = 0)",
    "max_failing_tests": "no test runs at the release's commit or in the snapshot window: run the tests with pytest --rq-obs before the snapshot",
}


def test_nothing_measured_is_skipped_and_fails_only_with_strict(tmp_path):
    db = _store(tmp_path / "s.db", make("v1", 1.0), make("v2", 2.0))
    r = run_cli("gate", "--store", db, "--format", "json")
    doc = json.loads(r.out)
    assert r.code == 0 and doc["passed"] is True
    assert {x["name"]: (x["result"], x["actual"], x["detail"]) for x in doc["gates"]} == {
        k: ("skip", None, v) for k, v in NOTHING.items()}
    assert doc["not_measured"] == ["min_score", "max_regressions", "max_vulnerabilities", "max_failing_tests"]

    assert doc["nothing_measured"] is True

    r = run_cli("gate", "--store", db)
    lines = r.out.splitlines()
    # nothing measured is said first, not a bare PASS at the end
    assert r.code == 0 and lines[0] == "nothing was measured: 5 of 5 gates skipped"
    assert lines[1] == "Quality gates for v2 (baseline v1)"
    assert " ".join(lines[3].split()) == "min_score 80 — SKIP config; " + " ".join(NOTHING["min_score"].split())
    assert " ".join(lines[6].split()) == "min_coverage 0.0% — SKIP config; disabled (min_coverage = 0)"
    assert lines[-1] == "PASS, but nothing was measured: 5 of 5 gates skipped (--strict fails them)"

    r = run_cli("gate", "--store", db, "--strict", "--format", "json")
    assert r.code == 1 and "v2: gates failed: min_score, max_regressions, max_vulnerabilities, max_failing_tests" in r.err
    assert {x["name"]: x["result"] for x in json.loads(r.out)["gates"]} == {
        "min_score": "fail", "max_regressions": "fail", "max_vulnerabilities": "fail", "min_coverage": "skip",
        "max_failing_tests": "fail"}
    r = run_cli("gate", "--store", db, "--strict")
    assert r.code == 1 and r.out.splitlines()[0] == "nothing was measured: 4 of 5 gates failed (--strict)"
    assert r.out.splitlines()[-1] == "FAIL (4 of 5 gates)"

    # compare on the same snapshots does not block either: a review naming what to add
    r = run_cli("compare", "v1", "v2", "--store", db, "--format", "json")
    assert r.code == 0
    assert (json.loads(r.out)["recommendation"], json.loads(r.out)["reasons"]) == ("review", [NOTHING["min_score"]])


def test_missing_coverage_with_min_coverage_set_is_skipped_then_failed_with_strict(tmp_path):
    db = _store(tmp_path / "s.db", make("v1", 1.0, vulns=[], code_quality=90), make("v2", 2.0, vulns=[], code_quality=90))
    r = run_cli("gate", "--store", db, "--min-coverage", "0.8", "--format", "json")
    gates = {x["name"]: x for x in json.loads(r.out)["gates"]}
    assert r.code == 0
    assert (gates["min_coverage"]["result"], gates["min_coverage"]["threshold"], gates["min_coverage"]["source"],
            gates["min_coverage"]["detail"]) == (
        "skip", 0.8, "flag", "no coverage measured: run pytest with --cov and snapshot with --coverage")
    assert (gates["min_score"]["result"], gates["min_score"]["actual"]) == ("pass", 94.44)  # (25*90 + 20*100) / 45
    r = run_cli("gate", "--store", db, "--min-coverage", "0.8")
    assert r.out.splitlines()[-1] == "PASS (3 of 5 gates skipped: input not measured; --strict fails them)"
    r = run_cli("gate", "--store", db, "--min-coverage", "0.8", "--strict")
    assert r.code == 1 and "gates failed: max_regressions, min_coverage, max_failing_tests" in r.err
    # coverage measured: the gate compares it
    db2 = _store(tmp_path / "t.db", make("v1", 1.0, coverage=0.5), make("v2", 2.0, coverage=0.79))
    r = run_cli("gate", "--store", db2, "--min-coverage", "0.8")
    line = [x for x in r.out.splitlines() if x.startswith("min_coverage")][0]
    assert r.code == 1 and " ".join(line.split()) == "min_coverage 80.0% 79.0% FAIL flag"


def test_partial_dimensions_score_is_reweighted_and_gated(tmp_path):
    # coverage 90 and code quality 70 only: (20*90 + 25*70) / 45 = 78.888...
    db = _store(tmp_path / "s.db", make("v1", 1.0), make("v2", 2.0, coverage=0.9, code_quality=70))
    r = run_cli("gate", "--store", db, "--format", "json")
    g = {x["name"]: x for x in json.loads(r.out)["gates"]}["min_score"]
    assert r.code == 1 and (g["actual"], g["result"]) == (78.89, "fail")
    assert g["detail"] == "from 2 of 5 dimensions, re-weighted (missing: dependencies, documentation, performance)"
    r = run_cli("gate", "--store", db, "--min-score", "78.5")
    assert r.code == 0
    assert r.out.splitlines()[-1] == "PASS (3 of 5 gates skipped: input not measured; --strict fails them)"
    c = run_cli("compare", "v1", "v2", "--store", db, "--format", "json")
    assert c.code == 1 and json.loads(c.out)["reasons"][0] == "quality score 78.9 below min_score 80 (config)"
