"""The durable local store (SQLite, WAL). See :mod:`rq_obs.store.db` and :mod:`rq_obs.store.runs`."""

from rq_obs.store.db import Store
from rq_obs.store.records import ApiCall, Attempt, Run, TrackedFile, run_from_dict, run_to_dict
from rq_obs.store.runs import add_attempts, begin_run, finish_run, list_runs, read_totals, save_run

__all__ = ["Store", "Run", "Attempt", "ApiCall", "TrackedFile", "run_from_dict", "run_to_dict", "save_run",
           "begin_run", "add_attempts", "finish_run", "read_totals", "list_runs"]
