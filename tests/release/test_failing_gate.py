"""The max_failing_tests gate on what a real pytest run recorded: a release whose tests fail is blocked by
`rq-obs gate` and `rq-obs compare`, however good its quality score; a test that passed on a rerun is flaky, not
failing, and a quarantined failure does not count."""

import json

from tests.helpers.cli import run_cli

SUITE = """
import pytest

def test_ok(): pass

def test_always_fails(): assert 1 == 2

def test_quarantined(): assert 1 == 2

_seen = []

def test_passes_on_rerun():
    _seen.append(1)
    assert len(_seen) > 1
"""
QUARANTINE = """quarantine:
  - nodeid: test_rel.py::test_quarantined
    reason: known bad
    expires: '2099-01-01'
"""


def _snapshot_and_gate(pytester, store, release, *flags):
    snap = run_cli("--project", pytester.path, "snapshot", "--release", release, "--store", store,
                   "--code-quality", "95")
    assert snap.code == 0, snap.err
    return run_cli("--project", pytester.path, "gate", "--store", store, "--format", "json", *flags)


def test_failing_tests_block_the_release_whatever_its_score(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("RQ_OBS_SUITE", "rel")
    pytester.makepyfile(test_rel=SUITE)
    pytester.makefile(".yaml", **{"rq-obs-quarantine": QUARANTINE})
    store = tmp_path / "s.db"
    result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store}", "--reruns", "1")
    assert result.ret == 1
    assert result.parseoutcomes() == {"passed": 2, "failed": 1, "rerun": 2, "quarantined": 1}

    g = _snapshot_and_gate(pytester, store, "v1")
    doc = json.loads(g.out)
    gate = {x["name"]: x for x in doc["gates"]}["max_failing_tests"]
    assert g.code == 1 and doc["passed"] is False
    assert (gate["actual"], gate["result"]) == (1, "fail")
    assert gate["detail"] == "failed in every attempt: test_rel.py::test_always_fails"
    assert {x["name"]: x["result"] for x in doc["gates"]}["min_score"] == "pass"  # code quality 95 alone scores well

    allowed = run_cli("--project", pytester.path, "gate", "--store", store, "--max-failing-tests", "1")
    assert allowed.code == 0, allowed.out

    # the next release fixes the test: the gate passes and compare no longer blocks for it
    pytester.makepyfile(test_rel=SUITE.replace("def test_always_fails(): assert 1 == 2",
                                               "def test_always_fails(): pass"))
    monkeypatch.setenv("RQ_OBS_SUITE", "rel")
    store2 = tmp_path / "s2.db"
    pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store2}", "--reruns", "1")
    g2 = _snapshot_and_gate(pytester, store2, "v2")
    assert g2.code == 0, g2.out
    assert {x["name"]: (x["actual"], x["result"]) for x in json.loads(g2.out)["gates"]}["max_failing_tests"] == (0, "pass")


def test_compare_blocks_naming_the_failing_test(pytester, monkeypatch, tmp_path):
    # in a git checkout a snapshot counts the runs at its commit: v1's passing run does not hide v2's failure
    from tests.helpers.apps import git

    monkeypatch.setenv("RQ_OBS_SUITE", "rel")
    store = tmp_path / "s.db"
    pytester.makepyfile(test_rel="def test_a(): pass\ndef test_b(): pass\n")
    git(pytester.path, "init", "-q")
    git(pytester.path, "add", "-A")
    git(pytester.path, "commit", "-qm", "v1")
    pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store}")
    assert _snapshot_and_gate(pytester, store, "v1").code == 0
    pytester.makepyfile(test_rel="def test_a(): pass\ndef test_b(): assert 0\n")
    git(pytester.path, "commit", "-qam", "v2")
    pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store}")
    g = _snapshot_and_gate(pytester, store, "v2")
    assert g.code == 1
    c = run_cli("--project", pytester.path, "compare", "v1", "v2", "--store", store, "--format", "json")
    doc = json.loads(c.out)
    assert c.code == 1 and doc["recommendation"] == "block"
    assert "1 test failing, more than max_failing_tests 0 (config): failed in every attempt: test_rel.py::test_b" \
        in doc["reasons"]
