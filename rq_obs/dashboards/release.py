"""Release quality: score and dimensions, comparison of two releases, benchmarks, dependencies, environment."""

from __future__ import annotations

from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.dashboards import panels as P
from rq_obs.dashboards import queries as q
from rq_obs.dashboards.defaults import Spec, query_var
from rq_obs.dashboards.panels import Q

HEAD = 'release="$head"'
BASE = 'release="$base"'
BOTH = 'release=~"$base|$head"'
MEAN = 'stat="mean"'
PERCENTILES = 'stat=~"p50|p95|p99"'


def spec(config: Config) -> Spec:
    gate = config.min_quality_score
    ts = M.RELEASE_TIMESTAMP.name
    bench = M.BENCHMARK_SECONDS.name

    def latest(expr: str) -> str:
        return q.latest_release(expr, ts)

    quality = [
        P.stat("Quality score ($head)", f"Quality score 0-100 of the head release; the gate is {gate:g}.", "none",
               Q(q.sel(M.QUALITY_SCORE.name, HEAD), "{{release}}"), thresholds=P.floor(gate), decimals=1, w=4),
        P.bargauge("Quality dimensions ($head)", "Score 0-100 of each quality dimension of the head release "
                   "(missing dimensions are re-weighted and not shown).", "none",
                   Q(q.sel(M.QUALITY_DIMENSION.name, HEAD), "{{dimension}}"), thresholds=P.floor(gate),
                   max_value=100, w=10),
        P.bargauge("Quality score per release", "Quality score of each selected release.", "none",
                   Q(q.sel(M.QUALITY_SCORE.name, q.RELEASE), "{{release}}"), thresholds=P.floor(gate),
                   max_value=100, w=10),
        P.table("Quality dimensions per release", "Every dimension's score per selected release, with the pass rate "
                "and coverage recorded in the snapshot.", "none",
                Q(f"max by (release, dimension) ({q.sel(M.QUALITY_DIMENSION.name, q.RELEASE)})"),
                columns={"Value": ("Score", "none")}, thresholds=P.floor(gate), color_columns=("Value",),
                sort_by="release", w=12, h=8),
        P.timeseries("Quality score of the newest release over time", "Quality score of whichever release is newest "
                     "at each instant: a step at every release.", "none",
                     Q(f"max({latest(M.QUALITY_SCORE.name)})", "quality score"),
                     Q(f"max({latest(M.RELEASE_PASS_RATE.name)}) * 100", "pass rate %"),
                     Q(f"max({latest(M.RELEASE_COVERAGE.name)}) * 100", "coverage %"),
                     thresholds=P.floor(gate), show_thresholds=True, w=12, h=8),
    ]
    head_mean = f"max by (operation) ({q.sel(bench, HEAD, MEAN)})"
    base_mean = f"max by (operation) ({q.sel(bench, BASE, MEAN)})"
    compare = [
        P.table("Benchmark deltas ($base → $head)", f"Mean time per operation in both releases and the change; "
                f"slower by more than {config.regression_threshold:.0%} is a regression (red).", "s",
                Q(base_mean), Q(head_mean), Q(f"{head_mean} / {base_mean} - 1"),
                columns={"Value #A": ("$base mean", "s"), "Value #B": ("$head mean", "s"),
                         "Value #C": ("Change", "percentunit")},
                thresholds=P.ceiling(config.regression_threshold, 0), color_columns=("Value #C",),
                sort_by="Change", w=12, h=9),
        P.table("Regressed operations ($head)", "Operations of the head release slower than its baseline, by "
                "severity.", "percentunit", Q(q.sel(M.REGRESSION_RATIO.name, HEAD)),
                columns={"Value": ("Slowdown", "percentunit")}, hide=("__name__", "job", "instance"),
                sort_by="Slowdown", w=12, h=9),
        P.bargauge("Dependency changes ($head)", "Dependencies added, removed and upgraded (major, minor, patch) in "
                   "the head release vs its baseline.", "short",
                   Q(f"max by (change) ({q.sel(M.DEPENDENCY_CHANGES.name, HEAD)})", "{{change}}"), w=8),
        P.bargauge("Dependencies ($base vs $head)", "Direct and transitive dependency counts of both releases.",
                   "short", Q(f"max by (release, kind) ({q.sel(M.DEPENDENCIES.name, BOTH)})",
                              "{{release}} {{kind}}"), w=8),
        P.table("Environment differences ($base vs $head)", "Where each release's snapshot was taken: OS, kernel, "
                "Python, CPU model, container, cores and memory; a difference can explain a benchmark change.",
                "none", Q(q.sel(M.ENVIRONMENT.info, BOTH)),
                hide=("Value", "__name__", "job", "instance"), sort_by="release", w=8),
    ]
    trends = [
        P.timeseries("Benchmark p50 / p95 / p99 (newest release)", "Benchmark percentiles of the newest release at "
                     "each instant, per operation: a step at every release shows the trend.", "s",
                     Q(f"max by (operation, stat) ({latest(q.sel(bench, PERCENTILES))})", "{{operation}} {{stat}}")),
        P.timeseries("Benchmark peak memory (newest release)", "Peak memory per operation of the newest release at "
                     "each instant.", "bytes",
                     Q(f"max by (operation) ({latest(M.BENCHMARK_MEMORY.name)})", "{{operation}}")),
    ]
    deps = [
        P.stat("Vulnerabilities ($head)", "Known vulnerabilities in the head release's dependencies, by severity.",
               "short", Q(f"max by (severity) ({q.sel(M.VULNERABILITIES.name, HEAD)})", "{{severity}}"),
               thresholds=P.ceiling(config.max_vulnerabilities + 1), w=8, h=6),
        P.bargauge("Licences ($head)", "Dependencies per licence in the head release.", "short",
                   Q(f"max by (license) ({q.sel(M.LICENSES.name, HEAD)})", "{{license}}"), w=8, h=6),
        P.timeseries("Dependencies over releases", "Direct and transitive dependencies and known vulnerabilities of "
                     "the newest release at each instant.", "short",
                     Q(f"max by (kind) ({latest(M.DEPENDENCIES.name)})", "{{kind}}"),
                     Q(f"sum({latest(M.VULNERABILITIES.name)})", "vulnerabilities"), w=8, h=6),
    ]
    env = [
        P.table("Environment history", "Environment of every selected release snapshot.", "none",
                Q(q.sel(M.ENVIRONMENT.info, q.RELEASE)), hide=("Value", "__name__", "job", "instance"),
                sort_by="release", w=12),
        P.bargauge("Environment drift per release", "Environment fields that differ from each release's baseline; "
                   "0 means benchmarks ran on the same kind of machine.", "short",
                   Q(q.sel(M.ENV_DRIFT.name, q.RELEASE), "{{release}}"), thresholds=P.ceiling(1), w=6),
        P.stat("CPU cores ($head)", "Physical and logical CPU cores of the head release's snapshot machine.",
               "short", Q(f"max by (kind) ({q.sel(M.ENV_CPU_CORES.name, HEAD)})", "{{kind}}"), w=3, h=8),
        P.stat("Memory ($head)", "Total memory of the head release's snapshot machine.", "bytes",
               Q(f"max({q.sel(M.ENV_MEMORY.name, HEAD)})", "memory"), w=3, h=8),
    ]
    return Spec(
        name="release",
        description="Release quality for release managers: quality score and dimensions per release, comparison of "
                    "two releases, benchmark trends, dependencies and environments.",
        rows=[P.row("Quality score", *quality), P.row("Release comparison", *compare),
              P.row("Benchmark trends", *trends), P.row("Dependency tracker", *deps),
              P.row("Environment tracker", *env)],
        variables=[query_var("release", "Releases", M.RELEASE.info, "release"),
                   query_var("base", "Base release", M.RELEASE.info, "release", multi=False, include_all=False,
                             description="The older release of the comparison"),
                   query_var("head", "Head release", M.RELEASE.info, "release", multi=False, include_all=False,
                             description="The newer release of the comparison")],
        time_from="now-90d",
    )
