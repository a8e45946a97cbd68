"""Crash safety (a pytest process killed mid-run) and tracked files with git (hashes, change events)."""

import hashlib
import signal
import subprocess

from rq_obs.catalog import M
from rq_obs.store import Store, read_totals
from rq_obs.telemetry.recorder import BATCH_SIZE


def test_killed_mid_run_leaves_a_consistent_store(pytester, plain_env, store_file, rows):
    pytester.makepyfile(test_first="def test_a(): pass\ndef test_b(): assert 0\n")
    pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    (first_run,) = rows("SELECT run_id, status FROM runs")
    assert first_run[1] == "complete"

    kill_at = 2 * BATCH_SIZE + 20
    (pytester.path / "test_first.py").unlink()
    pytester.makepyfile(test_crash=f"""
import os, signal, pytest

@pytest.mark.parametrize("i", range({kill_at + 30}))
def test_step(i):
    if i == {kill_at}:
        os.kill(os.getpid(), signal.SIGKILL)   # no teardown, no sessionfinish, no final flush
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    assert result.ret == -signal.SIGKILL

    assert rows.one("PRAGMA integrity_check") == "ok"
    # the earlier run is intact
    assert rows("SELECT run_id, status, sequence FROM runs WHERE run_id = ?", (first_run[0],)) == [
        (first_run[0], "complete", 1)]
    assert rows("SELECT test, outcome FROM attempts WHERE run_id = ? ORDER BY test", (first_run[0],)) == [
        ("test_first.py::test_a", "passed"), ("test_first.py::test_b", "failed")]
    # the killed run is there, incomplete, with every batch committed before the kill: of the kill_at
    # attempts that completed, only those not yet in a batch (fewer than BATCH_SIZE) are lost
    crash_id, status, seq = rows.one("SELECT run_id, status, sequence FROM runs WHERE run_id != ?", (first_run[0],))
    assert (status, seq) == ("incomplete", 2)
    stored = [t for (t,) in rows("SELECT test FROM attempts WHERE run_id = ? ORDER BY id", (crash_id,))]
    assert kill_at - BATCH_SIZE < len(stored) <= kill_at
    # what is stored is exactly the tests that ran first, in order, all passed
    assert stored == [f"test_crash.py::test_step[{i}]" for i in range(len(stored))]
    assert rows.one("SELECT COUNT(*) FROM attempts WHERE run_id = ? AND outcome != 'passed'", (crash_id,)) == 0
    # the running totals were written in the same transactions as the rows
    store = Store(store_file)
    attempts_total = sum(v for _, _, v in read_totals(store, M.TEST_ATTEMPTS.total))
    assert attempts_total == len(stored) + 2
    # and the store keeps working: the next run is sequence 3
    pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}", "-k", "step and 1]")
    assert rows.one("SELECT sequence, status FROM runs ORDER BY sequence DESC LIMIT 1") == (3, "complete")


def _git(cwd, *args, author="Alice"):
    subprocess.run(["git", "-c", f"user.name={author}", "-c", f"user.email={author.lower()}@example.com",
                    "-c", "commit.gpgsign=false", *args], cwd=cwd, check=True, capture_output=True)


def test_git_commit_branch_and_tracked_file_changes(pytester, plain_env, store_file, rows):
    root = pytester.path
    _git(root, "init", "-q", "-b", "main")
    (root / "skills" / "search").mkdir(parents=True)
    skill = root / "skills" / "search" / "SKILL.md"
    skill.write_text("a\nb\nc\n")
    (root / "SKILL.md").write_text("top\n")
    (root / "notes.md").write_text("not tracked\n")
    (root / ".venv" / "x").mkdir(parents=True)
    (root / ".venv" / "x" / "SKILL.md").write_text("ignored by .gitignore\n")
    (root / ".gitignore").write_text(".venv/\n")
    pytester.makepyfile(test_t="def test_t(): pass\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "first")
    head1 = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()

    def run():
        pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}").assert_outcomes(
            passed=1)

    run()
    assert rows.one("SELECT commit_sha, branch FROM runs") == (head1, "main")
    assert rows("SELECT path, sha256 FROM tracked_files ORDER BY path") == [
        ("SKILL.md", hashlib.sha256(b"top\n").hexdigest()),
        ("skills/search/SKILL.md", hashlib.sha256(b"a\nb\nc\n").hexdigest()),
    ]
    run()  # unchanged: no change event
    assert rows("SELECT * FROM file_changes") == []

    skill.write_text("a\nB\nc\nd\ne\n")  # b -> B, +d, +e: 3 added, 1 removed
    _git(root, "commit", "-q", "-am", "better skill", author="Bob")
    run()
    head2 = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    assert rows("SELECT path, old_sha256, new_sha256, commit_sha, author, lines_added, lines_removed "
                "FROM file_changes") == [
        ("skills/search/SKILL.md", hashlib.sha256(b"a\nb\nc\n").hexdigest(),
         hashlib.sha256(b"a\nB\nc\nd\ne\n").hexdigest(), head2, "Bob", 3, 1)]

    # an uncommitted edit is attributed to the local git user
    subprocess.run(["git", "config", "user.name", "Carol"], cwd=root, check=True)
    skill.write_text("a\nB\nc\nd\n")
    run()
    assert rows("SELECT author, lines_added, lines_removed FROM file_changes ORDER BY id")[-1] == ("Carol", 0, 1)
    store = Store(store_file)
    assert {l["path"]: v for _, l, v in read_totals(store, M.TRACKED_FILE_CHANGES.total)} == {
        "skills/search/SKILL.md": 2}
    lines = {l["kind"]: v for _, l, v in read_totals(store, M.TRACKED_FILE_CHANGED_LINES.total)}
    assert lines == {"added": 3, "removed": 2}
