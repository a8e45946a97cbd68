"""``rq-obs demo --docker``: generate the stack with the demo's settings and run it with Docker Compose.

The rq-obs service's image installs rq-obs' wheel from exporters/dist/ (see README "Running the
stack"); it is written next to the generated files (:func:`rq_obs.stack.wheel.write_wheel`). Not
exercised here: these machines have no Docker engine (only the missing-Docker error is tested)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from rq_obs import proc
from rq_obs.errors import UsageError

__all__ = ["compose_command", "compose_up"]


def compose_command() -> list[str]:
    """``docker compose`` (v2) when Docker is installed, else ``docker-compose``; UsageError when neither is."""
    if shutil.which("docker") and proc.run(["docker", "compose", "version"], timeout=30).ok:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise UsageError("rq-obs demo --docker needs Docker with Compose (docker compose, or the Debian package "
                     "'docker-compose'); without Docker run rq-obs demo, which needs the Debian packages "
                     "prometheus and prometheus-alertmanager")


#: What Compose prints when it cannot reach the Docker daemon (docker-compose 1.x, docker compose v2).
_NO_DAEMON = ("Error while fetching server API version", "Cannot connect to the Docker daemon",
              "docker.sock: connect: no such file", "Is the docker daemon running")


def compose_up(root: Path, *, say: Callable[[str], None] = lambda s: None) -> None:
    from rq_obs import build
    from rq_obs.config import load
    from rq_obs.demo import script
    from rq_obs.stack.wheel import write_wheel

    cmd = compose_command()
    root = Path(root)
    # no Slack webhook in a demo: alerts stay in Alertmanager's UI (Compose would refuse to start without one)
    config = load(root, env={}, overrides={**script.SETTINGS, "alerts_to": "none"}).config
    build.write(root, build.collect(config))
    wheel = write_wheel(root)
    say(f"stack generated into {root} (rq-obs image from {wheel.path.name}); running {' '.join(cmd)} up --build "
        "(Ctrl-C stops it)")
    res = proc.run([*cmd, "up", "--build"], cwd=str(root), timeout=7 * 86400)
    if not res.ok:
        last = (res.stderr.strip().splitlines() or [""])[-1][:500]
        if any(sign in res.stderr for sign in _NO_DAEMON):
            raise UsageError(f"rq-obs demo --docker: no Docker daemon answers ({' '.join(cmd)}: {last[:200]}); start "
                             f"Docker (`docker info` tells), or run rq-obs demo, which needs no Docker")
        raise UsageError(f"{' '.join(cmd)} up failed (exit {res.returncode}): {last}")
