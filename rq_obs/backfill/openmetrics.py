"""OpenMetrics text for backfilling: writing it and checking it before promtool reads it.

``promtool tsdb create-blocks-from openmetrics`` reads timestamps in **seconds**,
needs every sample to carry one, needs a family's lines to be contiguous, each
series' timestamps to increase, and the file to end with ``# EOF``. A millisecond
timestamp is the classic mistake: it parses, and lands 50 000 years in the future.
:func:`validate` catches all of these and names the line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

from rq_obs.catalog import Metric
from rq_obs.errors import InputError

__all__ = ["escape_label_value", "escape_help", "format_value", "format_timestamp", "series_prefix",
           "family_header", "EOF", "ValidationReport", "validate", "MAX_SECONDS"]

EOF = "# EOF\n"
#: A timestamp above this is taken to be in milliseconds (1e11 s is the year 5138).
MAX_SECONDS = 1e11

_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "info": ("_info",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "summary": ("", "_sum", "_count", "_created"),
    "stateset": ("",),
    "unknown": ("",),
}


def escape_label_value(value: str) -> str:
    """Backslash, double quote and line feed escaped as OpenMetrics requires."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 2 ** 53:
        return str(int(value))
    return repr(float(value))


def format_timestamp(seconds: float) -> str:
    """Seconds, as OpenMetrics and promtool expect (never milliseconds)."""
    if seconds == int(seconds):
        return str(int(seconds))
    return f"{seconds:.3f}"


def series_prefix(sample_name: str, labels: Iterable[tuple[str, str]]) -> str:
    """``name{a="x",b="y"}`` (labels in the order given; empty values are dropped as Prometheus does)."""
    parts = [f'{k}="{escape_label_value(v)}"' for k, v in labels if v != ""]
    return f"{sample_name}{{{','.join(parts)}}}" if parts else sample_name


def family_header(metric: Metric) -> str:
    """``# TYPE``, ``# UNIT`` (only when the name ends with it, as OpenMetrics requires) and ``# HELP``."""
    lines = [f"# TYPE {metric.name} {metric.type}\n"]
    if metric.unit and metric.name.endswith("_" + metric.unit):
        lines.append(f"# UNIT {metric.name} {metric.unit}\n")
    lines.append(f"# HELP {metric.name} {escape_help(metric.help)}\n")
    return "".join(lines)


# --------------------------------------------------------------------------- validation

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(
    r"^(" + _NAME + r")(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\n]|\\[\\\"n])*\",?)*)\})? (\S+)(?: (\S+))?$"
)
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
_META = re.compile(r"^# (TYPE|HELP|UNIT) (" + _NAME + r")(?: (.*))?$")
_VALUE = re.compile(r"^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$")


@dataclass(frozen=True)
class ValidationReport:
    families: int
    series: int
    samples: int
    min_timestamp: float | None
    max_timestamp: float | None


def validate(path: str | Path, progress: Callable[[int], None] | None = None) -> ValidationReport:
    """Check an OpenMetrics file for backfilling; raise :class:`InputError` naming the first bad line.

    Checked: every line is a ``# TYPE/HELP/UNIT``, a sample or the final ``# EOF``; every sample
    parses and has a timestamp in seconds (a value over 1e11 is rejected as milliseconds);
    each series' timestamps strictly increase; a family's lines are contiguous; the file
    ends with ``# EOF`` and a newline. ``progress`` is called with bytes read now and then.
    """
    path = Path(path)
    where = str(path)
    families_seen: dict[str, int] = {}  # family -> line it started on
    family: str | None = None
    family_type = "unknown"
    last_ts: dict[tuple[str, str], float] = {}
    heads: dict[str, tuple[str, str, str]] = {}  # "name{labels}" -> (name, canonical labels, labels text)
    current_names: set[str] = set()  # sample names seen in the current family
    good_values: set[str] = set()
    samples = 0
    min_ts = max_ts = None
    eof_line = 0
    bytes_since = 0
    lineno = 0

    def fail(msg: str) -> InputError:
        return InputError(f"{where}: line {lineno}: {msg}")

    def start_family(name: str, kind: str) -> None:
        nonlocal family, family_type
        if name in families_seen:
            raise fail(f"family {name!r} is not contiguous: it started on line {families_seen[name]} and another "
                       f"family came in between (OpenMetrics needs all of a family's lines together)")
        families_seen[name] = lineno
        family, family_type = name, kind
        current_names.clear()

    with open(path, "r", encoding="utf-8", newline="") as fh:
        for raw in fh:
            lineno += 1
            if progress is not None:
                bytes_since += len(raw)
                if bytes_since >= 1 << 22:
                    progress(bytes_since)
                    bytes_since = 0
            if eof_line:
                raise fail(f"text after '# EOF' (line {eof_line}); '# EOF' must be the last line")
            if not raw.endswith("\n"):
                raise fail("the file must end with '# EOF' and a newline")
            line = raw[:-1]
            if line.startswith("#"):
                if line == "# EOF":
                    eof_line = lineno
                    continue
                m = _META.match(line)
                if m is None:
                    raise fail(f"expected '# TYPE|HELP|UNIT <name> ...' or '# EOF', got {line[:80]!r}")
                kind, name, rest = m.group(1), m.group(2), m.group(3) or ""
                if kind == "TYPE":
                    if rest not in _SUFFIXES:
                        raise fail(f"unknown metric type {rest!r} (expected one of {', '.join(_SUFFIXES)})")
                    if name != family:
                        start_family(name, rest)
                    else:
                        family_type = rest
                        current_names.clear()
                elif name != family:
                    start_family(name, "unknown")
                continue
            parts = line.rsplit(" ", 2)
            head = heads.get(parts[0]) if len(parts) == 3 else None
            if head is None:
                m = _SAMPLE.match(line)
                if m is None:
                    raise fail(f"not a sample line 'name{{labels}} value timestamp': {line[:120]!r}")
                name, labels_text, value_text, ts_text = m.groups()
                if ts_text is None:
                    raise fail(f"sample {name} has no timestamp; backfilling needs one (Unix time in seconds)")
                pairs = _LABEL.findall(labels_text or "")
                names = [k for k, _ in pairs]
                if len(set(names)) != len(names):
                    raise fail(f"sample {name} repeats a label name")
                head = heads[parts[0]] = (name, ",".join(f"{k}={v}" for k, v in sorted(pairs)), labels_text or "")
            name, key_labels, labels_text = head
            value_text, ts_text = parts[1], parts[2]
            if name not in current_names:
                if family is None or not _belongs(name, family, family_type):
                    fam = next((f for f in families_seen if _belongs(name, f, "any")), None)
                    if fam is not None and fam != family:
                        raise fail(f"sample {name!r} of family {fam!r} is not contiguous: the family started on "
                                   f"line {families_seen[fam]} and another family came in between")
                    if fam is None:
                        start_family(name, "unknown")
                current_names.add(name)
            if value_text not in good_values:
                if not _VALUE.match(value_text):
                    raise fail(f"value {value_text!r} of {name} is not a number")
                if len(good_values) < 100_000:
                    good_values.add(value_text)
            try:
                ts = float(ts_text)
            except ValueError:
                raise fail(f"timestamp {ts_text!r} of {name} is not a number") from None
            if not math.isfinite(ts):
                raise fail(f"timestamp {ts_text!r} of {name} is not a finite number of seconds")
            if abs(ts) > MAX_SECONDS:
                raise fail(f"timestamp {ts_text} of {name} looks like milliseconds; OpenMetrics timestamps are "
                           f"Unix time in seconds")
            key = (name, key_labels)
            prev = last_ts.get(key)
            if prev is not None and ts <= prev:
                shown = name + ("{" + labels_text + "}" if labels_text else "")
                raise fail(f"timestamp {ts_text} of series {shown[:160]} is not after its previous sample "
                           f"({format_timestamp(prev)}); each series' timestamps must strictly increase")
            last_ts[key] = ts
            samples += 1
            min_ts = ts if min_ts is None or ts < min_ts else min_ts
            max_ts = ts if max_ts is None or ts > max_ts else max_ts
    if not eof_line:
        lineno += 1
        raise fail("missing '# EOF' at the end of the file (OpenMetrics requires it; promtool stops without it)")
    if progress is not None and bytes_since:
        progress(bytes_since)
    return ValidationReport(len(families_seen), len(last_ts), samples, min_ts, max_ts)


def _belongs(sample: str, family: str, family_type: str) -> bool:
    if not sample.startswith(family):
        return False
    rest = sample[len(family):]
    if family_type == "any":
        return rest in {s for v in _SUFFIXES.values() for s in v}
    return rest in _SUFFIXES.get(family_type, ("",))


def label_pairs(metric: Metric, labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """The catalogue's label order, then ``le`` for buckets."""
    out = [(n, labels[n]) for n in metric.labels if n in labels]
    if "le" in labels:
        out.append(("le", labels["le"]))
    return out
