"""Take a release snapshot: dependencies, environment, benchmarks, tests and quality score.

Stores one snapshot per release (re-snapshotting a release replaces it, with a warning).
Inputs: pytest-benchmark JSON (--benchmarks) or a file of bench_* functions to run
(--run-benchmarks), coverage.py JSON/XML (--coverage), pip-audit or OSV-Scanner JSON (--vulns),
code-quality and documentation scores (0-100, or a JSON file {"score": N}).
Dependencies are read from --python, else config snapshot_python, else the project's .venv or
venv when rq-obs runs from elsewhere, else rq-obs's own environment; the output says which.
"""

from __future__ import annotations

import shlex
from datetime import datetime, timezone
from pathlib import Path

import click

from rq_obs.commands._common import emit_json, format_option, loaded_config, open_store, project_root, store_option


@click.command(help=__doc__)
@click.option("--release", required=True, help="Release name (e.g. v1.4.0).")
@store_option
@click.option("--project", "project_dir", type=click.Path(file_okay=False), default=None,
              help="Project directory to snapshot. Default: the project root.")
@click.option("--benchmarks", "benchmarks_file", type=click.Path(dir_okay=False), default=None,
              help="pytest-benchmark JSON (pytest --benchmark-json=FILE; add --benchmark-save-data for per-round samples).")
@click.option("--run-benchmarks", "run_file", type=click.Path(dir_okay=False), default=None,
              help="Python file whose bench_* functions are timed by the built-in runner.")
@click.option("--coverage", type=click.Path(dir_okay=False), default=None, help="coverage.py JSON or XML report.")
@click.option("--vulns", type=click.Path(dir_okay=False), default=None, help="pip-audit or OSV-Scanner JSON report.")
@click.option("--code-quality", default=None, help="Code-quality score 0-100 (or a JSON file holding {\"score\": N}).")
@click.option("--documentation", default=None, help="Documentation score 0-100 (or a JSON file holding {\"score\": N}).")
@click.option("--sample-command", default=None, help="Run this command and record its CPU, memory, disk and network use.")
@click.option("--commit", default=None, help="Commit of the release. Default: git rev-parse HEAD in the project.")
@click.option("--python", "python", default=None, metavar="PATH",
              help="Python interpreter whose installed distributions are recorded (e.g. .venv/bin/python). Default: "
                   "config snapshot_python, else the project's .venv or venv, else rq-obs's own environment.")
@format_option("text", "json")
@click.option("--quiet", is_flag=True, help="No progress line (it is shown only when stderr is a terminal).")
@click.pass_context
def command(ctx, release, store_path, project_dir, benchmarks_file, run_file, coverage, vulns, code_quality,
            documentation, sample_command, commit, python, fmt, quiet):
    from rq_obs.snapshot import build_snapshot
    from rq_obs.snapshot.pyenv import choose
    from rq_obs.snapshot.quality_inputs import parse_score
    from rq_obs.snapshot.store import list_snapshots, save_snapshot

    loaded = loaded_config(ctx)
    config = loaded.config
    project = Path(project_dir) if project_dir else project_root(ctx)
    target = choose(project, python, config.snapshot_python, loaded.sources["snapshot_python"])
    store = open_store(ctx, store_path, create=True)
    from rq_obs.progress import Status
    from rq_obs.snapshot.store import count_runs

    stored_runs = count_runs(store)
    try:
        with Status(quiet) as status:
            snap = build_snapshot(
                config, store, project, release, benchmarks_file=benchmarks_file, run_file=run_file,
                coverage=coverage, vulns=vulns,
                code_quality=parse_score(code_quality, "--code-quality") if code_quality is not None else None,
                documentation=parse_score(documentation, "--documentation") if documentation is not None else None,
                sample=shlex.split(sample_command) if sample_command else None, commit=commit, python=target,
                progress=status.step)
    except BaseException:
        store.discard()  # a store this command made for a snapshot it could not take: not left behind empty
        raise
    load = (snap.environment.get("load") or {}).get("per_cpu_1m")
    if run_file and isinstance(load, (int, float)):
        from rq_obs.snapshot.environment import BUSY_LOAD

        if load >= BUSY_LOAD:
            click.echo(f"rq-obs: warning: benchmarks timed on a busy machine (load {load:g} per CPU): their timings "
                       f"are noisy, and compare will say so", err=True)
    if stored_runs == 0:
        click.echo(f"rq-obs: warning: the store {store.path} has no test runs, so the snapshot has no pass rate: "
                   f"point --store at the store your test runs were recorded in (pytest with the rq-obs plugin), "
                   f"or record runs there first", err=True)
    elif snap.tests.runs == 0:
        click.echo(f"rq-obs: warning: none of the {stored_runs} test runs in {store.path} is at this commit or in the "
                   f"last {config.snapshot_window}: the snapshot has no pass rate", err=True)
    previous = {s["release"]: s for s in list_snapshots(store)}.get(release)
    replaced = save_snapshot(store, snap)
    if replaced and previous:
        taken = datetime.fromtimestamp(previous["created_at"], tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        click.echo(f"rq-obs: warning: release {release!r} already had a snapshot (taken {taken}); it was replaced", err=True)
    from rq_obs.snapshot.pyenv import env_from_dict

    deps_env = env_from_dict(snap.dependency_environment)
    if fmt == "json":
        if deps_env:  # stdout stays one JSON document
            click.echo(f"rq-obs: {deps_env.describe()}", err=True)
        emit_json(snap.to_dict())
        return
    direct = sum(1 for d in snap.dependencies if d.kind == "direct")
    score = snap.score
    total = score.get("total")
    pr = snap.tests.pass_rate
    click.echo(f"snapshot {release} stored in {store.path}" + (f" (commit {snap.commit[:12]})" if snap.commit else ""))
    click.echo(f"  dependencies: {len(snap.dependencies)} ({direct} direct, {len(snap.dependencies) - direct} transitive); "
               f"vulnerabilities: {len(snap.vulnerabilities) if snap.quality.vulnerability_scan else 'not scanned'}")
    if deps_env:
        click.echo(f"  {deps_env.describe()}")
    click.echo(f"  benchmarks: {len(snap.benchmarks)}; pass rate: "
               + (f"{pr:.1%} ({snap.tests.scope}, {snap.tests.runs} run{'' if snap.tests.runs == 1 else 's'})" if pr is not None else "no test runs in the store")
               + "; coverage: " + (f"{snap.quality.coverage:.1%}" if snap.quality.coverage is not None else "missing"))
    click.echo(f"  environment: {snap.environment['os']['system']} {snap.environment['os']['kernel']}, "
               f"{snap.environment['python']['implementation']} {snap.environment['python']['version']}, "
               f"{snap.environment['cpu']['cores_logical']} CPUs, container {snap.environment['container']}")
    click.echo("  quality score: " + (f"{total:.1f}" if total is not None else "none (every dimension missing)")
               + (f" vs baseline {snap.baseline}" if snap.baseline else " (no baseline)")
               + (f"; missing: {', '.join(score['missing'])}" if score.get("missing") else ""))
