"""alertmanager.yml passes amtool, and a real Alertmanager sends the Slack message it describes."""

import http.server
import json
import shutil
import subprocess
import threading

import pytest
import yaml

from rq_obs.stack import alertmanager
from tests.helpers.procs import ALERTMANAGER, AlertmanagerProcess, need, wait_until
from tests.stack.conftest import load, make_config

AMTOOL = shutil.which("amtool")


@pytest.mark.parametrize("changes", [{}, {"alerts_to": "none"}])
def test_amtool_check_config_passes(write_stack, changes):
    out = write_stack(make_config(**changes))
    cp = subprocess.run([need(AMTOOL, "prometheus-alertmanager"), "check-config", str(out / alertmanager.PATH)],
                        capture_output=True, text=True)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "SUCCESS" in cp.stdout and "2 receivers" in cp.stdout


def test_routes_by_severity_and_reads_the_webhook_from_a_file(write_stack):
    doc = load(write_stack(make_config(slack_channel="#qa")) / alertmanager.PATH)
    assert [(r["matchers"], r["receiver"]) for r in doc["route"]["routes"]] == [
        (['severity="critical"'], "critical"), (['severity="warning"'], "warning")]
    for receiver in doc["receivers"]:
        (slack,) = receiver["slack_configs"]
        assert slack["api_url_file"] == "/run/alertmanager/slack_webhook_url"
        assert "api_url" not in slack and slack["channel"] == "#qa"


def test_without_slack_receivers_have_no_notifier(write_stack):
    doc = load(write_stack(make_config(alerts_to="none")) / alertmanager.PATH)
    assert doc["receivers"] == [{"name": "critical"}, {"name": "warning"}]


def test_no_file_without_alertmanager(write_stack):
    assert not (write_stack(make_config(alertmanager=False)) / alertmanager.PATH).exists()


#: a critical alert with a runbook and a warning without, as Prometheus would send them
ALERTS = [
    {"labels": {"alertname": "RqObsPassRateBelowSLO", "severity": "critical", "suite": "demo"},
     "annotations": {"summary": "Pass rate 70% is below the 85% SLO",
                     "description": "Suite demo passed 70% of tests over 1h.",
                     "runbook_url": "https://example.invalid/runbooks#pass-rate"}},
    {"labels": {"alertname": "RqObsFlakyTests", "severity": "warning", "suite": "demo"},
     "annotations": {"summary": "3 flaky tests", "description": "Three tests flip between outcomes."}},
]


class _Slack(http.server.BaseHTTPRequestHandler):
    posts: list = []

    def do_POST(self):  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).posts.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_real_alertmanager_posts_summary_and_description_to_slack(write_stack, tmp_path):
    """The generated routes and templates, run by Alertmanager 0.25 against a fake Slack endpoint."""
    exe = need(ALERTMANAGER, "prometheus-alertmanager")
    _Slack.posts = []
    slack = http.server.HTTPServer(("127.0.0.1", 0), _Slack)
    threading.Thread(target=slack.serve_forever, daemon=True).start()
    webhook = tmp_path / "slack_webhook_url"
    webhook.write_text(f"http://127.0.0.1:{slack.server_port}/services/T000/B000/XXXX")
    doc = load(write_stack() / alertmanager.PATH)
    # Test-only changes: our webhook file, and no 30 s grouping delay.
    doc["route"]["group_wait"] = "0s"
    for receiver in doc["receivers"]:
        receiver["slack_configs"][0]["api_url_file"] = str(webhook)
    config = tmp_path / "alertmanager.yml"
    config.write_text(yaml.safe_dump(doc))
    try:
        with AlertmanagerProcess(exe, config, tmp_path) as am:
            am.post_alerts(ALERTS)
            wait_until(lambda: len(_Slack.posts) >= 2, 30, what="two Slack posts")
    finally:
        slack.shutdown()
    by_title = {p["attachments"][0]["title"]: (path, p) for path, p in _Slack.posts}
    path, crit = by_title["[FIRING:1] RqObsPassRateBelowSLO: Pass rate 70% is below the 85% SLO"]
    assert path == "/services/T000/B000/XXXX" and crit["channel"] == "#rq-obs-alerts"
    assert crit["attachments"][0]["color"] == "danger"
    assert crit["attachments"][0]["text"] == ("*Pass rate 70% is below the 85% SLO* (critical)\n"
                                              "Suite demo passed 70% of tests over 1h.\n"
                                              "Runbook: https://example.invalid/runbooks#pass-rate\n")
    _, warn = by_title["[FIRING:1] RqObsFlakyTests: 3 flaky tests"]
    assert warn["attachments"][0]["color"] == "warning"
    assert warn["attachments"][0]["text"] == "*3 flaky tests* (warning)\nThree tests flip between outcomes.\n"
