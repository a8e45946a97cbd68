"""Disambiguation validation: pass rate by expected vs chosen route, for ambiguous inputs and the rest.

Input: the attempts of a window that attached attributes (:class:`AttributedAttempt`, read by
:func:`rq_obs.analytics.queries.attributed_attempts`). An attempt takes part when it attached an
expected route (:data:`rq_obs.telemetry.attributes.EXPECTED_ROUTE`) and was counted (passed,
failed or error — the pass-rate denominator everywhere in rq-obs); its chosen route is
:data:`~rq_obs.telemetry.attributes.NO_ROUTE` when it attached none. Output: one
:class:`RouteCell` per (suite, expected, chosen, ambiguous) — a confusion table whose cells
carry attempts and passes.

Routes are labels, so they are bounded here, before anything is published: the ``cap`` routes
seen in most attempts (ties by name) keep their names, every other route becomes ``__other__``
and its cells are summed into that route's. Route text is passed through
:func:`rq_obs.redact.redact` again (a directly written store skips the fixture's redaction).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, NamedTuple

from rq_obs.analysis.flaky import COUNTED
from rq_obs.catalog import OTHER
from rq_obs.redact import redact
from rq_obs.telemetry import attributes as A

__all__ = ["AttributedAttempt", "RouteCell", "route_cells", "overall"]

#: longest route name kept (the label guard cuts again to max_label_length)
MAX_ROUTE_LENGTH = 128


class AttributedAttempt(NamedTuple):
    suite: str
    test: str
    outcome: str
    markers: tuple[str, ...]
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class RouteCell:
    suite: str
    expected: str
    chosen: str
    ambiguous: bool
    attempts: int
    passed: int

    @property
    def pass_rate(self) -> float:
        return self.passed / self.attempts

    def to_dict(self) -> dict:
        return {**asdict(self), "pass_rate": self.pass_rate}


def _route(value: Any, max_length: int) -> str:
    text = str(redact(str(value).strip()))[:max_length]
    return text or A.NO_ROUTE


def route_cells(rows: Iterable[AttributedAttempt], cap: int,
                max_length: int = MAX_ROUTE_LENGTH) -> tuple[list[RouteCell], int]:
    """(cells sorted by suite, ambiguous first, expected, chosen; how many routes were folded into ``__other__``).

    Routes are cut to ``max_length`` characters here (the exporter passes ``max_label_length``), so two long
    routes that share a prefix are one route in the analysis as on the label, their counts summed."""
    raw: Counter[tuple[str, str, str, bool]] = Counter()
    passed: Counter[tuple[str, str, str, bool]] = Counter()
    names: dict[Any, str] = {None: A.NO_ROUTE}  # route value -> label text (a few routes, many attempts)

    def name(value: Any) -> str:
        text = names.get(value)
        if text is None:
            text = names[value] = _route(value, max_length)
        return text

    for r in rows:
        if r.outcome not in COUNTED:
            continue
        expected = A.get(r.attributes, A.EXPECTED_ROUTE)
        if expected is None:
            continue
        key = (r.suite, name(expected), name(A.get(r.attributes, A.CHOSEN_ROUTE)),
               A.is_ambiguous(r.attributes, r.markers))
        raw[key] += 1
        passed[key] += r.outcome == "passed"
    seen: Counter[str] = Counter()
    for (_, e, c, _), n in raw.items():
        seen[e] += n
        if c != e:
            seen[c] += n
    kept = {route for route, _ in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))[:cap]}
    fold = (lambda r: r if r in kept else OTHER)
    cells: Counter[tuple[str, str, str, bool]] = Counter()
    cell_passed: Counter[tuple[str, str, str, bool]] = Counter()
    for (s, e, c, amb), n in raw.items():
        key = (s, fold(e), fold(c), amb)
        cells[key] += n
        cell_passed[key] += passed[(s, e, c, amb)]
    out = [RouteCell(s, e, c, amb, n, cell_passed[(s, e, c, amb)]) for (s, e, c, amb), n in cells.items()]
    out.sort(key=lambda x: (x.suite, not x.ambiguous, x.expected, x.chosen))
    return out, len(seen) - len(kept)


def overall(cells: Iterable[RouteCell], ambiguous: bool = True) -> tuple[int, int]:
    """(passed, attempts) over the cells of ambiguous (or unambiguous) inputs."""
    chosen = [c for c in cells if c.ambiguous == ambiguous]
    return sum(c.passed for c in chosen), sum(c.attempts for c in chosen)
