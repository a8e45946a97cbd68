"""Layout conventions from DESIGN.md that keep the project coherent."""

import ast
import re
from pathlib import Path

from rq_obs.catalog import METRICS

PKG = Path(__file__).resolve().parent.parent / "rq_obs"
NAMES = {n for m in METRICS for n in (*m.sample_names(), m.name) if "_" in n}  # not "up": too common a word
PATTERN = re.compile(r"\b(" + "|".join(sorted(map(re.escape, NAMES), key=len, reverse=True)) + r")\b")
PREFIX = re.compile(r"\brqobs_[a-z0-9_]+")


def _strings(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def test_no_metric_name_as_a_string_outside_the_catalogue():
    offenders = []
    for path in sorted(PKG.rglob("*.py")):
        if path.name == "catalog.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in docstrings:
                continue
            hit = PATTERN.search(node.value) or PREFIX.search(node.value)
            if hit:
                offenders.append(f"{path.relative_to(PKG.parent)}:{node.lineno}: {hit.group(0)!r}")
    assert offenders == [], "metric names must come from rq_obs.catalog:\n" + "\n".join(offenders)


def test_no_print_or_sys_exit_in_library_code():
    offenders = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        if rel.parts[0] == "commands" or rel.name in ("cli.py", "__main__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Name) and f.id == "print":
                    offenders.append(f"{rel}:{node.lineno}: print()")
                if isinstance(f, ast.Attribute) and f.attr == "exit" and isinstance(f.value, ast.Name) and f.value.id == "sys":
                    offenders.append(f"{rel}:{node.lineno}: sys.exit()")
    assert offenders == [], "\n".join(offenders)
