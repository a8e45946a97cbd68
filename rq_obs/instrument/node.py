"""Instrument a Node.js (Express) service the OpenTelemetry JavaScript way: nothing in the app's code changes.

Analysis reads ``package.json`` (framework, entry point, clients from the dependencies) and scans the
JavaScript/TypeScript sources with regular expressions for route registrations (``app.get('/x', ...)``,
``router.post(...)``, mounts ``app.use('/api', router)``) and client imports. It is a best-effort static
scan, not a parser: routes built at run time (loops, computed paths) are not listed.

``apply`` plans, all idempotent (a second apply plans nothing):

- ``rq-obs-instrumentation.cjs`` (generated from a jinja2 template; only rewritten when it carries the
  marker): the OpenTelemetry Node SDK with the HTTP and Express instrumentations, OTLP/HTTP export,
  a parent-based ratio sampler, and Prometheus metrics (prom-client) with the catalogue's HTTP server
  metric names and labels, ``/metrics``, ``/health`` and ``/ready`` answered before the app sees them;
- ``rq-obs-instrumentation.json`` (settings; kept once it exists, the user's to edit);
- ``package.json``: the start script loads the module with ``node --require`` (or ``NODE_OPTIONS``
  when the script does not start with ``node``), and the dependencies, pinned to exact versions.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rq_obs.catalog import M
from rq_obs.errors import InputError, UsageError
from rq_obs.instrument.analyze import SKIP_DIRS, Analysis, AppObject, Client, Endpoint
from rq_obs.instrument.template import MARKER

__all__ = ["is_node_project", "analyze", "plan", "MODULE_FILE", "CONFIG_FILE", "PACKAGES"]

MODULE_FILE = "rq-obs-instrumentation.cjs"
CONFIG_FILE = "rq-obs-instrumentation.json"

#: npm packages the generated module requires, pinned to versions that install and work together
#: (the OpenTelemetry JS 3.x SDK line with @opentelemetry/api 1.10), checked by the test suite.
PACKAGES = {
    "@opentelemetry/api": "1.10.0",
    "@opentelemetry/exporter-trace-otlp-proto": "0.301.2",
    "@opentelemetry/instrumentation-http": "0.301.2",
    "@opentelemetry/resources": "3.1.1",
    "@opentelemetry/sdk-node": "0.301.2",
    "@opentelemetry/sdk-trace": "3.1.1",
    "prom-client": "15.1.3",
}
FRAMEWORK_PACKAGES = {"express": {"@opentelemetry/instrumentation-express": "0.72.0"}}
FRAMEWORKS = ("express", "fastify", "@nestjs/core", "koa")
#: dependency name -> client kind shown by analyze
CLIENTS = {"pg": "pg", "mysql2": "mysql2", "redis": "redis", "ioredis": "ioredis", "mongodb": "mongodb",
           "undici": "undici", "axios": "axios"}
_SOURCE_SUFFIXES = (".js", ".cjs", ".mjs", ".ts", ".cts", ".mts")
_STR = r"""(?P<q>['"`])(?P<path>(?:(?!(?P=q))[^\\\n]|\\.)*)(?P=q)"""
_ROUTE = re.compile(r"\b([A-Za-z_$][\w$]*)\s*\.\s*(get|post|put|patch|delete|head|options|all)\s*\(\s*" + _STR)
_ROUTE_CHAIN = re.compile(r"\b([A-Za-z_$][\w$]*)\s*\.\s*route\s*\(\s*" + _STR + r"\s*\)(?P<chain>(?:\s*\.\s*\w+\s*\([^()]*(?:\([^()]*\)[^()]*)*\))+)")
_MOUNT = re.compile(r"\b([A-Za-z_$][\w$]*)\s*\.\s*use\s*\(\s*" + _STR + r"\s*,\s*(?P<router>[A-Za-z_$][\w$]*)\s*[,)]")
_APP = re.compile(r"\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(express|fastify|Fastify|Koa|new\s+Koa)\s*\(")
_REQUIRE = re.compile(r"""(?:require\s*\(\s*|\bfrom\s+|\bimport\s+)(['"])([@\w./-]+)\1""")
_NODE_CMD = re.compile(r"^node(\s+.*)?$")
_TITLE = {"express": "Express", "fastify": "Fastify", "@nestjs/core": "NestJS", "koa": "Koa"}


def is_node_project(root: Path) -> bool:
    return (Path(root) / "package.json").is_file()


def _read_package(root: Path) -> tuple[dict, str]:
    path = Path(root) / "package.json"
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object at the top")
    for key in ("dependencies", "devDependencies", "scripts"):
        if key in data and not isinstance(data[key], dict):
            raise InputError(f"{path}: field {key!r} must be an object, got {type(data[key]).__name__}")
    return data, text


def source_files(root: Path) -> list[Path]:
    out = []
    for p in sorted(Path(root).rglob("*")):
        if not p.name.endswith(_SOURCE_SUFFIXES) or not p.is_file() or p.name == MODULE_FILE:
            continue
        rel = p.relative_to(root).parts
        if any(part in SKIP_DIRS or part.startswith(".") for part in rel[:-1]):
            continue
        out.append(p)
    return out


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _entry(pkg: dict, root: Path) -> str | None:
    start = pkg.get("scripts", {}).get("start", "")
    m = _NODE_CMD.match(start.strip()) if isinstance(start, str) else None
    if m and m.group(1):
        args = [a for a in m.group(1).split() if not a.startswith("-")]
        if args:
            return args[0]
    main = pkg.get("main")
    if isinstance(main, str) and main:
        return main
    for name in ("server.js", "app.js", "index.js", "main.js"):
        if (root / name).is_file():
            return name
    return None


def analyze(root: Path) -> Analysis:
    """Framework, entry point, routes and clients of the Node.js project at ``root``."""
    root = Path(root)
    pkg, _ = _read_package(root)
    deps = {**pkg.get("devDependencies", {}), **pkg.get("dependencies", {})}
    frameworks = tuple(f for f in FRAMEWORKS if f in pkg.get("dependencies", {}) or f in deps)
    files = source_files(root)
    apps, clients, raw_routes, mounts = [], [], [], {}
    for p in files:
        rel = p.relative_to(root).as_posix()
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{p}: not UTF-8 text") from None
        for m in _APP.finditer(text):
            kind = {"express": "express", "fastify": "fastify", "Fastify": "fastify"}.get(m.group(2), "koa")
            apps.append(AppObject(rel, m.group(1), kind, _line(text, m.start()), None))
        for m in _ROUTE.finditer(text):
            raw_routes.append((rel, m.group(1), (m.group(2).upper(),), m.group("path"), _line(text, m.start())))
        for m in _ROUTE_CHAIN.finditer(text):
            methods = tuple(sorted({x.upper() for x in re.findall(r"\.\s*(get|post|put|patch|delete|all)\s*\(", m.group("chain"))}))
            raw_routes.append((rel, m.group(1), methods or ("ALL",), m.group("path"), _line(text, m.start())))
        for m in _MOUNT.finditer(text):
            mounts[m.group("router")] = m.group("path")
        seen = set()
        for m in _REQUIRE.finditer(text):
            name = m.group(2)
            if name in CLIENTS and name not in seen:
                seen.add(name)
                clients.append(Client(rel, CLIENTS[name], _line(text, m.start()), None))
    for dep in sorted(deps):
        if dep in CLIENTS and not any(c.kind == CLIENTS[dep] for c in clients):
            clients.append(Client("package.json", CLIENTS[dep], 0, None))

    endpoints = []
    for rel, var, methods, path, line in raw_routes:
        if methods == ("GET",) and not path.startswith("/"):  # app.get('setting') reads a setting
            continue
        full = (mounts.get(var, "").rstrip("/") + path) if var in mounts else path
        endpoints.append(Endpoint(rel, var, methods, full or "/", line, False))
    declared = [{"@nestjs/core": "nestjs"}.get(f, f) for f in frameworks]  # package.json decides
    framework = next((a.framework for a in apps if a.framework in declared), declared[0] if declared else None)
    entry = _entry(pkg, root)
    packages = {**PACKAGES, **FRAMEWORK_PACKAGES.get(framework or "", {})}
    return Analysis(
        root=str(root), language="javascript", framework=framework, frameworks=frameworks, files=len(files),
        apps=tuple(apps), entry_points=(entry,) if entry else (), endpoints=tuple(endpoints),
        clients=tuple(sorted(set(clients), key=lambda c: (c.file, c.line, c.kind))),
        async_functions=(), functions=(),
        packages=tuple(f"{name}@{version}" for name, version in sorted(packages.items())),
    )


def defaults(service_name: str, sampling_rate: float, disabled: frozenset[str] = frozenset()) -> dict:
    from rq_obs.instrument import template

    return template.defaults(service_name, disabled, sampling_rate)  # the same settings as a Python app's


def render_module(framework: str, service_name: str, sampling_rate: float,
                  disabled: frozenset[str] = frozenset()) -> str:
    from rq_obs.textrender import render

    h, a = M.HTTP_SERVER_DURATION, M.HTTP_SERVER_ACTIVE
    return render("instrument/templates/node_instrumentation.cjs.j2",
                  marker="// " + MARKER.lstrip("# "), framework=framework,
                  framework_title=_TITLE.get(framework, "Node.js"), module_file=MODULE_FILE, config_file=CONFIG_FILE,
                  defaults_json=json.dumps(defaults(service_name, sampling_rate, disabled), sort_keys=True),
                  buckets_json=json.dumps(list(h.buckets)), http_duration=h.name, http_active=a.name,
                  http_duration_help_json=json.dumps(h.help), http_active_help_json=json.dumps(a.help),
                  http_duration_labels_json=json.dumps(list(h.labels)),
                  http_active_labels_json=json.dumps(list(a.labels)))


def _indent_of(text: str) -> int | str:
    m = re.search(r"\n([ \t]+)\S", text)
    if not m:
        return 2
    ws = m.group(1)
    return "\t" if ws.startswith("\t") else len(ws)


def _start_script(start: str | None, entry: str | None, path: Path) -> str:
    preload = f"--require ./{MODULE_FILE}"
    if start and MODULE_FILE in start:
        return start
    if start:
        m = _NODE_CMD.match(start.strip())
        if m:
            return f"node {preload}{m.group(1) or ''}"
        return f"NODE_OPTIONS=\"{preload}\" {start}"
    if entry:
        return f"node {preload} {entry}"
    raise UsageError(f"{path}: no scripts.start and no main (or server.js/app.js/index.js) to start the app with; "
                     "add a start script")


def plan(root: Path, analysis: Analysis, *, service_name: str | None = None,
         sampling_rate: float | None = None):
    """Every file change instrumentation of the Node.js project needs (only files whose text would change)."""
    from rq_obs.instrument.apply import collector, disabled_probes, settings_file

    root = Path(root)
    if analysis.framework != "express":
        found = analysis.framework or "no web framework"
        raise UsageError(f"{root / 'package.json'}: found {found}; rq-obs instruments Express apps "
                         "(a dependency on express)")
    pkg, pkg_text = _read_package(root)
    changes, add = collector(root)
    gen = root / MODULE_FILE
    if gen.is_file() and MARKER.lstrip("# ") not in gen.read_text(encoding="utf-8").splitlines()[0]:
        raise UsageError(f"{gen} exists and was not generated by rq-obs; move it away to instrument this app")
    disabled = disabled_probes({e.path for e in analysis.endpoints})
    service = service_name or pkg.get("name") or root.resolve().name or "app"
    rate = 1.0 if sampling_rate is None else sampling_rate
    cfg, new_cfg = settings_file(root / CONFIG_FILE, service_name=service_name, sampling_rate=sampling_rate)
    if cfg is not None:  # the user's settings win
        service, rate = cfg.get("service_name") or service, cfg.get("sampling_rate", rate)
        if new_cfg:
            add(CONFIG_FILE, new_cfg)
    else:
        add(CONFIG_FILE, json.dumps(defaults(service, rate, disabled), indent=2, sort_keys=True) + "\n")
    add(MODULE_FILE, render_module(analysis.framework, service, rate, disabled))

    new_pkg = dict(pkg)
    scripts = dict(pkg.get("scripts", {}))
    entry = analysis.entry_points[0] if analysis.entry_points else None
    scripts["start"] = _start_script(scripts.get("start"), entry, root / "package.json")
    new_pkg["scripts"] = scripts
    deps = dict(pkg.get("dependencies", {}))
    for spec in analysis.packages:
        name, _, version = spec.rpartition("@")
        deps.setdefault(name, version)
    new_pkg["dependencies"] = dict(sorted(deps.items()))
    if new_pkg != pkg:
        add("package.json", json.dumps(new_pkg, indent=_indent_of(pkg_text), ensure_ascii=False) + "\n")
    return tuple(changes)
