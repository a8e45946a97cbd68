import subprocess
import sys

from tests.helpers.cli import run_cli


def test_help_lists_commands_with_one_line_help():
    result = run_cli("--help")
    assert result.code == 0
    for name in ("build", "build-dashboards", "config"):
        assert f"  {name} " in result.out


def test_unknown_command_is_a_usage_error():
    result = run_cli("no-such-command")
    assert result.code == 2 and "No such command" in result.err


def test_python_dash_m_works_and_help_does_not_import_heavy_modules():
    code = ("import sys, runpy; sys.argv=['rq-obs','--help']\n"
            "try:\n runpy.run_module('rq_obs', run_name='__main__')\nexcept SystemExit: pass\n"
            "heavy=[m for m in ('scipy','opentelemetry.sdk','grafanalib','psutil') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "Commands:" in cp.stdout and "HEAVY []" in cp.stdout, cp.stdout + cp.stderr
