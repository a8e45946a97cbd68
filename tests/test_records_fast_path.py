"""run_from_dict's fast path for attempts accepts exactly what the field-by-field path accepts, with equal values."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from rq_obs.errors import InputError
from rq_obs.store.records import Attempt, _fast_attempt, _slow_attempt, _V, run_from_dict

_ANY = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.just(2 ** 70), st.just(10 ** 400),
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5), st.just(""), st.just("\x00"),
                 st.lists(st.text(max_size=3), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
_GOOD = {
    "test": st.sampled_from(["t::a", "tests/test_x.py::test_y[1-2]", "x" * 4096]),
    "outcome": st.sampled_from(["passed", "failed", "error", "skipped", "xfailed", "xpassed"]),
    "duration": st.one_of(st.floats(0, 10), st.integers(0, 5)),
    "attempt": st.integers(1, 3),
    "worker": st.sampled_from(["gw0", "main", "w" * 64]),
    "category": st.sampled_from(["unit", "llm"]),
    "variant": st.sampled_from(["b", "control"]),
    "started_at": st.one_of(st.floats(-5, 2e9), st.integers(0, 2 ** 40)),
    "markers": st.lists(st.sampled_from(["slow", "llm"]), max_size=2),
    "trace_id": st.sampled_from(["", "0af7"]),
    "span_id": st.sampled_from(["", "b7ad"]),
    "attributes": st.dictionaries(st.sampled_from(["k", "n"]), st.one_of(
        st.text(max_size=3), st.integers(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False)),
        max_size=2),
    "api_calls": st.just([]),
}
_BAD = {
    "test": st.one_of(st.sampled_from(["x" * 4097, "", "a\x00"]), _ANY),
    "outcome": st.one_of(st.just("ok"), _ANY),
    "worker": st.one_of(st.sampled_from(["w" * 65, ""]), _ANY),
    "markers": st.one_of(st.just([1]), _ANY),
    "trace_id": st.one_of(st.just("XYZ"), _ANY),
    "attributes": st.one_of(st.just({"k": None}), st.just({"k": [1]}), st.just({"k": math.nan}), _ANY),
    "api_calls": st.one_of(st.just([{"provider": "p", "model": "m"}]), _ANY),
}


@st.composite
def attempt_docs(draw):
    """A valid attempt (optional fields left out at random), then up to 3 fields replaced or removed."""
    doc = draw(st.fixed_dictionaries({k: _GOOD[k] for k in ("test", "outcome", "duration")},
                                     optional={k: v for k, v in _GOOD.items() if k not in ("test", "outcome", "duration")}))
    for key in draw(st.lists(st.sampled_from(sorted(_GOOD)), max_size=2)):
        if draw(st.booleans()):
            doc.pop(key, None)
        else:
            doc[key] = draw(_BAD.get(key, _ANY))
    return doc


@settings(max_examples=600, deadline=None)
@given(attempt_docs())
def test_fast_path_agrees_with_the_field_by_field_path(doc):
    try:
        slow = _slow_attempt(_V("run"), 0, doc, 1000.0)
    except (InputError, OverflowError) as exc:
        slow = exc
    fast = _fast_attempt(doc, 1000.0)
    if fast is None:
        return  # the slow path decides: run_from_dict gives exactly its answer
    assert isinstance(slow, Attempt), f"fast path accepted what the slow path rejects: {slow}"
    assert fast == slow
    assert [type(getattr(fast, f)) for f in slow.__dataclass_fields__] == \
           [type(getattr(slow, f)) for f in slow.__dataclass_fields__]


def test_plain_attempts_take_the_fast_path_and_errors_name_the_field():
    doc = {"run_id": "r", "suite": "s", "started_at": 5.0,
           "attempts": [{"test": "t::a", "outcome": "passed", "duration": 0.25}, {"test": "t::b", "outcome": "ok", "duration": 1}]}
    good = {"test": "t::a", "outcome": "passed", "duration": 0.25}
    fast = _fast_attempt(good, 5.0)
    assert fast == Attempt("t::a", "passed", 0.25, started_at=5.0)
    assert math.isclose(fast.duration, 0.25) and fast.api_calls == () and fast.attributes == {}
    try:
        run_from_dict(doc, "request body")
    except InputError as exc:
        assert str(exc) == ("request body: field 'attempts[1].outcome' is 'ok'; expected one of passed, failed, "
                            "error, skipped, xfailed, xpassed")
    else:
        raise AssertionError("accepted a bad outcome")
