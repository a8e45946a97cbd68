"""`rq-obs serve` stays up under hostile clients (issue 17, holes 2 and 7): slow clients held without
starving scrapes or pushes, a connection cap, header timeouts, strict framing, JSON on every error status,
a 413 the client can read, /readyz that tells a locked store or a full disk, a whitespace token refused."""

from __future__ import annotations

import http.client
import json
import os
import socket
import sqlite3
import threading
import time

import pytest

from rq_obs.store import Store
from tests.helpers.procs import wait_until
from tests.server.conftest import TOKEN, request
from tests.server.runs import doc

SLOW = 1000


def _raise_fd_limit(need: int) -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= need, f"ulimit -n must allow {need} descriptors"


def raw(url: str, data: bytes, timeout: float = 10.0) -> tuple[int, dict, bytes]:
    """Send ``data`` as is; (status, headers, body) of the reply."""
    host, port = url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(data)
        resp = http.client.HTTPResponse(s)
        resp.begin()
        return resp.status, dict(resp.getheaders()), resp.read()


def test_a_thousand_slow_clients_leave_scrapes_fast_and_pushes_working(tmp_path, capsys):
    """`rq-obs serve` in its own process (as deployed: the clients' sockets and this test's threads do not
    share its interpreter), 1,000 connections dripping a byte a second, scrapes and pushes meanwhile."""
    import sys

    from rq_obs.demo.processes import Service, Services

    _raise_fd_limit(SLOW + 256)
    env = {**os.environ, "RQ_OBS_TOKEN": TOKEN, "RQ_OBS_SERVE_HEADER_TIMEOUT": "120"}
    with Services() as services:
        srv = services.start_on_free_port(lambda port: Service(
            "rq-obs serve", f"http://127.0.0.1:{port}",
            [sys.executable, "-m", "rq_obs", "serve", "--store", str(tmp_path / "store.db"), "--port", str(port),
             "--log-level", "warning"], tmp_path / "serve.log", ready_path="/healthz", cwd=str(tmp_path), env=env))
        port = int(srv.url.rsplit(":", 1)[1])
        clients = []
        for _ in range(SLOW):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"G")
            clients.append(s)
        stop = threading.Event()

        def drip() -> None:  # one byte a second on every connection, never finishing the head
            while not stop.wait(1.0):
                for s in clients:
                    try:
                        s.send(b"E")
                    except OSError:
                        pass

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        try:
            latencies = []
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
            for i in range(8):
                t0 = time.perf_counter()
                reply = request(srv.url + "/metrics")
                latencies.append(time.perf_counter() - t0)
                assert reply.status == 200
                pushed = request(srv.url + "/api/v1/runs", json.dumps(doc(f"run-{i}", started=1_700_000_000.0 + i))
                                 .encode(), headers)
                assert pushed.status == 201, pushed.body
            # every slow client is still held (none was dropped to make room): each still gets a 408 at the end
            held = sum(1 for s in clients if _still_open(s))
            with capsys.disabled():
                print(f"\n{held} of {SLOW} slow connections held; scrape latency max {max(latencies) * 1000:.0f} ms, "
                      f"median {sorted(latencies)[4] * 1000:.0f} ms; 8 pushes stored")
            assert held == SLOW
            assert max(latencies) < 1.0, latencies
        finally:
            stop.set()
            dripper.join()
            for s in clients:
                s.close()


def _still_open(s: socket.socket) -> bool:
    s.setblocking(False)
    try:
        return s.recv(1) != b""  # b"": closed by the server
    except BlockingIOError:
        return True  # nothing to read: open, waiting for the head
    except OSError:
        return False


def test_over_the_connection_cap_a_client_gets_a_json_503_and_existing_ones_are_served(serve, tmp_path):
    srv = serve(Store(tmp_path / "store.db"), serve_max_connections=20)
    port = srv.server.server_address[1]
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
    try:
        wait_until(lambda: srv.server.open_connections >= 20, what="20 connections open")
        status, headers, body = raw(srv.url, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 503 and headers["Retry-After"] == "1"
        assert "max_connections 20" in json.loads(body)["error"]
    finally:
        for s in held:
            s.close()
    wait_until(lambda: srv.server.open_connections == 0, what="connections closed")
    assert srv.metrics().status == 200


def test_a_client_too_slow_with_its_head_gets_a_json_408_and_is_closed(serve, tmp_path):
    srv = serve(Store(tmp_path / "store.db"), serve_header_timeout=0.5)
    port = srv.server.server_address[1]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /metr")
        resp = http.client.HTTPResponse(s)
        resp.begin()
        assert resp.status == 408
        assert "header_timeout" in json.loads(resp.read())["error"]
        assert s.recv(1) == b""  # closed


@pytest.mark.parametrize("head, status, message", [
    (b"POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 400,
     "more than one Content-Length"),
    (b"POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Length: +7\r\n\r\n{}", 400, "Content-Length"),
    (b"POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
     "both Content-Length and Transfer-Encoding"),
    (b"PUT /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405, "method PUT is not allowed"),
    (b"DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method DELETE is not allowed"),
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n", 431, "malformed request"),
    (b"GET /metrics HTTP/9\r\n\r\n", 400, "malformed request"),
    (b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", 404, "no such path"),
])
def test_strict_framing_and_a_json_body_on_every_error_status(serve, tmp_path, head, status, message):
    srv = serve(Store(tmp_path / "store.db"))
    got, headers, body = raw(srv.url, head)
    assert got == status
    assert headers["Content-Type"].startswith("application/json")
    assert message in json.loads(body)["error"]
    assert srv.metrics().status == 200


def test_an_oversized_push_gets_a_413_the_client_can_read(serve, tmp_path):
    """The server reads and drops the body (up to serve_discard_bytes), so the client sees 413, not a reset."""
    srv = serve(Store(tmp_path / "store.db"), max_payload_bytes=100_000)
    body = b"x" * 5_000_000
    conn = http.client.HTTPConnection("127.0.0.1", srv.server.server_address[1], timeout=30)
    conn.request("POST", "/api/v1/runs", body, {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
    resp = conn.getresponse()
    assert resp.status == 413
    assert "max_payload_bytes" in json.loads(resp.read())["error"]


def test_scrapes_answer_while_ingest_is_saturated_and_readyz_tells_the_store_is_locked(serve, tmp_path):
    store = Store(tmp_path / "store.db")
    srv = serve(store, serve_ingest_workers=1)
    assert request(srv.url + "/readyz").status == 200
    locker = sqlite3.connect(store.path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another writer holds the store: pushes wait for it
    replies: list[int] = []
    pushers = [threading.Thread(target=lambda i=i: replies.append(srv.push(doc(f"busy-{i}")).status))
               for i in range(20)]
    try:
        for t in pushers:
            t.start()
        wait_until(lambda: 503 in replies, timeout=30, what="a 503 once the ingest queue (16) is full")
        t0 = time.perf_counter()
        assert srv.metrics().status == 200
        assert time.perf_counter() - t0 < 1.0
        ready = request(srv.url + "/readyz")
        assert ready.status == 503 and "not writable" in ready.json()["error"]
    finally:
        locker.execute("ROLLBACK")
        locker.close()
        for t in pushers:
            t.join()
    assert sorted(set(replies)) == [201, 503]  # the queued ones were stored once the lock went
    assert request(srv.url + "/readyz").status == 200


def test_readyz_says_unavailable_when_the_disk_is_nearly_full(serve, tmp_path):
    srv = serve(Store(tmp_path / "store.db"), readyz_min_free_bytes=10 ** 18)
    reply = request(srv.url + "/readyz")
    assert reply.status == 503 and "readyz_min_free_bytes" in reply.json()["error"]


def test_a_whitespace_token_disables_ingest_with_a_message_instead_of_401s(serve, tmp_path):
    srv = serve(Store(tmp_path / "store.db"), token="   ")
    reply = srv.push(doc("r1"), token="   ")
    assert reply.status == 503 and "whitespace" in reply.json()["error"]
