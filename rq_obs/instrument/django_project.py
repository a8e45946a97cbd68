"""Django projects: find the settings module and the root URLconf, and edit both with libcst.

Two edits, both idempotent and keeping every other byte of the file:

- settings: ``"<pkg>.rq_obs_instrumentation.RqObsConfig"`` appended to ``INSTALLED_APPS`` (its
  ``ready()`` starts the instrumentation; see the generated module's docstring for why there);
- root URLconf: ``path("metrics", rq_obs_metrics, name="rq_obs_metrics")`` (and health, ready)
  inserted at the top of the ``urlpatterns = [...]`` list, so that no catch-all route listed
  earlier shadows them. When ``urlpatterns`` is not a list literal (``i18n_patterns(...)``, a sum
  of names), a statement ``urlpatterns = [<the paths>, *urlpatterns]`` follows its assignment;
  the same goes for ``INSTALLED_APPS = DJANGO_APPS + LOCAL_APPS``.

New string literals use the quote character the edited list already uses.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from rq_obs.errors import UsageError
from rq_obs.instrument.analyze import module_name

__all__ = ["DjangoLayout", "find_layout", "add_installed_app", "add_url_routes", "APP_CONFIG", "VIEWS"]

#: the AppConfig class in the generated module that INSTALLED_APPS names
APP_CONFIG = "RqObsConfig"
#: settings key -> view function in the generated module
VIEWS = {"metrics_path": "rq_obs_metrics", "health_path": "rq_obs_health", "ready_path": "rq_obs_ready"}


@dataclass(frozen=True)
class DjangoLayout:
    settings: str  # the settings file apply edits, relative to the project root
    urls: str  # the root URLconf file
    base: str  # the directory on sys.path when the project runs (manage.py's; '' = the project root)
    package: str  # dotted package holding the root URLconf ('' when it is a top-level module)

    def rel(self, name: str) -> str:
        """Project-relative path of ``name`` in the URLconf's package."""
        parts = [p for p in (self.base, self.package.replace(".", "/"), name) if p]
        return "/".join(parts)

    def module(self, rel: str) -> str:
        """Dotted module name of the project file ``rel`` as imported at run time."""
        inner = rel[len(self.base) + 1:] if self.base else rel
        return module_name(inner)


def _module_assign(tree: ast.Module, name: str) -> ast.Assign | None:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node
    return None


def _settings_module_from(tree: ast.Module) -> str | None:
    """``os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x.settings")`` anywhere in the file."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "setdefault"
                and len(node.args) == 2 and all(isinstance(a, ast.Constant) for a in node.args)
                and node.args[0].value == "DJANGO_SETTINGS_MODULE" and isinstance(node.args[1].value, str)):
            return node.args[1].value
    return None


def _module_file(root: Path, base: str, dotted: str) -> str | None:
    stem = "/".join(p for p in (base, dotted.replace(".", "/")) if p)
    for rel in (stem + ".py", stem + "/__init__.py"):
        if (root / rel).is_file():
            return rel
    return None


def find_layout(root: Path) -> DjangoLayout:
    """The settings module (the one ``manage.py`` names, else the only one assigning ``INSTALLED_APPS``)
    and the root URLconf (its ``ROOT_URLCONF``)."""
    from rq_obs.instrument.analyze import python_files

    installed: list[str] = []  # files assigning INSTALLED_APPS at module level
    urlconfs: dict[str, str] = {}  # file -> ROOT_URLCONF value
    named: list[tuple[str, str]] = []  # (manage.py/wsgi.py/asgi.py file, DJANGO_SETTINGS_MODULE)
    for p in python_files(root):
        text = p.read_text(encoding="utf-8")
        if not any(k in text for k in ("INSTALLED_APPS", "ROOT_URLCONF", "DJANGO_SETTINGS_MODULE")):
            continue
        rel = p.relative_to(root).as_posix()
        tree = ast.parse(text, filename=str(p))  # analyze() parsed every file already
        if _module_assign(tree, "INSTALLED_APPS"):
            installed.append(rel)
        conf = _module_assign(tree, "ROOT_URLCONF")
        if conf and isinstance(conf.value, ast.Constant) and isinstance(conf.value.value, str):
            urlconfs[rel] = conf.value.value
        if p.name in ("manage.py", "wsgi.py", "asgi.py"):
            dsm = _settings_module_from(tree)
            if dsm:
                named.append((rel, dsm))
    named.sort(key=lambda fd: (fd[0].count("/"), not fd[0].endswith("manage.py"), fd[0]))
    bases = []
    for rel, _ in named:
        if rel.endswith("manage.py"):
            base = rel.rpartition("/")[0]
            if base not in bases:
                bases.append(base)
    if "" not in bases:
        bases.append("")

    settings = None
    for _, dsm in named:
        for base in bases:
            rel = _module_file(root, base, dsm)
            if rel in installed:
                settings = rel
                break
        if settings:
            break
    if settings is None:
        if len(installed) == 1:
            settings = installed[0]
        elif not installed:
            raise UsageError(f"{root}: no Django settings module found (a module assigning INSTALLED_APPS)")
        else:
            raise UsageError(f"{root}: several modules assign INSTALLED_APPS ({', '.join(installed)}) and no "
                             "manage.py names one of them in DJANGO_SETTINGS_MODULE")
    conf = urlconfs.get(settings)
    if conf is None:
        values = sorted(set(urlconfs.values()))
        if len(values) != 1:
            found = f" (found {', '.join(values)})" if values else ""
            raise UsageError(f"{root / settings}: no ROOT_URLCONF = \"...\" in the settings{found}")
        conf = values[0]
    settings_dir = settings.rpartition("/")[0]
    for base in [*bases, *(settings_dir.rsplit("/", i)[0] for i in range(1, settings_dir.count("/") + 1)), settings_dir]:
        urls = _module_file(root, base, conf)
        if urls:
            return DjangoLayout(settings, urls, base, conf.rpartition(".")[0])
    raise UsageError(f"{root / settings}: ROOT_URLCONF {conf!r} names no module in the project")


# --- libcst list edits ----------------------------------------------------------------


def _brackets(node):
    """(opening whitespace_after, closing whitespace_before) of a List or parenthesised Tuple."""
    import libcst as cst

    if isinstance(node, cst.List):
        return node.lbracket.whitespace_after, node.rbracket.whitespace_before
    return node.lpar[-1].whitespace_after, node.rpar[-1].whitespace_before


def _with_brackets(node, opening, closing, elements):
    import libcst as cst

    if isinstance(node, cst.List):
        return node.with_changes(elements=elements, lbracket=node.lbracket.with_changes(whitespace_after=opening),
                                 rbracket=node.rbracket.with_changes(whitespace_before=closing))
    lpar = [*node.lpar[:-1], node.lpar[-1].with_changes(whitespace_after=opening)]
    rpar = [*node.rpar[:-1], node.rpar[-1].with_changes(whitespace_before=closing)]
    return node.with_changes(elements=elements, lpar=lpar, rpar=rpar)


def _line_break(like):
    """A comment-free copy of the line break ``like`` (indented as it is), else one space."""
    import libcst as cst

    if isinstance(like, cst.ParenthesizedWhitespace):
        return cst.ParenthesizedWhitespace(first_line=cst.TrailingWhitespace(), empty_lines=[], indent=like.indent,
                                           last_line=like.last_line)
    return cst.SimpleWhitespace(" ")


def _is_literal_list(node) -> bool:
    import libcst as cst

    return isinstance(node, cst.List) or (isinstance(node, cst.Tuple) and bool(node.lpar))


def _append(node, values: list):
    """``node`` (List / parenthesised Tuple) with ``values`` appended, laid out like its elements."""
    import libcst as cst

    elements = list(node.elements)
    opening, closing = _brackets(node)
    if not elements:
        new = [cst.Element(v, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for v in values]
        new[-1] = new[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        if isinstance(node, cst.Tuple) and len(new) == 1:
            new[-1] = new[-1].with_changes(comma=cst.Comma())
        return _with_brackets(node, opening, closing, new)
    sep = _line_break(elements[-2].comma.whitespace_after if len(elements) > 1 else opening)
    last = elements[-1]
    trailing = last.comma  # Comma (a trailing comma) or MaybeSentinel
    if isinstance(closing, cst.ParenthesizedWhitespace):
        # the last element's comment sits in the closing bracket's whitespace: keep it on that element
        kept = cst.ParenthesizedWhitespace(first_line=closing.first_line, empty_lines=closing.empty_lines,
                                           indent=sep.indent if isinstance(sep, cst.ParenthesizedWhitespace) else True,
                                           last_line=sep.last_line if isinstance(sep, cst.ParenthesizedWhitespace)
                                           else closing.last_line)
        before = trailing.whitespace_before if isinstance(trailing, cst.Comma) else cst.SimpleWhitespace("")
        elements[-1] = last.with_changes(comma=cst.Comma(whitespace_before=before, whitespace_after=kept))
        closing = cst.ParenthesizedWhitespace(first_line=cst.TrailingWhitespace(), empty_lines=[],
                                              indent=closing.indent, last_line=closing.last_line)
        tail = trailing if isinstance(trailing, cst.Comma) else cst.MaybeSentinel.DEFAULT
    else:
        elements[-1] = last.with_changes(comma=cst.Comma(whitespace_after=sep))
        tail = trailing
    new = [cst.Element(v, comma=cst.Comma(whitespace_after=sep)) for v in values]
    new[-1] = new[-1].with_changes(comma=tail)
    return _with_brackets(node, opening, closing, elements + new)


def _prepend(node, values: list):
    """``node`` (List / parenthesised Tuple) with ``values`` inserted before its first element."""
    import libcst as cst

    if not node.elements:
        return _append(node, values)
    opening, closing = _brackets(node)
    sep = _line_break(opening)
    new = [cst.Element(v, comma=cst.Comma(whitespace_after=sep)) for v in values]
    return _with_brackets(node, opening, closing, new + list(node.elements))


def _quote_in(node, default: str = '"') -> str:
    import libcst as cst

    found: list[str] = []

    class _First(cst.CSTVisitor):
        def visit_SimpleString(self, s: cst.SimpleString) -> bool:
            if not found:
                found.append(s.quote)
            return False

    node.visit(_First())
    return found[0][0] if found and found[0] in ("'", '"') else default


def _string(value: str, quote: str) -> str:
    return quote + value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def parse(source: str):
    """A Python module as a libcst tree; UsageError naming the syntax error."""
    import libcst as cst

    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise UsageError(f"cannot parse: {exc}") from None


def _top_assign(body: list, name: str) -> int | None:
    import libcst as cst

    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Assign):
            a = stmt.body[0]
            if any(isinstance(t.target, cst.Name) and t.target.value == name for t in a.targets):
                return i
    return None


def _mentions_string(module, value: str) -> bool:
    import libcst as cst

    hits: list[bool] = []

    class _Find(cst.CSTVisitor):
        def visit_SimpleString(self, s: cst.SimpleString) -> None:
            try:
                if s.evaluated_value == value:
                    hits.append(True)
            except Exception:  # noqa: BLE001 - bytes or an unusual prefix: not ours
                pass

    module.visit(_Find())
    return bool(hits)


def add_installed_app(source: str, entry: str) -> str:
    """``source`` (a settings module) with ``entry`` at the end of ``INSTALLED_APPS``."""
    import libcst as cst

    module = parse(source)
    if _mentions_string(module, entry):
        return source
    return _extend_list(module, "INSTALLED_APPS", lambda q: [cst.parse_expression(_string(entry, q))], first=False,
                        missing="the instrumentation app to")


def _extend_list(module, name: str, items, *, first: bool, missing: str) -> str:
    """``module``'s code with ``items(quote)`` (expressions, written with the quote the list uses) added to
    the module-level list ``name``: in the literal when it is one (first or last), else by a new statement
    ``name = [..., *name]`` (or ``[*name, ...]``) right after it."""
    import libcst as cst

    body = list(module.body)
    i = _top_assign(body, name)
    if i is None:
        raise UsageError(f"no module-level {name} = [...] to add {missing}")
    stmt = body[i]
    assign = stmt.body[0]
    literal = _is_literal_list(assign.value)
    values = items(_quote_in(assign.value if literal else module))
    if literal:
        new = (_prepend if first else _append)(assign.value, values)
        body[i] = stmt.with_changes(body=[assign.with_changes(value=new)])
    else:
        listed = ", ".join(cst.Module([]).code_for_node(v) for v in values)
        both = f"{listed}, *{name}" if first else f"*{name}, {listed}"
        body.insert(i + 1, cst.parse_statement(f"{name} = [{both}]\n"))
    return module.with_changes(body=body).code


def _names_used(module) -> set[str]:
    import libcst as cst

    names: set[str] = set()

    class _Names(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            names.add(n.value)

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False  # an import alone routes nothing

    module.visit(_Names())
    return names


def add_url_routes(source: str, routes: list[tuple[str, str]]) -> str:
    """``source`` (the root URLconf) with ``path(route, view, name=view)`` for each (route, view)
    whose view it does not route yet, first in ``urlpatterns``. Imports are the caller's."""
    import libcst as cst

    module = parse(source)
    used = _names_used(module)
    todo = [(r, v) for r, v in routes if v not in used]
    if not todo:
        return source
    return _extend_list(module, "urlpatterns",
                        lambda q: [cst.parse_expression(f"path({_string(r, q)}, {v}, name={_string(v, q)})")
                                   for r, v in todo], first=True, missing="the routes to")


def route_of(path: str) -> str:
    """A URL path from the settings (``/metrics``) as a Django route (``metrics``)."""
    return path.lstrip("/")
