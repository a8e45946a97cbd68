"""A real pytest run through the plugin: attached inputs and routes, the ``ambiguous`` marker, a credential in an
input; what `rq-obs inputs` computes agrees with pytest's own outcomes."""

from __future__ import annotations

import json
import time

from rq_obs.analysis import disambiguation as dis
from rq_obs.analytics.reports import inputs_report
from rq_obs.config import Config
from rq_obs.store import Store

SUITE = '''
import pytest

def route(text):
    return "billing" if "invoice" in text else "orders" if "order" in text else "unknown"

@pytest.mark.parametrize("text,expected", [
    ("my invoice is wrong", "billing"),
    ("invoice for my order", "orders"),     # misrouted: fails
    ("where is my order", "orders"),
    ("hello there", "smalltalk"),           # misrouted: fails
])
def test_route(rq_obs, text, expected):
    chosen = route(text)
    rq_obs.attach(input=text, expected_route=expected, chosen_route=chosen)
    assert chosen == expected

@pytest.mark.ambiguous
@pytest.mark.parametrize("text,expected", [("order an invoice copy", "billing"), ("invoice the order", "orders")])
def test_ambiguous(rq_obs, text, expected):
    chosen = route(text)
    rq_obs.attach(input=text, expected_skill=expected, chosen_skill=chosen)
    assert chosen == expected

def test_secret_in_input(rq_obs):
    rq_obs.attach(input="invoice for ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", expected_route="billing",
                  chosen_route="billing")
    assert False
'''


def test_plugin_records_what_the_views_read(pytester, plain_env, store_file):
    pytester.makepyfile(test_router=SUITE)
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "error::pytest.PytestUnknownMarkWarning", "--rq-obs",
                                f"--rq-obs-store={store_file}")
    result.assert_outcomes(passed=3, failed=4)  # the marker is registered: no unknown-mark warning turned error
    store = Store(store_file)
    stored = [json.loads(a) for (a,) in store.query("SELECT attributes FROM attempts WHERE test LIKE '%secret%'")]
    assert stored == [{"input": "<redacted: GitHub token>", "expected_route": "billing", "chosen_route": "billing",
                       "failure_message": "assert False"}]
    r = inputs_report(store, Config(), time.time())
    cells = {(c.expected, c.chosen, c.ambiguous): (c.attempts, c.passed) for c in r.routes}
    assert cells == {("billing", "billing", False): (2, 1), ("orders", "billing", False): (1, 0),
                     ("orders", "orders", False): (1, 1), ("smalltalk", "unknown", False): (1, 0),
                     ("billing", "billing", True): (1, 1), ("orders", "billing", True): (1, 0)}
    assert dis.overall(r.routes) == (1, 2)
    # pytest's own count: 3 passed, 4 failed, every test routed
    assert sum(c.passed for c in r.routes) == 3 and sum(c.attempts for c in r.routes) == 7
    t = {s.term: (s.attempts, s.failed) for s in r.terms.totals()}
    assert t["invoice"] == (4, 2)  # the secret's input gave no term at all
    assert "ghp" not in " ".join(t) and all("a1b2" not in term for term in t)
