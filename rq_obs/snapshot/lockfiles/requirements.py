"""requirements.txt (pip, pip-compile, ``--hash`` pinned) parser."""

from __future__ import annotations

import re
from pathlib import Path

from rq_obs.errors import InputError
from rq_obs.snapshot.lockfiles import LockEntry, normalize

_HASH = re.compile(r"--hash[= ]([A-Za-z0-9]+:[0-9a-fA-F]+)")


def _logical_lines(text: str) -> list[tuple[int, str, list[str]]]:
    """(line number, requirement text, '# via' comments following it)."""
    out: list[tuple[int, str, list[str]]] = []
    buf, start = "", 0
    for no, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buf and stripped.startswith("#"):
            m = re.match(r"#\s+(?:via\s+)?(.*)$", stripped)
            if out and m and (stripped.startswith("# via") or (out[-1][2] and raw.startswith("    #"))):
                out[-1][2].append(m.group(1).strip())
            continue
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not buf:
            start = no
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        if buf.strip():
            out.append((start, buf.strip(), []))
        buf = ""
    return out


def parse(path: Path) -> list[LockEntry]:
    from packaging.requirements import InvalidRequirement, Requirement

    entries = []
    for no, line, via in _logical_lines(path.read_text(encoding="utf-8")):
        if line.startswith("-") or "://" in line.split(";")[0] and " @ " not in line:
            continue  # options (-r, -e, -c, --index-url) and bare URLs
        hashes = tuple(_HASH.findall(line))
        spec = _HASH.sub("", line).strip()
        try:
            req = Requirement(spec)
        except InvalidRequirement as exc:
            raise InputError(f"{path}:{no}: not a requirement ({exc}); expected e.g. 'name==1.2.3'") from None
        pins = [s.version for s in req.specifier if s.operator in ("==", "===") and "*" not in s.version]
        direct: bool | None = None
        if via:  # pip-compile: "# via -r requirements.in" marks a direct requirement
            direct = any(v.startswith(("-r ", "-c ")) or v.endswith(".in") for v in via)
        entries.append(LockEntry(normalize(req.name), pins[0] if pins else "", "pypi", hashes, direct))
    return entries
