"""Spans: in-memory exporter (exact attributes), a real OTLP/HTTP receiver on loopback, a collector that is down."""

import gzip
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rq_obs.telemetry.otlp import SESSION_SPAN_NAME, endpoint_from
from tests.helpers.procs import free_port
from tests.telemetry.conftest import warnings_in

SUITE = """
import pytest

def test_ok(rq_obs):
    rq_obs.variant = "B"
    with rq_obs.record_api_call("openai", "gpt-4o") as call:
        call.retry(429)
        call.usage(input=120, output=30, cached=20)
        call.latency = 0.5
    rq_obs.attach(prompt="v7")

def test_bad():
    assert False

@pytest.mark.skip(reason="no")
def test_skip():
    pass
"""


class ProviderPlugin:
    """Hands rq-obs a tracer provider with an in-memory exporter (the plugin's test hook)."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def pytest_rq_obs_tracer_provider(self, config):
        return self.provider


def test_spans_in_memory_have_the_documented_attributes_and_ids_are_stored(pytester, plain_env, store_file, rows):
    (pytester.path / "skills").mkdir()
    (pytester.path / "skills" / "SKILL.md").write_text("be nice\n")
    pytester.makepyfile(test_spans=SUITE)
    plugin = ProviderPlugin()
    result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}",
                                plugins=[plugin])
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    spans = {s.name: s for s in plugin.exporter.get_finished_spans()}
    assert sorted(spans) == sorted([SESSION_SPAN_NAME, "test_spans.py::test_ok", "test_spans.py::test_bad",
                                    "test_spans.py::test_skip"])
    session = spans[SESSION_SPAN_NAME]
    run_id, trace_id = rows.one("SELECT run_id, trace_id FROM runs")
    assert trace_id == format(session.context.trace_id, "032x")
    skill_sha = rows.one("SELECT sha256 FROM tracked_files")
    assert dict(session.attributes) == {
        "test.suite.name": "demo", "test.run_id": run_id, "test.run_sequence": 1,
        "rq_obs.tracked_file.skills/SKILL.md.sha256": skill_sha,
        "test.suite.run.status": "failure", "test.attempts": 3,
    }
    ok = spans["test_spans.py::test_ok"]
    assert ok.parent.span_id == session.context.span_id and ok.context.trace_id == session.context.trace_id
    attrs = dict(ok.attributes)
    assert 0 <= attrs.pop("test.duration_seconds") < 5
    assert attrs == {
        "test.suite.name": "demo", "test.run_id": run_id, "test.run_sequence": 1,
        "rq_obs.tracked_file.skills/SKILL.md.sha256": skill_sha,
        "test.case.name": "test_spans.py::test_ok", "test.case.result.status": "pass",
        "test.outcome": "passed", "test.attempt": 1, "test.worker": "main", "test.variant": "B",
        "test.category": "none", "rq_obs.attribute.prompt": "v7",
        "gen_ai.provider.name": "openai", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 120, "gen_ai.usage.output_tokens": 30,
        "gen_ai.usage.cache_read.input_tokens": 20, "rq_obs.api.calls": 1, "rq_obs.api.retries": 1,
        "rq_obs.api.latency_seconds": 0.5, "rq_obs.api.status_codes": (200,), "rq_obs.api.retry_reasons": ("429",),
    }
    bad = spans["test_spans.py::test_bad"]
    assert bad.status.status_code.name == "ERROR" and bad.attributes["test.case.result.status"] == "fail"
    assert ok.status.status_code.name == "UNSET"
    assert "test.case.result.status" not in spans["test_spans.py::test_skip"].attributes
    # the store keeps each attempt's trace and span id, so a dashboard can link to Tempo
    stored = dict((t, (tr, sp)) for t, tr, sp in rows("SELECT test, trace_id, span_id FROM attempts"))
    for name in ("test_spans.py::test_ok", "test_spans.py::test_bad", "test_spans.py::test_skip"):
        s = spans[name]
        assert stored[name] == (format(s.context.trace_id, "032x"), format(s.context.span_id, "016x"))
        assert s.start_time < s.end_time


class Receiver:
    """A real OTLP/HTTP endpoint on loopback that decodes ExportTraceServiceRequest protobufs.

    ``statuses``: HTTP statuses to answer in turn before answering 200 (a collector that is busy or broken); an
    entry may be ``(status, {header: value})``. ``port``: listen there (default: any free port). Request paths
    are kept: through a plain-HTTP proxy they are absolute URLs.
    """

    def __init__(self, statuses=(), port=0) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.statuses = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a collector does

            def do_POST(self):  # noqa: N802
                body = self._body()
                receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                receiver.paths.append(self.path)
                encoding = self.headers.get("Content-Encoding")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                ok = self.path.endswith("/v1/traces") and self.headers.get("Content-Type") == "application/x-protobuf"
                status = receiver.statuses.pop(0) if receiver.statuses else (200 if ok else 404)
                extra = {}
                if isinstance(status, tuple):
                    status, extra = status
                if status == 200:
                    req = ExportTraceServiceRequest()
                    req.ParseFromString(body)
                    receiver.requests.append(req)
                payload = ExportTraceServiceResponse().SerializeToString()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                    return self.rfile.read(int(self.headers["Content-Length"]))
                chunks = []  # HTTP/1.1 chunked framing (the OpenTelemetry JS exporters stream their bodies)
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    chunk = self.rfile.read(size)
                    self.rfile.readline()
                    if size == 0:
                        return b"".join(chunks)
                    chunks.append(chunk)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def spans(self):
        out = []
        for req in self.requests:
            for rs in req.resource_spans:
                resource = {a.key: a.value.string_value for a in rs.resource.attributes}
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        out.append((resource, span))
        return out


def _attr(span, key):
    for a in span.attributes:
        if a.key == key:
            v = a.value
            return getattr(v, v.WhichOneof("value"))
    raise KeyError(key)


def test_spans_reach_a_real_otlp_http_receiver(pytester, plain_env, store_file, rows):
    pytester.makepyfile(test_spans=SUITE)
    with Receiver() as receiver:
        plain_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
        result.assert_outcomes(passed=1, failed=1, skipped=1)
        # the session end flushes the batch processor before pytest returns: no waiting needed
        got = receiver.spans()
    assert warnings_in(result.stdout.str()) == []
    assert {r["service.name"] for r, _ in got} == {"rq-obs-tests"}
    by_name = {s.name: s for _, s in got}
    assert sorted(by_name) == sorted([SESSION_SPAN_NAME, "test_spans.py::test_ok", "test_spans.py::test_bad",
                                      "test_spans.py::test_skip"])
    assert {n: _attr(s, "test.outcome") for n, s in by_name.items() if n != SESSION_SPAN_NAME} == {
        "test_spans.py::test_ok": "passed", "test_spans.py::test_bad": "failed", "test_spans.py::test_skip": "skipped"}
    ok = by_name["test_spans.py::test_ok"]
    assert _attr(ok, "gen_ai.usage.input_tokens") == 120 and _attr(ok, "gen_ai.request.model") == "gpt-4o"
    assert ok.parent_span_id == by_name[SESSION_SPAN_NAME].span_id
    assert rows.one("SELECT trace_id FROM attempts WHERE test LIKE '%test_ok'") == ok.trace_id.hex()
    assert rows.one("SELECT span_id FROM attempts WHERE test LIKE '%test_ok'") == ok.span_id.hex()


def test_a_collector_that_is_down_costs_one_warning_and_the_run_is_stored(pytester, plain_env, store_file, rows):
    pytester.makepyfile(test_spans=SUITE)
    plain_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    plain_env.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")  # refused connections are retried within the timeout
    plain = pytester.runpytest("-p", "no:cacheprovider", "--no-rq-obs")
    result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    assert result.ret == plain.ret == 1
    assert result.parseoutcomes() == plain.parseoutcomes()
    warned = warnings_in(result.stdout.str())
    assert len(warned) == 1, result.stdout.str()
    assert "could not export spans to http://127.0.0.1:" in warned[0] and "the run is in the store" in warned[0]
    assert rows.one("SELECT status FROM runs") == "complete"
    assert rows.one("SELECT COUNT(*) FROM attempts") == 3


def test_endpoint_resolution():
    assert endpoint_from("", {}) == ""
    assert endpoint_from("", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) == "http://c:4318/v1/traces"
    assert endpoint_from("", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/",
                              "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:4318/custom"}) == "http://t:4318/custom"
    assert endpoint_from("http://cfg:4318", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) == "http://cfg:4318/v1/traces"
    assert endpoint_from("http://cfg:4318/v1/traces", {}) == "http://cfg:4318/v1/traces"
