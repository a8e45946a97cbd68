"""Dependency changes between two snapshots: added, removed, updated (major/minor/patch) and security impact."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from rq_obs.snapshot.model import Dependency, Snapshot, Vulnerability

__all__ = ["DepChange", "DepDiff", "change_kind", "diff_dependencies", "environment_note", "CHANGE_KINDS"]

CHANGE_KINDS = ("added", "removed", "major", "minor", "patch", "other")


def change_kind(old: str, new: str) -> str:
    """major / minor / patch (first differing release component, via ``packaging``) or other."""
    from packaging.version import InvalidVersion, Version

    try:
        a, b = Version(old), Version(new)
    except InvalidVersion:
        return "other"
    ra, rb = (a.release + (0, 0, 0))[:3], (b.release + (0, 0, 0))[:3]
    if a.epoch != b.epoch or ra[0] != rb[0]:
        return "major"
    if ra[1] != rb[1]:
        return "minor"
    if ra[2] != rb[2]:
        return "patch"
    return "other"  # pre/post/dev/local or 4th component


@dataclass(frozen=True)
class DepChange:
    ecosystem: str
    name: str
    old: str
    new: str
    change: str  # added | removed | major | minor | patch | other
    downgrade: bool = False
    kind: str = ""  # direct | transitive (head's, or base's when removed)
    vulns_fixed: tuple[str, ...] = ()
    vulns_introduced: tuple[str, ...] = ()

    @property
    def security_impact(self) -> str:
        if self.vulns_introduced:
            return "introduces " + ", ".join(self.vulns_introduced)
        if self.vulns_fixed:
            return "fixes " + ", ".join(self.vulns_fixed)
        return ""


@dataclass(frozen=True)
class DepDiff:
    changes: tuple[DepChange, ...]
    introduced: tuple[Vulnerability, ...] = ()
    fixed: tuple[Vulnerability, ...] = ()
    counts: dict = field(default_factory=dict)
    upgrades: tuple["Upgrade", ...] = ()  # of the head's vulnerable packages

    def of(self, change: str) -> list[DepChange]:
        return [c for c in self.changes if c.change == change]

    def to_dict(self) -> dict[str, Any]:
        return {"counts": dict(self.counts),
                "changes": [dict(asdict(c), security_impact=c.security_impact) for c in self.changes],
                "vulnerabilities_introduced": [asdict(v) for v in self.introduced],
                "vulnerabilities_fixed": [asdict(v) for v in self.fixed],
                "upgrades": [asdict(u) for u in self.upgrades]}


@dataclass(frozen=True)
class Upgrade:
    """The smallest version of ``package`` that the scanners say fixes every listed vulnerability
    (``to`` = "" when some have no fixed version: ``unfixed`` names them)."""

    ecosystem: str
    package: str
    version: str
    to: str
    clears: tuple[str, ...]
    unfixed: tuple[str, ...] = ()

    def text(self) -> str:
        out = f"{self.package} {self.version} -> {self.to} clears {', '.join(self.clears)}" if self.to else \
            f"{self.package} {self.version}: no fixed version known"
        return out + (f" (no fix known for {', '.join(self.unfixed)})" if self.unfixed and self.to else "")


def upgrades(vulns: Sequence[Vulnerability]) -> tuple[Upgrade, ...]:
    """Per vulnerable package: the lowest version at or above every vulnerability's first fix above the
    installed version (pip-audit ``fix_versions``, OSV ``fixed`` events), with the ids it clears."""
    from packaging.version import InvalidVersion, Version

    def v(s: str):
        try:
            return Version(s)
        except InvalidVersion:
            return None

    groups: dict[tuple[str, str, str], list[Vulnerability]] = {}
    for x in vulns:
        groups.setdefault((x.ecosystem, x.package, x.version), []).append(x)
    out = []
    for (eco, pkg, ver), items in sorted(groups.items()):
        now = v(ver)
        need, clears, unfixed = None, [], []
        for x in sorted(items, key=lambda i: i.id):
            fixes = sorted(f for f in (v(s) for s in x.fix_versions) if f is not None and (now is None or f > now))
            if not fixes:
                unfixed.append(x.id)
                continue
            clears.append(x.id)
            need = fixes[0] if need is None or fixes[0] > need else need
        out.append(Upgrade(eco, pkg, ver, str(need) if need is not None else "", tuple(clears), tuple(unfixed)))
    return tuple(out)


def _vkey(v: Vulnerability) -> tuple[str, str, str]:
    return (v.ecosystem, v.package, v.id)


def diff_dependencies(base: Sequence[Dependency], head: Sequence[Dependency], base_vulns: Sequence[Vulnerability] = (),
                      head_vulns: Sequence[Vulnerability] = ()) -> DepDiff:
    from packaging.version import InvalidVersion, Version

    b = {d.key: d for d in base}
    h = {d.key: d for d in head}
    bv = {_vkey(v): v for v in base_vulns}
    hv = {_vkey(v): v for v in head_vulns}
    introduced = tuple(hv[k] for k in sorted(set(hv) - set(bv)))
    fixed = tuple(bv[k] for k in sorted(set(bv) - set(hv)))
    by_pkg_new: dict[tuple[str, str], list[str]] = {}
    by_pkg_fixed: dict[tuple[str, str], list[str]] = {}
    for v in introduced:
        by_pkg_new.setdefault((v.ecosystem, v.package), []).append(v.id)
    for v in fixed:
        by_pkg_fixed.setdefault((v.ecosystem, v.package), []).append(v.id)
    changes = []
    for key in sorted(set(b) | set(h)):
        eco, name = key
        fx, nw = tuple(by_pkg_fixed.get(key, ())), tuple(by_pkg_new.get(key, ()))
        if key not in b:
            changes.append(DepChange(eco, name, "", h[key].version, "added", False, h[key].kind, fx, nw))
        elif key not in h:
            changes.append(DepChange(eco, name, b[key].version, "", "removed", False, b[key].kind, fx, nw))
        elif b[key].version != h[key].version:
            old, new = b[key].version, h[key].version
            try:
                down = Version(new) < Version(old)
            except InvalidVersion:
                down = False
            changes.append(DepChange(eco, name, old, new, change_kind(old, new), down, h[key].kind, fx, nw))
        elif fx or nw:
            changes.append(DepChange(eco, name, b[key].version, h[key].version, "other", False, h[key].kind, fx, nw))
    counts = {k: 0 for k in CHANGE_KINDS}
    for c in changes:
        if c.old != c.new or c.change in ("added", "removed"):
            counts[c.change] += 1
    return DepDiff(tuple(changes), introduced, fixed, counts, upgrades(head_vulns))


def environment_note(base: Snapshot, head: Snapshot) -> str | None:
    """A review note when the two snapshots' dependencies were read from different kinds of Python
    environment (the project's, rq-obs's own, another): their difference is then partly the environments'.
    None when they are of one kind, or when a snapshot predates the record."""
    from rq_obs.snapshot.pyenv import KINDS, env_from_dict

    a, b = env_from_dict(base.dependency_environment), env_from_dict(head.dependency_environment)
    if a is None or b is None or a.kind == b.kind or a.kind not in KINDS or b.kind not in KINDS:
        return None
    return (f"dependencies were read from different environments: {base.release} from {KINDS[a.kind]} "
            f"({a.interpreter}, Python {a.python}), {head.release} from {KINDS[b.kind]} ({b.interpreter}, Python "
            f"{b.python}); dependency changes may come from that, not from the release (rq-obs snapshot --python "
            f"picks the environment)")
