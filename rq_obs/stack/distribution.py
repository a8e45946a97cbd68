"""The rq-obs collector distribution: an OpenTelemetry Collector Builder (ocb) manifest and its build.

The manifest (``collector/builder-config.yaml``) is derived from the same pipeline definition as
``collector/otelcol.yaml`` (:func:`rq_obs.stack.collector.document`): it lists exactly the component
types that config uses, each at the one pinned collector release (:data:`RELEASE`). A component the
config uses but :data:`MODULES` does not know is a programming error, raised at build time.

Release choice: collector core v0.139.0 (stable modules v1.45.0) and contrib v0.139.0, the release
Jaeger v1.75.0 (the trace backend the tests run) is built on, so both binaries share one set of Go
modules and one build cache: building the collector after Jaeger compiles little more than the
exporter and the connector. Names and options are those of that release (the OTLP gRPC exporter is
``otlp``; ``otlp_grpc`` came later; spanmetrics' cardinality cap is ``aggregation_cardinality_limit``).

:func:`build` runs ocb through ``go run`` (so only Go and the module proxy are needed) and copies
the binary to the chosen directory. ``.ci/tools/build-otelcol.sh`` does the same from the committed
manifest; the ocb module it runs is named in the manifest's header (:data:`BUILDER`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from rq_obs.config import Config
from rq_obs.errors import UsageError

__all__ = ["PATH", "RELEASE", "STABLE", "BUILDER", "BINARY", "MODULES", "PROVIDERS", "components",
           "manifest", "render", "build", "Built", "find_binary"]

PATH = "collector/builder-config.yaml"
#: Collector core (0.x modules) and contrib release; STABLE: core's 1.x modules of the same release.
RELEASE = "v0.139.0"
STABLE = "v1.45.0"
BUILDER = f"go.opentelemetry.io/collector/cmd/builder@{RELEASE}"
#: Name of the built binary (looked up with rq_obs.toolpaths.find_tool).
BINARY = "otelcol-rq-obs"

_CORE = "go.opentelemetry.io/collector"
_CONTRIB = "github.com/open-telemetry/opentelemetry-collector-contrib"

#: (kind, component type) -> Go module providing it, at RELEASE.
MODULES: Mapping[tuple[str, str], str] = {
    ("receivers", "otlp"): f"{_CORE}/receiver/otlpreceiver",
    ("processors", "batch"): f"{_CORE}/processor/batchprocessor",
    ("processors", "memory_limiter"): f"{_CORE}/processor/memorylimiterprocessor",
    ("exporters", "otlp"): f"{_CORE}/exporter/otlpexporter",
    ("exporters", "otlphttp"): f"{_CORE}/exporter/otlphttpexporter",
    ("exporters", "debug"): f"{_CORE}/exporter/debugexporter",
    ("exporters", "prometheus"): f"{_CONTRIB}/exporter/prometheusexporter",
    ("connectors", "spanmetrics"): f"{_CONTRIB}/connector/spanmetricsconnector",
    ("connectors", "forward"): f"{_CORE}/connector/forwardconnector",
    ("extensions", "health_check"): f"{_CONTRIB}/extension/healthcheckextension",
    ("extensions", "healthcheckv2"): f"{_CONTRIB}/extension/healthcheckv2extension",
}

#: Config sources the binary accepts: --config=FILE and ${env:VAR} references.
PROVIDERS = (f"{_CORE}/confmap/provider/envprovider", f"{_CORE}/confmap/provider/fileprovider")

_KINDS = ("receivers", "processors", "exporters", "connectors", "extensions")


def components(doc: Mapping[str, Any]) -> dict[str, list[str]]:
    """{kind: sorted Go modules} for every component type a collector config defines."""
    out: dict[str, list[str]] = {}
    for kind in _KINDS:
        types = sorted({str(cid).split("/", 1)[0] for cid in (doc.get(kind) or {})})
        unknown = [t for t in types if (kind, t) not in MODULES]
        if unknown:  # pragma: no cover - a programming error: add the module to MODULES
            raise AssertionError(f"collector {kind} {unknown} have no module in rq_obs.stack.distribution.MODULES")
        if types:
            out[kind] = [MODULES[(kind, t)] for t in types]
    return out


def _gomod(module: str) -> str:
    version = STABLE if module in PROVIDERS else RELEASE
    return f"{module} {version}"


def manifest(config: Config) -> dict[str, Any]:
    """The ocb manifest for the pipeline of :func:`rq_obs.stack.collector.document`."""
    from rq_obs.stack import collector

    doc: dict[str, Any] = {
        "dist": {
            "name": BINARY,
            "description": "OpenTelemetry Collector with exactly the components rq-obs' collector/otelcol.yaml uses",
            "module": "github.com/rq-obs/rq-obs/otelcol-rq-obs",
            "version": RELEASE.lstrip("v") + "-rq-obs",
            "output_path": "./_build",
        },
        "providers": [{"gomod": _gomod(p)} for p in PROVIDERS],
    }
    for kind, modules in components(collector.document(config)).items():
        doc[kind] = [{"gomod": _gomod(m)} for m in modules]
    return doc


def render(config: Config) -> str:
    from rq_obs.stack.render import render_yaml

    return render_yaml(manifest(config), comments=(
        "OpenTelemetry Collector Builder (ocb) manifest: exactly the components collector/otelcol.yaml uses,",
        f"all at collector release {RELEASE} (core 1.x modules {STABLE}).",
        f"builder: {BUILDER}",
        f"Build: rq-obs stack collector   (or: go run {BUILDER} --config builder-config.yaml)",
    ))


def find_binary() -> str | None:
    """The rq-obs collector distribution on PATH or in the tools directory."""
    from rq_obs.toolpaths import find_tool

    return find_tool(BINARY)


@dataclass(frozen=True)
class Built:
    path: Path
    seconds: float


def build(config: Config, out: Path, *, timeout: float = 3600) -> Built:
    """Build the distribution with ocb (``go run``) and copy it to ``out``/:data:`BINARY`.

    Raises UsageError naming what is missing (Go) or the build's last lines when it fails.
    """
    import time

    import yaml

    go = shutil.which("go")
    if go is None:
        raise UsageError("building the collector needs Go (the `go` command, 1.24 or newer, with the Go module "
                         "proxy): install it (https://go.dev/doc/install, or Debian's golang-go), or use the "
                         "otel/opentelemetry-collector-contrib image the Docker stack runs")
    out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rq-obs-otelcol-") as work:
        spec = manifest(config)
        spec["dist"]["output_path"] = str(Path(work) / "dist")
        (Path(work) / "builder-config.yaml").write_text(yaml.safe_dump(spec, sort_keys=True), encoding="utf-8")
        env = {**os.environ, "CGO_ENABLED": "0"}
        try:
            cp = subprocess.run([go, "run", BUILDER, "--config", "builder-config.yaml"], cwd=work, env=env,
                                capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise UsageError(f"building the collector took longer than {timeout:.0f} s") from None
        if cp.returncode != 0:
            tail = " | ".join((cp.stdout + cp.stderr).strip().splitlines()[-8:])
            raise UsageError(f"building the collector with {BUILDER} failed (exit {cp.returncode}): {tail}")
        target = out / BINARY
        tmp = out / (BINARY + ".tmp")
        shutil.copy2(Path(work) / "dist" / BINARY, tmp)
        tmp.replace(target)
    return Built(target, time.monotonic() - start)
