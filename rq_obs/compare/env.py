"""Environment differences between two snapshots and the compatibility risk they carry.

Risk per changed field: *high* for the OS, CPU architecture, Python implementation or
Python minor version; *medium* for the kernel, CPU model, core counts, total memory, GPU,
container runtime, Python patch version and feature flags; *low* for everything else
(selected environment variables, config values). Volatile readings (available memory, free
disk, CPU frequency, hostname, load average) are ignored: the load is judged with the
performance changes it can fake (:func:`rq_obs.compare.perf.busy_note`). The overall risk is the highest field risk.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

from rq_obs.snapshot.environment import flatten

__all__ = ["EnvChange", "EnvDiff", "diff_environment", "IGNORED"]

IGNORED = ("memory.available_bytes", "disk.free_bytes", "cpu.frequency_mhz", "hostname", "python.prefix_is_venv",
           "load.per_cpu_1m")
_HIGH = ("os.system", "os.release", "cpu.architecture", "python.implementation")
_MEDIUM_PREFIX = ("os.kernel", "cpu.model", "cpu.cores_physical", "cpu.cores_logical", "memory.total_bytes", "gpu",
                  "container", "feature_flags.", "disk.total_bytes", "python.compiler")
_RANK = {"none": 0, "low": 1, "medium": 2, "high": 3}


@dataclass(frozen=True)
class EnvChange:
    field: str
    base: Any
    head: Any
    risk: str


@dataclass(frozen=True)
class EnvDiff:
    changes: tuple[EnvChange, ...]
    risk: str  # none | low | medium | high

    def to_dict(self) -> dict[str, Any]:
        return {"risk": self.risk, "changes": [asdict(c) for c in self.changes]}


def _minor(v: Any) -> str:
    return ".".join(str(v).split(".")[:2])


def _risk(field: str, base: Any, head: Any) -> str:
    if field in _HIGH:
        return "high"
    if field == "python.version":
        return "high" if _minor(base) != _minor(head) else "medium"
    if field.startswith(_MEDIUM_PREFIX):
        return "medium"
    return "low"


def diff_environment(base: Mapping[str, Any], head: Mapping[str, Any]) -> EnvDiff:
    fb, fh = flatten(base), flatten(head)
    changes = []
    for key in sorted(set(fb) | set(fh)):
        if key in IGNORED:
            continue
        a, b = fb.get(key), fh.get(key)
        if a != b:
            changes.append(EnvChange(key, a, b, _risk(key, a, b)))
    risk = max((c.risk for c in changes), key=_RANK.__getitem__, default="none")
    return EnvDiff(tuple(changes), risk)
