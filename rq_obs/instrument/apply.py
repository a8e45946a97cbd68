"""Instrument a FastAPI, Flask or Django code base: plan the file changes, show them as a diff, write them.

Code is edited with libcst (a concrete syntax tree), so every comment, blank line and formatting
choice outside the inserted lines survives. Changes, all idempotent (a second apply plans nothing):

- ``<app package>/rq_obs_instrumentation.py`` (generated; only ever rewritten if it carries the marker)
  and ``rq_obs_instrumentation.json`` beside it (settings; kept once it exists, the user's to edit);
- in the file creating the app: ``from <pkg>.rq_obs_instrumentation import instrument_app`` after
  the last top-level import and ``instrument_app(<app>)`` right after ``<app> = FastAPI(...)`` /
  ``Flask(...)`` (also inside an app factory function);
- for Django instead (:mod:`.django_project`): the module goes beside the root URLconf, the settings
  module's ``INSTALLED_APPS`` gains its ``RqObsConfig`` (whose ``ready()`` starts tracing) and the
  root URLconf routes ``metrics``, ``health`` and ``ready`` to its views, first in ``urlpatterns``;
- ``@traced`` as the innermost decorator of every function named with ``--functions``, then
  ``@profiled`` of every function named with ``--profile`` (and the imports of both in its file);
- the dependencies: appended to ``requirements.txt``, else added to ``[project].dependencies`` in
  ``pyproject.toml``, else written to a new ``requirements.txt``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from rq_obs.errors import UsageError
from rq_obs.instrument import django_project, template
from rq_obs.instrument.analyze import Analysis, Function, module_name

__all__ = ["Change", "plan", "unified_diff", "write", "requirements_for", "resolve_functions", "PROBES",
           "disabled_probes", "collector", "settings_file"]

_VERSIONS = {"opentelemetry-api": ">=1.25", "opentelemetry-sdk": ">=1.25",
             "opentelemetry-exporter-otlp-proto-http": ">=1.25", "prometheus-client": ">=0.20"}
_REQ_HEADER = "# OpenTelemetry instrumentation (added by rq-obs instrument apply)"


@dataclass(frozen=True)
class Change:
    path: str  # relative to the project root
    old: str | None  # None: a new file
    new: str


def requirements_for(analysis: Analysis) -> list[str]:
    """Requirement lines for the packages the analysis found, with minimum versions."""
    return [p + _VERSIONS.get(p, ">=0.46b0") for p in analysis.packages]


def resolve_functions(analysis: Analysis, specs: Iterable[str], option: str = "--functions") -> list[Function]:
    """``name``, ``Class.method`` or ``path/to/file.py:name`` -> the one function it names."""
    out = []
    for spec in specs:
        file, _, qual = spec.rpartition(":")
        found = [f for f in analysis.functions if f.qualname == qual and (not file or f.file == file)]
        if not found:
            raise UsageError(f"{option} {spec!r}: no top-level function or method of that name in {analysis.root}")
        if len(found) > 1:
            where = ", ".join(f"{f.file}:{f.qualname}" for f in found)
            raise UsageError(f"{option} {spec!r} is ambiguous ({where}); write it as FILE:NAME")
        if found[0] not in out:
            out.append(found[0])
    return out


# --- libcst edits ---------------------------------------------------------------------


def _is_import(stmt) -> bool:
    import libcst as cst

    return isinstance(stmt, cst.SimpleStatementLine) and any(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)


def _is_docstring(stmt) -> bool:
    import libcst as cst

    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))


def _ensure_import(body: list, module: str, names: list[str]) -> list:
    import libcst as cst

    for i, stmt in enumerate(body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        node = stmt.body[0]
        if isinstance(node, cst.ImportFrom) and node.module is not None and not node.relative \
                and cst.Module([]).code_for_node(node.module) == module and not isinstance(node.names, cst.ImportStar):
            bound = {a.name.value for a in node.names if a.asname is None}  # `x as y` does not bind x
            if set(names) <= bound:
                return body
            have = {cst.Module([]).code_for_node(a.with_changes(comma=cst.MaybeSentinel.DEFAULT)): a.name.value
                    for a in node.names}
            have.update({n: n for n in names if n not in bound})
            merged = sorted(have, key=lambda code: (have[code], code))
            body[i] = stmt.with_changes(body=[cst.parse_statement(
                f"from {module} import {', '.join(merged)}\n").body[0]])
            return body
    new = cst.parse_statement(f"from {module} import {', '.join(sorted(names))}\n")
    last_import = max((i for i, s in enumerate(body) if _is_import(s)), default=None)
    if last_import is not None:
        at = last_import + 1
    else:
        at = 1 if body and _is_docstring(body[0]) else 0
    body.insert(at, new)
    return body


def _assigns_app(stmt, var: str) -> bool:
    import libcst as cst

    if not isinstance(stmt, cst.SimpleStatementLine) or not isinstance(stmt.body[0], cst.Assign):
        return False
    a = stmt.body[0]
    return (len(a.targets) == 1 and isinstance(a.targets[0].target, cst.Name) and a.targets[0].target.value == var
            and isinstance(a.value, cst.Call))


def _is_instrument_call(stmt) -> bool:
    import libcst as cst

    return (isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, cst.Call) and isinstance(stmt.body[0].value.func, cst.Name)
            and stmt.body[0].value.func.value == "instrument_app")


def _ensure_call(body: list, var: str) -> list:
    import libcst as cst

    if any(_is_instrument_call(s) for s in body):
        return body
    for i, stmt in enumerate(body):
        if _assigns_app(stmt, var):
            body.insert(i + 1, cst.parse_statement(f"instrument_app({var})\n"))
            return body
    raise UsageError(f"could not find `{var} = ...(...)` to instrument")


def _decorate(fn, name: str):
    import libcst as cst

    if any(isinstance(d.decorator, cst.Name) and d.decorator.value == name for d in fn.decorators):
        return fn
    return fn.with_changes(decorators=[*fn.decorators, cst.Decorator(decorator=cst.Name(name))])


def _decorate_all(fn, qualname: str, decorators: dict[str, set[str]]):
    for name in ("traced", "profiled"):  # this order: @profiled innermost when both are new
        if qualname in decorators.get(name, ()):
            fn = _decorate(fn, name)
    return fn


def _edit_file(source: str, *, import_module: str, names: list[str], app_var: str | None = None,
               app_function: str | None = None, decorate: Iterable[str] = (), profile: Iterable[str] = ()) -> str:
    import libcst as cst

    module = django_project.parse(source)
    body = list(module.body)
    decorators = {"traced": set(decorate), "profiled": set(profile)}
    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.FunctionDef):
            body[i] = stmt = _decorate_all(stmt, stmt.name.value, decorators)
            if app_var and app_function == stmt.name.value:
                inner = _ensure_call(list(stmt.body.body), app_var)
                body[i] = stmt.with_changes(body=stmt.body.with_changes(body=inner))
        elif isinstance(stmt, cst.ClassDef) and isinstance(stmt.body, cst.IndentedBlock):
            members = list(stmt.body.body)
            changed = False
            for j, m in enumerate(members):
                if isinstance(m, cst.FunctionDef):
                    new = _decorate_all(m, f"{stmt.name.value}.{m.name.value}", decorators)
                    if new is not m:
                        members[j] = new
                        changed = True
            if changed:
                body[i] = stmt.with_changes(body=stmt.body.with_changes(body=members))
    if app_var and app_function is None:
        body = _ensure_call(body, app_var)
    if names:
        body = _ensure_import(body, import_module, names)
    return module.with_changes(body=body).code


# --- dependencies ---------------------------------------------------------------------


def _req_name(line: str) -> str:
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
    return re.sub(r"[-_.]+", "-", m.group(1)).lower() if m and not line.lstrip().startswith(("#", "-")) else ""


def _dependency_change(root: Path, reqs: list[str]) -> tuple[str, str | None, str] | None:
    req_file = root / "requirements.txt"
    pyproject = root / "pyproject.toml"
    if req_file.is_file() or not pyproject.is_file():
        old = req_file.read_text(encoding="utf-8") if req_file.is_file() else None
        have = {_req_name(l) for l in (old or "").splitlines()}
        missing = [r for r in reqs if _req_name(r) not in have]
        if not missing:
            return None
        new = (old or "")
        if new and not new.endswith("\n"):
            new += "\n"
        new += ("\n" if new else "") + _REQ_HEADER + "\n" + "".join(r + "\n" for r in missing)
        return "requirements.txt", old, new
    old = pyproject.read_text(encoding="utf-8")
    new = _pyproject_add(old, reqs)
    if new is None:
        raise UsageError(f"{pyproject}: no [project] dependencies array to add to (Poetry or dynamic dependencies?); "
                         f"add these yourself: {', '.join(reqs)}")
    return (None if new == old else ("pyproject.toml", old, new))


def _pyproject_add(text: str, reqs: list[str]) -> str | None:
    """Add ``reqs`` to ``[project].dependencies``, editing only that array's text."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    data = tomllib.loads(text)
    deps = (data.get("project") or {}).get("dependencies")
    if deps is None:
        return None
    have = {_req_name(d) for d in deps}
    missing = [r for r in reqs if _req_name(r) not in have]
    if not missing:
        return text
    section = re.search(r"(?m)^\[project\]\s*$", text)
    m = re.compile(r"(?ms)^dependencies\s*=\s*\[(.*?)\]").search(text, section.end()) if section else None
    if m is None:
        return None
    inner = m.group(1)
    if "\n" in inner:
        item_indent = re.search(r"\n([ \t]*)\S", inner)
        pad = item_indent.group(1) if item_indent else "  "
        stripped = inner.rstrip()
        sep = "" if not stripped.strip() or stripped.endswith(",") else ","
        new_inner = stripped + sep + "".join(f'\n{pad}"{r}",' for r in missing) + "\n"
    else:
        items = [x for x in (inner.strip().rstrip(","),) if x]
        new_inner = ", ".join(items + [f'"{r}"' for r in missing])
    out = text[:m.start(1)] + new_inner + text[m.end(1):]
    check = tomllib.loads(out)["project"]["dependencies"]
    if [_req_name(d) for d in check] != [_req_name(d) for d in deps] + [_req_name(r) for r in missing]:
        return None
    return out


# --- the plan -------------------------------------------------------------------------

#: setting -> the path it serves; an app that already routes a path keeps it (the setting is None)
PROBES = (("metrics_path", "/metrics"), ("health_path", "/health"), ("ready_path", "/ready"))


def disabled_probes(existing_paths: set[str]) -> frozenset[str]:
    return frozenset(k for k, p in PROBES if p in existing_paths)


def collector(root: Path) -> tuple[list[Change], Callable[[str, str], None]]:
    """A change list and ``add(rel, new_text)``, which records a change only when the text differs."""
    changes: list[Change] = []

    def add(rel: str, new: str) -> None:
        p = Path(root) / rel
        old = p.read_text(encoding="utf-8") if p.is_file() else None
        if old != new:
            changes.append(Change(rel, old, new))

    return changes, add


def settings_file(path: Path, **given) -> tuple[dict | None, str | None]:
    """The user's settings file (None when absent) with the options given on the command line applied
    (None values are not given), and the file's new text when they change it (else None)."""
    if not path.is_file():
        return None, None
    import json

    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(cfg, dict):
        raise UsageError(f"{path}: expected a JSON object of settings")
    update = {k: v for k, v in given.items() if v is not None and cfg.get(k) != v}
    merged = {**cfg, **update}
    return merged, (json.dumps(merged, indent=2, sort_keys=True) + "\n" if update else None)



def plan(root: Path, analysis: Analysis, *, service_name: str | None = None,
         functions: Iterable[str] = (), profile: Iterable[str] = (), sampling_rate: float | None = None
         ) -> tuple[Change, ...]:
    """Every file change instrumentation needs (only files whose text would change)."""
    root = Path(root)
    apps = [a for a in analysis.apps if a.framework in ("fastapi", "flask")]
    layout = None
    if apps:
        app = apps[0]
        framework = app.framework
        pkg_dir = app.file.rpartition("/")[0]
        gen_rel = f"{pkg_dir + '/' if pkg_dir else ''}{template.MODULE_STEM}.py"
        gen_module = module_name(gen_rel)
        ours: frozenset[str] = frozenset()
    elif analysis.framework == "django":
        app = None
        framework = "django"
        layout = django_project.find_layout(root)
        gen_rel = layout.rel(f"{template.MODULE_STEM}.py")
        gen_module = layout.module(gen_rel)
        ours = frozenset(django_project.VIEWS.values())
    else:
        raise UsageError(f"{root}: no FastAPI or Flask app found (looked for `app = FastAPI(...)` or `app = Flask(...)`) "
                         "and no Django project (settings with INSTALLED_APPS)")
    cfg_rel = gen_rel.rpartition("/")[0] + "/" + template.CONFIG_NAME if "/" in gen_rel else template.CONFIG_NAME
    service = service_name or (root.resolve().name or "app")
    existing_paths = {e.path for e in analysis.endpoints if e.file != gen_rel and e.function not in ours}
    if framework == "django":  # with APPEND_SLASH, a route "metrics/" also answers /metrics
        existing_paths |= {p.rstrip("/") for p in existing_paths if p != "/"}
    disabled = disabled_probes(existing_paths)
    checks, seen = [], set()
    for c in analysis.clients:
        if c.variable and c.kind in ("sqlalchemy", "redis"):
            # Django's own databases are checked as database, database_<alias>
            name = "cache" if c.kind == "redis" else ("sqlalchemy" if framework == "django" else "database")
            if name not in seen:
                seen.add(name)
                checks.append(template.Check(name, c.kind, layout.module(c.file) if layout else module_name(c.file),
                                             c.variable))
    kinds = sorted({c.kind for c in analysis.clients})

    changes, add = collector(root)
    gen_path = root / gen_rel
    if gen_path.is_file() and not gen_path.read_text(encoding="utf-8").startswith(template.MARKER):
        raise UsageError(f"{gen_path} exists and was not generated by rq-obs; move it away to instrument this app")
    cfg_path = root / cfg_rel
    rate = 1.0 if sampling_rate is None else sampling_rate
    settings = template.defaults(service, disabled, rate)
    cfg, new_cfg = settings_file(cfg_path, service_name=service_name, sampling_rate=sampling_rate)
    if cfg is not None:  # the user's settings win; the module defaults follow them
        service = cfg.get("service_name") or service
        settings = {**settings, **cfg}
        rate = cfg.get("sampling_rate", rate)
        if new_cfg:
            add(cfg_rel, new_cfg)
    add(gen_rel, template.render_module(framework, service, checks, kinds, disabled, rate))
    if not cfg_path.is_file():
        add(cfg_rel, template.render_config(service, disabled, rate))

    by_file: dict[str, list[str]] = {}
    profile_by_file: dict[str, list[str]] = {}
    for option, specs, into in (("--functions", functions, by_file), ("--profile", profile, profile_by_file)):
        for f in resolve_functions(analysis, specs, option):
            if f.file == gen_rel:
                raise UsageError(f"{option} {f.qualname}: that is in the generated module")
            into.setdefault(f.file, []).append(f.qualname)
    if layout is not None:
        routes = [(django_project.route_of(settings[k]), view) for k, view in django_project.VIEWS.items()
                  if settings.get(k)]
        edited = {layout.settings, layout.urls, *by_file, *profile_by_file}
    else:
        edited = {app.file, *by_file, *profile_by_file}
    for rel in sorted(edited):
        p = root / rel
        src = p.read_text(encoding="utf-8")
        names = (["traced"] if rel in by_file else []) + (["profiled"] if rel in profile_by_file else [])
        try:
            if layout is None:
                names = (["instrument_app"] if rel == app.file else []) + names
                new = _edit_file(src, import_module=gen_module, names=names,
                                 app_var=app.variable if rel == app.file else None,
                                 app_function=app.function if rel == app.file else None,
                                 decorate=by_file.get(rel, ()), profile=profile_by_file.get(rel, ()))
            else:
                new = src
                if rel == layout.settings:
                    new = django_project.add_installed_app(new, f"{gen_module}.{django_project.APP_CONFIG}")
                if rel == layout.urls:
                    new = django_project.add_url_routes(new, routes)
                    if routes:
                        new = _edit_file(new, import_module="django.urls", names=["path"])
                    names = sorted({*names, *(v for _, v in routes)})
                new = _edit_file(new, import_module=gen_module, names=names, decorate=by_file.get(rel, ()),
                                 profile=profile_by_file.get(rel, ()))
        except UsageError as exc:
            raise UsageError(f"{p}: {exc}") from None
        add(rel, new)

    dep = _dependency_change(root, requirements_for(analysis))
    if dep:
        changes.append(Change(*dep))
    return tuple(changes)


def unified_diff(changes: Iterable[Change]) -> str:
    out = []
    for c in changes:
        out.extend(difflib.unified_diff(
            (c.old or "").splitlines(keepends=True), c.new.splitlines(keepends=True),
            fromfile="/dev/null" if c.old is None else f"a/{c.path}", tofile=f"b/{c.path}"))
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in out)


def write(root: Path, changes: Iterable[Change]) -> None:
    for c in changes:
        p = Path(root) / c.path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(c.new, encoding="utf-8")
        if c.old is None and c.new.startswith("#!"):  # a generated launch script
            p.chmod(0o755)
