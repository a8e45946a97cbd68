"""HTTP server metrics and @profiled in apps instrumented by `rq-obs instrument apply`.

Real small FastAPI and Flask apps are instrumented by the CLI, then imported in a fresh interpreter;
requests go through the framework's own test client and the app's /metrics is parsed here: exact
request counts per method, route template, status code and error type (a 404 from a route, a 404
that matched no route, a 500 from an exception), bucket counts, the in-flight gauge, and
`promtool check metrics` on the whole exposition. Django's middleware is tested in
test_instrument_django.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rq_obs.catalog import M
from tests.automation.test_instrument import _probe, _snapshot
from tests.helpers.cli import run_cli
from tests.helpers.procs import PROMTOOL, need, python_env

HTTP = M.HTTP_SERVER_DURATION


def families(text: str) -> dict[str, dict[tuple, float]]:
    """{sample name: {((label, value), ...): value}} of an exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, dict[tuple, float]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def http_counts(text: str) -> dict[tuple[str, ...], float]:
    """(method, route, status code, error type) -> requests counted."""
    return {tuple(dict(k)[label] for label in HTTP.labels): v for k, v in families(text).get(HTTP.count, {}).items()}


def http_buckets(text: str, method: str, route: str, code: str, error: str = "") -> dict[str, float]:
    want = dict(zip(HTTP.labels, (method, route, code, error)))
    return {dict(k)["le"]: v for k, v in families(text)[HTTP.bucket].items()
            if {n: v for n, v in k if n != "le"} == want}


def expected_buckets(above: float, below: float, count: int = 1) -> dict[str, float]:
    """Cumulative buckets of ``count`` observations known to lie in (above, below]; buckets in between
    are left out (how long past ``above`` a request took depends on the machine)."""
    out = {str(b): (0.0 if b <= above else float(count)) for b in HTTP.buckets if b <= above or b >= below}
    out["+Inf"] = float(count)
    return out


def promtool_check(text: str) -> str:
    cp = subprocess.run([need(PROMTOOL, "prometheus"), "check", "metrics"], input=text.encode(), capture_output=True)
    return (cp.stdout + cp.stderr).decode() + ("" if cp.returncode == 0 else f"(exit {cp.returncode})")


FASTAPI_APP = '''\
"""An inventory API."""
import time

from fastapi import FastAPI, HTTPException

app = FastAPI(title="inventory")


@app.get("/items/{item_id}")
def read_item(item_id: int):
    if item_id == 0:
        raise HTTPException(status_code=404, detail="no such item")
    return {"item_id": item_id}


@app.post("/orders", status_code=201)
async def create_order():
    return {"ok": True}


@app.get("/slow")
def slow():
    time.sleep(0.03)
    return {}


@app.get("/boom")
def boom():
    return 1 / 0


@app.get("/inflight")
async def inflight():
    from api.rq_obs_instrumentation import REGISTRY

    return {"active": REGISTRY.get_sample_value(ACTIVE, {"http_request_method": "GET"})}
'''.replace("ACTIVE", repr(M.HTTP_SERVER_ACTIVE.name))

FLASK_APP = '''\
import time

from flask import Flask, abort, jsonify

app = Flask(__name__)


@app.route("/notes/<int:note_id>")
def note(note_id):
    if note_id == 0:
        abort(404)
    return jsonify(id=note_id)


@app.route("/notes", methods=["POST"])
def add_note():
    return jsonify(ok=True), 201


@app.route("/slow")
def slow():
    time.sleep(0.03)
    return jsonify()


@app.route("/boom")
def boom():
    return str(1 / 0)
'''

#: The same requests to both apps: 3 to a templated route (one its own 404), 2 POSTs, one slow, one
#: failing, one to no route, and the probes (not counted).
REQUESTS = '''
codes = [client.get(p).status_code for p in (ITEM + "1", ITEM + "2", ITEM + "0")]
codes += [client.post(POST).status_code for _ in range(2)]
codes += [client.get(p).status_code for p in ("/slow", "/boom", "/nope", "/health", "/ready")]
out["codes"] = codes
'''


@pytest.fixture
def fastapi_app(tmp_path) -> Path:
    root = tmp_path / "inventory"
    (root / "api").mkdir(parents=True)
    (root / "api" / "__init__.py").write_text("")
    (root / "api" / "main.py").write_text(FASTAPI_APP)
    (root / "requirements.txt").write_text("fastapi\n")
    r = run_cli("instrument", "apply", str(root))
    assert r.code == 0, r.err
    return root


@pytest.fixture
def flask_app(tmp_path) -> Path:
    root = tmp_path / "notes"
    root.mkdir()
    (root / "notes.py").write_text(FLASK_APP)
    (root / "requirements.txt").write_text("flask\n")
    r = run_cli("instrument", "apply", str(root))
    assert r.code == 0, r.err
    return root


def test_fastapi_requests_counted_by_method_route_status_and_error(fastapi_app):
    out = _probe(fastapi_app, """
        from fastapi.testclient import TestClient
        from api.main import app
        client = TestClient(app, raise_server_exceptions=False)
        ITEM, POST = "/items/", "/orders"
    """, REQUESTS, """
        out["inflight"] = client.get("/inflight").json()
        out["metrics"] = client.get("/metrics").text
    """)
    assert out["codes"] == [200, 200, 404, 201, 201, 200, 500, 404, 200, 200]
    # the request asking for the gauge is the one in flight
    assert out["inflight"] == {"active": 1.0}
    text = out["metrics"]
    assert http_counts(text) == {
        ("GET", "/items/{item_id}", "200", ""): 2.0,
        ("GET", "/items/{item_id}", "404", ""): 1.0,  # HTTPException: answered by the app, not an error
        ("POST", "/orders", "201", ""): 2.0,
        ("GET", "/slow", "200", ""): 1.0,
        ("GET", "/boom", "500", "ZeroDivisionError"): 1.0,
        ("GET", "", "404", ""): 1.0,  # no route matched: no template, and never the raw path /nope
        ("GET", "/inflight", "200", ""): 1.0,
    }
    # /slow sleeps 30 ms: nothing in the buckets up to 25 ms, all of it from 100 ms up
    assert {k: v for k, v in http_buckets(text, "GET", "/slow", "200").items()
            if k in expected_buckets(0.025, 0.1)} == expected_buckets(0.025, 0.1)
    assert families(text)[HTTP.sum][(("error_type", ""), ("http_request_method", "GET"),
                                     ("http_response_status_code", "200"), ("http_route", "/slow"))] >= 0.03
    assert families(text)[M.HTTP_SERVER_ACTIVE.name] == {(("http_request_method", "GET"),): 0.0,
                                                         (("http_request_method", "POST"),): 0.0}
    assert promtool_check(text) == ""


def test_flask_requests_counted_by_method_route_status_and_error(flask_app):
    out = _probe(flask_app, """
        import notes
        client = notes.app.test_client()
        ITEM, POST = "/notes/", "/notes"
    """, REQUESTS, """
        # in testing or debug mode Flask lets the exception through the WSGI middleware: still a 500
        notes.app.config["PROPAGATE_EXCEPTIONS"] = True
        try:
            client.get("/boom")
        except ZeroDivisionError:
            out["propagated"] = True
        out["metrics"] = client.get("/metrics").get_data(as_text=True)
    """)
    assert out["codes"] == [200, 200, 404, 201, 201, 200, 500, 404, 200, 200]
    assert out["propagated"] is True
    text = out["metrics"]
    assert http_counts(text) == {
        ("GET", "/notes/<int:note_id>", "200", ""): 2.0,
        ("GET", "/notes/<int:note_id>", "404", ""): 1.0,
        ("POST", "/notes", "201", ""): 2.0,
        ("GET", "/slow", "200", ""): 1.0,
        ("GET", "/boom", "500", "ZeroDivisionError"): 2.0,  # handled by Flask, then propagated
        ("GET", "", "404", ""): 1.0,
    }
    assert {k: v for k, v in http_buckets(text, "GET", "/slow", "200").items()
            if k in expected_buckets(0.025, 0.1)} == expected_buckets(0.025, 0.1)
    assert families(text)[M.HTTP_SERVER_ACTIVE.name] == {(("http_request_method", "GET"),): 0.0,
                                                         (("http_request_method", "POST"),): 0.0}
    assert promtool_check(text) == ""


def test_methods_outside_the_standard_nine_are_one_label_value(flask_app):
    out = _probe(flask_app, """
        import notes
        client = notes.app.test_client()
        out["codes"] = [client.open("/notes/1", method=m).status_code for m in ("PURGE", "FOO", "HEAD")]
        out["metrics"] = client.get("/metrics").get_data(as_text=True)
    """)
    assert out["codes"] == [405, 405, 200]
    # 405: the URL matched a rule but not its methods; Flask reports no rule, so no template
    assert http_counts(out["metrics"]) == {("_OTHER", "", "405", ""): 2.0, ("HEAD", "/notes/<int:note_id>", "200", ""): 1.0}


# --- @profiled ---------------------------------------------------------------------------------------

HEAVY = '''\
"""Work worth profiling."""
import asyncio
import time


def crunch(size):
    block = bytearray(size)  # size bytes at once
    start = time.thread_time()
    while time.thread_time() - start < 0.02:  # 20 ms of CPU
        pass
    return len(block)


async def fetch():
    start = time.thread_time()
    while time.thread_time() - start < 0.02:
        pass
    await asyncio.sleep(0.05)  # meanwhile another task burns 200 ms of CPU in this thread
    return "done"


def fail():
    raise ValueError("bad input")
'''

BURN = """
import asyncio, time

async def burner():
    await asyncio.sleep(0)
    start = time.thread_time()
    while time.thread_time() - start < 0.2:
        pass

async def both():
    return (await asyncio.gather(heavy.fetch(), burner()))[0]
"""

MIB = 1024 * 1024


@pytest.fixture
def profiled_app(flask_app) -> Path:
    (flask_app / "heavy.py").write_text(HEAVY)
    r = run_cli("instrument", "apply", str(flask_app), "--functions", "crunch", "--profile", "crunch,fetch",
                "--profile", "heavy.py:fail")
    assert r.code == 0, r.err
    assert r.out.splitlines() == ["updated  heavy.py"]
    return flask_app


def _buckets(text: str, metric, function: str) -> dict[float, float]:
    return {float(dict(k)["le"]): v for k, v in families(text).get(metric.bucket, {}).items()
            if dict(k)["function"] == function}


def test_profiled_is_applied_by_libcst_next_to_traced(profiled_app):
    src = (profiled_app / "heavy.py").read_text()
    assert src.startswith('"""Work worth profiling."""\nimport asyncio\nimport time\n'
                          "from rq_obs_instrumentation import profiled, traced\n")
    assert "\n\n@traced\n@profiled\ndef crunch(size):\n    block = bytearray(size)  # size bytes at once\n" in src
    assert "\n\n@profiled\nasync def fetch():\n" in src and "\n\n@profiled\ndef fail():\n" in src
    before = _snapshot(profiled_app)
    r = run_cli("instrument", "apply", str(profiled_app), "--functions", "crunch", "--profile", "crunch,fetch,fail")
    assert r.code == 0 and r.out == "nothing to change: already instrumented\n"
    assert _snapshot(profiled_app) == before
    r = run_cli("instrument", "apply", str(profiled_app), "--profile", "nope")
    assert r.code == 2 and "--profile 'nope': no top-level function or method of that name" in r.err


def test_profiling_on_records_cpu_memory_and_pstats_per_call(profiled_app, tmp_path):
    prof_dir = tmp_path / "profiles"
    out = _probe(profiled_app, """
        import asyncio, os, pstats
        import heavy
        from rq_obs_instrumentation import REGISTRY, dump_profiles
        from prometheus_client import generate_latest
    """, BURN, """
        out["crunch"] = [heavy.crunch(5 * 1024 * 1024) for _ in range(3)]
        out["fetch"] = asyncio.run(both())
        try:
            heavy.fail()
        except ValueError as exc:
            out["fail"] = str(exc)
        paths = dump_profiles()
        out["files"] = [os.path.basename(p) for p in paths]
        out["pid"] = os.getpid()
        stats = pstats.Stats(paths[0]).stats
        out["calls"] = {func: nc for (file, line, func), (cc, nc, tt, ct, callers) in stats.items()
                        if file.endswith("heavy.py")}
        out["metrics"] = generate_latest(REGISTRY).decode()
    """, env={"RQ_OBS_PROFILE": "1", "RQ_OBS_PROFILE_DIR": str(prof_dir)})
    assert out["crunch"] == [5 * MIB] * 3 and out["fetch"] == "done" and out["fail"] == "bad input"
    # cProfile: synchronous functions only (a coroutine's profile would hold every task run while it awaits)
    assert out["files"] == [f"crunch.{out['pid']}.pstats", f"fail.{out['pid']}.pstats"]
    assert out["calls"] == {"crunch": 3}
    text = out["metrics"]
    cpu, mem = M.APP_FUNCTION_CPU, M.APP_FUNCTION_MEMORY
    # 20 ms of CPU each: (10 ms, 50 ms]. fetch's own steps only: the burner's 200 ms are not its CPU time
    assert _buckets(text, cpu, "crunch") == {b: (0.0 if b <= 0.01 else 3.0) for b in (*cpu.buckets, float("inf"))}
    assert _buckets(text, cpu, "fetch") == {b: (0.0 if b <= 0.01 else 1.0) for b in (*cpu.buckets, float("inf"))}
    # 5 MiB at once: (4 MiB, 16 MiB]
    assert _buckets(text, mem, "crunch") == {b: (0.0 if b <= 4 * MIB else 3.0) for b in (*mem.buckets, float("inf"))}
    assert families(text)[mem.count][(("function", "fail"),)] == 1.0  # recorded although it raised
    assert families(text)[mem.sum][(("function", "crunch"),)] >= 3 * 5 * MIB
    # the wall-time histogram of @traced is independent of profiling
    assert families(text)[M.APP_FUNCTION_DURATION.count] == {(("function", "crunch"),): 3.0}
    assert promtool_check(text) == ""


def test_profiling_off_costs_one_check_and_can_be_turned_on_at_run_time(profiled_app, tmp_path):
    out = _probe(profiled_app, """
        import tracemalloc
        import heavy
        import rq_obs_instrumentation as inst
        from prometheus_client import generate_latest
        heavy.crunch(1024)
        heavy.crunch(1024)
        out["off"] = generate_latest(inst.REGISTRY).decode()
        inst.set_profiling("cpu")
        heavy.crunch(1024)
        out["tracing"] = tracemalloc.is_tracing()
        inst.set_profiling("")
        heavy.crunch(1024)
        out["cpu_only"] = generate_latest(inst.REGISTRY).decode()
        try:
            inst.dump_profiles()
        except ValueError as exc:
            out["dump"] = str(exc)
    """)
    off = families(out["off"])
    assert M.APP_FUNCTION_CPU.count not in off and M.APP_FUNCTION_MEMORY.count not in off
    cpu_only = families(out["cpu_only"])
    assert cpu_only[M.APP_FUNCTION_CPU.count] == {(("function", "crunch"),): 1.0}
    assert M.APP_FUNCTION_MEMORY.count not in cpu_only and out["tracing"] is False
    assert out["dump"] == "dump_profiles(): no directory given and RQ_OBS_PROFILE_DIR is not set"

    cp = subprocess.run([sys.executable, "-c", "import heavy"], cwd=profiled_app, capture_output=True, text=True,
                        env=python_env({"RQ_OBS_PROFILE": "fast"}), timeout=60)
    assert cp.returncode == 1
    assert ("ValueError: RQ_OBS_PROFILE='fast': expected 1, true, all, cpu, memory or cpu,memory "
            "(0, false, off or empty: off)") in cp.stderr
