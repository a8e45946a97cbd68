"""A tracked file's diff at each recorded change, beside the pass-rate change it caused.

What ``rq-obs impact FILE --diff`` prints and ``GET /api/v1/impact/diff/FILE`` on ``rq-obs serve``
answers. The figures are :func:`rq_obs.analytics.reports.impact_report`'s (the ones ``rq-obs impact``
prints); the diff is :func:`difflib.unified_diff` of the two versions (3 lines of context,
``a/PATH`` → ``b/PATH``, ``/dev/null`` for an added or deleted file) as stored, redacted, in the
store (:mod:`rq_obs.store.texts`). A version the store lacks (a store written before contents were
kept) is looked up in the project's git history when a project directory is given: the commits
that touched the path, and the work tree, whose content hashes (sha256 of the bytes, as recorded)
match; its text goes through the same redaction before it is shown. ``rq-obs serve`` answers from
the store only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from rq_obs import proc
from rq_obs.analysis.impact import Impact
from rq_obs.analytics.reports import impact_report
from rq_obs.commands import _analytics_format as f
from rq_obs.config import Config
from rq_obs.errors import RqObsError, UsageError
from rq_obs.store.db import Store
from rq_obs.store.texts import MAX_TEXT_BYTES, redact_text, stored_texts

__all__ = ["ChangeDiff", "unified", "diff_report", "impact_lines", "render_text", "to_json", "GIT_COMMITS"]

#: at most this many commits of the path are read when looking for a version in git
GIT_COMMITS = 1000


@dataclass(frozen=True)
class ChangeDiff:
    impact: Impact
    diff: tuple[str, ...]  # unified diff lines, without line ends
    sources: tuple[str, ...]  # where the two versions came from: "store", "git", "none" (added/deleted)
    missing: tuple[str, ...]  # hashes of versions found neither in the store nor in git

    def to_dict(self) -> dict:
        return {**self.impact.to_dict(), "diff": list(self.diff), "diff_sources": list(self.sources),
                "missing_contents": list(self.missing)}


def unified(path: str, old: str | None, new: str | None) -> list[str]:
    """The unified diff from ``old`` to ``new`` (None: the file did not exist on that side)."""
    from rq_obs.analytics.responses import unified as text_diff

    return text_diff(old or "", new or "", "/dev/null" if old is None else f"a/{path}",
                     "/dev/null" if new is None else f"b/{path}")


def _git(project: Path, *args: str, binary: bool = False) -> proc.Result | None:
    try:
        res = proc.run(["git", "-c", "core.quotePath=false", *args], cwd=str(project), binary=binary, timeout=60)
    except (RqObsError, OSError):
        return None
    return res if res.ok else None


def git_texts(project: str | Path, path: str, wanted: Iterable[str]) -> dict[str, str]:
    """``sha256 -> redacted text`` of the versions of ``path`` in ``wanted`` found in the work tree or in the
    commits that touched it (newest first, at most :data:`GIT_COMMITS`)."""
    project, todo, found = Path(project), set(wanted) - {""}, {}

    def take(data: bytes) -> None:
        sha = hashlib.sha256(data).hexdigest()
        if sha in todo and len(data) <= MAX_TEXT_BYTES:
            found[sha] = redact_text(data.decode("utf-8", "replace"))[0]
            todo.discard(sha)

    if not todo:
        return found
    try:
        take((project / path).read_bytes())
    except OSError:
        pass
    args = ("log", f"--max-count={GIT_COMMITS}", "--format=%H", "--no-renames", "--", path)
    log = _git(project, *args) if todo else None
    for commit in log.stdout.split() if log else []:
        blob = _git(project, "cat-file", "blob", f"{commit}:./{path}", binary=True)
        if blob is not None:
            take(blob.stdout)
        if not todo:
            break
    return found


def _explain_no_change(store: Store, path: str) -> UsageError:
    hashes = [r[0] for r in store.query("SELECT DISTINCT sha256 FROM tracked_files WHERE path = ? ORDER BY sha256",
                                        (path,))]
    if hashes:
        return UsageError(f"{path!r} has {len(hashes)} recorded version{'s' if len(hashes) != 1 else ''} "
                          f"({', '.join(h[:12] for h in hashes)}) and no recorded change in {store.path}: "
                          "nothing to diff until a run records a different content")
    known = sorted({r[0] for r in store.query("SELECT DISTINCT path FROM tracked_files")}
                   | {r[0] for r in store.query("SELECT DISTINCT path FROM file_changes")})
    return UsageError(f"{path!r} is not a tracked file in {store.path} (no run recorded it, no change of it was "
                      f"polled); tracked files: {', '.join(known) or 'none'} (the tracked_files setting chooses them)")


def diff_report(store: Store, config: Config, path: str, window: str | None = None,
                project: str | Path | None = None) -> list[ChangeDiff]:
    """Every recorded change of ``path``, oldest first, with its diff. ``project``: look in its git history
    for versions the store lacks (None: the store only)."""
    impacts = impact_report(store, config, path, window)
    if not impacts:
        raise _explain_no_change(store, path)
    shas = {s for i in impacts for s in (i.change.old_sha256, i.change.new_sha256) if s}
    texts = stored_texts(store, shas)
    from_git = git_texts(project, path, shas - set(texts)) if project is not None and shas - set(texts) else {}
    out = []
    for i in impacts:
        sides, sources, missing = [], [], []
        for sha in (i.change.old_sha256, i.change.new_sha256):
            if not sha:
                sides.append(None)
                sources.append("none")
            elif sha in texts or sha in from_git:
                sides.append(texts.get(sha, from_git.get(sha)))
                sources.append("store" if sha in texts else "git")
            else:
                sides.append(None)
                sources.append("missing")
                missing.append(sha)
        diff = () if missing else tuple(unified(path, sides[0], sides[1]))
        out.append(ChangeDiff(i, diff, tuple(sources), tuple(missing)))
    return out


def impact_lines(i: Impact) -> list[str]:
    """The text ``rq-obs impact`` prints for one change: the change, pass rate before/after, per-test moves."""
    c, comp = i.change, i.comparison
    lines = "" if c.lines_added is None else f"  +{c.lines_added} -{c.lines_removed}"
    ci = "n/a" if not comp or not comp.ci else f"[{100 * comp.ci[0]:+.1f}, {100 * comp.ci[1]:+.1f}] pp"
    out = [f"{c.path}  changed {f.when(c.changed_at)}  commit {c.commit[:12] or '-'}"
           f"  by {c.author or '-'}{lines}  {c.old_sha256[:12] or '(new)'} -> {c.new_sha256[:12] or '(deleted)'}",
           f"  pass rate before {f.pct(i.before_rate)} ({i.before[0]}/{i.before[1]})  after "
           f"{f.pct(i.after_rate)} ({i.after[0]}/{i.after[1]})  delta {f.pp(comp.diff if comp else None)}  "
           f"95% CI {ci}  p = {f.pval(comp.p_value if comp else None)}" + ("  significant" if i.significant else "")]
    for t in i.tests:
        if t.delta:
            out.append(f"    {t.test}: {f.pct(t.comparison.control)} -> {f.pct(t.comparison.treatment)}  "
                       f"delta {f.pp(t.delta)}  p = {f.pval(t.comparison.p_value)}")
    return out


def render_text(diffs: list[ChangeDiff]) -> str:
    """Each change's :func:`impact_lines`, then its diff (or why there is none), a blank line between changes."""
    blocks = []
    for d in diffs:
        lines = impact_lines(d.impact)
        if d.missing:
            many = len(d.missing) > 1
            lines.append(f"  (no diff: the content of version{'s' if many else ''} "
                         f"{', '.join(s[:12] for s in d.missing)} {'is' if not many else 'are'} neither in the store "
                         "nor in the project's git history)")
        elif not d.diff:
            lines.append("  (no textual difference after redaction)")
        else:
            lines.extend(d.diff)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def to_json(diffs: list[ChangeDiff], config: Config, path: str, window: str | None = None) -> dict:
    """The document ``--format json`` prints and the endpoint answers."""
    return {"path": path, "window": window or config.flaky_window, "alpha": config.significance_level,
            "changes": [d.to_dict() for d in diffs]}
