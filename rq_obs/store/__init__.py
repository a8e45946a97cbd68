"""The durable local store (SQLite, WAL). See :mod:`rq_obs.store.db` and :mod:`rq_obs.store.runs`.

The names below are loaded when first used (PEP 562), so importing one submodule (say
:mod:`rq_obs.store.records` in an xdist worker, which never opens the store) does not import
the others, SQLite and the metric catalogue with it.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Store", "Run", "Attempt", "ApiCall", "TrackedFile", "run_from_dict", "run_to_dict", "save_run",
           "begin_run", "add_attempts", "finish_run", "read_totals", "list_runs"]

_WHERE = {
    "Store": "db",
    **{n: "records" for n in ("Run", "Attempt", "ApiCall", "TrackedFile", "run_from_dict", "run_to_dict")},
    **{n: "runs" for n in ("save_run", "begin_run", "add_attempts", "finish_run", "read_totals", "list_runs")},
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'rq_obs.store' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"rq_obs.store.{where}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
