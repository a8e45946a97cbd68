import json
import time
from importlib import metadata
from pathlib import Path

from rq_obs.config import Config
from rq_obs.snapshot.environment import detect_container, select_env
from rq_obs.snapshot.store import list_snapshots, load_snapshot, summarise_tests
from rq_obs.store import Attempt, Run, Store, save_run
from tests.helpers.cli import run_cli

DATA = Path(__file__).resolve().parent.parent / "data" / "release"
CLICK = metadata.version("click")


def _project(tmp_path: Path) -> Path:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "1.0"\ndependencies = ["click>=8", "PyYAML"]\n\n'
        '[tool.rq-obs]\nsnapshot_env = ["MY_*", "CI"]\nfeature_flags = { new_parser = true }\n')
    (proj / "requirements.txt").write_text(f"click=={CLICK} --hash=sha256:{'ab' * 32}\n")
    return proj


def _store_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def test_snapshot_records_deps_env_inputs_and_never_secrets(tmp_path):
    proj = _project(tmp_path)
    db = tmp_path / "s.db"
    env = {"MY_API_TOKEN": "supersecret", "MY_DB_URL": "postgres://app:hunter2@db:5432/x", "MY_REGION": "eu-1",
           "CI": "true", "OTHER_PASSWORD": "pw-value-42", "RQ_OBS_REMOTE_WRITE_URL": "https://u:topsecretpw@mimir/api/v1/push"}
    r = run_cli("--project", proj, "snapshot", "--release", "v1.0.0", "--store", db, "--commit", "a" * 40,
                "--benchmarks", DATA / "pytest-benchmark.json", "--coverage", DATA / "coverage.json",
                "--vulns", DATA / "pip-audit.json", "--code-quality", "90", "--documentation", "78", "--format", "json", env=env)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    for secret in ("supersecret", "hunter2", "pw-value-42", "topsecretpw"):
        assert secret not in r.out and secret not in r.err
        assert secret.encode() not in _store_bytes(db)
    e = doc["environment"]
    assert e["env"] == {"CI": "true", "MY_API_TOKEN": "<present>", "MY_DB_URL": "postgres://***@db:5432/x", "MY_REGION": "eu-1"}
    assert {"MY_API_TOKEN", "OTHER_PASSWORD"} <= set(e["secrets_present"])
    assert e["feature_flags"] == {"new_parser": True}
    assert "token" not in e["config"] and e["config"]["slo_pass_rate"] == 0.85
    assert e["config"]["remote_write_url"] == "https://***@mimir/api/v1/push"
    deps = {d["name"]: d for d in doc["dependencies"]}
    assert deps["click"]["kind"] == "direct" and deps["click"]["hashes"] == ["sha256:" + "ab" * 32]
    assert deps["click"]["source"] == "requirements.txt" and deps["click"]["version"] == CLICK
    assert deps["pyyaml"]["kind"] == "direct" and deps["jinja2"]["kind"] == "transitive"
    assert deps["click"]["license"] == "BSD-3-Clause"
    assert [b["name"] for b in doc["benchmarks"]] == ["tests/test_perf.py::test_parse", "tests/test_perf.py::test_render"]
    parse = doc["benchmarks"][0]
    assert parse["p50"] == 0.011 and parse["samples"] == [0.010, 0.011, 0.012, 0.010, 0.013]
    assert doc["benchmarks"][1]["p95"] is None and doc["benchmarks"][1]["mean"] == 0.002
    assert doc["quality"]["coverage"] == 0.87 and doc["quality"]["vulnerability_scan"] == "pip-audit"
    assert len(doc["vulnerabilities"]) == 2
    score = doc["score"]
    # code 90, coverage 87, deps 100 - 2*8 (two 'unknown' pip-audit findings) = 84, docs 78; performance missing
    assert score["dimensions"] == {"code_quality": 90.0, "test_coverage": 87.0, "dependencies": 84.0, "documentation": 78.0,
                                   "performance": None}
    assert score["missing"] == ["performance"]
    assert abs(score["total"] - (25 * 90 + 20 * 87 + 20 * 84 + 15 * 78) / 80) < 1e-9
    assert doc["commit"] == "a" * 40 and doc["tests"]["scope"] == "none"
    # a store with no test runs is said, naming the store and --store (the snapshot is still taken)
    assert (f"rq-obs: warning: the store {db} has no test runs, so the snapshot has no pass rate: point --store at "
            f"the store your test runs were recorded in") in r.err


def test_resnapshot_replaces_with_warning(tmp_path):
    proj = _project(tmp_path)
    db = tmp_path / "s.db"
    assert run_cli("--project", proj, "snapshot", "--release", "v1", "--store", db, "--commit", "").code == 0
    r = run_cli("--project", proj, "snapshot", "--release", "v1", "--store", db, "--commit", "", "--coverage", DATA / "coverage.xml")
    assert r.code == 0, r.err
    assert "rq-obs: warning: release 'v1' already had a snapshot" in r.err and "it was replaced" in r.err
    store = Store(db)
    assert [s["release"] for s in list_snapshots(store)] == ["v1"]
    assert load_snapshot(store, "v1").quality.coverage == 0.83


def test_snapshot_bad_inputs_name_the_file_and_store_nothing(tmp_path):
    proj = _project(tmp_path)
    db = tmp_path / "s.db"
    bad = tmp_path / "cov.json"
    bad.write_text('{"meta": {}}')
    r = run_cli("--project", proj, "snapshot", "--release", "v1", "--store", db, "--coverage", bad)
    assert r.code == 2 and f"{bad}: expected coverage.py JSON" in r.err
    assert not db.exists()  # the store this failed snapshot would have made is not left behind, empty
    r = run_cli("--project", proj, "snapshot", "--release", "v1", "--store", db, "--code-quality", "120")
    assert r.code == 2 and "--code-quality is 120.0; expected a score between 0 and 100" in r.err
    r = run_cli("--project", proj, "snapshot", "--release", "bad release!", "--store", db)
    assert r.code == 2 and "release 'bad release!'" in r.err
    assert list_snapshots(Store(db)) == []
    r = run_cli("--project", proj, "snapshot", "--release", "v1", "--store", db, "--coverage", bad)
    assert r.code == 2 and db.exists()  # a store that existed stays


def test_pass_rate_from_runs_at_the_commit_else_window(tmp_path):
    store = Store(tmp_path / "s.db")
    now = time.time()

    def run(rid, commit, outcomes, t):
        atts = tuple(Attempt(test, out, 0.1, started_at=t) for test, out in outcomes)
        save_run(store, Run(rid, "suite", t, t + 1, commit=commit, attempts=atts))

    run("r1", "abc123def456", [("t::a", "passed"), ("t::b", "failed"), ("t::c", "skipped")], now - 100)
    run("r2", "abc123def456", [("t::a", "passed"), ("t::b", "passed"), ("t::d", "error")], now - 50)
    run("r3", "fff000", [("t::a", "failed")], now - 10)
    s = summarise_tests(store, "abc123def456" + "0" * 28, 7 * 86400, now)  # full sha vs short stored
    assert (s.passed, s.failed, s.errors, s.skipped, s.runs, s.scope) == (3, 1, 1, 1, 2, "commit abc123def456")
    assert s.pass_rate == 3 / 5
    assert s.tests["t::b"] == {"failed": 1, "passed": 1}
    w = summarise_tests(store, "0" * 40, 7 * 86400, now)
    assert (w.passed, w.failed, w.errors, w.runs, w.scope) == (3, 2, 1, 3, "last 7d")
    assert summarise_tests(store, "", 5, now).scope == "none"


def test_container_detection(tmp_path):
    assert detect_container(tmp_path, env={}) == "none"
    (tmp_path / "proc/1").mkdir(parents=True)
    (tmp_path / "proc/1/cgroup").write_text("0::/kubepods/besteffort/pod1\n")
    assert detect_container(tmp_path, env={}) == "kubernetes"
    (tmp_path / ".dockerenv").write_text("")
    assert detect_container(tmp_path, env={}) == "docker"
    assert detect_container(tmp_path, env={"KUBERNETES_SERVICE_HOST": "10.0.0.1"}) == "kubernetes"


def test_select_env_globs_and_secret_names():
    sel, secrets = select_env({"CI": "1", "GITHUB_TOKEN": "t0k", "AWS_SECRET_ACCESS_KEY": "x", "HOME": "/root"},
                              list(Config().snapshot_env))
    assert sel == {"CI": "1", "GITHUB_TOKEN": "<present>"}
    assert secrets == ["AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN"]


def test_second_snapshot_scores_performance_against_the_previous_one(tmp_path):
    proj = _project(tmp_path)
    db = tmp_path / "s.db"
    bench = DATA / "pytest-benchmark.json"
    assert run_cli("--project", proj, "snapshot", "--release", "v1", "--store", db, "--commit", "", "--benchmarks", bench).code == 0
    r = run_cli("--project", proj, "snapshot", "--release", "v2", "--store", db, "--commit", "", "--benchmarks", bench,
                "--format", "json")
    doc = json.loads(r.out)
    assert doc["baseline"] == "v1"
    assert doc["score"]["dimensions"]["performance"] == 100.0 and doc["score"]["total"] == 100.0
    assert doc["score"]["notes"]["performance"] == "0 regressions in 2 operations"
