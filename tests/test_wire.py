"""The fast decoder of pushed runs (rq_obs.store.wire.fast_run) never accepts what the validator refuses,
and what it accepts it reads exactly as the validator does; the documents rq-obs itself sends take it."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rq_obs.errors import InputError
from rq_obs.store import ApiCall, Attempt, Run, TrackedFile, run_from_dict, run_to_dict
from rq_obs.store.wire import fast_run

_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=12)
_value = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([2 ** 63 - 1, 2 ** 63, -(2 ** 63), -(2 ** 63) - 1, 10 ** 30]),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e300, -0.0, 0.5, 1.0, 9.3e18]),
    _text, st.sampled_from(["", "passed", "ab\n", "ab", "0123abcd", "a\x00b", "complete", "429", "\U0001F600"]),
    st.lists(st.sampled_from(["x", 1, None, "429"]), max_size=2), st.dictionaries(st.sampled_from(["k", "n"]),
                                                                            st.sampled_from(["v", 1, 2.5, True, None, [1]]), max_size=2),
)

_ATTEMPT_FIELDS = ["test", "outcome", "duration", "attempt", "worker", "category", "markers", "variant", "started_at",
                   "trace_id", "span_id", "attributes", "api_calls"]
_CALL_FIELDS = ["provider", "model", "status_code", "error", "latency", "retries", "retry_reasons", "input_tokens",
                "output_tokens", "cached_tokens", "cost_usd", "started_at"]
_RUN_FIELDS = ["schema_version", "run_id", "suite", "started_at", "finished_at", "status", "sequence", "commit",
               "branch", "experiment", "host", "source", "trace_id"]
_TRACKED_FIELDS = ["path", "sha256", "lines_added", "lines_removed", "author"]


def _base() -> dict:
    run = Run("run-1", "shop", 1_700_000_000.0, 1_700_000_060.5, commit="abc", branch="main", experiment="exp",
              tracked_files=(TrackedFile("skills/SKILL.md", "ab" * 32, 3, 1, "ann"),),
              attempts=(Attempt("tests/t.py::test_a[ü \"q\" \\\\]", "passed", 0.25, worker="gw0", markers=("slow",),
                                variant="b", started_at=1_700_000_001.0, trace_id="0af7651916cd43dd8448eb211c80319c",
                                span_id="b7ad6b7169203331", attributes={"k": "v", "n": 2, "f": 0.5, "b": True},
                                api_calls=(ApiCall("openai", "gpt-4o", 429, latency=1.5, retries=2,
                                                   retry_reasons=("429", "5xx"), input_tokens=10, output_tokens=5,
                                                   cached_tokens=2, cost_usd=None, started_at=1_700_000_001.5),)),
                        Attempt("tests/t.py::test_b", "failed", 3, attempt=2)))
    return json.loads(json.dumps(run_to_dict(run)))


def _same_judgement(doc) -> None:
    body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    fast = fast_run(body)
    try:
        slow = run_from_dict(json.loads(body), "request body")
    except InputError:
        assert fast is None, f"fast path accepted what the validator refuses: {doc!r}"
        return
    if fast is not None:
        assert fast == slow


def test_documents_rq_obs_sends_take_the_fast_path_and_read_the_same():
    doc = _base()
    run = fast_run(json.dumps(doc).encode())  # json.dumps' default: non-ASCII as \\u escapes (astral: pairs)
    assert run is not None and run == run_from_dict(doc)
    assert run.attempts[0].api_calls[0].retry_reasons == ("429", "5xx") and run.attempts[1].duration == 3.0
    del doc["attempts"][1]["started_at"]  # an attempt without a start time started with its run
    assert fast_run(json.dumps(doc).encode()).attempts[1].started_at == 1_700_000_000.0


@settings(max_examples=300, deadline=None)
@given(where=st.sampled_from(["run", "attempt", "call", "tracked"]), key=st.integers(0, 12), value=_value,
       drop=st.booleans())
def test_one_changed_field_is_judged_the_same_way(where, key, value, drop):
    doc = _base()
    target, fields = {"run": (doc, _RUN_FIELDS), "attempt": (doc["attempts"][0], _ATTEMPT_FIELDS),
                      "call": (doc["attempts"][0]["api_calls"][0], _CALL_FIELDS),
                      "tracked": (doc["tracked_files"][0], _TRACKED_FIELDS)}[where]
    name = fields[key % len(fields)]
    if drop:
        target.pop(name, None)
    else:
        target[name] = value
    _same_judgement(doc)


_EDGES = [None, True, False, -1, 0, 1, 2, 0.0, -0.0, 0.5, 1.5, -2.5, 2 ** 63 - 1, 2 ** 63, -(2 ** 63), -(2 ** 63) - 1,
          10 ** 30, 1e300, 9.3e18, -9.3e18, "", "x", "passed", "complete", "429", "ab", "ab\n", "a\x00b", "0" * 65,
          "x" * 65, "x" * 257, "\U0001F600", [], ["x"], [1], ["429", "other"], {}, {"k": "v"}, {"k": [1]}, {"k": None}]


def test_every_field_and_edge_value_is_judged_the_same_way():
    """Exhaustive over fields x edge values (the hypothesis test above draws other values at random)."""
    for where, fields in (("run", _RUN_FIELDS), ("attempt", _ATTEMPT_FIELDS), ("call", _CALL_FIELDS),
                          ("tracked", _TRACKED_FIELDS)):
        for name in fields:
            for value in [...] + _EDGES:
                doc = _base()
                target = {"run": doc, "attempt": doc["attempts"][0], "call": doc["attempts"][0]["api_calls"][0],
                          "tracked": doc["tracked_files"][0]}[where]
                if value is ...:
                    target.pop(name, None)
                else:
                    target[name] = value
                _same_judgement(doc)


@pytest.mark.parametrize("body", [b"", b"[]", b"{", b'{"run_id": "r"}', b"\xff\xfe", b'\xef\xbb\xbf{}', b"null",
                                  b'{"run_id": "r", "suite": "s", "started_at": NaN}'])
def test_anything_odd_goes_to_the_slow_path(body):
    assert fast_run(body) is None


def test_a_run_id_or_hash_with_a_trailing_newline_is_refused():
    doc = _base()
    doc["run_id"] = "run-1\n"
    with pytest.raises(InputError, match="field 'run_id'"):
        run_from_dict(doc)
    doc = _base()
    doc["attempts"][0]["trace_id"] = "ab\n"
    with pytest.raises(InputError, match=r"field 'attempts\[0\].trace_id'"):
        run_from_dict(doc)
