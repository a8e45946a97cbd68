"""`rq-obs bench compare` on result files written by the real pytest-benchmark and pyperf, and its agreement
with pyperf's own `compare_to` on the same files."""

import json
import subprocess
import sys

import pytest

from tests.helpers.cli import run_cli

WORK = """
import os

N = int(os.environ["WORK_N"])


def test_sum(benchmark):
    benchmark(sum, range(N))
"""


def _pytest_benchmark(tmp, n: int, *flags: str) -> None:
    env = {"WORK_N": str(n), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:rq_obs", "-p", "no:cacheprovider", "-p", "no:xdist",
                        "test_work.py", "--benchmark-min-rounds=20", "--benchmark-max-time=0.01", *flags],
                       cwd=tmp, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def _pyperf(tmp, out: str, stmt: str, *flags: str) -> None:
    r = subprocess.run([sys.executable, "-m", "pyperf", "timeit", "-q", "--name", "work", "-o", out, *flags, stmt],
                       cwd=tmp, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    (tmp / "test_work.py").write_text(WORK)
    _pytest_benchmark(tmp, 20_000, "--benchmark-json=pb_base.json")
    _pytest_benchmark(tmp, 80_000, "--benchmark-json=pb_head.json")  # 4x the work
    _pytest_benchmark(tmp, 20_000, "--benchmark-autosave", f"--benchmark-storage=file://{tmp}/store")  # no rounds
    (saved,) = (tmp / "store").rglob("*.json")
    timing = ("-p", "4", "-n", "5", "-l", "100", "-w", "1")
    _pyperf(tmp, "pp_base.json", "sum(range(2000))", *timing)
    _pyperf(tmp, "pp_head.json", "sum(range(8000))", *timing)
    memory = ("--tracemalloc", "-p", "6", "-n", "1", "-l", "1", "-w", "0")
    _pyperf(tmp, "mem_base.json", "bytearray(100_000)", *memory)
    _pyperf(tmp, "mem_head.json", "bytearray(300_000)", *memory)
    return tmp, saved


def _json(*args):
    r = run_cli("bench", "compare", *args, "--format", "json")
    return r.code, json.loads(r.out) if r.out.strip() else None, r.err


def test_pytest_benchmark_files(files):
    tmp, saved = files
    code, doc, err = _json(tmp / "pb_base.json", tmp / "pb_head.json")
    assert code == 1 and "1 benchmarks regressed: test_work.py::test_sum" in err
    (b,) = doc["benchmarks"]
    assert (b["name"], b["status"], b["unit"], b["severity"]) == ("test_work.py::test_sum", "regressed", "second", "critical")
    raw_b = json.loads((tmp / "pb_base.json").read_text())["benchmarks"][0]["stats"]["data"]
    raw_h = json.loads((tmp / "pb_head.json").read_text())["benchmarks"][0]["stats"]["data"]
    assert (b["n_base"], b["n_head"]) == (len(raw_b), len(raw_h)) and min(len(raw_b), len(raw_h)) >= 20
    assert b["ci"][0] > 1.05 and b["ci"][0] <= b["ratio"] <= b["ci"][1] and 2.0 < b["ratio"] < 8.0
    assert b["confidence"] == 0.99 and b["test"].startswith("Mann-Whitney U") and b["p_value"] < 0.005
    assert doc["summary"] == {"regressed": 1, "improved": 0, "unchanged": 0, "inconclusive": 0}
    # reversed: the same benchmark improved, exit 0
    code, doc, _ = _json(tmp / "pb_head.json", tmp / "pb_base.json")
    assert code == 0 and doc["benchmarks"][0]["status"] == "improved"
    # a file saved without the rounds: exit 2 naming the flag
    r = run_cli("bench", "compare", tmp / "pb_base.json", saved)
    assert r.code == 2 and str(saved) in r.err and "--benchmark-save-data" in r.err and r.out == ""
    md = run_cli("bench", "compare", tmp / "pb_base.json", tmp / "pb_head.json", "--format", "markdown").out
    assert md.startswith("### Benchmarks: 1 regressed, 0 improved\n") and "| test_work.py::test_sum |" in md


def _compare_to(tmp, a, b) -> str:
    r = subprocess.run([sys.executable, "-m", "pyperf", "compare_to", a, b], cwd=tmp, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_pyperf_files_agree_with_pyperf_compare_to(files):
    tmp, _ = files
    import pyperf

    code, doc, _ = _json(tmp / "pp_base.json", tmp / "pp_head.json")
    (b,) = doc["benchmarks"]
    values = pyperf.BenchmarkSuite.load(str(tmp / "pp_head.json")).get_benchmarks()[0].get_values()
    assert b["n_head"] == len(values) == 20 and b["unit"] == "second"
    assert code == 1 and b["status"] == "regressed"
    theirs = _compare_to(tmp, "pp_base.json", "pp_head.json")
    assert "slower" in theirs and "not significant" not in theirs.lower()  # pyperf: significant, slower
    # a file against itself: pyperf finds nothing significant, rq-obs no regression
    code, doc, _ = _json(tmp / "pp_base.json", tmp / "pp_base.json")
    assert code == 0 and doc["benchmarks"][0]["status"] in ("unchanged", "inconclusive")
    assert doc["benchmarks"][0]["ratio"] == 1.0
    assert "slower" not in _compare_to(tmp, "pp_base.json", "pp_base.json")


def test_pyperf_memory_uses_the_memory_threshold(files):
    tmp, _ = files
    code, doc, _ = _json(tmp / "mem_base.json", tmp / "mem_head.json")
    (b,) = doc["benchmarks"]
    assert (b["unit"], b["threshold"], b["n_base"], b["n_head"]) == ("byte", 0.10, 6, 6)
    assert code == 1 and b["status"] == "regressed" and 1.3 < b["ratio"] < 1.6  # 300 kB vs 100 kB + interpreter peak


def test_bad_files(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"something": 1}')
    r = run_cli("bench", "compare", bad, bad)
    assert r.code == 2 and f"{bad}: unknown results format" in r.err
    bad.write_text("not json")
    r = run_cli("bench", "compare", bad, bad)
    assert r.code == 2 and f"{bad}: not JSON" in r.err
    r = run_cli("bench", "compare", tmp_path / "missing.json", bad)
    assert r.code == 2 and "missing.json: cannot read benchmark results" in r.err
