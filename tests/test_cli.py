import subprocess
import sys

from tests.helpers.cli import run_cli
from tests.helpers.procs import python_env


def test_help_lists_commands_with_one_line_help():
    result = run_cli("--help")
    assert result.code == 0
    for name in ("build", "build-dashboards", "config"):
        assert f"  {name} " in result.out


def test_a_group_without_a_command_shows_its_help_not_an_error():
    for argv, listed in ((("",), "  snapshot "), (("config",), "  check ")):
        result = run_cli(*[a for a in argv if a])
        assert result.code == 0 and result.err == ""
        assert result.out.startswith("Usage: rq-obs") and listed in result.out


def test_unknown_command_is_a_usage_error():
    result = run_cli("no-such-command")
    assert result.code == 2 and "No such command" in result.err


import pytest

HEAVY = ("scipy", "opentelemetry.sdk", "grafanalib", "psutil", "libcst")


@pytest.mark.parametrize("argv, shown", [
    (["--help"], "Commands:"),
    (["config", "show"], "slo_pass_rate"),
    (["runs", "--help"], "--limit"),
])
def test_python_dash_m_works_and_light_commands_do_not_import_heavy_modules(argv, shown, tmp_path):
    code = (f"import sys, runpy; sys.argv=['rq-obs', *{argv!r}]\n"
            "try:\n runpy.run_module('rq_obs', run_name='__main__')\nexcept SystemExit: pass\n"
            f"heavy=[m for m in {HEAVY!r} if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                        env=python_env())
    assert shown in cp.stdout and "HEAVY []" in cp.stdout, cp.stdout + cp.stderr
