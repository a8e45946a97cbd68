"""The deployed trace path on this host: the rq-obs collector distribution and Jaeger v2, on loopback.

Both run the generated configurations (:func:`rq_obs.stack.collector.document`,
:func:`rq_obs.stack.jaeger.document`) with every listener moved to a free 127.0.0.1 port, so what
the tests and ``rq-obs demo`` exercise is the pipeline the Docker stack deploys. Used by the demo
and by the end-to-end tests; the programs are found with :func:`rq_obs.toolpaths.find_tool`
(``rq-obs stack collector`` and ``.ci/tools/build-jaeger.sh`` build them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from rq_obs.config import Config
from rq_obs.demo.processes import Service, Services, free_port
from rq_obs.errors import UsageError

__all__ = ["Jaeger", "Collector", "Running", "start_jaeger", "start_collector", "start_traces", "restart", "HOW_TO_GET"]

#: How to get each program when it is missing (the demo prints it).
HOW_TO_GET = {
    "otelcol-rq-obs": "build it with `rq-obs stack collector` (needs Go and the Go module proxy)",
    "jaeger": "build it with .ci/tools/build-jaeger.sh (go build github.com/jaegertracing/jaeger/cmd/jaeger@v1.75.0)",
}


@dataclass(frozen=True)
class _Running:
    service: Service
    ports: Mapping[str, int]

    def address(self, port: str) -> str:
        return f"127.0.0.1:{self.ports[port]}"


@dataclass(frozen=True)
class Jaeger(_Running):
    @property
    def otlp_grpc(self) -> str:
        return self.address("otlp_grpc")

    @property
    def query_url(self) -> str:
        return "http://" + self.address("query_http")


@dataclass(frozen=True)
class Collector(_Running):
    config_path: Path

    @property
    def otlp_http(self) -> str:
        return "http://" + self.address("otlp_http")

    @property
    def metrics_target(self) -> str:
        """host:port of the prometheus exporter (span metrics), for a Prometheus scrape job."""
        return self.address("prometheus")

    @property
    def telemetry_target(self) -> str:
        return self.address("telemetry")

    @property
    def log_path(self) -> Path:
        return self.service.log_path


def _start_with_ports(services: Services, names: tuple[str, ...], make: Callable[[dict[str, int]], Service],
                      timeout: float, tries: int = 3) -> tuple[Service, dict[str, int]]:
    """Start ``make(ports)`` on free ports, new ones when another program took one first."""
    for attempt in range(tries):
        ports = {name: free_port() for name in names}
        if len(set(ports.values())) < len(ports):
            continue
        service = make(ports)
        try:
            return services.start(service, timeout), ports
        except UsageError:
            services.started.remove(service) if service in services.started else None
            service.stop()
            if attempt == tries - 1 or not service.lost_its_port():
                raise
    raise UsageError("could not find free ports")  # pragma: no cover


def _write_yaml(path: Path, doc: Mapping) -> Path:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(doc), sort_keys=True), encoding="utf-8")
    return path


def start_jaeger(services: Services, binary: str, config: Config, workdir: Path, logs: Path,
                 timeout: float = 90) -> Jaeger:
    """Jaeger v2 with the generated configuration on free loopback ports; ready when its query API answers."""
    from rq_obs.stack import jaeger

    def make(ports: dict[str, int]) -> Service:
        path = _write_yaml(workdir / "jaeger.yaml", jaeger.document(config, listen="127.0.0.1", ports=ports))
        return Service("jaeger", f"http://127.0.0.1:{ports['query_http']}", [binary, f"--config={path}"],
                       logs / "jaeger.log", ready_path="/api/services")

    service, ports = _start_with_ports(services, tuple(jaeger.PORTS), make, timeout)
    return Jaeger(service, ports)


def start_collector(services: Services, binary: str, config: Config, workdir: Path, logs: Path,
                    trace_endpoint: str, timeout: float = 60, retry_on_failure: Mapping | None = None) -> Collector:
    """The collector with the generated pipeline on free loopback ports, traces to ``trace_endpoint``;
    ``retry_on_failure`` replaces the trace exporters' retry settings (the collector's defaults retry for 5 min)."""
    from rq_obs.stack import collector

    def make(ports: dict[str, int]) -> Service:
        doc = collector.localize(collector.document(config), ports, trace_endpoint)
        for cid, exporter in doc["exporters"].items():
            if retry_on_failure is not None and cid.startswith("otlp/"):
                exporter["retry_on_failure"] = dict(retry_on_failure)
        path = _write_yaml(workdir / "otelcol.yaml", doc)
        return Service("otel-collector", f"http://127.0.0.1:{ports['health']}", [binary, f"--config={path}"],
                       logs / "otelcol.log", ready_path="/")

    service, ports = _start_with_ports(services, tuple(collector.PORTS), make, timeout)
    return Collector(service, ports, workdir / "otelcol.yaml")


def restart(service: Service, timeout: float = 60) -> None:
    """Stop ``service`` and start it again with the same arguments (and ports), ready before returning."""
    service.stop()
    service.start()
    service.wait_ready(timeout)


@dataclass(frozen=True)
class Running:
    """What :func:`start_traces` started: either may be None (its binary was not found)."""

    collector: Collector | None
    jaeger: Jaeger | None

    def scrape_jobs(self) -> dict[str, str]:
        """{Prometheus job of rq_obs.stack.prometheus.JOBS: host:port} of what runs."""
        jobs = {}
        if self.collector:
            jobs.update(spanmetrics=self.collector.metrics_target, otelcol=self.collector.telemetry_target)
        if self.jaeger:
            jobs["jaeger"] = self.jaeger.address("telemetry")
        return jobs

    def lines(self) -> list[tuple[str, str]]:
        out = []
        if self.collector:
            out.append(("otel-collector", self.collector.otlp_http))
        if self.jaeger:
            out.append(("jaeger", self.jaeger.query_url))
        return out


def start_traces(services: Services, config: Config, workdir: Path, logs: Path,
                 say: Callable[[str], None] = lambda s: None) -> Running:
    """Jaeger and the collector when their binaries are found (saying which ran, and how to get a missing one)."""
    from rq_obs.stack import distribution
    from rq_obs.toolpaths import find_tool

    collector_bin, jaeger_bin = distribution.find_binary(), find_tool("jaeger")
    jaeger = None
    if jaeger_bin:
        jaeger = start_jaeger(services, jaeger_bin, config, workdir, logs)
        say(f"jaeger: {jaeger_bin} (Jaeger v2), UI and API at {jaeger.query_url}")
    else:
        say(f"no Jaeger binary: traces are not kept; {HOW_TO_GET['jaeger']}")
    if not collector_bin:
        say(f"no collector binary ({distribution.BINARY}): the example suite exports no spans and the span-metric "
            f"panels stay empty; {HOW_TO_GET[distribution.BINARY]}")
        return Running(None, jaeger)
    # without Jaeger the trace exporter points at a port nobody listens on: span metrics still flow
    endpoint = jaeger.otlp_grpc if jaeger else f"127.0.0.1:{free_port()}"
    collector = start_collector(services, collector_bin, config, workdir, logs, endpoint)
    say(f"otel-collector: {collector_bin}, OTLP/HTTP at {collector.otlp_http}")
    return Running(collector, jaeger)
