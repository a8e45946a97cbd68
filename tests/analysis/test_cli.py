"""rq-obs flaky / impact / experiment: exact text and JSON output, exit codes."""

import hashlib
import json
import time

import numpy as np
import pytest
from scipy import stats as sp

from rq_obs.commands._analytics_format import when
from rq_obs.store import Store
from tests.analysis.history import HOUR, add_run
from tests.analysis.test_impact import SKILL, V1, V2, _commit, _git
from tests.helpers.cli import run_cli


@pytest.fixture
def history(tmp_path):
    now = time.time()
    s = Store(tmp_path / "store.db")
    for i in range(5):
        add_run(s, f"r{i}", now - (10 - i) * HOUR, [("t_same", "passed"), ("t_broken", "failed"), ("t_ok", "passed")],
                commit=f"c{i}", tracked=[(SKILL, "aaa" if i < 3 else "bbb")])
    add_run(s, "r2b", now - 5 * HOUR, [("t_same", "failed"), ("t_broken", "error"), ("t_ok", "passed")], commit="c2",
            tracked=[(SKILL, "bbb")])
    add_run(s, "e", now - HOUR, [(f"t{i}", "passed" if i < 8 else "failed", 1.0 + i % 3, 1, "control") for i in range(10)]
            + [(f"t{i}", "passed" if i < 9 else "failed", 1.0 + i % 2, 1, "new") for i in range(10)],
            suite="ab", experiment="exp")
    return now, tmp_path / "store.db"


def test_flaky_text_lists_flaky_and_broken_tests(history):
    now, store = history
    r = run_cli("flaky", "--store", store)
    assert r.code == 0, r.err
    first = when(now - 10 * HOUR)
    assert [" ".join(line.split()) for line in r.out.splitlines()] == [
        "13 tests passed or failed in the last 7d (tests only skipped or xfailed are not judged): 1 flaky, 1 broken, 11 healthy",
        # t9 failed in both arms of the experiment run: 2 attempts, too few to call broken, listed all the same
        "1 of the healthy never passed but have fewer than flaky_min_attempts (3) attempts: too few to call broken "
        "yet (listed below)",
        "state pass flips stability attempts last flake first seen suite test",
        f"broken 0.0% 0.0% 100.0 6 - {when(now - 10 * HOUR + 1)} suite t_broken",
        f"flaky 83.3% 16.7% 69.4 6 {when(now - 5 * HOUR)} {first} suite t_same",
        f"healthy 0.0% 0.0% 100.0 2 - {when(now - HOUR + 9)} ab t9",  # first seen: its control attempt
    ]


def test_flaky_json_has_exact_figures(history):
    now, store = history
    r = run_cli("flaky", "--store", store, "--format", "json", "--window", "500m")  # r2 (8 h ago) and later
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert (doc["window"], doc["summary"], doc["tests_seen"]) == ("500m", {"broken": 1, "flaky": 1, "healthy": 11}, 13)
    broken, same, t9 = doc["tests"]
    assert (t9["test"], t9["state"], t9["attempts"]) == ("t9", "healthy", 2)
    assert doc["never_passed_too_few_attempts"] == ["t9"]
    assert broken == {"suite": "suite", "test": "t_broken", "attempts": 4, "passed": 0, "failed": 4, "flips": 0,
                      "pass_rate": 0.0, "flip_rate": 0.0, "stability": 100.0, "state": "broken", "flaky_commits": 0,
                      "last_flake": None, "duration_p95": 1.0, "first_seen": now - 10 * HOUR + 1}
    # P (c2) P (c3) P (c4) F (c2 again): one flip, a flake on c2
    assert same == {"suite": "suite", "test": "t_same", "attempts": 4, "passed": 3, "failed": 1, "flips": 1,
                    "pass_rate": 0.75, "flip_rate": 0.25, "stability": 56.25, "state": "flaky", "flaky_commits": 1,
                    "last_flake": now - 5 * HOUR, "duration_p95": 1.0, "first_seen": now - 10 * HOUR}


def test_experiment_text_and_json(history):
    _, store = history
    r = run_cli("experiment", "exp", "--store", store)
    assert r.code == 0, r.err
    a = np.array([1.0 + i % 3 for i in range(10)])
    b = np.array([1.0 + i % 2 for i in range(10)])
    ref = sp.ttest_ind(b, a, equal_var=False)
    ci = ref.confidence_interval(0.95)
    se = np.sqrt(a.var(ddof=1) / 10 + b.var(ddof=1) / 10)
    zc = sp.norm.ppf(1 - 0.025 / 2)
    power = sp.norm.cdf(0.4 / se - zc) + sp.norm.cdf(-0.4 / se - zc)
    mde = (zc + sp.norm.ppf(0.8)) * se
    lines = r.out.splitlines()
    assert lines[:4] == [
        "experiment exp  (control: control; alpha 0.05, Bonferroni 0.025 over 2 comparisons)",
        "  samples: control 10 / new 10; SRM chi2 = 0.00, p = 1.0000  ok",
        "  new vs control: verdict inconclusive",
        # hand: pooled 0.85, se = sqrt(.85*.15*.2) = 0.15969, z = 0.6262, p = 0.5312; CI 0.1 ± 1.96 * sqrt(.025);
        # at alpha 0.025: power = Φ(0.6262 − 2.2414) + Φ(−0.6262 − 2.2414) = 0.0552, MDE = (2.2414 + 0.8416) se = 0.4923
        "    pass_rate  80.0% -> 90.0%  lift +0.1000 (+12.5%)  95% CI [-0.2099, +0.4099]  p = 0.5312  power 0.06"
        "  MDE 0.4923",
    ]
    assert lines[4] == (f"    duration   1.9000 -> 1.5000  lift -0.4000 (-21.1%)  95% CI [{ci.low:+.4f}, {ci.high:+.4f}]  "
                        f"p = {ref.pvalue:.4f}  power {power:.2f}  MDE {mde:.4f}")
    doc = json.loads(run_cli("experiment", "--store", store, "--format", "json").out)
    (e,) = doc["experiments"]
    assert (e["experiment"], e["control"], e["metrics"], e["adjusted_alpha"]) == ("exp", "control", ["pass_rate", "duration"], 0.025)
    cmp = e["variants"]["new"]["comparisons"]["duration"]
    assert cmp["p_value"] == pytest.approx(ref.pvalue, rel=1e-9) and cmp["df"] == pytest.approx(ref.df, rel=1e-9)
    assert cmp["ci95"] == pytest.approx([ci.low, ci.high], rel=1e-9)
    assert e["srm"]["observed"] == [10, 10] and e["srm"]["flagged"] is False


def test_experiment_unknown_name_and_missing_store_are_usage_errors(history, tmp_path):
    _, store = history
    r = run_cli("experiment", "nope", "--store", store)
    assert r.code == 2 and r.err.strip() == f"rq-obs: error: no experiment named 'nope' in {store}; known: exp"
    r = run_cli("flaky", "--store", tmp_path / "missing.db")
    assert r.code == 2 and "store not found" in r.err
    r = run_cli("flaky", "--store", store, "--window", "a week")
    assert r.code == 2 and "--window: 'a week' is not a duration" in r.err


def test_impact_text_json_and_unknown_file(history):
    now, store = history
    r = run_cli("impact", "--store", store)
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        f"{SKILL}  changed {when(now - 7 * HOUR)}  commit c3  by -  aaa -> bbb",
        # before r0-r2: 6/9; after r3, r4, r2b: 5/9 (t_same fails in r2b)
        "  pass rate before 66.7% (6/9)  after 55.6% (5/9)  delta -11.1 pp  95% CI [-55.9, +33.6] pp  p = 0.6287",
        "    t_same: 100.0% -> 66.7%  delta -33.3 pp  p = 0.2733",
    ]
    doc = json.loads(run_cli("impact", SKILL, "--store", store, "--format", "json").out)
    (c,) = doc["changes"]
    assert (c["before"], c["after"]) == ({"passed": 6, "counted": 9, "pass_rate": 6 / 9},
                                         {"passed": 5, "counted": 9, "pass_rate": 5 / 9})
    assert c["p_value"] == pytest.approx(0.6287452, abs=1e-7) and c["significant"] is False
    r = run_cli("impact", "prompts/none.md", "--store", store)
    assert r.code == 2 and f"no recorded change of 'prompts/none.md' in {store}; files with changes: {SKILL}" in r.err


def test_impact_poll_records_git_changes_then_reports_them(tmp_path):
    repo = tmp_path / "proj"
    repo.mkdir()
    _git(repo, "init", "-q")
    now = time.time()
    c1 = _commit(repo, {SKILL: V1}, now - 30 * HOUR, "add")
    c2 = _commit(repo, {SKILL: V2}, now - 10 * HOUR, "edit", author="Grace Hopper")
    store = tmp_path / "s.db"
    s = Store(store)
    for i in range(10):  # t_route passes before the edit and fails after it
        at = now - 20 * HOUR + i * 2 * HOUR
        add_run(s, f"r{i}", at, [("t_route", "passed" if at < now - 10 * HOUR else "failed"), ("t_x", "passed")])
    r = run_cli("--project", repo, "impact", "--poll", "--store", store)
    assert r.code == 0, r.err
    h1, h2 = hashlib.sha256(V1).hexdigest(), hashlib.sha256(V2).hexdigest()
    assert r.out.splitlines() == [
        "git poll: 2 new change events recorded",
        f"{SKILL}  changed {when(now - 10 * HOUR)}  commit {c2[:12]}  by Grace Hopper  +2 -1  {h1[:12]} -> {h2[:12]}",
        # before: 5 runs x 2 tests all passed (10/10); after: 5 runs, t_route failed (5/10): p = 0.0098
        "  pass rate before 100.0% (10/10)  after 50.0% (5/10)  delta -50.0 pp  95% CI [-81.0, -19.0] pp  "
        "p = 0.0098  significant",
        "    t_route: 100.0% -> 0.0%  delta -100.0 pp  p = 0.0016",
    ]
    r = run_cli("--project", repo, "impact", "--poll", "--all", "--store", store, "--format", "json")
    doc = json.loads(r.out)
    assert doc["polled"] == []
    assert [(c["commit"], c["lines_added"], c["lines_removed"]) for c in doc["changes"]] == [(c1, 2, 0), (c2, 2, 1)]


def test_flaky_lists_a_test_that_never_passed_in_too_few_attempts(tmp_path):
    # healthy by definition (fewer than flaky_min_attempts attempts), but a user must not miss that it never passed
    import time as _time

    from tests.analysis.history import add_run, store_at

    s = store_at(tmp_path)
    now = _time.time()
    add_run(s, "r1", now - 60, [("t_new_bad", "failed", 1.0, 1), ("t_new_bad", "failed", 1.0, 2), ("t_ok", "passed", 1.0)])
    r = run_cli("flaky", "--store", s.path)
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0].endswith("0 flaky, 0 broken, 2 healthy")
    assert lines[1] == ("1 of the healthy never passed but have fewer than flaky_min_attempts (3) attempts: "
                        "too few to call broken yet (listed below)")
    assert [(ln.split()[0], ln.split()[-1]) for ln in lines[3:]] == [("healthy", "t_new_bad")]
    doc = json.loads(run_cli("flaky", "--store", s.path, "--format", "json").out)
    assert doc["never_passed_too_few_attempts"] == ["t_new_bad"] and doc["summary"]["healthy"] == 2
