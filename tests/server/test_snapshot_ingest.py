"""POST /api/v1/snapshots and `rq-obs push` of release snapshots against a real server.

What a deployed `rq-obs serve` publishes for releases must come from snapshots pushed to it: the
release metrics on /metrics are the pushed snapshots' values; a re-push changes nothing; a bad
document is refused naming the field and changes nothing; no secret reaches the server's store.
"""

from __future__ import annotations

import http.server
import json
import sqlite3
import threading
from pathlib import Path

import pytest

from rq_obs.catalog import M
from rq_obs.errors import RqObsError
from rq_obs.push import push_snapshots
from rq_obs.snapshot.environment import redact_environment
from rq_obs.snapshot.store import MIGRATIONS, document_of, pending_snapshots, save_snapshot
from rq_obs.store import Store
from tests.helpers.cli import run_cli
from tests.helpers.procs import free_port
from tests.server.conftest import TOKEN, request
from tests.server.snapshots import SCORE2, local_store, snap_v1, snap_v2
from tests.server.test_ingest import total
from tests.server.test_metrics import samples, value

@pytest.fixture
def local(tmp_path) -> Store:
    return local_store(tmp_path / "local.db")


def rows(store: Store) -> list[tuple]:
    store.ensure("release", MIGRATIONS)
    return [tuple(r) for r in store.query(
        "SELECT release, created_at, commit_sha, document, revision FROM release_snapshots ORDER BY release")]


def post(srv, body: bytes | dict, token: str | None = TOKEN, content_type: str = "application/json"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return request(srv.url + "/api/v1/snapshots", data, headers)


def store_bytes(path: Path) -> bytes:
    return b"".join(Path(str(path) + s).read_bytes() for s in ("", "-wal", "-shm") if Path(str(path) + s).exists())


# --- the release metrics of a deployed server come from pushed snapshots -------------------------------


def test_pushed_snapshots_are_what_the_release_metrics_publish(serve, tmp_path, local):
    srv = serve(Store(tmp_path / "server.db"))
    before = samples(srv.metrics().body.decode())
    assert value(before, M.QUALITY_SCORE.name, release="1.5.0") is None  # nothing until pushed

    report = push_snapshots(local, srv.url, TOKEN)
    assert (report.stored, report.replaced, report.duplicates, report.pending) == (["1.4.0", "1.5.0"], [], [], 0)
    assert pending_snapshots(local) == []
    assert [r[:4] for r in rows(srv.store)] == [r[:4] for r in rows(local)]  # stored as taken, byte for byte

    s = samples(srv.metrics().body.decode())
    v = lambda metric, **labels: value(s, metric, **labels)  # noqa: E731
    assert v(M.QUALITY_SCORE.name, release="1.4.0") == 91.25
    assert v(M.QUALITY_SCORE.name, release="1.5.0") == 63.5
    assert v(M.QUALITY_DIMENSION.name, release="1.5.0", dimension="test_coverage") == 61.0
    assert v(M.QUALITY_DIMENSION.name, release="1.5.0", dimension="performance") == 50.0
    assert v(M.QUALITY_DIMENSION_MISSING.name, release="1.5.0", dimension="documentation") == 1
    assert v(M.QUALITY_DIMENSION_MISSING.name, release="1.4.0", dimension="performance") == 1
    assert v(M.RELEASE.info, release="1.5.0", commit="dddddddddddd") == 1
    assert v(M.RELEASE_TIMESTAMP.name, release="1.5.0") == 1_795_086_400.0
    assert v(M.RELEASE_PASS_RATE.name, release="1.5.0") == 37 / 40
    assert v(M.RELEASE_COVERAGE.name, release="1.4.0") == 0.88
    assert v(M.DEPENDENCIES.name, release="1.4.0", kind="direct") == 1
    assert v(M.DEPENDENCIES.name, release="1.4.0", kind="transitive") == 2
    assert v(M.DEPENDENCIES.name, release="1.5.0", kind="direct") == 2
    assert v(M.DEPENDENCIES.name, release="1.5.0", kind="transitive") == 2
    changes = {c: v(M.DEPENDENCY_CHANGES.name, release="1.5.0", change=c)
               for c in ("added", "removed", "major", "minor", "patch", "other")}
    assert changes == {"added": 2, "removed": 1, "major": 0, "minor": 1, "patch": 0, "other": 0}
    vulns = {sev: v(M.VULNERABILITIES.name, release="1.5.0", severity=sev)
             for sev in ("critical", "high", "medium", "low", "unknown")}
    assert vulns == {"critical": 1, "high": 0, "medium": 2, "low": 0, "unknown": 0}
    assert v(M.VULNERABILITIES.name, release="1.4.0", severity="critical") == 0  # scanned, none found
    assert v(M.LICENSES.name, release="1.5.0", license="BSD-3-Clause") == 3
    assert v(M.LICENSES.name, release="1.5.0", license="MIT") == 1
    assert v(M.BENCHMARK_SECONDS.name, release="1.4.0", operation="parse", stat="p50") == 0.02
    assert v(M.BENCHMARK_SECONDS.name, release="1.4.0", operation="parse", stat="max") == 0.0204
    # the regression is computed by the server from the pushed benchmarks: medians 0.02 -> 0.03
    assert v(M.REGRESSIONS.name, release="1.5.0", severity="critical") == 1
    assert v(M.REGRESSIONS.name, release="1.5.0", severity="minor") == 0
    assert v(M.REGRESSION_RATIO.name, release="1.5.0", operation="parse", severity="critical") == pytest.approx(0.5,
                                                                                                              abs=1e-12)
    assert v(M.ENV_CPU_CORES.name, release="1.5.0", kind="logical") == 16
    assert v(M.ENV_MEMORY.name, release="1.5.0") == 34359738368
    assert v(M.ENV_DRIFT.name, release="1.5.0") == 2  # cores_logical and memory.total_bytes differ
    assert v(M.INGEST_SNAPSHOTS.total, result="stored") == 2
    assert v(M.INGEST_SNAPSHOTS.total, result="duplicate") == 0
    assert v(M.INGEST_SNAPSHOTS.total, result="rejected") == 0


def test_a_repush_changes_nothing(serve, tmp_path, local):
    srv = serve(Store(tmp_path / "server.db"))
    assert push_snapshots(local, srv.url, TOKEN).stored == ["1.4.0", "1.5.0"]
    stored = rows(srv.store)
    # nothing pending: no request is made (the URL has nobody listening)
    assert push_snapshots(local, f"http://127.0.0.1:{free_port()}", TOKEN, retries=0).pushed == 0
    # a lost reply (pushed_at not set locally) is harmless: the server answers duplicate and writes nothing
    local.connect().execute("UPDATE release_snapshots SET pushed_at = NULL")
    again = push_snapshots(local, srv.url + "/api/v1/runs", TOKEN)  # either ingest URL names the server
    assert (again.stored, again.replaced, again.duplicates) == ([], [], ["1.4.0", "1.5.0"])
    assert rows(srv.store) == stored  # same documents, same revisions
    assert total(srv.store, M.INGEST_SNAPSHOTS.total, result="stored") == 2
    assert total(srv.store, M.INGEST_SNAPSHOTS.total, result="duplicate") == 2
    reply = post(srv, json.loads(stored[1][3]))
    assert (reply.status, reply.json()) == (200, {"release": "1.5.0", "stored": False, "replaced": False,
                                                  "duplicate": True})
    assert rows(srv.store) == stored


def test_a_new_snapshot_of_a_release_replaces_it_as_locally(serve, tmp_path, local):
    srv = serve(Store(tmp_path / "server.db"))
    push_snapshots(local, srv.url, TOKEN)
    assert value(srv.metrics().body.decode(), M.QUALITY_SCORE.name, release="1.5.0") == 63.5
    # re-snapshotting 1.5.0 locally (same time stamp, another score) makes it pending again
    assert save_snapshot(local, snap_v2({**SCORE2, "total": 58.0})) is True
    assert pending_snapshots(local) == [("1.5.0", 2)]
    report = push_snapshots(local, srv.url, TOKEN)
    assert (report.stored, report.replaced, report.duplicates) == ([], ["1.5.0"], [])
    assert [r[4] for r in rows(srv.store)] == [1, 2]  # 1.5.0 is at its second revision
    assert json.loads(rows(srv.store)[1][3])["score"]["total"] == 58.0
    # the release collector's cache is keyed on the revision: the replaced document is published at once
    assert value(srv.metrics().body.decode(), M.QUALITY_SCORE.name, release="1.5.0") == 58.0
    assert total(srv.store, M.INGEST_SNAPSHOTS.total, result="stored") == 3


def test_a_snapshot_replaced_while_being_pushed_stays_pending(serve, tmp_path, local):
    srv = serve(Store(tmp_path / "server.db"))
    from rq_obs.snapshot.store import mark_pushed

    push_snapshots(local, srv.url, TOKEN)
    save_snapshot(local, snap_v2({**SCORE2, "total": 10.0}))  # revision 2
    assert mark_pushed(local, "1.5.0", 1, 123.0) is False  # what a push of revision 1 would do now
    assert pending_snapshots(local) == [("1.5.0", 2)]


# --- refused requests ------------------------------------------------------------------------


def _dump(store: Store) -> list[str]:
    """The whole store as SQL, but for the counter of refused snapshot pushes (the one thing a 400 writes)."""
    conn = sqlite3.connect(store.path)
    try:
        return [line for line in conn.iterdump()
                if not (M.INGEST_SNAPSHOTS.total in line and '"rejected"' in line)]
    finally:
        conn.close()


def _with(doc: dict, path: str, value) -> dict:
    doc = json.loads(json.dumps(doc))
    *parents, last = path.split(".")
    at = doc
    for p in parents:
        at = at[int(p)] if isinstance(at, list) else at[p]
    if value is KeyError:
        del at[last]
    elif isinstance(at, list):
        at[int(last)] = value
    else:
        at[last] = value
    return doc


BAD = [
    ("release", "v 1", "request body: field 'release' is 'v 1'; expected 1-128 characters of letters, digits and "
                       "_.+:/@- starting with a letter or digit"),
    ("created_at", KeyError, "request body: field 'created_at' is missing"),
    ("created_at", -5, "request body: field 'created_at' is -5; expected >= 0"),
    ("schema_version", 2, "request body: schema_version 2 is not supported (expected 1)"),
    ("quality.coverage", 61, "request body.quality: field 'coverage' is 61; expected between 0 and 1"),
    ("dependencies.1.kind", "dev", "request body.dependencies[1]: field 'kind' is 'dev'; expected direct or transitive"),
    ("dependencies.0.hashes", ["sha256:ab", 7], "request body.dependencies[0]: field 'hashes[1]' is 7; expected a string"),
    ("vulnerabilities.0.severity", "severe", "request body.vulnerabilities[0]: field 'severity' is 'severe'; expected "
                                             "one of critical, high, medium, low, unknown"),
    ("benchmarks.0.mean", "fast", "request body.benchmarks[0]: field 'mean' is 'fast'; expected an integer or a number"),
    ("score.total", "high", "request body.score: field 'total' is 'high'; expected an integer or a number"),
    ("score.dimensions.performance", 250, "request body.score.dimensions: field 'performance' is 250; expected between "
                                          "0 and 100"),
    ("tests.passed", -1, "request body.tests: field 'passed' is -1; expected >= 0"),
    ("environment.cpu.cores_logical", "16", "request body.environment.cpu: field 'cores_logical' is '16'; expected an "
                                            "integer"),
    ("environment.memory", [], "request body.environment: field 'memory' is []; expected an object"),
    ("environment.env.CI", 1, "request body.environment.env: field 'CI' is 1; expected a string"),
    ("resources.peak", 10 ** 30, "request body.resources.peak: is an integer too large to store (more than 64 bits)"),
    ("project", "\ud800", "request body.project: has a string with a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff "
                          "escape), which is not text"),
]


@pytest.mark.parametrize("path, bad, message", BAD, ids=[f"{p}={b!r}"[:40] for p, b, _ in BAD])
def test_a_bad_document_is_refused_naming_the_field_and_changes_nothing(serve, tmp_path, path, bad, message):
    srv = serve(Store(tmp_path / "server.db"))
    good = json.loads(document_of(snap_v2()))
    assert post(srv, json.loads(document_of(snap_v1()))).status == 201
    before = _dump(srv.store)
    body = json.dumps(_with(good, path, bad)).encode("utf-8")  # a lone surrogate goes out as its \ud800 escape
    reply = post(srv, body)
    assert (reply.status, reply.json()) == (400, {"error": message})
    assert _dump(srv.store) == before
    assert total(srv.store, M.INGEST_SNAPSHOTS.total, result="rejected") == 1
    assert post(srv, good).status == 201  # the same server takes the good document


@pytest.mark.parametrize("body, message", [
    (b'{"release": "1.0", "created_at": NaN}', "request body: not valid JSON (NaN is not allowed)"),
    (b'{"release": "1.0", "created_at": 1', "request body: not valid JSON (Expecting ',' delimiter at line 1 column 35)"),
    (b"\xff{}", "request body: not UTF-8 (invalid start byte at byte 0)"),
    (b"[1, 2]", "request body: expected a JSON object"),
])
def test_a_body_that_is_not_a_snapshot_document_is_refused(serve, tmp_path, body, message):
    srv = serve(Store(tmp_path / "server.db"))
    before = _dump(srv.store)
    reply = post(srv, body)
    assert (reply.status, reply.json()) == (400, {"error": message})
    assert _dump(srv.store) == before and rows(srv.store) == []


def test_same_token_and_limits_as_the_runs_route(serve, tmp_path):
    srv = serve(Store(tmp_path / "server.db"), max_payload_bytes=4096)
    doc = json.loads(document_of(snap_v1()))
    assert post(srv, doc, token=None).status == 401
    assert post(srv, doc, token="wrong").status == 401
    assert post(srv, doc, content_type="text/plain").status == 415
    big = _with(doc, "resources.padding", "x" * 5000)
    reply = post(srv, big)
    assert reply.status == 413 and reply.json()["error"].endswith("the limit is 4096 (max_payload_bytes)")
    assert rows(srv.store) == []
    no_token = serve(Store(tmp_path / "no-token.db"), token=None)
    reply = post(no_token, doc)
    assert reply.status == 503 and "ingest is disabled" in reply.json()["error"]
    assert rows(no_token.store) == []
    assert post(srv, doc).status == 201


# --- secrets -------------------------------------------------------------------------------------

SECRET_ENV = {
    "CI": "true-marker-7f3a",  # not secret: stored as sent (the control that the bytes are searched right)
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-secret-1",
    "GITHUB_TOKEN": "ghp_secret2xxxxxxxxxxxxxxxx",
    "DATABASE_URL": "postgres://admin:secret3-pw@db.internal/prod",
}


def _secret_doc() -> dict:
    doc = json.loads(document_of(snap_v1()))
    doc["environment"]["env"] = dict(SECRET_ENV)
    doc["environment"]["secrets_present"] = ["AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN"]
    doc["environment"]["config"] = {"project_name": "shop", "slack_webhook_url": "https://hooks.example/secret4"}
    doc["environment"]["vault"] = {"password": "secret5-hunter2", "url": "https://u:secret6@vault.example/"}
    return doc


SECRETS = [b"secret-1", b"secret2", b"secret3", b"secret4", b"secret5", b"secret6"]


def test_a_secret_sent_in_a_snapshot_never_reaches_the_server_store(serve, tmp_path):
    srv = serve(Store(tmp_path / "server.db"))
    reply = post(srv, _secret_doc())  # straight to the API: no client-side redaction
    assert reply.status == 201
    data = store_bytes(srv.store.path)
    assert b"true-marker-7f3a" in data  # the control: the stored document is in these bytes
    assert [s for s in SECRETS if s in data] == []
    env = json.loads(rows(srv.store)[0][3])["environment"]
    assert env["env"] == {"CI": "true-marker-7f3a", "AWS_SECRET_ACCESS_KEY": "<present>", "GITHUB_TOKEN": "<present>",
                          "DATABASE_URL": "postgres://***@db.internal/prod"}
    assert env["secrets_present"] == ["AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN"]
    assert env["config"] == {"project_name": "shop"}
    assert env["vault"] == {"password": "<present>", "url": "https://***@vault.example/"}
    # what was sent redacted is what is stored: sending it again is a duplicate
    assert post(srv, _secret_doc()).status == 200


def test_redact_environment_is_the_capture_filter_and_changes_nothing_twice():
    env = {"env": {"CI": "true", "RQ_OBS_TOKEN": "t0k", "PIP_INDEX_URL": "https://me:pw@pypi.example/simple"},
           "secrets_present": ["RQ_OBS_TOKEN"], "config": {"token": "***", "retention_days": 90,
                                                           "price_table": {"m": {"input": 1.0}}},
           "feature_flags": {"new_auth": True}, "hostname": "ci-1", "gpu": [{"model": "x", "api_key": "k"}]}
    redacted = redact_environment(env)
    assert redacted == {"env": {"CI": "true", "RQ_OBS_TOKEN": "<present>", "PIP_INDEX_URL": "https://***@pypi.example/simple"},
                        "secrets_present": ["RQ_OBS_TOKEN"], "config": {"retention_days": 90,
                                                                        "price_table": {"m": {"input": 1.0}}},
                        "feature_flags": {"new_auth": True}, "hostname": "ci-1",
                        "gpu": [{"model": "x", "api_key": "<present>"}]}
    assert redact_environment(redacted) == redacted
    assert list(redacted) == list(env)  # the order of the fields is kept


def test_push_redacts_before_sending(tmp_path):
    """A secret in a local store (written by an older rq-obs, or by hand) never leaves the machine."""
    local = Store(tmp_path / "local.db")
    save_snapshot(local, snap_v1())
    with local.transaction() as conn:
        conn.execute("UPDATE release_snapshots SET document = ?", (json.dumps(_secret_doc()),))
    bodies: list[bytes] = []

    class Capture(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            reply = json.dumps({"release": "1.4.0", "stored": True, "replaced": False, "duplicate": False}).encode()
            self.send_response(201)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        report = push_snapshots(local, f"http://127.0.0.1:{server.server_address[1]}", TOKEN)
    finally:
        server.shutdown()
        server.server_close()
    assert report.stored == ["1.4.0"] and len(bodies) == 1
    assert b"true-marker-7f3a" in bodies[0]
    assert [s for s in SECRETS if s in bodies[0]] == []


# --- the client ----------------------------------------------------------------------------------


def test_a_refused_snapshot_is_a_hard_error_naming_it(serve, tmp_path, local):
    srv = serve(Store(tmp_path / "server.db"))
    with pytest.raises(RqObsError, match=r"snapshot of release '1.4.0' refused with HTTP 401: missing or wrong bearer "
                                         r"token .*; 2 snapshot\(s\) still pending"):
        push_snapshots(local, srv.url, "not-the-token")
    assert len(pending_snapshots(local)) == 2 and rows(srv.store) == []


def test_unreachable_server_keeps_the_snapshots(local):
    sleeps: list[float] = []
    with pytest.raises(RqObsError, match=r"unreachable after 2 tries .*2 snapshot\(s\) still pending"):
        push_snapshots(local, f"http://127.0.0.1:{free_port()}", TOKEN, retries=1, backoff=0.25, sleep=sleeps.append)
    assert sleeps == [0.25] and len(pending_snapshots(local)) == 2


def test_push_command_sends_runs_then_snapshots(serve, tmp_path, local):
    from tests.server.runs import make_run
    from rq_obs.store import save_run

    save_run(local, make_run("r1", started=1_795_000_100.0))
    srv = serve(Store(tmp_path / "server.db"))
    local.close()
    res = run_cli("push", "--store", local.path, "--url", srv.url, "--no-snapshots", env={"RQ_OBS_TOKEN": TOKEN})
    assert res.code == 0, res.err
    assert res.out.splitlines() == [f"pushed 1 run(s) to {srv.url}: 1 stored, 0 already there",
                                    "pushed no snapshots (--no-snapshots); 2 snapshot(s) not pushed yet"]
    assert rows(srv.store) == []
    res = run_cli("push", "--store", local.path, "--url", srv.url, "--since", "2026-11-19T00:00:00",
                  env={"RQ_OBS_TOKEN": TOKEN})  # 1.4.0 was taken on 2026-11-18, 1.5.0 on 11-19
    assert res.code == 0, res.err
    assert res.out.splitlines() == [f"pushed 0 run(s) to {srv.url}: 0 stored, 0 already there",
                                    f"pushed 1 snapshot(s) to {srv.url}: 1 stored, 0 replaced, 0 already there "
                                    f"(1.5.0)"]
    res = run_cli("push", "--store", local.path, "--url", srv.url, "--format", "json", env={"RQ_OBS_TOKEN": TOKEN})
    assert res.code == 0, res.err
    assert json.loads(res.out) == {"stored": [], "duplicates": [], "pending": 0, "skipped": [], "snapshots": {
        "stored": ["1.4.0"], "replaced": [], "duplicates": [], "pending": 0}}
    assert [r[0] for r in rows(srv.store)] == ["1.4.0", "1.5.0"]
    assert TOKEN not in res.out + res.err


def test_the_documented_example_is_accepted_as_documented(serve, tmp_path):
    text = (Path(__file__).resolve().parents[2] / "docs" / "INGEST.md").read_text()
    section = text.split("## Release snapshots", 1)[1]
    example = json.loads(section.split("```json\n", 1)[1].split("```", 1)[0])
    srv = serve(Store(tmp_path / "server.db"))
    reply = post(srv, example)
    assert (reply.status, reply.json()) == (201, {"release": "1.2.0", "stored": True, "replaced": False,
                                                  "duplicate": False})
    assert (post(srv, example).status, post(srv, {**example, "project": "shop2"}).json()) == (
        200, {"release": "1.2.0", "stored": True, "replaced": True, "duplicate": False})
    s = samples(srv.metrics().body.decode())
    assert value(s, M.QUALITY_SCORE.name, release="1.2.0") == 88.4
    assert value(s, M.RELEASE_PASS_RATE.name, release="1.2.0") == 0.98
    assert value(s, M.VULNERABILITIES.name, release="1.2.0", severity="critical") == 0


def test_null_parts_are_absent_and_the_release_is_still_published(serve, tmp_path):
    """Optional fields may be null: a null environment part or score part must not break the release collector."""
    doc = json.loads(document_of(snap_v1()))
    doc["environment"].update({"cpu": None, "os": {"system": None, "kernel": "6.1.0"}, "container": None})
    doc["score"].update({"dimensions": None, "missing": None})
    srv = serve(Store(tmp_path / "server.db"))
    assert post(srv, doc).status == 201
    stored = json.loads(rows(srv.store)[0][3])
    assert "cpu" not in stored["environment"] and "container" not in stored["environment"]
    assert stored["environment"]["os"] == {"kernel": "6.1.0"}
    assert stored["score"] == {"total": 91.25}
    s = samples(srv.metrics().body.decode())
    assert value(s, M.QUALITY_SCORE.name, release="1.4.0") == 91.25
    assert value(s, M.QUALITY_DIMENSION_MISSING.name, release="1.4.0", dimension="performance") == 1
    assert value(s, M.ENVIRONMENT.info, release="1.4.0", os="", kernel="6.1.0", python_implementation="CPython",
                 python_version="3.11.7", cpu_model="", container="none") == 1
    assert value(s, M.SCRAPE_ERRORS.total, collector="release") == 0
    assert post(srv, doc).status == 200  # normalised the same way again: a duplicate
