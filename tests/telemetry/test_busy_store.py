"""A store locked by another process, or on a read-only file system: no attempt is lost, and the words are right.

The locker is a real second process holding SQLite's write lock (``BEGIN IMMEDIATE``) for up to 40 s,
as ``serve`` pruning or a long import would. The suite does not wait for it: attempts stay in memory,
and at the end of the session (after ``store_lock_wait``, 1 s here) the rest of the run goes to a side
file next to the store, written into the store by the next session or ``rq-obs push``. How long the
lock lasts past the session does not matter; the test releases it early rather than wait 40 s.
"""

from __future__ import annotations

import json
import time
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rq_obs.store import Attempt, Run, Store, save_run
from tests.helpers.cli import run_cli
from tests.helpers.procs import free_port, wait_until
from tests.parity.conftest import summary_line
from tests.telemetry.conftest import warnings_in

LOCKER = r"""
import select, sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
release = sys.argv[2] if len(sys.argv) > 2 else ""
deadline = time.monotonic() + 40
while time.monotonic() < deadline:
    if release and __import__("os").path.exists(release):
        break
    if select.select([sys.stdin], [], [], 0.05)[0]:  # a line (or EOF) on stdin: release now
        break
conn.execute("ROLLBACK")
print("released", flush=True)
"""

SUITE = """
import pathlib, pytest
@pytest.mark.parametrize("i", range(30))
def test_many(i): assert i % 10 != 3
def test_skip(): pytest.skip("no")
"""


def _lock(store: Path, release_file: Path | None = None) -> subprocess.Popen:
    args = [sys.executable, "-c", LOCKER, str(store)] + ([str(release_file)] if release_file else [])
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def _release(proc: subprocess.Popen) -> None:
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "released"
    proc.wait(timeout=10)


def _store_with_a_run(path: Path) -> None:
    store = Store(path)
    save_run(store, Run(run_id="before", suite="demo", started_at=time.time() - 60, attempts=(Attempt("t::a", "passed", 0.1),)))
    store.close()


def _attempts(path: Path, run_id: str) -> list[tuple]:
    store = Store(path, readonly=True)
    try:
        return [tuple(r) for r in store.query("SELECT test, outcome, summary FROM attempts WHERE run_id = ? "
                                              "ORDER BY test", (run_id,))]
    finally:
        store.close()


def test_a_store_locked_through_the_session_loses_no_attempt(pytester, plain_env, store_file, tmp_path):
    _store_with_a_run(store_file)
    pytester.makepyfile(test_busy=SUITE)
    plain_env.setenv("RQ_OBS_STORE_LOCK_WAIT", "1")
    locker = _lock(store_file)
    try:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
        assert result.ret == 1 and summary_line(result.outlines) == {"passed": 27, "failed": 3, "skipped": 1}
        (side,) = store_file.parent.glob("rq.db.*.pending.json")
        run_id = json.loads(side.read_text())["run"]["run_id"]
        (warning,) = warnings_in(result.stdout.str())
        assert f"the store {store_file} was locked by another process" in warning
        assert f"nothing was lost; the run's remaining results are kept in {side}" in warning
        assert "next test session or `rq-obs push`" in warning
        assert "not a readable" not in result.stdout.str()
        assert _attempts(store_file, run_id) == []  # still locked: nothing of it in the store yet
        assert locker.poll() is None  # the lock was held for the whole session
    finally:
        _release(locker)
    # the next session writes it first, then its own run
    again = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    assert f"rq-obs: wrote run {run_id} (31 attempts) from {side.name}" in again.stdout.str()
    assert not side.exists()
    stored = _attempts(store_file, run_id)
    assert len(stored) == 31 and sum(1 for _, o, _ in stored if o == "failed") == 3
    store = Store(store_file)
    status, code, summary = store.query("SELECT status, exit_code, summary FROM runs WHERE run_id = ?", (run_id,))[0]
    assert (status, code, json.loads(summary)) == ("complete", 1, {"passed": 27, "failed": 3, "skipped": 1})
    assert store.query("SELECT COUNT(*) FROM runs")[0][0] == 3


def test_rq_obs_push_writes_a_side_file_into_the_store_first(pytester, plain_env, store_file):
    _store_with_a_run(store_file)
    pytester.makepyfile(test_busy=SUITE)
    plain_env.setenv("RQ_OBS_STORE_LOCK_WAIT", "1")
    locker = _lock(store_file)
    try:
        pytester.runpytest_subprocess("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    finally:
        _release(locker)
    (side,) = store_file.parent.glob("rq.db.*.pending.json")
    run_id = json.loads(side.read_text())["run"]["run_id"]
    # no server listens there: the push fails, but the side file is in the store first
    res = run_cli("push", "--store", store_file, "--url", f"http://127.0.0.1:{free_port()}", "--retries", "0")
    assert f"wrote run {run_id} (31 attempts) from {side} into the store" in res.err
    assert not side.exists() and len(_attempts(store_file, run_id)) == 31


def test_a_lock_that_clears_during_the_session_is_written_then(pytester, plain_env, store_file, tmp_path):
    _store_with_a_run(store_file)
    release = tmp_path / "release"
    pytester.makepyfile(test_clears=SUITE + f"""
def test_zz_release():
    pathlib.Path({str(release)!r}).write_text("go")
""")
    locker = _lock(store_file, release)
    try:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
        locker.wait(timeout=30)
    finally:
        if locker.poll() is None:
            _release(locker)
    assert not list(store_file.parent.glob("*.pending.json"))
    (warning,) = warnings_in(result.stdout.str())
    assert "attempts were kept in memory and written when the lock cleared; nothing was lost" in warning
    store = Store(store_file, readonly=True)
    (run_id,) = [r[0] for r in store.query("SELECT run_id FROM runs WHERE run_id != 'before'")]
    assert len(_attempts(store_file, run_id)) == 32


def _read_only(path: Path, *cmd: str) -> subprocess.CompletedProcess:
    """Run ``cmd`` with ``path`` (a directory) bind-mounted read-only in a private mount namespace."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("unshare (util-linux) is not installed; apt-get install util-linux")
    script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" && shift && exec "$@"'
    return subprocess.run([unshare, "-rm", "sh", "-c", script, "sh", str(path), *cmd], capture_output=True, text=True)


def test_read_only_commands_read_a_store_on_a_read_only_file_system(tmp_path):
    store_file = tmp_path / "ro" / "store.db"
    _store_with_a_run(store_file)
    probe = _read_only(store_file.parent, "touch", str(store_file.parent / "x"))
    assert "Read-only file system" in probe.stderr, probe  # the mount really is read-only
    rq_obs = str(Path(sys.executable).with_name("rq-obs"))
    runs = _read_only(store_file.parent, rq_obs, "runs", "--store", str(store_file), "--format", "json")
    assert runs.returncode == 0, runs.stderr
    assert [r["run_id"] for r in json.loads(runs.stdout)] == ["before"]
    assert f"{store_file} is read-only here; opened read-only" in runs.stderr
    flaky = _read_only(store_file.parent, rq_obs, "flaky", "--store", str(store_file))
    assert flaky.returncode == 0 and "not readable" not in flaky.stderr, flaky.stderr
    # a command that must write says read-only, not "not readable"
    imp = _read_only(store_file.parent, rq_obs, "import", "--store", str(store_file), str(tmp_path / "none.xml"))
    assert imp.returncode != 0 and "not a readable" not in imp.stderr
