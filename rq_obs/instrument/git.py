"""Refuse to edit a git work tree with uncommitted changes (so every edit apply makes is reviewable)."""

from __future__ import annotations

from pathlib import Path

from rq_obs import proc

__all__ = ["uncommitted_changes"]


def _in_git_tree(path: Path) -> bool:
    p = path.resolve()
    return any((d / ".git").exists() for d in (p, *p.parents))


def uncommitted_changes(path: Path) -> list[str]:
    """``git status --porcelain`` lines (modified, staged or untracked files) under ``path``;
    empty when ``path`` is not inside a git work tree."""
    if not _in_git_tree(Path(path)):
        return []
    r = proc.run(["git", "-C", str(path), "status", "--porcelain", "--untracked-files=all", "--", "."])
    if not r.ok:
        return []  # not a work tree after all (bare repository, or .git of something else)
    return [line for line in r.stdout.splitlines() if line.strip()]
