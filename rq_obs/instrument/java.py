"""Instrument a Java Spring Boot service (Maven): Micrometer's Prometheus registry and Actuator for metrics,
health and readiness, the OpenTelemetry Java agent for traces.

Analysis reads ``pom.xml`` (or ``build.gradle[.kts]``, analysed only) for Spring Boot and client libraries
and scans ``src/main/java`` with regular expressions for ``@SpringBootApplication`` and request mappings
(class-level ``@RequestMapping`` prefixes joined to ``@GetMapping`` ...). A best-effort scan, not a parser.

``apply`` (Maven projects), idempotent:

- ``pom.xml``: ``spring-boot-starter-actuator`` and ``micrometer-registry-prometheus`` (versions from
  the Spring Boot parent), and a ``maven-dependency-plugin`` execution that copies the OpenTelemetry Java
  agent from Maven Central to ``target/otel/`` when the project is packaged (never committed);
- ``src/main/resources/application.properties``: a marked block exposing Actuator's Prometheus endpoint
  on ``/metrics``, health on ``/health``, readiness on ``/readyz``, and the histogram buckets of the
  catalogue's HTTP duration metric;
- ``<app package>/RqObsObservability.java`` (generated; rewritten while it carries the marker): Spring's
  OpenTelemetry observation convention, so the metric is ``http_server_request_duration_seconds`` with
  ``http_request_method``, ``http_route``, ``http_response_status_code`` and ``error_type`` as the
  dashboards read, and an in-flight gauge ``http_server_active_requests``;
- ``rq-obs-instrumentation.json`` (settings, kept once it exists) and ``rq-obs-run.sh`` (generated from
  it): the launch command, ``java -javaagent:target/otel/opentelemetry-javaagent.jar ... -jar target/<jar>``
  with the service name, OTLP endpoint and a parent-based ratio sampler.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from rq_obs.catalog import M
from rq_obs.errors import InputError, UsageError
from rq_obs.instrument.analyze import Analysis, AppObject, Client, Endpoint
from rq_obs.instrument.template import MARKER

__all__ = ["is_java_project", "analyze", "plan", "AGENT_VERSION", "CLASS_NAME", "RUN_SCRIPT", "CONFIG_FILE"]

AGENT_VERSION = "2.22.0"  # io.opentelemetry.javaagent:opentelemetry-javaagent, from Maven Central
CLASS_NAME = "RqObsObservability"
RUN_SCRIPT = "rq-obs-run.sh"
CONFIG_FILE = "rq-obs-instrumentation.json"
AGENT_PATH = "target/otel/opentelemetry-javaagent.jar"
PROPERTIES = "src/main/resources/application.properties"
_BLOCK_START = "# --- rq-obs instrument apply: metrics, health, readiness (generated; edit the settings above it) ---"
_BLOCK_END = "# --- end of the rq-obs block ---"
_POM_NS = "{http://maven.apache.org/POM/4.0.0}"
_DEPENDENCIES = (("org.springframework.boot", "spring-boot-starter-actuator"),
                 ("io.micrometer", "micrometer-registry-prometheus"))
#: artifactId in the build file -> client kind shown by analyze
CLIENTS = {"postgresql": "postgresql", "mysql-connector-j": "mysql", "spring-boot-starter-data-jpa": "jpa",
           "spring-boot-starter-data-redis": "redis", "spring-boot-starter-data-mongodb": "mongodb",
           "spring-boot-starter-webflux": "webclient"}
_MAPPING = re.compile(r"@(Get|Post|Put|Delete|Patch|Request)Mapping\b(?:\s*\((?P<args>[^)]*)\))?")
_PATH_ARG = re.compile(r'^\s*"([^"]*)"|\b(?:value|path)\s*=\s*\{?\s*"([^"]*)"')
_REQ_METHOD = re.compile(r"RequestMethod\.(\w+)")
_CLASS = re.compile(r"\b(?:public\s+)?(?:final\s+)?class\s+(\w+)")
_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.M)
_SETTINGS_PATHS = {"metrics_path": "/metrics", "health_path": "/health", "ready_path": "/readyz"}


def is_java_project(root: Path) -> bool:
    return any((Path(root) / f).is_file() for f in ("pom.xml", "build.gradle", "build.gradle.kts"))


def _build_file(root: Path) -> Path:
    for name in ("pom.xml", "build.gradle", "build.gradle.kts"):
        if (root / name).is_file():
            return root / name
    raise UsageError(f"{root}: no pom.xml or build.gradle")


def _pom(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InputError(f"{path}: not well-formed XML ({exc})") from None


def _text(el: ET.Element | None, tag: str) -> str:
    found = el.find(_POM_NS + tag) if el is not None else None
    if found is None and el is not None:
        found = el.find(tag)
    return (found.text or "").strip() if found is not None else ""


def _artifacts(build: Path) -> set[str]:
    if build.name == "pom.xml":
        root = _pom(build)
        return {_text(d, "artifactId") for d in root.iter() if d.tag in (_POM_NS + "dependency", "dependency")}
    text = build.read_text(encoding="utf-8")
    return set(re.findall(r"['\"][\w.-]+:([\w.-]+)(?::[\w.-]+)?['\"]", text))


def _java_files(root: Path) -> list[Path]:
    src = root / "src" / "main" / "java"
    return sorted(src.rglob("*.java")) if src.is_dir() else []


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _mapping_path(args: str | None) -> str:
    if not args:
        return ""
    m = _PATH_ARG.search(args)
    return (m.group(1) if m.group(1) is not None else m.group(2)) if m else ""


def analyze(root: Path) -> Analysis:
    """Framework, entry point, request mappings and clients of the Java project at ``root``."""
    root = Path(root)
    build = _build_file(root)
    artifacts = _artifacts(build)
    framework = "spring-boot" if {"spring-boot-starter-web", "spring-boot-starter-webmvc"} & artifacts else None
    apps, endpoints = [], []
    files = _java_files(root)
    for p in files:
        rel = p.relative_to(root).as_posix()
        text = p.read_text(encoding="utf-8", errors="replace")
        if CLASS_NAME in p.name:
            continue
        m_app = re.search(r"@SpringBootApplication\b", text)
        if m_app:
            cls = _CLASS.search(text, m_app.end())
            apps.append(AppObject(rel, cls.group(1) if cls else p.stem, "spring-boot", _line(text, m_app.start()), None))
        cls_match = _CLASS.search(text)
        prefix = ""
        for m in _MAPPING.finditer(text):
            if m.group(1) == "Request" and cls_match and m.start() < cls_match.start():
                prefix = _mapping_path(m.group("args")).rstrip("/")
                continue
            if cls_match and m.start() < cls_match.start():
                continue
            kind = m.group(1)
            methods = tuple(sorted(set(_REQ_METHOD.findall(m.group("args") or "")))) if kind == "Request" else (kind.upper(),)
            path = prefix + ("/" + _mapping_path(m.group("args")).lstrip("/") if _mapping_path(m.group("args")) else "")
            name = re.search(r"(?:public|protected|private)[^;{=()]*?\b(\w+)\s*\(", text[m.end():])
            endpoints.append(Endpoint(rel, name.group(1) if name else "?", methods or ("ANY",), path or "/",
                                      _line(text, m.start()), False))
    clients = tuple(Client(build.name, kind, 0, None) for art, kind in sorted(CLIENTS.items()) if art in artifacts)
    return Analysis(
        root=str(root), language="java", framework=framework, frameworks=(framework,) if framework else (),
        files=len(files), apps=tuple(apps), entry_points=tuple(a.file for a in apps), endpoints=tuple(endpoints),
        clients=clients, async_functions=(), functions=(),
        packages=("io.micrometer:micrometer-registry-prometheus", "org.springframework.boot:spring-boot-starter-actuator",
                  f"io.opentelemetry.javaagent:opentelemetry-javaagent:{AGENT_VERSION}"),
    )


# --- pom.xml text edits (the file's own formatting and comments are kept) -----------------------------

def _spans(text: str, tag: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(rf"<{tag}>.*?</{tag}>", text, re.S)]


def _outside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return not any(a <= pos < b for a, b in spans)


def _indent_before(text: str, pos: int) -> str:
    line_start = text.rfind("\n", 0, pos) + 1
    return re.match(r"[ \t]*", text[line_start:]).group(0)


def _unit(text: str) -> str:
    """The file's indentation step: that of <modelVersion> (a child of <project>), else two spaces."""
    m = re.search(r"\n([ \t]+)<modelVersion>", text)
    return m.group(1) if m else "  "


def _add_dependencies(text: str, path: Path) -> str:
    nested = _spans(text, "dependencyManagement") + _spans(text, "plugins") + _spans(text, "profiles")
    closes = [m.start() for m in re.finditer(r"</dependencies>", text) if _outside(m.start(), nested)]
    present = {(g, a) for g, a in re.findall(
        r"<dependency>\s*<groupId>([^<]+)</groupId>\s*<artifactId>([^<]+)</artifactId>", text)}
    missing = [d for d in _DEPENDENCIES if d not in present]
    if not missing:
        return text
    if not closes:
        raise UsageError(f"{path}: no <dependencies> section of the project to add to")
    at = closes[-1]
    ind, step = _indent_before(text, at), _unit(text)
    block = "".join(f"{ind}{step}<dependency>\n{ind}{step * 2}<groupId>{g}</groupId>\n"
                    f"{ind}{step * 2}<artifactId>{a}</artifactId>\n{ind}{step}</dependency>\n" for g, a in missing)
    return text[:at - len(ind)] + block + text[at - len(ind):]


def _agent_plugin(ind: str, step: str) -> str:
    i = lambda n: ind + step * n  # noqa: E731 - indentation levels below <plugins>
    return (f"{i(1)}<!-- rq-obs: the OpenTelemetry Java agent, copied from Maven Central at package time -->\n"
            f"{i(1)}<plugin>\n{i(2)}<groupId>org.apache.maven.plugins</groupId>\n"
            f"{i(2)}<artifactId>maven-dependency-plugin</artifactId>\n{i(2)}<executions>\n{i(3)}<execution>\n"
            f"{i(4)}<id>rq-obs-opentelemetry-javaagent</id>\n{i(4)}<phase>package</phase>\n"
            f"{i(4)}<goals><goal>copy</goal></goals>\n{i(4)}<configuration>\n{i(5)}<artifactItems>\n"
            f"{i(6)}<artifactItem>\n{i(7)}<groupId>io.opentelemetry.javaagent</groupId>\n"
            f"{i(7)}<artifactId>opentelemetry-javaagent</artifactId>\n{i(7)}<version>{AGENT_VERSION}</version>\n"
            f"{i(7)}<destFileName>opentelemetry-javaagent.jar</destFileName>\n{i(6)}</artifactItem>\n"
            f"{i(5)}</artifactItems>\n{i(5)}<outputDirectory>${{project.build.directory}}/otel</outputDirectory>\n"
            f"{i(4)}</configuration>\n{i(3)}</execution>\n{i(2)}</executions>\n{i(1)}</plugin>\n")


def _add_agent_copy(text: str, path: Path) -> str:
    if "<id>rq-obs-opentelemetry-javaagent</id>" in text:
        return text
    managed = _spans(text, "pluginManagement") + _spans(text, "profiles")
    closes = [m.start() for m in re.finditer(r"</plugins>", text) if _outside(m.start(), managed)]
    if not closes:
        raise UsageError(f"{path}: no <build><plugins> section to add the agent copy to")
    at = closes[-1]
    ind, step = _indent_before(text, at), _unit(text)
    return text[:at - len(ind)] + _agent_plugin(ind, step) + text[at - len(ind):]


def _coordinates(pom: ET.Element) -> tuple[str, str]:
    artifact = _text(pom, "artifactId")
    version = _text(pom, "version") or _text(pom.find(_POM_NS + "parent"), "version")
    return artifact, version


# --- the plan -----------------------------------------------------------------------------------------

def defaults(service_name: str, sampling_rate: float) -> dict:
    return {"service_name": service_name, "otlp_endpoint": "", "sampling_rate": sampling_rate, **_SETTINGS_PATHS}


def _properties_block(settings: dict) -> str:
    h = M.HTTP_SERVER_DURATION
    slo = ",".join(f"{round(b * 1000)}ms" for b in h.buckets)  # Boot parses durations, not "2.5s"
    metrics_id = settings["metrics_path"].strip("/")
    return "\n".join([
        _BLOCK_START,
        "management.endpoints.web.base-path=/",
        "management.endpoints.web.exposure.include=health,prometheus",
        f"management.endpoints.web.path-mapping.prometheus={metrics_id}",
        "management.endpoint.health.probes.enabled=true",
        "management.endpoint.health.probes.add-additional-paths=true",
        f"management.metrics.distribution.slo.{h.name.removesuffix('_seconds').replace('_', '.')}={slo}",
        _BLOCK_END,
    ]) + "\n"


def _with_block(text: str, block: str) -> str:
    if _BLOCK_START in text:
        start = text.index(_BLOCK_START)
        end = text.index(_BLOCK_END, start) + len(_BLOCK_END) + 1
        return text[:start] + block + text[end:]
    return text + ("" if not text or text.endswith("\n") else "\n") + ("\n" if text else "") + block


def _run_script(settings: dict, jar: str) -> str:
    rate = settings["sampling_rate"]
    return "\n".join([
        "#!/bin/sh",
        "# " + MARKER.lstrip("# ") + "; re-running it rewrites this file from " + CONFIG_FILE + ".",
        "# Starts the app with the OpenTelemetry Java agent (traces over OTLP/HTTP when an endpoint is set).",
        "# Build first: mvn package (it copies the agent to " + AGENT_PATH + ").",
        "set -e",
        'cd "$(dirname "$0")"',
        f'export OTEL_SERVICE_NAME="${{OTEL_SERVICE_NAME:-{settings["service_name"]}}}"',
        f'export OTEL_EXPORTER_OTLP_ENDPOINT="${{OTEL_EXPORTER_OTLP_ENDPOINT:-{settings["otlp_endpoint"]}}}"',
        'if [ -z "$OTEL_TRACES_EXPORTER" ]; then',
        '  if [ -n "$OTEL_EXPORTER_OTLP_ENDPOINT" ]; then OTEL_TRACES_EXPORTER=otlp; else OTEL_TRACES_EXPORTER=none; fi',
        "fi",
        "export OTEL_TRACES_EXPORTER",
        "export OTEL_TRACES_SAMPLER=parentbased_traceidratio",
        f'export OTEL_TRACES_SAMPLER_ARG="${{RQ_OBS_SAMPLING_RATE:-{rate}}}"',
        "export OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none  # metrics: Actuator's /metrics",
        f'exec java -javaagent:{AGENT_PATH} $JAVA_OPTS -jar target/{jar} "$@"',
    ]) + "\n"


def plan(root: Path, analysis: Analysis, *, service_name: str | None = None, sampling_rate: float | None = None):
    """Every file change instrumentation of the Spring Boot (Maven) project needs."""
    from rq_obs.instrument.apply import collector, settings_file
    from rq_obs.textrender import render

    root = Path(root)
    if analysis.framework != "spring-boot":
        raise UsageError(f"{_build_file(root)}: no spring-boot-starter-web dependency; rq-obs instruments "
                         "Spring Boot web apps")
    if not (root / "pom.xml").is_file():
        raise UsageError(f"{_build_file(root)}: Gradle projects are analysed only; `apply` edits Maven projects "
                         "(pom.xml)")
    if not analysis.apps:
        raise UsageError(f"{root / 'src/main/java'}: no @SpringBootApplication class found")
    changes, add = collector(root)
    pom_path = root / "pom.xml"
    pom_text = pom_path.read_text(encoding="utf-8")
    artifact, version = _coordinates(_pom(pom_path))
    service = service_name or artifact or root.resolve().name
    rate = 1.0 if sampling_rate is None else sampling_rate
    cfg, new_cfg = settings_file(root / CONFIG_FILE, service_name=service_name, sampling_rate=sampling_rate)
    settings = {**defaults(service, rate), **(cfg or {})}
    if cfg is None:
        add(CONFIG_FILE, json.dumps(settings, indent=2, sort_keys=True) + "\n")
    elif new_cfg:
        add(CONFIG_FILE, new_cfg)

    new_pom = _add_agent_copy(_add_dependencies(pom_text, pom_path), pom_path)
    try:
        ET.fromstring(new_pom.encode("utf-8"))
    except ET.ParseError as exc:  # pragma: no cover - a pom whose layout the text edit misread
        raise UsageError(f"{pom_path}: could not add the dependencies without breaking the XML ({exc}); "
                         "add them by hand (see docs/INSTRUMENTING.md)") from None
    add("pom.xml", new_pom)

    props = root / PROPERTIES
    add(PROPERTIES, _with_block(props.read_text(encoding="utf-8") if props.is_file() else "", _properties_block(settings)))

    app_file = root / analysis.apps[0].file
    pkg = _PACKAGE.search(app_file.read_text(encoding="utf-8"))
    if pkg is None:
        raise UsageError(f"{app_file}: no package declaration")
    gen_rel = (app_file.parent / f"{CLASS_NAME}.java").relative_to(root).as_posix()
    gen = root / gen_rel
    if gen.is_file() and MARKER.lstrip("# ") not in gen.read_text(encoding="utf-8").splitlines()[0]:
        raise UsageError(f"{gen} exists and was not generated by rq-obs; move it away to instrument this app")
    probes = ", ".join(json.dumps(settings[k]) for k in ("metrics_path", "health_path", "ready_path") if settings.get(k))
    add(gen_rel, render("instrument/templates/spring_observability.java.j2",
                        marker="// " + MARKER.lstrip("# "), package=pkg.group(1), class_name=CLASS_NAME,
                        http_duration=M.HTTP_SERVER_DURATION.name, http_active=M.HTTP_SERVER_ACTIVE.name,
                        http_active_dotted=M.HTTP_SERVER_ACTIVE.name.replace("_", "."), probes=probes,
                        metrics_path=settings["metrics_path"], health_path=settings["health_path"],
                        ready_path=settings["ready_path"], run_script=RUN_SCRIPT))
    add(RUN_SCRIPT, _run_script(settings, f"{artifact}-{version}.jar"))
    return tuple(changes)
