"""Performance inputs of a snapshot: pytest-benchmark JSON import, a built-in runner, command resource sampling.

* :func:`load_pytest_benchmark` reads ``pytest --benchmark-json=FILE`` output. Per-round
  samples (``stats.data``, written with ``--benchmark-save-data``) are kept, so comparisons
  can use a rank test and p95/p99 are exact; without them p95/p99 are absent and comparisons
  fall back to Welch's t-test on the summary statistics.
* :func:`run_callable` / :func:`run_file` time plain functions: warm-up rounds, timed rounds
  (``time.perf_counter``), CPU (process time / wall time) and peak memory (one extra round
  under ``tracemalloc``, so it does not slow the timed ones).
* :func:`sample_command` runs a command and samples CPU, RSS, disk and network I/O over time
  (psutil, imported lazily).
"""

from __future__ import annotations

import importlib.util
import math
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable, Sequence

from rq_obs.errors import InputError
from rq_obs.inputs import read_json
from rq_obs.snapshot.model import Benchmark

__all__ = ["quantile", "from_samples", "load_pytest_benchmark", "run_callable", "run_file", "sample_command"]


def quantile(sorted_xs: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default) of sorted values."""
    if not sorted_xs:
        raise ValueError("no values")
    pos = (len(sorted_xs) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def from_samples(name: str, samples: Sequence[float], source: str, **extra: Any) -> Benchmark:
    xs = sorted(float(x) for x in samples)
    if not xs:
        raise ValueError(f"benchmark {name!r} has no samples")
    return Benchmark(name=name, mean=statistics.fmean(xs), min=xs[0], max=xs[-1],
                     stddev=statistics.stdev(xs) if len(xs) > 1 else 0.0, p50=quantile(xs, 0.5),
                     p95=quantile(xs, 0.95), p99=quantile(xs, 0.99), rounds=len(xs), samples=tuple(samples),
                     source=source, **extra)


def load_pytest_benchmark(path: str | Path) -> list[Benchmark]:
    p = Path(path)
    doc = read_json(p)
    benches = doc.get("benchmarks") if isinstance(doc, dict) else None
    if not isinstance(benches, list):
        raise InputError(f"{p}: expected pytest-benchmark JSON with a 'benchmarks' list (pytest --benchmark-json)")
    out: dict[str, Benchmark] = {}
    for i, b in enumerate(benches):
        where = f"{p}: benchmarks[{i}]"
        if not isinstance(b, dict) or not isinstance(b.get("stats"), dict):
            raise InputError(f"{where} has no 'stats' object")
        name = b.get("fullname") or b.get("name")
        if not isinstance(name, str) or not name:
            raise InputError(f"{where} has no 'name'")
        s = b["stats"]
        for key in ("min", "max", "mean", "stddev", "rounds"):
            if not isinstance(s.get(key), (int, float)) or isinstance(s.get(key), bool):
                raise InputError(f"{where} ({name}): stats.{key} is {s.get(key)!r}; expected a number")
        data = s.get("data")
        if isinstance(data, list) and len(data) >= 2 and all(isinstance(x, (int, float)) for x in data):
            bench = from_samples(name, data, "pytest-benchmark")
        else:
            median = s.get("median", s["mean"])
            bench = Benchmark(name, float(s["mean"]), float(s["min"]), float(s["max"]), float(s["stddev"]), float(median),
                              None, None, int(s["rounds"]), (), None, None, "pytest-benchmark")
        out[name] = bench
    return [out[k] for k in sorted(out)]


def run_callable(name: str, fn: Callable[[], Any], warmup: int = 3, iterations: int = 20) -> Benchmark:
    if iterations < 2:
        raise ValueError("iterations must be at least 2")
    for _ in range(warmup):
        fn()
    samples = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    if not was_tracing:
        tracemalloc.stop()
    return from_samples(name, samples, "runner", peak_memory_bytes=float(max(peak, 0)),
                        cpu_percent=100.0 * cpu / wall if wall > 0 else None)


def run_file(path: str | Path, warmup: int = 3, iterations: int = 20) -> list[Benchmark]:
    """Run every ``bench_*`` function (no arguments) of a Python file; the operation name is ``file::function``."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: benchmark file not found")
    spec = importlib.util.spec_from_file_location(f"rq_obs_bench_{p.stem}", p)
    if spec is None or spec.loader is None:
        raise InputError(f"{p}: cannot be imported as Python")
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(p.parent))
    try:
        spec.loader.exec_module(mod)
    except Exception as exc:  # noqa: BLE001 - the user's file; name it
        raise InputError(f"{p}: import failed: {type(exc).__name__}: {exc}") from None
    finally:
        sys.path.remove(str(p.parent))
    fns = sorted((n, f) for n, f in vars(mod).items() if n.startswith("bench_") and callable(f))
    if not fns:
        raise InputError(f"{p}: no bench_* functions found")
    return [run_callable(f"{p.name}::{n}", f, warmup, iterations) for n, f in fns]


def sample_command(argv: Sequence[str], interval: float = 0.1, timeout: float = 3600.0,
                   progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run ``argv`` and sample its resource use (process tree CPU and RSS, disk I/O, host network I/O);
    ``progress`` gets a status text after each sample."""
    import subprocess

    import psutil

    from rq_obs.proc import require

    exe = require(argv[0])
    net0 = psutil.net_io_counters()
    t0 = time.monotonic()
    proc = psutil.Popen([exe, *argv[1:]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples: list[dict[str, float]] = []
    io_last: dict[int, tuple[int, int]] = {}

    def tree() -> list:
        try:
            return [proc, *proc.children(recursive=True)]
        except psutil.Error:
            return []

    for p in tree():
        try:
            p.cpu_percent(None)
        except psutil.Error:
            pass
    code = None
    while code is None:
        try:
            code = proc.wait(timeout=interval)
        except psutil.TimeoutExpired:
            pass
        if time.monotonic() - t0 > timeout:
            proc.kill()
            code = proc.wait()
        cpu = rss = 0.0
        for p in tree():
            try:
                with p.oneshot():
                    cpu += p.cpu_percent(None)
                    rss += p.memory_info().rss
                    try:
                        io = p.io_counters()
                        io_last[p.pid] = (io.read_bytes, io.write_bytes)
                    except (psutil.Error, AttributeError):
                        pass
            except psutil.Error:
                continue
        if progress is not None:
            progress(f"sampling {argv[0]}: {time.monotonic() - t0:.0f} s, CPU {cpu:.0f} %, RSS {rss / 1e6:.0f} MB")
        if code is None or rss:
            samples.append({"t": round(time.monotonic() - t0, 3), "cpu_percent": cpu, "rss_bytes": rss})
    duration = time.monotonic() - t0
    net1 = psutil.net_io_counters()
    cpus = [s["cpu_percent"] for s in samples] or [0.0]
    mems = [s["rss_bytes"] for s in samples] or [0.0]
    return {
        "command": list(argv), "exit_code": code, "duration_seconds": duration, "interval_seconds": interval,
        "samples": samples,
        "cpu": {"avg_percent": statistics.fmean(cpus), "peak_percent": max(cpus)},
        "memory": {"avg_bytes": statistics.fmean(mems), "peak_bytes": max(mems)},
        "disk_io": {"read_bytes": sum(r for r, _ in io_last.values()), "write_bytes": sum(w for _, w in io_last.values())},
        "network_io": {"sent_bytes": (net1.bytes_sent - net0.bytes_sent) if net0 and net1 else None,
                       "recv_bytes": (net1.bytes_recv - net0.bytes_recv) if net0 and net1 else None,
                       "scope": "host"},
    }
