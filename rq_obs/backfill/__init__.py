"""The store's history as Prometheus TSDB blocks, so dashboards show time before Prometheus existed.

:func:`backfill` replays the store's runs (:mod:`.history`), writes OpenMetrics sampled on a
fixed grid and checks it (:mod:`.openmetrics`), then has promtool turn it into blocks
(:mod:`.tsdb`).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rq_obs.backfill.history import Guard, Progress, WriteStats, replay, write_openmetrics
from rq_obs.backfill.openmetrics import ValidationReport, validate
from rq_obs.backfill.tsdb import Block, create_blocks, retention_flag
from rq_obs.store.cardinality import DEFAULT_MAX_SERIES
from rq_obs.store.db import Store
from rq_obs.store.runs import mark_series_old

__all__ = ["BackfillResult", "backfill", "validate", "create_blocks"]


@dataclass(frozen=True)
class BackfillResult:
    runs: int
    stats: WriteStats
    report: ValidationReport
    blocks: tuple[Block, ...]
    offset_series: int  # series whose early history was pruned from the store (folded in at their start)
    skipped_totals: tuple[str, ...]  # totals with no catalogue metric (not backfilled)
    folded_tests: int
    retention_flag: str
    seconds: dict


def backfill(store: Store, data_dir: Path, *, step: int = 300, start: float | None = None, end: float | None = None,
             keep_openmetrics: Path | None = None, max_tests: int = 5000, max_label_length: int = 200,
             max_series: int = DEFAULT_MAX_SERIES,
             progress: Progress | None = None, bytes_progress: Callable[[int], None] | None = None,
             now: float | None = None, zero_start: bool = False) -> BackfillResult:
    """Replay ``store`` and write its history as TSDB blocks into ``data_dir``.

    ``zero_start``: counters start at 0 one step before the first run (see
    :func:`rq_obs.backfill.history.write_openmetrics`)."""
    now = time.time() if now is None else now
    end = now if end is None else end
    data_dir = Path(data_dir)
    timings = {}
    read_at = time.time()  # series the store holds now get their history written below
    with tempfile.TemporaryDirectory(prefix="rq-obs-backfill-") as tmp:
        work = Path(tmp)
        guard = Guard(max_tests, max_label_length)
        t = time.perf_counter()
        history = replay(store, work, guard, progress, max_series)
        timings["replay"] = time.perf_counter() - t
        om = Path(keep_openmetrics) if keep_openmetrics else work / "history.om"
        om.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        stats = write_openmetrics(history, om, step=step, start=start, end=end, progress=progress,
                                  zero_start=zero_start)
        timings["write"] = time.perf_counter() - t
        t = time.perf_counter()
        report = validate(om, bytes_progress)
        timings["validate"] = time.perf_counter() - t
        t = time.perf_counter()
        blocks = create_blocks(om, data_dir)
        timings["promtool"] = time.perf_counter() - t
    mark_series_old(store, read_at)
    oldest = stats.first_sample if stats.first_sample is not None else now
    return BackfillResult(history.runs, stats, report, tuple(blocks), history.pruned_series,
                          tuple(sorted(history.skipped_totals)), len(guard.folded),
                          retention_flag(oldest, now), timings)
