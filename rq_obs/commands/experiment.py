"""A/B experiments: lift per variant and metric with CIs, p-values, SRM check, power and MDE."""

from __future__ import annotations

import click

from rq_obs.commands._common import config_from, emit_json, format_option, open_store, store_option


@click.command("experiment")
@click.argument("name", required=False)
@store_option
@format_option("text", "json")
@click.pass_context
def command(ctx: click.Context, name: str | None, store_path: str | None, fmt: str) -> None:
    """Compare the variants of experiment NAME (default: every experiment) against control.

    pass_rate is tested with a two-proportion z-test, duration, tokens and cost with
    Welch's t-test; the sample split with a chi-square test (flagged below p = 0.001).
    With several comparisons each is judged at the Bonferroni-adjusted alpha.
    Definitions: docs/ANALYTICS.md.
    """
    from rq_obs.commands import _analytics_format as f
    from rq_obs.analytics.reports import experiment_report
    from rq_obs.errors import UsageError

    config = config_from(ctx)
    store = open_store(ctx, store_path)
    results = experiment_report(store, config, name)
    if name is not None and not results:
        known = [r.experiment for r in experiment_report(store, config)]
        raise UsageError(f"no experiment named {name!r} in {store.path}; known: {', '.join(known) or 'none'}")
    if fmt == "json":
        emit_json({"experiments": [r.to_dict() for r in results]})
        return
    if not results:
        click.echo("no experiments recorded (runs carry experiment 'none')")
        return
    for i, r in enumerate(results):
        if i:
            click.echo("")
        click.echo(f"experiment {r.experiment}  (control: {r.control}; alpha {r.alpha:g}"
                   + (f", Bonferroni {r.adjusted_alpha:.4g} over {r.n_comparisons} comparisons)" if r.n_comparisons > 1
                      else ")"))
        if r.srm is not None:
            obs = " / ".join(f"{v} {a.samples}" for v, a in sorted(r.arms.items()))
            click.echo(f"  samples: {obs}; SRM chi2 = {r.srm.chi2:.2f}, p = {f.pval(r.srm.p_value)}"
                       + ("  MISMATCH" if r.srm.flagged else "  ok"))
        else:
            click.echo(f"  samples: {' / '.join(f'{v} {a.samples}' for v, a in sorted(r.arms.items()))}")
        for v, arm in sorted(r.arms.items()):
            if v == r.control:
                continue
            click.echo(f"  {v} vs {r.control}: verdict {r.verdicts[v]}")
            for m in r.metrics:
                c = r.comparisons.get((v, m))
                if c is None:
                    click.echo(f"    {m:<9}  not enough samples")
                    continue
                fmtv = f.pct if m == "pass_rate" else (lambda x: f.num(x, 4))
                rel = "n/a" if c.relative is None else f"{100 * c.relative:+.1f}%"
                ci = "n/a" if c.ci is None else f"[{c.ci[0]:+.4f}, {c.ci[1]:+.4f}]"
                sig = c.p_value is not None and c.p_value < r.adjusted_alpha
                click.echo(f"    {m:<9}  {fmtv(c.control)} -> {fmtv(c.treatment)}  lift {c.diff:+.4f} ({rel})  "
                           f"95% CI {ci}  p = {f.pval(c.p_value)}  power {f.num(c.power, 2)}  MDE {f.num(c.mde, 4)}"
                           + ("  significant" if sig else ""))
        for note in r.notes:
            click.echo(f"  note: {note}")
