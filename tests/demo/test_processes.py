"""The demo's long-running services: a port taken between choosing it and binding it costs a retry, not the demo."""

from __future__ import annotations

import socket
import sys

import pytest

from rq_obs.demo.processes import Service, Services
from rq_obs.errors import UsageError


def _http_server(tmp_path, port: int) -> Service:
    return Service("web", f"http://127.0.0.1:{port}", [sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                                                        str(port)], tmp_path / "web.log", cwd=str(tmp_path))


def test_a_port_taken_before_the_service_binds_it_is_retried_on_a_new_port(tmp_path):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        asked: list[int] = []

        def make(port: int) -> Service:
            asked.append(port)
            return _http_server(tmp_path, taken if len(asked) == 1 else port)  # the first port "was taken"

        with Services() as services:
            web = services.start_on_free_port(make, timeout=30)
            assert web.alive() and web.url == f"http://127.0.0.1:{asked[1]}" and len(asked) == 2
            assert services.started == [web]  # the failed first try is not kept
        assert "address already in use" in (tmp_path / "web.log").read_text().lower()
        assert not web.alive()  # stopped with the block


def test_any_other_failure_is_not_retried(tmp_path):
    asked: list[int] = []

    def make(port: int) -> Service:
        asked.append(port)
        return Service("web", f"http://127.0.0.1:{port}", [sys.executable, "-c", "raise SystemExit('bad config')"],
                       tmp_path / "web.log")

    with Services() as services, pytest.raises(UsageError, match="web exited with code 1 before it was ready"):
        services.start_on_free_port(make, timeout=30)
    assert len(asked) == 1
