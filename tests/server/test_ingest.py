"""POST /api/v1/runs against a real server: replies, status codes, idempotency, nothing half-stored."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rq_obs.catalog import M
from rq_obs.store import read_totals
from tests.helpers.procs import wait_until
from tests.server.conftest import TOKEN, request
from tests.server.runs import api_run, doc
from rq_obs.store import run_to_dict


def total(store, series, **labels):
    return sum(v for _, l, v in read_totals(store, series) if all(l.get(k) == x for k, x in labels.items()))


def count_runs(store) -> int:
    return store.query("SELECT COUNT(*) FROM runs")[0][0]


def test_stored_then_duplicate(serve):
    srv = serve()
    first = srv.push(doc("run-1", outcomes=("passed", "failed", "passed")))
    assert first.status == 201
    assert first.json() == {"run_id": "run-1", "stored": True, "duplicate": False, "sequence": 1}
    again = srv.push(doc("run-1", outcomes=("passed", "failed", "passed")))
    assert again.status == 200
    assert again.json() == {"run_id": "run-1", "stored": False, "duplicate": True, "sequence": 1}
    assert srv.push(doc("run-2")).json()["sequence"] == 2
    assert count_runs(srv.store) == 2
    assert total(srv.store, M.TEST_ATTEMPTS.total) == 5
    assert total(srv.store, M.TEST_ATTEMPTS.total, outcome="failed") == 2
    assert total(srv.store, M.INGEST_RUNS.total, result="stored") == 2
    assert total(srv.store, M.INGEST_RUNS.total, result="duplicate") == 1
    assert total(srv.store, M.INGEST_ATTEMPTS.total) == 5
    # a pushed run keeps its own source unless the document omits it
    assert srv.store.query("SELECT source FROM runs WHERE run_id = 'run-1'")[0][0] == "pytest"


def test_price_table_estimates_cost(serve):
    srv = serve(price_table={"gpt-4o": {"input": 2.5, "output": 10.0}})
    assert srv.push(run_to_dict(api_run("api-1"))).status == 201
    assert total(srv.store, M.COST.total, model="gpt-4o") == pytest.approx((1000 * 2.5 + 200 * 10.0) / 1e6)
    assert total(srv.store, M.API_RETRIES.total, reason="429") == 1


def test_pushed_call_costs_what_the_plugin_records_locally(serve, tmp_path):
    """One pricing formula: cached tokens are part of input_tokens and charged at the cached price."""
    from dataclasses import replace

    from rq_obs.store import Store, save_run
    from rq_obs.telemetry.recorder import price_function

    table = {"gpt-4o": {"input": 2.0, "output": 10.0, "cached": 1.0}}
    run = api_run("cached-1")
    call = replace(run.attempts[0].api_calls[0], input_tokens=1_000_000, cached_tokens=500_000, output_tokens=0)
    run = replace(run, attempts=(replace(run.attempts[0], api_calls=(call,)),))
    srv = serve(price_table=table)
    assert srv.push(run_to_dict(run)).status == 201
    local = Store(tmp_path / "local.db")
    save_run(local, run, price_function(table))
    expected = (500_000 * 2.0 + 500_000 * 1.0) / 1e6
    assert total(srv.store, M.COST.total) == pytest.approx(expected) == total(local, M.COST.total)


@pytest.mark.parametrize("headers, status, message", [
    ({}, 401, "missing or wrong bearer token"),
    ({"Authorization": "Bearer nope"}, 401, "missing or wrong bearer token"),
    ({"Authorization": f"Basic {TOKEN}"}, 401, "missing or wrong bearer token"),
    ({"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/plain"}, 415, "Content-Type is 'text/plain'; expected 'application/json'"),
    ({"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-www-form-urlencoded"}, 415, "expected 'application/json'"),
])
def test_auth_and_content_type(serve, headers, status, message):
    srv = serve()
    reply = request(srv.url + "/api/v1/runs", json.dumps(doc("r")).encode(), headers)
    assert reply.status == status
    assert message in reply.json()["error"]
    if status == 401:
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert count_runs(srv.store) == 0


def test_charset_parameter_is_accepted(serve):
    srv = serve()
    assert srv.push(doc("r"), content_type="application/json; charset=utf-8").status == 201


def test_payload_over_limit_is_413_without_reading_it(serve):
    srv = serve(max_payload_bytes=2048)
    big = doc("big", outcomes=("passed",) * 40)
    body = json.dumps(big).encode()
    assert len(body) > 2048
    reply = srv.push(body)
    assert reply.status == 413
    assert reply.json()["error"] == f"request body is {len(body)} bytes; the limit is 2048 (max_payload_bytes)"
    assert count_runs(srv.store) == 0
    assert srv.push(doc("small")).status == 201  # the server is fine afterwards


def test_no_token_configured_refuses_ingest(serve):
    srv = serve(token=None)
    reply = srv.push(doc("r"), token="anything")
    assert reply.status == 503 and "no token" in reply.json()["error"]
    assert count_runs(srv.store) == 0


def test_malformed_json_names_the_position(serve):
    srv = serve()
    reply = srv.push(b'{"run_id": "r", "suite": ')
    assert reply.status == 400
    assert reply.json()["error"] == "request body: not valid JSON (Expecting value at line 1 column 26)"
    reply = srv.push(b'\xff\xfe{}')
    assert reply.status == 400 and reply.json()["error"].startswith("request body: not UTF-8")
    assert total(srv.store, M.INGEST_RUNS.total, result="rejected") == 2
    assert count_runs(srv.store) == 0


# (path into the document, bad value, expected fragment of the message)
_BAD = [
    (("run_id",), "has space", "field 'run_id' is 'has space'; expected 1-128 characters"),
    (("run_id",), 17, "field 'run_id' is 17; expected 1-128 characters"),
    (("suite",), "", "field 'suite' is ''; expected a non-empty string"),
    (("started_at",), "yesterday", "field 'started_at' is 'yesterday'; expected a Unix time in seconds"),
    (("started_at",), -5, "field 'started_at' is -5; expected a Unix time"),
    (("status",), "done", "field 'status' is 'done'; expected complete or incomplete"),
    (("attempts",), {"a": 1}, "field 'attempts' is {'a': 1}; expected a list"),
    (("attempts", 0), "t", "field 'attempts[0]' is 't'; expected an object"),
    (("attempts", 1, "outcome"), "ok", "field 'attempts[1].outcome' is 'ok'; expected one of passed"),
    (("attempts", 0, "duration"), True, "field 'attempts[0].duration' is True; expected seconds 0-604800"),
    (("attempts", 0, "attempt"), 0, "field 'attempts[0].attempt' is 0; expected an integer 1-10000"),
    (("attempts", 1, "attributes"), {"k": [1]}, "field 'attempts[1].attributes.k' is [1]; expected a string, number"),
    (("tracked_files", 0, "sha256"), "XYZ", "field 'tracked_files[0].sha256' is 'XYZ'; expected lower-case hex"),
]


@pytest.mark.parametrize("path, value, message", _BAD)
def test_wrong_types_name_the_field(serve, path, value, message):
    srv = serve()
    d = doc("r")
    target = d
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    reply = srv.push(d)
    assert reply.status == 400
    assert reply.json()["error"].startswith("request body: ") and message in reply.json()["error"]
    assert count_runs(srv.store) == 0 and total(srv.store, M.TEST_ATTEMPTS.total) == 0


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["run_id", "suite", "started_at", "attempts", "tracked_files", "status"]),
       value=_json_values)
def test_random_wrong_values_get_400_naming_the_field_or_are_stored(serve, tmp_path_factory, field, value):
    """Whatever JSON value lands in a field: 201 (it was valid) or 400 naming that field; never 500."""
    from rq_obs.store import Store

    srv = serve(Store(tmp_path_factory.mktemp("h") / "s.db"))
    d = doc("hyp")
    d[field] = value
    reply = srv.push(d)
    assert reply.status in (201, 400), reply.body
    if reply.status == 400:
        assert f"field '{field}" in reply.json()["error"]
        assert count_runs(srv.store) == 0
    srv.stop()


def test_wrong_method_and_path(serve):
    srv = serve()
    assert request(srv.url + "/api/v1/runs").status == 405
    assert request(srv.url + "/api/v1/snapshots").status == 405
    assert request(srv.url + "/nope").status == 404
    home = request(srv.url + "/")
    assert home.status == 200 and sorted(home.json()["routes"]) == [
        "/api/v1/", "/api/v1/impact/diff/<file>", "/api/v1/quarantine", "/api/v1/runs", "/api/v1/snapshots",
        "/healthz", "/metrics", "/readyz"]
    assert request(srv.url + "/api/v2/runs", b"{}", {"Content-Type": "application/json"}).status == 404


def test_health_endpoints(serve):
    srv = serve()
    assert request(srv.url + "/healthz").status == 200
    ready = request(srv.url + "/readyz")
    assert ready.status == 200 and json.loads(ready.body) == {"status": "ready"}


def test_one_log_line_per_request_without_the_token(serve, caplog):
    srv = serve()
    with caplog.at_level(logging.INFO, logger="rq_obs.server"):
        srv.push(doc("r"))
        srv.push(doc("r"), token="wrong-token-value")

        def lines() -> list[str]:  # the line is written just after the reply is sent: poll for it
            return [r.getMessage() for r in caplog.records if r.name == "rq_obs.server"]

        # each line is written by its handler thread after the reply: the two may come in either order
        wait_until(lambda: sum('"POST /api/v1/runs"' in line for line in lines()) >= 2, 10, what="both log lines")
    assert any('"POST /api/v1/runs" 201' in line for line in lines())
    assert any('"POST /api/v1/runs" 401' in line for line in lines())
    assert sum('"POST /api/v1/runs"' in line for line in lines()) == 2
    assert not any(TOKEN in line or "wrong-token-value" in line for line in lines())
