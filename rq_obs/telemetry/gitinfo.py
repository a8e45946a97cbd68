"""Commit and branch of the code under test: git first, then the CI's environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from rq_obs import proc
from rq_obs.errors import RqObsError

__all__ = ["GitInfo", "git_info"]

#: (commit variable, branch variable) of common CI systems, used when git cannot tell.
_CI_VARS = (
    ("GITHUB_SHA", "GITHUB_HEAD_REF"),  # pull requests: GITHUB_HEAD_REF is the source branch
    ("GITHUB_SHA", "GITHUB_REF_NAME"),
    ("CI_COMMIT_SHA", "CI_COMMIT_REF_NAME"),  # GitLab
    ("BUILDKITE_COMMIT", "BUILDKITE_BRANCH"),
    ("CIRCLE_SHA1", "CIRCLE_BRANCH"),
    ("GIT_COMMIT", "GIT_BRANCH"),  # Jenkins
)


@dataclass(frozen=True)
class GitInfo:
    commit: str = ""
    branch: str = ""


def git_info(cwd: str | os.PathLike, env: Mapping[str, str] | None = None) -> GitInfo:
    """Commit sha and branch name for ``cwd``; empty strings when neither git nor CI can tell.

    A detached HEAD (common in CI) has no branch in git; the CI's branch variable fills it.
    """
    env = os.environ if env is None else env
    commit = branch = ""
    try:
        res = proc.run(["git", "rev-parse", "HEAD", "--abbrev-ref", "HEAD"], cwd=str(cwd), timeout=10)
        if res.ok:
            lines = res.stdout.split()
            commit = lines[0] if lines else ""
            branch = lines[1] if len(lines) > 1 and lines[1] != "HEAD" else ""
    except (RqObsError, OSError):
        pass
    for commit_var, branch_var in _CI_VARS:
        if not commit and env.get(commit_var):
            commit = env[commit_var]
        if not branch and env.get(branch_var) and env.get(commit_var):
            branch = env[branch_var]
    return GitInfo(commit=commit.strip(), branch=branch.strip())
