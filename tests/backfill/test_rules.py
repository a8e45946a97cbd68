"""rq-obs backfill --rules: the recording rules over the history, checked on a real Prometheus at past times.

A small store (three days, a run every 4 h, three tests) is backfilled with the deployed rules into a
data directory that already holds a block of the analytics gauge ``rqobs_test_pass_rate_ratio``
(as if scraped), so the uncertain-band rules, one reading the other's series, have input too. Expected
values are computed here from the runs' definitions, not read from the store.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rq_obs.backfill.openmetrics import EOF, family_header, format_timestamp, format_value, series_prefix
from rq_obs.backfill.rules import Rule, backfill_rules, deployed_rules, passes
from rq_obs.backfill.tsdb import create_blocks, list_blocks
from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.errors import InputError, UsageError
from rq_obs.rules.definitions import N
from rq_obs.store import ApiCall, Attempt, Run, Store
from tests.backfill.common import prometheus_on, write_store
from tests.helpers.cli import run_cli
from tests.helpers.procs import PROMETHEUS, PROMTOOL, need

DAY, HOUR, STEP = 86400, 3600, 300
BASE = 1_700_006_400  # 2023-11-15 00:00:00 UTC
N_RUNS = 18  # a run every 4 h for three days
END = BASE + 3 * DAY
SUITE = "demo"
TESTS = ("tests/test_a.py::test_stable", "tests/test_a.py::test_flaky", "tests/test_b.py::test_broken")
COST = 0.01  # USD per attempt (one API call each)


def outcome(i: int, test: str) -> str:
    if test == TESTS[0]:
        return "failed" if i == 1 else "passed"
    if test == TESTS[1]:
        return "failed" if i % 2 == 0 else "passed"
    return "passed" if i % 6 == 3 else "failed"


def started(i: int) -> float:
    return BASE + i * 4 * HOUR + 20 * 60


def finished(i: int) -> float:
    return started(i) + 10 * 60 + 7  # off the 5 m grid: the next sample after it counts the run


def make_run(i: int) -> Run:
    return Run(run_id=f"run-{i:02d}", suite=SUITE, started_at=started(i), finished_at=finished(i), attempts=tuple(
        Attempt(test=t, outcome=outcome(i, t), duration=0.5, variant="control", started_at=started(i) + j,
                api_calls=(ApiCall(provider="openai", model="gpt-4o", latency=0.4, input_tokens=100,
                                   output_tokens=10, cost_usd=COST, retries=int(i % 3 == 0 and j == 0),
                                   retry_reasons=("429",) if i % 3 == 0 and j == 0 else ()),))
        for j, t in enumerate(TESTS)))


def runs_in(lo: float, hi: float) -> list[int]:
    return [i for i in range(N_RUNS) if lo < finished(i) <= hi]


def pass_rate(runs: list[int], test: str | None = None) -> float:
    tests = TESTS if test is None else (test,)
    outcomes = [outcome(i, t) for i in runs for t in tests]
    return outcomes.count("passed") / len(outcomes)


def first_sample() -> int:
    return -(-int(finished(0)) // STEP) * STEP


def band(t: float) -> dict[str, float]:
    """Tests whose pass rate over all runs finished by ``t`` is inside the default flaky band 0.3-0.7."""
    rates = {test: pass_rate(runs_in(0, t), test) for test in TESTS}
    return {test: r for test, r in rates.items() if 0.3 <= r <= 0.7}


def seed_pass_rate_gauge(data: Path, work: Path) -> None:
    """``rqobs_test_pass_rate_ratio`` per test (its pass rate over all runs so far) every 5 m, as blocks."""
    om = work / "pass_rate.om"
    with open(om, "w", encoding="utf-8") as fh:
        fh.write(family_header(M.TEST_PASS_RATE))
        for t in range(first_sample(), END + 1, STEP):
            for test in TESTS:
                fh.write(f"{series_prefix(M.TEST_PASS_RATE.name, [('suite', SUITE), ('test', test)])} "
                         f"{format_value(pass_rate(runs_in(0, t), test))} {format_timestamp(t)}\n")
        fh.write(EOF)
    create_blocks(om, data)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    return write_store(tmp_path_factory.mktemp("rules-store") / "store.db", map(make_run, range(N_RUNS)))


@pytest.fixture(scope="module")
def backfilled(store_path, tmp_path_factory):
    need(PROMTOOL, "prometheus")
    need(PROMETHEUS, "prometheus")
    work = tmp_path_factory.mktemp("rules-backfill")
    seed_pass_rate_gauge(work / "data", work)
    res = run_cli("backfill", "--store", store_path, "--data-dir", work / "data", "--end", str(END))
    assert res.code == 0, res.err
    return work, res


@pytest.fixture(scope="module")
def prom(backfilled):
    work, _ = backfilled
    with prometheus_on(work, work / "data") as p:
        yield p


def values(prom, expr: str, t: float) -> dict[frozenset, str]:
    """{labels without __name__: value as Prometheus prints it} of an instant query at ``t``."""
    return {frozenset((k, v) for k, v in r["metric"].items() if k != "__name__"): r["value"][1]
            for r in prom.query(expr, time=t)}


def one(prom, expr: str, t: float) -> float:
    got = values(prom, expr, t)
    assert len(got) == 1, (expr, t, got)
    return float(next(iter(got.values())))


T_EARLY = BASE + 6 * HOUR  # runs 0 and 1 finished
T_DAY2 = BASE + 2 * DAY + 2 * HOUR  # the last day: runs finishing (day 1 02:00, day 2 02:00]


def test_output_names_rules_passes_samples_and_blocks(backfilled):
    work, res = backfilled
    out = res.out
    rules = deployed_rules(Config())
    assert (f"recording rules: {len(rules)} from rules/rq-obs.rules.yml, evaluated every 5m from "
            "2023-11-15 00:35:00Z to 2023-11-18 00:00:00Z via range queries, in 2 pass(es)") in out
    lines = out.splitlines()
    p1 = next(ln for ln in lines if ln.startswith("  pass 1: "))
    assert p1.startswith(f"  pass 1: {len(passes(rules)[0])} rules; Prometheus ready in ")
    assert "1 block(s) written in" in p1
    assert any(ln.startswith("  pass 2: 2 rules; ") for ln in lines)
    steps = (END - first_sample()) // STEP + 1
    # every grid time but the first (one sample is not a rate) has a value: one suite
    assert f"  {N.pass_rate['1d']}" in out
    row = next(ln for ln in lines if ln.startswith(f"  {N.pass_rate['1d']} "))
    assert row.split()[1:] == ["1", "series,", str(steps - 1), "samples"]
    row = next(ln for ln in lines if ln.startswith(f"  {N.uncertain_band_count} "))
    with_band = sum(1 for t in range(first_sample(), END + 1, STEP) if band(t))
    assert with_band == steps - 48  # none in the band until run 1 (04:30:07): 00:35-04:30 have no count
    assert row.split()[1:] == ["1", "series,", str(with_band), "samples"]
    assert lines[-1].startswith("run Prometheus with --storage.tsdb.retention.time=")
    # release rules read gauges that are not backfilled; the command says so
    tail = next(ln for ln in lines if ln.startswith("no samples for "))
    assert N.quality_latest in tail and N.quality_delta in tail and "are not backfilled" in tail
    written = next(ln for ln in lines if ln.startswith("wrote ") and "rule samples" in ln)
    rule_blocks = {b.ulid for b in list_blocks(work / "data")}
    assert " rule samples in 2 block(s) " in written  # one per pass
    assert len(rule_blocks) == 4  # seed, history, pass 1, pass 2


@pytest.mark.e2e
@pytest.mark.parametrize("t", [T_DAY2, END])
def test_daily_pass_rate_and_cost_equal_the_runs_of_that_day(prom, t):
    day = runs_in(t - DAY, t)
    assert len(day) == 6
    assert one(prom, N.pass_rate["1d"], t) == pytest.approx(pass_rate(day), rel=1e-12)
    assert one(prom, N.cost_1d, t) == pytest.approx(COST * len(TESTS) * len(day), rel=1e-12)


@pytest.mark.e2e
@pytest.mark.parametrize("t, band_at", [(T_EARLY, {TESTS[0]: 0.5, TESTS[1]: 0.5}), (T_DAY2, {TESTS[1]: 6 / 13})])
def test_uncertain_band_count_reads_the_backfilled_uncertain_band_rule(prom, t, band_at):
    assert band(t) == pytest.approx(band_at)  # what the runs' definitions give, spelled out
    got = values(prom, N.uncertain_band, t)
    assert {dict(k)["test"]: float(v) for k, v in got.items()} == pytest.approx(band_at, rel=1e-12)
    assert one(prom, N.uncertain_band_count, t) == len(band_at)


@pytest.mark.e2e
def test_every_recorded_value_is_the_rules_expression_at_that_time(prom):
    """What a running Prometheus would have recorded: the expression evaluated at each time."""
    times = [first_sample() + STEP, T_EARLY, BASE + DAY + 35 * 60, T_DAY2, END]
    with_data = set()
    for rule in deployed_rules(Config()):
        for t in times:
            recorded = values(prom, rule.record, t)
            assert recorded == values(prom, rule.expr, t), (rule.record, t)
            with_data |= {rule.record} if recorded else set()
    assert {N.pass_rate["1h"], N.pass_rate["7d"], N.variant_outcome_rate, N.cost_rate_1h, N.retry_ratio,
            N.latency[95], N.uncertain_band, N.uncertain_band_count} <= with_data
    # nothing before the history starts
    assert values(prom, N.pass_rate["1d"], first_sample() - STEP) == {}


def test_promtool_way_records_what_the_expression_gives_at_its_own_evaluation_times(store_path, tmp_path):
    """``via="promtool"``: Prometheus' importer, at the rule group's offset, a block per 2 h."""
    need(PROMETHEUS, "prometheus")
    data = tmp_path / "data"
    res = run_cli("backfill", "--store", store_path, "--data-dir", data, "--end", str(BASE + 6 * HOUR),
                  "--no-rules")
    assert res.code == 0, res.err
    assert "recording rules" not in res.out and len(list_blocks(data)) == 1
    rule = Rule(N.cost_rate_1h, next(r.expr for r in deployed_rules(Config()) if r.record == N.cost_rate_1h))
    result = backfill_rules(data, [rule], start_time=BASE, end_time=BASE + 6 * HOUR, step=STEP, via="promtool")
    assert [p.rules[0].record for p in result.passes] == [N.cost_rate_1h]
    blocks = result.blocks
    assert len(blocks) == 3 and all(b.max_time - b.min_time <= 2 * HOUR for b in blocks)  # 0-2 h, 2-4 h, 4-6 h
    with prometheus_on(tmp_path, data) as p:
        series = p.query(f"{N.cost_rate_1h}[6h]", time=BASE + 6 * HOUR)
        assert len(series) == 1
        points = series[0]["values"]
        assert len(points) == result.samples > 50
        stamps = [ts for ts, _ in points]
        assert all(b - a == STEP for a, b in zip(stamps, stamps[1:]))
        assert stamps[0] % STEP != 0  # the group's own offset, as a running Prometheus would evaluate
        for ts, v in points:
            assert values(p, rule.expr, ts) == {frozenset({("suite", SUITE)}): v}, ts
        # the counter appears with run 0's cost (no increase seen); run 1's cost shows for the hour after it
        after_run1 = [float(v) for ts, v in points if finished(1) + STEP < ts < finished(1) + HOUR]
        assert after_run1 and all(v > 0 for v in after_run1)
        assert {float(v) for ts, v in points if ts < finished(1) or ts > finished(1) + HOUR + STEP} == {0.0}


def test_missing_prometheus_names_the_debian_package_before_any_work(store_path, tmp_path):
    need(PROMTOOL, "prometheus")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(PROMTOOL, bin_dir / "promtool")
    store = Store(store_path)
    new_before = store.query("SELECT COUNT(*) FROM totals WHERE created_at IS NOT NULL")[0][0]
    res = run_cli("backfill", "--store", store_path, "--data-dir", tmp_path / "data", "--end", str(END),
                  env={"PATH": str(bin_dir)})
    assert res.code == 2
    assert res.err.strip() == (
        "rq-obs: error: prometheus not found on PATH (Debian package 'prometheus': apt-get install -y "
        "--no-install-recommends prometheus); --rules evaluates the recording rules over the history with a "
        "temporary Prometheus (--no-rules backfills without them)")
    assert not (tmp_path / "data").exists()
    assert store.query("SELECT COUNT(*) FROM totals WHERE created_at IS NOT NULL")[0][0] == new_before
    store.close()


def test_a_failing_rule_is_named_and_prometheus_is_stopped(tmp_path):
    need(PROMETHEUS, "prometheus")
    data = tmp_path / "data"
    data.mkdir()
    bad = Rule("suite:broken:rate", f"rate({M.TEST_ATTEMPTS.total})")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(UsageError) as exc:
        backfill_rules(data, [bad], start_time=BASE, end_time=END, step=STEP, workdir=scratch)
    msg = str(exc.value)
    assert msg.startswith("recording rule suite:broken:rate: http://127.0.0.1:")
    assert "answered 400: bad_data: " in msg and "expected type range vector" in msg
    assert list(scratch.iterdir()) == []  # the scratch directory (storage, log) is gone
    for pid in filter(str.isdigit, os.listdir("/proc")):  # and no process still runs on it
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        assert str(scratch).encode() not in cmdline, cmdline
    assert list(data.iterdir()) == []


def test_passes_put_a_rule_after_the_rules_it_reads_and_refuse_cycles():
    rules = deployed_rules(Config())
    order = {r.record: n for n, group in enumerate(passes(rules)) for r in group}
    assert order[N.uncertain_band_count] > order[N.uncertain_band]
    assert order[N.quality_delta] > max(order[N.quality_latest], order[N.quality_previous])
    assert {n for n, k in order.items() if k} == {N.uncertain_band_count, N.quality_delta}
    # the records of the generated rules file, in its order
    from rq_obs.rules.prometheus import recording_document

    assert [r.record for r in rules] == [r["record"] for r in recording_document(Config())["groups"][0]["rules"]]
    cyclic = [Rule("a:x:sum", "sum(b:x:sum)"), Rule("b:x:sum", "sum(a:x:sum)"), Rule("c:x:sum", "sum(up)")]
    with pytest.raises(InputError) as exc:
        passes(cyclic)
    assert str(exc.value) == "recording rules read each other's series in a cycle: a:x:sum, b:x:sum"
    # a name inside a longer name is not a reference
    assert [[r.record for r in p] for p in passes([Rule("a:x:sum_more", "sum(a:x:sum)"), Rule("a:x:sum", "up")])] \
        == [["a:x:sum"], ["a:x:sum_more"]]
    assert passes([Rule("a:x:y", "sum(a:x:y_total)")]) == [[Rule("a:x:y", "sum(a:x:y_total)")]]


def test_bad_arguments_are_refused_before_prometheus_starts(tmp_path):
    rule = Rule(N.cost_rate_1h, "up")
    with pytest.raises(UsageError) as exc:
        backfill_rules(tmp_path, [rule], start_time=END, end_time=END - STEP, step=STEP, workdir=tmp_path)
    assert str(exc.value) == (f"recording rules: no evaluation time between {END} and {END - STEP} at a step "
                              f"of {STEP} s")
    with pytest.raises(UsageError) as exc:
        backfill_rules(tmp_path, [rule], start_time=BASE, end_time=END, step=STEP, via="rules", workdir=tmp_path)
    assert str(exc.value) == "rules via 'rules': expected one of query, promtool"
    assert list(tmp_path.iterdir()) == []
