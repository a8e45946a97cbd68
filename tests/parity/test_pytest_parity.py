"""Every kind of session pytest can have: the stored run equals pytest's summary line, by test, and its JUnit XML.

Each case runs pytest once with ``--rq-obs -v --junitxml`` (see :func:`run_with_parity`): the run's
``summary`` counts equal the parsed summary line, its exit code is pytest's, the run is ``complete``,
each attempt's categories add up to that line and match pytest's verbose per-test result words
(collection errors: the short summary's ``ERROR <module>``), and the JUnit totals agree.
"""

from __future__ import annotations

import json

import pytest

from tests.parity.conftest import run_with_parity, summary_line

MIX = """
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("setup boom")

@pytest.fixture
def bad_teardown():
    yield
    raise RuntimeError("teardown boom")

def test_pass(): pass
def test_fail(): assert 1 == 2
@pytest.mark.skip(reason="no")
def test_skipped(): pass
def test_skip_inside(): pytest.skip("inside")
@pytest.mark.xfail(reason="known")
def test_xfail(): assert 0
@pytest.mark.xfail(reason="fixed?")
def test_xpass(): pass
@pytest.mark.xfail(strict=True, reason="must fail")
def test_xpass_strict(): pass
@pytest.mark.xfail(run=False, reason="not run")
def test_xfail_not_run(): pass
def test_xfail_imperative(): pytest.xfail("later")
@pytest.mark.parametrize("n", [1, 2])
def test_param(n): pass
def test_setup_error(broken): pass
def test_pass_then_teardown_error(bad_teardown): pass
def test_fail_then_teardown_error(bad_teardown): assert 0
def test_skip_then_teardown_error(bad_teardown): pytest.skip("s")
"""


def test_outcomes_setup_and_teardown_errors_xfail_strict_and_not(pytester, plain_env, store_file):
    pytester.makepyfile(test_mix=MIX)
    result, stored = run_with_parity(pytester, store_file)
    assert result.parseoutcomes() == {"passed": 4, "failed": 3, "errors": 4, "skipped": 3, "xfailed": 3,
                                      "xpassed": 1}
    by_test = {t: s for t, _, _, _, s, _ in stored.attempts}
    assert by_test["test_mix.py::test_pass_then_teardown_error"] == "passed error"
    assert by_test["test_mix.py::test_fail_then_teardown_error"] == "failed error"
    assert by_test["test_mix.py::test_skip_then_teardown_error"] == "skipped error"
    assert by_test["test_mix.py::test_xpass_strict"] == "failed"


def test_a_collection_error_is_an_error_record_with_its_text(pytester, plain_env, store_file):
    pytester.makepyfile(test_ok="def test_ok(): pass\n", test_broken="import nonexistent_module_rq\n")
    result, stored = run_with_parity(pytester, store_file)
    assert result.ret == 2 and stored.counts == {"error": 1}
    (test, outcome, _, _, summary, attrs), = stored.attempts
    assert (test, outcome, summary) == ("test_broken.py", "error", "error")
    assert "ModuleNotFoundError: No module named 'nonexistent_module_rq'" in json.loads(attrs)["error"]


def test_continue_on_collection_errors_counts_the_error_in_the_pass_rate(pytester, plain_env, store_file):
    from rq_obs.store import Store
    from rq_obs.store.runs import list_runs

    pytester.makepyfile(test_ok="def test_ok(): pass\n", test_broken="import nonexistent_module_rq\n")
    result, stored = run_with_parity(pytester, store_file, "--continue-on-collection-errors")
    assert result.ret == 1 and stored.counts == {"passed": 1, "error": 1}
    (run,) = list_runs(Store(store_file))
    assert run["pass_rate"] == 0.5 and run["exit_code"] == 1


def test_module_level_skip(pytester, plain_env, store_file):
    pytester.makepyfile(test_ok="def test_ok(): pass\n", test_skipmod="""
import pytest
pytest.skip("not on this platform", allow_module_level=True)
def test_never(): pass
""")
    result, stored = run_with_parity(pytester, store_file)
    assert stored.counts == {"passed": 1, "skipped": 1}
    assert ("test_skipmod.py", "skipped") in {(t, o) for t, o, *_ in stored.attempts}


@pytest.mark.parametrize("body, code", [
    ("pytest.exit('stop here', returncode=7)", 7),
    ("pytest.exit('stop here')", 2),
    ("raise KeyboardInterrupt", 2),
])
def test_exit_and_keyboard_interrupt_store_a_complete_run_with_pytests_exit_code(pytester, plain_env, store_file,
                                                                                 body, code):
    pytester.makepyfile(test_stop=f"""
import pytest
def test_a(): pass
def test_b(): assert 0
def test_stop(): {body}
def test_after(): pass
""")
    result, stored = run_with_parity(pytester, store_file, subprocess=True)
    assert result.ret == code and stored.counts == {"passed": 1, "failed": 1}


def test_an_internal_error_stores_exit_code_3(pytester, plain_env, store_file):
    pytester.makeconftest("""
def pytest_runtest_logfinish(nodeid, location):
    if nodeid.endswith("test_b"):
        raise RuntimeError("plugin bug")
""")
    pytester.makepyfile(test_i="def test_a(): pass\ndef test_b(): assert 0\ndef test_c(): pass\n")
    result, stored = run_with_parity(pytester, store_file, subprocess=True)
    assert result.ret == 3 and stored.counts == {"passed": 1, "failed": 1}


def test_unittest_testcases(pytester, plain_env, store_file):
    pytester.makepyfile(test_ut="""
import unittest

class T(unittest.TestCase):
    def test_pass(self): pass
    def test_fail(self): self.assertEqual(1, 2)
    @unittest.skip("no")
    def test_skip(self): pass
    @unittest.expectedFailure
    def test_expected_failure(self): self.assertEqual(1, 2)
    @unittest.expectedFailure
    def test_unexpected_success(self): pass

class Broken(unittest.TestCase):
    def setUp(self): raise RuntimeError("setUp boom")
    def test_x(self): pass

class BadCleanup(unittest.TestCase):
    @classmethod
    def tearDownClass(cls): raise RuntimeError("tearDownClass boom")
    def test_y(self): pass
""")
    result, stored = run_with_parity(pytester, store_file)
    assert stored.counts == summary_counts(result)


def summary_counts(result):
    return summary_line(result.outlines)


def test_doctests(pytester, plain_env, store_file):
    pytester.makepyfile(mod='''
def good():
    """
    >>> 1 + 1
    2
    """

def bad():
    """
    >>> 1 + 1
    3
    """
''')
    result, stored = run_with_parity(pytester, store_file, "--doctest-modules")
    assert stored.counts == {"passed": 1, "failed": 1}


def test_builtin_subtests(pytester, plain_env, store_file):
    pytester.makepyfile(test_sub="""
def test_sub(subtests):
    for i in range(3):
        with subtests.test(i=i):
            assert i != 1
def test_plain(): pass
""")
    result, stored = run_with_parity(pytester, store_file, by_test=False)
    assert stored.counts == summary_counts(result)
    assert stored.counts == {"passed": 1, "failed": 2, "subtests passed": 2}  # the failed subtest is a failure
    # and `rq-obs runs` shows that key of the summary line as a column of its own
    from tests.helpers.cli import run_cli

    header, row = run_cli("runs", "--store", str(store_file)).out.splitlines()[:2]
    cells = dict(zip(header.replace("started (UTC)", "started").replace("pass rate", "pass_rate")
                     .replace("subtests passed", "subtests_passed").split(), row.split()))
    assert (cells["passed"], cells["failed"], cells["subtests_passed"]) == ("1", "2", "2")


FLAKY = """
import pathlib

def _count(name):
    p = pathlib.Path(__file__).with_name(name)
    n = int(p.read_text()) if p.exists() else 0
    p.write_text(str(n + 1))
    return n

def test_flaky():
    assert _count("flaky.count") >= 1

def test_broken():
    assert 0

def test_fine():
    pass

def test_flaky_setup(request):
    if _count("setup.count") < 1:
        raise RuntimeError("setup flake")
"""


def test_reruns(pytester, plain_env, store_file):
    pytester.makepyfile(test_flaky=FLAKY)
    result, stored = run_with_parity(pytester, store_file, "--reruns", "1")
    assert stored.counts == {"passed": 3, "failed": 1, "rerun": 3}
    assert [(a[2], a[4]) for a in stored.attempts if a[0].endswith("::test_broken")] == [(1, "rerun"), (2, "failed")]


def test_xdist_two_workers(pytester, plain_env, store_file):
    pytester.makepyfile(test_mix=MIX)
    pytester.makepyfile(test_broken="import nonexistent_module_rq\n")
    result, stored = run_with_parity(pytester, store_file, "-n", "2", "--continue-on-collection-errors",
                                     subprocess=True)
    assert stored.counts == {"passed": 4, "failed": 3, "error": 5, "skipped": 3, "xfailed": 3, "xpassed": 1}
    assert {a[3] for a in stored.attempts if "::" in a[0]} == {"gw0", "gw1"}


def test_xdist_crashed_worker_is_restarted_and_counted(pytester, plain_env, store_file):
    pytester.makepyfile(test_w="""
import os
def test_before(): pass
def test_dies(): os._exit(3)
def test_after(): pass
""")
    result, stored = run_with_parity(pytester, store_file, "-n", "1", "--max-worker-restart=1", subprocess=True,
                                     crashed=1)
    assert stored.counts == {"passed": 2, "failed": 1}
    # the attempt's outcome is an error (as in JUnit); its summary category is pytest's: failed
    assert {a[0]: (a[1], a[4]) for a in stored.attempts}["test_w.py::test_dies"] == ("error", "failed")


def test_xdist_reruns(pytester, plain_env, store_file):
    pytester.makepyfile(test_flaky=FLAKY)
    result, stored = run_with_parity(pytester, store_file, "-n", "2", "--reruns", "1", subprocess=True)
    assert stored.counts == {"passed": 3, "failed": 1, "rerun": 3}


def test_without_the_terminal_reporter_the_counts_come_from_the_attempts(pytester, plain_env, store_file, tmp_path):
    pytester.makepyfile(test_mix=MIX)
    result, stored = run_with_parity(pytester, store_file)  # with the terminal: pytest's own line
    quiet_store = tmp_path / "quiet.db"
    quiet = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:terminal", "--rq-obs",
                               f"--rq-obs-store={quiet_store}")
    assert quiet.ret == result.ret
    from tests.parity.conftest import Stored

    assert Stored(quiet_store).counts == stored.counts
