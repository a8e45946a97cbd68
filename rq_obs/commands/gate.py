"""Check a release against the quality gates (score, regressions, vulnerabilities, coverage, failing tests); exit 1 on failure.

Thresholds: config < .quality-gates.yaml in the project < flags (the same ones `rq-obs compare`
blocks on). Gates the latest snapshot unless --release is given; regressions (timing and memory)
are counted against the snapshot's baseline. A gate whose input was not measured is SKIPPED with
what to add (failed with --strict); when no gate had any input, the first line says
"nothing was measured: N of N gates skipped".
"""

from __future__ import annotations

import click

from rq_obs.commands._common import config_from, emit_json, format_option, open_store, project_root, store_option


@click.command(help=__doc__)
@click.option("--release", default=None, help="Release to gate. Default: the latest snapshot.")
@click.option("--min-score", type=float, default=None, help="Minimum quality score 0-100.")
@click.option("--max-regressions", type=click.IntRange(min=0), default=None, help="Maximum performance regressions vs the baseline.")
@click.option("--max-vulnerabilities", type=click.IntRange(min=0), default=None, help="Maximum known vulnerabilities.")
@click.option("--min-coverage", type=float, default=None, help="Minimum line coverage 0-1 (0 disables).")
@click.option("--max-failing-tests", type=click.IntRange(min=0), default=None,
              help="Maximum tests that failed in every attempt of the release's runs.")
@click.option("--strict", is_flag=True, help="Fail gates whose input was not measured instead of skipping them.")
@store_option
@format_option("text", "json")
@click.pass_context
def command(ctx, release, min_score, max_regressions, max_vulnerabilities, min_coverage, max_failing_tests, strict,
            store_path, fmt):
    from rq_obs.analysis.gates import check, thresholds
    from rq_obs.compare.perf import performance_diff
    from rq_obs.errors import CheckFailed, UsageError
    from rq_obs.snapshot.store import baseline_for, load_snapshot, resolve_release

    for name, v, hi in (("--min-score", min_score, 100), ("--min-coverage", min_coverage, 1)):
        if v is not None and not 0 <= v <= hi:
            raise UsageError(f"{name} is {v}; expected 0 to {hi}")
    config = config_from(ctx)
    limits = thresholds(config, project_root(ctx), {
        "min_score": min_score, "max_regressions": max_regressions, "max_vulnerabilities": max_vulnerabilities,
        "min_coverage": min_coverage, "max_failing_tests": max_failing_tests})
    store = open_store(ctx, store_path)
    release = resolve_release(store, release)
    snap = load_snapshot(store, release)
    base = baseline_for(store, snap.release, snap.created_at, snap.baseline or config.baseline)
    perf = performance_diff(base, snap, config) if base is not None else None
    gates = check(limits, snap, snap.score, perf, strict)
    failed = [g for g in gates if g.result == "fail"]
    skipped = [g for g in gates if g.result == "skip" and g.unmeasured]
    nothing = all(g.result == "skip" or g.unmeasured for g in gates)  # no gate had an input to judge
    if nothing:
        unjudged = sum(1 for g in gates if g.result == "skip") if not strict else len(failed)
        headline = (f"nothing was measured: {unjudged} of {len(gates)} gates skipped" if not strict else
                    f"nothing was measured: {unjudged} of {len(gates)} gates failed (--strict)")
    if fmt == "json":
        emit_json({"release": snap.release, "baseline": base.release if base else None, "passed": not failed,
                   "nothing_measured": nothing, "strict": strict, "not_measured": [g.name for g in gates if g.unmeasured],
                   "gates": [dict(g.to_dict(), source=limits.sources[g.name]) for g in gates]})
    else:
        if nothing:
            click.echo(headline)
        click.echo(f"Quality gates for {snap.release}" + (f" (baseline {base.release})" if base else " (no baseline)"))
        rows = [("gate", "threshold", "actual", "result", "source / detail")]
        def shown(name: str, v: float | None) -> str:  # coverage as snapshot shows it: a percentage
            if v is None:
                return "—"
            return f"{v * 100:.1f}%" if name == "min_coverage" else f"{v:g}"

        for g in gates:
            rows.append((g.name, shown(g.name, g.threshold), shown(g.name, g.actual), g.result.upper(),
                         limits.sources[g.name] + (f"; {g.detail}" if g.detail else "")))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            click.echo("  ".join(c.ljust(widths[i]) for i, c in enumerate(r[:4])) + "  " + r[4])
        if failed:
            click.echo(f"FAIL ({len(failed)} of {len(gates)} gates)")
        elif nothing:
            click.echo(f"PASS, but {headline} (--strict fails them)")
        elif skipped:
            click.echo(f"PASS ({len(skipped)} of {len(gates)} gates skipped: input not measured; --strict fails them)")
        else:
            click.echo("PASS")
    if failed:
        raise CheckFailed(f"{snap.release}: gates failed: " + ", ".join(g.name for g in failed))
