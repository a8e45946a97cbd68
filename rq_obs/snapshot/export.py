"""Export per-release metrics as CSV, JSON, or Parquet (when pyarrow is installed)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Sequence

from rq_obs.errors import UsageError

__all__ = ["to_csv", "to_json", "write_parquet", "PARQUET_MISSING"]

PARQUET_MISSING = ("Parquet export needs pyarrow, which is not installed: pip install pyarrow "
                   "(or export with --format csv or --format json)")


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: "" if v is None else v for k, v in r.items()})
    return buf.getvalue()


def to_json(rows: Sequence[dict[str, Any]]) -> str:
    return json.dumps(list(rows), indent=2, sort_keys=False) + "\n"


def write_parquet(rows: Sequence[dict[str, Any]], path: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError(PARQUET_MISSING) from None
    pq.write_table(pa.Table.from_pylist(list(rows)), str(path))
