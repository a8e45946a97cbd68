"""The demo's SKILL.md change as the skills dashboard's diff link shows it: rq-obs serve's
/api/v1/impact/diff/SKILL.md answers the diff of the two versions the demo wrote, beside the figures
`rq-obs impact` computes from the demo's store, and the CLI's --diff prints the same."""

from __future__ import annotations

import difflib
import json
from importlib import resources

import pytest

from rq_obs.demo import script
from tests.helpers.cli import run_cli
from tests.helpers.procs import http_get

pytestmark = pytest.mark.e2e


def test_the_demo_skill_change_has_its_diff_and_pass_rate_change(demo):
    prepared, ep = demo
    example = resources.files("rq_obs.demo") / "example"
    v1, v2 = ((example / n).read_text(encoding="utf-8").splitlines() for n in ("SKILL.md", "SKILL.v2.md"))
    status, body = http_get(f"{ep.serve}/api/v1/impact/diff/SKILL.md", timeout=30)
    assert status == 200, body
    doc = json.loads(body)
    (change,) = doc["changes"]
    assert change["diff"] == list(difflib.unified_diff(v1, v2, "a/SKILL.md", "b/SKILL.md", lineterm=""))
    assert change["diff_sources"] == ["store", "store"]
    # the figures beside it are rq-obs impact's on the same store
    store = str(prepared.layout.store)
    plain = json.loads(run_cli("--project", prepared.layout.project, "impact", "SKILL.md", "--all", "--store", store,
                               "--format", "json").out)
    assert {k: v for k, v in change.items() if k not in ("diff", "diff_sources", "missing_contents")} == \
        plain["changes"][0]
    # and they are the script's: test_skill_has_examples failed in every run before the change, passed after
    per_test = {t["test"]: t for t in change["tests"]}
    skill = per_test["tests/test_router.py::test_skill_has_examples"]
    assert (skill["before"], skill["after"]) == (
        {"passed": 0, "counted": script.CHANGE_AFTER}, {"passed": script.RUNS - script.CHANGE_AFTER,
                                                       "counted": script.RUNS - script.CHANGE_AFTER})
    cli = run_cli("--project", prepared.layout.project, "impact", "SKILL.md", "--diff", "--store", store,
                  "--format", "json")
    assert cli.code == 0, cli.err
    assert json.loads(cli.out) == doc
