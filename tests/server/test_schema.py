"""The shipped JSON Schema (rq_obs/server/run.schema.json) agrees with run_from_dict."""

from __future__ import annotations

import copy
import json
from importlib import resources

import jsonschema
import pytest

from rq_obs.errors import InputError
from rq_obs.store import run_from_dict, run_to_dict
from tests.server.runs import api_run, doc


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(resources.files("rq_obs.server").joinpath("run.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _both(validator, d) -> tuple[bool, bool]:
    schema_ok = validator.is_valid(d)
    try:
        run_from_dict(copy.deepcopy(d), "doc")
        code_ok = True
    except InputError:
        code_ok = False
    return schema_ok, code_ok


VALID = [
    doc("minimal-ish"),
    json.loads(json.dumps(run_to_dict(api_run("api")))),
    {"run_id": "bare", "suite": "s", "started_at": 0},
    {"run_id": "nulls", "suite": "s", "started_at": 1.5, "finished_at": None, "status": None, "commit": None,
     "attempts": [{"test": "t", "outcome": "xfailed", "duration": 0, "worker": None, "attributes": None}]},
]

INVALID = [
    {"suite": "s", "started_at": 1},
    {"run_id": "a b", "suite": "s", "started_at": 1},
    {"run_id": "r", "suite": "", "started_at": 1},
    {"run_id": "r", "suite": "s", "started_at": -1},
    {"run_id": "r", "suite": "s", "started_at": 1, "schema_version": 2},
    {"run_id": "r", "suite": "s", "started_at": 1, "status": "done"},
    {"run_id": "r", "suite": "s", "started_at": 1, "attempts": [{"test": "t", "outcome": "ok", "duration": 1}]},
    {"run_id": "r", "suite": "s", "started_at": 1, "attempts": [{"test": "t", "outcome": "passed"}]},
    {"run_id": "r", "suite": "s", "started_at": 1, "attempts": [{"test": "t", "outcome": "passed", "duration": 1,
                                                                 "attempt": 0}]},
    {"run_id": "r", "suite": "s", "started_at": 1, "attempts": [{"test": "t", "outcome": "passed", "duration": 1,
                                                                 "attributes": {"k": [1]}}]},
    {"run_id": "r", "suite": "s", "started_at": 1, "attempts": [{"test": "t", "outcome": "passed", "duration": 1,
                                                                 "api_calls": [{"provider": "p", "model": "m",
                                                                                "retry_reasons": ["because"]}]}]},
    {"run_id": "r", "suite": "s", "started_at": 1, "tracked_files": [{"path": "SKILL.md", "sha256": "XYZ"}]},
    {"run_id": "r", "suite": "s", "started_at": "1"},
    ["not", "an", "object"],
]


@pytest.mark.parametrize("d", VALID, ids=lambda d: d.get("run_id"))
def test_valid_documents_pass_both(validator, d):
    assert _both(validator, d) == (True, True)


@pytest.mark.parametrize("d", INVALID, ids=range(len(INVALID)))
def test_invalid_documents_fail_both(validator, d):
    assert _both(validator, d) == (False, False)
