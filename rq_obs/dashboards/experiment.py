"""Experiments (A/B): per experiment and variant, samples, value, lift with CI, p-value, verdict, SRM, power."""

from __future__ import annotations

from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.dashboards import panels as P
from rq_obs.dashboards import queries as q
from rq_obs.dashboards.defaults import Spec, custom_var, query_var
from rq_obs.dashboards.panels import Q

METRIC = 'metric="$metric"'
#: Sample-ratio-mismatch p-values below this flag a skewed split (the analytics' own cut-off).
SRM_ALPHA = 0.001


def spec(config: Config) -> Spec:
    alpha = config.significance_level
    e = q.EXPERIMENT

    def per_variant(series: str, *matchers: str) -> str:
        return f"max by (experiment, variant) ({q.sel(series, e, *matchers)})"

    overview = [
        P.table("Variants", f"Per experiment and variant: samples, the selected metric's value, absolute lift vs "
                f"control with its 95 % confidence interval, p-value (significant below {alpha:g}), achieved power "
                "and minimum detectable effect.", "none",
                Q(per_variant(M.EXPERIMENT_SAMPLES.name)), Q(per_variant(M.EXPERIMENT_VALUE.name, METRIC)),
                Q(per_variant(M.EXPERIMENT_LIFT.name, METRIC, 'kind="absolute"')),
                Q(per_variant(M.EXPERIMENT_CI_LOWER.name, METRIC)), Q(per_variant(M.EXPERIMENT_CI_UPPER.name, METRIC)),
                Q(per_variant(M.EXPERIMENT_P_VALUE.name, METRIC)), Q(per_variant(M.EXPERIMENT_POWER.name, METRIC)),
                Q(per_variant(M.EXPERIMENT_MDE.name, METRIC)),
                columns={"Value #A": ("Samples", "short"), "Value #B": ("Value", "none"),
                         "Value #C": ("Lift", "percentunit"), "Value #D": ("CI low", "percentunit"),
                         "Value #E": ("CI high", "percentunit"), "Value #F": ("p-value", "none"),
                         "Value #G": ("Power", "percentunit"), "Value #H": ("MDE", "percentunit")},
                sort_by="experiment", sort_desc=False, h=8),
        P.stat("Verdict", "Current verdict of each variant vs control: better, worse, inconclusive, or srm (the "
               "split itself is skewed).", "none",
               Q(f"max by (experiment, variant, verdict) ({q.sel(M.EXPERIMENT_VERDICT.name, e)} == 1)",
                 "{{experiment}} / {{variant}}: {{verdict}}"), text_mode="name", color_mode="background", w=8),
        P.stat("Sample-ratio mismatch (p-value)", f"Chi-square p-value of the observed split vs the planned one; "
               f"below {SRM_ALPHA:g} the assignment is skewed and results cannot be trusted.", "none",
               Q(q.sel(M.EXPERIMENT_SRM_P_VALUE.name, e), "{{experiment}}"), decimals=4,
               thresholds=P.floor(SRM_ALPHA), w=8),
        P.bargauge("Samples per variant", "Attempts recorded per variant.", "short",
                   Q(per_variant(M.EXPERIMENT_SAMPLES.name), "{{experiment}} / {{variant}}"), w=8, h=4),
    ]
    over_time = [
        P.timeseries("Lift with 95 % confidence interval", "Absolute lift of the selected metric vs control with the "
                     "bounds of its 95 % CI; an interval not crossing 0 is a real effect.", "percentunit",
                     Q(per_variant(M.EXPERIMENT_LIFT.name, METRIC, 'kind="absolute"'), "{{variant}} lift"),
                     Q(per_variant(M.EXPERIMENT_CI_LOWER.name, METRIC), "{{variant}} CI low"),
                     Q(per_variant(M.EXPERIMENT_CI_UPPER.name, METRIC), "{{variant}} CI high"), min_zero=False),
        P.timeseries("p-value", f"p-value of each variant vs control; the {alpha:g} significance level is the "
                     "line.", "none", Q(per_variant(M.EXPERIMENT_P_VALUE.name, METRIC), "{{variant}}"),
                     thresholds=P.steps(("green", None), ("text", alpha)), show_thresholds=True, max_one=True),
        P.bargauge("Power", "Achieved power of each comparison; under 80 % a null result says little.",
                   "percentunit", Q(per_variant(M.EXPERIMENT_POWER.name, METRIC), "{{experiment}} / {{variant}}"),
                   thresholds=P.floor(0.8, 0.5), max_value=1),
        P.timeseries("Value per variant", "The selected metric per variant (pass rate, mean duration, tokens or "
                     "cost).", "none", Q(per_variant(M.EXPERIMENT_VALUE.name, METRIC), "{{variant}}")),
    ]
    return Spec(
        name="experiment",
        description="A/B experiments: per experiment and variant, samples, value, lift with confidence interval, "
                    "p-value, verdict, sample-ratio-mismatch check and power.",
        rows=[P.row("Overview", *overview), P.row("Over time", *over_time)],
        variables=[query_var("experiment", "Experiment", M.EXPERIMENT_SAMPLES.name, "experiment"),
                   custom_var("metric", "Metric", ("pass_rate", "duration", "tokens", "cost"),
                              "Experiment metric to compare")],
        annotations=("files",),
        time_from="now-14d",
    )
