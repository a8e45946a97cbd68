"""Lock-file and manifest parsers, one module per format, all returning :class:`LockEntry` rows.

:func:`parse` picks the parser from the file name; :func:`find` lists the lock files a
project directory holds. Every parser raises :class:`~rq_obs.errors.InputError` naming the
file and what was expected when the content is malformed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rq_obs.errors import InputError

__all__ = ["LockEntry", "normalize", "parse", "find", "FORMATS"]


@dataclass(frozen=True)
class LockEntry:
    name: str  # normalised
    version: str  # exact version, "" when the file does not pin one
    ecosystem: str = "pypi"
    hashes: tuple[str, ...] = ()  # "sha256:<hex>" / "sha512-<b64>" (npm integrity)
    direct: bool | None = None  # None: the file does not say
    dev: bool = False
    license: str = ""  # as the file states it (npm lockfile v2/3 "license"); "" when it does not


def normalize(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _formats() -> dict[str, Callable[[Path], list[LockEntry]]]:
    from rq_obs.snapshot.lockfiles import maven, npm, pipfile, poetry, requirements, uv

    return {"poetry.lock": poetry.parse, "uv.lock": uv.parse, "Pipfile.lock": pipfile.parse,
            "package-lock.json": npm.parse, "pom.xml": maven.parse, "requirements.txt": requirements.parse}


#: File names recognised (requirements*.txt is matched by pattern).
FORMATS = ("requirements*.txt", "poetry.lock", "uv.lock", "Pipfile.lock", "package-lock.json", "pom.xml")


def parse(path: str | Path) -> list[LockEntry]:
    p = Path(path)
    name = p.name
    if re.fullmatch(r"requirements.*\.txt", name) or name.endswith(".txt"):
        name = "requirements.txt"
    parser = _formats().get(name)
    if parser is None:
        raise InputError(f"{p}: unknown lock file format; expected one of {', '.join(FORMATS)}")
    try:
        return parser(p)
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None


def find(project: str | Path) -> list[Path]:
    root = Path(project)
    out = sorted(root.glob("requirements*.txt"))
    for n in FORMATS[1:]:
        if (root / n).is_file():
            out.append(root / n)
    return out
