"""remote_write: the settings, promtool on the generated config, and a real Prometheus sending to a
second one that runs the remote-write receiver (rq-obs series and recording-rule outputs arrive,
what should stay local does not)."""

from __future__ import annotations

import subprocess
import urllib.request

import pytest
import yaml

from rq_obs.catalog import M
from rq_obs.config import load
from rq_obs.errors import ConfigError
from rq_obs.rules import prometheus as rule_files
from rq_obs.stack import prometheus, remote_write
from rq_obs.store import Store
from tests.helpers.procs import PROMTOOL, Prometheus, need, wait_until
from tests.server.conftest import Running
from tests.server.runs import doc
from tests.stack.conftest import make_config

URL = "https://mimir.example:9009/api/v1/push"


def settings(**kw):
    return load("/nonexistent-project-dir", env={}, overrides=kw).config


@pytest.mark.parametrize("kw, message", [
    ({"remote_write_password_file": "secrets/pw"}, "key 'remote_write_password_file' is 'secrets/pw'; expected an absolute file path"),
    ({"remote_write_headers": {"Authorization": "Bearer x"}}, "looks like one"),
    ({"remote_write_queue": {"max_shard": 5}}, "'max_shard' is unknown"),
    ({"remote_write_queue": {"batch_send_deadline": "soon"}}, "a duration such as 5s; batch_send_deadline is 'soon'"),
    ({"remote_write_keep_local": ["per_suite"]}, "a list of per_test, stack; 'per_suite' is unknown"),
])
def test_bad_remote_write_settings_are_named(kw, message):
    with pytest.raises(ConfigError, match="option --remote-write-") as info:
        settings(**kw)
    assert message in str(info.value)


@pytest.mark.parametrize("kw, message", [
    ({"remote_write_username": "team"}, "remote_write_username is set without remote_write_password_file"),
    ({"remote_write_password_file": "/run/pw"}, "remote_write_password_file is set without remote_write_username"),
    ({"remote_write_username": "team", "remote_write_password_file": "/run/pw",
      "remote_write_bearer_token_file": "/run/token"}, "choose basic auth or a bearer token"),
])
def test_half_configured_auth_is_a_config_error(kw, message):
    with pytest.raises(ConfigError, match=message):
        prometheus.document(settings(remote_write_url=URL, **kw))


@pytest.mark.parametrize("kw", [
    {"remote_write_username": "team", "remote_write_password_file": "/run/secrets/pw",
     "remote_write_headers": {"X-Scope-OrgID": "team-a"}},
    {"remote_write_bearer_token_file": "/run/secrets/token", "remote_write_keep_local": []},
])
def test_promtool_accepts_remote_write_with_credentials_from_files(tmp_path, kw):
    doc = prometheus.document(settings(remote_write_url=URL, **kw))
    (entry,) = doc["remote_write"]
    assert ("basic_auth" in entry) == ("remote_write_username" in kw)
    assert ("authorization" in entry) == ("remote_write_bearer_token_file" in kw)
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(doc))
    cp = subprocess.run([need(PROMTOOL, "prometheus"), "check", "config", "--syntax-only", str(path)],
                        capture_output=True, text=True)
    assert cp.returncode == 0, cp.stdout + cp.stderr


@pytest.mark.e2e
def test_a_second_prometheus_receives_rq_obs_series_and_recording_rules(tmp_path):
    """Sender: the generated prometheus.yml (scrape jobs pointed at a real rq-obs serve and itself, plus a
    job of another workload, the generated recording rules, remote_write to receiver A) and, as in a shared
    kube-prometheus-stack Prometheus, the shared entry (its keep rule first) to receiver B; receivers run
    --web.enable-remote-write-receiver."""
    tests = [f"tests/test_rw.py::test_{i}" for i in range(4)]
    outcomes = ("passed", "failed", "passed", "passed")
    (tmp_path / "store").mkdir()
    srv = Running(Store(tmp_path / "store" / "store.db"), {"RQ_OBS_TOKEN": "rw-token"})
    try:
        assert srv.push(doc("rw-0", tests=tests, outcomes=outcomes), token="rw-token").status == 201
        for d in ("a", "b", "sender"):
            (tmp_path / d).mkdir()
        receiver_args = ("--web.enable-remote-write-receiver",)
        with Prometheus(tmp_path / "a", "global:\n  scrape_interval: 1h\n", receiver_args) as a, \
                Prometheus(tmp_path / "b", "global:\n  scrape_interval: 1h\n", receiver_args) as b:
            config = make_config(scrape_interval="1s", evaluation_interval="1s", alertmanager=False,
                                 remote_write_url=f"{a.url}/api/v1/write",
                                 remote_write_queue={"batch_send_deadline": "1s", "max_shards": 1})
            recording = tmp_path / "sender" / "recording.yml"
            recording.write_text(rule_files.render(config)[rule_files.RECORDING_PATH])
            sender_doc = prometheus.document(config)
            assert sender_doc["remote_write"] == [remote_write.prometheus_entry(config)]
            shared = remote_write.prometheus_entry(config, shared=True)
            sender_doc["remote_write"].append({**shared, "url": f"{b.url}/api/v1/write"})
            sender_doc["rule_files"] = [str(recording)]
            jobs = [j for j in sender_doc["scrape_configs"] if j["job_name"] in ("rq-obs", "prometheus")]
            sender_doc["scrape_configs"] = jobs + [{"job_name": "other-workload", "static_configs": [
                {"targets": [a.url.removeprefix("http://")]}]}]

            with Prometheus(tmp_path / "sender", yaml.safe_dump(sender_doc)) as sender:
                local = {"rq-obs": srv.url.removeprefix("http://"), "prometheus": f"127.0.0.1:{sender.port}"}
                for job in jobs:  # point the generated jobs at the real processes, then reload
                    job["static_configs"] = [{"targets": [local[job["job_name"]]]}]
                (tmp_path / "sender" / "prometheus.yml").write_text(yaml.safe_dump(sender_doc))
                urllib.request.urlopen(urllib.request.Request(f"{sender.url}/-/reload", method="POST"), timeout=10)
                att = M.TEST_ATTEMPTS.total
                wait_until(lambda: sender.query(att), 60, what="the sender's first scrape of rq-obs serve")
                # a second run: the counters increase, so the 1h pass-ratio rule has a value (3 of 4 passed)
                assert srv.push(doc("rw-1", tests=tests, outcomes=outcomes), token="rw-token").status == 201
                rule = "suite:rqobs_test_attempts:pass_ratio_rate1h"
                for receiver in (a, b):
                    wait_until(lambda: receiver.value(f'{rule}{{suite="shop"}}') == 0.75, 90,
                               what=f"{rule} = 0.75 in receiver {receiver.url}")
                    wait_until(lambda: receiver.value(f'{M.INGEST_RUNS.total}{{result="stored"}}') == 2, 60,
                               what="rq-obs serve's ingest counter in the receiver")
                    assert receiver.value(f'{M.TEST_RUNS.total}{{suite="shop",status="complete"}}') == 2
                    assert receiver.value('up{job="rq-obs"}') == 1
                    # what stays local: the per-test series and the stack's own telemetry (job prometheus)
                    assert receiver.query(att) == []
                    assert receiver.query('{job="prometheus"}') == []
                    assert receiver.query('suite_test:rqobs_test_attempts:failed_rate1h_topk') == []
                assert sender.value(f'sum({att})') == 8 and sender.query('up{job="prometheus"}')
                assert sender.query('suite_test:rqobs_test_attempts:failed_rate1h_topk')
                # another workload's series: sent by the compose entry, kept back by the shared one
                assert sender.query('up{job="other-workload"}')
                wait_until(lambda: a.query('up{job="other-workload"}'), 30, what="job other-workload in receiver A")
                assert b.query('{job="other-workload"}') == []
    finally:
        srv.stop()


def test_the_operator_rendering_says_what_prometheus_yml_says():
    """kube-prometheus-stack's remoteWrite and prometheus.yml's remote_write: same URL, queue, headers, relabelling."""
    import re

    config = settings(remote_write_url=URL, remote_write_headers={"X-Scope-OrgID": "qa"},
                      remote_write_queue={"capacity": 5000, "max_shards": 4, "min_backoff": "100ms"})

    def snake(node):
        if isinstance(node, dict):
            return {re.sub(r"(?<!^)([A-Z])", r"_\1", k).lower(): v if k == "headers" else snake(v)
                    for k, v in node.items()}
        return [snake(v) for v in node] if isinstance(node, list) else node

    for shared in (False, True):
        assert snake(remote_write.operator_entry(config, shared=shared)) == remote_write.prometheus_entry(config, shared=shared)
    basic = settings(remote_write_url=URL, remote_write_username="u", remote_write_password_file="/run/pw")
    entry = remote_write.operator_entry(basic, auth="basic", secret_name="rw")
    assert entry["basicAuth"] == {"username": {"name": "rw", "key": "username"}, "password": {"name": "rw", "key": "password"}}
