"""The build: collect every generated file, write it, or check it is current.

Each area contributes ``artifacts(config) -> {relative path: text}``:
:mod:`rq_obs.dashboards` (dashboards/), :mod:`rq_obs.rules` (rules/ and Grafana
alerting) and :mod:`rq_obs.stack` (collector/, grafana/ provisioning, exporters/,
docker-compose.yml). Output is deterministic: two builds are byte-identical.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from rq_obs.config import Config
from rq_obs.errors import UsageError

__all__ = ["collect", "write", "check", "Problem", "TARGETS"]

#: Deployment targets: compose (docker-compose.yml and the files it mounts, the default) and
#: kubernetes (the Helm chart under charts/, :mod:`rq_obs.stack.kubernetes`).
TARGETS = ("compose", "kubernetes")


def collect(config: Config, *, dashboards_only: bool = False, targets: tuple[str, ...] = ("compose",)) -> dict[str, str]:
    from rq_obs import dashboards

    if dashboards_only:
        parts = [dashboards.artifacts(config)]
    else:
        from rq_obs import rules, stack

        parts = [dashboards.artifacts(config), rules.artifacts(config), stack.artifacts(config)] if "compose" in targets else []
        if "kubernetes" in targets:  # the chart embeds what compose mounts (dashboards, rules...) under charts/
            from rq_obs.stack import kubernetes

            parts.append(kubernetes.artifacts(config))
    files: dict[str, str] = {}
    for part in parts:
        clash = files.keys() & part.keys()
        if clash:  # pragma: no cover - a programming error
            raise AssertionError(f"generated twice: {sorted(clash)}")
        files.update(part)
    for path, text in files.items():
        if not text.endswith("\n"):
            raise AssertionError(f"{path}: generated text must end with a newline")
    return dict(sorted(files.items()))


def write(out: Path, files: Mapping[str, str]) -> list[str]:
    """Write files under ``out``; returns the paths whose content changed."""
    changed = []
    for rel, text in files.items():
        target = out / rel
        data = text.encode("utf-8")
        if target.is_file() and target.read_bytes() == data:
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        except OSError as exc:
            raise UsageError(f"{target}: cannot write ({exc.strerror})") from None
        changed.append(rel)
    return changed


Problem = tuple[str, str]  # (relative path, "missing" | "differs")


def check(out: Path, files: Mapping[str, str]) -> list[Problem]:
    problems: list[Problem] = []
    for rel, text in files.items():
        target = out / rel
        if not target.is_file():
            problems.append((rel, "missing"))
        elif target.read_bytes() != text.encode("utf-8"):
            problems.append((rel, "differs"))
    return problems
