"""A local Slack-compatible incoming webhook: keeps every message posted to it.

Alertmanager's ``slack_configs`` POST Slack's JSON payload (``channel``, ``username``,
``attachments`` with ``title``, ``text``, ``color``...) to the webhook URL and expect
``200 ok``. The sink answers that, keeps each payload with its path, and serves the list
at ``GET /`` as JSON, so a person (or the e2e test) can read what Slack would have shown.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["SlackSink"]


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass

    def _reply(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            payload = json.loads(raw.decode("utf-8"))
        except ValueError:
            self._reply(400, b"invalid_payload", "text/plain")
            return
        if not isinstance(payload, dict) or not (payload.get("text") or payload.get("attachments")):
            self._reply(400, b"no_text", "text/plain")  # what Slack answers a message without text
            return
        with self.server.lock:
            self.server.messages.append({"path": self.path, "payload": payload})
        self._reply(200, b"ok", "text/plain")

    def do_GET(self) -> None:  # noqa: N802
        with self.server.lock:
            body = json.dumps(self.server.messages, indent=1).encode("utf-8")
        self._reply(200, body, "application/json")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int]):
        super().__init__(address, _Handler)
        self.lock = threading.Lock()
        self.messages: list[dict] = []


class SlackSink:
    """``SlackSink(port).start()``; ``.url``, ``.messages()``, ``.stop()``. Port 0 picks a free one."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1"):
        self._server = _Server((host, port))
        self.port = self._server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="rq-obs-slack-sink", daemon=True)

    def start(self) -> "SlackSink":
        self._thread.start()
        return self

    def messages(self) -> list[dict]:
        with self._server.lock:
            return list(self._server.messages)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
