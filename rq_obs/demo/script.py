"""What the demo does, as constants: the e2e test derives its exact expected figures from these.

Runs 1..:data:`RUNS` of the example suite (``example/tests/test_router.py``) are recorded by
the pytest plugin; odd runs are variant ``control``, even runs variant ``v2`` of experiment
:data:`EXPERIMENT`; ``SKILL.md`` is replaced by its second version (and committed) after run
:data:`CHANGE_AFTER`. Two releases are snapshotted (:data:`RELEASES`).
"""

from __future__ import annotations

__all__ = ["SUITE", "NIGHTLY_SUITE", "RUNS", "CHANGE_AFTER", "EXPERIMENT", "variant_of", "SETTINGS", "RELEASES",
           "FOR_OVERRIDE", "SCRAPE_SECONDS", "GROUP_WAIT", "CODE_QUALITY", "DOCUMENTATION"]

SUITE = "skill-router"
#: A second suite whose runs (two weeks of nightly CI) reach the demo through ``rq-obs push``.
NIGHTLY_SUITE = "skill-router-nightly"
RUNS = 8
CHANGE_AFTER = 2
EXPERIMENT = "router-prompt"
SCRAPE_SECONDS = 2


def variant_of(run: int) -> str:
    return "control" if run % 2 else "v2"


#: ``[tool.rq-obs]`` of the example project (and so of the demo's serve, rules and stack).
SETTINGS: dict = {
    "suite": SUITE,
    "tracked_files": ["**/SKILL.md"],
    "price_table": {"gpt-4o": {"input": 2.5, "output": 10.0, "cached": 1.25}},
    # small, so the demo's few cents go over it: "daily cost over budget" and "burn rate" fire
    "daily_budget_usd": 0.1,
    # the long parametrized test id is cut to this length (and counted in rqobs_cardinality_capped_total)
    "max_label_length": 80,
    "scrape_interval": f"{SCRAPE_SECONDS}s",
    "evaluation_interval": f"{SCRAPE_SECONDS}s",
    # new counter series are exported as 0 this long so increase() counts their first value (3 scrapes)
    "new_series_grace": f"{3 * SCRAPE_SECONDS}s",
    "dashboard_refresh": "10s",
    # the demo runs Jaeger v2 (built from its Go module) as the trace backend; Tempo cannot run here
    "trace_backend": "jaeger",
}

#: (release, commit index (0 = before the SKILL.md change, 1 = after), benchmark file, vulnerability report)
RELEASES = (
    ("1.0.0", 0, "bench_router.v1.py.txt", "pip-audit-1.0.0.json"),
    ("1.1.0", 1, "bench_router.v2.py.txt", "pip-audit-1.1.0.json"),
)
CODE_QUALITY = 90
DOCUMENTATION = 70

#: Every alert's ``for:`` in the demo's rule file (the generated rules keep their minutes).
FOR_OVERRIDE = "0s"
#: Alertmanager's group_wait in the demo (the generated file's is 30s).
GROUP_WAIT = "1s"
