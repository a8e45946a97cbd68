"""Recording rules over backfilled history, so the panels that read them show the past too.

Prometheus evaluates a recording rule only from its own start: a panel reading
``suite:rqobs_test_attempts:pass_ratio_rate1d`` is blank before then, even over backfilled
counters. :func:`backfill_rules` starts a Prometheus of our own (:mod:`.prometheus`: loopback,
free port, scratch storage holding links to the data directory's blocks) and has it
evaluate every rule over the history, then writes the recorded series as blocks into the
data directory. Two ways (``via``):

- ``"query"`` (default): each rule's expression as range queries at ``step``, on the grid
  of the backfilled samples — at each of those times the value the rule evaluator computes —
  written as OpenMetrics and turned into a few large blocks by
  ``promtool tsdb create-blocks-from openmetrics``;
- ``"promtool"``: ``promtool tsdb create-blocks-from rules``, Prometheus' own importer, one
  rule at a time. It evaluates at the group's own offset (like a running Prometheus) and
  writes a block per rule per 2 h (promtool 2.42): ~4,400 blocks per rule for a year, so it
  suits short histories.

A rule that reads another rule's series comes in a later pass (:func:`passes`), after
Prometheus restarts with the earlier passes' blocks. The rules are the ones ``rq-obs build``
writes to ``rules/rq-obs.rules.yml`` (:func:`deployed_rules`), so the two cannot drift.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence, TextIO

from rq_obs import proc
from rq_obs.backfill.history import Progress  # progress("rules", rules evaluated, rules)
from rq_obs.backfill.openmetrics import EOF, format_timestamp, series_prefix
from rq_obs.backfill.prometheus import PrometheusError, api, link_blocks
from rq_obs.backfill.prometheus import start as start_prometheus
from rq_obs.backfill.tsdb import Block, create_blocks, list_blocks
from rq_obs.config import Config
from rq_obs.demo.processes import Services
from rq_obs.errors import InputError, UsageError

__all__ = ["Rule", "RuleFigures", "PassFigures", "RulesResult", "VIA", "deployed_rules",
           "passes", "backfill_rules"]

VIA = ("query", "promtool")
#: Points per range query (series x steps): bounds the JSON held in memory at once.
POINTS_PER_QUERY = 500_000
#: Prometheus refuses range queries of more than 11,000 steps.
MAX_STEPS = 10_000
FIRST_STEPS = 1_000


@dataclass(frozen=True)
class Rule:
    record: str
    expr: str
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RuleFigures:
    record: str
    series: int | None  # None via promtool: its blocks do not say
    samples: int


@dataclass(frozen=True)
class PassFigures:
    rules: tuple[RuleFigures, ...]
    blocks: tuple[Block, ...]
    seconds: dict  # "start" (Prometheus ready), "evaluate", "blocks"


@dataclass(frozen=True)
class RulesResult:
    via: str
    start: float  # first evaluation time
    end: float
    step: int
    passes: tuple[PassFigures, ...]

    @property
    def rules(self) -> tuple[RuleFigures, ...]:
        return tuple(r for p in self.passes for r in p.rules)

    @property
    def samples(self) -> int:
        return sum(r.samples for r in self.rules)

    @property
    def blocks(self) -> tuple[Block, ...]:
        return tuple(b for p in self.passes for b in p.blocks)

    @property
    def without_data(self) -> tuple[str, ...]:
        return tuple(r.record for r in self.rules if not r.samples)


def deployed_rules(config: Config) -> tuple[Rule, ...]:
    """The recording rules the generated ``rules/rq-obs.rules.yml`` holds for ``config`` (one definition:
    :func:`rq_obs.rules.definitions.recording_rules`)."""
    from rq_obs.rules.definitions import recording_rules

    return tuple(Rule(r.record, r.expr) for r in recording_rules(config))


def _mentions(expr: str, name: str) -> bool:
    return re.search(rf"(?<![\w:]){re.escape(name)}(?![\w:])", expr) is not None


def passes(rules: Sequence[Rule]) -> list[list[Rule]]:
    """``rules`` in passes: a rule that reads another rule's series is in a later pass than it."""
    names = {r.record for r in rules}
    needs: dict[str, set[str]] = {n: set() for n in names}
    for r in rules:
        needs[r.record] |= {n for n in names if n != r.record and _mentions(r.expr, n)}
    level: dict[str, int] = {}
    while len(level) < len(needs):
        ready = {n: 1 + max((level[d] for d in deps), default=-1)
                 for n, deps in needs.items() if n not in level and deps <= level.keys()}
        if not ready:
            raise InputError("recording rules read each other's series in a cycle: "
                             + ", ".join(sorted(set(needs) - set(level))))
        level.update(ready)
    out: list[list[Rule]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for r in rules:
        out[level[r.record]].append(r)
    return out


def backfill_rules(data_dir: Path, rules: Sequence[Rule], *, start_time: float, end_time: float, step: int,
                   via: str = "query", progress: Progress | None = None, workdir: Path | None = None,
                   ready_timeout: float = 300.0) -> RulesResult:
    """Evaluate ``rules`` over the blocks in ``data_dir`` every ``step`` s from ``start_time`` (rounded
    up to a multiple of ``step``) to ``end_time`` and add the recorded series to ``data_dir`` as blocks.

    ``workdir``: where the scratch directory goes (default: the system's temporary directory).
    Needs ``prometheus`` and ``promtool`` (Debian package ``prometheus``).
    """
    if via not in VIA:
        raise UsageError(f"rules via {via!r}: expected one of {', '.join(VIA)}")
    exe = proc.require("prometheus")
    proc.require("promtool")
    data_dir = Path(data_dir)
    t0 = int(math.ceil(start_time / step) * step)
    t1 = int(end_time)
    if t1 < t0:
        raise UsageError(f"recording rules: no evaluation time between {format_timestamp(start_time)} and "
                         f"{format_timestamp(end_time)} at a step of {step} s")
    plan = passes(rules)
    total = sum(len(p) for p in plan)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress("rules", done, total)

    out: list[PassFigures] = []
    with tempfile.TemporaryDirectory(prefix="rq-obs-rules-", dir=workdir) as tmp:
        work = Path(tmp)
        storage = work / "storage"
        storage.mkdir()
        link_blocks(data_dir, [b.ulid for b in list_blocks(data_dir)], storage)
        for n, group in enumerate(plan, 1):
            pass_dir = work / f"pass{n}"
            pass_dir.mkdir()
            seconds = {}
            t = time.perf_counter()
            with Services() as services:
                prom = start_prometheus(services, exe, storage, work, timeout=ready_timeout)
                seconds["start"] = time.perf_counter() - t
                t = time.perf_counter()
                if via == "query":
                    figures = _by_query(prom.url, group, t0, t1, step, pass_dir / "rules.om", tick)
                else:
                    figures = _by_promtool(prom.url, group, t0, t1, step, pass_dir, tick)
                seconds["evaluate"] = time.perf_counter() - t
            t = time.perf_counter()
            if via == "query":
                blocks = create_blocks(pass_dir / "rules.om", data_dir) if any(f.samples for f in figures) else []
            else:
                blocks = _move_blocks(pass_dir / "blocks", data_dir)
            seconds["blocks"] = time.perf_counter() - t
            if n < len(plan):  # the next pass reads these
                link_blocks(data_dir, [b.ulid for b in blocks], storage)
            shutil.rmtree(pass_dir)
            out.append(PassFigures(tuple(figures), tuple(blocks), seconds))
    return RulesResult(via, t0, t1, step, tuple(out))


# --------------------------------------------------------------------------- via range queries

def _by_query(url: str, rules: Sequence[Rule], start_t: int, end_t: int, step: int, om: Path,
              tick: Callable[[], None]) -> list[RuleFigures]:
    """Every rule's values at ``start_t + k * step`` as one OpenMetrics gauge family per record name."""
    by_name: dict[str, list[Rule]] = {}
    for r in rules:
        by_name.setdefault(r.record, []).append(r)
    figures = []
    with open(om, "w", encoding="utf-8") as fh:
        for name, same in by_name.items():
            owner: dict[str, int] = {}  # series -> which rule of that name wrote it
            samples = 0
            for i, rule in enumerate(same):
                samples += _write_rule(url, rule, i, start_t, end_t, step, fh, owner, header=not owner)
                tick()
            figures.append(RuleFigures(name, len(owner), samples))
        fh.write(EOF)
    return figures


def _write_rule(url: str, rule: Rule, index: int, start_t: int, end_t: int, step: int, fh: TextIO,
                owner: dict[str, int], header: bool) -> int:
    samples = 0
    steps = FIRST_STEPS
    t = start_t
    while t <= end_t:
        t_end = min(end_t, t + (steps - 1) * step)
        try:
            data = api(url, "query_range", {"query": rule.expr, "start": t, "end": t_end, "step": step})
        except PrometheusError as exc:
            if exc.status == 422 and "too many samples" in exc.error and steps > 1:
                steps //= 2  # Prometheus' --query.max-samples: ask for fewer steps at once
                continue
            raise UsageError(f"recording rule {rule.record}: {exc}") from None
        lines = []
        seen: set[str] = set()
        for res in data["result"]:
            labels = {k: v for k, v in res["metric"].items() if k != "__name__"}
            labels.update(rule.labels)
            prefix = series_prefix(rule.record, sorted(labels.items()))
            if prefix in seen or owner.setdefault(prefix, index) != index:
                raise InputError(f"recording rule {rule.record}: several series have the labels {prefix} once "
                                 "the metric name is replaced by the rule's; Prometheus would refuse to record them")
            seen.add(prefix)
            lines.extend(f"{prefix} {v} {format_timestamp(ts)}\n" for ts, v in res["values"])
        if lines:
            if header:
                fh.write(f"# TYPE {rule.record} gauge\n")
                header = False
            fh.writelines(lines)
            samples += len(lines)
        steps = max(1, min(MAX_STEPS, POINTS_PER_QUERY // max(1, len(data["result"]))))
        t = t_end + step
    return samples


# --------------------------------------------------------------------------- via promtool

def _by_promtool(url: str, rules: Sequence[Rule], start_t: int, end_t: int, step: int, work: Path,
                 tick: Callable[[], None]) -> list[RuleFigures]:
    """``promtool tsdb create-blocks-from rules``, a rule at a time (so each rule's samples are known)."""
    figures = []
    for i, rule in enumerate(rules):
        rule_file = work / f"rule{i}.yml"
        doc = {"record": rule.record, "expr": rule.expr, **({"labels": dict(rule.labels)} if rule.labels else {})}
        # JSON is YAML: promtool reads it, and the expression needs no YAML quoting
        rule_file.write_text(json.dumps({"groups": [{"name": "rq-obs-backfill", "interval": f"{step}s",
                                                     "rules": [doc]}]}), encoding="utf-8")
        out = work / "blocks" / f"rule{i}"
        res = proc.run(["promtool", "tsdb", "create-blocks-from", "rules", f"--start={start_t}", f"--end={end_t}",
                        f"--url={url}", f"--output-dir={out}", f"--eval-interval={step}s", "--quiet", str(rule_file)],
                       timeout=6 * 3600)
        if not res.ok:
            raise UsageError(f"recording rule {rule.record}: promtool tsdb create-blocks-from rules failed "
                             f"(exit {res.returncode}): {(res.stderr or res.stdout).strip()[-2000:]}")
        figures.append(RuleFigures(rule.record, None, sum(b.samples for b in list_blocks(out))))
        tick()
    return figures


def _move_blocks(out: Path, data_dir: Path) -> list[Block]:
    moved = []
    for rule_dir in sorted(out.iterdir()) if out.exists() else ():
        for block in list_blocks(rule_dir):
            shutil.move(str(rule_dir / block.ulid), str(data_dir / block.ulid))
            moved.append(block)
    return sorted(moved, key=lambda b: (b.min_time, b.ulid))
