"""Real third-party suites (sdists from PyPI) run with --rq-obs: the store agrees with pytest's summary line,
its -v results test by test, and its --junitxml test by test; serially, with -n 2, and with --reruns 1
on a flaky test injected into the suite.

Chosen for small, fast, pure-Python suites that ship in the sdist and need nothing beyond pytest:
six (one module, ~200 tests), cachetools (~215 tests), simplejson (unittest-style, ~140 tests, skips).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.thirdparty import sdist
from tests.parity.conftest import assert_matches_junit_by_test, check_parity

pytestmark = pytest.mark.thirdparty

#: name, version, test path inside the sdist, PYTHONPATH entries (src layouts)
SUITES = [
    ("six", "1.17.0", "test_six.py", ""),
    ("cachetools", "5.5.0", "tests", "src"),
    ("simplejson", "3.19.3", "simplejson/tests", ""),
]

FLAKY = """
import pathlib

def test_injected_flaky():
    counter = pathlib.Path(__file__).with_name("injected.count")
    n = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(n + 1))
    assert n >= 1, "fails on its first attempt only"
"""


def _run(src: Path, tests: str, pythonpath: str, store: Path, xml: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RQ_OBS_", "OTEL_", "PYTEST_"))}
    if pythonpath:
        env["PYTHONPATH"] = str(src / pythonpath)
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-v", "-o", "addopts=",
           f"--junitxml={xml}", "--rq-obs", f"--rq-obs-store={store}", tests, *extra]
    return subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("mode", ["serial", "xdist", "reruns"])
@pytest.mark.parametrize("name, version, tests, pythonpath", SUITES, ids=[s[0] for s in SUITES])
def test_a_real_suite_is_stored_as_pytest_and_junit_report_it(tmp_path, name, version, tests, pythonpath, mode):
    src = sdist(name, version, tmp_path / "src")
    store, xml = tmp_path / "store.db", tmp_path / "junit.xml"
    extra: list[str] = []
    if mode == "xdist":
        extra = ["-n", "2"]
    elif mode == "reruns":
        test_dir = src / tests if (src / tests).is_dir() else (src / tests).parent
        (test_dir / "test_zz_injected_flaky.py").write_text(FLAKY)
        if (src / tests).is_file():
            extra = [str((test_dir / "test_zz_injected_flaky.py").relative_to(src))]
        extra += ["--reruns", "1"]
    cp = _run(src, tests, pythonpath, store, xml, *extra)
    lines = cp.stdout.splitlines()
    assert cp.returncode in (0, 1), cp.stdout[-3000:] + cp.stderr[-3000:]
    stored = check_parity(lines, cp.returncode, store, xml)
    assert_matches_junit_by_test(stored, xml)
    assert stored.counts.get("passed", 0) >= 100  # the real suite ran, not a stub of it
    if mode == "xdist":
        assert {a[3] for a in stored.attempts} == {"gw0", "gw1"}
    if mode == "reruns":
        flaky = [(a[2], a[1], a[4]) for a in stored.attempts if a[0].endswith("::test_injected_flaky")]
        assert flaky == [(1, "failed", "rerun"), (2, "passed", "passed")]
        assert stored.counts.get("rerun") == 1
