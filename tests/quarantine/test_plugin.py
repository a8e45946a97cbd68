"""The pytest plugin obeys the quarantine list: pytest's summary, exit code and JUnit agree; the store keeps the truth."""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET

import pytest

SUITE = """
import pytest

def test_ok():
    pass

def test_flaky():
    assert 1 == 2, "boom"

@pytest.fixture
def broken():
    raise RuntimeError("setup broke")

def test_setup_error(broken):
    pass
"""

ENTRIES = """quarantine:
  - nodeid: test_suite.py::test_flaky
    reason: races the cache (#12)
    owner: '@alice'
    expires: '{expires}'
  - nodeid: test_suite.py::test_setup_error
    reason: db fixture
    owner: '@bob'
    expires: '{expires}'
  - nodeid: test_suite.py::test_renamed
    reason: gone
    expires: '2099-01-01'
"""


def _stored(store):
    with sqlite3.connect(store) as conn:
        return sorted((t, o, json.loads(m)) for t, o, m in conn.execute("SELECT test, outcome, markers FROM attempts"))


@pytest.fixture
def suite(pytester):
    pytester.makepyfile(test_suite=SUITE)
    return pytester


def test_only_quarantined_failures_pass_and_are_stored(suite, tmp_path):
    suite.makefile(".yaml", **{"rq-obs-quarantine": ENTRIES.format(expires="2099-01-01")})
    store, xml = tmp_path / "s.db", tmp_path / "j.xml"
    result = suite.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store}", f"--junitxml={xml}")
    assert result.ret == 0
    assert result.parseoutcomes() == {"passed": 1, "quarantined": 2}
    result.stdout.fnmatch_lines([
        "*QUARANTINED test_suite.py::test_flaky: AssertionError: boom -- races the cache (#12) "
        "(entry test_suite.py::test_flaky, owner @alice, expires 2099-01-01)",
        "*QUARANTINED test_suite.py::test_setup_error (setup): RuntimeError: setup broke -- db fixture*owner @bob*",
        "*quarantine entry test_suite.py::test_renamed (*rq-obs-quarantine.yaml:10) matches no test*",
        "*= 1 passed, 2 quarantined in *"])
    assert result.stdout.str().count("test_renamed") == 1  # reported once
    # the store sees what really happened, flagged
    assert _stored(store) == [("test_suite.py::test_flaky", "failed", ["rq_obs_quarantined"]),
                              ("test_suite.py::test_ok", "passed", []),
                              ("test_suite.py::test_setup_error", "error", ["rq_obs_quarantined"])]
    # JUnit: skipped (non-blocking in CI tools) with the entry, the failure kept as a property
    root = ET.parse(xml).getroot()
    suite_el = root.find("testsuite")
    assert (suite_el.get("failures"), suite_el.get("errors"), suite_el.get("skipped")) == ("0", "0", "2")
    case = root.find(".//testcase[@name='test_flaky']")
    assert case.find("skipped").get("message") == "quarantined: races the cache (#12) (owner @alice, expires 2099-01-01)"
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["rq_obs.quarantined"].startswith("test_suite.py::test_flaky: races the cache")
    assert "AssertionError: boom" in props["rq_obs.quarantined.call"]


def test_after_expiry_the_suite_fails_naming_the_entries(suite, tmp_path):
    suite.makefile(".yaml", **{"rq-obs-quarantine": ENTRIES.format(expires="2020-01-31")})
    store = tmp_path / "s.db"
    result = suite.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store}")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=1, errors=1)
    result.stdout.fnmatch_lines_random([
        "*quarantine entry test_suite.py::test_flaky expired 2020-01-31 (owner @alice; races the cache (#12)): "
        "its failures fail the run again*",
        "*quarantine entry test_suite.py::test_setup_error expired 2020-01-31 (owner @bob; db fixture)*"])
    assert _stored(store) == [("test_suite.py::test_flaky", "failed", []), ("test_suite.py::test_ok", "passed", []),
                              ("test_suite.py::test_setup_error", "error", [])]


def test_malformed_file_warns_and_quarantines_nothing(suite):
    suite.makefile(".yaml", **{"rq-obs-quarantine": ENTRIES.format(expires="someday")})
    result = suite.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=1, errors=1)
    result.stdout.fnmatch_lines(["*rq-obs: warning: *rq-obs-quarantine.yaml:5: expires: 'someday' is not a date "
                                 "(YYYY-MM-DD) or an ISO date-time; no quarantine applied"])


def test_collection_error_absorbed_only_when_the_entry_covers_the_module(pytester):
    pytester.makepyfile(test_broken="import no_such_module\n\ndef test_a():\n    pass\n",
                        test_fine="def test_b():\n    pass\n")
    pytester.makefile(".yaml", **{"rq-obs-quarantine": "quarantine:\n  - nodeid: test_broken.py::test_a\n"
                                                       "    reason: r\n    expires: '2099-01-01'\n"})
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # one entry for one test does not hide a whole module
    result.stdout.fnmatch_lines(["*collection error in test_broken.py is not quarantined: the quarantined "
                                 "test_broken.py::test_a cannot run; quarantine test_broken.py itself to absorb it"])
    pytester.makefile(".yaml", **{"rq-obs-quarantine": "quarantine:\n  - nodeid: test_broken.py\n"
                                                       "    reason: vendored dep missing\n    expires: '2099-01-01'\n"})
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*QUARANTINED test_broken.py (collect): *No module named 'no_such_module'*"
                                 "vendored dep missing*", "*1 passed, 1 skipped*"])


def test_xdist_workers_apply_it_and_the_controller_reports_once(suite, tmp_path):
    suite.makefile(".yaml", **{"rq-obs-quarantine": ENTRIES.format(expires="2099-01-01")})
    store = tmp_path / "s.db"
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--rq-obs", f"--rq-obs-store={store}")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["*1 passed, 2 quarantined*"])
    assert result.stdout.str().count("matches no test") == 1
    assert [o for _, o, m in _stored(store) if m] == ["failed", "error"]


def test_no_quarantine_flag_turns_it_off(suite):
    suite.makefile(".yaml", **{"rq-obs-quarantine": ENTRIES.format(expires="2099-01-01")})
    result = suite.runpytest("-p", "no:cacheprovider", "--no-rq-obs-quarantine")
    result.assert_outcomes(passed=1, failed=1, errors=1)
