"""Release snapshots for server tests: two releases with exact, distinct values (1.5.0 regresses)."""

from __future__ import annotations

from rq_obs.snapshot.benchmarks import from_samples
from rq_obs.snapshot.model import Dependency, TestSummary
from rq_obs.snapshot.store import save_snapshot
from rq_obs.store import Store
from tests.release.factory import ENV, make, vuln

BASE = (0.0200, 0.0202, 0.0198, 0.0200, 0.0204, 0.0196)  # median 0.0200
SCORE1 = {"total": 91.25, "dimensions": {"code_quality": 95.0, "test_coverage": 88.0, "dependencies": 100.0,
                                         "documentation": None, "performance": None}, "missing": ["documentation",
                                                                                                 "performance"]}
SCORE2 = {"total": 63.5, "dimensions": {"code_quality": 70.0, "test_coverage": 61.0, "dependencies": 75.0,
                                        "documentation": None, "performance": 50.0}, "missing": ["documentation"]}


def snap_v1():
    return make("1.4.0", 1_795_000_000.0, commit="c" * 40, score=SCORE1, coverage=0.88,
                benchmarks=[from_samples("parse", BASE, "runner")],
                dependencies=(Dependency("click", "8.1.7", "direct", license="BSD-3-Clause"),
                              Dependency("six", "1.16.0", "transitive", license="MIT"),
                              Dependency("idna", "3.7", "transitive", license="BSD-3-Clause")),
                vulns=[], tests=TestSummary(40, 0, 0, 2, 2, "commit cccccccccccc"))


def snap_v2(score=SCORE2):
    env = {**ENV, "cpu": {**ENV["cpu"], "cores_logical": 16}, "memory": {**ENV["memory"], "total_bytes": 34359738368}}
    return make("1.5.0", 1_795_086_400.0, commit="d" * 40, score=score, baseline="1.4.0", coverage=0.61, env=env,
                benchmarks=[from_samples("parse", [x * 1.5 for x in BASE], "runner")],
                vulns=[vuln("GHSA-aaaa", "click", "8.2.0", "critical"), vuln("GHSA-bbbb", "click", "8.2.0", "medium"),
                       vuln("PYSEC-1", "httpx", "0.27.2", "medium")],
                tests=TestSummary(37, 2, 1, 0, 3, "commit dddddddddddd"),
                dependencies=(Dependency("click", "8.2.0", "direct", license="BSD-3-Clause"),
                              Dependency("httpx", "0.27.2", "direct", license="BSD-3-Clause"),
                              Dependency("anyio", "4.4.0", "transitive", license="MIT"),
                              Dependency("idna", "3.7", "transitive", license="BSD-3-Clause")))


def local_store(path) -> Store:
    """A store holding both snapshots, neither pushed."""
    store = Store(path)
    save_snapshot(store, snap_v1())
    save_snapshot(store, snap_v2())
    return store
