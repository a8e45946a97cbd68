"""A real rq-obs server in a thread on a free loopback port, and an HTTP client for it."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest

from rq_obs.config import load
from rq_obs.server.app import make_server
from rq_obs.store import Store

TOKEN = "test-token-5b0c"


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict

    def json(self):
        return json.loads(self.body)


def request(url: str, data: bytes | None = None, headers: dict | None = None, method: str | None = None) -> Reply:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return Reply(resp.status, resp.read(), dict(resp.headers))
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, exc.read(), dict(exc.headers))


class Running:
    def __init__(self, store: Store, env: dict, collectors=None, **overrides):
        # tests of stored values see new series at once; tests of the grace itself set it
        overrides.setdefault("new_series_grace", "1ms")
        self.config = load("/nonexistent-project-dir", env=env, overrides=overrides).config
        self.store = store
        self.server = make_server(self.config, store, "127.0.0.1", 0, collectors=collectors)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.stopped = False

    def push(self, doc, token: str | None = TOKEN, content_type: str = "application/json") -> Reply:
        body = doc if isinstance(doc, bytes) else json.dumps(doc).encode("utf-8")
        headers = {"Content-Type": content_type}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return request(self.url + "/api/v1/runs", body, headers)

    def metrics(self, accept: str | None = None) -> Reply:
        return request(self.url + "/metrics", headers={"Accept": accept} if accept else {})

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.server.shutdown()
        self.server.server_close()
        self.server.service.close()


@pytest.fixture
def serve(tmp_path):
    """serve(**config overrides) -> a started server; all are stopped at teardown."""
    started = []

    def start(store: Store | None = None, *, token: str | None = TOKEN, collectors=None, **overrides) -> Running:
        env = {"RQ_OBS_TOKEN": token} if token else {}
        r = Running(store or Store(tmp_path / "store.db"), env, collectors, **overrides)
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()
