"""Run a generated CI pipeline locally: its shell steps, in order, with the provider's semantics.

- GitHub Actions: the job's and each step's ``env:``, ``${{ }}`` expressions (a small evaluator for the
  expression language: contexts, literals, ``== != ! && ||``, ``always() success() failure() hashFiles()``)
  given the values a push, a pull request or a tag would have; ``if:`` (default ``success()``),
  ``continue-on-error``, ``steps.<id>.outcome``; ``run:`` with ``bash -e`` (GitHub's default shell).
  ``uses:`` steps: checkout, setup-python and cache are no-ops (the project directory is the checkout, the
  given virtual environment's Python is the Python), upload-artifact keeps the path in :class:`Services`.
- GitLab CI: ``before_script`` + ``script`` in one ``bash -e`` shell, ``after_script`` in another (its
  failure does not fail the job), job ``variables`` and the predefined CI variables; artifacts kept.
- Jenkins: stages in order; ``sh`` steps with ``sh -xe``; ``catchError`` (the build fails, the stages go on),
  the ``environment`` block's GStrings, the ``env.X = ...`` script line, ``copyArtifacts`` / ``archiveArtifacts``
  against :class:`Services`, ``post { always }``. Anything else in the file is an error, so nothing the
  generator writes is silently skipped.

Hosted services are stubbed at the command boundary: ``gh`` (run list / run download / pr comment), ``curl``
(GitLab's artifact download and merge request note) and ``pip-audit`` (its vulnerability service is not
reachable here) are scripts on PATH ahead of everything else, backed by :class:`Services` (a directory).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import yaml

__all__ = ["Event", "Services", "Result", "run_github", "run_gitlab", "run_jenkins", "RUNNERS", "layered_venv",
           "fresh_checkout"]


@dataclass(frozen=True)
class Event:
    kind: str  # push | pull_request | tag (a tag pushed) | release (GitHub: a release published; else as tag)
    branch: str  # the branch pushed, or the pull request's head branch
    base: str  # the base (default) branch
    sha: str
    tag: str = ""
    number: int = 7  # pull request number


@dataclass
class StepResult:
    name: str
    outcome: str  # success | failure | skipped
    output: str = ""
    seconds: float = 0.0


@dataclass
class Result:
    code: int  # 0 the pipeline passed, 1 it failed
    steps: list[StepResult] = field(default_factory=list)

    def step(self, prefix: str) -> StepResult:
        found = [s for s in self.steps if s.name.startswith(prefix)]
        assert len(found) == 1, f"{len(found)} steps start with {prefix!r}: {[s.name for s in self.steps]}"
        return found[0]

    @property
    def log(self) -> str:
        return "\n".join(f"--- {s.name}: {s.outcome} ({s.seconds:.1f}s)\n{s.output}" for s in self.steps)

    def timings(self) -> str:
        return ", ".join(f"{s.name[:20]} {s.seconds:.1f}s" for s in self.steps if s.seconds >= 0.5)


# --- hosted services -------------------------------------------------------------------------------

_STUB = '''#!{python}
import json, os, shutil, sys, zipfile
from pathlib import Path
sys.path.insert(0, {here!r})
from cirunner import stub_main
sys.exit(stub_main({name!r}, sys.argv[1:]))
'''


class Services:
    """The hosted side of CI, in a directory: finished runs with their artifacts (a copy of the checkout's
    ``.rq-obs/``), pull request comments, and what pip-audit answers (``vulns``: a pip-audit JSON document,
    or None for "its service is unreachable")."""

    def __init__(self, root: Path):
        self.root = Path(root)
        (self.root / "bin").mkdir(parents=True, exist_ok=True)
        (self.root / "runs").mkdir(exist_ok=True)
        for name in ("gh", "curl", "pip-audit"):
            stub = self.root / "bin" / name
            stub.write_text(_STUB.format(python=sys.executable, here=str(Path(__file__).parent), name=name))
            stub.chmod(0o755)
        self.set_vulns(None)

    def set_vulns(self, doc: dict | None) -> None:
        (self.root / "vulns.json").write_text(json.dumps(doc))

    def keep_run(self, branch: str, success: bool, checkout: Path, paths: tuple[str, ...]) -> None:
        n = len(list((self.root / "runs").iterdir())) + 1
        run = self.root / "runs" / f"{n:03d}"
        for p in paths:
            src = checkout / p
            if src.is_dir():
                shutil.copytree(src, run / "files" / p)
            elif src.is_file():
                (run / "files" / p).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(src, run / "files" / p)
        (run / "files").mkdir(parents=True, exist_ok=True)
        (run / "run.json").write_text(json.dumps({"branch": branch, "success": success}))

    def last_success(self, branch: str) -> Path | None:
        for run in sorted((self.root / "runs").iterdir(), reverse=True):
            meta = json.loads((run / "run.json").read_text())
            if meta["branch"] == branch and meta["success"]:
                return run / "files"
        return None

    def comments(self) -> list[str]:
        path = self.root / "comments.json"
        return json.loads(path.read_text()) if path.is_file() else []

    def _comment(self, body: str) -> None:
        (self.root / "comments.json").write_text(json.dumps([*self.comments(), body]))


def _opt(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def stub_main(name: str, args: list[str]) -> int:
    """The stub commands (run from the scripts Services puts on PATH)."""
    services = Services.__new__(Services)
    services.root = Path(os.environ["RQ_OBS_CI_SERVICES"])
    if name == "gh" and args[:2] == ["run", "list"]:
        if services.last_success(_opt(args, "--branch")) is not None:
            print("4242")
        return 0
    if name == "gh" and args[:2] == ["run", "download"]:
        files = services.last_success(os.environ["RQ_OBS_CI_BASE"])
        if files is None or _opt(args, "--name") != "rq-obs-store":
            print("no artifact", file=sys.stderr)
            return 1
        shutil.copytree(files / ".rq-obs", _opt(args, "--dir"), dirs_exist_ok=True)
        return 0
    if name == "gh" and args[:2] == ["pr", "comment"]:
        services._comment(Path(_opt(args, "--body-file")).read_text())
        return 0
    if name == "curl":
        url = [a for a in args if a.startswith(("http://", "https://", "$"))][-1]
        m = re.search(r"/jobs/artifacts/([^/]+)/download", url)
        if m:
            files = services.last_success(m.group(1))
            if files is None:
                return 22  # curl --fail on 404
            import zipfile

            with zipfile.ZipFile(_opt(args, "--output"), "w") as zf:
                for p in sorted(files.rglob("*")):
                    if p.is_file():
                        zf.write(p, p.relative_to(files).as_posix())
            return 0
        if url.endswith("/notes"):
            services._comment(json.loads(Path(_opt(args, "--data").lstrip("@")).read_text())["body"])
            return 0
    if name == "pip-audit":
        doc = json.loads((services.root / "vulns.json").read_text())
        (services.root / "pip-audit-args.json").write_text(json.dumps(args))
        if doc is None:
            print("pip-audit: connection error: vulnerability service unreachable", file=sys.stderr)
            return 1
        Path(_opt(args, "--output")).write_text(json.dumps(doc))
        found = any(d.get("vulns") for d in doc["dependencies"])
        return 1 if found else 0
    print(f"{name} stub: unsupported call {args}", file=sys.stderr)
    return 2


# --- environments ---------------------------------------------------------------------------------

def _base_env(wheel: Path) -> Path:
    """A virtual environment holding rq-obs' runtime dependencies (not rq-obs, not pytest), built once per
    machine and Requires-Dist under ~/.cache/rq-obs/ci-base (one build at a time across xdist workers)."""
    import fcntl
    import hashlib
    import zipfile

    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        requires = sorted(l for l in zf.read(meta).decode().splitlines() if l.startswith("Requires-Dist:"))
    key = hashlib.sha256("\n".join([sys.version, *requires]).encode()).hexdigest()[:16]
    home = Path(os.environ.get("RQ_OBS_CI_BASE_DIR", Path.home() / ".cache" / "rq-obs" / "ci-base"))
    home.mkdir(parents=True, exist_ok=True)
    base = home / key
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (base / "complete").is_file():
            shutil.rmtree(base, ignore_errors=True)
            python = Path(sys.base_prefix) / "bin" / "python3"
            subprocess.run([str(python), "-m", "venv", str(base)], check=True)
            pip = [str(base / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
            subprocess.run([*pip, "install", str(wheel)], check=True)
            subprocess.run([*pip, "uninstall", "-y", "rq-obs"], check=True)
            (base / "complete").write_text("")
    return base


def layered_venv(path: Path, wheel: Path) -> Path:
    """A fresh virtual environment at ``path`` whose packages are its own, with rq-obs' runtime dependencies
    visible underneath it (a .pth to :func:`_base_env`'s site-packages, as --system-site-packages would):
    everything the pipeline installs (the project, its test dependencies, pytest, rq-obs) goes into ``path``."""
    base = _base_env(wheel)
    python = Path(sys.base_prefix) / "bin" / "python3"
    subprocess.run([str(python), "-m", "venv", str(path)], check=True)
    tag = f"python{sys.version_info.major}.{sys.version_info.minor}"
    (path / "lib" / tag / "site-packages" / "zz-rq-obs-base.pth").write_text(
        str(base / "lib" / tag / "site-packages") + "\n")
    return path


# --- running shell -------------------------------------------------------------------------------

def _environ(venv: Path, services: Services, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RQ_OBS_", "GITHUB_", "CI", "GITLAB", "VIRTUAL_ENV", "PYTEST", "PYTHON"))}
    env.update({"PATH": os.pathsep.join((str(services.root / "bin"), str(venv / "bin"), env.get("PATH", ""))),
                "VIRTUAL_ENV": str(venv), "RQ_OBS_CI_SERVICES": str(services.root), "CI": "true",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1", "UV_PYTHON_DOWNLOADS": "never", "TMPDIR": str(services.root)})
    env.update(extra)
    return env


_LAST = [0.0]


def _shell(argv: list[str], script: str, cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, str]:
    import time

    path = Path(env["TMPDIR"]) / "step.sh"
    path.write_text(script)
    t0 = time.monotonic()
    cp = subprocess.run([*argv, str(path)], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        text=True, timeout=timeout)
    _LAST[0] = time.monotonic() - t0
    return cp.returncode, cp.stdout


def fresh_checkout(root: Path, keep: tuple[str, ...]) -> None:
    """What a CI job starts from: the commit, nothing left from an earlier run (but ``keep``: environments)."""
    subprocess.run(["git", "clean", "-fdxq", *(a for k in keep for a in ("-e", k))], cwd=root, check=True)
    subprocess.run(["git", "checkout", "-q", "--", "."], cwd=root, check=True)


# --- GitHub ---------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||[!(),])"
                    r"|(?P<id>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*))")


class _Expr:
    """GitHub's expression language, the part generated workflows use."""

    def __init__(self, text: str, ctx: dict, funcs: dict):
        self.toks, pos = [], 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise ValueError(f"cannot parse expression {text!r} at {pos}")
            self.toks.append((m.lastgroup, m.group(m.lastgroup)))
            pos = m.end()
        self.i, self.ctx, self.funcs = 0, ctx, funcs

    def _peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def _take(self, value=None):
        tok = self._peek()
        if value is not None and tok[1] != value:
            raise ValueError(f"expected {value!r}, got {tok!r}")
        self.i += 1
        return tok

    def value(self):
        v = self._or()
        if self.i != len(self.toks):
            raise ValueError(f"trailing tokens {self.toks[self.i:]}")
        return v

    def _chain(self, op: str, operand, pick):
        v = operand()
        while self._peek()[1] == op:
            self._take()
            v = pick(v, operand())
        return v

    def _or(self):  # a || b: a when truthy, else b (values, not booleans)
        return self._chain("||", self._and, lambda a, b: a if _truthy(a) else b)

    def _and(self):  # a && b: b when a is truthy, else a
        return self._chain("&&", self._cmp, lambda a, b: b if _truthy(a) else a)

    def _cmp(self):
        v = self._unary()
        while self._peek()[1] in ("==", "!="):
            op = self._take()[1]
            r = self._unary()
            eq = str(v).lower() == str(r).lower() if isinstance(v, str) and isinstance(r, str) else v == r
            v = eq if op == "==" else not eq
        return v

    def _unary(self):
        if self._peek()[1] == "!":
            self._take()
            return not _truthy(self._unary())
        kind, text = self._take()
        if text == "(":
            v = self._or()
            self._take(")")
            return v
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if kind == "id":
            if self._peek()[1] == "(":
                self._take("(")
                args = []
                while self._peek()[1] != ")":
                    args.append(self._or())
                    if self._peek()[1] == ",":
                        self._take()
                self._take(")")
                return self.funcs[text.lower()](*args)
            if text in ("true", "false", "null"):
                return {"true": True, "false": False, "null": None}[text]
            v = self.ctx
            for part in text.split("."):
                v = v.get(part) if isinstance(v, dict) else None
            return v
        raise ValueError(f"unexpected token {text!r}")


def _truthy(v) -> bool:
    return v not in (None, False, "", 0)


def _interpolate(text: str, ctx: dict, funcs: dict) -> str:
    def one(m):
        v = _Expr(m.group(1), ctx, funcs).value()
        return "" if v is None else ("true" if v is True else "false" if v is False else str(v))

    return re.sub(r"\$\{\{(.*?)\}\}", one, text)


def run_github(root: Path, venv: Path, services: Services, event: Event, *, timeout: float = 600) -> Result:
    wf = yaml.safe_load((root / ".github/workflows/rq-obs.yml").read_text())
    triggers = wf.get("on") or wf.get(True)
    trigger = "push" if event.kind == "tag" else event.kind
    tagged = event.kind in ("tag", "release")
    assert trigger in triggers, f"the workflow does not run on {trigger}: {triggers}"
    job = wf["jobs"]["quality"]
    pr = event.kind == "pull_request"
    github = {"event_name": trigger, "sha": event.sha, "token": "ghs_stubtoken",
              "ref_type": "tag" if tagged else "branch",
              "ref_name": event.tag or (f"{event.number}/merge" if pr else event.branch),
              "base_ref": event.base if pr else "", "head_ref": event.branch if pr else "",
              "event": {"pull_request": {"number": event.number} if pr else None,
                        "repository": {"default_branch": event.base}}}
    steps_ctx: dict = {}
    ctx = {"github": github, "secrets": {}, "runner": {"os": "Linux"}, "steps": steps_ctx, "env": {}}
    failed = False
    funcs = {"always": lambda: True, "success": lambda: not failed, "failure": lambda: failed,
             "cancelled": lambda: False, "hashfiles": lambda *a: "0" * 64}
    summary = services.root / "step-summary.md"
    base_env = _environ(venv, services, {"GITHUB_ACTIONS": "true", "GITHUB_SHA": event.sha,
                                         "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_WORKSPACE": str(root),
                                         "GITHUB_HEAD_REF": github["head_ref"], "GITHUB_BASE_REF": github["base_ref"],
                                         "RQ_OBS_CI_BASE": github["base_ref"] or event.branch})
    job_env = {k: _interpolate(str(v), ctx, funcs) for k, v in (job.get("env") or {}).items()}
    ctx["env"] = job_env
    result = Result(0)
    for step in job["steps"]:
        name = step.get("name") or step.get("uses") or step.get("run", "").splitlines()[0]
        cond = step.get("if", "success()")
        cond = cond[3:-2] if isinstance(cond, str) and cond.startswith("${{") else cond
        if not _truthy(_Expr(str(cond), ctx, funcs).value()):
            result.steps.append(StepResult(name, "skipped"))
            if "id" in step:
                steps_ctx[step["id"]] = {"outcome": "skipped", "conclusion": "skipped"}
            continue
        if "uses" in step:
            action = step["uses"].split("@")[0]
            if action == "actions/upload-artifact":
                with_ = step["with"]
                services.keep_run(event.branch if not pr else f"pr-{event.number}", not failed, root,
                                  (with_["path"].rstrip("/"),))
            elif action not in ("actions/checkout", "actions/setup-python", "actions/cache"):
                raise AssertionError(f"the runner does not know the action {step['uses']}")
            code, out, _LAST[0] = 0, "", 0.0
        else:
            env = dict(base_env, **job_env, **{k: _interpolate(str(v), ctx, funcs) for k, v in (step.get("env") or {}).items()})
            code, out = _shell(["bash", "--noprofile", "--norc", "-e"], _interpolate(step["run"], ctx, funcs),
                               root, env, timeout)
        outcome = "success" if code == 0 else "failure"
        if "id" in step:
            steps_ctx[step["id"]] = {"outcome": outcome,
                                     "conclusion": "success" if step.get("continue-on-error") else outcome}
        result.steps.append(StepResult(name, outcome, out, _LAST[0]))
        if code != 0 and not step.get("continue-on-error"):
            failed = True
    result.code = 1 if failed else 0
    return result


# --- GitLab ---------------------------------------------------------------------------------------

def run_gitlab(root: Path, venv: Path, services: Services, event: Event, *, timeout: float = 600) -> Result:
    ci = yaml.safe_load((root / ".gitlab-ci.yml").read_text())
    job_name = next(k for k, v in ci.items() if isinstance(v, dict) and "script" in v)
    job = ci[job_name]
    mr = event.kind == "pull_request"
    variables = {"CI_COMMIT_SHA": event.sha, "CI_DEFAULT_BRANCH": event.base, "CI_PROJECT_DIR": str(root),
                 "CI_API_V4_URL": "https://gitlab.example/api/v4", "CI_PROJECT_ID": "42", "CI_JOB_NAME": job_name,
                 "CI_JOB_TOKEN": "stub-job-token", "GITLAB_CI": "true",
                 "CI_PIPELINE_SOURCE": "merge_request_event" if mr else "push"}
    if event.kind in ("tag", "release"):
        variables["CI_COMMIT_TAG"] = event.tag
    elif mr:
        variables.update(CI_MERGE_REQUEST_IID=str(event.number), CI_MERGE_REQUEST_TARGET_BRANCH_NAME=event.base,
                         RQ_OBS_GITLAB_TOKEN="glpat-stub")
    else:
        variables["CI_COMMIT_BRANCH"] = event.branch
    rules = ci["workflow"]["rules"]
    assert any(_gitlab_rule(r["if"], variables) for r in rules), f"no workflow rule runs this pipeline: {rules}"
    env = _environ(venv, services, variables)
    for k, v in (job.get("variables") or {}).items():
        env[k] = v.replace("$CI_PROJECT_DIR", str(root))
    result = Result(0)
    script = "\n".join([*job.get("before_script", []), *job["script"]]) + "\n"
    code, out = _shell(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail"], script, root, env, timeout)
    result.steps.append(StepResult("script", "success" if code == 0 else "failure", out, _LAST[0]))
    acode, aout = _shell(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail"],
                         "\n".join(job.get("after_script", [])) + "\n", root, env, timeout)
    result.steps.append(StepResult("after_script", "success" if acode == 0 else "failure", aout))
    services.keep_run(event.branch if not mr else f"mr-{event.number}", code == 0, root,
                      tuple(p.rstrip("/") for p in job["artifacts"]["paths"]))
    result.code = 0 if code == 0 else 1
    return result


def _gitlab_rule(expr: str, variables: dict) -> bool:
    m = re.fullmatch(r'\$(\w+) == "([^"]*)"', expr.strip())
    if m:
        return variables.get(m.group(1)) == m.group(2)
    m = re.fullmatch(r"\$(\w+)", expr.strip())
    if m:
        return bool(variables.get(m.group(1)))
    raise AssertionError(f"the runner does not know the rule {expr!r}")


# --- Jenkins --------------------------------------------------------------------------------------

def _groovy_string(text: str, env: dict) -> str:
    text = text.strip()
    if text.startswith("'"):
        return text[1:-1]
    assert text.startswith('"'), text

    def one(m):
        name, default = m.group(1), m.group(2)
        return env.get(name) or (default or "")

    return re.sub(r"\$\{env\.(\w+)(?: \?: '([^']*)')?\}", one, text[1:-1])


def _jenkins_blocks(body: str) -> list[tuple[str, str, bool]]:
    """A stage's (or post's) steps in order: (kind, text, caught)."""
    out, caught = [], False
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line == "}" or line.startswith("//"):
            if line == "}":
                caught = False
            continue
        if line.startswith("catchError("):
            caught = True
        elif line.startswith("withCredentials("):
            out.append(("credentials", line, False))
        elif line == "sh '''":
            block = []
            while lines[i].strip() != "'''":
                block.append(lines[i])
                i += 1
            i += 1
            out.append(("sh", textwrap.dedent("\n".join(block)).replace("\\\\", "\\") + "\n", caught))
        elif line.startswith("sh '") and line.endswith("'"):  # Groovy single-quoted: \" \' \\ are escapes
            out.append(("sh", re.sub(r"\\(.)", r"\1", line[4:-1]) + "\n", caught))
        elif line.startswith("script {") and line.endswith("}"):
            out.append(("script", line, caught))
        elif line == "script {":
            block = []
            while lines[i].strip() != "}":
                block.append(lines[i].strip())
                i += 1
            i += 1
            out.append(("script", "\n".join(block), caught))
        elif line.startswith("archiveArtifacts "):
            out.append(("archive", line, False))
        else:
            raise AssertionError(f"the runner does not know this Jenkinsfile line: {line!r}")
    return out


def run_jenkins(root: Path, venv: Path, services: Services, event: Event, *, timeout: float = 600) -> Result:
    text = (root / "Jenkinsfile").read_text()
    pr = event.kind == "pull_request"
    jenv = {"WORKSPACE": str(root), "GIT_COMMIT": event.sha, "JOB_NAME": f"project/{event.branch}",
            "BRANCH_NAME": f"PR-{event.number}" if pr else (event.tag or event.branch)}
    if pr:
        jenv.update(CHANGE_ID=str(event.number), CHANGE_TARGET=event.base)
    if event.kind in ("tag", "release"):
        jenv["TAG_NAME"] = event.tag
    envblock = re.search(r"\n    environment \{\n(.*?)\n    \}\n", text, re.S).group(1)
    for line in envblock.splitlines():
        name, value = line.strip().split(" = ", 1)
        jenv[name] = _groovy_string(value, jenv)
    stages = re.findall(r"        stage\('([^']+)'\) \{\n            steps \{\n(.*?)\n            \}\n        \}", text, re.S)
    post = re.search(r"\n    post \{\n        always \{\n(.*?)\n        \}\n    \}\n\}\n$", text, re.S).group(1)
    result = Result(0)
    failed = stopped = False
    env = _environ(venv, services, jenv)

    def do(kind: str, body: str, caught: bool, name: str) -> bool:
        nonlocal failed
        if kind == "sh":
            code, out = _shell(["sh", "-xe"], body, root, env, timeout)
        elif kind == "script":
            m = re.fullmatch(r"script \{ env\.(\w+) = env\.(\w+) \?: env\.(\w+) \}", body)
            if m:
                env[m.group(1)] = env.get(m.group(2)) or env.get(m.group(3), "")
                code, out = 0, ""
            elif "copyArtifacts(" in body:
                assert "selector: lastSuccessful()" in body and "filter: '.rq-obs/**'" in body, body
                files = services.last_success(env["BASE_BRANCH"])
                if files is not None:
                    shutil.copytree(files / ".rq-obs", root / ".rq-obs", dirs_exist_ok=True)
                code, out = 0, "copied" if files else "nothing to copy (optional)"
            else:
                raise AssertionError(f"the runner does not know this script block: {body!r}")
        elif kind == "credentials":
            env["RQ_OBS_TOKEN"] = "stub-token"
            code, out = 0, ""
        elif kind == "archive":
            m = re.search(r"artifacts: '([^']+)'", body)
            paths = tuple(p.strip().removesuffix("/**") for p in m.group(1).split(","))
            services.keep_run(f"PR-{event.number}" if pr else event.branch, not failed, root, paths)
            code, out = 0, ""
        result.steps.append(StepResult(name, "success" if code == 0 else "failure", out, _LAST[0] if kind == "sh" else 0))
        if code != 0:
            failed = True
            return caught
        return True

    for name, body in stages:
        if stopped:
            result.steps.append(StepResult(name, "skipped"))
            continue
        for kind, block, caught in _jenkins_blocks(body):
            if not do(kind, block, caught, name):
                stopped = True
                break
    for kind, block, caught in _jenkins_blocks(post):
        do(kind, block, True, f"post: {kind}")
    result.code = 1 if failed else 0
    return result


RUNNERS = {"github": run_github, "gitlab": run_gitlab, "jenkins": run_jenkins}
