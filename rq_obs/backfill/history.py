"""The store's history as time series: replay the runs, then sample every series on a fixed grid.

Counters on /metrics come from running totals that :func:`rq_obs.store.runs.save_run`
updates run by run. Rather than re-implement that bookkeeping, :func:`replay` saves the
store's runs again, in time order, into a scratch store and records, after each run,
the new value of every total it changed (a temporary trigger on the scratch store's
``totals`` table lists the changed rows, so each run costs only what it changed). Store
gauges (latest run sequence, timestamp and duration per suite; tracked-file hash and
last change) are derived from the same runs.

Totals of runs that :func:`rq_obs.store.runs.prune` deleted are still in the store's
``totals``; whatever the replay falls short of them is added to the series from its
first sample on, so backfilled counters join the live /metrics values without a jump.

:func:`write_openmetrics` then walks a grid (``step`` seconds) from each series' first
appearance to ``end``, forward-filling between runs (counters are flat between runs and
an instant query needs a sample within Prometheus' 5-minute lookback). Memory stays
bounded by the number of series: replay events go to a temporary file, each family's
samples stream into their own temporary file (time-major: all series of the family at
one step, then the next step), and the families are concatenated at the end.
"""

from __future__ import annotations

import json
import marshal
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from rq_obs.backfill.openmetrics import EOF, family_header, format_timestamp, format_value, label_pairs, series_prefix
from rq_obs.catalog import METRICS, OTHER, M, Metric
from rq_obs.errors import InputError
from rq_obs.store.cardinality import DEFAULT_MAX_SERIES, configure
from rq_obs.store.db import Store
from rq_obs.store.loading import load_run
from rq_obs.store.runs import labels_key, read_totals, save_run
from rq_obs.store.totals import fold

__all__ = ["Guard", "History", "replay", "write_openmetrics", "WriteStats", "Progress"]

#: progress(phase, done, total): phase is "replay" (runs) or "samples" (grid steps).
Progress = Callable[[str, int, int], None]

#: Gauges the store exporter derives from runs; the replay derives their history the same way.
RUN_GAUGES = (M.RUN_SEQUENCE, M.LAST_RUN_TIMESTAMP, M.RUN_DURATION)

_TRIGGERS = """
CREATE TEMP TABLE IF NOT EXISTS backfill_changed (metric TEXT NOT NULL, labels TEXT NOT NULL, PRIMARY KEY (metric, labels)) WITHOUT ROWID;
CREATE TEMP TRIGGER IF NOT EXISTS backfill_totals_ins AFTER INSERT ON main.totals BEGIN
  INSERT OR IGNORE INTO backfill_changed (metric, labels) VALUES (new.metric, new.labels); END;
CREATE TEMP TRIGGER IF NOT EXISTS backfill_totals_upd AFTER UPDATE ON main.totals BEGIN
  INSERT OR IGNORE INTO backfill_changed (metric, labels) VALUES (new.metric, new.labels); END
"""


class Guard:
    """The exporter's cardinality caps, applied to whole series (not per scrape).

    Label values longer than ``max_length`` are truncated; per suite, tests beyond the first
    ``max_tests`` (in order of first appearance) fold into ``__other__`` and their values add up.
    """

    def __init__(self, max_tests: int, max_length: int):
        self.max_tests = max_tests
        self.max_length = max_length
        self._tests: dict[str, set[str]] = {}
        self.folded: set[tuple[str, str]] = set()

    def labels(self, labels: dict[str, str]) -> dict[str, str]:
        out = {}
        for k, v in labels.items():
            v = str(v)[: self.max_length]
            if k == "test":
                seen = self._tests.setdefault(labels.get("suite", ""), set())
                if v not in seen:
                    if len(seen) >= self.max_tests:
                        self.folded.add((labels.get("suite", ""), v))
                        v = OTHER
                    else:
                        seen.add(v)
            out[k] = v
        return out


@dataclass
class _Key:
    id: int
    metric: Metric
    sample: str
    labels: dict[str, str]
    order: tuple
    members: set = field(default_factory=set)  # source keys folded into this output series


@dataclass
class History:
    """What :func:`replay` produced: the series and a file of per-run changes in time order."""

    keys: list[_Key]
    events_path: Path
    first_time: float | None
    last_time: float | None
    runs: int
    offsets: dict[int, float]
    pruned_series: int
    skipped_totals: set[str]

    def events(self) -> Iterator[tuple[float, list[tuple[int, float | None]]]]:
        with open(self.events_path, "rb") as fh:
            while True:
                try:
                    yield marshal.load(fh)
                except EOFError:
                    return


def _family_of_samples() -> dict[str, Metric]:
    return {s: m for m in METRICS for s in m.sample_names()}


def _order(metric: Metric, sample: str, labels: dict[str, str]) -> tuple:
    base = tuple(labels.get(n, "") for n in metric.labels)
    if metric.type == "histogram":
        kind = {metric.bucket: 0, metric.count: 1, metric.sum: 2}[sample]
        le = labels.get("le")
        return base + (kind, math.inf if le == "+Inf" else float(le) if le else 0.0)
    return base


def _all_buckets(metric: Metric, labels: dict[str, str]) -> list[tuple[Metric, tuple]]:
    base = {k: v for k, v in labels.items() if k != "le"}
    les = [repr(float(b)) for b in metric.buckets] + ["+Inf"]
    return [(metric, tuple(sorted({**base, "le": le}.items()))) for le in les]


def replay(src: Store, workdir: Path, guard: Guard, progress: Progress | None = None,
           max_series: int = DEFAULT_MAX_SERIES) -> History:
    """Replay ``src``'s runs into a scratch store under ``workdir``; return the series and their changes.

    ``max_series``: the ingest cap of the scratch store (config ``max_series``, as ``serve`` sets it)."""
    workdir = Path(workdir)
    scratch = Store(workdir / "replay.db")
    configure(scratch, max_series)
    conn = scratch.connect()
    conn.execute("PRAGMA synchronous=OFF")
    conn.executescript(_TRIGGERS)
    families = _family_of_samples()
    keys: list[_Key] = []
    out_ids: dict[tuple[str, str], int] = {}  # (sample, output labels json) -> key id
    src_map: dict[tuple[str, str], int] = {}  # (sample, source labels json) -> output key id
    src_values: dict[tuple[str, str], float] = {}
    skipped: set[str] = set()

    def key_for(metric: Metric, sample: str, labels: dict[str, str], source: tuple[str, str] | None) -> int:
        if source is not None and source in src_map:
            return src_map[source]
        out = guard.labels(labels)
        ok = (sample, labels_key(out))
        kid = out_ids.get(ok)
        if kid is None:
            kid = len(keys)
            keys.append(_Key(kid, metric, sample, out, _order(metric, sample, out)))
            out_ids[ok] = kid
        if source is not None:
            src_map[source] = kid
            keys[kid].members.add(source)
        return kid

    def output_value(kid: int) -> float:
        members = keys[kid].members
        if len(members) == 1:
            return src_values[next(iter(members))]
        return sum(src_values.get(s, 0.0) for s in members)

    total_runs = src.query("SELECT COUNT(*) FROM runs")[0][0]
    events_path = workdir / "events.bin"
    first = last = None
    done = 0
    zeros: set = set()
    zero_keys: set[int] = set()
    tracked_current: dict[str, int] = {}  # path -> key id of the current rqobs_tracked_file_info series
    with open(events_path, "wb") as ev:
        cur = src.connect().execute("SELECT * FROM runs ORDER BY started_at, sequence, run_id")
        while True:
            rows = cur.fetchmany(200)
            if not rows:
                break
            for row in rows:
                run = load_run(src, row["run_id"])
                save_run(scratch, run)
                fold(scratch)  # this run's attempts into the scratch totals, so the trigger sees them
                changed = conn.execute(
                    "SELECT t.metric, t.labels, t.value FROM totals t JOIN backfill_changed c "
                    "ON c.metric = t.metric AND c.labels = t.labels").fetchall()
                conn.execute("DELETE FROM backfill_changed")
                t = run.finished_at if run.finished_at is not None else run.started_at
                t = max(t, last) if last is not None else t
                first = t if first is None else first
                last = t
                touched: set[int] = set()
                for sample, lj, value in changed:
                    metric = families.get(sample)
                    if metric is None:
                        skipped.add(sample)
                        continue
                    source = (sample, lj)
                    src_values[source] = value
                    labels = json.loads(lj)
                    if metric.type == "histogram" and source not in src_map:
                        zeros.update(_all_buckets(metric, labels))
                    touched.add(key_for(metric, sample, labels, source))
                changes: list[tuple[int, float | None]] = [(k, output_value(k)) for k in sorted(touched)]
                for metric, labels in sorted(zeros, key=repr):  # buckets no attempt fell into yet read 0
                    kid = key_for(metric, metric.bucket, dict(labels), None)
                    if not keys[kid].members and kid not in zero_keys:
                        zero_keys.add(kid)
                        changes.append((kid, 0.0))
                zeros.clear()
                suite = {"suite": run.suite}
                changes.append((key_for(M.RUN_SEQUENCE, M.RUN_SEQUENCE.name, suite, None), float(row["sequence"])))
                if run.status == "complete" and run.finished_at is not None:
                    changes.append((key_for(M.LAST_RUN_TIMESTAMP, M.LAST_RUN_TIMESTAMP.name, suite, None),
                                    float(run.finished_at)))
                    changes.append((key_for(M.RUN_DURATION, M.RUN_DURATION.name, suite, None),
                                    max(0.0, run.finished_at - run.started_at)))
                for f in run.tracked_files:
                    kid = key_for(M.TRACKED_FILE, M.TRACKED_FILE.info, {"path": f.path, "sha256": f.sha256[:12]}, None)
                    old = tracked_current.get(f.path)
                    if old != kid:
                        if old is not None:
                            changes.append((old, None))  # the previous hash's series ends here
                        changes.append((kid, 1.0))
                        tracked_current[f.path] = kid
                for c in scratch.query("SELECT path, changed_at FROM file_changes WHERE run_id = ?", (run.run_id,)):
                    changes.append((key_for(M.TRACKED_FILE_LAST_CHANGE, M.TRACKED_FILE_LAST_CHANGE.name,
                                            {"path": c["path"]}, None), float(c["changed_at"])))
                marshal.dump((t, changes), ev)
                done += 1
                if progress is not None and (done % 50 == 0 or done == total_runs):
                    progress("replay", done, total_runs)
        # Totals the replay cannot reach (runs pruned from the store): an offset from the first sample on.
        replayed: dict[int, float] = {}
        for kid in range(len(keys)):
            if keys[kid].members:
                replayed[kid] = output_value(kid)
        wanted: dict[int, float] = {}
        for sample, labels, value in read_totals(src):
            metric = families.get(sample)
            if metric is None:
                skipped.add(sample)
                continue
            source = (sample, labels_key(labels))
            kid = key_for(metric, sample, labels, source)
            wanted[kid] = wanted.get(kid, 0.0) + value
        offsets = {}
        for kid, value in wanted.items():
            short = value - replayed.get(kid, 0.0)
            if short > 1e-9 * max(1.0, abs(value)):
                offsets[kid] = short
        appear = [(k, 0.0) for k in sorted(offsets) if k not in replayed]
        if appear:  # series only pruned runs contributed to: present (at their offset) from the start
            start = first if first is not None else float(int(time.time()))
            ev.close()
            _prepend(events_path, (start, appear))
            first = start if first is None else first
            last = start if last is None else last
    scratch.close()
    return History(keys, events_path, first, last, done, offsets, len(offsets), skipped)


def _prepend(path: Path, event: tuple) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as out, open(path, "rb") as src:
        marshal.dump(event, out)
        shutil.copyfileobj(src, out)
    os.replace(tmp, path)


@dataclass(frozen=True)
class WriteStats:
    series: int
    samples: int
    families: int
    first_sample: float | None
    last_sample: float | None
    bytes: int


class _Family:
    def __init__(self, metric: Metric, path: Path):
        self.metric = metric
        self.path = path
        self.fh = open(path, "w", encoding="utf-8")
        self.present: dict[int, str] = {}  # key id -> "prefix value " for present series
        self.order: list[int] = []
        self.lines: list[str] = []
        self.dirty = False
        self.reorder = False


def write_openmetrics(history: History, out_path: Path, *, step: int, start: float | None = None,
                      end: float | None = None, progress: Progress | None = None,
                      zero_start: bool = False) -> WriteStats:
    """Write the history as one OpenMetrics file sampled every ``step`` seconds, ending ``# EOF``.

    ``zero_start``: one grid step before the first run, every counter and histogram series
    whose whole history is in the store (no pruned offset) gets a sample of 0. Prometheus'
    ``increase()`` then counts each series' first run too (a series that appears at its
    first value hides that value from ``increase()``), and all those series share their
    first and last sample times, so ``rate()`` extrapolates them alike and ratios of rates
    (pass rates) equal the ratios of the stored counts. It costs one sample per series and
    step from the history's start, so it is meant for short histories (the demo).
    """
    if step < 1:
        raise InputError(f"--step must be at least 1s, got {step}s")
    if history.first_time is None:
        raise InputError("the store has no runs and no totals: nothing to backfill")
    end = history.last_time if end is None else end
    t0 = math.ceil(history.first_time / step) * step
    if zero_start:
        t0 -= step  # strictly before the first run: the zero sample
    if start is not None:
        t0 = max(t0, math.ceil(start / step) * step)
        zero_start = zero_start and t0 < history.first_time
    if t0 > end:
        def utc(t: float) -> str:
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

        raise InputError(f"nothing to backfill: the first sample time on the {step:g}s grid ({utc(t0)}) comes after "
                         f"the end of the range ({utc(end)}; the store's history starts {utc(history.first_time)}). "
                         "History this recent is what Prometheus gets by scraping `rq-obs serve`; "
                         "to backfill it anyway, pass a smaller --step")
    n_steps = int((end - t0) // step) + 1
    out_path = Path(out_path)
    tmpdir = Path(tempfile.mkdtemp(prefix="families-", dir=out_path.parent))
    fams: dict[str, _Family] = {}
    key_family: dict[int, _Family] = {}
    prefixes: dict[int, str] = {}
    seen: set[int] = set()
    samples = 0
    first_sample = last_sample = None
    try:
        for k in history.keys:
            fam = fams.get(k.metric.name)
            if fam is None:
                fam = fams[k.metric.name] = _Family(k.metric, tmpdir / f"{len(fams):03d}.om")
            key_family[k.id] = fam
            prefixes[k.id] = series_prefix(k.sample, label_pairs(k.metric, k.labels))
        events = history.events()
        pending = next(events, None)
        offsets = history.offsets
        if zero_start:
            for k in history.keys:
                if k.metric.type in ("counter", "histogram") and k.id not in offsets:
                    fam = key_family[k.id]
                    fam.order.append(k.id)
                    fam.present[k.id] = f"{prefixes[k.id]} {format_value(0.0)} "
                    fam.dirty = fam.reorder = True
        for i in range(n_steps):
            t = t0 + i * step
            while pending is not None and pending[0] <= t:
                for kid, value in pending[1]:
                    fam = key_family[kid]
                    if value is None:
                        if kid in fam.present:
                            del fam.present[kid]
                            fam.order.remove(kid)
                            fam.dirty = True
                        continue
                    value += offsets.get(kid, 0.0)
                    if kid not in fam.present:
                        fam.order.append(kid)
                        fam.reorder = True
                    fam.present[kid] = f"{prefixes[kid]} {format_value(value)} "
                    fam.dirty = True
                pending = next(events, None)
            tail = format_timestamp(t) + "\n"
            for fam in fams.values():
                if fam.dirty:
                    if fam.reorder:
                        fam.order.sort(key=lambda kid: history.keys[kid].order)
                        fam.reorder = False
                    fam.lines = [fam.present[kid] for kid in fam.order]
                    seen.update(fam.order)
                    fam.dirty = False
                if fam.lines:
                    fam.fh.write(tail.join(fam.lines))
                    fam.fh.write(tail)
                    samples += len(fam.lines)
                    first_sample = t if first_sample is None else first_sample
                    last_sample = t
            if progress is not None and (i % 500 == 0 or i == n_steps - 1):
                progress("samples", i + 1, n_steps)
        written = 0
        with open(out_path, "w", encoding="utf-8") as out:
            for fam in fams.values():
                fam.fh.close()
                if fam.path.stat().st_size == 0:
                    continue
                out.write(family_header(fam.metric))
                with open(fam.path, "r", encoding="utf-8") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
                fam.path.unlink()
                written += 1
            out.write(EOF)
        return WriteStats(len(seen), samples, written, first_sample, last_sample, out_path.stat().st_size)
    finally:
        for fam in fams.values():
            if not fam.fh.closed:
                fam.fh.close()
        shutil.rmtree(tmpdir, ignore_errors=True)
