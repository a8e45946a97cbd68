"""Values that would corrupt totals or grow the store without bound are refused with a 400 naming the field
(issue 17, hole 5), on the fast (msgspec) and the slow (validator) path alike, and nothing is stored."""

from __future__ import annotations

import copy

import pytest

from rq_obs.store import Store
from tests.server.runs import doc


def _call(**kw) -> dict:
    return {"provider": "openai", "model": "gpt-4o", "status_code": 200, **kw}


def _with(path: str, value):
    d = doc("bad-run")
    target = d
    keys = path.split(".")
    for k in keys[:-1]:
        target = target[int(k)] if k.isdigit() else target[k]
    target[keys[-1]] = value
    return d


CASES = [
    ("attempts.0.api_calls", [_call(cost_usd=-1000)], "attempts[0].api_calls[0].cost_usd"),
    ("attempts.0.api_calls", [_call(cost_usd=1e12)], "attempts[0].api_calls[0].cost_usd"),
    ("attempts.0.api_calls", [_call(input_tokens=10 ** 15)], "attempts[0].api_calls[0].input_tokens"),
    ("attempts.0.api_calls", [_call(latency=1e308)], "attempts[0].api_calls[0].latency"),
    ("attempts.0.api_calls", [_call(error="e" * 5000)], "attempts[0].api_calls[0].error"),
    ("attempts.0.duration", 1e308, "attempts[0].duration"),
    ("attempts.0.duration", -1.0, "attempts[0].duration"),
    ("attempts.0.started_at", 1e15, "attempts[0].started_at"),
    ("finished_at", 1_600_000_000.0, "finished_at"),  # before started_at
    ("commit", "c" * 10_000, "commit"),
    ("branch", "b" * 10_000, "branch"),
    ("host", "h" * 10_000, "host"),
    ("experiment", "x" * 10_000, "experiment"),
    ("attempts.0.attributes", {f"k{i}": i for i in range(1000)}, "attempts[0].attributes"),
    ("attempts.0.attributes", {"k": "v" * 5000}, "attempts[0].attributes.k"),
    ("attempts.0.markers", ["m"] * 1000, "attempts[0].markers"),
    ("attempts.0.attempt", 10 ** 9, "attempts[0].attempt"),
    ("tracked_files.0.lines_added", -5, "tracked_files[0].lines_added"),
]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    from tests.server.conftest import Running, TOKEN

    r = Running(Store(tmp_path_factory.mktemp("v") / "store.db"), {"RQ_OBS_TOKEN": TOKEN},
                new_series_grace="1ms")
    yield r
    r.stop()


@pytest.mark.parametrize("path, value, field", CASES, ids=[c[2] + "=" + repr(c[1])[:20] for c in CASES])
def test_each_bad_value_is_a_400_naming_the_field_and_nothing_is_stored(srv, path, value, field):
    reply = srv.push(_with(path, copy.deepcopy(value)))
    assert reply.status == 400, reply.body
    assert f"field {field!r}" in reply.json()["error"]
    assert srv.store.query("SELECT COUNT(*) FROM runs WHERE run_id = 'bad-run'")[0][0] == 0


def test_json_nested_a_hundred_thousand_deep_is_a_400_not_a_500(srv):
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"run_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"):
        reply = srv.push(body)
        assert reply.status == 400
        assert "nested too deeply" in reply.json()["error"]
    assert srv.push(doc("good-after")).status == 201  # the server carries on
