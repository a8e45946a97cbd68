"""Microsoft Teams alerts (alerts_to = teams | both): Alertmanager 0.28.1 built from its Go module runs the
generated alertmanager.yml and posts Teams Workflows Adaptive Cards (msteamsv2_configs) to a local
Teams-compatible sink, while Slack still gets its message; Grafana gets a `teams` integration whose URL is
an environment reference; Compose refuses to start without the Teams webhook."""

from __future__ import annotations

import http.server
import json
import subprocess
import threading

import yaml

from rq_obs.rules import grafana
from rq_obs.stack import alertmanager
from tests.helpers.procs import AlertmanagerProcess, need_tool, wait_until
from tests.stack.conftest import load, make_config
from tests.stack.test_alertmanager import ALERTS

class _Sink(http.server.BaseHTTPRequestHandler):
    """Answers as a Teams Workflows webhook does (202) and keeps what was posted, by path."""
    posts: list = []

    def do_POST(self):  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).posts.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def _card_texts(post: dict) -> list[str]:
    assert post["type"] == "message"
    (attachment,) = post["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    return [block["text"] for block in card["body"] if block.get("type") == "TextBlock"]


def test_alertmanager_0_28_delivers_teams_cards_and_slack_messages(write_stack, tmp_path):
    exe = need_tool("alertmanager", ".ci/tools/build-alertmanager.sh builds Alertmanager 0.28.1 from its Go module")
    version = subprocess.run([exe, "--version"], capture_output=True, text=True)
    assert "version 0.28.1" in version.stdout + version.stderr
    _Sink.posts = []
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    files = {"slack": tmp_path / "slack_webhook_url", "teams": tmp_path / "teams_webhook_url"}
    files["slack"].write_text(f"http://127.0.0.1:{sink.server_port}/services/T000/B000/XXXX")
    files["teams"].write_text(f"http://127.0.0.1:{sink.server_port}/workflows/abc/triggers/manual/run")
    doc = load(write_stack(make_config(alerts_to="both")) / alertmanager.PATH)
    doc["route"]["group_wait"] = "0s"  # test-only: no 30 s grouping delay, and our webhook files
    for receiver in doc["receivers"]:
        assert receiver["msteamsv2_configs"][0]["webhook_url_file"] == alertmanager.TEAMS_WEBHOOK_FILE
        receiver["msteamsv2_configs"][0]["webhook_url_file"] = str(files["teams"])
        receiver["slack_configs"][0]["api_url_file"] = str(files["slack"])
    config = tmp_path / "alertmanager.yml"
    config.write_text(yaml.safe_dump(doc))
    try:
        with AlertmanagerProcess(exe, config, tmp_path) as am:
            am.post_alerts(ALERTS)
            wait_until(lambda: len(_Sink.posts) >= 4, 30, what="two Teams cards and two Slack messages",
                       describe=lambda: (_Sink.posts, am.log.read_text()[-1500:]))
    finally:
        sink.shutdown()
    teams = [(ctype, _card_texts(p)) for path, ctype, p in _Sink.posts if path.startswith("/workflows/")]
    slack = [p for path, _, p in _Sink.posts if path.startswith("/services/")]
    assert len(slack) == 2 and {p["channel"] for p in slack} == {"#rq-obs-alerts"}
    by_title = {texts[0]: (ctype, texts[1:]) for ctype, texts in teams}
    assert sorted(by_title) == ["[FIRING:1] RqObsFlakyTests: 3 flaky tests",
                                "[FIRING:1] RqObsPassRateBelowSLO: Pass rate 70% is below the 85% SLO"]
    ctype, body = by_title["[FIRING:1] RqObsPassRateBelowSLO: Pass rate 70% is below the 85% SLO"]
    assert ctype == "application/json"
    assert body == ["**Pass rate 70% is below the 85% SLO** (critical)\n\nSuite demo passed 70% of tests over 1h.\n\n"
                    "[Runbook](https://example.invalid/runbooks#pass-rate)\n\n"]
    _, body = by_title["[FIRING:1] RqObsFlakyTests: 3 flaky tests"]
    assert body == ["**3 flaky tests** (warning)\n\nThree tests flip between outcomes.\n\n"]


def test_grafana_gets_a_teams_integration_from_the_environment(tmp_path):
    files = grafana.render(make_config(alerts_to="teams", teams_webhook_env="QA_TEAMS_URL"))
    cp = yaml.safe_load(files[grafana.CONTACT_POINTS_PATH])["contactPoints"][0]
    assert cp["name"] == "rq-obs-teams"
    (integration,) = cp["receivers"]
    assert (integration["type"], integration["settings"]["url"]) == ("teams", "${QA_TEAMS_URL}")
    policies = yaml.safe_load(files[grafana.POLICIES_PATH])["policies"][0]
    assert {policies["receiver"], *(r["receiver"] for r in policies["routes"])} == {"rq-obs-teams"}
    both = yaml.safe_load(grafana.render(make_config(alerts_to="both"))[grafana.CONTACT_POINTS_PATH])
    assert [(r["uid"], r["type"], r["settings"]["url"]) for r in both["contactPoints"][0]["receivers"]] == [
        ("rq-obs-slack", "slack", "${SLACK_WEBHOOK_URL}"), ("rq-obs-teams", "teams", "${TEAMS_WEBHOOK_URL}")]
    assert "http" not in json.dumps(both)  # no URL is ever written


def test_compose_requires_the_teams_webhook_and_writes_it_to_a_tmpfs(write_stack, tmp_path):
    out = write_stack(make_config(alerts_to="teams"))
    doc = load(out / "docker-compose.yml")
    am = doc["services"]["alertmanager"]
    assert am["environment"] == {"TEAMS_WEBHOOK_URL": "${TEAMS_WEBHOOK_URL:?set TEAMS_WEBHOOK_URL to the Microsoft "
                                 "Teams Workflows webhook URL (or build with alerts_to = none)}"}
    assert alertmanager.WEBHOOK_DIR in am["tmpfs"]
    assert f'"$$TEAMS_WEBHOOK_URL" > {alertmanager.TEAMS_WEBHOOK_FILE}' in am["entrypoint"][2]
    assert "SLACK_WEBHOOK_URL" not in json.dumps(doc)
    assert doc["services"]["grafana"]["environment"]["TEAMS_WEBHOOK_URL"].startswith("${TEAMS_WEBHOOK_URL:?")
    # docker-compose refuses to render the file without the webhook, naming it
    cp = subprocess.run(["docker-compose", "-f", str(out / "docker-compose.yml"), "config", "-q"],
                        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert cp.returncode != 0 and "TEAMS_WEBHOOK_URL" in cp.stderr


def test_validate_checks_a_teams_stack_with_the_amtool_that_knows_teams(write_stack):
    need_tool("amtool", ".ci/tools/build-alertmanager.sh builds amtool 0.28.1 from its Go module")
    from rq_obs.stack.validate import validate_dir

    out = write_stack(make_config(alerts_to="both"))
    (check,) = [c for c in validate_dir(out) if c.name == "amtool check-config"]
    assert check.ok, check.detail
    doc = load(out / alertmanager.PATH)
    doc["receivers"][0]["msteamsv2_configs"][0]["webhook_url_file"] = ""  # neither a URL nor a file
    (out / alertmanager.PATH).write_text(yaml.safe_dump(doc))
    (check,) = [c for c in validate_dir(out) if c.name == "amtool check-config"]
    assert not check.ok and "one of webhook_url or webhook_url_file must be configured" in check.detail
