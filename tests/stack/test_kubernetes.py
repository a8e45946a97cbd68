"""The Helm chart (`rq-obs build --target kubernetes`): real `helm lint` / `helm template`, every rendered
object validated against the Kubernetes and operator CRD schemas, and its contents equal to the compose
stack's (rules through `promtool check rules`, dashboards byte for byte, Grafana provisioning, collector)."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from rq_obs import build, dashboards, rules
from rq_obs.stack import collector, grafana
from rq_obs.stack.kubernetes import CHART, KPS_VALUES
from rq_obs.stack.kubernetes import values as chart_values
from tests.helpers.cli import run_cli
from tests.helpers.kubernetes import SCHEMAS, run_helm, schema_path, template, validator_at, violations
from tests.helpers.procs import PROMTOOL, need
from tests.stack.conftest import make_config

#: The collector's trace exporter id in the default stack (Tempo), as the collector definition names it.
TEMPO_EXPORTER = collector.trace_exporter(make_config())
#: Every option that adds objects: collector as a plain Deployment, Grafana Operator objects, both data sources.
ALL_OPTIONS = {
    "collector": {"mode": "deployment", "exporterEndpoints": {TEMPO_EXPORTER: "tempo.tracing.svc:4317"}},
    "grafana": {"dashboards": {"operator": {"enabled": True}}, "datasources": {
        "operator": {"enabled": True},
        "urls": {"prometheus": "http://kube-prometheus-stack-prometheus.monitoring:9090",
                 "tempo": "http://tempo.tracing.svc:3200", "rq-obs-api": "http://rq-obs.monitoring.svc:9464"}},
        "alerting": {"notificationPolicies": True, "operator": {"enabled": True}}},
}


@pytest.fixture(scope="module")
def chart(tmp_path_factory):
    """(config, chart directory, default objects, all-options objects)."""
    config = make_config()
    out = tmp_path_factory.mktemp("k8s")
    build.write(out, build.collect(config, targets=("kubernetes",)))
    options = out / "all-options.yaml"
    options.write_text(yaml.safe_dump(ALL_OPTIONS))
    return config, out / CHART, template(out / CHART), template(out / CHART, options)


def by_kind(objs, kind):
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def test_helm_lint_passes_with_default_and_all_options(chart, tmp_path):
    _, path, _, _ = chart
    options = tmp_path / "all.yaml"
    options.write_text(yaml.safe_dump(ALL_OPTIONS))
    for extra in ([], ["--values", options]):
        cp = run_helm("lint", path, "--strict", *extra)
        assert cp.returncode == 0, cp.stdout + cp.stderr
        assert "1 chart(s) linted, 0 chart(s) failed" in cp.stdout


def test_every_rendered_object_validates_against_its_schema(chart):
    _, _, default, everything = chart
    kinds = {(o["apiVersion"], o["kind"]) for o in default + everything}
    assert kinds == {
        ("v1", "ServiceAccount"), ("v1", "ConfigMap"), ("v1", "Service"), ("apps/v1", "StatefulSet"),
        ("apps/v1", "Deployment"), ("policy/v1", "PodDisruptionBudget"), ("networking.k8s.io/v1", "NetworkPolicy"),
        ("monitoring.coreos.com/v1", "ServiceMonitor"), ("monitoring.coreos.com/v1", "PodMonitor"),
        ("monitoring.coreos.com/v1", "PrometheusRule"), ("grafana.integreatly.org/v1beta1", "GrafanaDashboard"),
        ("grafana.integreatly.org/v1beta1", "GrafanaDatasource"), ("grafana.integreatly.org/v1beta1", "GrafanaFolder"),
        ("grafana.integreatly.org/v1beta1", "GrafanaAlertRuleGroup"),
        ("grafana.integreatly.org/v1beta1", "GrafanaContactPoint"),
        ("opentelemetry.io/v1beta1", "OpenTelemetryCollector"),
    }
    for obj in default + everything:
        assert schema_path(obj).is_file(), schema_path(obj)
        assert violations(obj) == [], f"{obj['kind']}/{obj['metadata']['name']}"


def test_the_schema_check_catches_a_wrong_field(chart):
    """The validation above is not vacuous: a typo and a wrong type in a rendered object are reported."""
    _, _, default, _ = chart
    sts = json.loads(json.dumps(by_kind(default, "StatefulSet")["rq-obs"]))
    sts["spec"]["replicas"] = "one"
    sts["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    problems = violations(sts)
    assert any(p.startswith("spec/replicas: 'one' is not of type 'integer'") for p in problems), problems
    assert any("'readinessProbes' was unexpected" in p for p in problems), problems


def test_serve_workload_is_closed_and_probed(chart):
    _, _, default, _ = chart
    sts = by_kind(default, "StatefulSet")["rq-obs"]
    pod = sts["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["ports"] == [{"name": "http", "containerPort": 9464, "protocol": "TCP"}]
    assert c["resources"]["limits"] and c["resources"]["requests"]
    assert c["env"] == [{"name": "RQ_OBS_TOKEN",
                         "valueFrom": {"secretKeyRef": {"name": "rq-obs-token", "key": "token"}}}]
    assert {m["mountPath"] for m in c["volumeMounts"]} == {"/data", "/etc/rq-obs", "/tmp"}
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    # the exporter config the image reads (/etc/rq-obs/rq-obs.yaml) is the compose stack's exporters/rq-obs.yaml
    cm = by_kind(default, "ConfigMap")["rq-obs-config"]
    from rq_obs.stack import exporter

    assert cm["data"]["rq-obs.yaml"] == exporter.render_config(make_config())
    pdb = by_kind(default, "PodDisruptionBudget")["rq-obs"]
    policy = by_kind(default, "NetworkPolicy")["rq-obs"]
    labels = sts["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["selector"]["matchLabels"] == labels == policy["spec"]["podSelector"]["matchLabels"]
    assert policy["spec"]["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]
    sm = by_kind(default, "ServiceMonitor")["rq-obs"]
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert sm["spec"]["endpoints"][0]["relabelings"] == [{"action": "replace", "targetLabel": "job",
                                                          "replacement": "rq-obs"}]
    assert by_kind(default, "Service")["rq-obs"]["spec"]["selector"] == labels


def test_rules_in_prometheusrules_equal_the_rule_files_and_pass_promtool(chart, tmp_path):
    config, _, default, _ = chart
    expected = {p.rsplit("/", 1)[1]: yaml.safe_load(t) for p, t in rules.artifacts(config).items() if p.startswith("rules/")}
    objs = by_kind(default, "PrometheusRule")
    assert set(objs) == {"rq-obs-alerts", "rq-obs-rules"}
    for name, obj in objs.items():
        rule_file = name.replace("rq-obs-", "rq-obs.") + ".yml"
        assert obj["spec"] == expected[rule_file]
        path = tmp_path / rule_file
        path.write_text(yaml.safe_dump(obj["spec"]))
        cp = subprocess.run([need(PROMTOOL, "prometheus"), "check", "rules", str(path)], capture_output=True, text=True)
        assert cp.returncode == 0, cp.stdout + cp.stderr
        n = sum(len(g["rules"]) for g in obj["spec"]["groups"])
        assert f"SUCCESS: {n} rules found" in cp.stdout


def test_dashboards_in_configmaps_equal_dashboards_json(chart):
    config, _, default, everything = chart
    expected = dashboards.artifacts(config)
    cms = {n: o for n, o in by_kind(default, "ConfigMap").items() if n.startswith("rq-obs-dashboard-")}
    got = {f"dashboards/{k}": v for o in cms.values() for k, v in o["data"].items()}
    assert got == expected  # byte for byte
    for o in cms.values():
        assert o["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert o["metadata"]["annotations"] == {"grafana_folder": "rq-obs"}
    # the Grafana Operator's objects read those ConfigMaps
    refs = {o["spec"]["configMapRef"]["key"]: o["spec"]["configMapRef"]["name"]
            for o in by_kind(everything, "GrafanaDashboard").values()}
    assert refs == {f"{n}.json": f"rq-obs-dashboard-{n}" for n in dashboards.NAMES}


def test_grafana_provisioning_equals_the_compose_stacks(chart):
    config, _, default, everything = chart
    compose = rules.artifacts(config)
    alerting = by_kind(default, "ConfigMap")["rq-obs-alerting"]
    assert alerting["metadata"]["labels"]["grafana_alert"] == "1"
    want = {p.rsplit("/", 1)[1]: t for p, t in compose.items() if p.startswith("grafana/provisioning/alerting/")}
    policies = "rq-obs-policies.yaml"
    assert alerting["data"] == {k: v for k, v in want.items() if k != policies}  # the policy tree only when asked
    assert by_kind(everything, "ConfigMap")["rq-obs-alerting"]["data"] == want
    # data sources: by default only Tempo (kube-prometheus-stack's Grafana has uid prometheus)
    ds = yaml.safe_load(by_kind(default, "ConfigMap")["rq-obs-datasources"]["data"]["rq-obs-datasources.yaml"])
    compose_ds = {d["uid"]: d for d in grafana.datasources(config)["datasources"]}
    assert [d["uid"] for d in ds["datasources"]] == ["tempo"]
    assert ds["datasources"][0] == compose_ds["tempo"]
    ds_all = yaml.safe_load(by_kind(everything, "ConfigMap")["rq-obs-datasources"]["data"]["rq-obs-datasources.yaml"])
    urls = ALL_OPTIONS["grafana"]["datasources"]["urls"]
    assert ds_all["datasources"][:2] == [{**compose_ds[u], "url": urls[u]} for u in ("prometheus", "tempo")]
    # rq-obs serve's API (Infinity): the cluster URL, and that URL as its only allowed host
    api = compose_ds["rq-obs-api"]
    assert ds_all["datasources"][2:] == [{**api, "url": urls["rq-obs-api"],
                                          "jsonData": {**api["jsonData"], "allowedHosts": [urls["rq-obs-api"]]}}]
    # alerting as Grafana Operator objects: the same rule group, the contact point's URL from a Secret
    (group,) = yaml.safe_load(want["rq-obs-rules.yaml"])["groups"]
    (rg,) = by_kind(everything, "GrafanaAlertRuleGroup").values()
    assert rg["spec"]["rules"] == group["rules"] and rg["spec"]["interval"] == group["interval"]
    assert by_kind(everything, "GrafanaFolder")[rg["spec"]["folderRef"]]["spec"]["title"] == group["folder"]
    (cp_file,) = yaml.safe_load(want["rq-obs-contact-points.yaml"])["contactPoints"]
    (cp,) = by_kind(everything, "GrafanaContactPoint").values()
    (receiver,) = cp["spec"]["receivers"]
    settings = dict(cp_file["receivers"][0]["settings"])
    assert settings.pop("url") == "${SLACK_WEBHOOK_URL}" and receiver["settings"] == settings
    assert receiver["valuesFrom"] == [{"targetPath": "url", "valueFrom": {
        "secretKeyRef": {"name": "rq-obs-webhooks", "key": config.slack_webhook_env}}}]
    op = by_kind(everything, "GrafanaDatasource")["rq-obs-tempo"]["spec"]["datasource"]
    query = op["jsonData"]["tracesToMetrics"]["queries"][0]["query"]
    assert "$__tags" in query and "$$" not in query  # the API gets Grafana's variables, not the file escape


def test_collector_runs_the_compose_pipeline(chart):
    config, _, default, everything = chart
    doc = collector.document(config)
    otc = by_kind(default, "OpenTelemetryCollector")["rq-obs"]
    assert otc["spec"]["config"] == doc  # default endpoints: the compose ones
    assert otc["spec"]["image"] == chart_values.document(config)["collector"]["image"]
    assert otc["spec"]["ports"] == [{"name": "prometheus", "port": collector.PORTS["prometheus"], "protocol": "TCP"}]
    plain = yaml.safe_load(by_kind(everything, "ConfigMap")["rq-obs-collector"]["data"]["otelcol.yaml"])
    moved = json.loads(json.dumps(doc))
    moved["exporters"][TEMPO_EXPORTER]["endpoint"] = "tempo.tracing.svc:4317"
    assert plain == moved
    dep = by_kind(everything, "Deployment")["rq-obs-collector"]
    ports = {p["name"]: p["containerPort"] for p in dep["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert ports == {k.replace("_", "-"): v for k, v in collector.PORTS.items()}
    pm = by_kind(default, "PodMonitor")["rq-obs-collector"]
    assert pm["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/component": "opentelemetry-collector",
                                                      "app.kubernetes.io/instance": "rq-obs.rq-obs"}
    assert dep["spec"]["selector"]["matchLabels"] == pm["spec"]["selector"]["matchLabels"]
    jobs = {e["portNumber"]: e["relabelings"][0]["replacement"] for e in pm["spec"]["podMetricsEndpoints"]}
    assert jobs == {collector.PORTS["prometheus"]: "spanmetrics", collector.PORTS["telemetry"]: "otelcol"}


@pytest.mark.parametrize("values, message", [
    ({"collector": {"replicas": "two"}}, "at '/collector/replicas': got string, want integer"),
    ({"serve": {"persistence": {"size": 10}}}, "/serve/persistence/size"),
    ({"token": {"secretName": ""}}, "/token/secretName"),
    ({"token": {"secretName": None}}, "at '/token': missing property 'secretName'"),
    ({"serve": {"typo": 1}}, "at '/serve': additional properties 'typo' not allowed"),
    ({"collector": {"exporterEndpoints": {"otlp_grpc/jaeger": "jaeger:4317"}}}, "otlp_grpc/jaeger"),
])
def test_bad_values_fail_with_the_schema_message(chart, tmp_path, values, message):
    _, path, _, _ = chart
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(values))
    cp = run_helm("template", "rq-obs", path, "--values", bad)
    assert cp.returncode != 0
    assert "values don't meet the specifications of the schema" in cp.stderr, cp.stderr
    assert message in cp.stderr, cp.stderr


def test_kube_prometheus_stack_remote_write_validates_against_the_prometheus_crd(tmp_path):
    prom_crd = SCHEMAS / "monitoring.coreos.com" / "prometheus_v1.json"
    validator = validator_at(prom_crd, "spec", "remoteWrite", "[]")
    cases = {
        "none": make_config(remote_write_url="https://mimir.example/api/v1/push"),
        "basic": make_config(remote_write_url="https://mimir.example/api/v1/push", remote_write_username="team",
                             remote_write_password_file="/etc/secrets/password",
                             remote_write_headers={"X-Scope-OrgID": "team-a"}),
        "bearer": make_config(remote_write_url="https://prometheus.hosted.example/api/prom/push",
                              remote_write_bearer_token_file="/etc/secrets/token", remote_write_keep_local=[]),
    }
    for auth, config in cases.items():
        files = build.collect(config, targets=("kubernetes",))
        (entry,) = yaml.safe_load(files[KPS_VALUES])["prometheus"]["prometheusSpec"]["remoteWrite"]
        assert [e.message for e in validator.iter_errors(entry)] == [], auth
        assert entry["url"] == config.remote_write_url
        assert entry["queueConfig"] == {"capacity": 10000, "maxShards": 10, "maxSamplesPerSend": 2000,
                                        "batchSendDeadline": "5s"}
        assert ("basicAuth" in entry, "authorization" in entry) == (auth == "basic", auth == "bearer")
        keep, *drops = entry["writeRelabelConfigs"]  # a shared Prometheus: only rq-obs' series go
        assert keep["action"] == "keep" and keep["sourceLabels"] == ["job", "__name__"]
        assert len(drops) == len(config.remote_write_keep_local)
    # the invalid one is caught: a wrong action
    entry["writeRelabelConfigs"] = [{"sourceLabels": ["test"], "action": "dropit"}]
    assert list(validator.iter_errors(entry))


def test_build_target_kubernetes_writes_only_the_chart_and_check_covers_it(tmp_path):
    res = run_cli("build", "--target", "kubernetes", "--out", tmp_path)
    assert res.code == 0, res.err
    assert (tmp_path / CHART / "Chart.yaml").is_file() and (tmp_path / KPS_VALUES).is_file()
    assert not (tmp_path / "docker-compose.yml").exists() and not (tmp_path / "dashboards").exists()
    assert run_cli("build", "--target", "kubernetes", "--check", "--out", tmp_path).code == 0
    # the compose target's files are not there: the default target's check names them
    assert run_cli("build", "--check", "--out", tmp_path).code == 1
    values = tmp_path / CHART / "values.yaml"
    values.write_text(values.read_text() + "# edited\n")
    bad = run_cli("build", "--target", "all", "--check", "--out", tmp_path)
    assert bad.code == 1
    assert f"differs: {values}" in bad.err and f"missing: {tmp_path / 'docker-compose.yml'}" in bad.err
    first = {p: t for p, t in build.collect(make_config(), targets=("kubernetes",)).items()}
    assert first == build.collect(make_config(), targets=("kubernetes",))  # deterministic


def test_no_token_or_webhook_reaches_the_chart(tmp_path):
    from rq_obs.config import load

    webhook, token = "https://hooks.slack.com/services/T0/B0/SECRETabc", "tok-SECRET-1234567890"
    config = load(tmp_path, env={"SLACK_WEBHOOK_URL": webhook, "RQ_OBS_TOKEN": token}).config
    assert config.token == token
    for path, text in build.collect(config, targets=("kubernetes",)).items():
        assert "hooks.slack.com" not in text and "SECRET" not in text, path


@pytest.mark.e2e
def test_the_pod_spec_runs_the_real_rq_obs_serve(chart, tmp_path):
    """No cluster here, so the rendered pod is run by hand: the image's command (exporters/Dockerfile) with the
    ConfigMap's file at its mount path, the token from the Secret in the env variable the spec names, the store
    on the volume; the probes' paths answer 200 on the container port, a push with that token is stored, and
    /metrics (the ServiceMonitor's path) serves it."""
    import sys
    import urllib.request

    from rq_obs.catalog import M
    from rq_obs.demo.processes import Service, Services
    from rq_obs.stack import exporter
    from tests.helpers.procs import http_get, python_env
    from tests.server.runs import doc

    _, _, default, _ = chart
    pod = by_kind(default, "StatefulSet")["rq-obs"]["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    cm_name = next(v["configMap"]["name"] for v in pod["volumes"] if v["name"] == "config")
    ((key, text),) = by_kind(default, "ConfigMap")[cm_name]["data"].items()
    assert f"{mounts['config']}/{key}" == exporter.CONFIG_IN_CONTAINER
    config_file = tmp_path / key
    config_file.write_text(text)
    assert exporter.STORE.startswith(mounts["data"] + "/")
    store = tmp_path / "data" / exporter.STORE.removeprefix(mounts["data"] + "/")
    store.parent.mkdir()
    (token_env,) = c["env"]
    port_name = c["livenessProbe"]["httpGet"]["port"]
    assert {p["name"]: p["containerPort"] for p in c["ports"]}[port_name] == exporter.PORT
    token = "pod-token-7f3a"
    with Services() as services:
        serve = services.start_on_free_port(lambda port: Service(
            "serve", f"http://127.0.0.1:{port}",
            [sys.executable, "-m", "rq_obs", "--config", str(config_file), "serve", "--host", "127.0.0.1",
             "--port", str(port), "--store", str(store)], tmp_path / "serve.log", ready_path="/healthz",
            cwd=str(tmp_path), env=python_env({token_env["name"]: token})), 60)
        for probe in ("livenessProbe", "readinessProbe"):
            status, _ = http_get(serve.url + c[probe]["httpGet"]["path"])
            assert status == 200, probe
        body = json.dumps(doc("pod-0")).encode()
        req = urllib.request.Request(serve.url + "/api/v1/runs", body, {
            "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 201
        path = by_kind(default, "ServiceMonitor")["rq-obs"]["spec"]["endpoints"][0]["path"]
        status, metrics = http_get(serve.url + path)
        assert status == 200 and f'{M.INGEST_RUNS.total}{{result="stored"}} 1.0' in metrics.decode()


def test_install_notes_name_the_push_and_otlp_endpoints(chart):
    _, path, _, _ = chart
    cp = run_helm("install", "ci", path, "--dry-run=client", "--namespace", "qa")
    assert cp.returncode == 0, cp.stderr
    notes = cp.stdout.split("NOTES:", 1)[1]
    assert "rq-obs push --url http://ci-rq-obs.qa.svc:9464" in notes
    assert f"OTLP spans: http://ci-rq-obs-collector.qa.svc:{collector.PORTS['otlp_http']}" in notes
    assert "key token of Secret rq-obs-token" in notes


def test_every_option_turned_off_leaves_the_serve_workload(chart, tmp_path):
    _, path, _, _ = chart
    off = {"collector": {"enabled": False}, "networkPolicy": {"enabled": False}, "podDisruptionBudget": {"enabled": False},
           "serviceMonitor": {"enabled": False}, "prometheusRule": {"enabled": False},
           "grafana": {"dashboards": {"sidecar": {"enabled": False}}, "datasources": {"sidecar": {"enabled": False}},
                       "alerting": {"sidecar": {"enabled": False}}}}
    values = tmp_path / "off.yaml"
    values.write_text(yaml.safe_dump(off))
    objs = template(path, values)
    kinds = sorted({o["kind"] for o in objs})
    assert kinds == ["ConfigMap", "Service", "ServiceAccount", "StatefulSet"]
    # the dashboards' ConfigMaps stay (a GrafanaDashboard or a hand-made provider can read them), unlabelled
    dashboards_cms = [o for o in objs if o["metadata"]["name"].startswith("rq-obs-dashboard-")]
    assert len(dashboards_cms) == len(dashboards.NAMES)
    assert all("grafana_dashboard" not in o["metadata"]["labels"] for o in dashboards_cms)
    assert all(violations(o) == [] for o in objs)
