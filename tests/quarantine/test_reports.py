"""compare and the CI report (markdown) list quarantined failures apart from real ones, from what the plugin stored."""

from __future__ import annotations

import json
import time

from rq_obs.compare import compare
from rq_obs.compare.report import render
from rq_obs.config import Config
from rq_obs.snapshot.store import summarise_tests
from rq_obs.store import Store
from tests.release.factory import make

SUITE = """
def test_ok():
    pass

def test_quarantined():
    assert 0, "flaky"

def test_real_failure():
    assert 0, "a bug"
"""


def test_quarantined_failures_are_listed_apart_in_every_report(pytester, tmp_path):
    pytester.makepyfile(test_s=SUITE)
    pytester.makefile(".yaml", **{"rq-obs-quarantine": "quarantine:\n  - nodeid: test_s.py::test_quarantined\n"
                                                       "    reason: r\n    expires: '2099-01-01'\n"})
    store_path = tmp_path / "s.db"
    result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_path}")
    assert result.parseoutcomes() == {"passed": 1, "failed": 1, "quarantined": 1}
    store = Store(store_path)
    head_tests = summarise_tests(store, "", 3600, time.time())
    # the failure still counts (the pass rate is what happened); it is also counted as quarantined
    assert (head_tests.passed, head_tests.failed) == (1, 2)
    assert head_tests.tests["test_s.py::test_quarantined"] == {"failed": 1, "quarantined": 1}
    assert head_tests.tests["test_s.py::test_real_failure"] == {"failed": 1}
    c = compare(make("v1", 1000.0), make("v2", 2000.0, tests=head_tests), Config())
    assert c.tests.quarantined == ("test_s.py::test_quarantined",)
    assert "Quarantined failures (not blocking): `test_s.py::test_quarantined`" in render(c, "markdown").splitlines()
    assert "  quarantined failures (not blocking): test_s.py::test_quarantined" in render(c, "text").splitlines()
    assert "<p>Quarantined failures (not blocking): test_s.py::test_quarantined</p>" in render(c, "html")
    assert json.loads(render(c, "json"))["tests"]["quarantined"] == ["test_s.py::test_quarantined"]
