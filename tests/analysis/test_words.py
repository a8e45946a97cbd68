"""One definition per word: flaky, broken, healthy, flake, stable mean what rq_obs.analysis.flaky computes.

Over the generated dashboards, recording rules and alerts (with the default config and another one):
a text that uses a state word reads the analytics' state metrics and quotes the word's definition
sentence (rq_obs.analysis.flaky.definitions); a panel that reads them says which definition; no other
measure borrows the words. The values themselves agree across the command, the exporter and
Prometheus in tests/e2e/test_words_agree.py.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from rq_obs.analysis.flaky import STATES, definitions, words
from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.dashboards import render_all
from rq_obs.rules.definitions import alerts, recording_rules
from tests.helpers.promql import metric_names

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = [Config(), dataclasses.replace(Config(), flaky_band=[0.2, 0.8], flaky_min_attempts=5, flaky_window="3d")]
#: Settings named after the words: they are the thresholds of the definitions, not other measures.
SETTINGS = re.compile(r"flaky[ _](window|band|min_attempts)", re.I)
WORD = re.compile(r"\b(flaky|broken|healthy|flakes?|flaked|flakiness|stable|stability|stably)\b", re.I)
STATE_METRICS = {M.FLAKY_TESTS.name, M.BROKEN_TESTS.name, M.TEST_STATE.name}
#: Which analytics series a text using each word must read, and the definition it must quote.
READS = {
    "flaky": STATE_METRICS, "broken": STATE_METRICS, "healthy": {M.TEST_STATE.name},
    "flake": {M.TEST_LAST_FLAKE.name} | STATE_METRICS, "stable": {M.TEST_STABILITY.name},
}


def _family(word: str) -> str:
    w = word.lower()
    if w in ("flakes", "flaked", "flakiness"):
        return "flake"
    return "stable" if w in ("stability", "stably") else w


def used(text: str) -> set[str]:
    return {_family(m) for m in WORD.findall(SETTINGS.sub("", text))}


def panels(config: Config):
    for name, dash in render_all(config).items():
        for p in dash["panels"]:
            if p["type"] != "row":
                yield name, p


def problems(where: str, text: str, exprs: list[str], config: Config) -> list[str]:
    """What is wrong with a text (title + description) over these PromQL expressions."""
    read = set().union(*(metric_names(e) for e in exprs)) if exprs else set()
    rules = {r.record: r.expr for r in recording_rules(config)}
    todo = [n for n in read if n in rules]
    while todo:  # a recording rule's series reads what its expression reads
        more = metric_names(rules[todo.pop()]) - read
        read |= more
        todo += [n for n in more if n in rules]
    said = words(config)
    own = text
    for sentence in said.values():  # the words inside the definitions themselves ("flaky: not broken...")
        own = own.replace(sentence, "")
    out = []
    for w in sorted(used(own)):
        if not READS[w] & read:
            out.append(f"{where}: says {w!r} but reads none of {sorted(READS[w])} ({sorted(read)})")
        definition = said["stability" if w == "stable" else w]
        if w != "flake" and definition not in text:  # a flake is defined inside the flaky sentence
            out.append(f"{where}: says {w!r} without its definition {definition!r}")
    shown = {"flaky"} if M.FLAKY_TESTS.name in read else set()
    shown |= {"broken"} if M.BROKEN_TESTS.name in read else set()
    if M.TEST_STATE.name in read:  # a state filter, or every state
        shown |= {s for s in STATES if s in used(own)} or set(STATES)
    out += [f"{where}: reads the {s} state without its definition" for s in sorted(shown) if said[s] not in text]
    return sorted(set(out))


@pytest.mark.parametrize("config", CONFIGS, ids=["default", "other"])
def test_every_panel_using_a_word_reads_and_quotes_its_definition(config):
    bad, seen = [], set()
    for name, p in panels(config):
        text = f"{p['title']}. {p.get('description', '')}"
        bad += problems(f"{name}: {p['title']}", text, [t["expr"] for t in p.get("targets", []) if "expr" in t],
                        config)
        seen |= used(text)
    assert bad == []
    assert seen == {"flaky", "broken", "healthy", "flake", "stable"}  # the check ran over every word


@pytest.mark.parametrize("config", CONFIGS, ids=["default", "other"])
def test_every_rule_and_alert_using_a_word_reads_and_quotes_its_definition(config):
    bad = []
    for r in recording_rules(config):
        bad += problems(f"record {r.record}", f"{r.record}. {r.help}", [r.expr], config)
    for a in alerts(config):
        bad += problems(f"alert {a.name}", f"{a.name}. {a.summary}. {a.description}", [a.value], config)
    assert bad == []
    rising = next(a for a in alerts(config) if a.name == "RqObsFlakyTestsRising")
    assert words(config)["flaky"] in rising.description


def test_the_check_catches_what_the_demo_showed():
    """The executive stat before: rqobs_flaky_tests described as the band alone; and the band's count called flaky."""
    config = Config()
    stat = "Flaky tests. Tests whose pass rate over the flaky window is inside the flaky band 30%-70%."
    assert problems("x", stat, [f"sum({M.FLAKY_TESTS.name})"], config) == [
        "x: reads the flaky state without its definition",
        f"x: says 'flaky' without its definition {words(config)['flaky']!r}"]
    band = "Flaky tests. " + words(config)["flaky"]
    assert problems("y", band, ["count(suite_test:rqobs_test_pass_rate_ratio:uncertain_band)"], config)[0].startswith(
        "y: says 'flaky' but reads none of")
    assert problems("z", "Least stable tests.", [M.TEST_STABILITY.name], config) == [
        f"z: says 'stable' without its definition {words(config)['stability']!r}"]


def test_the_definitions_follow_the_config_and_the_docs_name_every_word():
    d = definitions([0.2, 0.8], 5, "3d")
    assert "latest 5 all failed" in d["broken"] and "20%-80%" in d["flaky"] and "3d window" in d["flaky"]
    doc = (ROOT / "docs" / "ANALYTICS.md").read_text()
    section = doc.split("## Words: one definition each")[1].split("\n## ")[0]
    for word in ("**broken**", "**flaky**", "**healthy**", "**flake**", "**stability**", "*flat*", "*skewed*"):
        assert word in section, word
