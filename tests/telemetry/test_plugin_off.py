"""The plugin when nothing asks it to record: no settings module imported, nothing written; any setting that
could turn it on still does."""

import pytest

from rq_obs.configfiles import may_enable
from tests.telemetry.conftest import warnings_in

PROBE = """
import sys

def test_probe():
    assert "rq_obs.config" not in sys.modules
"""


def test_a_project_without_rq_obs_settings_pays_no_config_import(pytester, plain_env):
    plain_env.delenv("RQ_OBS_SUITE")
    pytester.makepyprojecttoml("[tool.black]\nline-length = 100\n")
    pytester.makepyfile(test_probe=PROBE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / ".rq-obs").exists()


@pytest.mark.parametrize("where", ["pyproject", "yaml", "env"])
def test_every_source_that_can_enable_recording_still_does(pytester, plain_env, where):
    plain_env.delenv("RQ_OBS_SUITE")
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    if where == "pyproject":
        pytester.makepyprojecttoml("[tool.rq-obs]\nenabled = true\n")
    elif where == "yaml":
        (pytester.path / "rq-obs.yaml").write_text("enabled: true\n")
    else:
        plain_env.setenv("RQ_OBS_ENABLED", "1")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert warnings_in(result.stdout.str()) == []
    assert (pytester.path / ".rq-obs" / "store.db").is_file()
    assert "rq-obs: run 1 of suite" in result.stdout.str()


def test_may_enable_reads_names_and_text_only(tmp_path):
    assert may_enable(tmp_path, {}) is False
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\n")
    assert may_enable(tmp_path, {}) is False
    assert may_enable(tmp_path, {"RQ_OBS_VARIANT": "B"}) is True  # any rq-obs variable: the full load decides
    (tmp_path / "pyproject.toml").write_text("[tool.rq_obs]\nenabled = true\n")  # misspelt: the load reports it
    assert may_enable(tmp_path, {}) is True
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\n")
    (tmp_path / "rq-obs.yml").write_text("suite: x\n")
    assert may_enable(tmp_path, {}) is True
