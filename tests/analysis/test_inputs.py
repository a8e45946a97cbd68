"""Disambiguation and input terms: the analyses, the exporter and the command against a store with known attempts."""

from __future__ import annotations

import json
import re
import time

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from rq_obs.analysis import disambiguation as dis
from rq_obs.analysis import input_terms as it
from rq_obs.analytics.reports import inputs_report
from rq_obs.catalog import CAPS, OTHER, M
from rq_obs.config import Config
from rq_obs.exporters.analytics import AnalyticsCollector
from rq_obs.exporters.base import LabelGuard
from rq_obs.store import Store
from rq_obs.store.records import Attempt, Run
from rq_obs.store.runs import save_run
from tests.analysis import routing_history as H
from tests.helpers.cli import run_cli

NOW = 1_790_000_000.0


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store.db")
    H.write(s, NOW)
    return s


def scrape(store, now=NOW, guard=None):
    reg = CollectorRegistry(auto_describe=False)
    reg.register(AnalyticsCollector(store, Config(), guard or LabelGuard(5000, 200), background=False,
                                    clock=lambda: now))
    text = generate_latest(reg).decode()
    samples = [s for fam in text_string_to_metric_families(text) for s in fam.samples]
    return text, samples


def series(samples, metric, *labels):
    return {tuple(s.labels[l] for l in labels): s.value for s in samples if s.name == metric.name}


def test_the_analysis_of_the_store_equals_the_hand_count(store):
    r = inputs_report(store, Config(), NOW)
    assert {(c.suite, c.expected, c.chosen, c.ambiguous): (c.attempts, c.passed) for c in r.routes} == H.ROUTES
    assert dis.overall(r.routes) == H.AMBIGUOUS
    assert [(t.term, t.attempts, t.failed) for t in r.terms.totals()] == [(k, *v) for k, v in H.TERMS.items()]
    assert (r.terms.inputs, r.terms.failed_inputs, r.terms.terms_seen, r.terms.left_out) == (*H.INPUTS, len(H.TERMS), 0)
    assert r.terms.totals()[0].failure_share == pytest.approx(2 / 3)


def test_the_exporter_publishes_the_hand_counted_values(store):
    _, samples = scrape(store)
    labels = ("suite", "expected_route", "chosen_route", "ambiguous")
    want_att = {(s, e, c, "true" if a else "false"): float(n) for (s, e, c, a), (n, _) in H.ROUTES.items()}
    want_pass = {(s, e, c, "true" if a else "false"): float(p) for (s, e, c, a), (_, p) in H.ROUTES.items()}
    assert series(samples, M.ROUTE_ATTEMPTS, *labels) == want_att
    assert series(samples, M.ROUTE_PASSED, *labels) == want_pass
    assert series(samples, M.INPUT_TERM_ATTEMPTS, "suite", "term") == {("s", t): float(a) for t, (a, _) in H.TERMS.items()}
    assert series(samples, M.INPUT_TERM_FAILED, "suite", "term") == {("s", t): float(f) for t, (_, f) in H.TERMS.items()}


def test_top_n_keeps_the_most_failing_terms_and_counts_the_rest(store):
    r = inputs_report(store, Config(), NOW, top=3)
    assert r.terms.ranked == ["wrong", "invoice", "cancel"]
    assert r.terms.left_out == len(H.TERMS) - 3


def test_tokenisation_is_deterministic_unicode_aware_and_drops_stop_words():
    assert it.terms("Where is my ORDER, please?") == {"order"}
    assert it.terms("Replacement charger never arrived") == {
        "replacement", "charger", "never", "arrived", "replacement charger", "charger never", "never arrived"}
    assert it.terms("Größe der Straße: café naïve 東京 2024 x") == {
        "grösse", "der", "strasse", "café", "naïve", "東京", "grösse der", "der strasse", "strasse café",
        "café naïve", "naïve 東京"}
    assert it.terms("don’t refund it") == {"refund"}  # the curly apostrophe is read as a straight one: a stop word
    assert it.terms("a" * 40 + " ok fine") == {"ok", "fine", "ok fine"}  # over 24 characters: not a term
    assert it.terms("🎉🎉 <script>alert(1)</script>") == {"script", "alert", "script alert"}


#: (input, the credential in it)
SECRETS = [
    ("my token is ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
    ("use sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe for the call", "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe"),
    ("aws secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY please", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"),
    ("login https://admin:hunter2hunter2@example.com/x", "admin:hunter2hunter2"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    ("key Xq7PzL2mK9vR4tB8nW3c in the prompt", "Xq7PzL2mK9vR4tB8nW3c"),  # 20 random characters: entropy
]


def test_an_input_holding_a_credential_gives_no_term_and_no_label(tmp_path):
    for text, secret in SECRETS:
        found = it.terms(text)
        assert not [t for t in found for w in t.split() if len(w) >= 5 and w in secret.casefold()], (text, found)
    assert it.terms(SECRETS[0][0]) == frozenset()  # a token format anywhere: the whole input is redacted
    # written straight into the store (no fixture redaction on the way), failing: still no label carries it
    s = Store(tmp_path / "store.db")
    attempts = tuple(Attempt(f"t{i}", "failed", 1.0, started_at=NOW - 60 + i,
                             attributes={"input": text, "expected_route": text, "chosen_route": "billing"})
                     for i, (text, secret) in enumerate(SECRETS))
    save_run(s, Run("sec", "s", NOW - 60, finished_at=NOW, attempts=attempts))
    text, samples = scrape(s)
    fragments = {m for _, secret in SECRETS for m in re.findall(r"[A-Za-z0-9_]{8,}", secret)}
    leaked = sorted(f for f in fragments if f in text)
    assert leaked == [], leaked
    routes = {k[0] for k in series(samples, M.ROUTE_ATTEMPTS, "expected_route")}
    assert routes == {"<redacted: GitHub token>", "<redacted: OpenAI/Anthropic key>", "<redacted: high-entropy text>",
                      "<redacted: authorization header value>", "login https://***@example.com/x"}


def test_huge_inputs_are_read_up_to_the_limit_only():
    text = "refund " * 10 + "zebra " * 400_000 + "beyondlimit"  # 2.4 MB; the last word is far past the limit
    found = it.terms(text)
    assert found == {"refund", "zebra", "refund refund", "refund zebra", "zebra zebra"}  # no "beyondlimit"
    assert it.terms("x" * 5000 + " tail") == frozenset()  # "tail" is beyond the first MAX_TEXT characters


def test_thousands_of_terms_and_routes_stay_within_the_caps(tmp_path):
    s = Store(tmp_path / "store.db")
    attempts = tuple(Attempt(f"t{i}", "failed" if i % 2 else "passed", 1.0, started_at=NOW - 600 + i * 0.1,
                             attributes={"input": f"word{i}x alpha{i % 7}y common", "expected_route": f"route{i}",
                                         "chosen_route": f"route{i % 3}"})
                     for i in range(3000))
    save_run(s, Run("many", "s", NOW - 600, finished_at=NOW, attempts=attempts))
    guard = LabelGuard(5000, 200)
    _, samples = scrape(s, guard=guard)
    terms = {k[0] for k in series(samples, M.INPUT_TERM_FAILED, "term")}
    assert len(terms) == CAPS["term"]
    assert {"common", "alpha1y", "alpha3y", "alpha5y"} <= terms  # the most failing come first
    expected = {k[0] for k in series(samples, M.ROUTE_ATTEMPTS, "expected_route")}
    chosen = {k[0] for k in series(samples, M.ROUTE_ATTEMPTS, "chosen_route")}
    assert len(expected | chosen) == CAPS["route"] + 1 and OTHER in expected
    assert {"route0", "route1", "route2"} <= chosen
    # every attempt is still counted: folded, not dropped
    assert sum(series(samples, M.ROUTE_ATTEMPTS, "expected_route", "chosen_route").values()) == 3000
    r = inputs_report(s, Config(), NOW)
    assert r.terms.left_out > 1400 and guard.capped["term"] == r.terms.left_out
    assert guard.capped["route"] == r.routes_folded == 3000 - CAPS["route"]


def test_the_inputs_command_prints_the_same_figures(store, tmp_path, monkeypatch):
    monkeypatch.setattr(time, "time", lambda: NOW)
    r = run_cli("inputs", "--store", store.path, "--format", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert {(c["expected"], c["chosen"], c["ambiguous"]): (c["attempts"], c["passed"]) for c in doc["routes"]} == \
        {(e, c, a): v for (_, e, c, a), v in H.ROUTES.items()}
    assert doc["ambiguous"] == {"passed": 2, "attempts": 4, "pass_rate": 0.5}
    assert [(t["term"], t["attempts"], t["failed"]) for t in doc["terms"]] == [(k, *v) for k, v in H.TERMS.items()]
    out = run_cli("inputs", "--store", store.path).out
    assert "Ambiguous inputs over the last 7d: 2 of 4 attempts passed (50.0%)" in out
    assert re.search(r"^2 +3 +66\.7% +wrong$", out, re.M), out
    html = tmp_path / "inputs.html"
    assert run_cli("inputs", "--store", store.path, "--format", "html", "--output", html).code == 0
    page = html.read_text()
    assert "default-src 'none'" in page and "<script" not in page and "src=" not in page
    sizes = {word: int(px) for px, word in re.findall(r'<span style="font-size: (\d+)px; [^"]*" title="[^"]*">([^<]+)</span>', page)}
    assert sizes["wrong"] == sizes["invoice"] == 48 and sizes["order"] == 12 and len(sizes) == len(H.TERMS)


def test_long_routes_sharing_a_prefix_are_one_route_summed_not_overwritten(tmp_path):
    s = Store(tmp_path / "store.db")
    long = "skill-" + "x" * 200
    attempts = tuple(Attempt(f"t{i}", "passed" if i else "failed", 1.0, started_at=NOW - 60 + i,
                             attributes={"expected_route": long + str(i), "chosen_route": long + str(i)})
                     for i in range(3))
    save_run(s, Run("long", "s", NOW - 60, finished_at=NOW, attempts=attempts))
    config = Config(max_label_length=40)
    reg = CollectorRegistry(auto_describe=False)
    reg.register(AnalyticsCollector(s, config, LabelGuard(5000, 40), background=False, clock=lambda: NOW))
    samples = [x for fam in text_string_to_metric_families(generate_latest(reg).decode()) for x in fam.samples]
    cut = long[:40]
    assert series(samples, M.ROUTE_ATTEMPTS, "expected_route", "chosen_route") == {(cut, cut): 3.0}
    assert series(samples, M.ROUTE_PASSED, "expected_route", "chosen_route") == {(cut, cut): 2.0}


def test_a_bad_window_names_the_option(store):
    r = run_cli("inputs", "--store", store.path, "--window", "7x")
    assert r.code == 2 and "--window" in r.err and "7x" in r.err, r.err
