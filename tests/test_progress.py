"""The live status line: on a terminal only, never with --quiet, cleared before what follows; and
snapshot --sample-command drives it from a real sampled process."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from rq_obs.progress import Status
from rq_obs.snapshot.benchmarks import sample_command
from tests.helpers.procs import python_env
from tests.helpers.tty import run_on_tty


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_status_line_is_rewritten_in_place_on_a_terminal_and_cleared():
    clock = iter([100.0, 102.4, 112.6]).__next__
    out = Tty()
    with Status(stream=out, clock=clock) as s:
        s.step("example suite run 1/8 recorded")
        s.step("release 1.0.0 snapshotted")
    assert out.getvalue() == ("\r\x1b[K[    2s] example suite run 1/8 recorded"
                              "\r\x1b[K[   13s] release 1.0.0 snapshotted\r\x1b[K")


def test_status_is_silent_when_not_a_terminal_or_quiet():
    for stream, quiet in ((io.StringIO(), False), (Tty(), True)):
        with Status(quiet=quiet, stream=stream) as s:
            s.step("anything")
        assert stream.getvalue() == ""


def test_status_lines_in_a_log_when_asked():
    # the demo's start takes minutes: piped to a log, each step is its own line (never escape codes)
    clock = iter([100.0, 102.4, 112.6]).__next__
    out = io.StringIO()
    with Status(stream=out, clock=clock, lines=True) as s:
        s.step("example suite run 1/8 recorded")
        s.step("release 1.0.0 snapshotted")
    assert out.getvalue() == "[    2s] example suite run 1/8 recorded\n[   13s] release 1.0.0 snapshotted\n"
    quiet = io.StringIO()
    with Status(quiet=True, stream=quiet, lines=True) as s:
        s.step("anything")
    assert quiet.getvalue() == ""


def test_sample_command_reports_progress_while_it_samples():
    seen: list[str] = []
    res = sample_command([sys.executable, "-c", "import time; time.sleep(0.6)"], interval=0.1, progress=seen.append)
    assert res["exit_code"] == 0
    assert len(seen) >= 3
    assert all(s.startswith(f"sampling {sys.executable}: ") and " s, CPU " in s and " MB" in s for s in seen)


def _snapshot(tmp_path: Path, *extra: str, tty: bool) -> tuple[int, str]:
    args = [sys.executable, "-m", "rq_obs", "snapshot", "--release", "1.0", "--store", str(tmp_path / "s.db"),
            "--sample-command", f"{sys.executable} -c 'import time; time.sleep(0.5)'", *extra]
    env = python_env({"RQ_OBS_SUITE": "x"})
    if not tty:
        cp = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env)
        return cp.returncode, cp.stderr
    return run_on_tty(args, env=env, cwd=tmp_path, stdout_tty=False)


def test_snapshot_shows_its_progress_on_a_terminal_only(tmp_path):
    code, err = _snapshot(tmp_path, tty=True)
    assert code == 0
    assert "] reading the installed distributions" in err and f"] sampling {sys.executable}: " in err
    # cleared before the command's own lines (here the warning that the store has no test runs)
    status, _, after = err.rpartition("\r\x1b[K")
    assert status and after.startswith("rq-obs: warning: the store ") and "\x1b" not in after
    code, err = _snapshot(tmp_path, "--quiet", tty=True)
    assert code == 0 and "\x1b[K" not in err
    code, err = _snapshot(tmp_path, tty=False)
    assert code == 0 and "\x1b[K" not in err and "sampling" not in err
