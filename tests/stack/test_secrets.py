"""No secret reaches a generated file: no webhook URL, no token, only environment references."""

import re

import yaml

from rq_obs import build, stack
from rq_obs.config import is_secret_name, load
from tests.stack.conftest import make_config

WEBHOOK = "https://hooks.slack.com/services/T0SECRET/B0SECRET/abcdefSECRET"
TOKEN = "tok-SECRET-1234567890"
# A secret-named key may hold: nothing, an environment reference, a file path, or a variable name.
#: Keys the secret-name pattern matches that are not secrets: Grafana's tag mappings ({key: service.name}).
NOT_SECRET_KEYS = {"key"}
# a secret-named key holds nothing, a reference, a path, a name, or a boolean switch (GF_AUTH_ANONYMOUS_ENABLED: false)
HARMLESS = re.compile(r"^$|^\$[A-Z_][A-Z0-9_]*$|^\$\{[A-Z_][A-Z0-9_]*(:[-?][^}]*)?\}$|^/[\w./-]+$|^[A-Z_][A-Z0-9_]*$|^(true|false)$")


def _walk(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}")
            if is_secret_name(str(k)) and k not in NOT_SECRET_KEYS and not isinstance(v, (dict, list)):
                yield f"{path}.{k}", v
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")


def _files(config):
    return stack.artifacts(config)


def test_no_webhook_or_token_in_any_generated_file(tmp_path):
    """Every file `rq-obs build` writes (all areas), built with the secrets in the environment."""
    env = {"SLACK_WEBHOOK_URL": WEBHOOK, "RQ_OBS_TOKEN": TOKEN}
    config = load(tmp_path, env=env).config
    assert config.token == TOKEN
    files = build.collect(config)
    assert set(_files(config)) <= set(files)
    for path, text in files.items():
        assert "hooks.slack.com" not in text, path
        assert "SECRET" not in text, path


def test_secret_named_keys_hold_only_references(tmp_path):
    for config in (make_config(), make_config(alerts_to="none"), make_config(slack_webhook_env="OPS_WEBHOOK")):
        for path, text in _files(config).items():
            if not path.endswith((".yml", ".yaml")):
                continue
            for where, value in _walk(yaml.safe_load(text)):
                assert isinstance(value, str) and HARMLESS.match(value), f"{path}{where} = {value!r}"


def test_secret_scan_catches_a_literal(tmp_path):
    """The scan above would fail on a literal webhook under a secret-named key."""
    found = list(_walk({"receivers": [{"slack_configs": [{"api_url_file": "/run/x"}]}],
                        "environment": {"SLACK_WEBHOOK_URL": WEBHOOK, "RQ_OBS_TOKEN": "${RQ_OBS_TOKEN:-}"}}))
    assert found == [(".environment.SLACK_WEBHOOK_URL", WEBHOOK), (".environment.RQ_OBS_TOKEN", "${RQ_OBS_TOKEN:-}")]
    assert not HARMLESS.match(WEBHOOK) and HARMLESS.match("${RQ_OBS_TOKEN:-}")
