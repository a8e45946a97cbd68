"""Release snapshots: dependencies, environment, performance, tests and quality inputs of one release.

:func:`build_snapshot` gathers everything for a release (nothing is written); the caller
stores it with :func:`rq_obs.snapshot.store.save_snapshot`. The quality score stored with a
snapshot is measured against its baseline (config ``baseline``: the previous snapshot, or a
named release).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from rq_obs import durations
from rq_obs.config import Config
from rq_obs.snapshot.model import RELEASE_PATTERN, Benchmark, QualityInputs, Snapshot
from rq_obs.store import Store

if TYPE_CHECKING:
    from rq_obs.snapshot.pyenv import Target

__all__ = ["build_snapshot", "git_commit"]



def git_commit(project: Path) -> str:
    import shutil

    if not shutil.which("git"):
        return ""
    from rq_obs import proc

    res = proc.run(["git", "rev-parse", "HEAD"], cwd=str(project), timeout=10)
    out = res.stdout.strip()
    return out if res.ok and re.fullmatch(r"[0-9a-f]{7,64}", out) else ""


def build_snapshot(config: Config, store: Store, project: Path, release: str, *,
                   benchmarks: Sequence[Benchmark] = (), benchmarks_file: str | None = None,
                   run_file: str | None = None, coverage: str | None = None, vulns: str | None = None,
                   code_quality: float | None = None, documentation: float | None = None,
                   sample: Sequence[str] | None = None, commit: str | None = None, now: float | None = None,
                   env: Mapping[str, str] | None = None, python: Target | None = None,
                   progress: Callable[[str], None] | None = None) -> Snapshot:
    """``python``: the environment whose installed distributions are recorded (:func:`rq_obs.snapshot.pyenv.choose`;
    default: config ``snapshot_python``, else the project's detected virtualenv, else rq-obs's own).
    ``progress`` gets a status text as each slow step starts (:mod:`rq_obs.progress`)."""
    step = progress or (lambda text: None)
    from rq_obs.compare import quality_of
    from rq_obs.errors import UsageError
    from rq_obs.snapshot import benchmarks as bm
    from rq_obs.snapshot.deps import collect_dependencies
    from rq_obs.snapshot.environment import capture_environment
    from rq_obs.snapshot.pyenv import choose, read
    from rq_obs.snapshot.quality_inputs import load_coverage
    from rq_obs.snapshot.store import baseline_for, summarise_tests
    from rq_obs.snapshot.vulns import load_vulnerabilities

    if not RELEASE_PATTERN.match(release):
        raise UsageError(f"release {release!r}: expected 1-128 characters of letters, digits and _.+:/@- "
                         "starting with a letter or digit")
    project = Path(project).resolve()
    if not project.is_dir():
        raise UsageError(f"{project}: project directory not found")
    # first: a wrong interpreter fails before benchmarks or a sampled command run
    step("reading the installed distributions")
    deps_env, installed = read(python if python is not None else choose(project, None, config.snapshot_python), project)
    now = time.time() if now is None else now
    commit = git_commit(project) if commit is None else commit
    benches = {b.name: b for b in benchmarks}
    if benchmarks_file:
        benches.update({b.name: b for b in bm.load_pytest_benchmark(benchmarks_file)})
    if run_file:
        step(f"timing the bench_* functions of {run_file}")
        benches.update({b.name: b for b in bm.run_file(run_file)})
    vuln_list, scan = (), ""
    if vulns:
        scan, found = load_vulnerabilities(vulns)
        vuln_list = tuple(found)
    cov = load_coverage(coverage) if coverage else None
    resources = bm.sample_command(list(sample), progress=progress) if sample else {}
    step("reading dependencies, environment and test runs")
    snap = Snapshot(
        release=release, commit=commit, created_at=now, project=project.name,
        dependencies=collect_dependencies(project, dists=installed), vulnerabilities=vuln_list,
        environment=capture_environment(config, project, os.environ if env is None else env),
        benchmarks=tuple(benches[k] for k in sorted(benches)), resources=resources,
        tests=summarise_tests(store, commit, durations.seconds(config.snapshot_window, "snapshot_window"), now),
        quality=QualityInputs(cov, Path(coverage).name if coverage else "", code_quality, documentation, scan),
        dependency_environment=deps_env.to_dict(),
    )
    base = baseline_for(store, release, now, config.baseline)
    score = quality_of(snap, base, config)
    return replace(snap, score=score.to_dict(), baseline=base.release if base else "")
