"""rq-obs backfill end to end: a store with three days of runs -> OpenMetrics -> promtool -> real Prometheus.

Values are checked at past times through Prometheus' HTTP API against what the store holds.
"""

from __future__ import annotations

import pytest

from rq_obs.backfill import create_blocks, validate
from rq_obs.catalog import M
from rq_obs.errors import UsageError
from rq_obs.store import ApiCall, Attempt, Run, Store, TrackedFile, read_totals, save_run
from rq_obs.store.runs import prune
from tests.backfill.common import prometheus_on, write_store
from tests.helpers.cli import run_cli
from tests.helpers.procs import PROMTOOL, need

DAY = 86400
BASE = 1_699_920_000  # 2023-11-14 00:00:00 UTC
RUN_EVERY = 6 * 3600
N_RUNS = 12  # three days, four runs a day
RUN_WALL = 600
SUITE = "demo"
WEIRD = 'tests/test_x.py::test_q["a\\b"]\nline2'  # quote, backslash and newline in a label value
TESTS = ("tests/test_a.py::test_one", "tests/test_a.py::test_two", "tests/test_b.py::test_three", WEIRD)
SHA_OLD, SHA_NEW = "aaaaaaaaaaaa1111", "bbbbbbbbbbbb2222"
CHANGE_RUN = 7  # SKILL.md changes in this run


def outcome(i: int, j: int) -> str:
    return "failed" if (i + j) % 3 == 0 else "passed"


def variant(j: int) -> str:
    return ("control", "concise")[j % 2]


def duration(i: int, j: int) -> float:
    return 0.25 * (j + 1) + (i % 2)  # 0.25 .. 2.0 s


def start(i: int) -> float:
    return BASE + i * RUN_EVERY + 1800


def make_run(i: int) -> Run:
    attempts = tuple(
        Attempt(test=t, outcome=outcome(i, j), duration=duration(i, j), variant=variant(j), worker=f"gw{j % 2}",
                category="slow" if j == 2 else "none", started_at=start(i) + j,
                api_calls=(ApiCall(provider="openai", model="gpt-4o", latency=0.4, input_tokens=100 + j,
                                   output_tokens=10, cost_usd=0.002, retries=1 if i % 4 == 0 else 0,
                                   retry_reasons=("429",) if i % 4 == 0 else ()),))
        for j, t in enumerate(TESTS))
    sha = SHA_OLD if i < CHANGE_RUN else SHA_NEW
    return Run(run_id=f"run-{i:03d}", suite=SUITE, started_at=start(i), finished_at=start(i) + RUN_WALL,
               attempts=attempts, tracked_files=(TrackedFile("skills/SKILL.md", sha, lines_added=4, lines_removed=1),))


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    return write_store(tmp_path_factory.mktemp("store") / "store.db", map(make_run, range(N_RUNS)))


def expected_attempts(upto: int, test: str, outc: str) -> int:
    j = TESTS.index(test)
    return sum(1 for i in range(upto + 1) if outcome(i, j) == outc)


@pytest.fixture(scope="module")
def backfilled(store_path, tmp_path_factory):
    need(PROMTOOL, "prometheus")
    work = tmp_path_factory.mktemp("backfill")
    end = BASE + 3 * DAY
    res = run_cli("backfill", "--store", store_path, "--data-dir", work / "data", "--end", str(end),
                  "--keep-openmetrics", work / "history.om", "--no-rules")  # rules: test_rules.py
    assert res.code == 0, res.err
    return work, res


def test_output_reports_series_samples_blocks_and_the_retention_flag(backfilled):
    work, res = backfilled
    report = validate(work / "history.om")
    lines = res.out.splitlines()
    assert lines[0] == (f"replayed {N_RUNS} runs: {report.series} series, {report.samples} samples every 5m from "
                        "2023-11-14 00:40:00Z to 2023-11-17 00:00:00Z")
    assert lines[1].startswith("wrote ") and "block(s)" in lines[1] and str(work / "data") in lines[1]
    blocks = sorted(p for p in (work / "data").iterdir() if (p / "meta.json").exists())
    assert lines[1].startswith(f"wrote {len(blocks)} block(s)")
    assert "--storage.tsdb.retention.time=" in lines[-1]
    # every series sampled every 5 minutes from its first run to the end: the first run ends 00:40
    steps = (BASE + 3 * DAY - (BASE + 2400)) // 300 + 1
    assert report.min_timestamp == BASE + 2400 and report.max_timestamp == BASE + 3 * DAY
    runs_total = [l for l in (work / "history.om").read_text().splitlines()
                  if l.startswith(M.TEST_RUNS.total + "{")]
    assert len(runs_total) == steps
    assert runs_total[0] == f'{M.TEST_RUNS.total}{{suite="{SUITE}",status="complete"}} 1 {BASE + 2400}'


@pytest.fixture(scope="module")
def prom(backfilled):
    work, _ = backfilled
    with prometheus_on(work, work / "data") as p:
        yield p


def at(prom, expr: str, t: float) -> dict:
    """{frozenset(labels): value} of an instant query at time t."""
    return {frozenset(r["metric"].items()): float(r["value"][1]) for r in prom.query(expr, time=t)}


def one(prom, expr: str, t: float) -> float:
    result = prom.query(expr, time=t)
    assert len(result) == 1, (expr, result)
    return float(result[0]["value"][1])


@pytest.mark.e2e
@pytest.mark.parametrize("k", [0, 5, CHANGE_RUN, N_RUNS - 1])
def test_counters_between_runs_equal_the_cumulative_counts_stored_until_then(prom, k):
    t = start(k) + RUN_WALL + 2 * 3600  # two hours after run k finished, before run k+1
    for test in TESTS:
        for outc in ("passed", "failed"):
            want = expected_attempts(k, test, outc)
            got = at(prom, f'{M.TEST_ATTEMPTS.total}{{outcome="{outc}"}}', t)
            key = frozenset({"__name__": M.TEST_ATTEMPTS.total, "suite": SUITE, "test": test, "outcome": outc,
                             "variant": variant(TESTS.index(test))}.items())
            assert got.get(key, 0.0) == want, (test, outc)
    assert one(prom, f"sum({M.TEST_ATTEMPTS.total})", t) == 4 * (k + 1)
    assert one(prom, f"{M.TEST_RUNS.total}", t) == k + 1
    assert one(prom, M.RUN_SEQUENCE.name, t) == k + 1
    assert one(prom, M.LAST_RUN_TIMESTAMP.name, t) == start(k) + RUN_WALL
    assert one(prom, M.RUN_DURATION.name, t) == RUN_WALL
    assert one(prom, f"sum({M.COST.total})", t) == pytest.approx(0.002 * 4 * (k + 1))
    assert one(prom, f'sum({M.API_RETRIES.total}{{reason="429"}})', t) == 4 * len([i for i in range(k + 1) if i % 4 == 0])
    durations = [duration(i, j) for i in range(k + 1) for j in range(len(TESTS))]
    assert one(prom, f"sum({M.TEST_ATTEMPT_DURATION.count})", t) == len(durations)
    assert one(prom, f"sum({M.TEST_ATTEMPT_DURATION.sum})", t) == pytest.approx(sum(durations))
    assert one(prom, f'sum({M.TEST_ATTEMPT_DURATION.bucket}{{le="1.0"}})', t) == len([d for d in durations if d <= 1.0])
    assert one(prom, f'sum({M.TEST_ATTEMPT_DURATION.bucket}{{le="0.005"}})', t) == 0


@pytest.mark.e2e
def test_a_days_increase_equals_that_days_attempts(prom):
    day2_end = BASE + 2 * DAY
    runs_day2 = [i for i in range(N_RUNS) if BASE + DAY <= start(i) + RUN_WALL < day2_end]
    assert len(runs_day2) == 4
    # the exact difference of the cumulative counter across the day (no extrapolation involved)
    expr = f"sum({M.TEST_ATTEMPTS.total}) - sum({M.TEST_ATTEMPTS.total} offset 1d)"
    assert one(prom, expr, day2_end) == 4 * len(TESTS)
    passed = sum(1 for i in runs_day2 for j in range(len(TESTS)) if outcome(i, j) == "passed")
    expr = f'sum({M.TEST_ATTEMPTS.total}{{outcome="passed"}}) - sum({M.TEST_ATTEMPTS.total}{{outcome="passed"}} offset 1d)'
    assert one(prom, expr, day2_end) == passed
    # increase() sees the same runs (it extrapolates, so only approximately)
    assert one(prom, f"sum(increase({M.TEST_ATTEMPTS.total}[1d]))", day2_end) == pytest.approx(16, rel=0.1)


@pytest.mark.e2e
def test_label_values_with_quotes_backslashes_and_newlines_round_trip(prom):
    result = prom.query(f'{M.TEST_DURATION_SECONDS.total}{{test=~"(?s).*test_q.*"}}', time=BASE + 3 * DAY)
    assert [r["metric"]["test"] for r in result] == [WEIRD]
    want = sum(duration(i, TESTS.index(WEIRD)) for i in range(N_RUNS))
    assert float(result[0]["value"][1]) == pytest.approx(want)


@pytest.mark.e2e
def test_tracked_file_hash_switches_at_the_change(prom):
    before, after = start(CHANGE_RUN) - 3600, start(CHANGE_RUN) + RUN_WALL + 3600
    info = M.TRACKED_FILE.info
    assert [r["metric"]["sha256"] for r in prom.query(info, time=before)] == [SHA_OLD[:12]]
    assert [r["metric"]["sha256"] for r in prom.query(info, time=after)] == [SHA_NEW[:12]]
    assert one(prom, f"{M.TRACKED_FILE_CHANGES.total}", after) == 1
    assert at(prom, M.TRACKED_FILE_CHANGES.total, before) == {}
    assert one(prom, M.TRACKED_FILE_LAST_CHANGE.name, after) == start(CHANGE_RUN)
    assert one(prom, f'{M.TRACKED_FILE_CHANGED_LINES.total}{{kind="added"}}', after) == 4


def test_pruned_runs_are_folded_in_so_counters_end_at_the_store_totals(tmp_path):
    need(PROMTOOL, "prometheus")
    store = Store(tmp_path / "store.db")
    for i in range(N_RUNS):
        save_run(store, make_run(i))
    assert prune(store, start(4)) == 4  # raw rows of runs 0-3 gone; totals keep them
    res = run_cli("backfill", "--store", tmp_path / "store.db", "--data-dir", tmp_path / "data",
                  "--end", str(BASE + 3 * DAY), "--keep-openmetrics", tmp_path / "h.om", "--no-rules")
    assert res.code == 0, res.err
    assert res.out.splitlines()[0].startswith("replayed 8 runs:")
    assert "series include totals of runs pruned from the store" in res.out
    lines = (tmp_path / "h.om").read_text().splitlines()
    runs = [l for l in lines if l.startswith(M.TEST_RUNS.total + "{")]
    first_t = start(4) + RUN_WALL
    first_t += -first_t % 300
    assert runs[0] == f'{M.TEST_RUNS.total}{{suite="{SUITE}",status="complete"}} 5 {first_t}'
    assert runs[-1] == f'{M.TEST_RUNS.total}{{suite="{SUITE}",status="complete"}} 12 {BASE + 3 * DAY}'
    # every counter's last sample is the store's running total
    last = {}
    for l in lines:
        if not l.startswith("#"):
            series, value, _ = l.rsplit(" ", 2)
            last[series] = float(value)
    for name, labels, value in read_totals(store, M.TEST_ATTEMPTS.total):
        key = (f'{name}{{suite="{labels["suite"]}",test="{_esc(labels["test"])}",outcome="{labels["outcome"]}",'
               f'variant="{labels["variant"]}"}}')
        assert last[key] == value


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def test_empty_store_and_bad_flags_are_usage_errors(tmp_path):
    Store(tmp_path / "empty.db").close()
    res = run_cli("backfill", "--store", tmp_path / "empty.db", "--data-dir", tmp_path / "d")
    assert res.code == 2
    assert res.err.strip() == "rq-obs: error: the store has no runs and no totals: nothing to backfill"
    res = run_cli("backfill", "--store", tmp_path / "empty.db", "--data-dir", tmp_path / "d", "--step", "5 minutes")
    assert res.code == 2 and "--step: '5 minutes' is not a duration; expected a positive Prometheus duration" in res.err
    res = run_cli("backfill", "--store", tmp_path / "empty.db", "--data-dir", tmp_path / "d", "--end", "yesterday")
    assert res.code == 2 and "--end 'yesterday': expected Unix seconds or an ISO 8601 date/time" in res.err
    res = run_cli("backfill", "--store", tmp_path / "missing.db", "--data-dir", tmp_path / "d")
    assert res.code == 2 and "store not found" in res.err
    # a history shorter than one step: said plainly, with what to do
    write_store(tmp_path / "recent.db", [make_run(0)])
    end = start(0) + RUN_WALL + 1
    assert (end - 1) % 3600 != 0  # the run ends between two hourly grid times
    res = run_cli("backfill", "--store", tmp_path / "recent.db", "--data-dir", tmp_path / "d", "--end", str(end),
                  "--step", "1h", "--no-rules")
    error = res.err.splitlines()[-1]
    assert res.code == 2 and error.startswith("rq-obs: error: nothing to backfill: the first sample time on the "
                                              "3600s grid (")
    assert error.endswith("to backfill it anyway, pass a smaller --step")
    assert not (tmp_path / "d").exists()


def test_missing_promtool_names_the_debian_package(store_path, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    res = run_cli("backfill", "--store", store_path, "--data-dir", tmp_path / "d", "--end", str(BASE + DAY),
                  env={"PATH": str(empty)})
    assert res.code == 2
    assert res.err.strip() == ("rq-obs: error: promtool not found on PATH (Debian package 'prometheus': "
                               "apt-get install -y --no-install-recommends prometheus)")


def test_promtool_failure_shows_its_stderr(tmp_path):
    need(PROMTOOL, "prometheus")
    bad = tmp_path / "bad.om"
    bad.write_text("# TYPE x counter\nx_total 1\n# EOF\n")  # no timestamp: promtool refuses
    with pytest.raises(UsageError) as exc:
        create_blocks(bad, tmp_path / "d")
    msg = str(exc.value)
    assert msg.startswith(f"promtool tsdb create-blocks-from openmetrics {bad} {tmp_path / 'd'} failed (exit 1): ")
    assert "expected timestamp" in msg


def test_zero_start_gives_every_counter_a_zero_one_step_before_the_first_run(tmp_path):
    """With zero_start, increase() over the whole history counts the first run too."""
    from rq_obs.backfill.history import Guard, replay, write_openmetrics

    store = Store(tmp_path / "s.db")
    t0 = 1_700_000_000.0
    save_run(store, Run(run_id="a", suite="s", started_at=t0, finished_at=t0 + 1,
                        attempts=(Attempt(test="t1", outcome="passed", duration=0.1, started_at=t0),)))
    save_run(store, Run(run_id="b", suite="s", started_at=t0 + 10, finished_at=t0 + 11,
                        attempts=(Attempt(test="t1", outcome="failed", duration=0.1, started_at=t0 + 10),)))
    texts = {}
    for zero in (False, True):
        out = tmp_path / f"h{zero}.om"
        work = tmp_path / f"work{zero}"
        work.mkdir()
        write_openmetrics(replay(store, work, Guard(100, 200)), out, step=1, zero_start=zero)
        texts[zero] = out.read_text()
    att = M.TEST_ATTEMPTS.total
    lines = [ln for ln in texts[True].splitlines() if ln.startswith(att + "{")]
    passed = [ln for ln in lines if 'outcome="passed"' in ln]
    failed = [ln for ln in lines if 'outcome="failed"' in ln]
    # both series start at 0 at t0 (one step before the first run ended at t0 + 1), then count up
    assert passed[0].endswith(f" 0 {int(t0)}") and failed[0].endswith(f" 0 {int(t0)}")
    assert passed[1].endswith(f" 1 {int(t0) + 1}") and failed[10].endswith(f" 0 {int(t0) + 10}")
    assert failed[11].endswith(f" 1 {int(t0) + 11}")
    assert not any(ln.endswith(f" 0 {int(t0)}") for ln in texts[False].splitlines() if ln.startswith(att + "{"))
    assert validate(tmp_path / "hTrue.om").series == len({ln.rsplit(" ", 2)[0] for ln in texts[True].splitlines()
                                                          if not ln.startswith("#")})


def test_backfilled_series_are_no_longer_new_so_their_live_value_does_not_restart_at_zero(tmp_path):
    """Series whose history went into Prometheus must not show 0 for new_series_grace on /metrics."""
    need(PROMTOOL, "prometheus")
    store = Store(tmp_path / "s.db")
    for i in range(3):
        save_run(store, make_run(i))
    assert store.query("SELECT COUNT(*) FROM totals WHERE created_at IS NULL")[0][0] == 0  # all new
    res = run_cli("backfill", "--store", tmp_path / "s.db", "--data-dir", tmp_path / "data", "--end",
                  str(BASE + DAY), "--no-rules")
    assert res.code == 0, res.err
    assert store.query("SELECT COUNT(*) FROM totals WHERE created_at IS NOT NULL")[0][0] == 0
    # a series first written after the backfill has no history in Prometheus: it is new
    from rq_obs.store.records import Attempt, Run

    save_run(store, Run("late", "late-suite", BASE + 2 * DAY, attempts=(Attempt("t", "passed", 1.0),)))
    new = store.query("SELECT COUNT(*) FROM totals WHERE created_at IS NOT NULL AND labels LIKE '%late-suite%'")
    assert new[0][0] > 0


def test_replay_caps_series_at_max_series_like_the_store_it_replays(tmp_path):
    """The replay's ingest cap is the config's max_series, the cap serve folded the store's totals with: the
    backfilled series are the store's, and every attempt is counted once (none both in __other__ and its own)."""
    from rq_obs.backfill.history import Guard, replay, write_openmetrics
    from rq_obs.store.cardinality import configure

    t0 = 1_700_000_000.0
    for cap in (30, 1000):
        store = Store(tmp_path / f"s{cap}.db")
        configure(store, cap)  # what serve does with config.max_series
        save_run(store, Run(run_id="a", suite="s", started_at=t0, finished_at=t0 + 1,
                            attempts=tuple(Attempt(test=f"t{i}", outcome="passed", duration=0.1, started_at=t0)
                                           for i in range(40))))
        stored = {labels["test"]: v for _, labels, v in read_totals(store, M.TEST_ATTEMPTS.total)}
        work = tmp_path / f"w{cap}"
        work.mkdir()
        out = tmp_path / f"h{cap}.om"
        write_openmetrics(replay(store, work, Guard(100, 200), max_series=cap), out, step=1)
        last = {}
        for ln in out.read_text().splitlines():
            if ln.startswith(M.TEST_ATTEMPTS.total + "{"):
                last[ln.split('test="', 1)[1].split('"', 1)[0]] = float(ln.rsplit(" ", 2)[1])
        assert last == stored and sum(last.values()) == 40
        assert ("__other__" in last) == (cap == 30)
