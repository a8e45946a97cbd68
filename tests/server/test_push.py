"""rq-obs push / push_pending against a real server: fidelity, idempotency, retries, loud failures."""

from __future__ import annotations

import json
import time

import pytest

from rq_obs.catalog import M
from rq_obs.commands.push import parse_since
from rq_obs.errors import RqObsError, UsageError
from rq_obs.push import load_run, pending_run_ids, push_pending
from rq_obs.store import Store, begin_run, save_run
from tests.helpers.cli import run_cli
from tests.helpers.procs import free_port
from tests.server.conftest import TOKEN
from tests.server.runs import api_run, make_run
from tests.server.test_ingest import count_runs, total


@pytest.fixture
def local(tmp_path) -> Store:
    store = Store(tmp_path / "local.db")
    save_run(store, make_run("l1", started=1000.0, outcomes=("passed", "failed")))
    save_run(store, make_run("l2", started=2000.0, outcomes=("passed", "passed"), sha="bb22"))
    save_run(store, api_run("l3"))
    begin_run(store, make_run("running", started=3000.0))  # incomplete: never pushed
    return store


def test_push_sends_complete_runs_once_and_faithfully(serve, tmp_path, local):
    srv = serve(Store(tmp_path / "server.db"))
    report = push_pending(local, srv.url, TOKEN)
    assert report.stored == ["l1", "l2", "l3"] and report.duplicates == [] and report.pending == 0
    assert pending_run_ids(local) == []
    assert count_runs(srv.store) == 3
    for run_id in ("l1", "l2", "l3"):
        assert load_run(srv.store, run_id) == load_run(local, run_id)
    assert total(srv.store, M.TEST_ATTEMPTS.total) == 5
    assert total(srv.store, M.TRACKED_FILE_CHANGES.total) == 1
    assert total(srv.store, M.TOKENS.total, token_type="input") == 1000
    assert push_pending(local, srv.url, TOKEN).pushed == 0  # nothing left
    # a lost reply (local pushed_at not set) is harmless: the server says duplicate
    local.connect().execute("UPDATE runs SET pushed_at = NULL")
    again = push_pending(local, srv.url + "/api/v1/runs", TOKEN)
    assert again.duplicates == ["l1", "l2", "l3"] and again.stored == []
    assert count_runs(srv.store) == 3 and total(srv.store, M.TEST_ATTEMPTS.total) == 5


def test_incomplete_runs_are_not_pushed(local):
    assert pending_run_ids(local) == ["l1", "l2", "l3"]


def test_since_filters_by_start_time(serve, tmp_path, local):
    srv = serve(Store(tmp_path / "server.db"))
    assert push_pending(local, srv.url, TOKEN, since=1500.0).stored == ["l2", "l3"]
    assert pending_run_ids(local) == ["l1"]


def test_unreachable_server_fails_loudly_and_keeps_the_runs(local):
    sleeps = []
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RqObsError, match=r"unreachable after 3 tries .*3 run\(s\) still pending"):
        push_pending(local, url, TOKEN, retries=2, backoff=0.5, sleep=sleeps.append)
    assert sleeps == [0.5, 1.0]
    assert pending_run_ids(local) == ["l1", "l2", "l3"]


def test_retries_until_the_server_comes_up(serve, tmp_path, local):
    port = free_port()
    started = []

    def sleep(seconds: float) -> None:
        if not started:  # the server starts while the client backs off
            from rq_obs.config import load
            from rq_obs.server.app import make_server
            import threading

            cfg = load("/nonexistent", env={"RQ_OBS_TOKEN": TOKEN}).config
            server = make_server(cfg, Store(tmp_path / "late.db"), "127.0.0.1", port)
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
            started.append(server)

    try:
        report = push_pending(local, f"http://127.0.0.1:{port}", TOKEN, retries=3, backoff=0.01, sleep=sleep)
        assert report.stored == ["l1", "l2", "l3"]
    finally:
        for s in started:
            s.shutdown()
            s.server_close()
            s.service.close()


def test_a_refused_run_is_a_hard_error_naming_it(serve, tmp_path, local):
    srv = serve(Store(tmp_path / "server.db"))
    with pytest.raises(RqObsError, match=r"run 'l1' refused with HTTP 401: missing or wrong bearer token .*; 3 run\(s\) still pending"):
        push_pending(local, srv.url, "not-the-token")
    assert count_runs(srv.store) == 0 and pending_run_ids(local) == ["l1", "l2", "l3"]


def test_push_command(serve, tmp_path, local):
    srv = serve(Store(tmp_path / "server.db"))
    local.close()
    res = run_cli("push", "--store", local.path, "--url", srv.url, env={"RQ_OBS_TOKEN": TOKEN})
    assert res.code == 0, res.err
    assert res.out.splitlines() == [f"pushed 3 run(s) to {srv.url}: 3 stored, 0 already there",
                                    f"pushed 0 snapshot(s) to {srv.url}: 0 stored, 0 replaced, 0 already there"]
    res = run_cli("push", "--store", local.path, "--url", f"http://127.0.0.1:{free_port()}", "--retries", "0",
                  "--token", TOKEN)
    assert res.code == 0 and "pushed 0 run(s)" in res.out  # nothing pending: no request needed
    assert TOKEN not in res.out + res.err


def test_push_command_unreachable_exits_2_naming_pending(tmp_path, local):
    local.close()
    res = run_cli("push", "--store", local.path, "--url", f"http://127.0.0.1:{free_port()}", "--retries", "1",
                  "--backoff", "0", env={"RQ_OBS_TOKEN": TOKEN})
    assert res.code == 2
    assert "rq-obs: error:" in res.err and "3 run(s) still pending" in res.err
    assert TOKEN not in res.err


def test_push_without_token_is_an_error(tmp_path, local):
    local.close()
    res = run_cli("push", "--store", local.path, "--url", "http://127.0.0.1:1", env={"RQ_OBS_TOKEN": ""})
    assert res.code == 2 and "push needs a token" in res.err


def test_parse_since():
    now = 1_000_000.0
    assert parse_since("24h", now) == now - 86400
    assert parse_since("30m", now) == now - 1800
    assert parse_since("7d", now) == now - 7 * 86400
    assert parse_since("2026-11-20") == 1_795_132_800.0
    assert parse_since("2026-11-20T01:00:00+01:00") == 1_795_132_800.0
    with pytest.raises(UsageError, match="--since 'yesterday': expected an ISO date"):
        parse_since("yesterday")
    assert time.time() - parse_since("1h") == pytest.approx(3600, abs=5)


@pytest.mark.parametrize("url", ["127.0.0.1:9464", "localhost", "ftp://host/x", "http://", "http:///api/v1/runs"])
def test_a_url_that_is_not_http_is_a_usage_error_at_once(tmp_path, local, url):
    local.close()
    pending = "SELECT COUNT(*) FROM runs WHERE pushed_at IS NULL AND status = 'complete'"
    res = run_cli("push", "--store", local.path, "--url", url, "--retries", "5", env={"RQ_OBS_TOKEN": TOKEN})
    assert res.code == 2
    assert res.err.strip() == (f"rq-obs: error: push URL {url!r}: expected http://HOST:PORT or https://HOST "
                               f"(the rq-obs serve address), e.g. http://127.0.0.1:9464")
    assert Store(local.path).query(pending)[0][0] == 3  # all kept, none tried


def test_a_reply_cut_short_is_retried_and_the_run_sent_once_more(tmp_path, local):
    """The server died while answering (headers sent, body not): the client cannot know the outcome, so it
    retries (ingest is idempotent: a run already stored answers 200 duplicate)."""
    import http.server
    import threading

    posts: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            posts.append(self.rfile.read(int(self.headers["Content-Length"])))
            if len(posts) == 1:
                self.send_response(201)
                self.send_header("Content-Length", "74")
                self.end_headers()
                self.wfile.flush()
                self.close_connection = True
                return  # 0 of 74 body bytes: IncompleteRead on the client
            body = json.dumps({"stored": False, "duplicate": True, "sequence": 1}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    local.close()
    try:
        report = push_pending(Store(local.path), f"http://127.0.0.1:{server.server_address[1]}", TOKEN,
                              retries=2, backoff=0, since=None)
    finally:
        server.shutdown()
        server.server_close()
    assert len(posts) == 4 and posts[0] == posts[1]  # 3 runs; the first sent twice
    assert len(report.duplicates) == 3 and report.stored == []
