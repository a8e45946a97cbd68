"""Benchmark result files with their raw samples: pytest-benchmark JSON and pyperf JSON.

* pytest-benchmark (``pytest --benchmark-json=FILE``, which pytest-benchmark 5 always writes with the
  rounds, or the files under ``.benchmarks/`` that ``--benchmark-save`` / ``--benchmark-autosave``
  write, with the rounds only when ``--benchmark-save-data`` is given): the per-round times in
  ``stats.data``, read by :func:`rq_obs.snapshot.benchmarks.load_pytest_benchmark`. A file without
  them has only summary statistics: :func:`load_bench_file` refuses it (exit 2), naming that flag,
  because the detector needs the rounds.
* pyperf (``python bench.py -o FILE`` / ``pyperf timeit -o FILE``, ``.json`` or ``.json.gz``): read
  with pyperf's own loader (``pyperf.BenchmarkSuite.load``), values of every run without warm-ups,
  in the benchmark's unit (``second``; ``byte`` for ``--track-memory`` / ``--tracemalloc``).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from rq_obs.errors import InputError

__all__ = ["Series", "load_bench_file", "SAVE_DATA_FLAG"]

SAVE_DATA_FLAG = "--benchmark-save-data"


@dataclass(frozen=True)
class Series:
    name: str
    unit: str  # "second" | "byte" | pyperf's other units ("integer")
    samples: tuple[float, ...]
    source: str  # "pytest-benchmark" | "pyperf"


def _read(p: Path) -> object:
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise InputError(f"{p}: cannot read benchmark results ({e.strerror or e})") from None
    try:
        text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        return json.loads(text)
    except (OSError, ValueError) as e:
        raise InputError(f"{p}: not JSON ({e}); expected pytest-benchmark or pyperf JSON results") from None


def _is_pyperf(doc: object) -> bool:
    if not isinstance(doc, dict) or "version" not in doc:
        return False
    benches = doc.get("benchmarks")
    return "runs" in doc or (isinstance(benches, list) and all(isinstance(b, dict) and "runs" in b for b in benches))


def _pytest_benchmark(p: Path) -> list[Series]:
    from rq_obs.snapshot.benchmarks import load_pytest_benchmark

    benches = load_pytest_benchmark(p)
    bare = [b.name for b in benches if not b.samples]
    if bare:
        raise InputError(f"{p}: no per-round samples for {len(bare)} of {len(benches)} benchmarks ({bare[0]}, ...): "
                         f"rerun pytest with {SAVE_DATA_FLAG} (files written by --benchmark-save / --benchmark-autosave keep "
                         f"the rounds only with it; --benchmark-json=FILE keeps them too)")
    return [Series(b.name, "second", tuple(b.samples), "pytest-benchmark") for b in benches]


def _pyperf(p: Path) -> list[Series]:
    try:
        import pyperf
    except ImportError:  # pragma: no cover - pyperf is a dependency
        raise InputError(f"{p}: pyperf results need the pyperf package (pip install pyperf)") from None
    try:
        suite = pyperf.BenchmarkSuite.load(str(p))
    except Exception as e:  # pyperf raises ValueError/KeyError/TypeError on malformed files
        raise InputError(f"{p}: not a valid pyperf results file ({type(e).__name__}: {e})") from None
    out = []
    for b in suite.get_benchmarks():
        values = tuple(float(v) for v in b.get_values())
        if not values:
            raise InputError(f"{p}: pyperf benchmark {b.get_name()!r} has no values (only warm-ups or calibration runs)")
        out.append(Series(b.get_name(), b.get_unit(), values, "pyperf"))
    return sorted(out, key=lambda s: s.name)


def load_bench_file(path: str | Path) -> list[Series]:
    """Every benchmark in a pytest-benchmark or pyperf results file, with its raw samples."""
    p = Path(path)
    doc = _read(p)
    if _is_pyperf(doc):
        return _pyperf(p)
    if isinstance(doc, dict) and isinstance(doc.get("benchmarks"), list) and all(
            isinstance(b, dict) and "stats" in b for b in doc["benchmarks"]):
        return _pytest_benchmark(p)
    raise InputError(f"{p}: unknown results format; expected pytest-benchmark JSON (a 'benchmarks' list with 'stats') "
                     f"or pyperf JSON (a 'version' and benchmarks with 'runs')")
