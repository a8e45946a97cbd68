"""Prometheus TSDB blocks from an OpenMetrics file, made by ``promtool tsdb create-blocks-from openmetrics``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rq_obs import proc
from rq_obs.errors import UsageError

__all__ = ["Block", "create_blocks", "list_blocks", "retention_flag"]

#: promtool picks the largest block range of 2h x 3^n that fits; 8760h keeps a year in few blocks.
MAX_BLOCK_HOURS = 8760


@dataclass(frozen=True)
class Block:
    ulid: str
    min_time: float  # seconds
    max_time: float
    samples: int
    series: int
    bytes: int


def list_blocks(data_dir: Path) -> list[Block]:
    """Blocks (directories with a meta.json) in a Prometheus data directory, oldest first."""
    out = []
    for meta in sorted(Path(data_dir).glob("*/meta.json")):
        try:
            doc = json.loads(meta.read_text())
        except (OSError, ValueError):
            continue
        size = sum(p.stat().st_size for p in meta.parent.rglob("*") if p.is_file())
        stats = doc.get("stats", {})
        out.append(Block(doc.get("ulid", meta.parent.name), doc["minTime"] / 1000, doc["maxTime"] / 1000,
                         int(stats.get("numSamples", 0)), int(stats.get("numSeries", 0)), size))
    return sorted(out, key=lambda b: (b.min_time, b.ulid))


def create_blocks(openmetrics: Path, data_dir: Path, *, max_block_hours: int = MAX_BLOCK_HOURS,
                  timeout: float = 6 * 3600) -> list[Block]:
    """Run promtool; return the blocks it added to ``data_dir``. Raises UsageError with promtool's stderr."""
    data_dir = Path(data_dir)
    _check_dir(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    before = {b.ulid for b in list_blocks(data_dir)}
    result = proc.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", f"--max-block-duration={max_block_hours}h",
                       "--quiet", str(openmetrics), str(data_dir)], timeout=timeout)
    if not result.ok:
        detail = (result.stderr or result.stdout).strip()
        raise UsageError(f"promtool tsdb create-blocks-from openmetrics {openmetrics} {data_dir} failed "
                         f"(exit {result.returncode}): {detail[-2000:]}")
    return [b for b in list_blocks(data_dir) if b.ulid not in before]


def retention_flag(oldest: float, now: float) -> str:
    """``--storage.tsdb.retention.time`` long enough to keep data back to ``oldest`` (days, with a margin)."""
    days = max(1, int((now - oldest) / 86400) + 1)
    margin = max(days // 10, 7)
    return f"--storage.tsdb.retention.time={days + margin}d"


def _check_dir(data_dir: Path) -> None:
    if Path(data_dir).exists() and not Path(data_dir).is_dir():
        raise UsageError(f"--data-dir {data_dir}: exists and is not a directory")
