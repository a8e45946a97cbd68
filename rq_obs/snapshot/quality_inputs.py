"""Coverage from coverage.py JSON (``coverage json``) or Cobertura XML (``coverage xml``), as a 0-1 ratio."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from rq_obs.errors import InputError

__all__ = ["load_coverage", "parse_score"]


def load_coverage(path: str | Path) -> float:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if text.lstrip().startswith("<"):
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            raise InputError(f"{p}: not valid XML ({exc})") from None
        rate = root.get("line-rate")
        if root.tag != "coverage" or rate is None:
            raise InputError(f"{p}: expected Cobertura XML (<coverage line-rate=...>) as written by 'coverage xml'")
        try:
            value = float(rate)
        except ValueError:
            raise InputError(f"{p}: line-rate {rate!r} is not a number") from None
    else:
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise InputError(f"{p}: neither coverage XML nor JSON ({exc})") from None
        totals = doc.get("totals") if isinstance(doc, dict) else None
        if not isinstance(totals, dict):
            raise InputError(f"{p}: expected coverage.py JSON with a 'totals' object (coverage json)")
        if isinstance(totals.get("num_statements"), int) and totals["num_statements"] > 0 and isinstance(totals.get("covered_lines"), int):
            value = totals["covered_lines"] / totals["num_statements"]
        elif isinstance(totals.get("percent_covered"), (int, float)):
            value = float(totals["percent_covered"]) / 100.0
        else:
            raise InputError(f"{p}: totals has neither covered_lines/num_statements nor percent_covered")
    if not 0.0 <= value <= 1.0:
        raise InputError(f"{p}: coverage {value!r} is outside 0-1")
    return value


def parse_score(text: str, what: str) -> float:
    """A 0-100 score given on the command line (or a JSON file holding {"score": N})."""
    p = Path(text)
    if not text.replace(".", "", 1).isdigit() and p.is_file():
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise InputError(f"{p}: not valid JSON ({exc}); expected {{\"score\": 0-100}}") from None
        value = doc.get("score") if isinstance(doc, dict) else None
        where = f"{p}: field 'score'"
    else:
        value, where = text, f"{what}"
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{where} is {value!r}; expected a score between 0 and 100") from None
    if not 0.0 <= v <= 100.0:
        raise InputError(f"{where} is {v!r}; expected a score between 0 and 100")
    return v
