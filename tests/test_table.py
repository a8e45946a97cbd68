"""Tables: aligned on the visible text, coloured only on a terminal and never with NO_COLOR."""

from __future__ import annotations

import io
import subprocess
import sys

from rq_obs.commands._table import STATE_COLOURS, colour_wanted, format_table
from tests.helpers.procs import python_env
from tests.helpers.tty import run_on_tty

RED, YELLOW, RESET = "\x1b[31m", "\x1b[33m", "\x1b[0m"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_columns_align_on_visible_text_with_or_without_colour():
    rows = [("broken", "0.0%", "tests/a.py::t"), ("flaky", "50.0%", "tests/b.py::u")]
    plain = format_table(("state", "pass", "test"), rows, {0: STATE_COLOURS}, colour=False)
    assert plain == ["state   pass   test", "broken  0.0%   tests/a.py::t", "flaky   50.0%  tests/b.py::u"]
    coloured = format_table(("state", "pass", "test"), rows, {0: STATE_COLOURS}, colour=True)
    assert coloured == ["state   pass   test", f"{RED}broken{RESET}  0.0%   tests/a.py::t",
                        f"{YELLOW}flaky{RESET}   50.0%  tests/b.py::u"]


def test_colour_only_on_a_terminal_and_no_color_wins():
    assert colour_wanted(Tty(), {}) is True
    assert colour_wanted(Tty(), {"NO_COLOR": "1"}) is False
    assert colour_wanted(Tty(), {"NO_COLOR": ""}) is True  # no-color.org: set and not empty
    assert colour_wanted(io.StringIO(), {}) is False


def test_flaky_command_colours_states_on_a_terminal_only(tmp_path):
    (tmp_path / "test_x.py").write_text("import os\ndef test_bad(): assert 0\n"
                                        "def test_flaky(): assert int(os.environ['N']) % 2\n")
    env = python_env({"RQ_OBS_SUITE": "p"})
    for n in range(4):
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rq-obs"], cwd=tmp_path,
                       env={**env, "N": str(n)}, capture_output=True)
    args = [sys.executable, "-m", "rq_obs", "flaky"]
    code, screen = run_on_tty(args, env=env, cwd=tmp_path, stderr_tty=False)
    assert code == 0
    lines = screen.splitlines()
    assert lines[2].startswith(f"{RED}broken{RESET}  0.0%") and lines[3].startswith(f"{YELLOW}flaky{RESET}   50.0%")
    code, screen = run_on_tty(args, env={**env, "NO_COLOR": "1"}, cwd=tmp_path, stderr_tty=False)
    assert "\x1b[" not in screen and screen.splitlines()[2].startswith("broken  0.0%")
    piped = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert "\x1b[" not in piped.stdout and piped.stdout.splitlines()[2].startswith("broken  0.0%")
    assert [l.replace(RED, "").replace(YELLOW, "").replace(RESET, "") for l in lines] == piped.stdout.splitlines()
