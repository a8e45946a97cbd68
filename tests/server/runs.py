"""Run documents for server tests."""

from __future__ import annotations

import json

from rq_obs.store import ApiCall, Attempt, Run, TrackedFile, run_to_dict


def make_run(run_id: str, suite: str = "shop", started: float = 1_700_000_000.0, outcomes=("passed", "failed"),
             tests=None, sha: str = "aa11", variant: str = "control") -> Run:
    tests = tests or [f"tests/test_x.py::test_{i}" for i in range(len(outcomes))]
    attempts = tuple(Attempt(test=t, outcome=o, duration=0.25 * (i + 1), started_at=started + i, variant=variant)
                     for i, (t, o) in enumerate(zip(tests, outcomes)))
    return Run(run_id=run_id, suite=suite, started_at=started, finished_at=started + 30.0, attempts=attempts,
               tracked_files=(TrackedFile("skills/SKILL.md", sha),))


def doc(run_id: str, **kw) -> dict:
    d = json.loads(json.dumps(run_to_dict(make_run(run_id, **kw))))
    d.pop("sequence")
    return d


def api_run(run_id: str) -> Run:
    call = ApiCall("openai", "gpt-4o", 429, latency=0.4, retries=2, retry_reasons=("429", "5xx"), input_tokens=1000,
                   output_tokens=200)
    return Run(run_id, "shop", 1_700_000_100.0, 1_700_000_110.0,
               attempts=(Attempt("t::api", "passed", 1.5, api_calls=(call,)),))
