"""A small PromQL tokenizer for tests: which metric names does an expression reference?

It strips string literals, label matchers ``{...}``, ranges ``[...]``, Grafana
variables, numbers, durations, keywords and the label lists after
``by/without/on/ignoring/group_left/group_right``; an identifier followed by ``(``
must be a known PromQL function or aggregation (so a typo fails); every other
identifier is a metric name (or recording rule). ``label_values(series, label)``
(Grafana's variable query) yields the names in ``series``.
"""

from __future__ import annotations

import re

__all__ = ["metric_names", "functions", "PromQLError", "FUNCTIONS", "extract_exprs", "range_windows"]

FUNCTIONS = frozenset("""
abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month day_of_week day_of_year
days_in_month delta deriv exp floor histogram_quantile holt_winters hour idelta increase irate label_join
label_replace ln log2 log10 minute month predict_linear rate resets round scalar sgn sort sort_desc sqrt
time timestamp vector year avg_over_time min_over_time max_over_time sum_over_time count_over_time
quantile_over_time stddev_over_time stdvar_over_time last_over_time present_over_time acos acosh asin asinh
atan atanh cos cosh sin sinh tan tanh deg rad pi
sum min max avg group stddev stdvar count count_values bottomk topk quantile
""".split())
#: Grafana's templating function (variable queries only).
GRAFANA_FUNCTIONS = frozenset({"label_values"})
_AGGREGATIONS = frozenset("sum min max avg group stddev stdvar count count_values bottomk topk quantile".split())
_LIST_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_KEYWORDS = frozenset({"bool", "and", "or", "unless", "atan2", "offset", "inf", "nan"})

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+")
_TOKEN = re.compile(r"\s+|(?P<dur>\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*\b)"
                    r"|(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<id>[A-Za-z_:][A-Za-z0-9_:]*)|(?P<op>.)")


class PromQLError(ValueError):
    pass


def _strip(expr: str) -> str:
    expr = _STRING.sub('""', expr)
    expr = _VARIABLE.sub("", expr)
    prev = None
    while prev != expr:  # matchers never nest, but be safe
        prev, expr = expr, _MATCHERS.sub(" ", _RANGE.sub(" ", expr))
    return expr


def _scan(expr: str) -> tuple[set[str], set[str]]:
    names: set[str] = set()
    funcs: set[str] = set()
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(_strip(expr)) if m.lastgroup]
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else (None, "")
        if kind == "id":
            if text in _LIST_KEYWORDS:
                if nxt[1] == "(":  # skip the label list
                    j = i + 2
                    while j < len(tokens) and tokens[j][1] != ")":
                        j += 1
                    i = j + 1
                    continue
            elif text in _KEYWORDS:
                pass
            elif nxt[1] == "(" or (text in _AGGREGATIONS and nxt[1] in ("by", "without")):
                if text not in FUNCTIONS and text not in GRAFANA_FUNCTIONS:
                    raise PromQLError(f"unknown function {text!r} in: {expr}")
                funcs.add(text)
            else:
                names.add(text)
        i += 1
    return names, funcs


def metric_names(expr: str) -> set[str]:
    """Every metric name (or recording rule) ``expr`` selects."""
    m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", expr, re.S)
    if m:
        expr = m.group(1)
    return _scan(expr)[0]


def functions(expr: str) -> set[str]:
    return _scan(expr)[1]


#: rate()-like functions whose range should follow the dashboard's interval.
_RANGED = re.compile(r"\b(rate|irate|increase|delta|idelta|deriv|changes|resets|\w+_over_time)\s*\(")


def range_windows(expr: str) -> list[str]:
    """The ``[...]`` ranges given to rate()-like functions in ``expr``."""
    out = []
    for m in _RANGED.finditer(expr):
        depth, j = 1, m.end()
        while j < len(expr) and depth:
            depth += {"(": 1, ")": -1}.get(expr[j], 0)
            j += 1
        out += re.findall(r"\[([^\]]*)\]", expr[m.end():j])
    return out


def extract_exprs(dashboard: dict) -> list[tuple[str, str]]:
    """(where, expr) for every PromQL expression of a dashboard: targets, variables, annotations."""
    out = []
    for p in dashboard["panels"]:
        for t in p.get("targets", []):
            if "expr" in t:  # Infinity targets (rq-obs serve's API) are not PromQL
                out.append((f"panel {p['title']!r} target {t['refId']}", t["expr"]))
    for v in dashboard["templating"]["list"]:
        if v.get("type") == "query":
            q = v["query"]
            out.append((f"variable {v['name']}", q["query"] if isinstance(q, dict) else q))
    for a in dashboard["annotations"]["list"]:
        if "expr" in a:
            out.append((f"annotation {a['name']}", a["expr"]))
    return out
