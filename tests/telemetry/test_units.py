"""Pure functions of the telemetry package."""

import dataclasses
import os

import pytest

from rq_obs.store.records import Attempt
from rq_obs.telemetry.items import LiveEnviron
from rq_obs.telemetry.recorder import AttemptRow, attempt_outcome, price_function
from rq_obs.telemetry.tracked import find_tracked, glob_regex, line_delta


@pytest.mark.parametrize("pattern,path,match", [
    ("**/SKILL.md", "SKILL.md", True),
    ("**/SKILL.md", "a/b/SKILL.md", True),
    ("**/SKILL.md", "a/NOTSKILL.md", False),
    ("prompts/*.md", "prompts/x.md", True),
    ("prompts/*.md", "prompts/sub/x.md", False),
    ("prompts/**", "prompts/sub/x.md", True),
    ("a?.txt", "ab.txt", True),
    ("a?.txt", "a/.txt", False),
])
def test_glob_regex(pattern, path, match):
    assert bool(glob_regex(pattern).match(path)) is match


def test_find_tracked_without_git_skips_hidden_and_tool_directories(tmp_path):
    for rel in ("SKILL.md", "skills/a/SKILL.md", ".venv/lib/SKILL.md", "node_modules/p/SKILL.md", "skills/b/other.md"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert find_tracked(tmp_path, ["**/SKILL.md"]) == ["SKILL.md", "skills/a/SKILL.md"]
    assert find_tracked(tmp_path, []) == []


def test_line_delta_counts_like_numstat():
    assert line_delta(b"a\nb\nc\n", b"a\nB\nc\nd\ne\n") == (3, 1)
    assert line_delta(b"", b"x\ny\n") == (2, 0)
    assert line_delta(b"x\ny\n", b"") == (0, 2)
    assert line_delta(b"same\n", b"same\n") == (0, 0)


S = ("passed", False, 0.1)


@pytest.mark.parametrize("setup,call,teardown,expected", [
    (S, ("passed", False, 1.0), "passed", ("passed", 1.0)),
    (S, ("failed", False, 1.0), "passed", ("failed", 1.0)),
    (S, ("rerun", False, 1.0), "passed", ("failed", 1.0)),
    (("failed", False, 0.2), None, "passed", ("error", 0.2)),
    (("rerun", False, 0.2), None, "passed", ("error", 0.2)),
    (("skipped", False, 0.01), None, "passed", ("skipped", 0.01)),
    (("skipped", True, 0.01), None, "passed", ("xfailed", 0.01)),
    (S, ("skipped", True, 1.0), "passed", ("xfailed", 1.0)),
    (S, ("passed", True, 1.0), "passed", ("xpassed", 1.0)),
    (S, ("failed", True, 1.0), "passed", ("failed", 1.0)),
    (S, ("skipped", False, 1.0), "passed", ("skipped", 1.0)),
    (S, ("passed", False, 1.0), "failed", ("error", 1.0)),
    (S, ("failed", False, 1.0), "failed", ("failed", 1.0)),
])
def test_attempt_outcome(setup, call, teardown, expected):
    assert attempt_outcome(setup, call, teardown) == expected


def test_price_function_charges_cached_input_at_the_cached_price():
    price = price_function({"m": {"input": 2.0, "output": 8.0, "cached": 0.5}, "n": {"input": 1.0}})
    assert price("m", 1000, 100, 400) == pytest.approx((600 * 2 + 400 * 0.5 + 100 * 8) / 1e6)
    assert price("n", 1000, 100, 400) == pytest.approx(1000 * 1.0 / 1e6)  # cached defaults to the input price
    assert price("unknown", 1, 1, 0) is None
    assert price_function({}) is None


def test_attempt_rows_have_the_fields_of_attempt_in_its_order():
    # the recorder hands AttemptRow tuples to add_attempts in place of Attempt dataclasses
    # plus the categories the attempt added to pytest's summary line (stored in attempts.summary)
    assert list(AttemptRow._fields) == [f.name for f in dataclasses.fields(Attempt)] + ["summary"]


def test_live_environ_sees_changes_and_reads_plain_mappings(monkeypatch):
    env = LiveEnviron(os.environ)
    monkeypatch.delenv("RQ_OBS_TEST_LIVE", raising=False)
    assert env.get("RQ_OBS_TEST_LIVE") is None
    monkeypatch.setenv("RQ_OBS_TEST_LIVE", "arm-B é")
    assert env.get("RQ_OBS_TEST_LIVE") == "arm-B é"
    monkeypatch.delenv("RQ_OBS_TEST_LIVE")
    assert env.get("RQ_OBS_TEST_LIVE") is None
    assert LiveEnviron({"A": "1"}).get("A") == "1" and LiveEnviron({"A": "1"}).get("B") is None
