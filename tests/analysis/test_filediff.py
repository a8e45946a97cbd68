"""rq-obs impact FILE --diff and GET /api/v1/impact/diff/FILE: each change's diff is difflib's diff of the two
versions, beside the figures `rq-obs impact` prints; secrets never reach the store or the output; versions the
store lacks come from git; a real `rq-obs serve` fed by `rq-obs push` answers what the CLI prints."""

import difflib
import hashlib
import json
import os
import sys
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from rq_obs.store import Store
from rq_obs.telemetry.tracked import tracked_states
from tests.analysis.history import DAY, HOUR, add_run
from tests.analysis.test_impact import NOW, SKILL, _commit, _git
from tests.helpers.cli import run_cli

V1 = b"# Router\n\nRoute billing questions to billing.\nRoute refunds to billing.\n\n## Rules\n- be brief\n"
V2 = b"# Router\n\nRoute billing questions to billing.\nRoute refunds to support.\n\n## Rules\n- be brief\n- escalate\n"
V3 = b"# Router\n\nRoute refunds to support.\n\n## Rules\n- escalate\n\n## Examples\n- refund -> support\n"
GH_TOKEN = "ghp_" + "Zq7Xw2Lk9Vb4Nm1Pr8Ts3Yu6Cd5Fg0Hj2Ka9Qe"  # a planted secret, in GitHub's token format
PASSWORD = "hunter2-but-longer"
V2_SECRET = V2 + f"\nexample call: curl -H 'Authorization: token {GH_TOKEN}'\nDB_PASSWORD = {PASSWORD}\n".encode()


def _diff(a: bytes, b: bytes) -> list[str]:
    return list(difflib.unified_diff(a.decode().splitlines(), b.decode().splitlines(), f"a/{SKILL}", f"b/{SKILL}",
                                     lineterm=""))


def _history(tmp_path, versions, *, keep_texts=True):
    """8 runs per version, a day apart per version; runs capture the file through the plugin's tracked_states.
    t_refund passes only under V1 and V3, t_escalate only from V2 on."""
    root = tmp_path / "proj"
    (root / SKILL).parent.mkdir(parents=True)
    store = Store(tmp_path / "store.db")
    for k, content in enumerate(versions):
        (root / SKILL).write_bytes(content)
        for i in range(8):
            if keep_texts:
                (state,) = tracked_states(store, root, "suite", ["**/SKILL.md"])
                sha = state.sha256
                if k and not i:  # lines counted from the kept (redacted) previous content agree with the diff
                    d = _diff(versions[k - 1], content)[2:]
                    assert (state.lines_added, state.lines_removed) == (
                        sum(x.startswith("+") for x in d), sum(x.startswith("-") for x in d))
            else:
                sha = hashlib.sha256(content).hexdigest()
            refund = "passed" if k != 1 or i % 4 == 0 else "failed"
            escalate = "passed" if k >= 1 and i % 3 else "failed"
            add_run(store, f"v{k}r{i}", NOW - (6 - 2 * k) * DAY + i * HOUR,
                    [("t_refund", refund), ("t_escalate", escalate), ("t_ok", "passed")], tracked=[(SKILL, sha)])
    return store


def _impact_json(store):
    r = run_cli("impact", SKILL, "--all", "--store", store.path, "--format", "json")
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_diff_at_each_change_is_difflibs_beside_impacts_figures(tmp_path):
    store = _history(tmp_path, [V1, V2, V3])
    r = run_cli("impact", SKILL, "--diff", "--store", store.path, "--format", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    changes = doc["changes"]
    assert [c["diff"] for c in changes] == [_diff(V1, V2), _diff(V2, V3)]
    assert [c["diff_sources"] for c in changes] == [["store", "store"], ["store", "store"]]
    assert [(c["old_sha256"], c["new_sha256"]) for c in changes] == [
        (hashlib.sha256(a).hexdigest(), hashlib.sha256(b).hexdigest()) for a, b in ((V1, V2), (V2, V3))]
    # the figures beside each diff are rq-obs impact's, all of them
    plain = _impact_json(store)
    strip = ("diff", "diff_sources", "missing_contents")
    assert [{k: v for k, v in c.items() if k not in strip} for c in changes] == plain["changes"]
    assert (doc["window"], doc["alpha"]) == (plain["window"], plain["alpha"])
    # and they are the history's: 24 first attempts a side; t_refund 8/8 -> 2/8 at the first change, back at the second
    first, second = changes
    assert (first["before"]["passed"], first["before"]["counted"]) == (8 + 0 + 8, 24)
    assert (first["after"]["passed"], first["after"]["counted"]) == (2 + 5 + 8, 24)
    assert first["delta"] == pytest.approx(15 / 24 - 16 / 24)
    assert {t["test"]: t["delta"] for t in second["tests"]} == {"t_escalate": 0.0, "t_ok": 0.0,
                                                                "t_refund": pytest.approx(1 - 2 / 8)}

    text = run_cli("impact", SKILL, "--diff", "--store", store.path)
    assert text.code == 0, text.err
    plain_text = run_cli("impact", SKILL, "--all", "--store", store.path).out.splitlines()
    heads = [i for i, line in enumerate(plain_text) if not line.startswith(" ")] + [len(plain_text)]
    blocks = [plain_text[a:b] for a, b in zip(heads, heads[1:])]
    diffs = (_diff(V1, V2), _diff(V2, V3))
    assert text.out == "\n\n".join("\n".join(block + d) for block, d in zip(blocks, diffs)) + "\n"


def test_secrets_never_reach_the_store_or_the_diff(tmp_path):
    store = _history(tmp_path, [V1, V2_SECRET])
    r = run_cli("impact", SKILL, "--diff", "--store", store.path, "--format", "json")
    assert r.code == 0, r.err
    (change,) = json.loads(r.out)["changes"]
    redacted = V2.decode() + "\n<redacted: GitHub token>\nDB_PASSWORD = <redacted: secret-named value>\n"
    assert change["diff"] == _diff(V1, redacted.encode())
    text = run_cli("impact", SKILL, "--diff", "--store", store.path).out
    store.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("store.db*"))
    for secret in (GH_TOKEN, PASSWORD):
        assert secret not in r.out and secret not in text
        assert secret.encode() not in stored
    assert "+<redacted: GitHub token>" in text.splitlines()


def test_versions_missing_from_the_store_come_from_git_redacted(tmp_path):
    repo = tmp_path / "proj"
    repo.mkdir()
    _git(repo, "init", "-q")
    _commit(repo, {SKILL: V1}, NOW - 7 * DAY, "skill v1")
    _commit(repo, {SKILL: V2_SECRET}, NOW - 5 * DAY, "skill v2")
    store = _history(tmp_path / "s", [V1, V2_SECRET], keep_texts=False)  # a store from before contents were kept
    r = run_cli("--project", repo, "impact", SKILL, "--diff", "--store", store.path, "--format", "json")
    assert r.code == 0, r.err
    (change,) = json.loads(r.out)["changes"]
    assert change["diff_sources"] == ["git", "git"]
    redacted = V2.decode() + "\n<redacted: GitHub token>\nDB_PASSWORD = <redacted: secret-named value>\n"
    assert change["diff"] == _diff(V1, redacted.encode())
    assert GH_TOKEN not in r.out
    # without the history: the figures, and which version is missing
    other = tmp_path / "empty"
    other.mkdir()
    r = run_cli("--project", other, "impact", SKILL, "--diff", "--store", store.path)
    assert r.code == 0, r.err
    h1, h2 = hashlib.sha256(V1).hexdigest()[:12], hashlib.sha256(V2_SECRET).hexdigest()[:12]
    assert r.out.splitlines()[-1] == (f"  (no diff: the content of versions {h1}, {h2} are neither in the store nor in "
                                      "the project's git history)")


def test_untracked_file_one_version_and_no_file_are_clear_errors(tmp_path):
    store = _history(tmp_path, [V1])
    r = run_cli("impact", SKILL, "--diff", "--store", store.path)
    assert r.code == 2 and r.out == ""
    assert f"{SKILL!r} has 1 recorded version ({hashlib.sha256(V1).hexdigest()[:12]}) and no recorded change" in r.err
    r = run_cli("impact", "prompts/none.md", "--diff", "--store", store.path)
    assert r.code == 2
    assert f"'prompts/none.md' is not a tracked file in {store.path}" in r.err and f"tracked files: {SKILL}" in r.err
    r = run_cli("impact", "--diff", "--store", store.path)
    assert r.code == 2 and "--diff needs FILE" in r.err


def _get(url, accept=None):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def _diff_links() -> dict[str, str]:
    """url -> title of the panels linking to the diff endpoint in the skills dashboard as generated."""
    from rq_obs.config import Config
    from rq_obs.dashboards import render_all

    doc = render_all(Config())["skills"]
    found = {}
    for p in [p for row in doc["panels"] for p in [row, *row.get("panels", [])]]:
        fc = p.get("fieldConfig", {})
        links = fc.get("defaults", {}).get("links", []) + [
            link for o in fc.get("overrides", []) for prop in o["properties"] if prop["id"] == "links"
            for link in prop["value"]]
        for link in links:
            if "/api/v1/impact/diff/" in link["url"]:
                found[link["url"]] = found.get(link["url"], ()) + (p["title"],)
                assert "rq-obs impact FILE --diff" in p["description"], p["title"]
    return found


def test_skills_dashboard_links_tracked_file_panels_to_the_diff():
    assert _diff_links() == {
        "${serve_url}/api/v1/impact/diff/${__field.labels.path:percentencode}": (
            "Tracked-file change timeline", "Pass-rate change of the last change"),
        "${serve_url}/api/v1/impact/diff/${__data.fields.path:percentencode}": ("Current file hashes",)}
    doc = json.loads((Path(__file__).parents[2] / "dashboards" / "skills.json").read_text())
    (var,) = [v for v in doc["templating"]["list"] if v["name"] == "serve_url"]
    assert (var["type"], var["query"]) == ("textbox", "http://127.0.0.1:9464")


TOKEN = "test-token-5b0c"


def test_real_serve_fed_by_push_answers_what_the_cli_prints(tmp_path):
    """CI's store pushed to a real `rq-obs serve` on an empty store: its endpoint answers what the CLI prints on
    CI's store, for JSON, for the text a browser gets and through the skills dashboard's links."""
    from rq_obs.demo.processes import Service, Services

    store = _history(tmp_path, [V1, V2_SECRET, V3])
    cli_json = run_cli("impact", SKILL, "--diff", "--store", store.path, "--format", "json").out
    cli_text = run_cli("impact", SKILL, "--diff", "--store", store.path).out
    assert json.loads(cli_json)["changes"][0]["diff_sources"] == ["store", "store"]
    store.close()
    served = tmp_path / "served" / "store.db"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RQ_OBS_")}, "RQ_OBS_TOKEN": TOKEN}
    with Services() as services:
        srv = services.start_on_free_port(lambda port: Service(
            "rq-obs serve", f"http://127.0.0.1:{port}",
            [sys.executable, "-m", "rq_obs", "serve", "--store", str(served), "--port", str(port),
             "--log-level", "warning"], tmp_path / "serve.log", ready_path="/healthz", cwd=str(tmp_path), env=env))
        pushed = run_cli("push", "--store", store.path, "--url", srv.url, "--token", TOKEN, "--format", "json")
        assert pushed.code == 0, pushed.err
        base = f"{srv.url}/api/v1/impact/diff/"
        status, ctype, body = _get(base + SKILL)
        assert (status, ctype) == (200, "application/json; charset=utf-8")
        assert json.loads(body) == json.loads(cli_json)
        status, ctype, body = _get(base + SKILL.replace("/", "%2F"), "text/html,application/xhtml+xml,*/*;q=0.8")
        assert (status, ctype, body) == (200, "text/plain; charset=utf-8", cli_text)
        # the skills dashboard's links, followed as Grafana fills them in, answer the CLI's text
        for url in _diff_links():
            filled = (url.replace("${serve_url}", srv.url)
                      .replace("${__field.labels.path:percentencode}", quote(SKILL, safe=""))
                      .replace("${__data.fields.path:percentencode}", quote(SKILL, safe="")))
            assert _get(filled, "text/html,*/*;q=0.8") == (200, "text/plain; charset=utf-8", cli_text), url
        status, _, body = _get(base + "prompts/none.md")
        assert status == 404 and "'prompts/none.md' is not a tracked file" in json.loads(body)["error"]
        status, _, body = _get(base.rstrip("/"))
        assert status == 400 and "name the tracked file" in json.loads(body)["error"]
        # a client that sends a raw secret in a content: serve redacts it before storing
        raw = {"run_id": "raw-1", "suite": "other", "started_at": NOW, "finished_at": NOW + 1,
               "tracked_files": [{"path": "p/SKILL.md", "sha256": "ab" * 32, "content": f"token: {GH_TOKEN}\n"}]}
        req = urllib.request.Request(srv.url + "/api/v1/runs", json.dumps(raw).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 201
    stored = b"".join(p.read_bytes() for p in served.parent.glob("store.db*"))
    assert GH_TOKEN.encode() not in stored and PASSWORD.encode() not in stored
    assert b"token: <redacted: secret-named value>" in stored


def test_raw_contents_kept_by_earlier_versions_are_dropped(tmp_path):
    from rq_obs.telemetry.tracked import TELEMETRY_MIGRATIONS

    old = Store(tmp_path / "store.db")
    old.ensure("telemetry", TELEMETRY_MIGRATIONS[:1])  # a store written before contents were redacted
    with old.transaction() as conn:
        conn.execute("INSERT INTO tracked_file_blobs (sha256, content) VALUES (?, ?)",
                     (hashlib.sha256(V2_SECRET).hexdigest(), V2_SECRET))
    old.close()
    root = tmp_path / "proj"
    (root / SKILL).parent.mkdir(parents=True)
    (root / SKILL).write_bytes(V1)
    store = Store(tmp_path / "store.db")
    tracked_states(store, root, "suite", ["**/SKILL.md"])
    assert store.schema_version("telemetry") == 2
    assert not store.query("SELECT 1 FROM sqlite_master WHERE name = 'tracked_file_blobs'")
    assert [tuple(r) for r in store.query("SELECT sha256, text, redactions FROM tracked_file_texts")] == [
        (hashlib.sha256(V1).hexdigest(), V1.decode(), 0)]
