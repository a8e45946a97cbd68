"""Shared by the backfill tests: a store of given runs, and a real Prometheus on backfilled blocks."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from rq_obs.store import Run, Store, save_run
from tests.helpers.procs import Prometheus


def write_store(path: Path, runs: Iterable[Run]) -> Path:
    store = Store(path)
    for run in runs:
        save_run(store, run)
    store.close()
    return path


def prometheus_on(work: Path, data: Path) -> Prometheus:
    """A Prometheus (use as a context manager) on ``data``, scraping nothing, keeping every block."""
    return Prometheus(work, "global:\n  scrape_interval: 1h\n", data_dir=data,
                      extra_args=("--storage.tsdb.retention.time=10y",))
