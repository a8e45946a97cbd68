"""The quarantine list: a YAML file committed in the project, read with the line of every field.

Format (one entry per test, or per module/class when its node id is a prefix)::

    # rq-obs quarantine: failures of these tests do not fail the run until they expire
    quarantine:
      - nodeid: tests/test_cache.py::test_warm
        reason: races the cache warmer (#123)
        owner: '@alice'
        added: '2026-12-07'
        expires: '2026-12-21'

Why YAML: PyYAML is already a dependency, and its node tree gives the line of every entry and field,
so a malformed file is reported as ``FILE:LINE: <what was expected>``; ``add`` appends a text block and
``remove`` cuts an entry's lines, so comments and the order of the other entries survive a round trip
(a reviewable diff of exactly one entry). TOML would have needed a writer dependency and loses positions.

``expires`` is a date (the entry holds through that day, UTC) or an ISO date-time with a zone. Pure
functions: no file is written here except by :func:`write_text`, no clock read (callers pass ``now``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from rq_obs.errors import InputError

__all__ = ["Entry", "QuarantineList", "QuarantineFileError", "parse", "read", "entry_text", "with_entry",
           "without_entry", "parse_expiry", "expiry_text", "new_entry", "covers", "ancestors", "write_text", "path_in", "resolved_config", "HEADER", "FIELDS"]

FIELDS = ("nodeid", "reason", "owner", "added", "expires")
REQUIRED = ("nodeid", "reason", "expires")
HEADER = ("# rq-obs quarantine: failures of these tests do not fail the run until the entry expires.\n"
          "# Edit with `rq-obs quarantine add|remove` (or by hand); docs/QUARANTINE.md.\n"
          "quarantine:\n")


class QuarantineFileError(InputError):
    """The quarantine file is malformed: names the file, the line and what was expected."""


@dataclass(frozen=True)
class Entry:
    nodeid: str
    reason: str
    expires: dt.datetime  # the first instant the entry no longer holds (UTC)
    owner: str = ""
    added: str = ""
    expires_text: str = ""  # as written in the file
    line: int = 0  # 1-based line of the entry in the file (0: not from a file)
    end_line: int = 0  # last line of the entry

    def expired(self, now: float) -> bool:
        return now >= self.expires.timestamp()

    def to_dict(self) -> dict:
        return {"nodeid": self.nodeid, "reason": self.reason, "owner": self.owner, "added": self.added,
                "expires": self.expires_text or self.expires.isoformat()}

    def describe(self) -> str:
        """``reason (owner @a, expires 2026-12-21)`` for summaries and warnings."""
        return f"{self.reason} (owner {self.owner or 'none'}, expires {self.expires_text})"


@dataclass(frozen=True)
class QuarantineList:
    path: str
    entries: tuple[Entry, ...]

    def find(self, nodeid: str) -> Entry | None:
        for e in self.entries:
            if e.nodeid == nodeid:
                return e
        return None


def covers(entry_id: str, nodeid: str) -> bool:
    """An entry covers its own node id and everything under it (a module's or class's tests, parameters)."""
    if nodeid == entry_id:
        return True
    return nodeid.startswith(entry_id) and nodeid[len(entry_id)] in ":[/"


_BOUNDARY = re.compile(r"[:\[/]")


def ancestors(nodeid: str) -> list[str]:
    """``nodeid`` and every id that :func:`covers` it, longest first (one dict lookup each beats a scan of
    every entry per test): ``a/t.py::C::t[1]`` -> that, ``a/t.py::C::t``, ``a/t.py::C``, ``a/t.py``, ``a``
    (plus the harmless ``a/t.py:`` and ``a/t.py::C:``)."""
    return [nodeid, *(nodeid[:m.start()] for m in reversed(list(_BOUNDARY.finditer(nodeid))))]


def parse_expiry(text: str) -> dt.datetime:
    """``2026-12-21`` (holds through that day, UTC) or an ISO date-time with a zone -> the instant it ends.

    A ValueError saying what was expected otherwise.
    """
    text = text.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.timezone.utc)
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expires: {text!r} is not a date (YYYY-MM-DD) or an ISO date-time") from None
    if when.tzinfo is None:
        raise ValueError(f"expires: {text!r} has no time zone; write a date (YYYY-MM-DD) or add Z / +HH:MM")
    return when.astimezone(dt.timezone.utc)


def _is(node, kind: str) -> bool:
    """Whether a composed YAML node is a ``scalar``, ``sequence`` or ``mapping``.

    By the node's ``id``, not ``isinstance``: libyaml's composer builds its nodes from the ``yaml``
    module it first imported, which is not the one in ``sys.modules`` after a host (pytest's
    pytester) drops and re-imports ``yaml``; the classes then differ while the ids do not.
    """
    return getattr(node, "id", None) == kind


def _fail(path: str, line: int, what: str) -> QuarantineFileError:
    return QuarantineFileError(f"{path}:{line}: {what}")


def parse(text: str, path: str = "<quarantine>") -> QuarantineList:
    """The entries of a quarantine file's text; a :class:`QuarantineFileError` naming the line otherwise."""
    import yaml

    try:
        # libyaml's composer when PyYAML has it (same nodes and marks, a fraction of the pure-Python cost)
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise _fail(path, line, f"not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if root is None:
        return QuarantineList(path, ())
    if not _is(root, "mapping"):
        raise _fail(path, root.start_mark.line + 1, "expected a mapping with the key 'quarantine' at the top level")
    items = None
    for key, value in root.value:
        if not _is(key, "scalar") or key.value != "quarantine":
            raise _fail(path, key.start_mark.line + 1,
                        f"unknown top-level key {getattr(key, 'value', '?')!r}; expected only 'quarantine'")
        items = value
    if items is None or (_is(items, "scalar") and items.value in ("", "~", "null")):
        return QuarantineList(path, ())
    if not _is(items, "sequence"):
        raise _fail(path, items.start_mark.line + 1, "'quarantine' must be a list of entries (- nodeid: ...)")
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for node in items.value:
        entry = _entry(node, path)
        if entry.nodeid in seen:
            raise _fail(path, entry.line, f"{entry.nodeid!r} is already quarantined at line {seen[entry.nodeid]}; "
                                          f"expected one entry per node id")
        seen[entry.nodeid] = entry.line
        entries.append(entry)
    return QuarantineList(path, tuple(entries))


def _entry(node, path: str) -> Entry:
    line = node.start_mark.line + 1
    if not _is(node, "mapping"):
        raise _fail(path, line, "expected an entry: a mapping with nodeid, reason, expires (and owner, added)")
    values: dict[str, str] = {}
    for key, value in node.value:
        name = getattr(key, "value", "?")
        kline = key.start_mark.line + 1
        if name not in FIELDS:
            raise _fail(path, kline, f"unknown field {name!r}; expected one of {', '.join(FIELDS)}")
        if not _is(value, "scalar"):
            raise _fail(path, kline, f"{name}: expected a single value (text), not a list or mapping")
        values[name] = str(value.value).strip()
    for name in REQUIRED:
        if not values.get(name):
            raise _fail(path, line, f"entry without {name!r}; expected {', '.join(REQUIRED)} in every entry")
    try:
        expires = parse_expiry(values["expires"])
    except ValueError as exc:
        vline = next(k.start_mark.line + 1 for k, _ in node.value if k.value == "expires")
        raise _fail(path, vline, str(exc)) from None
    return Entry(nodeid=values["nodeid"], reason=values["reason"], expires=expires, owner=values.get("owner", ""),
                 added=values.get("added", ""), expires_text=values["expires"], line=line,
                 end_line=node.value[-1][1].end_mark.line + 1)


def read(path: str | os.PathLike) -> QuarantineList:
    """The list in ``path`` (an empty list when the file does not exist)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return QuarantineList(str(p), ())
    except OSError as exc:
        raise QuarantineFileError(f"{p}: cannot read ({exc.strerror or exc})") from None
    return parse(text, str(p))


def _scalar(value: str) -> str:
    # JSON strings are valid YAML double-quoted scalars: safe for any text (colons, #, quotes, unicode)
    return json.dumps(value, ensure_ascii=False)


def entry_text(e: Entry) -> str:
    """The block ``add`` appends for an entry (fields in a fixed order, every value quoted)."""
    out = [f"  - nodeid: {_scalar(e.nodeid)}\n", f"    reason: {_scalar(e.reason)}\n"]
    if e.owner:
        out.append(f"    owner: {_scalar(e.owner)}\n")
    if e.added:
        out.append(f"    added: {_scalar(e.added)}\n")
    out.append(f"    expires: {_scalar(e.expires_text)}\n")
    return "".join(out)


def with_entry(text: str, e: Entry, path: str = "<quarantine>") -> str:
    """``text`` with ``e`` appended (a header when the file is new); the rest of the file unchanged.

    A QuarantineFileError when the file is malformed or already has an entry for the node id.
    """
    current = parse(text, path)
    old = current.find(e.nodeid)
    if old is not None:
        raise QuarantineFileError(f"{path}:{old.line}: {e.nodeid!r} is already quarantined "
                                  f"(remove it first to change it)")
    if not current.entries and "quarantine:" not in text:
        text = HEADER
    elif not current.entries:  # "quarantine: []" or "quarantine:" with nothing under it
        lines = [ln for ln in text.splitlines(keepends=True) if not ln.lstrip().startswith("quarantine:")]
        text = "".join(lines) + "quarantine:\n"
    if not text.endswith("\n"):
        text += "\n"
    out = text + entry_text(e)
    parse(out, path)  # never write a file that would not read back
    return out


def without_entry(text: str, nodeid: str, path: str = "<quarantine>") -> str:
    """``text`` without the entry for ``nodeid`` (its lines cut, the rest unchanged)."""
    current = parse(text, path)
    e = current.find(nodeid)
    if e is None:
        raise QuarantineFileError(f"{path}: {nodeid!r} is not quarantined (see `rq-obs quarantine list`)")
    lines = text.splitlines(keepends=True)
    out = "".join(lines[:e.line - 1] + lines[e.end_line:])
    parse(out, path)  # never write a file that would not read back
    return out


def expiry_text(value: str, now: float) -> str:
    """``--expires`` as written into the file: a DURATION (``14d``: a date, ``36h``: a UTC date-time) from
    ``now``, or a DATE / date-time checked and kept as given. A ValueError saying what was expected otherwise."""
    from rq_obs import durations

    value = value.strip()
    if durations.problem(value) is None:
        secs = durations.seconds(value, "--expires")
        start = dt.datetime.fromtimestamp(now, dt.timezone.utc)
        if secs % 86400 == 0:
            return (start.date() + dt.timedelta(days=int(secs // 86400))).isoformat()
        return (start + dt.timedelta(seconds=secs)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    try:
        parse_expiry(value)
    except ValueError:
        raise ValueError(f"--expires: {value!r}; expected a duration (e.g. 14d, 36h) or a date YYYY-MM-DD") from None
    return value


def new_entry(nodeid: str, reason: str, expires: str, owner: str, now: float) -> Entry:
    """An entry as ``add`` writes it (``added`` is today, UTC); a ValueError for a bad value."""
    nodeid, reason = nodeid.strip(), " ".join(reason.split())
    if not nodeid:
        raise ValueError("NODEID: expected a pytest node id such as tests/test_x.py::test_y")
    if not reason:
        raise ValueError("--reason: expected a short text (why the test is quarantined, an issue link)")
    text = expiry_text(expires, now)
    return Entry(nodeid=nodeid, reason=reason, expires=parse_expiry(text), owner=owner.strip(),
                 added=dt.datetime.fromtimestamp(now, dt.timezone.utc).date().isoformat(), expires_text=text)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Replace the file atomically (a reader never sees half an edit)."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, p)


def path_in(config, root: str | os.PathLike) -> Path:
    """The config's ``quarantine_file``, relative to the project directory ``root`` unless absolute."""
    p = Path(config.quarantine_file)
    return p if p.is_absolute() else Path(root) / p


def resolved_config(config, root: str | os.PathLike):
    """``config`` with ``quarantine_file`` made absolute against ``root`` (for long-running readers like serve)."""
    import dataclasses

    return dataclasses.replace(config, quarantine_file=str(path_in(config, root)))
