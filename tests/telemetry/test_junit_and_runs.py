"""`rq-obs import junit` and `rq-obs runs` through the real CLI entry point."""

import json

import pytest

from rq_obs.catalog import M
from rq_obs.store import Store, read_totals
from rq_obs.telemetry.junit import parse_junit
from tests.helpers.cli import run_cli

SUREFIRE = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.example.CalcTest" tests="4" failures="1" errors="0" skipped="1" time="3.5"
           timestamp="2026-11-20T10:00:00" hostname="ci-7">
  <testcase classname="com.example.CalcTest" name="adds" time="0.5"/>
  <testcase classname="com.example.CalcTest" name="flaky" time="1.0">
    <flakyFailure message="boom" type="java.lang.AssertionError" time="0.75"><stackTrace>...</stackTrace></flakyFailure>
    <flakyError message="npe" type="java.lang.NullPointerException"/>
  </testcase>
  <testcase classname="com.example.CalcTest" name="broken" time="0.25">
    <failure message="nope" type="java.lang.AssertionError">trace</failure>
    <rerunFailure message="nope again" type="java.lang.AssertionError" time="0.3"/>
  </testcase>
  <testcase classname="com.example.CalcTest" name="later" time="0"><skipped/></testcase>
</testsuite>
"""


def test_surefire_reruns_count_as_attempts(tmp_path):
    f = tmp_path / "TEST-CalcTest.xml"
    f.write_text(SUREFIRE)
    run = parse_junit(f).run
    assert run.suite == "com.example.CalcTest" and run.source == "junit" and run.host == "ci-7"
    assert run.started_at == 1795168800.0  # 2026-11-20T10:00:00Z (no offset in the file: UTC)
    assert [(a.test.split("::")[1], a.attempt, a.outcome, a.duration) for a in run.attempts] == [
        ("adds", 1, "passed", 0.5),
        ("flaky", 1, "failed", 0.75), ("flaky", 2, "error", 1.0), ("flaky", 3, "passed", 1.0),
        ("broken", 1, "failed", 0.25), ("broken", 2, "failed", 0.3),
        ("later", 1, "skipped", 0.0),
    ]
    assert run.attempts[1].started_at == run.started_at + 0.5
    assert run.run_id == parse_junit(f).run.run_id and run.run_id.startswith("junit-")


def test_import_a_real_pytest_junit_file_then_list_runs(pytester, plain_env, tmp_path, monkeypatch):
    pytester.makepyfile(test_j="""
import pytest
def test_ok(): pass
def test_bad(): assert 0
@pytest.mark.xfail
def test_xf(): assert 0
@pytest.mark.skip
def test_sk(): pass
@pytest.mark.parametrize("n", [1, 2])
def test_p(n): pass
""")
    xml = tmp_path / "junit.xml"
    pytester.runpytest("-p", "no:cacheprovider", f"--junitxml={xml}").assert_outcomes(
        passed=3, failed=1, xfailed=1, skipped=1)
    store = tmp_path / "imp.db"
    monkeypatch.chdir(tmp_path)
    res = run_cli("import", "junit", str(xml), "--store", str(store), "--suite", "legacy", "--commit", "abc123",
                  "--branch", "main")
    assert res.code == 0, res.err
    assert res.out == (f"{xml}: run 1 of suite 'legacy': 6 attempts (1 failed, 3 passed, 1 skipped, 1 xfailed)\n")
    again = run_cli("import", "junit", str(xml), "--store", str(store), "--suite", "legacy")
    assert again.code == 0 and again.out == f"{xml}: already imported as run 1 of suite 'legacy'; nothing changed\n"
    s = Store(store)
    assert s.query("SELECT COUNT(*) FROM runs")[0][0] == 1
    assert sum(v for _, _, v in read_totals(s, M.TEST_ATTEMPTS.total)) == 6
    tests = {r[0]: r[1] for r in s.query("SELECT test, outcome FROM attempts")}
    assert tests == {"test_j::test_ok": "passed", "test_j::test_bad": "failed", "test_j::test_xf": "xfailed",
                     "test_j::test_sk": "skipped", "test_j::test_p[1]": "passed", "test_j::test_p[2]": "passed"}

    listed = run_cli("runs", "--store", str(store), "--format", "json")
    assert listed.code == 0
    (doc,) = json.loads(listed.out)
    assert doc["suite"] == "legacy" and doc["commit"] == "abc123" and doc["branch"] == "main"
    assert doc["status"] == "complete" and doc["sequence"] == 1
    assert doc["finished"] >= doc["started"] and doc["finished"].endswith("Z")  # ISO, like started
    assert doc["counts"] == {"passed": 3, "failed": 1, "error": 0, "skipped": 1, "xfailed": 1, "xpassed": 0}
    assert doc["pass_rate"] == pytest.approx(0.75)
    # an imported run has no pytest summary line or exit code: its counts are its attempts'
    assert doc["attempt_counts"] == doc["counts"] and doc["exit_code"] is None

    text = run_cli("runs", "--store", str(store)).out.splitlines()
    assert text[0].split() == ["run_id", "suite", "seq", "started", "(UTC)", "status", "exit", "commit", "passed",
                               "failed", "error", "skipped", "xfailed", "xpassed", "rerun", "pass", "rate"]
    cells = text[1].split()
    assert cells[0] == doc["run_id"] and cells[1:3] == ["legacy", "1"] and cells[4:] == [
        "complete", "-", "abc123", "3", "1", "0", "1", "1", "0", "0", "75.0%"]


def test_runs_newest_first_and_limit(tmp_path):
    store = tmp_path / "r.db"
    for i, name in enumerate(("a", "b", "c")):
        f = tmp_path / f"{name}.xml"
        f.write_text(f'<testsuite name="s" timestamp="2026-11-2{i}T00:00:00Z">'
                     f'<testcase classname="c" name="t{name}" time="1"/></testsuite>')
        assert run_cli("import", "junit", str(f), "--store", str(store), "--commit", "", "--branch", "").code == 0
    doc = json.loads(run_cli("runs", "--store", str(store), "--limit", "2", "--format", "json").out)
    assert [(r["sequence"], r["started"]) for r in doc] == [(3, "2026-11-22T00:00:00Z"), (2, "2026-11-21T00:00:00Z")]


def test_bad_xml_is_refused_naming_the_file_and_nothing_is_stored(tmp_path):
    good = tmp_path / "good.xml"
    good.write_text('<testsuite name="s"><testcase name="t" time="1"/></testsuite>')
    bad = tmp_path / "bad.xml"
    bad.write_text("<testsuite><testcase name='t'></testsuite")
    store = tmp_path / "s.db"
    res = run_cli("import", "junit", str(good), str(bad), "--store", str(store))
    assert res.code == 2
    assert res.err.startswith(f"rq-obs: error: {bad}: not well-formed XML (")
    assert not store.exists()

    other = tmp_path / "other.xml"
    other.write_text("<html><body/></html>")
    res = run_cli("import", "junit", str(other), "--store", str(store))
    assert res.code == 2 and res.err == (
        f"rq-obs: error: {other}: root element is <html>; expected <testsuites> or <testsuite> (JUnit XML)\n")

    bad_time = tmp_path / "time.xml"
    bad_time.write_text('<testsuites><testsuite name="s"><testcase name="t" time="soon"/></testsuite></testsuites>')
    res = run_cli("import", "junit", str(bad_time), "--store", str(store))
    assert res.code == 2 and res.err == (
        f"rq-obs: error: {bad_time}: testsuite 's', testcase #1: attribute 'time' is 'soon'; expected a number of "
        "seconds\n")

    no_name = tmp_path / "noname.xml"
    no_name.write_text('<testsuite name="s"><testcase time="1"/></testsuite>')
    res = run_cli("import", "junit", str(no_name), "--store", str(store))
    assert res.code == 2 and "testcase #1: attribute 'name' is missing" in res.err
    assert not store.exists()


def test_runs_on_a_missing_store_is_a_clear_error(tmp_path):
    res = run_cli("runs", "--store", str(tmp_path / "none.db"))
    assert res.code == 2 and res.err == (f"rq-obs: error: {tmp_path / 'none.db'}: store not found "
                                         "(run the tests with --rq-obs first, or pass --store)\n")


def test_pytest_junit_with_reruns_imports_like_the_plugin_records(pytester, plain_env, tmp_path, monkeypatch):
    # pytest-rerunfailures makes pytest's --junitxml write one <testcase> per attempt, the rerun ones empty: they are
    # failed attempts, not passes; and the class names become node ids, so imported and recorded tests line up
    pytester.makepyfile(test_r="""
_n = []
def test_flaky():
    _n.append(1)
    assert len(_n) > 1
def test_bad(): assert 0
class TestK:
    def test_ok(self): pass
""")
    xml, recorded = tmp_path / "junit.xml", tmp_path / "rec.db"
    result = pytester.runpytest("-p", "no:cacheprovider", "--reruns", "1", f"--junitxml={xml}", "--rq-obs",
                                f"--rq-obs-store={recorded}")
    assert result.parseoutcomes() == {"passed": 2, "failed": 1, "rerun": 2}
    imported = tmp_path / "imp.db"
    res = run_cli("--project", pytester.path, "import", "junit", str(xml), "--store", str(imported), "--format", "json")
    assert res.code == 0, res.err
    rows = "SELECT test, attempt, outcome FROM attempts ORDER BY test, attempt"
    assert Store(imported).query(rows) == Store(recorded).query(rows)
    assert [tuple(r) for r in Store(imported).query(rows)] == [
        ("test_r.py::TestK::test_ok", 1, "passed"), ("test_r.py::test_bad", 1, "failed"),
        ("test_r.py::test_bad", 2, "failed"), ("test_r.py::test_flaky", 1, "failed"),
        ("test_r.py::test_flaky", 2, "passed")]
    (doc,) = json.loads(run_cli("runs", "--store", str(imported), "--format", "json").out)
    assert {k: v for k, v in doc["counts"].items() if v} == result.parseoutcomes()  # pytest's own summary line
    # and the flaky analysis reads them alike: test_bad is not "flaky at 50 %"
    flaky = {t["test"]: t["state"] for t in json.loads(run_cli("flaky", "--store", str(imported), "--format", "json",
                                                                 "--all").out)["tests"]}
    assert flaky["test_r.py::test_flaky"] == "flaky" and flaky["test_r.py::test_bad"] != "flaky"
