"""Licence policy: which dependencies' licences a release may ship with.

``allowed_licences`` / ``denied_licences`` in ``.quality-gates.yaml`` are lists of SPDX licence ids
(with exceptions: ``GPL-2.0-only WITH Classpath-exception-2.0``), validated and parsed with
``license-expression`` (the SPDX licence list it bundles; a well-kept parser of SPDX expressions, which
a regular expression would get wrong on AND/OR/WITH and parentheses). A dependency's licence
expression is acceptable when some choice among its ``OR`` alternatives uses only acceptable licences
(all operands of ``AND``); a licence is acceptable when it is not denied and, if an allow-list is given,
on it. A licence that is UNKNOWN or not an SPDX expression cannot be checked: it violates an allow-list
(nothing shows it is allowed) and passes a deny-list alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from rq_obs.errors import ConfigError

__all__ = ["Violation", "parse_policy", "violations"]


@lru_cache(maxsize=1)
def _licensing():
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


def parse_policy(values: object, where: str) -> tuple[str, ...]:
    """A list of SPDX licence ids from a gates file; ConfigError naming ``where`` otherwise."""
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise ConfigError(f"{where} is {values!r}; expected a list of SPDX licence ids (e.g. [MIT, Apache-2.0])")
    out = []
    for v in values:
        info = _licensing().validate(v)
        if info.errors:
            raise ConfigError(f"{where}: {v!r} is not an SPDX licence expression ({'; '.join(info.errors)})")
        out.append(info.normalized_expression)
    return tuple(out)


@dataclass(frozen=True)
class Violation:
    package: str
    version: str
    ecosystem: str
    license: str
    reason: str  # "denied: GPL-3.0-only" | "not allowed: LGPL-2.1-only" | "unknown licence"

    def text(self) -> str:
        return f"{self.package} {self.version} ({self.license}: {self.reason})"


def _keys(expressions: Sequence[str]) -> set[str]:
    keys: set[str] = set()
    for e in expressions:
        keys |= {str(s) for s in _licensing().license_symbols(_licensing().parse(e), decompose=False)}
    return keys


def _judge(expr, allowed: set[str] | None, denied: set[str]) -> tuple[bool, str]:
    from license_expression import LicenseSymbol, LicenseWithExceptionSymbol

    if isinstance(expr, (LicenseSymbol, LicenseWithExceptionSymbol)):
        key = str(expr)
        base = str(expr.license_symbol) if isinstance(expr, LicenseWithExceptionSymbol) else key
        if key in denied or base in denied:
            return False, f"denied: {key}"
        if allowed is not None and key not in allowed and base not in allowed:
            return False, f"not allowed: {key}"
        return True, ""
    results = [_judge(a, allowed, denied) for a in expr.args]
    if type(expr).__name__ == "OR":
        return (True, "") if any(ok for ok, _ in results) else (False, "; ".join(r for _, r in results))
    bad = [r for ok, r in results if not ok]
    return (not bad, "; ".join(bad))


def violations(dependencies: Iterable, allowed: Sequence[str], denied: Sequence[str]) -> list[Violation]:
    """Dependencies (objects with name, version, ecosystem, license) whose licence the policy rejects."""
    allow = _keys(allowed) if allowed else None
    deny = _keys(denied)
    out = []
    for d in dependencies:
        lic = (d.license or "").strip()
        info = _licensing().validate(lic) if lic and lic.upper() != "UNKNOWN" else None
        if info is None or info.errors:
            if allow is not None:
                out.append(Violation(d.name, d.version, d.ecosystem, lic or "UNKNOWN", "unknown licence"))
            continue
        ok, reason = _judge(_licensing().parse(info.normalized_expression), allow, deny)
        if not ok:
            out.append(Violation(d.name, d.version, d.ecosystem, lic, reason))
    return out
