"""What the code `rq-obs instrument apply` generates costs an app: HTTP server metrics per request, @profiled per call.

Renders the generated module (Flask and FastAPI variants) into a temporary directory, imports it, and prints:

- the HTTP metrics middleware around a trivial WSGI app and a trivial ASGI app, called directly
  (microseconds per request added: the middleware alone, no server, no framework);
- the same with tracemalloc running (what RQ_OBS_PROFILE=1 turns on for the whole process);
- @profiled per call: undecorated, profiling off (one check), on with CPU time only, CPU and memory
  (tracemalloc running), and with cProfile statistics (RQ_OBS_PROFILE_DIR).

Each figure is the best of --repeat runs. Usage: python benchmarks/app_overhead.py [--requests 50000] [--calls 200000]
[--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rq_obs.instrument import template  # noqa: E402


def load(framework: str, where: Path):
    path = where / f"gen_{framework}.py"
    path.write_text(template.render_module(framework, "bench", [], []))
    spec = importlib.util.spec_from_file_location(f"gen_{framework}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def best(fn, n: int, repeat: int) -> float:
    """Best seconds per call of fn() over ``repeat`` runs of ``n`` calls."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(n)
        out.append((time.perf_counter() - start) / n)
    return min(out)


def wsgi_figures(mod, n: int, repeat: int) -> tuple[float, float]:
    def app(environ, start_response):
        environ["rq_obs.http_route"] = "/items/<int:item_id>"  # what the Flask teardown hook sets
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    wrapped = mod._HttpMetrics(app, ["/metrics", "/health", "/ready"])

    def run(target):
        def loop(k):
            for _ in range(k):
                target({"REQUEST_METHOD": "GET", "PATH_INFO": "/items/1"}, lambda s, h, e=None: None)
        return loop

    return best(run(app), n, repeat), best(run(wrapped), n, repeat)


def asgi_figures(mod, n: int, repeat: int) -> tuple[float, float]:
    route = type("Route", (), {"path": "/items/{item_id}"})()

    async def app(scope, receive, send):
        scope["route"] = route
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    wrapped = mod._HttpMetrics(app, excluded=["/metrics", "/health", "/ready"])

    async def receive():
        return {"type": "http.request"}

    async def send(message):
        return None

    def run(target):
        async def loop(k):
            for _ in range(k):
                await target({"type": "http", "method": "GET", "path": "/items/1"}, receive, send)
        return lambda k: asyncio.run(loop(k))

    return best(run(app), n, repeat), best(run(wrapped), n, repeat)


def profiled_figures(mod, n: int, repeat: int, prof_dir: Path) -> dict[str, float]:
    def f(x):
        return x + 1

    g = mod.profiled(f)

    def loop(target):
        def run(k):
            for i in range(k):
                target(i)
        return run

    out = {"undecorated": best(loop(f), n, repeat)}
    mod.set_profiling("")
    out["@profiled, profiling off"] = best(loop(g), n, repeat)
    mod.set_profiling("cpu")
    out["@profiled, RQ_OBS_PROFILE=cpu"] = best(loop(g), n // 4, repeat)
    mod.set_profiling("1")
    out["@profiled, RQ_OBS_PROFILE=1 (cpu, memory)"] = best(loop(g), n // 4, repeat)
    mod.set_profiling("1", str(prof_dir))
    out["@profiled, RQ_OBS_PROFILE=1 + RQ_OBS_PROFILE_DIR"] = best(loop(g), n // 4, repeat)
    mod.set_profiling("")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=50_000)
    ap.add_argument("--calls", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        flask_mod, fastapi_mod = load("flask", Path(tmp)), load("fastapi", Path(tmp))
        print(f"python {sys.version.split()[0]}; best of {args.repeat}")
        bare, wrapped = wsgi_figures(flask_mod, args.requests, args.repeat)
        print(f"WSGI middleware (direct calls)   bare {bare * 1e6:7.2f} us  instrumented {wrapped * 1e6:7.2f} us  "
              f"added {(wrapped - bare) * 1e6:6.2f} us/request")
        bare, wrapped = asgi_figures(fastapi_mod, args.requests, args.repeat)
        print(f"ASGI middleware (direct calls)   bare {bare * 1e6:7.2f} us  instrumented {wrapped * 1e6:7.2f} us  "
              f"added {(wrapped - bare) * 1e6:6.2f} us/request")
        import tracemalloc

        tracemalloc.start()
        bare, wrapped = wsgi_figures(flask_mod, args.requests // 5, args.repeat)
        tracemalloc.stop()
        print(f"WSGI, tracemalloc running        bare {bare * 1e6:7.2f} us  instrumented {wrapped * 1e6:7.2f} us  "
              f"added {(wrapped - bare) * 1e6:6.2f} us/request")
        figures = profiled_figures(flask_mod, args.calls, args.repeat, Path(tmp) / "profiles")
        base = figures["undecorated"]
        for name, sec in figures.items():
            extra = "" if name == "undecorated" else f"  (+{(sec - base) * 1e9:8.0f} ns)"
            print(f"{name:50} {sec * 1e9:9.0f} ns/call{extra}")


if __name__ == "__main__":
    main()
