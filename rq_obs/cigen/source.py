"""Where the generated pipeline installs rq-obs from. rq-obs is not on PyPI, so never plain ``rq-obs``.

In order:

1. ``--rq-obs-spec SPEC``: a wheel path inside the project (committed: CI's checkout must have it), or
   a PEP 508 requirement naming rq-obs (``rq-obs @ git+https://...``, or ``rq-obs==0.1.0`` for a
   package index of your own that CI's pip/uv is pointed at).
2. The wheel ``rq-obs stack wheel`` wrote into the project's stack
   (``<stack>/exporters/dist/rq_obs-<this version>-py3-none-any.whl``), when it is committed.
3. Otherwise a :class:`~rq_obs.errors.UsageError` naming those options: the generator never writes a
   pipeline whose install step cannot work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rq_obs.cigen.gitinfo import is_repository, is_tracked
from rq_obs.cigen.stackdir import Stack
from rq_obs.errors import UsageError

__all__ = ["RqObsSource", "resolve_source", "OPTIONS"]

OPTIONS = ("pass --rq-obs-spec with one of: a git URL ('rq-obs @ git+https://github.com/OWNER/rq-obs@TAG'), "
           "a wheel committed in the project (`rq-obs stack wheel --out DIR` writes "
           "DIR/exporters/dist/rq_obs-VERSION-py3-none-any.whl; `git add -f` it), or a requirement your own "
           "package index serves ('rq-obs==VERSION', with PIP_INDEX_URL / UV_INDEX_URL set in CI)")


@dataclass(frozen=True)
class RqObsSource:
    spec: str  # what pip / uv install (unquoted; the renderers quote it for the shell)
    reason: str


def _pip_path(rel: str) -> str:
    """A relative path pip and uv read as a file, not a requirement name."""
    return rel if "/" in rel else f"./{rel}"


def _in_repo(root: Path, repo: bool | None) -> bool:
    return is_repository(root) if repo is None else repo


def _given_wheel(root: Path, value: str, repo: bool | None) -> RqObsSource:
    from packaging.utils import canonicalize_name

    from rq_obs.stack.wheel import wheel_problem

    path = Path(value)
    path = path if path.is_absolute() else root / path
    try:
        rel = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise UsageError(f"--rq-obs-spec {value}: the wheel is not inside the project {root}, so CI's checkout "
                         f"will not have it; copy it into the project and commit it") from None
    if not path.is_file():
        raise UsageError(f"--rq-obs-spec {value}: {path} does not exist (a wheel path is relative to the "
                         f"project {root})")
    problem = wheel_problem(path)
    if problem is None and canonicalize_name(path.name.split("-", 1)[0]) != "rq-obs":
        problem = "is not an rq-obs wheel"
    if problem:
        raise UsageError(f"--rq-obs-spec {value}: {path} {problem}")
    if _in_repo(root, repo) and not is_tracked(root, rel):
        raise UsageError(f"--rq-obs-spec {value}: {rel} is not committed, so CI's checkout will not have it; "
                         f"run `git add -f {rel}` (and commit) first")
    return RqObsSource(_pip_path(rel), "--rq-obs-spec (a wheel in the project)")


def _given_requirement(value: str) -> RqObsSource:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        req = Requirement(value)
    except InvalidRequirement as exc:
        raise UsageError(f"--rq-obs-spec {value!r}: neither a wheel path (*.whl) nor a requirement ({exc}); "
                         f"{OPTIONS}") from None
    if canonicalize_name(req.name) != "rq-obs":
        raise UsageError(f"--rq-obs-spec {value!r} installs {req.name!r}, not rq-obs; {OPTIONS}")
    if req.url:
        from urllib.parse import urlsplit

        parts = urlsplit(req.url.split("+", 1)[1] if req.url.startswith(("git+", "hg+", "svn+", "bzr+")) else req.url)
        if parts.username or parts.password:
            raise UsageError("--rq-obs-spec: the URL carries credentials, which would be written into the pipeline "
                             "file; use a URL without them and give CI access another way (a deploy key, or a "
                             "git credential helper fed from a CI secret)")
        return RqObsSource(value, "--rq-obs-spec (a URL)")
    return RqObsSource(value, "--rq-obs-spec, from the package index CI's installer is pointed at (rq-obs is "
                              "not on PyPI: set PIP_INDEX_URL / UV_INDEX_URL in CI to yours)")


def resolve_source(root: Path, given: str | None, stack: Stack, repo: bool | None = None) -> RqObsSource:
    """What the pipeline's install step passes to pip/uv for rq-obs (see the module docstring). ``repo``: whether
    ``root`` is in a git work tree (asked of git when None)."""
    root = Path(root)
    if given is not None:
        value = given.strip()
        if not value:
            raise UsageError(f"--rq-obs-spec is empty; {OPTIONS}")
        if value.endswith(".whl") and "@" not in value and "://" not in value:
            return _given_wheel(root, value, repo)
        return _given_requirement(value)
    from rq_obs.stack.wheel import WHEEL_DIR, is_rq_obs_wheel, wheel_path

    if stack.rel is None:
        raise UsageError(f"rq-obs is not on PyPI, so the pipeline cannot `pip install rq-obs`, and the project "
                         f"has no rq-obs stack with a committed wheel; {OPTIONS}")
    prefix = "" if stack.rel == "." else stack.rel + "/"
    rel = prefix + wheel_path()
    if not (root / rel).is_file():
        others = sorted(p.name for p in (root / prefix / WHEEL_DIR).glob("*.whl")
                        if is_rq_obs_wheel(f"{WHEEL_DIR}/{p.name}"))
        held = f" (it holds {', '.join(others)}, not this rq-obs' version)" if others else ""
        raise UsageError(f"rq-obs is not on PyPI, so the pipeline cannot `pip install rq-obs`, and "
                         f"{rel} does not exist{held}: run `rq-obs stack wheel --out {stack.rel}` and "
                         f"`git add -f {rel}`, or {OPTIONS}")
    if not _in_repo(root, repo):
        return RqObsSource(_pip_path(rel), "the wheel in the stack (not a git repository: CI's checkout must "
                                           "include it)")
    if not is_tracked(root, rel):
        raise UsageError(f"{rel} is not committed (exporters/.gitignore ignores it), so CI's checkout will not "
                         f"have it: run `git add -f {rel}` and commit it, or {OPTIONS}")
    return RqObsSource(_pip_path(rel), "the wheel `rq-obs stack wheel` wrote into the stack, committed")
