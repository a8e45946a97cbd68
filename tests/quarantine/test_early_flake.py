"""Early flake detection on a real third-party suite (six) with an injected order-dependent flaky new test."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections import Counter

import pytest

from rq_obs.quarantine.early import choose_new
from tests.helpers.thirdparty import sdist

INJECTED = '''
_ran = []


def test_new_order_dependent():
    # passes the first time it runs in a process only: state leaks between runs
    _ran.append(1)
    assert len(_ran) == 1, "state leaked from an earlier run"


def test_new_stable():
    assert sum([1, 2]) == 3
'''


def _pytest(cwd, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RQ_OBS_", "OTEL_", "PYTEST_"))}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rq-obs", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _summary(out: str) -> dict[str, int]:
    last = [ln for ln in out.splitlines() if re.search(r"\d+ (passed|failed)", ln)][-1]
    return {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|errors?)", last)}


@pytest.mark.thirdparty
def test_flaky_new_test_is_caught_in_six_and_every_run_stored(tmp_path):
    project = sdist("six", "1.17.0", tmp_path)
    base = _pytest(project)
    assert base.returncode == 0, base.stdout[-2000:]
    store = project / ".rq-obs" / "store.db"
    for i, extra in enumerate(((), ("-n", "2"))):
        # a new file each time: after a run, its tests are in the store's history and no longer new
        name = f"test_injected_{i}.py"
        (project / f"test_injected_{i - 1}.py").unlink(missing_ok=True)
        (project / name).write_text(INJECTED)
        r = _pytest(project, "--rq-obs-new-test-retries", "3", *extra)
        assert r.returncode == 1, r.stdout[-3000:]
        assert "early flake detection: 2 new test(s) run 4 times each: 1 flaky" in r.stdout
        assert f"FLAKY (new) {name}::test_new_order_dependent: 1 passed, 3 failed of 4 runs" in r.stdout
        assert "test_new_stable" not in r.stdout.split("rq-obs early flake detection")[1].split("short test summary")[0]
        with sqlite3.connect(store) as conn:
            run_id = conn.execute("SELECT run_id FROM runs ORDER BY sequence DESC LIMIT 1").fetchone()[0]
            rows = conn.execute("SELECT test, outcome FROM attempts WHERE run_id = ?", (run_id,)).fetchall()
        per_test = Counter(t for t, _ in rows)
        # only the two new tests ran 4 times; six's 200 known tests once each
        assert per_test[f"{name}::test_new_stable"] == 4
        assert per_test[f"{name}::test_new_order_dependent"] == 4
        assert {n for t, n in per_test.items() if not t.startswith(name)} == {1}
        assert len(per_test) == 202
        # parity: pytest's summary counts what the store counts
        stored = Counter(o for _, o in rows)
        assert _summary(r.stdout) == {k: v for k, v in stored.items() if k in ("passed", "failed", "skipped")}
        assert sorted(o for t, o in rows if t.endswith("order_dependent")) == ["failed", "failed", "failed", "passed"]
    # off by default: a plain run retries nothing
    r = _pytest(project)
    assert "early flake detection" not in r.stdout and "1 failed" not in r.stdout


def test_choose_new_rules():
    ids = [f"t.py::t{i}" for i in range(10)] + ["new.py::a"]
    known = {f"t.py::t{i}" for i in range(10)}
    assert choose_new(ids, known, set(), "s") == ({"new.py::a"}, "")
    # a file changed in this commit: its tests count as new
    assert choose_new(["c.py::x", *ids[:9]], known | {"c.py::x"}, {"c.py"}, "s")[0] == {"c.py::x"}
    new, warning = choose_new(ids, known, {"t.py"}, "s")
    assert new == set() and "11 of 11 tests are new or changed (more than 30%)" in warning
    new, warning = choose_new(ids, None, set(), "s")
    assert new == set() and "suite 's' has no complete run" in warning


def test_changed_files_are_those_of_the_head_commit_and_the_working_tree(tmp_path):
    from rq_obs.quarantine.early import changed_files

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    git("init", "-q")
    (tmp_path / "tests").mkdir()
    for name in ("old.py", "touched.py", "head.py"):
        (tmp_path / "tests" / name).write_text("x = 1\n")
    git("add", "-A")
    git("commit", "-qm", "one")
    (tmp_path / "tests" / "head.py").write_text("x = 2\n")
    git("commit", "-qam", "two")
    (tmp_path / "tests" / "touched.py").write_text("x = 3\n")
    (tmp_path / "tests" / "untracked.py").write_text("x = 4\n")
    assert changed_files(tmp_path / "tests") == {"head.py", "touched.py", "untracked.py"}
    assert changed_files(tmp_path) == {"tests/head.py", "tests/touched.py", "tests/untracked.py"}


def test_no_history_retries_nothing_and_says_why(pytester, tmp_path):
    pytester.makepyfile(test_s="def test_a():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs-new-test-retries=2",
                                f"--rq-obs-store={tmp_path / 'none.db'}")
    assert result.parseoutcomes() == {"passed": 1}
    result.stdout.fnmatch_lines(["*rq-obs: warning: early flake detection: suite 'test_no_history_retries_nothing_"
                                 "and_says_why0' has no complete run in the store yet, so no test can be told new; "
                                 "nothing retried"])
    result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs-new-test-retries=-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--rq-obs-new-test-retries: -1; expected 0 (off) or a positive number*"])
