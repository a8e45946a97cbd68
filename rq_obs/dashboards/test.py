"""Test detail: one test among thousands, answered from the store through ``rq-obs serve``'s read-only JSON API
(Infinity data source; docs/API.md) instead of a Prometheus series per test and outcome: the suite's worst
tests (click one to open it here), then the chosen test's attempt history, last failure, flips, and how its
recorded response changed between two runs."""

from __future__ import annotations

from rq_obs.analytics.testdetail import WORST_BY
from rq_obs.config import Config
from rq_obs.dashboards import panels as P
from rq_obs.dashboards.defaults import Spec, custom_var, textbox_var, uid
from rq_obs.dashboards.infinity import api_table, api_url_var, api_var

S = "string"
N = "number"
T = "timestamp_epoch_s"


def _open_test() -> dict:
    """A data link opening this dashboard on the clicked test (and its suite), keeping the other variables."""
    return {"title": "Open this test", "targetBlank": False,
            "url": f"/d/{uid('test')}?${{__url_time_range}}&var-suite=${{__data.fields.Suite:percentencode}}"
                   f"&var-test=${{__data.fields.Test:percentencode}}&var-by=${{by}}&var-limit=${{limit}}"
                   f"&var-window=${{window}}"}


def spec(config: Config) -> Spec:
    suite_test = [("test", "${test}"), ("suite", "${suite}")]
    worst = api_table(
        "Worst tests", "The suite's worst tests over the window, ranked by the chosen figure (pass rate, failures, "
        "retries, flips or p95 duration), as docs/ANALYTICS.md defines them: the same figures the analytics exporter "
        "and the CLI report. "
        "Tests with nothing wrong by that figure are left out. Click a test to open its detail below.",
        "tests/worst", [("suite", "${suite}"), ("by", "${by}"), ("limit", "${limit}"), ("window", "${window}")],
        [("rank", "Rank", N), ("test", "Test", S), ("suite", "Suite", S), ("state", "State", S),
         ("pass_rate", "Pass rate", N), ("failed", "Failures", N), ("retries", "Retries", N), ("flips", "Flips", N),
         ("flip_rate", "Flip rate", N), ("duration_p95", "p95 duration", N), ("attempts", "Attempts", N)],
        units={"Pass rate": "percentunit", "Flip rate": "percentunit", "p95 duration": "s", "Failures": "short",
               "Retries": "short", "Flips": "short", "Attempts": "short", "Rank": "short"},
        column_links={"Test": [_open_test()]}, h=10)
    history = api_table(
        "History of ${test}", "Every stored attempt of the test, newest first (reruns and skips included): "
        "outcome, duration, run, experiment variant and, for a failure, its message. Choose the test in the Test "
        "box or by clicking one in Worst tests.", "tests/history", [*suite_test, ("limit", "200")],
        [("started_at", "Time", T), ("outcome", "Outcome", S), ("duration", "Duration", N), ("attempt", "Attempt", N),
         ("variant", "Variant", S), ("run_id", "Run", S), ("suite", "Suite", S), ("commit", "Commit", S),
         ("failure_message", "Failure message", S)],
        units={"Duration": "s", "Attempt": "short"}, h=10)
    last = api_table(
        "Last failure", "The test's latest failed or error attempt and its message (pytest's crash line, "
        "stored as the attempt's failure_message; redacted like every attribute). Empty when it never failed.",
        "tests/last-failure", suite_test,
        [("started_at", "Time", T), ("outcome", "Outcome", S), ("run_id", "Run", S), ("variant", "Variant", S),
         ("failure_message", "Message", S)], w=12)
    flips = api_table(
        "Flips", "Each flip of the test over the window, newest first: consecutive counted attempts (ordered by "
        "time, run, attempt) where one passed and the other failed, as the flip rate of docs/ANALYTICS.md counts "
        "them.", "tests/flips", [*suite_test, ("window", "${window}")],
        [("started_at", "Time", T), ("from", "From", S), ("to", "To", S), ("run_id", "Run", S),
         ("previous_run_id", "Previous run", S), ("variant", "Variant", S)], w=12)
    diff = api_table(
        "Response diff", "How the test's recorded response (the attribute 'response' a suite attaches with "
        "rq_obs.attach(response=...)) changed between two runs, as a unified diff: run A (default: the run before "
        "B) to run B (default: the latest run with a response). Same as rq-obs response-diff TEST.",
        "tests/response-diff", [*suite_test, ("run_a", "${run_a}"), ("run_b", "${run_b}")],
        [("n", "Line", N), ("line", "Diff", S)], units={"Line": "short"}, h=12)
    variables = [
        api_var(), api_url_var(),
        textbox_var("suite", "Suite", "", "The suite (empty: every suite)"),
        textbox_var("test", "Test", "", "The test id (pytest node id) whose detail is shown"),
        custom_var("by", "Worst by", list(WORST_BY), "How Worst tests ranks them"),
        custom_var("limit", "Worst N", ["10", "25", "50", "100"], "How many worst tests to list"),
        custom_var("window", "Window", ["7d", "1d", "30d"], "Attempts of runs started in this window"),
        textbox_var("run_a", "Run A", "", "Response diff from this run (empty: the run before run B)"),
        textbox_var("run_b", "Run B", "", "Response diff to this run (empty: the latest run with a response)"),
    ]
    return Spec(
        name="test",
        description="One test among thousands, from the store through rq-obs serve's JSON API: worst tests, "
                    "then the chosen test's history, last failure, flips and response diff.",
        rows=[P.row("Worst tests", worst), P.row("Test ${test}", history, last, flips, diff)],
        variables=variables, extra_tags=("api",),
    )
