"""Test infrastructure: a real Prometheus whose chosen port is taken before it binds retries on a new port
(tests run in parallel, and a free port is only free when asked)."""

from __future__ import annotations

import socket

from rq_obs.demo import processes
from tests.helpers.procs import Prometheus


def test_prometheus_moves_to_a_new_port_when_its_port_is_taken(tmp_path, monkeypatch):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        ports = iter([taken])
        real = processes.free_port
        monkeypatch.setattr(processes, "free_port", lambda: next(ports, None) or real())
        with Prometheus(tmp_path, "global:\n  scrape_interval: 1m\n") as prom:
            assert prom.port != taken
            assert prom.value("vector(42)") == 42.0  # our Prometheus answers on the new port
