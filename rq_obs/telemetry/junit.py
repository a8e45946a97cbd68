"""JUnit XML -> run records, for suites not run with pytest (or run where the plugin is not installed).

One run per file; its id is derived from the file's content hash, so importing the same
file twice stores it once. Understood: ``<testsuites>`` or a lone ``<testsuite>`` (nested
suites too), ``<testcase>`` with ``<failure>``, ``<error>``, ``<skipped>`` (pytest's
``type="pytest.xfail"`` is an xfail), and the rerun elements of Maven Surefire and
pytest-style reporters:

* ``<flakyFailure>`` / ``<flakyError>``: earlier failed attempts of a test that then passed;
* ``<rerunFailure>`` / ``<rerunError>``: further failed attempts after the first failure.

Each of those counts as its own attempt (attempt 1 is the first run). pytest's own ``--junitxml``
with pytest-rerunfailures writes instead one ``<testcase>`` per attempt, the rerun ones empty: a
test case that appears again later in its suite is an attempt that was rerun, so an empty one is
stored as failed (a passing attempt is never rerun), never as a pass.

Test ids: pytest writes ``classname="tests.test_mod.TestClass"``; when ``project`` holds
the module's file (or the case names it in a ``file`` attribute), the id is pytest's node id
(``tests/test_mod.py::TestClass::name``) so imported and recorded runs of a test line up; otherwise
``classname::name``. An attempt's duration
is the element's ``time`` attribute when it has one, else the test case's. Attempt start
times are estimated from the suite's ``timestamp`` (else the file's mtime) plus the time of
the cases before it.
"""

from __future__ import annotations

import hashlib
import math
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from rq_obs.errors import InputError
from rq_obs.store.records import Attempt, Run
from rq_obs.telemetry.summary import KEYS

__all__ = ["parse_junit", "JunitFile"]

_RERUN_TAGS = {"flakyFailure": "failed", "flakyError": "error", "rerunFailure": "failed", "rerunError": "error"}


@dataclass(frozen=True)
class JunitFile:
    path: str
    run: Run
    #: what pytest's summary line would say: each test's last attempt by outcome, earlier attempts as ``rerun``
    counts: dict = field(default_factory=dict)


def _number(value: str | None, what: str, where: str) -> float:
    if value is None or value.strip() == "":
        return 0.0
    try:
        x = float(value.replace(",", ""))
    except ValueError:
        raise InputError(f"{where}: {what} is {value!r}; expected a number of seconds") from None
    if not math.isfinite(x) or x < 0:
        raise InputError(f"{where}: {what} is {value!r}; expected a number of seconds >= 0")
    return x


def _timestamp(value: str | None) -> float | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)  # Surefire and Ant write UTC without an offset
    return dt.timestamp()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _node_id(classname: str, name: str, file_attr: str | None, root: Path | None, cache: dict) -> str:
    """pytest's node id when the module's file is known (``file`` attribute, or found under ``root``),
    else ``classname::name``."""
    if not classname:
        return name
    key = (classname, file_attr)
    if key not in cache:
        cache[key] = None
        parts = classname.split(".")
        if file_attr and file_attr.endswith(".py"):
            module = file_attr[:-3].replace("\\", "/").split("/")
            if parts[:len(module)] == module:
                cache[key] = "::".join((file_attr.replace("\\", "/"), *parts[len(module):]))
        elif root is not None:
            for i in range(len(parts), 0, -1):
                rel = "/".join(parts[:i]) + ".py"
                if (root / rel).is_file():
                    cache[key] = "::".join((rel, *parts[i:]))
                    break
    prefix = cache[key]
    return f"{prefix}::{name}" if prefix else f"{classname}::{name}"


def _case_attempts(case: ET.Element, where: str) -> list[tuple[str, float]]:
    """(outcome, duration) per attempt of one testcase."""
    time_ = _number(case.get("time"), "attribute 'time'", where)
    final = "passed"
    earlier: list[tuple[str, float]] = []
    later: list[tuple[str, float]] = []
    for child in case:
        tag = _local(child.tag)
        if tag == "failure":
            final = "failed"
        elif tag == "error":
            final = "error"
        elif tag == "skipped":
            final = "xfailed" if (child.get("type") or "") == "pytest.xfail" else "skipped"
        elif tag in _RERUN_TAGS:
            d = _number(child.get("time"), f"<{tag}> attribute 'time'", where) if child.get("time") else time_
            (earlier if tag.startswith("flaky") else later).append((_RERUN_TAGS[tag], d))
    return earlier + [(final, time_)] + later


def parse_junit(path: str | os.PathLike, *, suite: str = "", commit: str = "", branch: str = "",
                project: str | os.PathLike | None = None) -> JunitFile:
    """Parse one JUnit XML file into a :class:`Run` (``source='junit'``). Raises InputError naming the file.
    ``project``: the directory the tests ran in (pytest class names become node ids where its files match)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from None
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise InputError(f"{p}: not well-formed XML ({exc})") from None
    if _local(root.tag) not in ("testsuites", "testsuite"):
        raise InputError(f"{p}: root element is <{_local(root.tag)}>; expected <testsuites> or <testsuite> (JUnit XML)")
    suites = list(root.iter("testsuite"))  # nested suites too; a lone <testsuite> root is its own first
    first = suites[0] if suites else root
    start = _timestamp(first.get("timestamp")) or _timestamp(root.get("timestamp")) or p.stat().st_mtime
    clock = start
    attempts: list[Attempt] = []
    base = Path(project) if project is not None else None
    ids: dict = {}
    counts = dict.fromkeys(KEYS, 0)  # pytest's summary keys
    for s_index, ts in enumerate(suites, 1):
        s_name = ts.get("name") or f"#{s_index}"
        s_start = _timestamp(ts.get("timestamp"))
        if s_start is not None:
            clock = s_start
        cases = ts.findall("testcase")
        left = {}  # test id -> its test cases still to come in this suite (pytest-rerunfailures: one per attempt)
        for case in cases:
            key = (case.get("classname") or "", case.get("name"))
            left[key] = left.get(key, 0) + 1
        numbers: dict = {}
        finals: dict = {}  # test -> its latest attempt's outcome
        for c_index, case in enumerate(cases, 1):
            where = f"{p}: testsuite {s_name!r}, testcase #{c_index}"
            name = case.get("name")
            if not name:
                raise InputError(f"{where}: attribute 'name' is missing; expected the test's name")
            classname = case.get("classname") or ""
            key = (classname, name)
            left[key] -= 1
            test = _node_id(classname, name, case.get("file"), base, ids)
            for outcome, duration in _case_attempts(case, where):
                if left[key] and outcome == "passed":
                    outcome = "failed"  # rerun later in this suite: pytest writes the failed attempt empty
                numbers[key] = n = numbers.get(key, 0) + 1
                attempts.append(Attempt(test=test[:4096], outcome=outcome, duration=duration, attempt=n,
                                        started_at=clock))
                clock += duration
                if key in finals:
                    counts["rerun"] += 1
                finals[key] = outcome
        for outcome in finals.values():
            counts[outcome] += 1
    suite_name = suite or root.get("name") or first.get("name") or p.stem
    run_id = "junit-" + hashlib.sha256(data).hexdigest()[:32]
    run = Run(run_id=run_id, suite=suite_name[:256], started_at=start, finished_at=max(clock, start),
              status="complete", commit=commit, branch=branch, host=first.get("hostname") or "", source="junit",
              attempts=tuple(attempts))
    return JunitFile(path=str(p), run=run, counts={k: n for k, n in counts.items() if n})
