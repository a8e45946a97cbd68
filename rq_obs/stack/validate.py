"""Checks behind ``rq-obs validate DIR``: is a generated (or hand-edited) stack deployable?

* ``promtool check config`` on collector/prometheus.yml, ``promtool check rules`` on rules/*.yml;
* ``amtool check-config`` on collector/alertmanager.yml when it exists;
* docker-compose.yml against the Compose specification's JSON Schema (bundled) and every
  bind-mounted file present;
* collector/otelcol.yaml: every component a pipeline names is defined, every defined
  component is used, connectors join an exporter pipeline to a receiver pipeline of the
  right types; and, when the programs are built (``rq-obs stack collector``, build-jaeger.sh),
  ``otelcol-rq-obs validate`` on it and ``jaeger validate`` on collector/jaeger.yaml;
* docker-compose.yml closed by default (:func:`rq_obs.stack.hardening.problems`): ports bound to an address,
  non-root ``user:``, ``read_only``, a memory limit, no Prometheus admin/lifecycle API, no literal secret in an
  environment, Grafana's admin password a required reference, anonymous access and sign-up off;
* every image docker-compose.yml builds: its build context and Dockerfile exist and each file a
  COPY/ADD takes from the context is there (the exporter's rq-obs wheel, which ``rq-obs stack
  wheel`` writes, is not a generated file), and a wheel is a wheel of the version its name says.
  A missing file is named with the command that makes it.

Each check yields one :class:`Check`. A program that is missing gives a check with
``missing_tool`` set and a message naming its Debian package.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable

from rq_obs.errors import UsageError

__all__ = ["Check", "validate_dir", "collector_problems", "compose_problems", "build_problems", "SCHEMA_RESOURCE"]

SCHEMA_RESOURCE = "schemas/compose-spec.schema.json"

_PROMETHEUS = "collector/prometheus.yml"
_ALERTMANAGER = "collector/alertmanager.yml"
_COLLECTOR = "collector/otelcol.yaml"
_COMPOSE = "docker-compose.yml"


@dataclass(frozen=True)
class Check:
    name: str
    path: str  # file (or glob) checked, relative to the stack directory
    ok: bool
    detail: str = ""
    missing_tool: bool = False

    def line(self) -> str:
        status = "ok  " if self.ok else ("n/a " if self.missing_tool else "FAIL")
        return f"{status} {self.name}: {self.path}" + (f": {self.detail}" if self.detail else "")


def _tool_output(stdout: str, stderr: str) -> str:
    """The tool's own complaint, on one line."""
    useful = []
    for line in (stdout + "\n" + stderr).splitlines():
        line = line.strip()
        if line.startswith("Checking "):  # "Checking FILE" or amtool's "Checking 'FILE'  FAILED: why"
            line = line[line.index("FAILED"):] if "FAILED" in line else ""
        if line and line not in useful:
            useful.append(line)
    return " | ".join(useful[:6])


def _run_tool(name: str, rel: str, args: list[str], cwd: Path) -> Check:
    from rq_obs import proc

    try:
        result = proc.run(args, cwd=str(cwd), timeout=60)
    except UsageError as exc:  # the program is not installed (message names the package)
        return Check(name, rel, False, str(exc), missing_tool=True)
    if result.ok:
        return Check(name, rel, True)
    return Check(name, rel, False, _tool_output(result.stdout, result.stderr))


def _load_yaml(path: Path) -> tuple[Any, str | None]:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")), None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return None, f"cannot read YAML: {' '.join(str(exc).split())}"


# --- Prometheus / Alertmanager ------------------------------------------------------

def _prometheus(root: Path) -> Iterable[Check]:
    if not (root / _PROMETHEUS).is_file():
        yield Check("promtool check config", _PROMETHEUS, False, "file is missing")
    else:
        yield _run_tool("promtool check config", _PROMETHEUS, ["promtool", "check", "config", _PROMETHEUS], root)
    rules = sorted(p.relative_to(root).as_posix() for p in (root / "rules").glob("*.yml")) if (root / "rules").is_dir() else []
    if rules:
        yield _run_tool("promtool check rules", "rules/*.yml", ["promtool", "check", "rules", *rules], root)


def _alertmanager(root: Path) -> Iterable[Check]:
    """amtool of the Alertmanager rq-obs targets (0.28.1, built by .ci/tools/build-alertmanager.sh) when it is
    built, else the one on PATH: Teams receivers (msteamsv2_configs) are unknown to amtool before 0.28."""
    from rq_obs.toolpaths import find_built_tool

    if (root / _ALERTMANAGER).is_file():
        amtool = find_built_tool("amtool") or "amtool"
        yield _run_tool("amtool check-config", _ALERTMANAGER, [amtool, "check-config", _ALERTMANAGER], root)


# --- docker-compose.yml ---------------------------------------------------------------

def _compose_schema() -> dict:
    text = resources.files("rq_obs.stack").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    return json.loads(text)


def _where(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def compose_problems(doc: Any, root: Path | None = None) -> list[str]:
    """Schema violations of a Compose document, then bind-mounted files missing under ``root``."""
    from jsonschema import Draft7Validator

    validator = Draft7Validator(_compose_schema())
    problems = [f"{_where(e.absolute_path)}: {e.message}"
                for e in sorted(validator.iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.message))]
    if problems or root is None or not isinstance(doc, dict):
        return problems
    for name, service in sorted((doc.get("services") or {}).items()):
        for volume in (service or {}).get("volumes") or []:
            source = volume.split(":", 1)[0] if isinstance(volume, str) else (volume or {}).get("source", "")
            # Only files: a missing directory is created empty by Docker, a missing file breaks the mount.
            if source.startswith("./") and "." in Path(source).name and not (root / source).is_file():
                problems.append(f"services.{name}.volumes: {source} does not exist")
    return problems


def _compose(root: Path) -> Iterable[Check]:
    name = "compose schema"
    path = root / _COMPOSE
    if not path.is_file():
        yield Check(name, _COMPOSE, False, "file is missing")
        return
    doc, error = _load_yaml(path)
    if error:
        yield Check(name, _COMPOSE, False, error)
        return
    problems = compose_problems(doc, root)
    yield Check(name, _COMPOSE, not problems, "; ".join(problems))
    from rq_obs.stack.hardening import problems as security_problems

    unsafe = security_problems(doc)
    yield Check("compose security", _COMPOSE, not unsafe, "; ".join(unsafe))


# --- collector ------------------------------------------------------------------------

_KINDS = ("receivers", "processors", "exporters", "connectors", "extensions")
_SIGNALS = ("traces", "metrics", "logs", "profiles")
#: Connector type -> (signal it consumes as an exporter, signal it produces as a receiver); None = any.
_CONNECTOR_SIGNALS = {
    "spanmetrics": ("traces", "metrics"),
    "servicegraph": ("traces", "metrics"),
    "count": (None, "metrics"),
    "forward": (None, None),
}


def collector_problems(doc: Any) -> list[str]:
    """Wiring problems of a collector config, each naming the component or pipeline."""
    if not isinstance(doc, dict):
        return ["expected a mapping at the top level"]
    defined = {k: set((doc.get(k) or {}).keys()) for k in _KINDS}
    used: dict[str, set[str]] = {k: set() for k in _KINDS}
    problems: list[str] = []
    service = doc.get("service") or {}
    pipelines = service.get("pipelines") or {}
    if not pipelines:
        problems.append("service.pipelines defines no pipeline")
    as_exporter: dict[str, set[str]] = {}
    as_receiver: dict[str, set[str]] = {}
    for pid, pipe in sorted(pipelines.items()):
        signal = str(pid).split("/", 1)[0]
        if signal not in _SIGNALS:
            problems.append(f"pipeline {pid!r}: unknown signal {signal!r}; expected one of {', '.join(_SIGNALS)}")
        pipe = pipe or {}
        for role in ("receivers", "exporters"):
            if not pipe.get(role):
                problems.append(f"pipeline {pid!r} has no {role}")
            for cid in pipe.get(role) or []:
                if cid in defined["connectors"]:
                    used["connectors"].add(cid)
                    (as_receiver if role == "receivers" else as_exporter).setdefault(cid, set()).add(signal)
                elif cid in defined[role]:
                    used[role].add(cid)
                else:
                    problems.append(f"pipeline {pid!r}: {role[:-1]} {cid!r} is not defined under {role} or connectors")
        for cid in pipe.get("processors") or []:
            if cid in defined["processors"]:
                used["processors"].add(cid)
            else:
                problems.append(f"pipeline {pid!r}: processor {cid!r} is not defined under processors")
    for cid in service.get("extensions") or []:
        if cid in defined["extensions"]:
            used["extensions"].add(cid)
        else:
            problems.append(f"service.extensions: extension {cid!r} is not defined under extensions")
    for kind in _KINDS:
        for cid in sorted(defined[kind] - used[kind]):
            where = "service.extensions" if kind == "extensions" else "any pipeline"
            problems.append(f"{kind[:-1]} {cid!r} is defined but not used in {where}")
    for cid in sorted(used["connectors"]):
        if cid not in as_exporter:
            problems.append(f"connector {cid!r} is a receiver but no pipeline exports to it")
        if cid not in as_receiver:
            problems.append(f"connector {cid!r} is an exporter but no pipeline receives from it")
        consumes, produces = _CONNECTOR_SIGNALS.get(cid.split("/", 1)[0], (None, None))
        for signal in sorted(as_exporter.get(cid, ())):
            if consumes and signal != consumes:
                problems.append(f"connector {cid!r} is an exporter of a {signal} pipeline; it accepts only {consumes}")
        for signal in sorted(as_receiver.get(cid, ())):
            if produces and signal != produces:
                problems.append(f"connector {cid!r} is a receiver of a {signal} pipeline; it produces only {produces}")
    return problems


def _collector(root: Path) -> Iterable[Check]:
    name = "collector pipelines"
    path = root / _COLLECTOR
    if not path.is_file():
        yield Check(name, _COLLECTOR, False, "file is missing")
        return
    doc, error = _load_yaml(path)
    problems = [error] if error else collector_problems(doc)
    yield Check(name, _COLLECTOR, not problems, "; ".join(problems))


def _collector_binaries(root: Path) -> Iterable[Check]:
    """``<binary> validate`` on the generated configs, with the real programs when they are built:
    the rq-obs collector distribution on otelcol.yaml, Jaeger v2 on jaeger.yaml. Absent programs
    skip their check (``rq-obs stack collector`` and .ci/tools/build-jaeger.sh make them)."""
    from rq_obs.stack import distribution, jaeger
    from rq_obs.toolpaths import find_tool

    for name, binary, rel in (("collector validate", distribution.find_binary(), _COLLECTOR),
                              ("jaeger validate", find_tool("jaeger"), jaeger.PATH)):
        if binary and (root / rel).is_file():
            yield _run_tool(name, rel, [binary, "validate", f"--config={rel}"], root)  # run in root


# --- images docker-compose.yml builds ------------------------------------------------------

def _rel(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def _how_to_make(rel: str, root: Path) -> str:
    """The command that writes the stack file ``rel``, or "" for a file rq-obs does not make."""
    from rq_obs.stack import exporter, wheel

    out = shlex.quote(str(root))
    if wheel.is_rq_obs_wheel(rel):
        return f"; run `rq-obs stack wheel --out {out}`"
    if rel in (exporter.DOCKERFILE, exporter.DOCKERIGNORE, exporter.CONFIG_PATH, exporter.GITIGNORE):
        return f"; run `rq-obs build --out {out}`"
    return ""


def build_problems(service: str, build: Any, root: Path) -> tuple[str, list[str]]:
    """(Dockerfile path relative to ``root``, problems) for one service's ``build:`` section."""
    from rq_obs.stack.dockerfile import context_sources
    from rq_obs.stack.wheel import wheel_problem

    spec = {"context": build} if isinstance(build, str) else dict(build or {})
    context = str(spec.get("context") or ".")
    if "://" in context or context.startswith("git@"):
        return context, []  # a remote context: nothing local to check
    ctx = (root / context).resolve() if not Path(context).is_absolute() else Path(context)
    dockerfile = ctx / str(spec.get("dockerfile") or "Dockerfile")
    where = _rel(dockerfile, root)
    if not ctx.is_dir():
        return where, [f"services.{service}.build.context {context} is not a directory"]
    if spec.get("dockerfile_inline") is not None:
        where, text = f"services.{service}.build.dockerfile_inline", str(spec["dockerfile_inline"])
    elif not dockerfile.is_file():
        return where, [f"{where} is missing{_how_to_make(where, root)}"]
    else:
        try:
            text = dockerfile.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return where, [f"cannot read {where}: {exc}"]
    problems: list[str] = []
    for source in context_sources(text):
        target = (ctx / source.path.lstrip("/")).resolve()
        if target != ctx and ctx not in target.parents:
            problems.append(f"{source.instruction} {source.path} (line {source.line}) is outside the build "
                            f"context {_rel(ctx, root)}/")
            continue
        if any(c in source.path for c in "*?["):
            if not list(ctx.glob(source.path.lstrip("/"))):
                problems.append(f"{source.instruction} {source.path} (line {source.line}) matches no file in "
                                f"{_rel(ctx, root)}/")
            continue
        rel = _rel(target, root)
        if not target.exists():
            problems.append(f"{rel} is missing{_how_to_make(rel, root)}")
        elif target.suffix == ".whl" and target.is_file():
            bad = wheel_problem(target)
            if bad:
                problems.append(f"{rel} {bad}{_how_to_make(rel, root)}")
    return where, problems


def _images(root: Path) -> Iterable[Check]:
    doc, error = _load_yaml(root / _COMPOSE) if (root / _COMPOSE).is_file() else (None, "missing")
    if error or not isinstance(doc, dict) or not isinstance(doc.get("services"), dict):
        return  # the compose schema check reports it
    for name, service in sorted(doc["services"].items()):
        if isinstance(service, dict) and service.get("build") is not None:
            where, problems = build_problems(name, service["build"], root)
            yield Check("image build context", where, not problems, "; ".join(problems))


_CHECKS: tuple[Callable[[Path], Iterable[Check]], ...] = (_prometheus, _alertmanager, _compose, _collector,
                                                          _collector_binaries, _images)


def validate_dir(root: Path) -> list[Check]:
    """Run every check on the stack under ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root}: not a directory")
    return [check for group in _CHECKS for check in group(root)]
