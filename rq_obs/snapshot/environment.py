"""The environment a snapshot is taken in: hardware, OS, Python, container, selected env vars and config.

Secrets never reach a snapshot: an environment variable whose *name* looks secret
(:func:`rq_obs.config.is_secret_name`) is recorded only as present (its name under
``secrets_present``), and a selected variable's URL credentials (``user:pass@``) are
replaced by ``***``; any text value that looks like a credential by its format or its entropy
(:mod:`rq_obs.redact`: ``ghp_...``, ``AKIA...``, a JWT...) becomes ``<redacted: KIND>`` under its own name. Config values are taken from :meth:`Config.public_dict` (secrets masked).
:func:`redact_environment` is that filter on its own: the last step of a capture here, and what
``rq-obs serve`` applies to every pushed snapshot before storing it (and ``rq-obs push`` before
sending one). psutil is imported lazily.
"""

from __future__ import annotations

import fnmatch
import os
import platform
import shutil
import sys
from pathlib import Path
from typing import Any, Mapping

from rq_obs.config import Config, is_secret_name
from rq_obs.redact import mask_url, redact

__all__ = ["capture_environment", "detect_container", "select_env", "redact_environment", "flatten", "PRESENT"]

#: What a secret variable's value is recorded as.
PRESENT = "<present>"


def detect_container(root: str | Path = "/", env: Mapping[str, str] | None = None) -> str:
    """docker, podman, kubernetes, containerd, lxc or none (``root`` lets tests point at a fake filesystem)."""
    env = os.environ if env is None else env
    r = Path(root)
    if env.get("KUBERNETES_SERVICE_HOST"):
        return "kubernetes"
    if (r / ".dockerenv").exists():
        return "docker"
    if (r / "run/.containerenv").exists():
        return "podman"
    try:
        cgroup = (r / "proc/1/cgroup").read_text(encoding="utf-8", errors="replace")
    except OSError:
        cgroup = ""
    for marker, name in (("kubepods", "kubernetes"), ("docker", "docker"), ("libpod", "podman"),
                         ("containerd", "containerd"), ("lxc", "lxc")):
        if marker in cgroup:
            return name
    return "none"


def select_env(env: Mapping[str, str], globs: list[str]) -> tuple[dict[str, str], list[str]]:
    """(selected variables with safe values, names of every secret-looking variable present)."""
    selected: dict[str, str] = {}
    for name in sorted(env):
        if any(fnmatch.fnmatchcase(name, g) for g in globs):
            selected[name] = PRESENT if is_secret_name(name) else mask_url(env[name])
    secrets = sorted(n for n in env if is_secret_name(n))
    return selected, secrets


def _scrub(value: Any, drop: bool = False) -> Any:
    """``value`` with secret-looking names' text values replaced (or, ``drop``, the names at this level left out),
    and text that looks like a credential whatever its name replaced by ``<redacted: KIND>``."""
    if isinstance(value, str):
        return redact(mask_url(value))
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if is_secret_name(str(k)):
                if drop:
                    continue
                if isinstance(v, str):
                    out[k] = PRESENT
                    continue
            out[k] = _scrub(v)
        return out
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    return value


def redact_environment(environment: Mapping[str, Any]) -> dict[str, Any]:
    """The environment with nothing secret left: a text value under a secret-looking name (an ``env``
    variable, any field) becomes ``PRESENT``, a secret-looking ``config`` setting is left out, URL
    credentials in any text (``scheme://user:pass@``) become ``***``, and any other text that looks like a
    credential becomes ``<redacted: KIND>``. Idempotent."""
    out = _scrub({k: v for k, v in environment.items() if k != "config"})
    if "config" in environment:
        config = environment["config"]
        out["config"] = _scrub(config, True) if isinstance(config, Mapping) else config
    return {k: out[k] for k in environment if k in out}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _os_release() -> str:
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return ""


def _gpus() -> list[dict[str, Any]]:
    if not shutil.which("nvidia-smi"):
        return []
    from rq_obs import proc

    try:
        res = proc.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"], timeout=10)
    except Exception:  # noqa: BLE001 - a GPU probe never fails a snapshot
        return []
    out = []
    for line in res.stdout.splitlines() if res.ok else []:
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            try:
                mem = float(parts[1]) * 1024 * 1024
            except ValueError:
                mem = None
            out.append({"model": parts[0], "memory_bytes": mem, "driver": parts[2]})
    return out


#: Load average per logical CPU from which a machine counts as busy: timings taken on it are noisy.
BUSY_LOAD = 0.5


def load_per_cpu() -> float | None:
    """The 1-minute load average per logical CPU now (None where the OS has none)."""
    try:
        return round(os.getloadavg()[0] / (os.cpu_count() or 1), 2)
    except (OSError, AttributeError):
        return None


def capture_environment(config: Config, project: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    import psutil

    env = os.environ if env is None else env
    freq = None
    try:
        f = psutil.cpu_freq()
        freq = round(f.max or f.current, 1) if f else None
    except (OSError, NotImplementedError, AttributeError):
        freq = None
    vm = psutil.virtual_memory()
    try:
        du = psutil.disk_usage(str(project))
        disk = {"total_bytes": du.total, "free_bytes": du.free}
    except OSError:
        disk = {}
    selected, secrets = select_env(env, list(config.snapshot_env))
    public = config.public_dict()
    return redact_environment({
        "cpu": {"model": _cpu_model(), "architecture": platform.machine(), "cores_physical": psutil.cpu_count(logical=False),
                "cores_logical": psutil.cpu_count(logical=True), "frequency_mhz": freq},
        "memory": {"total_bytes": vm.total, "available_bytes": vm.available},
        "load": {"per_cpu_1m": load_per_cpu()},
        "disk": disk,
        "gpu": _gpus(),
        "os": {"system": platform.system(), "release": _os_release(), "kernel": platform.release()},
        "python": {"implementation": platform.python_implementation(), "version": platform.python_version(),
                   "compiler": platform.python_compiler(), "prefix_is_venv": sys.prefix != sys.base_prefix},
        "container": detect_container(env=env),
        "hostname": platform.node(),
        "env": selected,
        "secrets_present": secrets,
        "config": dict(sorted(public.items())),
        "feature_flags": dict(sorted(config.feature_flags.items())),
    })


def flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested environment -> {"cpu.model": ..., "env.CI": ...}; lists are kept as values."""
    out: dict[str, Any] = {}
    for k, v in doc.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out
