"""Which language a project to instrument is written in, and the analysis and plan for it.

A directory with a ``package.json`` that depends on a Node.js web framework is a Node.js service
(:mod:`rq_obs.instrument.node`); one with a ``pom.xml`` or ``build.gradle`` is a Java service
(:mod:`rq_obs.instrument.java`); anything else is analysed as Python (:mod:`rq_obs.instrument.analyze`).
"""

from __future__ import annotations

import json
from pathlib import Path

from rq_obs.instrument import java, node
from rq_obs.instrument.analyze import Analysis

__all__ = ["analyze", "plan"]


def _is_node(root: Path) -> bool:
    if not node.is_node_project(root):
        return False
    try:
        pkg = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except ValueError:
        return True  # node.analyze names the broken file
    deps = {**(pkg.get("devDependencies") or {}), **(pkg.get("dependencies") or {})} if isinstance(pkg, dict) else {}
    return any(f in deps for f in node.FRAMEWORKS)


def analyze(root: Path) -> Analysis:
    root = Path(root)
    if _is_node(root):
        return node.analyze(root)
    if java.is_java_project(root):
        return java.analyze(root)
    from rq_obs.instrument.analyze import analyze as analyze_python

    return analyze_python(root)


def plan(root: Path, analysis: Analysis, *, service_name=None, functions=(), profile=(), sampling_rate=None):
    if analysis.language in ("javascript", "java"):
        from rq_obs.errors import UsageError

        if functions or profile:
            raise UsageError(f"--functions and --profile are for Python code; a {analysis.language} service is "
                             "traced by the OpenTelemetry instrumentations of its framework")
        mod = node if analysis.language == "javascript" else java
        return mod.plan(root, analysis, service_name=service_name, sampling_rate=sampling_rate)
    from rq_obs.instrument.apply import plan as plan_python

    return plan_python(root, analysis, service_name=service_name, functions=functions, profile=profile,
                       sampling_rate=sampling_rate)
