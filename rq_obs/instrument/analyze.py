"""Static analysis of a Python code base (stdlib ``ast``; nothing is imported or run).

Finds the web framework (FastAPI, Flask, Django), where the app object is created, the endpoints,
database and cache clients (SQLAlchemy, psycopg, redis), async functions, every top-level function
and method (candidates for ``--functions``), and the OpenTelemetry packages instrumentation needs.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass
from pathlib import Path

from rq_obs.errors import InputError, UsageError

__all__ = ["Analysis", "AppObject", "Endpoint", "Client", "Function", "analyze", "python_files", "SKIP_DIRS",
           "module_name"]

SKIP_DIRS = frozenset({".git", ".hg", ".venv", "venv", "env", ".tox", ".nox", "node_modules", "__pycache__",
                       "build", "dist", "site-packages", ".mypy_cache", ".pytest_cache", ".rq-obs"})

#: import root -> (framework, instrumentation package)
FRAMEWORKS = {"fastapi": "opentelemetry-instrumentation-fastapi", "flask": "opentelemetry-instrumentation-flask",
              "django": "opentelemetry-instrumentation-django"}
#: import root -> (client kind, instrumentation package)
CLIENTS = {"sqlalchemy": ("sqlalchemy", "opentelemetry-instrumentation-sqlalchemy"),
           "psycopg": ("psycopg", "opentelemetry-instrumentation-psycopg"),
           "psycopg2": ("psycopg2", "opentelemetry-instrumentation-psycopg2"),
           "redis": ("redis", "opentelemetry-instrumentation-redis")}
BASE_PACKAGES = ("opentelemetry-api", "opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http", "prometheus-client")
_APP_CLASSES = {"FastAPI": "fastapi", "Flask": "flask"}
_ROUTE_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "route", "api_route", "websocket"}


@dataclass(frozen=True)
class AppObject:
    file: str  # relative to the project root, '/' separated
    variable: str
    framework: str
    line: int
    function: str | None  # the factory function creating it, None at module level


@dataclass(frozen=True)
class Endpoint:
    file: str
    function: str
    methods: tuple[str, ...]
    path: str
    line: int
    is_async: bool


@dataclass(frozen=True)
class Client:
    file: str
    kind: str  # sqlalchemy | psycopg | psycopg2 | redis
    line: int
    variable: str | None  # module-level engine/client variable usable for a readiness check


@dataclass(frozen=True)
class Function:
    file: str
    qualname: str  # name or Class.method
    line: int
    is_async: bool


@dataclass(frozen=True)
class Analysis:
    root: str
    language: str
    framework: str | None
    frameworks: tuple[str, ...]
    files: int
    apps: tuple[AppObject, ...]
    entry_points: tuple[str, ...]  # files run as programs (__main__ guard, manage.py, wsgi/asgi)
    endpoints: tuple[Endpoint, ...]
    clients: tuple[Client, ...]
    async_functions: tuple[Function, ...]
    functions: tuple[Function, ...]
    packages: tuple[str, ...]  # OpenTelemetry (and metrics) packages the project needs

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("functions")
        return d


def python_files(root: Path) -> list[Path]:
    out = []
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root).parts
        if any(part in SKIP_DIRS or part.endswith(".egg-info") for part in rel[:-1]):
            continue
        out.append(p)
    return out


def module_name(rel: str) -> str:
    """``app/main.py`` -> ``app.main``; ``app/__init__.py`` -> ``app``."""
    parts = rel[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _str(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


class _FileScan(ast.NodeVisitor):
    def __init__(self, rel: str):
        self.rel = rel
        self.imports: dict[str, int] = {}  # import root -> first line
        self.apps: list[AppObject] = []
        self.endpoints: list[Endpoint] = []
        self.clients: list[Client] = []
        self.functions: list[Function] = []
        self.main_guard = False
        self._stack: list[str] = []  # enclosing class/function names

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.imports.setdefault(a.name.split(".")[0], node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and node.level == 0:
            self.imports.setdefault(node.module.split(".")[0], node.lineno)

    def visit_If(self, node: ast.If) -> None:
        t = node.test
        if (not self._stack and isinstance(t, ast.Compare) and _dotted(t.left) == "__name__"
                and any(_str(c) == "__main__" for c in t.comparators)):
            self.main_guard = True
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call):
            var = node.targets[0].id
            callee = _dotted(node.value.func)
            last = callee.rsplit(".", 1)[-1]
            depth_ok = len(self._stack) <= 1 and not any(s.startswith("class ") for s in self._stack)
            if last in _APP_CLASSES and depth_ok:
                self.apps.append(AppObject(self.rel, var, _APP_CLASSES[last], node.lineno,
                                           self._stack[0] if self._stack else None))
            module_level = not self._stack
            if last in ("create_engine",) and "sqlalchemy" in self.imports:
                self.clients.append(Client(self.rel, "sqlalchemy", node.lineno, var if module_level else None))
            elif (last in ("Redis", "StrictRedis", "from_url") and "redis" in self.imports
                  and (callee.startswith(("redis.", "Redis", "StrictRedis")))):
                self.clients.append(Client(self.rel, "redis", node.lineno, var if module_level else None))
        self.generic_visit(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        is_async = isinstance(node, ast.AsyncFunctionDef)
        classes = [s[6:] for s in self._stack if s.startswith("class ")]
        if len(self._stack) == 0 or (len(self._stack) == 1 and classes):
            qual = ".".join([*classes, node.name])
            self.functions.append(Function(self.rel, qual, node.lineno, is_async))
        for dec in node.decorator_list:
            if not isinstance(dec, ast.Call) or not isinstance(dec.func, ast.Attribute):
                continue
            method = dec.func.attr
            if method not in _ROUTE_METHODS:
                continue
            path = _str(dec.args[0]) if dec.args else _str(next((k.value for k in dec.keywords if k.arg in ("path", "rule")), None))
            if path is None:
                continue
            if method in ("route", "api_route"):
                kw = next((k.value for k in dec.keywords if k.arg == "methods"), None)
                methods = tuple(sorted(_str(e) or "?" for e in kw.elts)) if isinstance(kw, (ast.List, ast.Tuple)) else ("GET",)
            else:
                methods = (method.upper(),)
            self.endpoints.append(Endpoint(self.rel, node.name, methods, path, node.lineno, is_async))
        self._stack.append(node.name)
        self.generic_visit(node)
        self._stack.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._stack.append("class " + node.name)
        self.generic_visit(node)
        self._stack.pop()

    def visit_Call(self, node: ast.Call) -> None:
        # Django URLconf: path("items/", views.items) / re_path(...)
        if self.rel.endswith("urls.py") and _dotted(node.func).rsplit(".", 1)[-1] in ("path", "re_path") and node.args:
            route = _str(node.args[0])
            arg = node.args[1] if len(node.args) > 1 else None
            view = _dotted(arg) if arg is not None else ""
            if isinstance(arg, ast.Call) and _dotted(arg.func).endswith(".as_view"):  # a class-based view
                view = _dotted(arg.func)
            if route is not None and view:
                self.endpoints.append(Endpoint(self.rel, view, ("ANY",), "/" + route.lstrip("^"), node.lineno, False))
        self.generic_visit(node)


def analyze(root: Path) -> Analysis:
    """Analyse the project at ``root`` (a directory or a single .py file's directory)."""
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root}: not a directory")
    files = python_files(root)
    if not files:
        raise InputError(f"{root}: no Python files found (only Python code bases can be analysed)")
    imports: dict[str, list[str]] = {}
    apps, endpoints, clients, functions, entry = [], [], [], [], []
    for p in files:
        rel = p.relative_to(root).as_posix()
        try:
            tree = ast.parse(p.read_text(encoding="utf-8"), filename=str(p))
        except (SyntaxError, UnicodeDecodeError) as exc:
            raise InputError(f"{p}: cannot be parsed as Python ({exc})") from None
        scan = _FileScan(rel)
        scan.visit(tree)
        for name in scan.imports:
            imports.setdefault(name, []).append(rel)
        for kind in ("psycopg", "psycopg2"):
            if kind in scan.imports:
                clients.append(Client(rel, kind, scan.imports[kind], None))
        if "sqlalchemy" in scan.imports and not any(c.kind == "sqlalchemy" for c in scan.clients):
            clients.append(Client(rel, "sqlalchemy", scan.imports["sqlalchemy"], None))
        if "redis" in scan.imports and not any(c.kind == "redis" for c in scan.clients):
            clients.append(Client(rel, "redis", scan.imports["redis"], None))
        apps += scan.apps
        endpoints += scan.endpoints
        clients += scan.clients
        functions += scan.functions
        if scan.main_guard or p.name in ("manage.py", "wsgi.py", "asgi.py"):
            entry.append(rel)
    frameworks = tuple(f for f in FRAMEWORKS if f in imports)
    framework = next((a.framework for a in apps), frameworks[0] if frameworks else None)
    packages = set(BASE_PACKAGES)
    packages.update(FRAMEWORKS[f] for f in frameworks)
    packages.update(CLIENTS[c.kind][1] for c in clients)
    return Analysis(
        root=str(root), language="python", framework=framework, frameworks=frameworks, files=len(files),
        apps=tuple(apps), entry_points=tuple(sorted(set(entry))),
        endpoints=tuple(endpoints), clients=tuple(sorted(set(clients), key=lambda c: (c.file, c.line, c.kind))),
        async_functions=tuple(f for f in functions if f.is_async), functions=tuple(functions),
        packages=tuple(sorted(packages)),
    )


def render_text(a: Analysis) -> str:
    lines = [f"language: {a.language} ({a.files} files)",
             f"framework: {a.framework or 'none'}" + (f" (also imports {', '.join(a.frameworks)})" if len(a.frameworks) > 1 else "")]
    for app in a.apps:
        where = f" in {app.function}()" if app.function else ""
        lines.append(f"app: {app.file}:{app.line} {app.variable} = {app.framework}{where}")
    lines.append(f"entry points: {', '.join(a.entry_points) or 'none'}")
    lines.append(f"endpoints ({len(a.endpoints)}):")
    lines += [f"  {','.join(e.methods):6} {e.path:24} {e.file}:{e.line} {'async ' if e.is_async else ''}{e.function}"
              for e in a.endpoints]
    lines.append(f"database and cache clients ({len(a.clients)}):")
    lines += [f"  {c.kind:10} {c.file}:{c.line}" + (f" ({c.variable})" if c.variable else "") for c in a.clients]
    lines.append(f"async functions ({len(a.async_functions)}):")
    lines += [f"  {f.file}:{f.line} {f.qualname}" for f in a.async_functions]
    lines.append("packages needed:")
    lines += [f"  {p}" for p in a.packages]
    return "\n".join(lines) + "\n"
