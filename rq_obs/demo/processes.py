"""Long-running processes of the demo: ``rq-obs serve``, Prometheus and Alertmanager on 127.0.0.1.

The one place rq-obs keeps programs running (:mod:`rq_obs.proc` runs programs to
completion). Each :class:`Service` logs to ``<name>.log`` in the demo directory and is
ready when its readiness URL answers 200 (polled, never a fixed sleep). :class:`Services`
stops everything it started — in reverse order, SIGTERM then SIGKILL — on ``stop()``,
when its ``with`` block ends (also on an error) and on SIGINT/SIGTERM via the caller.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from rq_obs.errors import UsageError
from rq_obs.proc import require

__all__ = ["Service", "Services", "free_port", "poll", "http_ok"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def poll(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.1):
    """Call ``predicate`` until it returns something truthy; UsageError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise UsageError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class Service:
    name: str
    url: str
    args: Sequence[str]
    log_path: Path
    ready_path: str = "/"
    cwd: str | None = None
    env: dict | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(list(self.args), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.cwd, env=self.env, start_new_session=True)
        finally:
            log.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def lost_its_port(self) -> bool:
        """It exited because its port was taken (between :func:`free_port` and its bind): worth a new port."""
        if self.alive() or not self.log_path.exists():
            return False
        return "address already in use" in self.log_path.read_text(errors="replace").lower()

    def wait_ready(self, timeout: float) -> None:
        def ready() -> bool:
            if not self.alive():
                tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
                raise UsageError(f"{self.name} exited with code {self.proc.returncode if self.proc else '?'} "
                                 f"before it was ready; the end of {self.log_path}:\n{tail}")
            return http_ok(self.url + self.ready_path)

        poll(ready, timeout, f"{self.name} at {self.url}{self.ready_path}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Services:
    """Started services in order; ``stop()`` stops them in reverse. Use as a context manager."""

    def __init__(self) -> None:
        self.started: list[Service] = []
        self.extra_stops: list[Callable[[], None]] = []

    def start(self, service: Service, timeout: float = 60.0) -> Service:
        require(service.args[0]) if not Path(service.args[0]).is_absolute() else None
        service.start()
        self.started.append(service)
        service.wait_ready(timeout)
        return service

    def start_on_free_port(self, make: Callable[[int], Service], timeout: float = 60.0, tries: int = 3) -> Service:
        """Start ``make(port)`` on a free port; if another program takes that port before the service
        binds it (a free port is only free when asked), try again on a new one, up to ``tries`` times."""
        for _ in range(tries - 1):
            service = make(free_port())
            try:
                return self.start(service, timeout)
            except UsageError:
                if not service.lost_its_port():
                    raise
                self.started.remove(service)
        return self.start(make(free_port()), timeout)

    def on_stop(self, fn: Callable[[], None]) -> None:
        self.extra_stops.append(fn)

    def pids(self) -> list[int]:
        return [s.proc.pid for s in self.started if s.proc is not None]

    def stop(self) -> None:
        while self.extra_stops:
            try:
                self.extra_stops.pop()()
            except Exception:  # noqa: BLE001 - keep stopping the rest
                pass
        while self.started:
            self.started.pop().stop()

    def __enter__(self) -> "Services":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
