"""`rq-obs instrument analyze/apply` on real small FastAPI and Flask apps built here.

The instrumented apps are imported in a fresh interpreter (no module caching between tests) with an
in-memory span exporter installed as the global tracer provider before the app is imported; their
routes are exercised through the framework's own test client.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rq_obs.catalog import M
from tests.helpers.cli import run_cli
from tests.helpers.procs import python_env

COMMENT = "    # keep this comment exactly as it is: 20% VAT, rounded to cents"

FASTAPI_MAIN = f'''\
"""A tiny shop API."""
from fastapi import FastAPI

from shop.db import engine  # the shared engine

app = FastAPI(title="shop")


def compute_total(prices: list[float]) -> float:
{COMMENT}
    return round(sum(prices) * 1.2, 2)


@app.get("/items/{{item_id}}")
async def read_item(item_id: int):
    return {{"item_id": item_id, "total": compute_total([1.0, 2.0])}}


@app.post("/orders")
def create_order():
    return {{"ok": True}}
'''

FLASK_APP = f'''\
import sqlite3  # stdlib, unrelated to the instrumentation

from flask import Flask, jsonify
from sqlalchemy import create_engine

engine = create_engine("sqlite:///" + __file__.rsplit("/", 1)[0] + "/notes.db")


class Cart:
    def total(self, prices):
{COMMENT}
        return round(sum(prices) * 1.2, 2)


def create_app():
    app = Flask(__name__)

    @app.route("/notes", methods=["GET", "POST"])
    def notes():
        return jsonify(total=Cart().total([10.0]))

    return app
'''

PROBE = '''
import json, sys
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
sys.path.insert(0, sys.argv[1])
out = {}
'''


def _probe(root: Path, *parts: str, env: dict | None = None) -> dict:
    """Run the code ``parts`` in a fresh interpreter in ``root`` (spans go to an in-memory exporter); returns ``out``."""
    code = (PROBE + f"COUNT = {M.APP_FUNCTION_DURATION.count!r}\n" + "".join(textwrap.dedent(p) for p in parts)
            + "\nprint(json.dumps(out))\n")
    cp = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, cwd=root, timeout=120,
                        env=python_env({"OTEL_SERVICE_NAME": "", "OTEL_EXPORTER_OTLP_ENDPOINT": "", "RQ_OBS_PROFILE": "",
                                        "RQ_OBS_PROFILE_DIR": "", **(env or {})}))
    assert cp.returncode == 0, cp.stderr
    return json.loads(cp.stdout.strip().splitlines()[-1])


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and ".git" not in p.parts and not p.name.endswith(".db")}


@pytest.fixture
def fastapi_project(tmp_path):
    root = tmp_path / "shop-api"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "main.py").write_text(FASTAPI_MAIN)
    (root / "shop" / "db.py").write_text('from sqlalchemy import create_engine\n\nengine = create_engine("sqlite://")\n')
    (root / "requirements.txt").write_text("fastapi>=0.110\nsqlalchemy>=2\n")
    return root


@pytest.fixture
def flask_project(tmp_path):
    root = tmp_path / "notes"
    root.mkdir()
    (root / "notes_app.py").write_text(FLASK_APP)
    (root / "pyproject.toml").write_text('[project]\nname = "notes"\nversion = "1.0"\ndependencies = [\n'
                                         '  "flask>=3",\n  "sqlalchemy>=2",\n]\n')
    return root


def test_analyze_reports_framework_endpoints_clients_and_packages(fastapi_project):
    r = run_cli("instrument", "analyze", str(fastapi_project), "--format", "json")
    assert r.code == 0, r.err
    a = json.loads(r.out)
    assert (a["language"], a["framework"], a["files"]) == ("python", "fastapi", 3)
    assert a["apps"] == [{"file": "shop/main.py", "variable": "app", "framework": "fastapi", "line": 6, "function": None}]
    assert [(e["methods"], e["path"], e["function"], e["is_async"]) for e in a["endpoints"]] == [
        (["GET"], "/items/{item_id}", "read_item", True), (["POST"], "/orders", "create_order", False)]
    assert a["clients"] == [{"file": "shop/db.py", "kind": "sqlalchemy", "line": 3, "variable": "engine"}]
    assert [f["qualname"] for f in a["async_functions"]] == ["read_item"]
    assert a["packages"] == ["opentelemetry-api", "opentelemetry-exporter-otlp-proto-http",
                             "opentelemetry-instrumentation-fastapi", "opentelemetry-instrumentation-sqlalchemy",
                             "opentelemetry-sdk", "prometheus-client"]
    text = run_cli("instrument", "analyze", str(fastapi_project)).out
    assert "  GET    /items/{item_id}         shop/main.py:15 async read_item" in text


def test_analyze_flask_factory_and_django(flask_project, tmp_path):
    a = json.loads(run_cli("instrument", "analyze", str(flask_project), "--format", "json").out)
    assert a["framework"] == "flask" and a["apps"][0]["function"] == "create_app"
    assert [(e["methods"], e["path"]) for e in a["endpoints"]] == [(["GET", "POST"], "/notes")]
    dj = tmp_path / "dj"
    (dj / "site").mkdir(parents=True)
    (dj / "manage.py").write_text("import django\nif __name__ == '__main__':\n    pass\n")
    (dj / "site" / "urls.py").write_text("from django.urls import path\nfrom site import views\n"
                                         "urlpatterns = [path('items/', views.items)]\n")
    a = json.loads(run_cli("instrument", "analyze", str(dj), "--format", "json").out)
    assert a["framework"] == "django" and a["entry_points"] == ["manage.py"]
    assert [(e["path"], e["function"]) for e in a["endpoints"]] == [("/items/", "views.items")]
    r = run_cli("instrument", "apply", str(dj))  # URLs but no settings module: nothing to hook into
    assert r.code == 2 and "no Django settings module found (a module assigning INSTALLED_APPS)" in r.err


def test_fastapi_app_instrumented_serves_traces_metrics_health(fastapi_project):
    root = fastapi_project
    r = run_cli("instrument", "apply", str(root), "--service-name", "shop", "--functions", "compute_total,read_item")
    assert r.code == 0, r.err
    assert r.out.splitlines() == ["created  shop/rq_obs_instrumentation.py", "created  shop/rq_obs_instrumentation.json",
                                  "updated  shop/main.py", "updated  requirements.txt"]
    main = (root / "shop" / "main.py").read_text()
    assert COMMENT + "\n" in main and '"""A tiny shop API."""\n' in main
    assert "from shop.db import engine  # the shared engine\nfrom shop.rq_obs_instrumentation import instrument_app, traced\n" in main
    assert 'app = FastAPI(title="shop")\ninstrument_app(app)\n' in main
    assert '@app.get("/items/{item_id}")\n@traced\nasync def read_item' in main
    assert "\n\n@traced\ndef compute_total" in main
    assert json.loads((root / "shop" / "rq_obs_instrumentation.json").read_text())["service_name"] == "shop"
    reqs = (root / "requirements.txt").read_text()
    assert reqs.startswith("fastapi>=0.110\nsqlalchemy>=2\n\n# OpenTelemetry instrumentation")
    assert "opentelemetry-instrumentation-fastapi>=0.46b0\n" in reqs and "prometheus-client>=0.20\n" in reqs

    out = _probe(root, """
        from fastapi.testclient import TestClient
        from shop.main import app
        client = TestClient(app)
        item = client.get("/items/7")
        out["item"] = [item.status_code, item.json()]
        out["order"] = [client.post("/orders").status_code, client.post("/orders").json()]
        for p in ("/health", "/ready"):
            resp = client.get(p)
            out[p] = [resp.status_code, resp.json()]
        m = client.get("/metrics")
        out["metrics_type"] = m.headers["content-type"]
        out["metrics"] = [l for l in m.text.splitlines() if l.startswith(COUNT)]
        spans = exporter.get_finished_spans()
        out["spans"] = sorted(s.name for s in spans if not s.name.endswith((" http send", " http receive")))
        by = {s.name: s for s in spans}
        out["parent_ok"] = by["compute_total"].parent.span_id == by["read_item"].context.span_id
        out["root_is_server"] = by["read_item"].parent.span_id == by["GET /items/{item_id}"].context.span_id
    """)
    assert out["item"] == [200, {"item_id": 7, "total": 3.6}]
    assert out["order"] == [200, {"ok": True}]
    assert out["/health"] == [200, {"status": "ok"}]
    assert out["/ready"] == [200, {"status": "ready", "checks": {"database": "ok"}}]
    assert out["metrics_type"].startswith("text/plain; version=")
    assert out["metrics"] == [f'{M.APP_FUNCTION_DURATION.count}{{function="compute_total"}} 1.0',
                              f'{M.APP_FUNCTION_DURATION.count}{{function="read_item"}} 1.0']
    # probes (/health, /ready, /metrics) are not traced; the request and both functions are
    assert out["spans"] == ["GET /items/{item_id}", "POST /orders", "POST /orders", "compute_total", "read_item"]
    assert out["parent_ok"] and out["root_is_server"]

    # idempotent: a second apply plans nothing and leaves every byte as it was
    before = _snapshot(root)
    r2 = run_cli("instrument", "apply", str(root), "--service-name", "shop", "--functions", "compute_total,read_item")
    assert r2.code == 0 and r2.out == "nothing to change: already instrumented\n"
    assert run_cli("instrument", "apply", str(root), "--functions", "compute_total", "--dry-run").out == ""
    assert _snapshot(root) == before


def test_flask_factory_app_with_sqlalchemy_ready_check(flask_project):
    root = flask_project
    r = run_cli("instrument", "apply", str(root), "--functions", "Cart.total")
    assert r.code == 0, r.err
    src = (root / "notes_app.py").read_text()
    assert src.startswith("import sqlite3  # stdlib, unrelated to the instrumentation\n\nfrom flask import Flask, jsonify\n"
                          "from sqlalchemy import create_engine\nfrom rq_obs_instrumentation import instrument_app, traced\n")
    assert "    app = Flask(__name__)\n    instrument_app(app)\n\n    @app.route" in src
    assert "    @traced\n    def total(self, prices):\n" + COMMENT + "\n" in src
    deps = (root / "pyproject.toml").read_text()
    assert deps.startswith('[project]\nname = "notes"\nversion = "1.0"\ndependencies = [\n  "flask>=3",\n  "sqlalchemy>=2",\n'
                           '  "opentelemetry-api>=1.25",\n')
    assert '  "opentelemetry-instrumentation-flask>=0.46b0",\n' in deps and deps.endswith('  "prometheus-client>=0.20",\n]\n')

    out = _probe(root, """
        import notes_app
        client = notes_app.create_app().test_client()
        out["notes"] = [client.get("/notes").status_code, client.get("/notes").get_json(), client.post("/notes").status_code]
        for p in ("/health", "/ready"):
            resp = client.get(p)
            out[p] = [resp.status_code, resp.get_json()]
        m = client.get("/metrics")
        out["metrics"] = [m.status_code, m.mimetype, [l for l in m.get_data(as_text=True).splitlines()
                                                     if l.startswith(COUNT)]]
        out["spans"] = sorted(s.name for s in exporter.get_finished_spans())
        out["service"] = __import__("rq_obs_instrumentation").load_settings()["service_name"]
    """)
    assert out["notes"] == [200, {"total": 12.0}, 200]
    assert out["/health"] == [200, {"status": "ok"}]
    assert out["/ready"] == [200, {"checks": {"database": "ok"}, "status": "ready"}]
    assert out["metrics"] == [200, "text/plain", [f'{M.APP_FUNCTION_DURATION.count}{{function="Cart.total"}} 3.0']]
    assert out["spans"] == ["Cart.total", "Cart.total", "Cart.total", "GET /notes", "GET /notes", "POST /notes"]
    assert out["service"] == "notes"
    before = _snapshot(root)
    assert run_cli("instrument", "apply", str(root), "--functions", "Cart.total").out.startswith("nothing to change")
    assert _snapshot(root) == before


def test_ready_answers_503_when_the_database_is_down(flask_project):
    root = flask_project
    (root / "notes_app.py").write_text(FLASK_APP.replace('"sqlite:///" + __file__.rsplit("/", 1)[0] + "/notes.db"',
                                                         '"sqlite:////nonexistent-dir/x/notes.db"'))
    assert run_cli("instrument", "apply", str(root)).code == 0
    out = _probe(root, """
        import notes_app
        resp = notes_app.create_app().test_client().get("/ready")
        out["ready"] = [resp.status_code, resp.get_json()]
    """)
    assert out["ready"] == [503, {"checks": {"database": "failed: OperationalError"}, "status": "not ready"}]


def test_dry_run_prints_a_unified_diff_and_writes_nothing(fastapi_project):
    before = _snapshot(fastapi_project)
    r = run_cli("instrument", "apply", str(fastapi_project), "--dry-run", "--functions", "compute_total")
    assert r.code == 0
    assert "--- /dev/null\n+++ b/shop/rq_obs_instrumentation.py\n" in r.out
    assert "--- a/shop/main.py\n+++ b/shop/main.py\n" in r.out
    assert "+from shop.rq_obs_instrumentation import instrument_app, traced\n" in r.out
    assert "+instrument_app(app)\n" in r.out and "+@traced\n def compute_total" in r.out
    assert _snapshot(fastapi_project) == before


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                   check=True, capture_output=True)


def test_refuses_a_dirty_git_tree_unless_forced(fastapi_project):
    root = fastapi_project
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "app")
    (root / "shop" / "db.py").write_text((root / "shop" / "db.py").read_text() + "# wip\n")
    before = _snapshot(root)
    r = run_cli("instrument", "apply", str(root))
    assert r.code == 2
    assert "has uncommitted changes ( M shop/db.py); commit or stash them, or use --force" in r.err
    assert _snapshot(root) == before
    _git(root, "commit", "-qam", "wip")
    assert run_cli("instrument", "apply", str(root)).code == 0  # clean tree: allowed
    _git(root, "checkout", "-q", "--", ".")  # undo tracked edits; the new files stay untracked
    r = run_cli("instrument", "apply", str(root))
    assert r.code == 2 and "?? shop/rq_obs_instrumentation.py" in r.err
    r = run_cli("instrument", "apply", str(root), "--force")
    assert r.code == 0 and "updated  shop/main.py" in r.out


def test_bad_inputs_are_named(fastapi_project, tmp_path):
    r = run_cli("instrument", "apply", str(fastapi_project), "--functions", "nope")
    assert r.code == 2 and "--functions 'nope': no top-level function or method of that name" in r.err
    (fastapi_project / "shop" / "rq_obs_instrumentation.py").write_text("# mine\n")
    r = run_cli("instrument", "apply", str(fastapi_project))
    assert r.code == 2 and "rq_obs_instrumentation.py exists and was not generated by rq-obs" in r.err
    (tmp_path / "empty").mkdir()
    r = run_cli("instrument", "analyze", str(tmp_path / "empty"))
    assert r.code == 2 and "no Python files found" in r.err
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.py").write_text("def (:\n")
    r = run_cli("instrument", "analyze", str(tmp_path / "broken"))
    assert r.code == 2 and "x.py: cannot be parsed as Python" in r.err
