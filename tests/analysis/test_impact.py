"""Tracked-file change impact: a SKILL.md change that breaks a test shows the drop with a significant p-value;
git polling of a real repository records change events once."""

import hashlib
import math
import os
import subprocess

import pytest

from rq_obs.analytics import gitpoll
from rq_obs.analytics.reports import impact_report, last_impacts
from rq_obs.catalog import M
from rq_obs.config import Config
from rq_obs.errors import UsageError
from rq_obs.store.runs import read_totals
from tests.analysis.history import DAY, HOUR, add_run, store_at

NOW = 1_795_000_000.0
SKILL = "skills/router/SKILL.md"


def _phi_sf(z):
    return 0.5 * math.erfc(z / math.sqrt(2))


def _skill_history(s, change_at):
    """10 runs before the change (hash aaa), 10 after (hash bbb); t_skill fails after the change."""
    for i in range(10):
        at = change_at - (10 - i) * HOUR
        add_run(s, f"b{i}", at, [("t_skill", "passed"), ("t_a", "passed"), ("t_b", "passed")], commit=f"c{i}",
                tracked=[(SKILL, "aaa")])
    for i in range(10):
        at = change_at + i * HOUR
        rows = [("t_skill", "failed"), ("t_a", "passed"), ("t_b", "passed")]
        if i == 0:
            rows.append(("t_skill", "failed", 1.0, 2))  # a rerun: not counted in before/after
        add_run(s, f"a{i}", at, rows, commit=f"d{i}", tracked=[(SKILL, "bbb")])


def test_test_failing_after_a_skill_change_shows_a_significant_drop(tmp_path):
    s = store_at(tmp_path)
    _skill_history(s, NOW - 2 * DAY)
    (imp,) = last_impacts(s, Config())
    c = imp.change
    assert (c.path, c.old_sha256, c.new_sha256, c.commit, c.run_id, c.suite) == (SKILL, "aaa", "bbb", "d0", "a0", "suite")
    assert (imp.before, imp.after) == ((30, 30), (20, 30))
    assert (imp.before_rate, imp.after_rate) == (1.0, pytest.approx(2 / 3))
    # hand: pooled 50/60, se = sqrt(5/6 * 1/6 * 2/30), z = -(1/3)/se = -3.4641, p = 0.000532
    se = math.sqrt(5 / 6 * 1 / 6 * 2 / 30)
    assert imp.comparison.diff == pytest.approx(-1 / 3)
    assert imp.comparison.statistic == pytest.approx(-(1 / 3) / se) == pytest.approx(-3.4641016, abs=1e-6)
    assert imp.comparison.p_value == pytest.approx(2 * _phi_sf(1 / 3 / se), rel=1e-9) == pytest.approx(0.000532, abs=1e-6)
    assert imp.significant
    per_test = {t.test: t for t in imp.tests}
    assert per_test["t_skill"].before == (10, 10) and per_test["t_skill"].after == (0, 10)
    assert per_test["t_skill"].delta == -1.0
    assert per_test["t_skill"].comparison.p_value == pytest.approx(2 * _phi_sf(1 / math.sqrt(0.25 * 0.2)), rel=1e-9)
    assert per_test["t_a"].delta == 0.0 and per_test["t_a"].comparison.p_value == 1.0


def test_window_is_bounded_by_neighbouring_changes(tmp_path):
    s = store_at(tmp_path)
    t0 = NOW - 5 * DAY
    _skill_history(s, t0)
    # a later change back to aaa, 15 hours after the first: the first change's "after" ends there
    add_run(s, "z", t0 + 15 * HOUR, [("t_skill", "passed")], commit="e", tracked=[(SKILL, "aaa")])
    first, second = impact_report(s, Config(), SKILL)
    assert first.window == (t0 - 7 * DAY, t0, t0 + 15 * HOUR)
    assert first.after == (20, 30)
    assert second.window == (t0, t0 + 15 * HOUR, t0 + 15 * HOUR + 7 * DAY)
    assert (second.before, second.after) == ((20, 30), (1, 1))
    (short,) = impact_report(s, Config(), SKILL, "3h")[:1]
    assert (short.before, short.after) == ((9, 9), (6, 9))  # 3 runs each side


def _git(repo, *args, when=None, author="Ada Lovelace"):
    env = {**os.environ, "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": "ada@example.org",
           "GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": "ada@example.org"}
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{int(when)} +0000"
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout.strip()


def _commit(repo, files, when, message, author="Ada Lovelace"):
    for path, data in files.items():
        p = repo / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message, when=when, author=author)
    return _git(repo, "rev-parse", "HEAD")


V1 = b"route: one\r\nrule: two\r\n"  # CRLF: the hash must be of the exact bytes
V2 = b"route: one\r\nrule: three\r\nrule: four\r\n"
V3 = b"route: five\r\n"


@pytest.fixture
def repo(tmp_path):
    r = tmp_path / "proj"
    r.mkdir()
    _git(r, "init", "-q")
    return r


def test_git_poll_records_each_change_once(repo, tmp_path):
    s = store_at(tmp_path)
    t1, t2, t3 = NOW - 3 * DAY, NOW - 2 * DAY, NOW - DAY
    c1 = _commit(repo, {SKILL: V1, "README.md": b"x\n"}, t1, "add skill")
    c2 = _commit(repo, {SKILL: V2, "README.md": b"y\n"}, t2, "reword skill", author="Grace Hopper")
    got = gitpoll.poll(repo, s, ["**/SKILL.md"])
    h1, h2, h3 = (hashlib.sha256(v).hexdigest() for v in (V1, V2, V3))
    assert [(c.path, c.old_sha256, c.new_sha256, c.commit, c.author, c.lines_added, c.lines_removed, c.changed_at)
            for c in got] == [(SKILL, "", h1, c1, "Ada Lovelace", 2, 0, t1), (SKILL, h1, h2, c2, "Grace Hopper", 2, 1, t2)]
    assert gitpoll.poll(repo, s, ["**/SKILL.md"]) == []  # nothing new
    rows = s.query("SELECT path, old_sha256, new_sha256, commit_sha, changed_at, run_id FROM file_changes ORDER BY id")
    assert [tuple(r) for r in rows] == [(SKILL, "", h1, c1, t1, ""), (SKILL, h1, h2, c2, t2, "")]
    totals = {(m, tuple(sorted(l.items()))): v for m, l, v in read_totals(s)}
    assert totals[(M.TRACKED_FILE_CHANGES.total, (("path", SKILL),))] == 2
    assert totals[(M.TRACKED_FILE_CHANGED_LINES.total, (("kind", "added"), ("path", SKILL)))] == 4
    assert totals[(M.TRACKED_FILE_CHANGED_LINES.total, (("kind", "removed"), ("path", SKILL)))] == 1

    # the pytest plugin notices the next change itself (same old -> new hash): polling does not duplicate it
    add_run(s, "p1", t2 + HOUR, [("t", "passed")], commit=c2, tracked=[(SKILL, h2)])
    c3 = _commit(repo, {SKILL: V3}, t3, "rewrite")
    add_run(s, "p2", t3 + HOUR, [("t", "passed")], commit=c3, tracked=[(SKILL, h3)])
    assert s.query("SELECT COUNT(*) FROM file_changes")[0][0] == 3
    assert gitpoll.poll(repo, s, ["**/SKILL.md"]) == []
    c4 = _commit(repo, {"other/SKILL.md": b"new\n"}, t3 + 2 * HOUR, "second skill")
    (new,) = gitpoll.poll(repo, s, ["**/SKILL.md"])
    assert (new.path, new.commit, new.lines_added, new.old_sha256) == ("other/SKILL.md", c4, 1, "")


def test_git_poll_outside_a_repository_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="not a git work tree"):
        gitpoll.poll(tmp_path, store_at(tmp_path), ["**/SKILL.md"])


def _changes(s):
    return [tuple(r) for r in s.query("SELECT path, old_sha256, new_sha256, commit_sha FROM file_changes ORDER BY id")]


def _change_counter(s, path=SKILL):
    totals = {(m, tuple(sorted(l.items()))): v for m, l, v in read_totals(s)}
    return totals.get((M.TRACKED_FILE_CHANGES.total, (("path", path),)))


def test_a_change_polled_between_runs_is_not_recorded_again_by_the_next_run(repo, tmp_path):
    s = store_at(tmp_path)
    h1, h2, h3 = (hashlib.sha256(v).hexdigest() for v in (V1, V2, V3))
    c1 = _commit(repo, {SKILL: V1}, NOW - 3 * DAY, "add skill")
    add_run(s, "r1", NOW - 3 * DAY + HOUR, [("t", "passed")], commit=c1, tracked=[(SKILL, h1)])  # the plugin's save
    c2 = _commit(repo, {SKILL: V2}, NOW - 2 * DAY, "reword skill")
    assert len(gitpoll.poll(repo, s, ["**/SKILL.md"])) == 2  # rq-obs impact --poll: added (c1), reworded (c2)
    add_run(s, "r2", NOW - 2 * DAY + HOUR, [("t", "passed")], commit=c2, tracked=[(SKILL, h2)])  # sees h1 -> h2
    assert _changes(s) == [(SKILL, "", h1, c1), (SKILL, h1, h2, c2)]  # h1 -> h2 exactly once
    assert _change_counter(s) == 2  # one per recorded event: the poll's 2, nothing from the run
    # two commits polled, then a run at the second one (its previous run saw h2): same path, commit, new hash
    c3 = _commit(repo, {SKILL: V3}, NOW - DAY, "rewrite")
    c4 = _commit(repo, {SKILL: V1}, NOW - DAY + 60, "revert to v1")
    assert [(c.old_sha256, c.new_sha256) for c in gitpoll.poll(repo, s, ["**/SKILL.md"])] == [(h2, h3), (h3, h1)]
    add_run(s, "r3", NOW - DAY + HOUR, [("t", "passed")], commit=c4, tracked=[(SKILL, h1)])  # h2 -> h1 at c4
    assert _changes(s) == [(SKILL, "", h1, c1), (SKILL, h1, h2, c2), (SKILL, h2, h3, c3), (SKILL, h3, h1, c4)]
    assert _change_counter(s) == 4


def test_a_change_the_run_recorded_first_is_not_recorded_again_by_the_poll(repo, tmp_path):
    s = store_at(tmp_path)
    h1, h2 = (hashlib.sha256(v).hexdigest() for v in (V1, V2))
    c1 = _commit(repo, {SKILL: V1}, NOW - 3 * DAY, "add skill")
    add_run(s, "r1", NOW - 3 * DAY + HOUR, [("t", "passed")], commit=c1, tracked=[(SKILL, h1)])
    c2 = _commit(repo, {SKILL: V2}, NOW - 2 * DAY, "reword skill")
    add_run(s, "r2", NOW - 2 * DAY + HOUR, [("t", "passed")], commit=c2, tracked=[(SKILL, h2)])
    assert _changes(s) == [(SKILL, h1, h2, c2)] and _change_counter(s) == 1
    (added,) = gitpoll.poll(repo, s, ["**/SKILL.md"])  # only the file's creation is new to the store
    assert (added.old_sha256, added.new_sha256, added.commit) == ("", h1, c1)
    assert _changes(s) == [(SKILL, h1, h2, c2), (SKILL, "", h1, c1)]
    assert _change_counter(s) == 2
