"""What surprised a new user in the first hour, each pinned by a test: usage errors, config check,
serve's new-series grace, the plugin's first run and a versioned suite name, what git ignores."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import click
import pytest

from rq_obs.docsgen.cli_ref import walk
from rq_obs.telemetry.firstrun import looks_versioned
from tests.helpers.cli import run_cli
from tests.helpers.procs import http_get, python_env, wait_until

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("RQ_OBS_", "OTEL_")):
            monkeypatch.delenv(name)
    return monkeypatch


def test_every_usage_error_is_one_line_and_the_help_hint():
    paths = [ctx.command_path for ctx, cmd in walk() if not isinstance(cmd, click.Group)]
    assert len(paths) > 20
    for path in paths:
        r = run_cli(*path.split()[1:], "--no-such-option")
        assert r.code == 2, path
        assert r.err.splitlines() == ["rq-obs: error: No such option '--no-such-option'.", f"See '{path} --help'."], path
    r = run_cli("runs", "--limit", "many")
    assert r.err == ("rq-obs: error: Invalid value for '--limit': 'many' is not a valid integer range.\n"
                     "See 'rq-obs runs --help'.\n")
    r = run_cli("snapshot")
    assert r.err == "rq-obs: error: Missing option '--release'.\nSee 'rq-obs snapshot --help'.\n"


def test_config_check_lists_every_problem_at_once(tmp_path, clean_env):
    (tmp_path / "pyproject.toml").write_text('[tool.rq-obs]\nslo_pass_rate = 2\nflaky_band = [0.9, 0.1]\nsuit = "x"\n')
    clean_env.setenv("RQ_OBS_MAX_ATTRIBUTES", "abc")
    r = run_cli("--project", tmp_path, "config", "check")
    where = f"{tmp_path}/pyproject.toml [tool.rq-obs]"
    assert r.code == 2
    assert r.err.splitlines() == [
        f"rq-obs: error: {where}: key 'slo_pass_rate' is 2; expected a number between 0 and 1",
        f"rq-obs: error: {where}: key 'flaky_band' is [0.9, 0.1]; expected two numbers with 0 <= low < high <= 1",
        f"rq-obs: error: {where}: unknown key 'suit'; did you mean 'suite'?",
        "rq-obs: error: environment RQ_OBS_MAX_ATTRIBUTES: 'abc'; expected an integer (JSON for lists and tables)",
        "rq-obs: error: 4 problem(s) in the configuration (listed above)",
    ]
    assert r.out == ""
    # every other command still stops at the first problem, naming it
    r = run_cli("--project", tmp_path, "config", "show")
    assert (r.code, r.err) == (2, f"rq-obs: error: {where}: key 'slo_pass_rate' is 2; expected a number between 0 and 1\n")
    (tmp_path / "pyproject.toml").write_text('[tool.rq-obs]\nslo_pass_rate = 0.9\n')
    clean_env.delenv("RQ_OBS_MAX_ATTRIBUTES")
    r = run_cli("--project", tmp_path, "config", "check")
    assert (r.code, r.out) == (0, f"config ok: {tmp_path}/pyproject.toml\n")


@pytest.mark.parametrize("name, base", [
    ("jinja2-3.1.6", "jinja2"), ("attrs-26.1.0", "attrs"), ("more_itertools-10.5.0", "more_itertools"),
    ("proj-v2.0", "proj"), ("pkg-1.0rc1", "pkg"), ("lib-2.0.0.dev3", "lib"),
    ("py3", None), ("skill-router", None), ("v2-api", None), ("web2py", None), ("1.2.3", None),
])
def test_versioned_suite_names(name, base):
    assert looks_versioned(name) == base


def _serve(store: Path, cwd: Path, grace: str) -> tuple[subprocess.Popen, list[str]]:
    """`rq-obs serve` on a free port; its stderr lines collect in the list as they come."""
    proc = subprocess.Popen([sys.executable, "-m", "rq_obs", "serve", "--store", str(store), "--port", "0"],
                            stderr=subprocess.PIPE, text=True, cwd=cwd,
                            env=python_env({"RQ_OBS_NEW_SERIES_GRACE": grace}))
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True).start()
    return proc, lines


def _line(lines: list[str], pattern: str) -> re.Match:
    return wait_until(lambda: next((m for l in list(lines) if (m := re.search(pattern, l))), None), 60, what=pattern)


def _record(pytester, project: Path, store: Path, *extra: str):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--rootdir", str(project), "--rq-obs",
                                         f"--rq-obs-store={store}", str(project), *extra)


def test_first_run_says_where_and_which_suite_and_warns_about_a_version(pytester, clean_env, tmp_path):
    project = pytester.mkdir("mylib-1.2.3")
    (project / "test_it.py").write_text("def test_ok(): pass\n")
    store = tmp_path / "store.db"
    first = _record(pytester, project, store)
    lines = [l for l in first.outlines if l.startswith("rq-obs:")]
    assert lines[1:] == [
        f"rq-obs: first run of suite 'mylib-1.2.3' (the project directory's name; set `suite` to choose another) "
        f"recorded in {store}; `rq-obs runs` lists it",
        "rq-obs: warning: suite name 'mylib-1.2.3' looks like it carries a version: the next release's runs would be "
        "another suite. Set suite = \"mylib\" under [tool.rq-obs] (or RQ_OBS_SUITE=mylib)",
    ]
    second = _record(pytester, project, store)
    assert [l for l in second.outlines if l.startswith("rq-obs:")] == [
        f"rq-obs: run 2 of suite 'mylib-1.2.3' (1 attempts) stored in {store} "
        + re.search(r"\[run id [^]]+\]", "\n".join(second.outlines)).group(0)]
    clean_env.setenv("RQ_OBS_SUITE", "mylib")
    named = _record(pytester, project, store)
    assert [l for l in named.outlines if l.startswith("rq-obs:")][1:] == [
        f"rq-obs: first run of suite 'mylib' (set by the suite setting) recorded in {store}; `rq-obs runs` lists it"]


def test_serve_says_once_when_new_counters_will_show_their_totals_and_shows_them_then(pytester, clean_env, tmp_path):
    project = pytester.mkdir("proj")
    (project / "test_it.py").write_text("def test_ok(): pass\ndef test_no(): assert 0\n")
    store = tmp_path / "store.db"
    _record(pytester, project, store)
    proc, lines = _serve(store, tmp_path, "20s")
    try:
        start = _line(lines, r"listening on (http://\S+) \((.*); / lists them\)")
        url = start.group(1)
        # the start-up line names every route the home page lists (the trial found it named four)
        assert start.group(2).split(", ") == list(json.loads(http_get(url + "/")[1])["routes"])
        m = _line(lines, r"^rq-obs serve: (\d+) counter series were first recorded less than new_series_grace \(20s\) "
                         r"ago: /metrics shows them as 0 until (\d\d:\d\d:\d\d) UTC \(in (\d+) s\), then their "
                         r"stored totals\. Prometheus must scrape a 0 before a counter's first value for increase\(\) "
                         r"and rate\(\) to count it\.$")
        assert int(m.group(1)) >= 5 and int(m.group(3)) <= 20

        def runs_total() -> str:
            body = http_get(url + "/metrics")[1].decode()
            return re.search(r'^rqobs_test_runs_total\{status="complete",suite="proj"\} (\S+)$', body, re.M).group(1)

        assert runs_total() == "0.0"
        wait_until(lambda: runs_total() == "1.0", 60, what="the stored total after the grace")
        assert sum(l.startswith("rq-obs serve:") for l in lines) == 1  # said once
    finally:
        proc.terminate()
        proc.wait(15)
    # once the grace has passed nothing is said
    from rq_obs.exporters.grace import notice
    from rq_obs.store import Store

    s = Store(store)
    try:
        assert notice(s, 20, "20s", time.time() + 21) is None
        assert notice(s, 20, "20s", time.time()) is None  # the grace has passed now, too
    finally:
        s.close()


def test_git_ignores_what_the_readme_commands_write():
    readme = (ROOT / "README.md").read_text()
    assert "--out rq-obs-stack" in readme
    for path in ("rq-obs-stack/dashboards/qa.json", "site/index.html", ".rq-obs/store.db"):
        cp = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
        assert cp.returncode == 0, f"{path} is not ignored"
