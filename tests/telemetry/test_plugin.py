"""The pytest plugin in real pytest sessions (pytester): what ends up in the store, exactly."""

import json

import pytest

from rq_obs.catalog import M
from rq_obs.store import Store, read_totals
from rq_obs.store.runs import list_runs
from tests.telemetry.conftest import warnings_in

MIXED = """
import time
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("setup boom")

@pytest.fixture
def bad_teardown():
    yield
    raise RuntimeError("teardown boom")

def test_pass():
    time.sleep(0.05)

def test_fail():
    assert 1 == 2

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass

def test_skip_inside():
    pytest.skip("later")

@pytest.mark.xfail(reason="known")
def test_xfail():
    assert 0

@pytest.mark.xfail(reason="fixed?")
def test_xpass():
    pass

@pytest.mark.smoke
@pytest.mark.parametrize("n", [1, 2, 3])
def test_param(n):
    assert n != 3

def test_setup_error(broken):
    pass

def test_teardown_error(bad_teardown):
    pass

@pytest.mark.rq_obs_variant("B")
@pytest.mark.rq_obs_experiment("prompt-v2")
def test_variant_marker():
    pass

def test_variant_fixture(rq_obs):
    rq_obs.variant = "C"
"""

EXPECTED = {
    "test_mixed.py::test_pass": ("passed", "none", "control"),
    "test_mixed.py::test_fail": ("failed", "none", "control"),
    "test_mixed.py::test_skipped": ("skipped", "none", "control"),
    "test_mixed.py::test_skip_inside": ("skipped", "none", "control"),
    "test_mixed.py::test_xfail": ("xfailed", "none", "control"),
    "test_mixed.py::test_xpass": ("xpassed", "none", "control"),
    "test_mixed.py::test_param[1]": ("passed", "smoke", "control"),
    "test_mixed.py::test_param[2]": ("passed", "smoke", "control"),
    "test_mixed.py::test_param[3]": ("failed", "smoke", "control"),
    "test_mixed.py::test_setup_error": ("error", "none", "control"),
    "test_mixed.py::test_teardown_error": ("error", "none", "control"),
    "test_mixed.py::test_variant_marker": ("passed", "none", "B"),
    "test_mixed.py::test_variant_fixture": ("passed", "none", "C"),
}


def _mixed(pytester):
    pytester.makeini("[pytest]\nmarkers =\n    smoke: quick checks\n")
    pytester.makepyfile(test_mixed=MIXED)


def test_mixed_outcomes_are_stored_exactly_and_pytest_result_is_unchanged(pytester, plain_env, store_file, rows):
    _mixed(pytester)
    plain = pytester.runpytest("-p", "no:cacheprovider")
    rec = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    assert rec.ret == plain.ret == 1
    assert rec.parseoutcomes() == plain.parseoutcomes() == {
        "passed": 6, "failed": 2, "errors": 2, "skipped": 2, "xfailed": 1, "xpassed": 1}

    got = {t: (o, c, v) for t, o, c, v in rows("SELECT test, outcome, category, variant FROM attempts")}
    assert got == EXPECTED
    assert rows("SELECT DISTINCT attempt, worker FROM attempts") == [(1, "main")]
    run_id, suite, seq, status, source, experiment = rows.one(
        "SELECT run_id, suite, sequence, status, source, experiment FROM runs")
    assert (suite, seq, status, source, experiment) == ("demo", 1, "complete", "pytest", "prompt-v2")
    assert rows.one("SELECT COUNT(*) FROM attempts WHERE run_id = ?", (run_id,)) == 13
    # markers and the experiment marker are kept per attempt
    markers, attrs = rows.one("SELECT markers, attributes FROM attempts WHERE test LIKE '%variant_marker'")
    assert json.loads(markers) == ["rq_obs_experiment", "rq_obs_variant"]  # closest to the function first
    assert json.loads(attrs) == {"experiment": "prompt-v2"}
    # durations: the call phase (setup for a setup error), in seconds
    assert 0.05 <= rows.one("SELECT duration FROM attempts WHERE test LIKE '%::test_pass'") < 5
    assert rows.one("SELECT duration FROM attempts WHERE test LIKE '%::test_setup_error'") < 1

    # a second run is sequence 2; list_runs and the running totals agree with the rows
    second = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    assert f"rq-obs: run 2 of suite 'demo' (13 attempts) stored in {store_file}" in second.stdout.str()
    store = Store(store_file)
    runs = list_runs(store)
    assert [r["sequence"] for r in runs] == [2, 1]
    # counts: pytest's summary line (the teardown error's test passed first: 6 passed, 2 errors);
    # attempt_counts: one outcome per stored attempt
    assert runs[0]["counts"] == {"passed": 6, "failed": 2, "error": 2, "skipped": 2, "xfailed": 1, "xpassed": 1}
    assert runs[0]["attempt_counts"] == {"passed": 5, "failed": 2, "error": 2, "skipped": 2, "xfailed": 1,
                                         "xpassed": 1}
    assert runs[0]["exit_code"] == 1
    assert runs[0]["summary_pass_rate"] == pytest.approx(6 / 10)
    assert runs[0]["pass_rate"] == pytest.approx(5 / 9)  # attempts, as the dashboards and snapshots count
    by_outcome = {}
    for _, labels, value in read_totals(store, M.TEST_ATTEMPTS.total):
        assert labels["suite"] == "demo"
        by_outcome[labels["outcome"]] = by_outcome.get(labels["outcome"], 0) + value
    assert by_outcome == {"passed": 10, "failed": 4, "error": 4, "skipped": 4, "xfailed": 2, "xpassed": 2}
    assert sum(v for _, l, v in read_totals(store, M.TEST_RUNS.total) if l["status"] == "complete") == 2


FLAKY = """
import pathlib

def _count(name):
    p = pathlib.Path(__file__).with_name(name)
    n = int(p.read_text()) if p.exists() else 0
    p.write_text(str(n + 1))
    return n

def test_flaky():
    assert _count("flaky.count") >= 2   # fails twice, then passes

def test_broken():
    assert False

def test_fine():
    pass
"""


def test_every_rerun_attempt_is_recorded(pytester, plain_env, store_file, rows):
    pytester.makepyfile(test_flaky=FLAKY)
    result = pytester.runpytest("-p", "no:cacheprovider", "--reruns", "2", "--rq-obs", f"--rq-obs-store={store_file}")
    assert result.parseoutcomes() == {"passed": 2, "failed": 1, "rerun": 4}
    got = rows("SELECT test, attempt, outcome FROM attempts ORDER BY test, attempt")
    assert got == [
        ("test_flaky.py::test_broken", 1, "failed"),
        ("test_flaky.py::test_broken", 2, "failed"),
        ("test_flaky.py::test_broken", 3, "failed"),
        ("test_flaky.py::test_fine", 1, "passed"),
        ("test_flaky.py::test_flaky", 1, "failed"),
        ("test_flaky.py::test_flaky", 2, "failed"),
        ("test_flaky.py::test_flaky", 3, "passed"),
    ]
    retries = {l["test"]: v for _, l, v in read_totals(Store(store_file), M.TEST_RETRIES.total)}
    assert retries == {"test_flaky.py::test_broken": 2, "test_flaky.py::test_flaky": 2}


API = """
import threading
import pytest
from rq_obs.telemetry.api import attach, record_api_call

def test_llm(rq_obs):
    with rq_obs.record_api_call("openai", "gpt-4o") as call:
        call.retry(429)
        call.retry(503)
        call.usage(input=1000, output=200, cached=400)
        call.latency = 0.25
    rq_obs.add_api_call("anthropic", "claude-x", latency=1.5, input_tokens=10, output_tokens=5, cost_usd=0.5)

def test_timeout(rq_obs):
    with pytest.raises(TimeoutError):
        with rq_obs.record_api_call("openai", "gpt-4o", latency=2.0):
            raise TimeoutError("slow")

def test_from_a_thread_without_the_fixture():
    def work():
        with record_api_call("openai", "gpt-4o", status_code=500, latency=0.1, retries=3,
                             retry_reasons=("timeout", "connection", 502)):
            pass
    t = threading.Thread(target=work)
    t.start()
    t.join()
    attach(prompt="v7", score=0.5)

def test_bounded(rq_obs):
    rq_obs.attach({f"k{i}": i for i in range(5)})
    rq_obs.attach(k0="x" * 5000)
"""


def test_api_calls_tokens_cost_and_attributes(pytester, plain_env, store_file, rows):
    pytester.makepyprojecttoml("""
[tool.rq-obs]
max_attributes = 3
price_table = { "gpt-4o" = { input = 2.5, output = 10.0, cached = 1.25 } }
""")
    pytester.makepyfile(test_api=API)
    result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    result.assert_outcomes(passed=4)
    calls = rows("SELECT a.test, c.provider, c.model, c.status_code, c.error, c.latency, c.retries, c.retry_reasons, "
                 "c.input_tokens, c.output_tokens, c.cached_tokens, round(c.cost_usd, 9) "
                 "FROM api_calls c JOIN attempts a ON a.id = c.attempt_id ORDER BY c.id")
    assert calls == [
        # (1000-400)*2.5 + 400*1.25 + 200*10 = 4000 USD per million tokens = 0.004
        ("test_api.py::test_llm", "openai", "gpt-4o", 200, "", 0.25, 2, '["429", "5xx"]', 1000, 200, 400, 0.004),
        ("test_api.py::test_llm", "anthropic", "claude-x", 200, "", 1.5, 0, "[]", 10, 5, 0, 0.5),
        ("test_api.py::test_timeout", "openai", "gpt-4o", None, "timeout", 2.0, 0, "[]", 0, 0, 0, 0.0),
        ("test_api.py::test_from_a_thread_without_the_fixture", "openai", "gpt-4o", 500, "", 0.1, 3,
         '["timeout", "connection", "5xx"]', 0, 0, 0, 0.0),
    ]
    attrs = dict(rows("SELECT test, attributes FROM attempts"))
    assert json.loads(attrs["test_api.py::test_from_a_thread_without_the_fixture"]) == {"prompt": "v7", "score": 0.5}
    bounded = json.loads(attrs["test_api.py::test_bounded"])
    assert bounded == {"k0": "x" * 1024, "k1": 1, "k2": 2, "dropped_attributes": 2}
    store = Store(store_file)
    cost = {(l["provider"], l["model"]): v for _, l, v in read_totals(store, M.COST.total)}
    assert cost == {("openai", "gpt-4o"): pytest.approx(0.004), ("anthropic", "claude-x"): pytest.approx(0.5)}
    retries = {l["reason"]: v for _, l, v in read_totals(store, M.API_RETRIES.total)}
    assert retries == {"429": 1, "5xx": 2, "timeout": 1, "connection": 1}
    tokens = {(l["model"], l["token_type"]): v for _, l, v in read_totals(store, M.TOKENS.total)}
    assert tokens == {("gpt-4o", "input"): 1000, ("gpt-4o", "output"): 200, ("gpt-4o", "cached"): 400,
                      ("claude-x", "input"): 10, ("claude-x", "output"): 5}
    codes = {(l["model"], l["code"], l["status_class"]): v for _, l, v in read_totals(store, M.API_REQUESTS.total)}
    assert codes == {("gpt-4o", "200", "2xx"): 1, ("claude-x", "200", "2xx"): 1, ("gpt-4o", "timeout", "error"): 1,
                     ("gpt-4o", "500", "5xx"): 1}


XDIST = """
import time
import pytest

@pytest.mark.parametrize("i", range(20))
def test_many(i, rq_obs):
    time.sleep(0.02)
    rq_obs.add_api_call("openai", "gpt-4o", latency=0.01, input_tokens=i, output_tokens=1)
    rq_obs.attach(i=i)

def test_always_fails(rq_obs):
    rq_obs.variant = "B"
    assert False
"""


def test_xdist_two_workers_write_one_run_with_worker_data(pytester, plain_env, store_file, rows):
    pytester.makepyfile(test_x=XDIST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--reruns", "1",
                                           "--rq-obs", f"--rq-obs-store={store_file}")
    assert result.parseoutcomes() == {"passed": 20, "failed": 1, "rerun": 1}
    assert rows.one("SELECT COUNT(*) FROM runs") == 1
    assert rows.one("SELECT status FROM runs") == "complete"
    assert rows.one("SELECT COUNT(*) FROM attempts") == 22
    assert {w for (w,) in rows("SELECT DISTINCT worker FROM attempts")} == {"gw0", "gw1"}
    assert rows.one("SELECT SUM(input_tokens), SUM(output_tokens), COUNT(*) FROM api_calls") == (190, 20, 20)
    # data recorded inside a worker arrives with its own attempt
    for test, attrs, tokens in rows("SELECT a.test, a.attributes, c.input_tokens FROM attempts a "
                                    "JOIN api_calls c ON c.attempt_id = a.id"):
        assert json.loads(attrs) == {"i": tokens} and test == f"test_x.py::test_many[{tokens}]"
    assert rows("SELECT attempt, outcome, variant FROM attempts WHERE test LIKE '%always_fails' ORDER BY attempt") == [
        (1, "failed", "B"), (2, "failed", "B")]


def test_off_by_default_creates_nothing_and_fixture_is_inert(pytester, plain_env):
    pytester.makepyfile(test_off="""
import pytest
@pytest.mark.rq_obs_variant("B")
def test_uses_api(rq_obs):
    assert not rq_obs.enabled
    rq_obs.variant = "B"
    with rq_obs.record_api_call("openai", "m") as c:
        c.usage(input=1)
    rq_obs.attach(a=1)
""")
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / ".rq-obs").exists()
    assert "rq-obs:" not in result.stdout.str() + result.stderr.str()


def test_enabled_from_config_store_from_config_env_and_no_flag(pytester, plain_env, tmp_path):
    pytester.makepyprojecttoml('[tool.rq-obs]\nenabled = true\nstore_path = "data/runs.db"\n')
    pytester.makepyfile(test_one="def test_one(): pass")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert Store(pytester.path / "data" / "runs.db", create=False).query("SELECT COUNT(*) FROM attempts")[0][0] == 1
    pytester.runpytest("-p", "no:cacheprovider", "--no-rq-obs").assert_outcomes(passed=1)
    assert Store(pytester.path / "data" / "runs.db").query("SELECT COUNT(*) FROM runs")[0][0] == 1
    plain_env.setenv("RQ_OBS_STORE", str(tmp_path / "env.db"))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert Store(tmp_path / "env.db", create=False).query("SELECT COUNT(*) FROM runs")[0][0] == 1


def test_a_config_typo_with_rq_obs_stops_the_run_naming_the_field(pytester, plain_env, tmp_path):
    pytester.makepyprojecttoml('[tool.rq-obs]\nflaky_min_attempts = "three"\n')
    pytester.makepyfile(test_one="def test_one(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={tmp_path / 's.db'}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # asked to record: never a green run that recorded nothing
    assert "flaky_min_attempts" in result.stderr.str() and "run without --rq-obs" in result.stderr.str()
    assert not (tmp_path / "s.db").exists()


def test_a_store_option_alone_records(pytester, plain_env, tmp_path):
    pytester.makepyfile(test_one="def test_one(): pass")
    pytester.runpytest("-p", "no:cacheprovider", f"--rq-obs-store={tmp_path / 's.db'}").assert_outcomes(passed=1)
    assert Store(tmp_path / "s.db", create=False).query("SELECT COUNT(*) FROM attempts")[0][0] == 1


def test_a_broken_store_warns_once_and_changes_nothing(pytester, plain_env, tmp_path):
    pytester.makepyfile(test_two="def test_ok(): pass\ndef test_bad(): assert 0\n")
    not_a_store = tmp_path / "not-a-store.db"
    not_a_store.write_bytes(b"this is not sqlite" * 100)
    plain = pytester.runpytest("-p", "no:cacheprovider")
    result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={not_a_store}")
    assert result.ret == plain.ret == 1
    assert result.parseoutcomes() == plain.parseoutcomes() == {"passed": 1, "failed": 1}
    warned = warnings_in(result.stdout.str())
    assert len(warned) == 1 and "not recording this run" in warned[0] and "not a readable rq-obs store" in warned[0]
    assert not_a_store.read_bytes() == b"this is not sqlite" * 100


def test_push_failure_is_one_warning_and_never_shows_the_token(pytester, plain_env, store_file, rows):
    from tests.helpers.procs import free_port

    pytester.makepyfile(test_p="def test_ok(): pass\n")
    plain_env.setenv("RQ_OBS_TOKEN", "s3cr3t-token-value")
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}",
                                f"--rq-obs-push={url}")
    assert result.ret == 0
    warned = warnings_in(result.stdout.str())
    assert len(warned) == 1 and url in warned[0]
    assert "s3cr3t-token-value" not in result.stdout.str() + result.stderr.str()
    assert rows("SELECT status FROM runs") == [("complete",)]


def test_a_successful_push_says_what_it_sent(pytester, plain_env, store_file, rows, tmp_path):
    import threading

    from rq_obs.config import load
    from rq_obs.server.app import make_server

    server = make_server(load(tmp_path, env={"RQ_OBS_TOKEN": "tok"}).config, Store(tmp_path / "served.db"),
                         "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        pytester.makepyfile(test_p="def test_ok(): pass\n")
        plain_env.setenv("RQ_OBS_TOKEN", "tok")
        result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}",
                                    f"--rq-obs-push={url}")
        assert result.ret == 0 and warnings_in(result.stdout.str()) == []
        assert f"rq-obs: pushed 1 run(s) to {url}: 1 stored, 0 already there" in result.stdout.lines
        assert [r[0] for r in Store(tmp_path / "served.db").query("SELECT suite FROM runs")] == [rows(
            "SELECT suite FROM runs")[0][0]]
    finally:
        server.shutdown()
        server.server_close()
        server.service.close()


def test_a_store_path_given_with_a_space_outside_the_project_is_warned_about(pytester, plain_env, tmp_path):
    outside = tmp_path / "elsewhere" / "rq.db"
    outside.parent.mkdir()
    pytester.makepyfile(test_s="def test_ok(): pass\n")
    first = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={outside}")
    assert first.ret == 0 and warnings_in(first.stdout.str()) == [] and outside.exists()
    spaced = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", "--rq-obs-store", str(outside))
    assert spaced.ret == 0
    spaced_root = next(line for line in spaced.stdout.lines if line.startswith("rootdir: ")).split(" ", 1)[1]
    assert spaced_root != str(pytester.path)  # what the warning is about: the rootdir moved
    assert warnings_in(spaced.stdout.str()) == [
        f"rq-obs: warning: '--rq-obs-store {outside}' (with a space): pytest took {outside} for a test path when it "
        f"chose its rootdir ({spaced_root}) and ini file, before rq-obs' options were known; write "
        f"--rq-obs-store={outside} (or set RQ_OBS_STORE)"]
    inside = pytester.path / "runs.db"  # inside the project: the rootdir stays, nothing to say
    assert pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={inside}").ret == 0
    assert warnings_in(pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", "--rq-obs-store",
                                          str(inside)).stdout.str()) == []


def test_a_crashed_xdist_worker_is_an_error_attempt(pytester, plain_env, store_file, rows):
    pytester.makepyfile(test_w="""
import os
def test_before(): pass
def test_dies(): os._exit(3)
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "1", "--rq-obs",
                                           f"--rq-obs-store={store_file}")
    assert result.ret == 1
    assert dict(rows("SELECT test, outcome FROM attempts")) == {"test_w.py::test_before": "passed",
                                                                "test_w.py::test_dies": "error"}
    assert rows("SELECT status FROM runs") == [("complete",)]
