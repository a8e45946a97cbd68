import sys
from pathlib import Path

import pytest

from rq_obs.errors import InputError
from rq_obs.snapshot.benchmarks import from_samples, load_pytest_benchmark, quantile, run_callable, run_file, sample_command

DATA = Path(__file__).resolve().parent.parent / "data" / "release"


def test_stats_from_samples_are_exact():
    b = from_samples("op", [4.0, 1.0, 3.0, 2.0, 5.0], "runner")
    assert (b.mean, b.min, b.max, b.p50, b.rounds) == (3.0, 1.0, 5.0, 3.0, 5)
    assert b.stddev == pytest.approx(1.5811388300841898)
    assert (b.p95, b.p99) == (pytest.approx(4.8), pytest.approx(4.96))
    assert quantile([1.0, 2.0], 0.5) == 1.5


def test_pytest_benchmark_import_errors_name_the_field(tmp_path):
    p = tmp_path / "b.json"
    p.write_text('{"benchmarks": [{"name": "x", "stats": {"min": 1, "max": 2, "mean": "fast", "stddev": 0, "rounds": 3}}]}')
    with pytest.raises(InputError, match=r"benchmarks\[0\] \(x\): stats.mean is 'fast'; expected a number"):
        load_pytest_benchmark(p)
    assert [b.name for b in load_pytest_benchmark(DATA / "pytest-benchmark.json")] == [
        "tests/test_perf.py::test_parse", "tests/test_perf.py::test_render"]


def test_runner_times_memory_and_cpu():
    b = run_callable("alloc", lambda: bytearray(4_000_000), warmup=1, iterations=5)
    assert b.rounds == 5 and len(b.samples) == 5 and b.min <= b.p50 <= b.max
    assert 4_000_000 <= b.peak_memory_bytes < 5_000_000
    assert b.cpu_percent is not None and b.source == "runner"


def test_run_file_and_snapshot_cli(tmp_path):
    f = tmp_path / "bench_ops.py"
    f.write_text("def bench_sum():\n    sum(range(1000))\n\ndef bench_sort():\n    sorted(range(1000, 0, -1))\n\ndef helper():\n    pass\n")
    assert [b.name for b in run_file(f, warmup=0, iterations=3)] == ["bench_ops.py::bench_sort", "bench_ops.py::bench_sum"]
    with pytest.raises(InputError, match="no bench_\\* functions"):
        (tmp_path / "empty.py").write_text("x = 1\n")
        run_file(tmp_path / "empty.py")


def test_sample_command_records_resources():
    code = "import hashlib; x = bytearray(80_000_000); [hashlib.sha256(x).digest() for _ in range(4)]"
    r = sample_command([sys.executable, "-c", code], interval=0.02)
    assert r["exit_code"] == 0 and r["samples"]
    assert r["memory"]["peak_bytes"] > 80_000_000
    assert r["cpu"]["peak_percent"] > 0 and r["network_io"]["scope"] == "host"
