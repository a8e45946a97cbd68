"""Parity harness: what rq-obs stored against what pytest itself printed and wrote to --junitxml."""

from __future__ import annotations

import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from tests.telemetry.conftest import plain_env, store_file  # noqa: F401 - fixtures for this package

#: pytest's verbose result words -> its summary categories
WORDS = {"PASSED": "passed", "FAILED": "failed", "ERROR": "error", "SKIPPED": "skipped", "XFAIL": "xfailed",
         "XPASS": "xpassed", "RERUN": "rerun"}
_WORD = "|".join(WORDS)
# "test_x.py::test_a PASSED  [ 50%]" (serial -v) and "[gw0] [ 50%] PASSED test_x.py::test_a" (xdist -v)
_SERIAL = re.compile(rf"^(\S+::\S+) ({_WORD})\b")
_XDIST = re.compile(rf"^\[gw\d+\] \[\s*\d+%\] ({_WORD}) (\S+::\S+)")
_COLLECT_ERROR = re.compile(r"^ERROR (\S+?)(?: - .*)?$")


_SUMMARY_LINE = re.compile(r"^=+ (.+?) in [\d.]+s(?: \([^)]*\))? =+$")
_PART = re.compile(r"^(\d+) (.+)$")


def summary_line(lines: list[str]) -> dict[str, int]:
    """pytest's final summary line ("== 2 failed, 1 passed, 2 subtests passed in 0.1s ==") as {key: count},
    with the keys pytest's stats use ("errors" -> "error"; warnings left out: they are not outcomes)."""
    for line in reversed(lines):
        m = _SUMMARY_LINE.match(line.strip())
        if m:
            out = {}
            for part in m.group(1).split(", "):
                p = _PART.match(part)
                if p is None:  # "no tests ran"
                    continue
                key = p.group(2)
                key = {"errors": "error", "warning": "warnings"}.get(key, key)
                if key != "warnings":
                    out[key] = int(p.group(1))
            return out
    raise AssertionError("no summary line in pytest's output:\n" + "\n".join(lines[-20:]))


def verbose_by_test(lines: list[str]) -> Counter:
    """(node id, category) for every result pytest printed in -v mode, and collection errors of the short summary."""
    found: Counter = Counter()
    short = False
    for line in lines:
        if line.startswith("=") and "short test summary info" in line:
            short = True
            continue
        m = _SERIAL.match(line)
        if m and not short:
            found[(m.group(1), WORDS[m.group(2)])] += 1
            continue
        m = _XDIST.match(line)
        if m and not short:
            found[(m.group(2), WORDS[m.group(1)])] += 1
            continue
        m = _COLLECT_ERROR.match(line)
        if m and short and "::" not in m.group(1):  # a collector (module) that could not be collected
            found[(m.group(1), "error")] += 1
    return found


def junit_totals(path: Path) -> dict[str, int]:
    """The testsuite totals, less pytest's own internal-error entry (classname "pytest", name "internal"),
    which JUnit counts as an error and the summary line does not."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    out = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "errors", "failures", "skipped")}
    out["errors"] -= sum(1 for c in root.iter("testcase") if (c.get("classname"), c.get("name")) == ("pytest", "internal"))
    return out


def junit_by_test(path: Path) -> dict[str, list[str]]:
    """classname.name -> the result elements of its testcase (failure, error, skipped; [] when passed).

    Left out, as the summary line leaves them out: pytest's internal-error entry (``pytest.internal``) and
    the nameless entry an interrupted session (pytest.exit, Ctrl-C) leaves."""
    out: dict[str, list[str]] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        key = ".".join(p for p in (case.get("classname"), case.get("name")) if p)
        if key in ("", "pytest.internal"):
            continue
        out.setdefault(key, []).extend(c.tag for c in case if c.tag in ("failure", "error", "skipped"))
    return {k: sorted(v) for k, v in out.items()}


class Stored:
    def __init__(self, path: Path):
        conn = sqlite3.connect(path)
        try:
            runs = conn.execute("SELECT run_id, status, exit_code, summary FROM runs").fetchall()
            assert len(runs) == 1, runs
            self.run_id, self.status, self.exit_code, summary = runs[0]
            self.counts = json.loads(summary) if summary else None
            self.attempts = conn.execute(
                "SELECT test, outcome, attempt, worker, summary, attributes FROM attempts ORDER BY id").fetchall()
        finally:
            conn.close()

    def by_test(self) -> Counter:
        """(node id, category) per stored attempt; a module's collection skip is left out (pytest -v prints
        no line for it: its own tests check it against JUnit)."""
        return Counter((test, c) for test, _, _, _, summary, _ in self.attempts for c in summary.split()
                       if "::" in test or c != "skipped")

    def attempt_summary_counts(self) -> dict[str, int]:
        return dict(Counter(c for *_, summary, _ in self.attempts for c in summary.split()))


def run_with_parity(pytester: pytest.Pytester, store: Path, *args: str, subprocess: bool = False,
                    by_test: bool = True, junit: bool = True, crashed: int = 0):
    """Run pytest with --rq-obs, -v and --junitxml; assert the store agrees with what pytest printed and wrote.

    ``by_test=False`` for subtests: pytest counts each subtest's report, rq-obs stores the test's attempt.
    ``crashed``: tests whose xdist worker died; pytest's summary counts them failed, its JUnit XML as errors."""
    xml = pytester.path / "junit.xml"
    argv = ["-p", "no:cacheprovider", "-v", f"--junitxml={xml}", "--rq-obs", f"--rq-obs-store={store}", *args]
    result = (pytester.runpytest_subprocess if subprocess else pytester.runpytest)(*argv)
    stored = check_parity(result.outlines, int(result.ret), store, xml if junit else None, by_test=by_test,
                          crashed=crashed)
    return result, stored


def check_parity(lines: list[str], ret: int, store: Path, xml: Path | None, *, by_test: bool = True,
                 crashed: int = 0) -> Stored:
    """The one stored run against pytest's output lines, exit code and JUnit file."""
    text = "\n".join(lines)
    stored = Stored(store)
    expected = summary_line(lines)
    assert (stored.status, stored.exit_code) == ("complete", ret), text
    assert stored.counts == expected, text
    if by_test:  # each stored attempt's categories add up to the same line, and match pytest's, test by test
        assert stored.attempt_summary_counts() == expected
        assert stored.by_test() == verbose_by_test(lines), text
    if xml is not None and xml.exists():
        totals = junit_totals(xml)
        assert totals["errors"] == expected.get("error", 0) + crashed
        assert totals["failures"] == expected.get("failed", 0) - crashed
        assert totals["skipped"] == expected.get("skipped", 0) + expected.get("xfailed", 0)
        if by_test and not crashed:
            assert_matches_junit_by_test(stored, xml)
    return stored


#: summary category -> the JUnit element pytest writes for it (None: a testcase without one)
_JUNIT_KIND = {"passed": None, "xpassed": None, "failed": "failure", "error": "error", "skipped": "skipped",
               "xfailed": "skipped"}


def junit_key(nodeid: str) -> str:
    """The JUnit "classname.name" pytest's junitxml writes for a node id (its own mangle_test_address)."""
    from _pytest.junitxml import mangle_test_address

    names = mangle_test_address(nodeid)
    return ".".join(names)


def assert_matches_junit_by_test(stored: Stored, xml: Path) -> None:
    """Each test's stored categories (reruns aside) give exactly the result elements of its JUnit testcase."""
    junit = junit_by_test(xml)
    mine: dict[str, list[str]] = {}
    for test, _, _, _, summary, _ in stored.attempts:
        kinds = mine.setdefault(junit_key(test), [])
        kinds.extend(k for c in summary.split() if c != "rerun" and (k := _JUNIT_KIND[c]) is not None)
    assert set(mine) == set(junit), sorted(set(mine) ^ set(junit))[:10]
    differ = {k: (sorted(mine[k]), junit[k]) for k in junit if sorted(mine[k]) != junit[k]}
    assert differ == {}
