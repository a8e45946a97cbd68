import dataclasses

import pytest

from rq_obs.config import FIELDS, Config, load
from rq_obs.errors import ConfigError
from tests.helpers.cli import run_cli


def test_defaults_are_the_plans():
    c = Config()
    assert (c.slo_pass_rate, c.daily_budget_usd, c.prometheus_retention) == (0.85, 25.0, "15d")
    assert (c.regression_threshold, c.flaky_band, c.min_quality_score) == (0.05, [0.3, 0.7], 80.0)
    assert c.store_path == ".rq-obs/store.db" and c.alerts_to == "slack" and c.price_table == {}
    assert c.quality_weights == {"code_quality": 25, "test_coverage": 20, "dependencies": 20,
                                 "documentation": 15, "performance": 20}


def test_every_field_has_a_reason():
    for f in dataclasses.fields(Config):
        assert len(f.metadata["why"]) > 15, f.name


def test_precedence_file_env_flag(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.rq-obs]\nslo-pass-rate = 0.9\ndaily_budget_usd = 10\n')
    loaded = load(tmp_path, env={"RQ_OBS_DAILY_BUDGET_USD": "12.5", "RQ_OBS_FLAKY_BAND": "[0.2, 0.8]"},
                  overrides={"daily_budget_usd": 30.0, "suite": None})
    c = loaded.config
    assert c.slo_pass_rate == 0.9 and loaded.sources["slo_pass_rate"].endswith("pyproject.toml")
    assert c.daily_budget_usd == 30.0 and loaded.sources["daily_budget_usd"] == "flag --daily-budget-usd"
    assert c.flaky_band == [0.2, 0.8] and loaded.sources["flaky_band"] == "env RQ_OBS_FLAKY_BAND"
    assert loaded.sources["suite"] == "default"


def test_yaml_file_wins_over_pyproject_and_config_check_says_so(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.rq-obs]\nslo_pass_rate = 0.9\n')
    (tmp_path / "rq-obs.yaml").write_text("slo_pass_rate: 0.95\n")
    loaded = load(tmp_path, env={})
    assert loaded.config.slo_pass_rate == 0.95
    assert loaded.ignored == (f"{tmp_path / 'pyproject.toml'} [tool.rq-obs]",)
    res = run_cli("--project", str(tmp_path), "config", "check")
    assert res.code == 0 and res.out.splitlines()[1] == (
        f"note: {tmp_path / 'pyproject.toml'} [tool.rq-obs] is not read: {tmp_path / 'rq-obs.yaml'} takes its place "
        f"(only the first of rq-obs.yaml, rq-obs.yml, pyproject.toml [tool.rq-obs] is read)")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')  # no rq-obs table: nothing to say
    assert load(tmp_path, env={}).ignored == ()


@pytest.mark.parametrize("table", ["rq_obs", "rqobs", "RQ-OBS"])
def test_a_misspelled_table_is_an_error_not_silently_skipped(tmp_path, table):
    (tmp_path / "pyproject.toml").write_text(f"[tool.{table}]\nslo_pass_rate = 3\n")
    res = run_cli("--project", str(tmp_path), "config", "check")
    assert res.code == 2
    assert res.err.strip() == (f"rq-obs: error: {tmp_path / 'pyproject.toml'}: [tool.{table}] is not read; "
                               f"rq-obs' table is [tool.rq-obs]")


def test_a_near_miss_key_gets_a_suggestion(tmp_path):
    (tmp_path / "rq-obs.yaml").write_text("slo_pas_rate: 0.9\n")
    with pytest.raises(ConfigError) as err:
        load(tmp_path, env={})
    assert str(err.value) == f"{tmp_path / 'rq-obs.yaml'}: unknown key 'slo_pas_rate'; did you mean 'slo_pass_rate'?"


@pytest.mark.parametrize("body, fragment", [
    ("bogus = 1", "unknown key 'bogus'"),
    ("slo_pass_rate = 1.7", "key 'slo_pass_rate' is 1.7; expected a number between 0 and 1"),
    ("daily_budget_usd = 'lots'", "key 'daily_budget_usd' is 'lots'; expected a number"),
    ("flaky_band = [0.7, 0.3]", "key 'flaky_band' is [0.7, 0.3]; expected two numbers with 0 <= low < high <= 1"),
    ("prometheus_retention = '15 days'", "expected a positive Prometheus duration"),
    ("exporter_port = 70000", "expected a TCP port"),
    ("price_table = { gpt = { input = -1 } }", "non-negative price"),
    ("enabled = 'yes'", "expected true or false"),
])
def test_bad_config_names_file_key_and_expectation(tmp_path, body, fragment):
    (tmp_path / "pyproject.toml").write_text("[tool.rq-obs]\n" + body + "\n")
    with pytest.raises(ConfigError) as err:
        load(tmp_path, env={})
    assert str(tmp_path / "pyproject.toml") in str(err.value) and fragment in str(err.value)
    result = run_cli("--project", str(tmp_path), "config", "check")
    assert result.code == 2 and fragment in result.err and "Traceback" not in result.err
    assert result.err.count("\n") == 1  # one clear line


def test_bad_env_value_is_named():
    with pytest.raises(ConfigError, match="environment RQ_OBS_SLO_PASS_RATE"):
        load(".", env={"RQ_OBS_SLO_PASS_RATE": "high"})


def test_config_show_lists_every_field_with_source(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.rq-obs]\nslo_pass_rate = 0.9\ntoken = "s3cret-value"\n')
    result = run_cli("--project", str(tmp_path), "config", "show", "--format", "json", env={"RQ_OBS_TOKEN": None})
    assert result.code == 0, result.err
    import json

    doc = json.loads(result.out)
    assert set(doc) == set(FIELDS)
    assert doc["slo_pass_rate"]["value"] == 0.9 and doc["slo_pass_rate"]["source"].endswith("pyproject.toml")
    assert doc["token"]["value"] == "***" and "s3cret-value" not in result.out
    text = run_cli("--project", str(tmp_path), "config", "show").out
    assert "slo_pass_rate" in text and "s3cret-value" not in text


def test_rq_obs_store_is_the_store_path_for_every_command(tmp_path):
    loaded = load(tmp_path, env={"RQ_OBS_STORE": "/data/s.db"})
    assert loaded.config.store_path == "/data/s.db" and loaded.sources["store_path"] == "env RQ_OBS_STORE"
    both = load(tmp_path, env={"RQ_OBS_STORE": "/a.db", "RQ_OBS_STORE_PATH": "/b.db"})
    assert both.config.store_path == "/b.db"
    result = run_cli("--project", str(tmp_path), "runs", env={"RQ_OBS_STORE": str(tmp_path / "elsewhere.db")})
    assert result.code == 2 and str(tmp_path / "elsewhere.db") in result.err


def test_one_duration_grammar_for_config_and_flags(tmp_path):
    """A window the config check accepts is one every command accepts, and 0 is refused everywhere."""
    with pytest.raises(ConfigError, match="flaky_window"):
        load(tmp_path, env={"RQ_OBS_FLAKY_WINDOW": "0d"})
    assert load(tmp_path, env={"RQ_OBS_FLAKY_WINDOW": "1w"}).config.flaky_window == "1w"
    from rq_obs import durations

    assert durations.seconds("1w", "--window") == 7 * 86400 and durations.seconds("500ms", "x") == 0.5
    for bad in ("0d", "7 days", "1.5h", ""):
        with pytest.raises(Exception, match="--window"):
            durations.seconds(bad, "--window")
