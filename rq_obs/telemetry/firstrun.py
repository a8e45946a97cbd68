"""What the pytest plugin says after the first recorded run of a suite: where the store is and which
suite name it used, and a warning when that name (the project directory's) looks like it carries a
version, which would make every release a new suite."""

from __future__ import annotations

import re

__all__ = ["notes", "looks_versioned"]

#: a trailing version: jinja2-3.1.6, attrs_26.1.0, proj-v2.0, more_itertools-10.5.0rc1
_VERSIONED = re.compile(r"[-_. ]v?\d+(?:\.\d+)+(?:[-_.]?(?:a|b|rc|dev|post)\d*)*$", re.I)


def looks_versioned(name: str) -> str | None:
    """The name without its trailing version when it has one, else None."""
    m = _VERSIONED.search(name)
    base = name[: m.start()] if m else ""
    return base if re.search(r"[A-Za-z]", base) else None


def notes(sequence: int, suite: str, suite_configured: bool, store_path) -> list[tuple[str, bool]]:
    """(line, is_warning) to print after a run; nothing after a suite's first run."""
    if sequence != 1:
        return []
    origin = "set by the suite setting" if suite_configured else "the project directory's name; set `suite` to choose another"
    out = [(f"first run of suite {suite!r} ({origin}) recorded in {store_path}; `rq-obs runs` lists it", False)]
    base = looks_versioned(suite)
    if base and not suite_configured:
        out.append((f"suite name {suite!r} looks like it carries a version: the next release's runs would be another "
                    f"suite. Set suite = \"{base}\" under [tool.rq-obs] (or RQ_OBS_SUITE={base})", True))
    return out
