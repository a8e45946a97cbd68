"""Durability and concurrency: kill -9 during a stream of pushes, and 8 concurrent pushers."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request


from rq_obs.catalog import M
from rq_obs.store import Store
from tests.helpers.procs import free_port, http_get, python_env, wait_until
from tests.server.conftest import TOKEN
from tests.server.runs import doc
from tests.server.test_ingest import total

ATTEMPTS_PER_RUN = 3


def post(url: str, d: dict, timeout: float = 10.0) -> int:
    req = urllib.request.Request(url + "/api/v1/runs", data=json.dumps(d).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def push_with_retries(url: str, d: dict, deadline: float) -> int:
    """What a CI client does: retry on connection errors and 5xx until a 2xx/4xx reply."""
    while time.monotonic() < deadline:
        try:
            status = post(url, d)
        except (urllib.error.URLError, OSError, http.client.HTTPException):  # incl. a reply cut short by the kill
            status = None
        if status is not None and status < 500:
            return status
        time.sleep(0.02)
    raise AssertionError(f"run {d['run_id']} not acknowledged before the deadline")


class ServeProcess:
    def __init__(self, store_path, port: int, log_path):
        # the runs are dated 2023: a long retention keeps serve's pruner from deleting them at restart
        self.args = [sys.executable, "-m", "rq_obs", "serve", "--store", str(store_path), "--port", str(port),
                     "--log-level", "warning"]
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, env=python_env({"RQ_OBS_TOKEN": TOKEN, "RQ_OBS_RETENTION_DAYS": "36500"}), stdout=log,
                                     stderr=subprocess.STDOUT, cwd=os.path.dirname(self.log_path))
        log.close()
        wait_until(lambda: self._alive() and http_get(self.url + "/readyz")[0] == 200, 60, what="rq-obs serve ready")

    def _alive(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError("rq-obs serve exited:\n" + open(self.log_path).read()[-3000:])
        return True

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)


def test_kill_9_loses_no_acknowledged_run_and_counts_nothing_twice(tmp_path):
    store_path = tmp_path / "store.db"
    port = free_port()
    server = ServeProcess(store_path, port, tmp_path / "serve.log")
    server.start()
    runs = [doc(f"k-{i:04d}", outcomes=("passed", "failed", "passed"), started=1_700_000_000.0 + i)
            for i in range(150)]
    acked: list[str] = []
    errors: list[BaseException] = []

    def client() -> None:
        deadline = time.monotonic() + 120
        try:
            for d in runs:
                assert push_with_retries(server.url, d, deadline) in (200, 201)
                acked.append(d["run_id"])
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    t = threading.Thread(target=client)
    try:
        t.start()
        for kill_at in (30, 90):  # two crashes in the middle of the stream
            wait_until(lambda: len(acked) >= kill_at or errors, 60, what=f"{kill_at} acknowledged pushes")
            at_kill = list(acked)
            server.kill9()
            stored = {r[0] for r in Store(store_path).query("SELECT run_id FROM runs")}
            assert set(at_kill) <= stored, "an acknowledged run is missing after kill -9"
            server.start()
        t.join(120)
        assert not errors, errors
    finally:
        server.stop()
    assert acked == [d["run_id"] for d in runs]
    store = Store(store_path)
    assert store.query("SELECT COUNT(*) FROM runs")[0][0] == len(runs)
    assert store.query("SELECT COUNT(*) FROM attempts")[0][0] == len(runs) * ATTEMPTS_PER_RUN
    assert total(store, M.TEST_ATTEMPTS.total) == len(runs) * ATTEMPTS_PER_RUN
    assert total(store, M.TEST_ATTEMPTS.total, outcome="failed") == len(runs)
    assert total(store, M.TEST_RUNS.total) == len(runs)
    assert total(store, M.INGEST_RUNS.total, result="stored") <= len(runs)


def test_concurrent_pushers_store_every_run_exactly_once(serve):
    srv = serve()
    pushers, per_pusher = 8, 200
    replies: dict[str, list[int]] = {}
    lock = threading.Lock()

    def pusher(p: int) -> None:
        for i in range(per_pusher):
            # every pusher also re-sends one run of its neighbour: duplicates race with first pushes
            own = doc(f"p{p}-{i}", outcomes=("passed", "failed"), started=1_700_000_000.0 + i)
            status = post(srv.url, own, timeout=60)
            with lock:
                replies.setdefault(own["run_id"], []).append(status)
            if i % 50 == 0:
                other = doc(f"p{(p + 1) % pushers}-{i}", outcomes=("passed", "failed"),
                            started=1_700_000_000.0 + i)
                status = post(srv.url, other, timeout=60)
                with lock:
                    replies.setdefault(other["run_id"], []).append(status)

    threads = [threading.Thread(target=pusher, args=(p,)) for p in range(pushers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    n = pushers * per_pusher
    assert len(replies) == n
    assert all(sorted(s)[0] in (200, 201) and sorted(s).count(201) == 1 for s in replies.values()), \
        "every run answered 201 exactly once (and 200 for its duplicate)"
    store = srv.store
    assert store.query("SELECT COUNT(*) FROM runs")[0][0] == n
    assert store.query("SELECT COUNT(DISTINCT run_id) FROM attempts")[0][0] == n
    assert store.query("SELECT COUNT(*) FROM attempts")[0][0] == 2 * n
    assert total(store, M.TEST_ATTEMPTS.total) == 2 * n
    assert total(store, M.TEST_RUNS.total) == n
    assert total(store, M.INGEST_RUNS.total, result="stored") == n
    assert total(store, M.INGEST_RUNS.total, result="duplicate") == pushers * (per_pusher // 50)
    seqs = [r[0] for r in store.query("SELECT sequence FROM runs WHERE suite = 'shop' ORDER BY sequence")]
    assert seqs == list(range(1, n + 1))  # sequence numbers are unique under concurrency
