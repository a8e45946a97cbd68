"""Generate a project's CI pipeline (GitHub Actions, GitLab CI, Jenkins) and its quality-gates file.

:func:`resolve` decides what the project does not say itself (the base branch, where CI installs
rq-obs from, where the generated stack lives), each with the reason;
:func:`generate` returns ``{relative path: text}`` (deterministic); :func:`write` writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rq_obs.cigen.detect import ProjectInfo, detect
from rq_obs.cigen.pipeline import GATES_FILE, Options
from rq_obs.errors import UsageError

__all__ = ["PROVIDERS", "Options", "ProjectInfo", "detect", "resolve", "Resolved", "generate", "gates_yaml",
           "write", "Written", "pipeline_path"]

PROVIDERS = ("github", "gitlab", "jenkins")


def _renderer(provider: str):
    if provider == "github":
        from rq_obs.cigen import github as mod
    elif provider == "gitlab":
        from rq_obs.cigen import gitlab as mod
    elif provider == "jenkins":
        from rq_obs.cigen import jenkins as mod
    else:
        raise UsageError(f"unknown CI provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
    return mod


def pipeline_path(provider: str) -> str:
    return _renderer(provider).PATH


def gates_yaml(config) -> str:
    """``.quality-gates.yaml`` read by ``rq-obs gate`` and ``rq-obs compare``, with the config's gate values."""
    from rq_obs.textrender import render

    return render("cigen/templates/quality-gates.yaml.j2", trim=True, min_score=float(config.min_quality_score),
                  max_regressions=int(config.max_regressions), max_vulnerabilities=int(config.max_vulnerabilities),
                  min_coverage=float(config.min_coverage), max_failing_tests=int(config.max_failing_tests))


@dataclass(frozen=True)
class Resolved:
    options: Options
    base_branch_reason: str
    rq_obs_reason: str
    stack_reason: str


def resolve(root: Path, *, base_branch: str | None = None, rq_obs_spec: str | None = None,
            stack_dir: str | None = None, push_url: str | None = None) -> Resolved:
    """The pipeline options for the project at ``root``: what was given, else what is detected.

    Raises :class:`~rq_obs.errors.UsageError` when rq-obs has no source CI can install it from (see
    :mod:`rq_obs.cigen.source`), when ``stack_dir`` holds no generated stack, or when several stacks
    are found and none was given.
    """
    from rq_obs.cigen.gitinfo import BaseBranch, default_branch, is_repository, is_tracked
    from rq_obs.cigen.source import resolve_source
    from rq_obs.cigen.stackdir import MARKER, find_stack, given_stack

    root = Path(root)
    repo = is_repository(root)  # asked of git once
    stack = given_stack(root, stack_dir) if stack_dir is not None else find_stack(root)
    stack_reason = stack.reason
    if stack.rel is not None:
        marker = MARKER if stack.rel == "." else f"{stack.rel}/{MARKER}"
        if repo and not is_tracked(root, marker):
            stack_reason += f"; {marker} is not committed yet: commit the stack, or CI's check fails"
    source = resolve_source(root, rq_obs_spec, stack, repo)
    branch = BaseBranch(base_branch, "--base-branch") if base_branch else default_branch(root, repo)
    opts = Options(rq_obs_spec=source.spec, base_branch=branch.name, stack_dir=stack.rel, push_url=push_url)
    return Resolved(opts, branch.reason, source.reason, stack_reason)


def generate(root: Path, provider: str, config, opts: Options,
             info: ProjectInfo | None = None) -> tuple[ProjectInfo, dict[str, str]]:
    """The pipeline file and the quality-gates file (``info``: the project's :func:`detect`, done here if None)."""
    mod = _renderer(provider)
    info = info if info is not None else detect(Path(root), config)
    return info, {mod.PATH: mod.render(info, opts), GATES_FILE: gates_yaml(config)}


@dataclass(frozen=True)
class Written:
    path: str
    action: str  # created | updated | unchanged | kept


def write(root: Path, files: dict[str, str], *, force: bool = False) -> tuple[Written, ...]:
    """Write ``files`` under ``root``. An existing pipeline file that differs is only replaced with
    ``force``; an existing quality-gates file is always kept (it is the user's to tune)."""
    root = Path(root)
    conflicts = [p for p, text in files.items()
                 if p != GATES_FILE and (root / p).is_file() and (root / p).read_text(encoding="utf-8") != text]
    if conflicts and not force:
        raise UsageError(f"{', '.join(str(root / p) for p in conflicts)} exists and differs from what would be "
                         f"generated; use --force to replace it")
    out = []
    for p, text in files.items():
        target = root / p
        if target.is_file():
            old = target.read_text(encoding="utf-8")
            if old == text:
                out.append(Written(p, "unchanged"))
                continue
            if p == GATES_FILE:
                out.append(Written(p, "kept"))
                continue
            action = "updated"
        else:
            action = "created"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        out.append(Written(p, action))
    return tuple(out)
