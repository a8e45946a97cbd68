"""What the pipeline generator asks git: the branch pull requests target, and whether a file is committed.

Every question runs ``git -C ROOT ...`` through :mod:`rq_obs.proc`; a project that is not a git
repository (or a machine without git) gets the documented fallback, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rq_obs.errors import UsageError

__all__ = ["BaseBranch", "default_branch", "is_repository", "is_tracked", "FALLBACK_BRANCH"]

FALLBACK_BRANCH = "main"
_USUAL = ("main", "master")


@dataclass(frozen=True)
class BaseBranch:
    name: str
    reason: str  # why this branch, for the line the command prints


def _git(root: Path, *args: str) -> str | None:
    """stdout of ``git -C root args`` (stripped), or None when git fails or is not installed."""
    from rq_obs import proc

    try:
        res = proc.run(["git", "-C", str(root), *args], timeout=30)
    except UsageError:  # git not on PATH, or it hung
        return None
    return res.stdout.strip() if res.ok else None


def is_repository(root: Path) -> bool:
    return _git(root, "rev-parse", "--is-inside-work-tree") == "true"


def is_tracked(root: Path, rel: str) -> bool:
    """Is ``rel`` (relative to ``root``) in git's index, i.e. committed or added (``git add -f`` counts)?"""
    return _git(root, "ls-files", "--error-unmatch", "--", rel) is not None


def default_branch(root: Path, repo: bool | None = None) -> BaseBranch:
    """The branch pull requests target: origin's default branch (``refs/remotes/origin/HEAD``), else the
    current branch when it is main or master, else :data:`FALLBACK_BRANCH`. ``repo``: whether ``root`` is in a
    git work tree (asked of git when None)."""
    remote = _git(root, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if remote and remote.startswith("origin/") and remote != "origin/":
        return BaseBranch(remote[len("origin/"):], "origin's default branch, refs/remotes/origin/HEAD")
    if not (is_repository(root) if repo is None else repo):
        return BaseBranch(FALLBACK_BRANCH, f"default: {root} is not a git repository")
    current = _git(root, "symbolic-ref", "--quiet", "--short", "HEAD")
    if current in _USUAL:
        return BaseBranch(current, "the current branch; the repository has no refs/remotes/origin/HEAD")
    why = f"the current branch {current!r} is neither main nor master" if current else "HEAD is detached"
    return BaseBranch(FALLBACK_BRANCH, f"default: no refs/remotes/origin/HEAD and {why}; "
                                       f"pass --base-branch to choose another")
