"""The failure message of each failed attempt (pytest's crash line) and a suite's `response` attribute, as a
real pytest session records them: what `rq-obs serve`'s API and `rq-obs response-diff` read back."""

from __future__ import annotations

import json

import pytest

TOKEN = "ghp_" + "Zq8Lm3Xv7Rt2Nw5Kp9Bc4Hd6Jf1Gs0Ya2Ue"

SUITE = f'''
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("database is down")

@pytest.fixture
def bad_teardown():
    yield
    raise OSError("could not remove the temp dir")

def test_assert(rq_obs):
    rq_obs.attach(response="route: billing\\nreply: refunded")
    assert 1 + 1 == 3, "arithmetic is off"

def test_setup_error(broken):
    pass

def test_teardown_error(bad_teardown):
    pass

def test_secret():
    raise ValueError("401 for token {TOKEN}")

def test_own_message(rq_obs):
    rq_obs.attach(failure_message="the reply was empty")
    assert False

def test_pass(rq_obs):
    rq_obs.attach(response="route: orders")
'''


@pytest.mark.parametrize("xdist", [False, True])
def test_each_failed_attempt_keeps_its_message_redacted(pytester, plain_env, store_file, rows, xdist):
    if xdist:
        pytest.importorskip("xdist")
    pytester.makepyfile(test_msgs=SUITE)
    args = ["-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}"] + (["-n", "2"] if xdist else [])
    result = pytester.runpytest(*args)
    assert result.parseoutcomes() == {"passed": 2, "failed": 3, "errors": 2}
    got = {t.split("::")[1]: (o, json.loads(a)) for t, o, a in rows("SELECT test, outcome, attributes FROM attempts")}
    outcome, attrs = got["test_assert"]
    # pytest's crash line: the message, then its assertion explanation (its wording varies by Python version)
    assert (outcome, attrs["response"]) == ("failed", "route: billing\nreply: refunded")
    assert attrs["failure_message"].startswith("AssertionError: arithmetic is off\nassert ")
    assert attrs["failure_message"].split("\n")[1].endswith("== 3")
    assert got["test_setup_error"] == ("error", {"failure_message": "RuntimeError: database is down"})
    assert got["test_teardown_error"] == ("error", {"failure_message": "OSError: could not remove the temp dir"})
    assert got["test_secret"] == ("failed", {"failure_message": "<redacted: GitHub token>"})
    assert got["test_own_message"] == ("failed", {"failure_message": "the reply was empty"})  # the test's own wins
    assert got["test_pass"] == ("passed", {"response": "route: orders"})
    assert TOKEN not in store_file.read_bytes().decode("utf-8", "replace")
