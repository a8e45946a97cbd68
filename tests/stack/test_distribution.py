"""The builder manifest comes from the collector's pipeline; trace_backend = jaeger swaps Tempo for Jaeger."""

import pytest

from rq_obs.config import Config
from rq_obs.stack import collector, compose, distribution, grafana, jaeger, prometheus, tempo
from rq_obs.stack.validate import collector_problems
from tests.stack.conftest import load, make_config


def _types(doc, kind):
    return sorted({cid.split("/", 1)[0] for cid in doc.get(kind) or {}})


def test_manifest_lists_exactly_the_components_the_config_uses_at_one_release(write_stack):
    out = write_stack()
    config_doc = load(out / collector.PATH)
    manifest = load(out / distribution.PATH)
    for kind in ("receivers", "processors", "exporters", "connectors", "extensions"):
        modules = [entry["gomod"] for entry in manifest[kind]]
        assert modules == [f"{distribution.MODULES[(kind, t)]} {distribution.RELEASE}" for t in _types(config_doc, kind)]
    # one release: every 0.x module at RELEASE, the providers (core 1.x modules) at STABLE
    versions = {entry["gomod"].split()[1] for kind in ("receivers", "processors", "exporters", "connectors",
                                                       "extensions") for entry in manifest[kind]}
    assert versions == {distribution.RELEASE}
    assert {e["gomod"].split()[1] for e in manifest["providers"]} == {distribution.STABLE}
    assert manifest["dist"]["name"] == distribution.BINARY
    # the header names the builder that build-otelcol.sh runs
    assert f"# builder: go.opentelemetry.io/collector/cmd/builder@{distribution.RELEASE}\n" in \
        (out / distribution.PATH).read_text()


def test_contrib_image_is_the_manifest_release():
    from rq_obs.stack.images import IMAGES

    assert IMAGES["otel-collector"].endswith(":" + distribution.RELEASE.lstrip("v"))


def test_jaeger_backend_replaces_tempo_everywhere(write_stack):
    out = write_stack(make_config(trace_backend="jaeger"))
    assert not (out / tempo.PATH).exists()
    jdoc = load(out / jaeger.PATH)
    assert jdoc["receivers"]["otlp"]["protocols"]["grpc"] == {"endpoint": "0.0.0.0:4317"}
    assert jdoc["extensions"]["jaeger_query"]["http"] == {"endpoint": "0.0.0.0:16686"}
    assert collector_problems(jdoc) == []
    cdoc = load(out / collector.PATH)
    assert cdoc["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    assert cdoc["service"]["pipelines"]["traces"]["exporters"] == ["otlp/jaeger", "spanmetrics"]
    services = load(out / compose.PATH)["services"]
    assert "tempo" not in services and services["jaeger"]["image"].startswith("jaegertracing/jaeger:2.")
    assert services["jaeger"]["ports"] == ["127.0.0.1:16686:16686"]
    assert services["otel-collector"]["depends_on"] == {"jaeger": {"condition": "service_started"}}
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in load(out / prometheus.PATH)["scrape_configs"]}
    assert jobs["jaeger"] == ["jaeger:8888"] and "tempo" not in jobs
    sources = {d["uid"]: d for d in load(out / grafana.DATASOURCES_PATH)["datasources"]}
    assert sources["jaeger"]["type"] == "jaeger" and sources["jaeger"]["url"] == "http://jaeger:16686"
    assert "tempo" not in sources
    # the same trace links as with Tempo: exemplars and spans -> span metrics
    assert sources["prometheus"]["jsonData"]["exemplarTraceIdDestinations"] == [
        {"name": "trace_id", "datasourceUid": "jaeger"}]
    assert sources["jaeger"]["jsonData"]["tracesToMetrics"] == \
        {**grafana._traces_to_metrics()}


@pytest.mark.parametrize("alertmanager", [True, False])
def test_grafana_gets_an_alertmanager_data_source_when_the_stack_has_one(write_stack, alertmanager):
    out = write_stack(make_config(alertmanager=alertmanager))
    sources = {d["uid"]: d for d in load(out / grafana.DATASOURCES_PATH)["datasources"]}
    if alertmanager:
        assert sources["alertmanager"] == {
            "name": "Alertmanager", "type": "alertmanager", "uid": "alertmanager", "access": "proxy",
            "url": "http://alertmanager:9093", "editable": False,
            "jsonData": {"implementation": "prometheus", "handleGrafanaManagedAlerts": False}}
    else:
        assert "alertmanager" not in sources


def test_trace_backend_must_be_tempo_or_jaeger(tmp_path):
    from rq_obs.config import load as load_config
    from rq_obs.errors import ConfigError

    (tmp_path / "rq-obs.yaml").write_text("trace_backend: zipkin\n")
    with pytest.raises(ConfigError, match="trace_backend.*one of tempo, jaeger"):
        load_config(tmp_path, env={})


def test_localize_moves_every_listener_to_loopback_and_keeps_the_pipeline():
    doc = collector.document(Config())
    ports = {"otlp_grpc": 1, "otlp_http": 2, "prometheus": 3, "telemetry": 4, "health": 5}
    local = collector.localize(doc, ports, "127.0.0.1:9")
    assert local["service"]["pipelines"] == doc["service"]["pipelines"]
    assert local["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == "127.0.0.1:1"
    assert local["exporters"]["otlp/tempo"]["endpoint"] == "127.0.0.1:9"
    assert local["extensions"]["health_check"]["endpoint"] == "127.0.0.1:5"
    assert doc["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == "0.0.0.0:4317"  # not changed in place


def test_validate_runs_the_built_collector_on_the_generated_config(tmp_path, write_stack):
    """The real binary (built from the manifest) accepts the generated config and names a bad option."""
    from rq_obs.stack.validate import validate_dir
    from tests.helpers.procs import need_tool
    from rq_obs.demo.tracing import HOW_TO_GET

    need_tool(distribution.BINARY, HOW_TO_GET[distribution.BINARY])
    out = write_stack(full=False)
    checks = {c.name: c for c in validate_dir(out)}
    assert checks["collector validate"].ok, checks["collector validate"].detail
    doc = load(out / collector.PATH)
    doc["connectors"]["spanmetrics"]["dimension_cache_size"] = 10  # a typo the wiring check cannot see
    (out / collector.PATH).write_text(__import__("yaml").safe_dump(doc))
    checks = {c.name: c for c in validate_dir(out)}
    assert checks["collector pipelines"].ok
    bad = checks["collector validate"]
    assert not bad.ok and "dimension_cache_size" in bad.detail and "spanmetrics" in bad.detail, bad.detail


def test_stack_collector_without_go_exits_2_naming_go(tmp_path, monkeypatch):
    from tests.helpers.cli import run_cli

    monkeypatch.setenv("PATH", str(tmp_path))  # no go here
    result = run_cli("stack", "collector", "--out", tmp_path / "bin")
    assert result.code == 2
    assert "building the collector needs Go (the `go` command" in result.err
    assert not (tmp_path / "bin" / distribution.BINARY).exists()


def test_trace_links_search_jaeger_by_service_and_test_when_jaeger_is_the_backend():
    import json
    import urllib.parse

    from rq_obs.dashboards import render_all

    def links(config):
        text = json.dumps(render_all(config)["qa"])
        return [json.loads(urllib.parse.unquote(u.split("left=", 1)[1]))
                for u in set(__import__("re").findall(r'/explore\?orgId=1&left=[^"]+', text))]

    jaeger_links = links(make_config(trace_backend="jaeger"))
    assert jaeger_links and all(l["datasource"] == "jaeger" for l in jaeger_links)
    assert {l["queries"][0]["operation"] for l in jaeger_links} == {"${__data.fields.test:percentencode}",
                                                                    "${__field.labels.test:percentencode}"}
    assert all(l["queries"][0]["service"] == "rq-obs-tests" for l in jaeger_links)
    assert all(l["datasource"] == "tempo" and l["queries"][0]["queryType"] == "traceql" for l in links(Config()))
