"""The quarantine file: parsing with line numbers, add/remove keeping the rest, the commands' exit codes."""

from __future__ import annotations

import datetime as dt
import json
import sys

import pytest

from rq_obs.quarantine import listfile
from rq_obs.quarantine.listfile import QuarantineFileError
from tests.helpers.cli import run_cli

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.timezone.utc).timestamp()

GOOD = """# keep this comment
quarantine:
  - nodeid: tests/test_a.py::test_one
    reason: races the cache (#12)
    owner: '@alice'
    expires: '2026-12-10'
  # and this one
  - nodeid: tests/test_b.py
    reason: whole module
    expires: 2026-12-20T10:00:00Z
"""


def test_parse_reads_every_field_with_its_line():
    q = listfile.parse(GOOD, "q.yaml")
    assert [(e.nodeid, e.owner, e.line, e.end_line) for e in q.entries] == [
        ("tests/test_a.py::test_one", "@alice", 3, 6), ("tests/test_b.py", "", 8, 10)]
    one = q.entries[0]
    # a date holds through that day (UTC)
    assert one.expires == dt.datetime(2026, 12, 11, tzinfo=dt.timezone.utc)
    assert not one.expired(dt.datetime(2026, 12, 10, 23, 59, tzinfo=dt.timezone.utc).timestamp())
    assert one.expired(dt.datetime(2026, 12, 11, tzinfo=dt.timezone.utc).timestamp())
    assert q.entries[1].expires == dt.datetime(2026, 12, 20, 10, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("text, line, expected", [
    ("quarantine:\n  - nodeid: a\n    reason: r\n    expires: soon\n", 4, "is not a date"),
    ("quarantine:\n  - nodeid: a\n    expires: '2026-01-01'\n", 2, "entry without 'reason'"),
    ("quarantine:\n  - nodeid: a\n    reason: r\n    expires: '2026-01-01'\n    colour: red\n", 5, "unknown field 'colour'"),
    ("quarantine:\n  - nodeid: a\n    reason: [x]\n    expires: '2026-01-01'\n", 3, "expected a single value"),
    ("entries: []\n", 1, "expected only 'quarantine'"),
    ("quarantine:\n  - nodeid: a\n    reason: r\n  expires: x\n", 4, "not valid YAML"),
    ("quarantine: {a: 1}\n", 1, "must be a list of entries"),
    ("quarantine:\n  - nodeid: a\n    reason: r\n    expires: '2026-01-01'\n"
     "  - nodeid: a\n    reason: r\n    expires: '2026-01-02'\n", 5, "already quarantined at line 2"),
    ("quarantine:\n  - nodeid: a\n    reason: r\n    expires: '2026-01-01T10:00'\n", 4, "no time zone"),
])
def test_malformed_file_names_line_and_expectation(text, line, expected):
    with pytest.raises(QuarantineFileError) as exc:
        listfile.parse(text, "q.yaml")
    assert str(exc.value).startswith(f"q.yaml:{line}: ")
    assert expected in str(exc.value)


def test_parse_survives_yaml_dropped_and_reimported(monkeypatch):
    # pytester's in-process runs restore sys.modules afterwards: a yaml first imported inside one is
    # imported again later, while libyaml's extension keeps building nodes of the first module's classes
    import yaml

    for name in [n for n in sys.modules if n == "yaml" or n.startswith("yaml.")]:
        monkeypatch.delitem(sys.modules, name)
    import yaml as again

    assert again is not yaml
    entries = listfile.parse("quarantine:\n  - nodeid: t.py::a\n    reason: r\n    expires: '2099-01-01'\n")
    assert [e.nodeid for e in entries.entries] == ["t.py::a"]


def test_add_then_remove_keeps_comments_and_other_entries():
    e = listfile.new_entry("tests/test_c.py::test_x[1-a: b]", 'says "hi" # not a comment', "14d", "@carol", NOW)
    assert (e.added, e.expires_text) == ("2026-12-07", "2026-12-21")
    added = listfile.with_entry(GOOD, e, "q.yaml")
    assert added.startswith(GOOD)
    back = listfile.parse(added).find("tests/test_c.py::test_x[1-a: b]")
    assert (back.reason, back.owner, back.expires_text) == ('says "hi" # not a comment', "@carol", "2026-12-21")
    removed = listfile.without_entry(added, "tests/test_a.py::test_one")
    assert removed == GOOD.replace(GOOD.splitlines(keepends=True)[2] + "".join(GOOD.splitlines(keepends=True)[3:6]), "") \
        + listfile.entry_text(e)
    assert "# and this one" in removed and "# keep this comment" in removed
    with pytest.raises(QuarantineFileError, match="already quarantined"):
        listfile.with_entry(added, e)


def test_expiry_forms():
    assert listfile.expiry_text("36h", NOW) == "2026-12-09T00:00:00Z"
    assert listfile.expiry_text("2027-01-31", NOW) == "2027-01-31"
    with pytest.raises(ValueError, match="expected a duration"):
        listfile.expiry_text("next week", NOW)


def test_commands_add_list_remove_and_bad_file(tmp_path):
    q = tmp_path / "rq-obs-quarantine.yaml"
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text("* @everyone\n/tests/unit/ @qa-team @bob\n")
    r = run_cli("--project", tmp_path, "quarantine", "add", "tests/unit/test_a.py::test_x", "--reason", "flips",
                "--expires", "2099-01-01")
    assert r.code == 0, r.err
    assert "owner @qa-team @bob" in r.out  # from CODEOWNERS: the last matching line wins
    r = run_cli("--project", tmp_path, "quarantine", "add", "tests/other.py::t", "--reason", "old", "--expires",
                "2020-01-01", "--owner", "@dan")
    assert r.code == 0, r.err
    r = run_cli("--project", tmp_path, "quarantine", "list", "--format", "json")
    data = json.loads(r.out)
    assert [(e["nodeid"], e["owner"], e["state"]) for e in data["entries"]] == [
        ("tests/unit/test_a.py::test_x", "@qa-team @bob", "active"), ("tests/other.py::t", "@dan", "expired")]
    r = run_cli("--project", tmp_path, "quarantine", "remove", "tests/other.py::t")
    assert r.code == 0
    assert [e.nodeid for e in listfile.read(q).entries] == ["tests/unit/test_a.py::test_x"]
    r = run_cli("--project", tmp_path, "quarantine", "remove", "tests/other.py::t")
    assert r.code == 2 and "is not quarantined" in r.err
    before = "quarantine:\n  - nodeid: a\n    reason: r\n    expires: never\n"
    q.write_text(before)
    for args in (["list"], ["add", "b", "--reason", "r", "--expires", "1d"], ["remove", "a"]):
        r = run_cli("--project", tmp_path, "quarantine", *args)
        assert r.code == 2, args
        assert f"{q}:4: expires: 'never' is not a date" in r.err
    assert q.read_text() == before  # nothing changed
    r = run_cli("--project", tmp_path, "quarantine", "add", "b", "--reason", "r", "--expires", "soon")
    assert r.code == 2 and "--expires: 'soon'" in r.err
