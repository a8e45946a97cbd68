"""The connection layer of ``rq-obs serve``: asyncio sockets, HTTP/1.1 framing by h11, bounded worker pools.

Why this and not the standard library's ``ThreadingHTTPServer``: that server gives every connection a
thread with no cap and no header or idle timeout, so a thousand clients sending a byte a second hold a
thousand threads (and, past ``ulimit -n``, make every new connection fail: ``/metrics`` with them).
Here a connection costs a socket and a coroutine until its request is complete; only complete requests
reach a thread, from a small pool per kind of work:

* ``scrape``: ``/metrics`` and ``/readyz`` (so a scrape is answered while ingest is saturated);
* ``ingest``: ``POST`` routes, with a bounded queue: when it is full the reply is 503 with ``Retry-After``.
* ``api``: the read-only JSON API's ``GET`` routes (:mod:`rq_obs.server.api`), bounded the same way.

Limits (:class:`Limits`): open connections (over the cap a connection gets a 503 and is closed), time to
send the request head (``header_timeout``), the body (``body_timeout``), time idle between requests on
a kept-alive connection (``idle_timeout``), head size (431). Framing is strict: h11 (python-hyper's
HTTP/1.1 state machine, used by uvicorn and httpx) parses, and before it a head with more than one
``Content-Length``, a ``Content-Length`` that is not digits (``+7``), or both ``Content-Length`` and
``Transfer-Encoding`` is refused with 400. Every error reply, those of this layer included, is a JSON body
``{"error": ...}``.

A request refused before its body is read (401, 411, 413, 415...) has its body read and discarded when
it declares at most ``discard_bytes``, so the client reads the reply instead of a reset connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import h11

__all__ = ["Limits", "Response", "Pending", "Pool", "Headers", "AsyncHTTPServer", "json_response"]

log = logging.getLogger("rq_obs.server")


@dataclass(frozen=True)
class Limits:
    max_connections: int = 2000
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    idle_timeout: float = 15.0
    max_header_bytes: int = 16 * 1024
    discard_bytes: int = 64 * 1024 * 1024
    ingest_workers: int = 4
    ingest_queue: int = 64
    scrape_workers: int = 2
    api_workers: int = 2  # the read-only JSON API (rq_obs.server.api): its own pool, so a slow query never delays a scrape
    api_queue: int = 64


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict = field(default_factory=dict)
    close: bool = False


def _reason(status: int) -> bytes:
    """The standard reason phrase (``404 Not Found``): clients and logs show it, and h11 sends none by itself."""
    import http

    try:
        return http.HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""


def json_response(status: int, doc: dict, headers: dict | None = None, close: bool = False) -> Response:
    return Response(status, (json.dumps(doc, ensure_ascii=False) + "\n").encode("utf-8"),
                    headers=dict(headers or {}), close=close)


@dataclass
class Pending:
    """What a route needs before it can answer: a body (``length`` bytes, 0 for none) and a worker from ``pool``.
    ``refusal``: the answer is already known (the body is drained, then this is sent)."""

    pool: str
    run: Callable[[bytes], Response]
    length: int = 0
    refusal: Response | None = None


class Headers(dict):
    """Request headers, names lower-cased; ``get`` is case-insensitive like ``http.client``'s. ``query``: the
    request target's query string (after ``?``, still percent-encoded; '' when none)."""

    query = ""

    def get(self, name: str, default=None):  # type: ignore[override]
        return super().get(name.lower(), default)


class Pool:
    """``workers`` threads taking jobs from a queue of at most ``backlog``; ``thread_exit`` runs in each at stop."""

    def __init__(self, name: str, workers: int, backlog: int, thread_exit: Callable[[], None]):
        self.name = name
        self._jobs: queue.Queue = queue.Queue(maxsize=backlog)
        self._exit = thread_exit
        self._threads = [threading.Thread(target=self._work, name=f"rq-obs-{name}-{i}", daemon=True)
                         for i in range(workers)]
        for t in self._threads:
            t.start()

    def _work(self) -> None:
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    return
                job()
        finally:
            self._exit()

    def submit(self, loop: asyncio.AbstractEventLoop, fn: Callable[[], Response]) -> asyncio.Future | None:
        """A future of ``fn()`` run by a worker, or None when the queue is full."""
        fut = loop.create_future()

        def job() -> None:
            try:
                result = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting coroutine
                loop.call_soon_threadsafe(_settle, fut, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, fut, result, None)

        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            return None
        return fut

    def stop(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for t in self._threads:
            t.join(timeout=30)


def _settle(fut: asyncio.Future, result, exc) -> None:
    if fut.cancelled():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(result)


_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(.*?)[ \t]*$", re.I | re.M)
_DIGITS = re.compile(r"[0-9]+")
_TRANSFER_ENCODING = re.compile(rb"^transfer-encoding[ \t]*:", re.I | re.M)


def framing_problem(head: bytes) -> str | None:
    """Why a request head's framing is refused (request smuggling shapes h11 tolerates), or None."""
    lengths = _CONTENT_LENGTH.findall(head)
    if len(lengths) > 1:
        return "more than one Content-Length header"
    given = lengths[0].rstrip(b"\r").decode("latin-1") if lengths else ""
    if lengths and not _DIGITS.fullmatch(given):
        return f"Content-Length is {given!r}; expected digits only"
    if lengths and _TRANSFER_ENCODING.search(head):
        return "both Content-Length and Transfer-Encoding"
    return None


class _Timeout(Exception):
    pass


if sys.version_info >= (3, 11):
    async def _read(reader: asyncio.StreamReader, seconds: float) -> bytes:
        """Up to 64 KiB, or asyncio.TimeoutError after ``seconds`` (one timer handle, no extra task: a slow
        client's every byte costs little)."""
        async with asyncio.timeout(seconds):
            return await reader.read(65536)
else:  # pragma: no cover - Python 3.10
    async def _read(reader: asyncio.StreamReader, seconds: float) -> bytes:
        return await asyncio.wait_for(reader.read(65536), seconds)


class AsyncHTTPServer:
    """Listens on ``address`` at construction; :meth:`serve_forever` runs the event loop in the calling thread
    until :meth:`shutdown` (from another thread). ``route(method, path, headers)`` returns a
    :class:`Response` (answered at once, in the loop: keep it cheap) or a :class:`Pending`."""

    def __init__(self, address: tuple[str, int], route: Callable[[str, str, Headers], Response | Pending],
                 limits: Limits, thread_exit: Callable[[], None], on_request: Callable | None = None):
        self.limits = limits
        self.route = route
        self.on_request = on_request or (lambda *a: None)
        host, port = address
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.create_server((host, port), family=family, backlog=1024, reuse_port=False)
        self.socket.setblocking(False)
        self.server_address = self.socket.getsockname()
        self.pools = {"scrape": Pool("scrape", limits.scrape_workers, 1024, thread_exit),
                      "ingest": Pool("ingest", limits.ingest_workers, limits.ingest_queue, thread_exit),
                      "api": Pool("api", limits.api_workers, limits.api_queue, thread_exit)}
        self.open_connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopped = threading.Event()
        self._stopped.set()

    # -- lifecycle ------------------------------------------------------------------------
    def serve_forever(self, poll_interval: float = 0.5) -> None:  # noqa: ARG002 - socketserver's signature
        self._stopped.clear()
        try:
            asyncio.run(self._serve())
        finally:
            self._stopped.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, sock=self.socket, limit=self.limits.max_header_bytes)
        try:
            await self._stop.wait()
        finally:
            server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def shutdown(self) -> None:
        """Stop :meth:`serve_forever` and wait for it to return."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop closed meanwhile
                pass
        self._stopped.wait()

    def server_close(self) -> None:
        self.socket.close()
        for pool in self.pools.values():
            pool.stop()

    # -- one connection --------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections += 1
        peer = (writer.get_extra_info("peername") or ("-",))[0]
        try:
            if self.open_connections > self.limits.max_connections:
                conn = h11.Connection(h11.SERVER)
                conn.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                conn.next_event()
                await self._send(writer, conn, json_response(503, {
                    "error": f"too many open connections (max_connections {self.limits.max_connections}); retry"},
                    {"Retry-After": "1"}, close=True), head=False)
                return
            await self._requests(reader, writer, peer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:  # the server is stopping: close quietly (a re-raise is logged as an error)
            pass
        except Exception:  # noqa: BLE001 - one bad connection never stops the server
            log.exception("connection from %s failed", peer)
        finally:
            self.open_connections -= 1
            writer.close()
            try:
                await writer.wait_closed()
            except (OSError, asyncio.CancelledError):
                pass

    async def _next(self, reader, conn: h11.Connection, deadline: float, seen: bytearray | None = None):
        """The next h11 event, reading until ``deadline`` (loop time); _Timeout after it. The bytes read are
        added to ``seen`` when given (the request head, checked before h11's normalised view of it)."""
        loop = asyncio.get_running_loop()
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            left = deadline - loop.time()
            if left <= 0:
                raise _Timeout
            try:
                data = await _read(reader, left)
            except asyncio.TimeoutError:
                raise _Timeout from None
            if seen is not None:
                seen += data
            conn.receive_data(data)

    async def _requests(self, reader, writer, peer: str) -> None:
        lim = self.limits
        loop = asyncio.get_running_loop()
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=lim.max_header_bytes)
        first = True
        while True:
            seen = bytearray(conn.trailing_data[0])
            # idle: wait for the first byte of the next request (a new connection gets the header timeout)
            if not seen:
                try:
                    data = await _read(reader, lim.header_timeout if first else lim.idle_timeout)
                except asyncio.TimeoutError:
                    if first:
                        await self._error(writer, conn, 408, "no request within header_timeout "
                                                             f"({lim.header_timeout:g} s)")
                    return
                if not data:
                    return
                seen += data
                conn.receive_data(data)
            first = False
            t0 = time.perf_counter()
            try:
                event = await self._next(reader, conn, loop.time() + lim.header_timeout, seen)
            except _Timeout:
                await self._error(writer, conn, 408, f"request head not complete within header_timeout "
                                                     f"({lim.header_timeout:g} s)")
                return
            except h11.RemoteProtocolError as exc:
                await self._error(writer, conn, exc.error_status_hint, f"malformed request: {exc}")
                return
            if isinstance(event, h11.ConnectionClosed):
                return
            end = seen.find(b"\r\n\r\n")
            if end > lim.max_header_bytes:  # h11 bounds only a head still arriving; this one came in one read
                await self._error(writer, conn, 431, f"malformed request: head of {end} bytes, over "
                                                     f"{lim.max_header_bytes}")
                return
            problem = framing_problem(bytes(seen[:end]))
            method = event.method.decode("ascii", "replace")
            target = event.target.decode("latin-1")
            path = target.split("?", 1)[0]
            if problem:
                await self._error(writer, conn, 400, f"malformed request: {problem}")
                self.on_request(peer, method, path, 400, 0, t0)
                return
            headers = Headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers)
            headers.query = target.partition("?")[2]
            plan = self.route(method, path, headers)
            if isinstance(plan, Response):
                response = plan
                ok = await self._drain(reader, conn, loop.time() + lim.body_timeout, lim.discard_bytes)
                response.close = response.close or not ok
            else:
                response = await self._run(reader, conn, plan, loop)
            if response is None:  # body timed out or too large to drain: closed
                self.on_request(peer, method, path, 408, 0, t0)
                await self._error(writer, conn, 408, f"request body not received within body_timeout "
                                                     f"({lim.body_timeout:g} s)")
                return
            await self._send(writer, conn, response, head=method == "HEAD")
            self.on_request(peer, method, path, response.status, len(response.body), t0)
            if response.close or conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            try:
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def _run(self, reader, conn: h11.Connection, plan: Pending, loop) -> Response | None:
        lim = self.limits
        deadline = loop.time() + lim.body_timeout
        if plan.refusal is not None:
            ok = await self._drain(reader, conn, deadline, lim.discard_bytes)
            plan.refusal.close = True if not ok else plan.refusal.close
            return plan.refusal
        chunks: list[bytes] = []
        try:
            if await self._read_body(reader, conn, deadline, plan.length, chunks) < 0:
                return json_response(400, {"error": "request body longer than its Content-Length"}, close=True)
        except _Timeout:
            return None
        except h11.RemoteProtocolError as exc:
            return json_response(exc.error_status_hint, {"error": f"malformed request: {exc}"}, close=True)
        body = b"".join(chunks)
        fut = self.pools[plan.pool].submit(loop, lambda: plan.run(body))
        if fut is None:
            return json_response(503, {"error": f"the server is busy ({plan.pool} queue full); retry later"},
                                 {"Retry-After": "1"})
        try:
            return await fut
        except Exception:  # noqa: BLE001 - answered 500, logged with its traceback
            log.exception("%s request failed", plan.pool)
            return json_response(500, {"error": "internal error (see the server log)"})

    async def _read_body(self, reader, conn: h11.Connection, deadline: float, bound: int,
                         chunks: list[bytes] | None = None) -> int:
        """Read the request body to its end (kept in ``chunks`` when given): its size, or -1 once past ``bound``
        bytes. _Timeout and h11.RemoteProtocolError propagate."""
        if conn.their_state is not h11.SEND_BODY:
            return 0
        size = 0
        while True:
            event = await self._next(reader, conn, deadline)
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > bound:
                    return -1
                if chunks is not None:
                    chunks.append(event.data)
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                return size

    async def _drain(self, reader, conn: h11.Connection, deadline: float, bound: int) -> bool:
        """Read and drop the request body (up to ``bound`` bytes); False when it could not be (close after)."""
        try:
            return await self._read_body(reader, conn, deadline, bound) >= 0
        except (_Timeout, h11.RemoteProtocolError):
            return False

    async def _error(self, writer, conn: h11.Connection, status: int, message: str) -> None:
        await self._send(writer, conn, json_response(status, {"error": message}, close=True), head=False)

    async def _send(self, writer, conn: h11.Connection, r: Response, head: bool) -> None:
        headers = [("Content-Type", r.content_type), ("Content-Length", str(len(r.body))), ("Server", "rq-obs")]
        headers += [(k, str(v)) for k, v in r.headers.items()]
        if r.close:
            headers.append(("Connection", "close"))
        try:
            if conn.our_state is h11.SEND_RESPONSE or conn.our_state is h11.IDLE and conn.their_state is not h11.IDLE:
                data = conn.send(h11.Response(status_code=r.status, headers=headers, reason=_reason(r.status)))
                if not head:
                    data += conn.send(h11.Data(data=r.body)) or b""
                data += conn.send(h11.EndOfMessage()) or b""
            else:  # the request could not be parsed: h11 will not frame a reply to it
                data = _raw_response(r, headers)
        except h11.LocalProtocolError:
            data = _raw_response(r, headers)
        writer.write(data)
        await writer.drain()


def _raw_response(r: Response, headers: list[tuple[str, str]]) -> bytes:
    reason = {400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large", 431: "Request Header Fields Too Large",
              503: "Service Unavailable"}.get(r.status, "Error")
    lines = [f"HTTP/1.1 {r.status} {reason}"] + [f"{k}: {v}" for k, v in headers]
    if ("Connection", "close") not in headers:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + r.body
