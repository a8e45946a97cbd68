"""`rq-obs instrument apply` on a real Django project made by `django-admin startproject` plus an app.

Requests go through Django's test client and the project's own wsgi.py and asgi.py (in a fresh
interpreter with an in-memory span exporter installed before django.setup()), and through
`manage.py runserver` exporting spans over OTLP/HTTP to a receiver on loopback (no tracer provider
set up by anyone but the generated module).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rq_obs.catalog import M
from rq_obs.errors import UsageError
from rq_obs.instrument.django_project import add_installed_app, add_url_routes
from tests.automation.test_instrument import COMMENT, _git, _probe, _snapshot
from tests.helpers.cli import run_cli
from tests.helpers.procs import free_port, http_get, python_env, wait_until

VIEWS = f'''\
"""Shop views."""
from django.http import JsonResponse
from django.views import View


def compute_total(prices):
{COMMENT}
    return round(sum(prices) * 1.2, 2)


def item(request, pk):
    return JsonResponse({{"item": pk, "total": compute_total([1.0, 2.0])}})


class OrderView(View):
    def post(self, request):
        return JsonResponse({{"ok": True}}, status=201)
'''

URLS = '''\
"""URLs of the shop site."""
from django.contrib import admin
from django.urls import path

from shop import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("items/<int:pk>/", views.item, name="item"),  # the product page
    path("orders/", views.OrderView.as_view(), name="orders"),
]
'''

URLS_DIFF = '''\
--- a/mysite/urls.py
+++ b/mysite/urls.py
@@ -3,8 +3,12 @@
 from django.urls import path
 
 from shop import views
+from mysite.rq_obs_instrumentation import rq_obs_health, rq_obs_metrics, rq_obs_ready
 
 urlpatterns = [
+    path("metrics", rq_obs_metrics, name="rq_obs_metrics"),
+    path("health", rq_obs_health, name="rq_obs_health"),
+    path("ready", rq_obs_ready, name="rq_obs_ready"),
     path("admin/", admin.site.urls),
     path("items/<int:pk>/", views.item, name="item"),  # the product page
     path("orders/", views.OrderView.as_view(), name="orders"),
'''

SETTINGS_DIFF = '''\
--- a/mysite/settings.py
+++ b/mysite/settings.py
@@ -38,6 +38,7 @@
     'django.contrib.messages',
     'django.contrib.staticfiles',
     'shop',
+    'mysite.rq_obs_instrumentation.RqObsConfig',
 ]
 
 MIDDLEWARE = [
'''

DJANGO_PROBE = '''
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
import django
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()  # what the test runner does: allows the test client's host name
from django.conf import settings
from django.test import Client
'''


@pytest.fixture(scope="module")
def startproject(tmp_path_factory) -> Path:
    """`django-admin startproject mysite` once; each test copies it."""
    root = tmp_path_factory.mktemp("startproject") / "shop-site"
    root.mkdir()
    subprocess.run([sys.executable, "-m", "django", "startproject", "mysite", str(root)], check=True, timeout=60)
    return root


@pytest.fixture
def django_project(startproject, tmp_path) -> Path:
    import shutil

    root = tmp_path / "shop-site"
    shutil.copytree(startproject, root)
    settings = root / "mysite" / "settings.py"
    text = settings.read_text()
    assert "    'django.contrib.staticfiles',\n]\n" in text  # startproject's layout, which the diff below relies on
    assert "ALLOWED_HOSTS = []\n" in text
    settings.write_text(text.replace("    'django.contrib.staticfiles',\n]\n", "    'django.contrib.staticfiles',\n    'shop',\n]\n")
                        .replace("ALLOWED_HOSTS = []\n", "ALLOWED_HOSTS = ['localhost', '127.0.0.1']\n"))
    (root / "mysite" / "urls.py").write_text(URLS)
    (root / "shop").mkdir()
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "apps.py").write_text("from django.apps import AppConfig\n\n\nclass ShopConfig(AppConfig):\n"
                                           "    name = \"shop\"\n")
    (root / "shop" / "views.py").write_text(VIEWS)
    (root / "requirements.txt").write_text("django>=4.2\n")
    return root


def _dry_run_diff(root: Path, path: str, *args: str) -> str:
    out = run_cli("instrument", "apply", str(root), "--dry-run", *args).out
    start = out.index(f"--- a/{path}\n")
    end = out.find("\n--- ", start)
    return out[start:end + 1 if end != -1 else len(out)]


def test_django_project_instrumented_serves_traces_metrics_health(django_project):
    root = django_project
    a = json.loads(run_cli("instrument", "analyze", str(root), "--format", "json").out)
    assert (a["framework"], a["entry_points"]) == ("django", ["manage.py", "mysite/asgi.py", "mysite/wsgi.py"])
    assert [(e["path"], e["function"]) for e in a["endpoints"]] == [
        ("/admin/", "admin.site.urls"), ("/items/<int:pk>/", "views.item"), ("/orders/", "views.OrderView.as_view")]

    # the exact edits, shown before anything is written
    assert _dry_run_diff(root, "mysite/urls.py", "--functions", "compute_total") == URLS_DIFF
    assert _dry_run_diff(root, "mysite/settings.py") == SETTINGS_DIFF

    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "site")
    (root / "shop" / "views.py").write_text(VIEWS + "# wip\n")
    r = run_cli("instrument", "apply", str(root))
    assert r.code == 2 and "has uncommitted changes ( M shop/views.py)" in r.err
    _git(root, "checkout", "-q", "--", ".")

    r = run_cli("instrument", "apply", str(root), "--service-name", "shop", "--functions", "compute_total,OrderView.post")
    assert r.code == 0, r.err
    assert r.out.splitlines() == ["created  mysite/rq_obs_instrumentation.py", "created  mysite/rq_obs_instrumentation.json",
                                  "updated  mysite/settings.py", "updated  mysite/urls.py", "updated  shop/views.py",
                                  "updated  requirements.txt"]
    views = (root / "shop" / "views.py").read_text()
    assert views.startswith('"""Shop views."""\nfrom django.http import JsonResponse\nfrom django.views import View\n'
                            "from mysite.rq_obs_instrumentation import traced\n\n\n@traced\ndef compute_total(prices):\n"
                            + COMMENT + "\n")
    assert "class OrderView(View):\n    @traced\n    def post(self, request):\n" in views
    assert (root / "requirements.txt").read_text() == (
        "django>=4.2\n\n# OpenTelemetry instrumentation (added by rq-obs instrument apply)\n"
        "opentelemetry-api>=1.25\nopentelemetry-exporter-otlp-proto-http>=1.25\n"
        "opentelemetry-instrumentation-django>=0.46b0\nopentelemetry-sdk>=1.25\nprometheus-client>=0.20\n")
    assert json.loads((root / "mysite" / "rq_obs_instrumentation.json").read_text()) == {
        "health_path": "/health", "metrics_path": "/metrics", "otlp_endpoint": "", "ready_path": "/ready", "sampling_rate": 1.0,
        "service_name": "shop"}

    out = _probe(root, DJANGO_PROBE + textwrap.dedent("""
        out["middleware"] = settings.MIDDLEWARE[:2]
        client = Client()
        r = client.get("/items/7/")
        out["item"] = [r.status_code, r.json()]
        r = client.post("/orders/")
        out["order"] = [r.status_code, r.json()]
        for p in ("/health", "/ready"):
            r = client.get(p)
            out[p] = [r.status_code, r["Content-Type"], r.json()]
        m = client.get("/metrics")
        out["metrics"] = [m.status_code, m["Content-Type"].split(";")[0],
                          [l for l in m.content.decode().splitlines() if l.startswith(COUNT)]]

        # the project's own WSGI entry point
        import wsgiref.util
        from mysite.wsgi import application
        environ = {"PATH_INFO": "/items/8/", "HTTP_HOST": "localhost"}
        wsgiref.util.setup_testing_defaults(environ)
        status = []
        body = b"".join(application(environ, lambda s, headers: status.append(s)))
        out["wsgi"] = [status[0], json.loads(body)]

        # and its ASGI one
        import asyncio
        from mysite.asgi import application as asgi_app

        async def asgi_get(path):
            sent, pending = [], [{"type": "http.request", "body": b"", "more_body": False}]

            async def receive():
                if pending:
                    return pending.pop()
                await asyncio.Event().wait()  # the client never disconnects

            async def send(message):
                sent.append(message)

            await asgi_app({"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                            "root_path": "", "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 5000),
                            "server": ("localhost", 80)}, receive, send)
            return [sent[0]["status"], json.loads(b"".join(m.get("body", b"") for m in sent[1:]))]

        out["asgi"] = asyncio.run(asgi_get("/items/9/"))

        spans = exporter.get_finished_spans()
        out["spans"] = sorted([s.name, s.kind.name, s.attributes.get("http.route"), s.attributes.get("http.status_code")]
                              for s in spans)
        server = [s for s in spans if s.name == "GET items/<int:pk>/"]
        children = [s for s in spans if s.name == "compute_total"]
        out["parents_ok"] = [c.parent.span_id for c in children] == [s.context.span_id for s in server]
        post = next(s for s in spans if s.name == "OrderView.post")
        out["post_parent_ok"] = post.parent.span_id == next(s for s in spans if s.name == "POST orders/").context.span_id

        # the database goes away: /ready says so (the path names no directory that exists)
        from django.db import connections
        connections["default"].close()
        connections["default"].settings_dict["NAME"] = "/nonexistent-dir/x/db.sqlite3"
        r = client.get("/ready")
        out["down"] = [r.status_code, r.json()]

        import io
        from django.core.management import call_command
        buf = io.StringIO()
        call_command("check", stdout=buf)
        out["check"] = buf.getvalue()
    """))
    assert out["middleware"] == ["opentelemetry.instrumentation.django.middleware.otel_middleware._DjangoMiddleware",
                                 "mysite.rq_obs_instrumentation.RqObsMetricsMiddleware"]
    assert out["item"] == [200, {"item": 7, "total": 3.6}]
    assert out["order"] == [201, {"ok": True}]
    assert out["/health"] == [200, "application/json", {"status": "ok"}]
    assert out["/ready"] == [200, "application/json", {"status": "ready", "checks": {"database": "ok"}}]
    assert out["metrics"] == [200, "text/plain", [f'{M.APP_FUNCTION_DURATION.count}{{function="compute_total"}} 1.0',
                                                  f'{M.APP_FUNCTION_DURATION.count}{{function="OrderView.post"}} 1.0']]
    assert out["wsgi"] == ["200 OK", {"item": 8, "total": 3.6}]
    assert out["asgi"] == [200, {"item": 9, "total": 3.6}]
    # one server span per request, named after the route; the probes are not traced
    assert out["spans"] == [["GET items/<int:pk>/", "SERVER", "items/<int:pk>/", 200],
                            ["GET items/<int:pk>/", "SERVER", "items/<int:pk>/", 200],
                            ["GET items/<int:pk>/", "SERVER", "items/<int:pk>/", 200],
                            ["OrderView.post", "INTERNAL", None, None],
                            ["POST orders/", "SERVER", "orders/", 201],
                            ["compute_total", "INTERNAL", None, None],
                            ["compute_total", "INTERNAL", None, None],
                            ["compute_total", "INTERNAL", None, None]]
    assert out["parents_ok"] and out["post_parent_ok"]
    assert out["down"] == [503, {"status": "not ready", "checks": {"database": "failed: OperationalError"}}]
    assert out["check"] == "System check identified no issues (0 silenced).\n"

    # idempotent: a second apply plans nothing and leaves every byte as it was
    before = _snapshot(root)
    r2 = run_cli("instrument", "apply", str(root), "--service-name", "shop",
                 "--functions", "compute_total,OrderView.post")
    assert r2.code == 0 and r2.out == "nothing to change: already instrumented\n"
    assert run_cli("instrument", "apply", str(root), "--dry-run").out == ""
    assert _snapshot(root) == before


class _OtlpReceiver(BaseHTTPRequestHandler):
    requests: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (ExportTraceServiceRequest,
                                                                              ExportTraceServiceResponse)

        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        req = ExportTraceServiceRequest()
        req.ParseFromString(body)
        self.server.received.append((self.path, req))
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def test_runserver_exports_spans_over_otlp_and_serves_metrics(django_project, tmp_path):
    root = django_project
    assert run_cli("instrument", "apply", str(root), "--functions", "compute_total").code == 0
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _OtlpReceiver)
    receiver.received = []
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    port = free_port()
    log = open(tmp_path / "runserver.log", "wb")
    env = python_env({"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_port}",
                      "OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_SERVICE_NAME": ""})
    proc = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_get(base + "/health")[0] == 200, timeout=60, what="runserver answering /health")
        assert http_get(base + "/items/3/") == (200, b'{"item": 3, "total": 3.6}')
        status, body = http_get(base + "/metrics")
        assert status == 200
        assert f'{M.APP_FUNCTION_DURATION.count}{{function="compute_total"}} 1.0' in body.decode().splitlines()

        def spans():
            found = {}
            for path, req in receiver.received:
                for rs in req.resource_spans:
                    service = next(a.value.string_value for a in rs.resource.attributes if a.key == "service.name")
                    for ss in rs.scope_spans:
                        for s in ss.spans:
                            found[s.name] = (path, service, s)
            return found if {"GET items/<int:pk>/", "compute_total"} <= set(found) else None

        found = wait_until(spans, timeout=30, what="spans at the OTLP receiver")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        receiver.shutdown()
    assert sorted(found) == ["GET items/<int:pk>/", "compute_total"]  # /health and /metrics are not traced
    path, service, server = found["GET items/<int:pk>/"]
    assert (path, service) == ("/v1/traces", "shop-site")
    assert {a.key: a.value.string_value for a in server.attributes if a.key == "http.route"} == {
        "http.route": "items/<int:pk>/"}
    assert found["compute_total"][2].parent_span_id == server.span_id


SHOP_TESTS = '''\
from django.conf import settings
from django.test import TestCase
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class InstrumentedTest(TestCase):
    def test_requests_are_traced_and_probes_answer(self):
        exporter = InMemorySpanExporter()
        trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))  # the generated module's
        self.assertEqual(self.client.get("/items/5/").json(), {"item": 5, "total": 3.6})
        self.assertEqual(self.client.get("/ready").json(), {"status": "ready", "checks": {"database": "ok"}})
        self.assertEqual([(s.name, s.resource.attributes["service.name"]) for s in exporter.get_finished_spans()],
                         [("GET items/<int:pk>/", "shop-site")])
        self.assertEqual(settings.MIDDLEWARE[0], "opentelemetry.instrumentation.django.middleware.otel_middleware."
                                                 "_DjangoMiddleware")
'''


def test_manage_py_test_runs_the_suite_with_tracing_on(django_project):
    root = django_project
    assert run_cli("instrument", "apply", str(root)).code == 0
    (root / "shop" / "tests.py").write_text(SHOP_TESTS)
    cp = subprocess.run([sys.executable, "manage.py", "test", "shop", "-v", "2"], cwd=root, capture_output=True,
                        text=True, timeout=120, env=python_env({"OTEL_SERVICE_NAME": "", "OTEL_EXPORTER_OTLP_ENDPOINT": ""}))
    assert cp.returncode == 0, cp.stderr
    lines = cp.stderr.splitlines()
    assert ("test_requests_are_traced_and_probes_answer (shop.tests.InstrumentedTest."
            "test_requests_are_traced_and_probes_answer) ... ok") in lines
    assert [l for l in lines if l.startswith("Ran ")][0].startswith("Ran 1 test in ") and "OK" in lines


def test_requests_counted_by_method_route_status_and_error(django_project):
    from tests.automation.test_instrument_metrics import http_counts, promtool_check

    root = django_project
    (root / "shop" / "views.py").write_text(VIEWS + "\n\ndef boom(request):\n    return 1 / 0\n")
    (root / "mysite" / "urls.py").write_text(URLS.replace('    path("orders/"', '    path("boom/", views.boom),\n'
                                                                               '    path("orders/"'))
    assert run_cli("instrument", "apply", str(root)).code == 0
    out = _probe(root, DJANGO_PROBE + textwrap.dedent("""
        client = Client(raise_request_exception=False)
        codes = [client.get(p).status_code for p in ("/items/1/", "/items/2/", "/nope/", "/boom/", "/health", "/ready")]
        codes += [client.post("/orders/").status_code, client.generic("PURGE", "/items/3/").status_code]
        out["codes"] = codes
        out["metrics"] = client.get("/metrics").content.decode()

        import asyncio
        from django.test import AsyncClient
        out["async"] = asyncio.run(AsyncClient().get("/items/4/")).status_code
        out["after_async"] = client.get("/metrics").content.decode()
    """))
    # PURGE: the view answers 200 to any method (a function view); the label folds it into _OTHER
    assert out["codes"] == [200, 200, 404, 500, 200, 200, 201, 200]
    assert http_counts(out["metrics"]) == {
        ("GET", "items/<int:pk>/", "200", ""): 2.0,
        ("GET", "", "404", ""): 1.0,  # no URL pattern matched
        ("GET", "boom/", "500", "ZeroDivisionError"): 1.0,
        ("POST", "orders/", "201", ""): 1.0,
        ("_OTHER", "items/<int:pk>/", "200", ""): 1.0,
    }
    assert out["async"] == 200  # the middleware also runs in Django's async request path
    assert http_counts(out["after_async"])[("GET", "items/<int:pk>/", "200", "")] == 3.0
    assert promtool_check(out["metrics"]) == ""


def test_settings_and_urlconf_edits_keep_layout_and_fall_back_to_statements():
    entry = "site.rq_obs_instrumentation.RqObsConfig"
    # a tuple on one line, a comment on the last element, no trailing comma
    assert add_installed_app('INSTALLED_APPS = ("a", "b")\n', entry) == f'INSTALLED_APPS = ("a", "b", "{entry}")\n'
    src = "INSTALLED_APPS = [\n    'a',  # first\n    'b'  # last\n]\n"
    assert add_installed_app(src, entry) == f"INSTALLED_APPS = [\n    'a',  # first\n    'b',  # last\n    '{entry}'\n]\n"
    # cookiecutter-django style: a sum of names gets a statement right after it
    src = "DJANGO_APPS = ['a']\nLOCAL_APPS = ['b']\nINSTALLED_APPS = DJANGO_APPS + LOCAL_APPS\nX = 1\n"
    assert add_installed_app(src, entry) == src.replace("X = 1\n", f"INSTALLED_APPS = [*INSTALLED_APPS, '{entry}']\nX = 1\n")
    assert add_installed_app(add_installed_app(src, entry), entry) == add_installed_app(src, entry)

    routes = [("metrics", "rq_obs_metrics"), ("ready", "rq_obs_ready")]
    src = "urlpatterns = []\n"
    assert add_url_routes(src, routes) == ('urlpatterns = [path("metrics", rq_obs_metrics, name="rq_obs_metrics"), '
                                           'path("ready", rq_obs_ready, name="rq_obs_ready")]\n')
    src = "urlpatterns = i18n_patterns(path('', home))\nif DEBUG:\n    urlpatterns += debug\n"
    new = add_url_routes(src, routes)
    assert new == src.replace("\nif", "\nurlpatterns = [path('metrics', rq_obs_metrics, name='rq_obs_metrics'), "
                                      "path('ready', rq_obs_ready, name='rq_obs_ready'), *urlpatterns]\nif")
    assert add_url_routes(new, routes) == new
    # the `path` import joins an existing django.urls import, keeping its aliases and comment
    from rq_obs.instrument.apply import _edit_file
    assert _edit_file("from django.urls import re_path as url, include  # old style\n", import_module="django.urls",
                      names=["path"]) == "from django.urls import include, path, re_path as url  # old style\n"
    with pytest.raises(UsageError, match="no module-level urlpatterns"):
        add_url_routes("routes = []\n", routes)


def test_django_bad_inputs_are_named(django_project, tmp_path):
    root = django_project
    (root / "mysite" / "settings.py").write_text((root / "mysite" / "settings.py").read_text()
                                                 .replace("ROOT_URLCONF = 'mysite.urls'", "ROOT_URLCONF = 'mysite.routes'"))
    r = run_cli("instrument", "apply", str(root))
    assert r.code == 2 and "settings.py: ROOT_URLCONF 'mysite.routes' names no module in the project" in r.err
    (root / "mysite" / "settings.py").write_text("DEBUG = True\n")
    r = run_cli("instrument", "apply", str(root))
    assert r.code == 2 and "no Django settings module found (a module assigning INSTALLED_APPS)" in r.err
    assert not (root / "mysite" / "rq_obs_instrumentation.py").exists()
