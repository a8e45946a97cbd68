"""rq-obs quarantine suggest: the flaky tests `rq-obs flaky` lists, entries that can end, --apply."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from rq_obs.quarantine import listfile
from rq_obs.store import Store
from tests.analysis.history import HOUR, add_run
from tests.helpers.cli import run_cli


@pytest.fixture
def project(tmp_path):
    now = time.time()
    s = Store(tmp_path / "store.db")
    for i in range(12):
        at = now - (12 - i) * HOUR
        results = [("t.py::t_ok", "passed"), ("t.py::t_broken", "failed"),
                   # a flake: passes, then fails and passes on rerun on one commit
                   ("t.py::t_rerun", "failed" if i == 4 else "passed"),
                   ("t.py::t_band", "passed" if i % 2 else "failed"),  # pass rate 50%: inside the band
                   ("t.py::t_quarantined_long", "passed"),
                   ("t.py::t_quarantined_recent", "failed" if i == 10 else "passed")]
        if i == 4:
            results.append(("t.py::t_rerun", "passed", 1.0, 2))
        add_run(s, f"r{i}", at, results, commit=f"c{i}")
        add_run(s, f"o{i}", at + 1, [("t.py::t_rerun", "passed"), ("t.py::t_other_suite", "failed" if i == 3 else "passed"),
                                      ("t.py::t_other_suite", "passed", 1.0, 2)], suite="other", commit=f"c{i}")
    s.close()
    added = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).date().isoformat()
    (tmp_path / "rq-obs-quarantine.yaml").write_text(
        "quarantine:\n"
        f"  - nodeid: t.py::t_quarantined_long\n    reason: was flaky\n    owner: '@q'\n    added: '{added}'\n"
        "    expires: '2099-01-01'\n"
        f"  - nodeid: t.py::t_quarantined_recent\n    reason: still flaky\n    added: '{added}'\n    expires: '2099-01-01'\n")
    (tmp_path / "CODEOWNERS").write_text("*.py @py-team\n")
    return tmp_path


def test_suggestions_match_rq_obs_flaky(project):
    flaky = json.loads(run_cli("flaky", "--store", project / "store.db", "--format", "json").out)
    expected = sorted({t["test"] for t in flaky["tests"] if t["state"] == "flaky"} - {"t.py::t_quarantined_recent"})
    r = run_cli("--project", project, "quarantine", "suggest", "--store", project / "store.db", "--format", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    adds = [s for s in doc["suggestions"] if s["action"] == "add"]
    assert [s["nodeid"] for s in adds] == expected == ["t.py::t_band", "t.py::t_other_suite", "t.py::t_rerun"]
    # the evidence is rq-obs flaky's, for the suite where the test is least stable
    band = next(t for t in flaky["tests"] if t["test"] == "t.py::t_band")
    assert adds[0]["evidence"]["flips"] == band["flips"] == 11
    assert adds[0]["evidence"]["pass_rate"] == band["pass_rate"] == 0.5
    assert adds[0]["evidence"]["last_flake"] == band["last_flake"]
    assert adds[2]["suites"] == ["suite"]  # always passing in suite "other"
    assert {s["owner"] for s in adds} == {"@py-team"}
    ends = [s for s in doc["suggestions"] if s["action"] == "remove"]
    # t_quarantined_long passed its 12 runs; t_quarantined_recent failed 2 runs ago
    assert [(s["nodeid"], s["evidence"]["passing_runs"]) for s in ends] == [("t.py::t_quarantined_long", 12)]


def test_apply_writes_entries_with_default_expiry_and_ends_others(project):
    r = run_cli("--project", project, "quarantine", "suggest", "--store", project / "store.db", "--apply",
                "--owner", "@me", "--end-after", "5")
    assert r.code == 0, r.err
    assert "3 to quarantine" in r.out and "1 to end (passed 5 runs in a row since added)" in r.out
    entries = listfile.read(project / "rq-obs-quarantine.yaml").entries
    assert [e.nodeid for e in entries] == ["t.py::t_quarantined_recent", "t.py::t_band", "t.py::t_other_suite",
                                           "t.py::t_rerun"]
    new = entries[1]
    in14 = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=14)).date().isoformat()
    assert (new.owner, new.expires_text) == ("@me", in14)
    assert new.reason.startswith("flaky: 11 flips in 12 attempts, pass rate 50%")
    # applying again suggests nothing new
    r = run_cli("--project", project, "quarantine", "suggest", "--store", project / "store.db", "--end-after", "5")
    assert r.out.startswith("0 to quarantine"), r.out
