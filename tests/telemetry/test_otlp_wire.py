"""Spans to an OTLP/HTTP endpoint without the SDK (rq_obs.telemetry.otlp_wire): the same spans the SDK makes,
the exporter environment variables honoured, retries, failures, ids that a test's random.seed() cannot repeat."""

import time

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rq_obs import __version__
from rq_obs.telemetry import otlp_wire
from rq_obs.telemetry.otlp import SCOPE_NAME, SESSION_SPAN_NAME, SpanSink, make_sink
from tests.helpers.procs import wait_until
from tests.telemetry.conftest import warnings_in
from tests.telemetry.test_otlp import SUITE, Receiver

T0 = 1_700_000_000_000_000_000
BASE = {"test.suite.name": "demo", "vcs.ref.head.revision": "a" * 40, "test.run_id": "r1",
        "rq_obs.tracked_file.skills/SKILL.md.sha256": "c" * 64}
EVERY_TYPE = {
    "test.case.name": "tests/test_x.py::test_ünïcode[✓]", "empty": "", "test.attempt": 2, "negative": -7,
    "large": 2**62, "test.duration_seconds": 0.125, "yes": True, "no": False, "test.markers": ["slow", "llm"],
    "rq_obs.api.status_codes": [200, 0, 429], "floats": [0.5, -1.25], "bools": [True, False], "none": [],
}


def _drive(sink):
    """The calls the recorder makes for a run of two attempts."""
    sink.start_session(T0, BASE)
    sink.set_session_attributes({"test.run_sequence": 3})
    ids = [sink.attempt("tests/test_x.py::test_ok", T0 + 10, T0 + 2_000_010, EVERY_TYPE, False),
           sink.attempt("tests/test_x.py::test_bad", T0 + 3_000_000, T0 + 4_000_000, {"test.outcome": "failed"}, True)]
    assert sink.finish(T0 + 5_000_000, {"test.suite.run.status": "failure", "test.attempts": 2}) is None
    return ids


def _by_name(request: ExportTraceServiceRequest):
    out = {}
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            assert (ss.scope.name, ss.scope.version) == (SCOPE_NAME, __version__)
            for span in ss.spans:
                out[span.name] = span
    return out


def _without_ids(span):
    copy = type(span)()
    copy.CopyFrom(span)
    for field in ("trace_id", "span_id", "parent_span_id"):
        copy.ClearField(field)
    return copy


def test_wire_spans_equal_the_sdk_spans_field_by_field():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _drive(SpanSink(provider))
    sdk = _by_name(encode_spans(exporter.get_finished_spans()))

    with Receiver() as receiver:
        sink = make_sink("rq-obs-tests", receiver.url + "/v1/traces", env={})
        assert isinstance(sink, otlp_wire.WireSink)
        ids = _drive(sink)
    assert len(receiver.requests) == 1  # two attempts and the session: one request at the end
    wire = _by_name(receiver.requests[0])

    assert sorted(wire) == sorted(sdk) == sorted([SESSION_SPAN_NAME, "tests/test_x.py::test_ok",
                                                  "tests/test_x.py::test_bad"])
    for name in wire:
        a, b = _without_ids(wire[name]), _without_ids(sdk[name])
        assert a == b, name  # kind, times, every attribute in order and type, status, flags
    # ids: one trace; attempts are children of the session; the ids returned are the ones sent
    spans = wire
    session = spans[SESSION_SPAN_NAME]
    assert len(session.trace_id) == 16 and len(session.span_id) == 8 and session.parent_span_id == b""
    for (trace_hex, span_hex), name in zip(ids, ["tests/test_x.py::test_ok", "tests/test_x.py::test_bad"]):
        span = spans[name]
        assert (span.trace_id.hex(), span.span_id.hex()) == (trace_hex, span_hex)
        assert span.trace_id == session.trace_id and span.parent_span_id == session.span_id
    assert len({s.span_id for s in spans.values()}) == 3
    resource = {a.key: a.value.string_value for a in receiver.requests[0].resource_spans[0].resource.attributes}
    assert resource["service.name"] == "rq-obs-tests" and resource["telemetry.sdk.name"] == "rq-obs"


def test_values_the_sdk_would_reject_are_still_sent_readably():
    # an integer past int64 (the SDK's protobuf encoder raises on it) goes as text; a lone surrogate as '?'
    value = ExportTraceServiceRequest()
    value.ParseFromString(otlp_wire._field(b"\x0a", otlp_wire._field(b"\x0a", otlp_wire._field(
        b"\x0a", otlp_wire._field(b"\x12", otlp_wire.encode_value(2**70))))))
    assert value.resource_spans[0].resource.attributes[0].value.string_value == str(2**70)
    assert otlp_wire.encode_value("a\udc80b") == b"\x0a\x03a?b"
    assert otlp_wire.encode_value(-1) == b"\x18" + b"\xff" * 9 + b"\x01"  # int64 -1: ten-byte varint


def test_exporter_environment_headers_compression_and_resource(pytester, plain_env, store_file, rows):
    pytester.makepyfile(test_spans=SUITE)
    with Receiver() as receiver:
        plain_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        plain_env.setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20s3cr3t-t0ken, x-scope-orgid=team-a")
        plain_env.setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip")
        plain_env.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci,service.name=not-this-one")
        result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    assert warnings_in(result.stdout.str()) == []
    assert len(receiver.requests) == 1
    sent = receiver.headers[0]
    assert sent["authorization"] == "Bearer s3cr3t-t0ken" and sent["x-scope-orgid"] == "team-a"
    assert sent["content-encoding"] == "gzip" and sent["user-agent"] == f"rq-obs/{__version__}"
    resource = receiver.spans()[0][0]
    assert resource["deployment.environment"] == "ci" and resource["service.name"] == "rq-obs-tests"
    assert len(receiver.spans()) == 4
    # the credential went on the wire and nowhere else
    output = result.stdout.str() + result.stderr.str()
    assert "s3cr3t" not in output
    assert b"s3cr3t" not in b"".join(p.read_bytes() for p in store_file.parent.iterdir())


def test_deflate_and_a_malformed_header_entry(pytester, plain_env, store_file):
    pytester.makepyfile(test_spans=SUITE)
    with Receiver() as receiver:
        plain_env.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.url + "/v1/traces")
        plain_env.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "deflate")
        plain_env.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team=qa,token-without-value")
        result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    assert receiver.headers[0]["content-encoding"] == "deflate" and receiver.headers[0]["x-team"] == "qa"
    assert len(receiver.spans()) == 4
    assert warnings_in(result.stdout.str()) == [
        "rq-obs: warning: spans: OTEL_EXPORTER_OTLP_HEADERS: entry 2 ignored (expected key=value)"]


def test_a_busy_collector_is_retried_and_gets_every_span(pytester, plain_env, store_file):
    pytester.makepyfile(test_spans=SUITE)
    with Receiver(statuses=[503, 429]) as receiver:
        plain_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    assert warnings_in(result.stdout.str()) == []
    assert len(receiver.headers) == 3 and len(receiver.spans()) == 4


def test_a_collector_that_refuses_costs_one_warning_and_the_run_is_stored(pytester, plain_env, store_file, rows):
    pytester.makepyfile(test_spans=SUITE)
    with Receiver(statuses=[400]) as receiver:
        plain_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    assert warnings_in(result.stdout.str()) == [
        f"rq-obs: warning: could not export spans to {receiver.url}/v1/traces (the collector answered HTTP 400); "
        "4 span(s) not sent; the run is in the store, nothing was lost"]
    assert rows.one("SELECT status, COUNT(*) FROM runs") == ("complete", 1)
    assert rows.one("SELECT COUNT(*) FROM attempts") == 3


def test_a_malformed_endpoint_is_a_warning_and_the_run_is_recorded(pytester, plain_env, store_file, rows):
    pytester.makepyfile(test_spans=SUITE)
    plain_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")
    result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    assert warnings_in(result.stdout.str()) == [
        "rq-obs: warning: no spans exported: OTLP endpoint 'collector:4318/v1/traces': "
        "expected an http:// or https:// URL"]
    assert rows.one("SELECT COUNT(*) FROM attempts") == 3
    assert rows.one("SELECT trace_id FROM runs") == ""


def test_otel_sdk_disabled_turns_span_export_off(pytester, plain_env, store_file, rows):
    pytester.makepyfile(test_spans=SUITE)
    with Receiver() as receiver:
        plain_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        plain_env.setenv("OTEL_SDK_DISABLED", "true")
        result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    assert warnings_in(result.stdout.str()) == [] and receiver.headers == []
    assert rows.one("SELECT COUNT(*) FROM attempts WHERE trace_id = ''") == 3


def test_a_test_seeding_random_cannot_repeat_span_ids(pytester, plain_env, store_file, rows):
    # the SDK's default id generator draws from the random module, which tests reseed
    pytester.makepyfile(test_seeded="""
        import random
        import pytest

        @pytest.mark.parametrize("i", range(3))
        def test_seeded(i):
            random.seed(0)
    """)
    with Receiver() as receiver:
        plain_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        for _ in range(2):
            pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    spans = [s for _, s in receiver.spans()]
    assert len(spans) == 8
    assert len({s.span_id for s in spans}) == 8 and len({s.trace_id for s in spans}) == 2
    assert sorted(rows("SELECT DISTINCT trace_id FROM runs")) == sorted((t.hex(),) for t in {s.trace_id for s in spans})


def test_many_attempts_go_in_batches_and_all_arrive(pytester, plain_env, store_file, rows):
    n = otlp_wire.BATCH_SPANS + 88
    pytester.makepyfile(test_many=f"""
        import pytest

        @pytest.mark.parametrize("i", range({n}))
        def test_many(i):
            pass
    """)
    with Receiver() as receiver:
        plain_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    assert len(receiver.requests) >= 2
    spans = [s for _, s in receiver.spans()]
    assert len(spans) == n + 1 and len({s.span_id for s in spans}) == n + 1
    stored = {(t, s) for t, s in rows("SELECT trace_id, span_id FROM attempts")}
    assert stored == {(s.trace_id.hex(), s.span_id.hex()) for s in spans if s.name != SESSION_SPAN_NAME}


def test_finish_gives_up_on_a_collector_that_never_answers_within_the_flush_timeout():
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections (the kernel does) but never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1/traces"
        sink = otlp_wire.WireSink(otlp_wire.export_settings(url, {"OTEL_EXPORTER_OTLP_TIMEOUT": "30"}),
                                  {"service.name": "s"}, SCOPE_NAME)
        sink.start_session(T0, BASE)
        sink.attempt("t", T0, T0 + 1, {}, False)
        began = time.monotonic()
        warning = sink.finish(T0 + 2, {}, flush_timeout_s=0.5)
        assert time.monotonic() - began < 5
        assert warning == (f"could not export spans to {url} within 0.5 s; the run is in the store, nothing was lost")
    finally:
        listener.close()


def test_exporting_spans_does_not_import_the_opentelemetry_sdk(pytester, plain_env, store_file):
    # the SDK's import is most of what span export used to cost a session (docs/BENCHMARKS.md)
    pytester.makepyfile(test_modules="""
        import sys

        def test_no_sdk():
            assert [m for m in sys.modules if m.startswith(("opentelemetry", "google.protobuf", "requests"))] == []
    """)
    with Receiver() as receiver:
        plain_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    result.assert_outcomes(passed=1)
    assert len(receiver.spans()) == 2


def test_settings_name_what_they_ignore_and_never_a_header_value(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    s = otlp_wire.export_settings("https://otlp.example:4318/v1/traces", {
        "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Basic%20c2VjcmV0,=no-key",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "-3", "OTEL_EXPORTER_OTLP_COMPRESSION": "brotli",
        "OTEL_EXPORTER_OTLP_CERTIFICATE": str(ca), "OTEL_EXPORTER_OTLP_CLIENT_KEY": str(tmp_path / "missing.key")})
    assert (s.https, s.host, s.port, s.path) == (True, "otlp.example", 4318, "/v1/traces")
    assert s.headers["authorization"] == "Basic c2VjcmV0" and (s.compression, s.timeout) == ("none", 5.0)
    assert (s.cafile, s.client_key) == (str(ca), "")
    assert s.problems == [
        "OTEL_EXPORTER_OTLP_HEADERS: entry 2 ignored (expected key=value)",
        "OTEL_EXPORTER_OTLP_COMPRESSION='brotli' ignored (expected gzip, deflate or none)",
        "OTEL_EXPORTER_OTLP_TIMEOUT='-3' ignored (expected seconds > 0)",
        f"OTEL_EXPORTER_OTLP_CLIENT_KEY={str(tmp_path / 'missing.key')!r} ignored (no such file)"]
    assert not any("c2VjcmV0" in p for p in s.problems)


def test_a_header_value_that_cannot_be_sent_is_skipped_and_never_printed(pytester, plain_env, store_file):
    pytester.makepyfile(test_spans=SUITE)
    with Receiver() as receiver:
        plain_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        plain_env.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team=qa,Authorization=Bearer%20S3CRET-T0KEN%0Aline2")
        result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    assert warnings_in(result.stdout.str()) == [
        "rq-obs: warning: spans: OTEL_EXPORTER_OTLP_HEADERS: entry 2 ignored (a header name is a token, its value "
        "one line of Latin-1 text)"]
    assert "S3CRET" not in result.stdout.str() + result.stderr.str()
    assert receiver.headers[0]["x-team"] == "qa" and "authorization" not in receiver.headers[0]
    assert len(receiver.spans()) == 4


def test_retry_after_zero_cannot_make_a_tight_loop(pytester, plain_env, store_file, monkeypatch):
    monkeypatch.setattr(otlp_wire, "MAX_TRIES", 3)  # back-off 0.25 s, 0.5 s (the plugin runs in this process)
    pytester.makepyfile(test_spans=SUITE)
    with Receiver(statuses=[(503, {"Retry-After": "0"})] * 50) as receiver:
        plain_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        plain_env.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "30")
        result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    assert len(receiver.headers) == 3  # Retry-After 0 still waits the back-off; then it gives up on the batch
    assert warnings_in(result.stdout.str()) == [
        f"rq-obs: warning: could not export spans to {receiver.url}/v1/traces (the collector answered HTTP 503); "
        "4 span(s) not sent; the run is in the store, nothing was lost"]


def test_a_collector_that_starts_late_still_gets_the_spans(pytester, plain_env, store_file):
    import threading

    from tests.helpers.procs import free_port

    port = free_port()
    pytester.makepyfile(test_spans=SUITE)
    plain_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    late = Receiver(port=port)
    starter = threading.Timer(0.3, late.__enter__)  # a sidecar collector still starting when the run ends
    starter.start()
    try:
        result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    finally:
        starter.join()
        late.__exit__(None, None, None)
    assert warnings_in(result.stdout.str()) == []
    assert len(late.spans()) == 4


def test_proxies_and_credentials_in_the_endpoint(pytester, plain_env, store_file):
    import base64

    pytester.makepyfile(test_spans=SUITE)
    with Receiver() as proxy:
        # a plain-HTTP proxy gets the absolute URL and its own credentials; the collector's go in Authorization
        plain_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ci:pa%20ss@collector.internal:4318")
        plain_env.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://proxyuser:proxypw@"))
        result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    assert warnings_in(result.stdout.str()) == []
    assert proxy.paths == ["http://collector.internal:4318/v1/traces"]
    sent = proxy.headers[0]
    assert sent["authorization"] == "Basic " + base64.b64encode(b"ci:pa ss").decode()
    assert sent["proxy-authorization"] == "Basic " + base64.b64encode(b"proxyuser:proxypw").decode()
    assert len(proxy.spans()) == 4
    # NO_PROXY, and loopback, go direct
    env = {"HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": ".internal"}
    assert otlp_wire.export_settings("http://collector.internal:4318/v1/traces", env).proxy_host == ""
    assert otlp_wire.export_settings("http://127.0.0.1:4318/v1/traces", {"HTTP_PROXY": "http://p:3128"}).proxy_host == ""
    assert otlp_wire.export_settings("http://otel.example:4318/v1/traces", {"HTTP_PROXY": "http://p:3128"}).proxy_port == 3128


def test_messages_show_the_endpoint_without_credentials(pytester, plain_env, store_file):
    pytester.makepyfile(test_spans=SUITE)
    with Receiver(statuses=[401]) as receiver:
        url = receiver.url.replace("http://", "http://ci:hunter2@") + "/v1/traces?api_key=k3y"
        plain_env.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url)
        result = pytester.runpytest("-p", "no:cacheprovider", "--rq-obs", f"--rq-obs-store={store_file}")
    out = result.stdout.str() + result.stderr.str()
    assert "hunter2" not in out and "k3y" not in out
    assert f"could not export spans to {receiver.url}/v1/traces (the collector answered HTTP 401)" in out


def test_a_slow_collector_loses_only_the_overflow(monkeypatch):
    import threading

    monkeypatch.setattr(otlp_wire, "BATCH_SPANS", 2)
    monkeypatch.setattr(otlp_wire, "MAX_PENDING_BATCHES", 3)
    sink = otlp_wire.WireSink(otlp_wire.export_settings("http://127.0.0.1:9/v1/traces", {}), {}, SCOPE_NAME)
    gate, busy, posted = threading.Event(), threading.Event(), []
    monkeypatch.setattr(sink._sender, "_post", lambda body: (busy.set(), gate.wait(10), posted.append(body)))
    sink.start_session(T0, BASE)
    sink.attempt("t0", T0, T0 + 1, {}, False)
    sink.attempt("t1", T0, T0 + 1, {}, False)
    assert busy.wait(10)  # the first batch is being posted, to a collector that does not answer yet
    for i in range(2, 20):  # 9 more batches: 3 wait, 6 are dropped
        sink.attempt(f"t{i}", T0, T0 + 1, {}, False)
    assert sink._sender.queue.qsize() == 3 and sink._sender.overflowed == 12
    gate.set()
    wait_until(lambda: sink._sender.queue.qsize() == 0, 10, what="the collector to catch up")
    warning = sink.finish(T0 + 2, {})
    assert warning == ("the collector at http://127.0.0.1:9/v1/traces was too slow: 12 span(s) dropped while 6 "
                       "waited; the run is in the store, nothing was lost")
    assert sink._sender.exported == 20 + 1 - 12 and len(posted) == 5  # 4 batches of 2, then the session span
