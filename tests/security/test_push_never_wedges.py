"""A run too large for the server never blocks `rq-obs push` (issue 17, hole 4); credentials in --url never
reach a message (hole 7)."""

from __future__ import annotations

import pytest

from rq_obs.errors import UsageError
from rq_obs.push import pending_run_ids, push_pending
from rq_obs.store import Attempt, Store
from rq_obs.store.runs import save_run
from tests.helpers.cli import run_cli
from tests.server.conftest import TOKEN
from tests.server.runs import make_run


def _local(path) -> Store:
    store = Store(path)
    save_run(store, make_run("small-1", started=1000.0))
    big = make_run("big", started=2000.0)
    attempts = tuple(Attempt(test=f"tests/test_big.py::test_{i}", outcome="passed", duration=0.1, started_at=2000.0)
                     for i in range(3000))
    save_run(store, big.__class__(**{**big.__dict__, "attempts": attempts}))
    save_run(store, make_run("small-2", started=3000.0))
    return store


def test_an_oversized_run_is_skipped_with_a_one_line_error_kept_pending_and_the_others_are_pushed(serve, tmp_path):
    srv = serve(Store(tmp_path / "server.db"), max_payload_bytes=100_000)
    local = _local(tmp_path / "local.db")
    # the server says 413 (its body drained, so the client reads it: no broken pipe, no "unreachable")
    report = push_pending(local, srv.url, TOKEN, retries=0)
    assert report.stored == ["small-1", "small-2"]
    assert [run_id for run_id, _ in report.skipped] == ["big"]
    assert report.skipped[0][1].startswith("refused with HTTP 413: request body is ")
    assert pending_run_ids(local) == ["big"]  # kept for later
    # the CLI: one line on stderr for the skipped run, exit status non-zero, the server's limit known locally
    result = run_cli("--project", str(tmp_path), "push", "--store", str(local.path), "--url", srv.url,
                     "--no-snapshots", env={"RQ_OBS_TOKEN": TOKEN, "RQ_OBS_MAX_PAYLOAD_BYTES": "100000"})
    assert result.code != 0
    lines = [line for line in result.err.splitlines() if "skipped" in line]
    assert len(lines) == 1 and lines[0].startswith("rq-obs push: run 'big' skipped (")
    assert "over the 100000-byte push limit" in lines[0] and lines[0].endswith("kept pending")
    # once the server takes bigger pushes, the kept run goes
    srv2 = serve(Store(tmp_path / "server2.db"), max_payload_bytes=10_000_000)
    assert push_pending(local, srv2.url, TOKEN).stored == ["big"]


def test_credentials_in_the_url_never_reach_a_message(tmp_path):
    local = Store(tmp_path / "local.db")
    with pytest.raises(UsageError) as err:
        push_pending(local, "http://admin:s3cretpw@127.0.0.1:1/", TOKEN)
    assert "s3cretpw" not in str(err.value) and "user-info" in str(err.value)
    save_run(local, make_run("r", started=1.0))
    result = run_cli("push", "--store", str(local.path), "--url", "http://127.0.0.1:1/?token=s3cretpw",
                     "--retries", "0", env={"RQ_OBS_TOKEN": TOKEN})
    assert result.code != 0 and "s3cretpw" not in result.out + result.err


def test_a_whitespace_token_is_refused_by_the_client_with_a_message(tmp_path):
    with pytest.raises(Exception, match="empty or only whitespace"):
        push_pending(Store(tmp_path / "l.db"), "http://127.0.0.1:1", "   ")
