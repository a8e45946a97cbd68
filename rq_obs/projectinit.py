"""``rq-obs init``: set a project up in one step.

The plan (:func:`plan`) is every file init would write, with what it would do to each; nothing is written
until :func:`apply`. What it writes:

- the rq-obs settings it detected: a ``[tool.rq-obs]`` table appended to ``pyproject.toml`` (its text is
  kept as it is), or ``rq-obs.yaml`` when there is no pyproject.toml; settings that already exist are
  kept, never rewritten;
- the stack ``rq-obs build`` generates, into ``--stack-dir`` (default ``observability``), and this rq-obs'
  wheel beside it (``<stack>/exporters/dist/``), which the pipeline installs;
- the CI pipeline of the provider detected from the repository (``.github/``, ``.gitlab-ci.yml``,
  ``Jenkinsfile``, else origin's URL) or given, and ``.quality-gates.yaml``;
- the lines rq-obs' local files need in ``.gitignore`` (appended when missing).

Ownership: ``<stack>/rq-obs-init.json`` records the SHA-256 of every file init wrote. A file that exists,
differs from what init would write, and is not one init wrote (or was edited since) is a conflict:
nothing is written unless ``force``. Running init twice changes nothing (the wheel counts as unchanged
when it is a valid wheel of this rq-obs version: its file name carries the version).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from rq_obs.cigen import pipeline as P
from rq_obs.cigen.detect import BENCHMARK_FILE, COVERAGE_FILE
from rq_obs.errors import UsageError

__all__ = ["Plan", "Change", "plan", "apply", "detect_provider", "GITIGNORE_LINES", "MANIFEST"]

MANIFEST = "rq-obs-init.json"
GITIGNORE_HEADER = "# rq-obs: the local store and the reports CI writes (added by rq-obs init)"
#: what the generated pipelines write in the work tree (rq_obs.cigen's names for them)
GITIGNORE_LINES = (f"{P.STORE_DIR}/", f"{P.CI_VENV}/", COVERAGE_FILE, BENCHMARK_FILE, P.VULNS_FILE, P.REPORT,
                   P.GATE_OUTPUT, P.SUMMARY, P.COMMENT, P.NOTE, P.BASELINE_ZIP, P.AUDIT_REQUIREMENTS)


@dataclass(frozen=True)
class Change:
    path: str  # relative to the project root
    action: str  # create | update | unchanged | kept | conflict
    why: str = ""


@dataclass(frozen=True)
class Plan:
    root: Path
    provider: str
    provider_reason: str
    stack_dir: str
    settings: dict  # what [tool.rq-obs] / rq-obs.yaml gets (empty: the project already has settings)
    settings_file: str
    changes: tuple[Change, ...]
    files: dict  # path -> bytes to write (create/update), plus the wheel under its path
    manifest: dict  # path -> sha256 after apply
    next_commands: tuple[str, ...]

    @property
    def conflicts(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action == "conflict")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def detect_provider(root: Path) -> tuple[str | None, str]:
    """The CI provider the repository uses, with the reason; None when nothing says."""
    if (root / ".github").is_dir():
        return "github", "the repository has .github/"
    if (root / ".gitlab-ci.yml").is_file():
        return "gitlab", "the repository has .gitlab-ci.yml"
    if (root / "Jenkinsfile").is_file():
        return "jenkins", "the repository has a Jenkinsfile"
    from rq_obs import proc

    res = proc.run(["git", "-C", str(root), "remote", "get-url", "origin"], timeout=30)
    url = res.stdout.strip() if res.ok else ""
    for host, provider in (("github.com", "github"), ("gitlab", "gitlab")):
        if host in url:
            return provider, f"origin is on {host}"
    return None, "no .github/, .gitlab-ci.yml or Jenkinsfile, and origin is on neither GitHub nor GitLab"


def _project_name(root: Path, pyproject: dict) -> str:
    name = (pyproject.get("project") or {}).get("name") or ((pyproject.get("tool") or {}).get("poetry") or {}).get("name")
    return str(name) if name else root.resolve().name


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v))  # a TOML basic string is a JSON string for these values


def _settings_text(settings: dict, toml: bool) -> str:
    head = "# rq-obs settings detected by `rq-obs init`; every setting and its default: `rq-obs config`\n"
    if toml:
        return "\n[tool.rq-obs]\n" + head + "".join(f"{k} = {_toml_value(v)}\n" for k, v in settings.items())
    from rq_obs.yamltext import dump

    return head + dump(settings, sort_keys=False)


def plan(root: Path, *, provider: str | None = None, stack_dir: str = "observability",
         config_file: str | None = None) -> Plan:
    """What init would do in the project at ``root`` (writes nothing)."""
    from rq_obs import build
    from rq_obs.cigen import PROVIDERS, gates_yaml
    from rq_obs.cigen import generate as gen_pipeline
    from rq_obs.cigen.detect import _load_pyproject, detect
    from rq_obs.cigen.gitinfo import default_branch, is_repository
    from rq_obs.cigen.pipeline import GATES_FILE, Options
    from rq_obs.cigen.source import _pip_path
    from rq_obs.config import load
    from rq_obs.stack.wheel import wheel_path

    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root}: not a directory")
    if Path(stack_dir).is_absolute() or ".." in Path(stack_dir).parts or not stack_dir.strip():
        raise UsageError(f"--stack-dir {stack_dir!r}: expected a directory relative to the project, inside it")
    stack_dir = Path(stack_dir).as_posix()
    if provider is None:
        provider, provider_reason = detect_provider(root)
        if provider is None:
            raise UsageError(f"{root}: cannot tell the CI provider ({provider_reason}); pass --provider "
                             f"{'|'.join(PROVIDERS)}")
    else:
        provider_reason = "--provider"
    pyproject = _load_pyproject(root)
    loaded = load(root, config_file=config_file)
    info0 = detect(root, loaded.config)  # raises naming the files it looked at when the tests cannot be installed

    # the settings: only when the project has none yet
    has_settings = bool(loaded.files) or "rq-obs" in (pyproject.get("tool") or {})
    settings = {} if has_settings else {
        "suite": _project_name(root, pyproject),
        "ci_coverage": True,
        "ci_benchmarks": info0.benchmarks,
    }
    toml = (root / "pyproject.toml").is_file()
    settings_file = "pyproject.toml" if toml else "rq-obs.yaml"
    config = dataclasses.replace(loaded.config, **settings) if settings else loaded.config
    info = detect(root, config)

    manifest_path = root / stack_dir / MANIFEST
    try:
        owned = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    except ValueError:
        raise UsageError(f"{manifest_path}: not valid JSON; delete it (init then treats every existing file as "
                         f"not its own) or restore it") from None

    wanted: dict[str, bytes] = {}
    if settings:
        old = (root / settings_file).read_text(encoding="utf-8") if toml else ""
        sep = "" if not old or old.endswith("\n") else "\n"
        wanted[settings_file] = (old + sep + _settings_text(settings, toml) if toml
                                 else _settings_text(settings, False)).encode("utf-8")
    for rel, text in build.collect(config).items():
        wanted[f"{stack_dir}/{rel}"] = text.encode("utf-8")
    wheel_rel = f"{stack_dir}/{wheel_path()}"
    opts = Options(rq_obs_spec=_pip_path(wheel_rel), base_branch=default_branch(root, is_repository(root)).name,
                   stack_dir=stack_dir)
    _, pipeline = gen_pipeline(root, provider, config, opts, info)
    for rel, text in pipeline.items():
        wanted[rel] = text.encode("utf-8")
    gi = root / ".gitignore"
    old_gi = gi.read_text(encoding="utf-8") if gi.is_file() else ""
    have = {line.strip() for line in old_gi.splitlines()}
    missing = [line for line in GITIGNORE_LINES if line not in have]
    if not missing:
        wanted[".gitignore"] = old_gi.encode("utf-8")
    else:
        sep = "" if not old_gi or old_gi.endswith("\n") else "\n"
        header = "" if GITIGNORE_HEADER in have else GITIGNORE_HEADER + "\n"
        wanted[".gitignore"] = (old_gi + sep + header + "\n".join(missing) + "\n").encode("utf-8")

    changes: list[Change] = []
    files: dict[str, bytes] = {}
    appended = {settings_file, ".gitignore"} if toml else {".gitignore"}
    for rel, data in wanted.items():
        target = root / rel
        if not target.is_file():
            changes.append(Change(rel, "create"))
            files[rel] = data
            continue
        current = target.read_bytes()
        if current == data:
            changes.append(Change(rel, "unchanged"))
        elif rel == GATES_FILE:
            changes.append(Change(rel, "kept", "the quality gates are yours to tune"))
        elif rel in appended or owned.get(rel) == _sha(current):
            changes.append(Change(rel, "update", "lines appended" if rel in appended else "init wrote it"))
            files[rel] = data
        else:
            changes.append(Change(rel, "conflict", "exists, differs, and init did not write it (or it was edited)"))
            files[rel] = data

    wheel = root / wheel_rel
    if not wheel.is_file():
        changes.append(Change(wheel_rel, "create"))
    else:
        from rq_obs.stack.wheel import wheel_problem

        problem = wheel_problem(wheel)  # the file name carries this rq-obs' version
        if problem is None:
            changes.append(Change(wheel_rel, "unchanged", "this version's wheel"))
        elif owned.get(wheel_rel) == _sha(wheel.read_bytes()):
            changes.append(Change(wheel_rel, "update", f"init wrote it; it {problem}"))
        else:
            changes.append(Change(wheel_rel, "conflict", f"it {problem}, and init did not write it"))

    pipeline_file = next(p for p in pipeline if p != GATES_FILE)
    add = " ".join(shlex.quote(p) for p in sorted({settings_file, ".gitignore", GATES_FILE, pipeline_file, stack_dir}))
    # the wheel is ignored by the stack's exporters/.gitignore (it is a build output) but CI installs it
    # outside a git checkout (an unpacked sdist) the pipeline has nothing to run on until there is one
    start = ("git init && ",) if not (root / ".git").exists() and not _in_git(root) else ("",)
    next_commands = (f"{start[0]}git add {add} && git add -f {shlex.quote(wheel_rel)}",
                     "git commit -m 'rq-obs: quality pipeline, stack and settings'",
                     "git push   # the pipeline runs the tests with rq-obs, snapshots, compares and gates")
    return Plan(root, provider, provider_reason, stack_dir, settings, settings_file, tuple(changes), files,
                dict(owned), next_commands)


def _in_git(root: Path) -> bool:
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "--git-dir"], cwd=root, capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def apply(p: Plan, *, force: bool = False) -> tuple[Change, ...]:
    """Write the plan. Conflicts refuse everything (nothing written) unless ``force``."""
    if p.conflicts and not force:
        raise UsageError("not overwriting files rq-obs init did not write: "
                         + "; ".join(f"{c.path} ({c.why})" for c in p.conflicts) + "; use --force to replace them")
    manifest = dict(p.manifest)
    done = []
    for c in p.changes:
        if c.action not in ("create", "update", "conflict"):
            done.append(c)
            continue
        target = p.root / c.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if c.path.endswith(".whl"):
            from rq_obs.stack.wheel import write_wheel

            write_wheel(p.root / p.stack_dir)
        else:
            target.write_bytes(p.files[c.path])
        if c.path not in (p.settings_file, ".gitignore"):
            manifest[c.path] = _sha(target.read_bytes())
        done.append(Change(c.path, "replace" if c.action == "conflict" else c.action, c.why))
    for c in p.changes:  # files init generated and left as they were are its own too
        if c.action == "unchanged" and c.path not in (p.settings_file, ".gitignore") and (p.root / c.path).is_file():
            manifest.setdefault(c.path, _sha((p.root / c.path).read_bytes()))
    mpath = p.root / p.stack_dir / MANIFEST
    text = json.dumps(dict(sorted(manifest.items())), indent=1) + "\n"
    if not mpath.is_file() or mpath.read_text(encoding="utf-8") != text:
        mpath.parent.mkdir(parents=True, exist_ok=True)
        mpath.write_text(text, encoding="utf-8")
    return tuple(done)

