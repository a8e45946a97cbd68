"""Test-run spans straight to OTLP/HTTP: protobuf written by hand, no OpenTelemetry SDK.

The plugin's spans are simple: one session span, one child span per test attempt, created
after the fact with known timestamps, never a parent of the code under test's spans. For
that the SDK costs more than the spans: importing it and its exporter (~0.15-0.2 s per
pytest session), a span object per attempt with attribute validation (~40 µs), and encoding
through protobuf message objects in the exporter (~55 µs). Here an attempt span is encoded
once, in pytest's thread, straight to the bytes of an OTLP ``Span`` message (the run-wide
attributes are encoded once per session and reused); a sender thread only posts
``ExportTraceServiceRequest`` bodies (up to :data:`BATCH_SPANS` spans, or what arrived in
:data:`BATCH_SECONDS`), so it holds the GIL for next to nothing.

The wire format is ``opentelemetry/proto/collector/trace/v1/trace_service.proto`` and the
messages it includes (field numbers in the constants below); tests decode what this module
sends with the official ``opentelemetry-proto`` classes and compare it with what the SDK
sends for the same spans.

Honoured like the SDK's OTLP/HTTP exporter does (the ``TRACES_`` variable first):
``OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`` (``k=v,k2=v2``, URL-encoded values; names are
case-insensitive), ``..._COMPRESSION`` (``gzip``, ``deflate``, ``none``), ``..._TIMEOUT``
(seconds per batch, retries included, as in the Python SDK; 5 s when unset),
``..._CERTIFICATE`` (CA file; else ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``, else certifi's
bundle, as the SDK's ``requests`` transport did), ``..._CLIENT_CERTIFICATE`` and
``..._CLIENT_KEY`` (mTLS), ``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_SERVICE_NAME`` (resource;
the config's ``service_name`` wins for ``service.name``); also ``HTTPS_PROXY``/``HTTP_PROXY``
and ``NO_PROXY`` (either case), and ``user:password@`` in the endpoint (basic auth). Header
values are credentials: they go on the wire and nowhere else (no warning, log line or store
row carries them; messages show the endpoint without user, password or query).

Failure policy: a refused or reset connection (a collector still starting) and answers
429/502/503/504 are retried with back-off (``Retry-After`` honoured, at most
:data:`MAX_TRIES` tries) within the timeout; any other failure is remembered, later batches
are dropped without touching the network, and :meth:`WireSink.finish` returns one warning.
Redirects are not followed. When the collector is slower than the tests, batches beyond
:data:`MAX_PENDING_BATCHES` waiting are dropped and counted, and the rest is still sent. The
run is in the store regardless.
"""

from __future__ import annotations

import os
import queue
import random
import struct
import threading
import time
import uuid
from typing import Any, Mapping
from urllib.parse import unquote, urlsplit

from rq_obs.redact import redact_attributes
from rq_obs.telemetry.otlp import SESSION_SPAN_NAME

__all__ = ["BATCH_SPANS", "BATCH_SECONDS", "WireSink", "encode_value", "export_settings", "resource_attributes"]

BATCH_SPANS = 512
BATCH_SECONDS = 1.0
MAX_PENDING_BATCHES = 32  # 16,384 spans waiting on a slow collector; beyond that spans are dropped and counted
RETRY_STATUSES = frozenset((429, 502, 503, 504))
MAX_TRIES = 6  # per batch, as the SDK's exporter
DEFAULT_TIMEOUT_S = 5.0

_F64 = struct.Struct("<d").pack
_U64 = struct.Struct("<Q").pack

# tags: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32)
_REQUEST_RESOURCE_SPANS = b"\x0a"  # ExportTraceServiceRequest.resource_spans = 1
_RS_RESOURCE, _RS_SCOPE_SPANS = b"\x0a", b"\x12"  # ResourceSpans.resource = 1, .scope_spans = 2
_RESOURCE_ATTRIBUTES = b"\x0a"  # Resource.attributes = 1
_SS_SCOPE, _SS_SPANS = b"\x0a", b"\x12"  # ScopeSpans.scope = 1, .spans = 2
_SCOPE_NAME, _SCOPE_VERSION = b"\x0a", b"\x12"  # InstrumentationScope.name = 1, .version = 2
_SPAN_TRACE_ID, _SPAN_SPAN_ID, _SPAN_PARENT = b"\x0a", b"\x12", b"\x22"  # Span fields 1, 2, 4
_SPAN_NAME, _SPAN_KIND_INTERNAL = b"\x2a", b"\x30\x01"  # Span.name = 5; Span.kind = 6, SPAN_KIND_INTERNAL = 1
_SPAN_START, _SPAN_END = b"\x39", b"\x41"  # Span.start_time_unix_nano = 7, .end_time_unix_nano = 8 (fixed64)
_SPAN_ATTRIBUTE = b"\x4a"  # Span.attributes = 9
_SPAN_STATUS_UNSET = b"\x7a\x00"  # Span.status = 15, an empty Status (code UNSET), as the SDK sends it
_SPAN_STATUS_ERROR = b"\x7a\x02\x18\x02"  # Status.code = 3, STATUS_CODE_ERROR = 2
_SPAN_FLAGS = b"\x85\x01" + struct.pack("<I", 0x100)  # Span.flags = 16 (fixed32): parent known to be local
_KV_KEY, _KV_VALUE = b"\x0a", b"\x12"  # KeyValue.key = 1, .value = 2
_AV_STRING, _AV_BOOL, _AV_INT, _AV_DOUBLE, _AV_ARRAY = b"\x0a", b"\x10", b"\x18", b"\x21", b"\x2a"  # AnyValue 1-5
_ARRAY_VALUES = b"\x0a"  # ArrayValue.values = 1
_SMALL = [bytes((i,)) for i in range(128)]


def _varint(n: int) -> bytes:
    if 0 <= n < 128:
        return _SMALL[n]
    if n < 0:
        n += 1 << 64  # int64: two's complement, ten bytes
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field."""
    return tag + _varint(len(payload)) + payload


def _text(value: str) -> bytes:
    return value.encode("utf-8", "replace")  # protobuf strings are UTF-8; a lone surrogate becomes '?'


def encode_value(value: Any) -> bytes:
    """An ``AnyValue`` message: str, bool, int (int64; larger ones as text), float, or a list/tuple of them."""
    if isinstance(value, str):
        return _field(_AV_STRING, _text(value))
    if isinstance(value, bool):
        return _AV_BOOL + (b"\x01" if value else b"\x00")
    if isinstance(value, int):
        if -(1 << 63) <= value < (1 << 63):
            return _AV_INT + _varint(value)
        return _field(_AV_STRING, str(value).encode())
    if isinstance(value, float):
        return _AV_DOUBLE + _F64(value)
    if isinstance(value, (list, tuple)):
        return _field(_AV_ARRAY, b"".join([_field(_ARRAY_VALUES, encode_value(v)) for v in value]))
    return _field(_AV_STRING, _text(str(value)))


def _attributes(tag: bytes, attributes: Mapping[str, Any]) -> bytes:
    """Repeated ``KeyValue`` fields under ``tag``; None values are left out (as the SDK does)."""
    return b"".join([_field(tag, _field(_KV_KEY, _text(k if isinstance(k, str) else str(k)))
                            + _field(_KV_VALUE, encode_value(v)))
                     for k, v in attributes.items() if v is not None])


def _env(env: Mapping[str, str], name: str) -> str:
    """``OTEL_EXPORTER_OTLP_TRACES_<name>``, else ``OTEL_EXPORTER_OTLP_<name>``, stripped."""
    return (env.get(f"OTEL_EXPORTER_OTLP_TRACES_{name}") or env.get(f"OTEL_EXPORTER_OTLP_{name}") or "").strip()


def _pairs(text: str, what: str, problems: list[str], check: Any = None) -> dict[str, str]:
    """``k=v,k2=v2`` (W3C baggage style, URL-encoded) as the OTel SDK reads its env; bad entries are named
    by position only (values can be credentials). ``check(key, value)`` may refuse an entry."""
    out: dict[str, str] = {}
    for i, item in enumerate(text.split(","), 1):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key, value = unquote(key.strip()), unquote(value.strip())
        if not sep or not key:
            problems.append(f"{what}: entry {i} ignored (expected key=value)")
            continue
        if check is not None and not check(key, value):
            problems.append(f"{what}: entry {i} ignored (a header name is a token, its value one line of Latin-1 text)")
            continue
        out[key] = value
    return out


_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _header_ok(name: str, value: str) -> bool:
    if not name or not set(name) <= _TOKEN or any(c in value for c in "\r\n\0"):
        return False
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def resource_attributes(service_name: str, env: Mapping[str, str], problems: list[str] | None = None) -> dict[str, Any]:
    """The resource of the exported spans: OTEL_RESOURCE_ATTRIBUTES < OTEL_SERVICE_NAME < ``service_name``."""
    from rq_obs import __version__

    problems = [] if problems is None else problems
    attrs: dict[str, Any] = {"telemetry.sdk.language": "python", "telemetry.sdk.name": "rq-obs",
                             "telemetry.sdk.version": __version__}
    attrs.update(redact_attributes(_pairs(env.get("OTEL_RESOURCE_ATTRIBUTES", ""), "OTEL_RESOURCE_ATTRIBUTES", problems)))
    if env.get("OTEL_SERVICE_NAME", "").strip():
        attrs["service.name"] = env["OTEL_SERVICE_NAME"].strip()
    if service_name:
        attrs["service.name"] = service_name
    attrs.setdefault("service.instance.id", str(uuid.uuid4()))
    return attrs


def _basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")


class Settings:
    """Where and how to post: URL parts, headers, compression, timeout, TLS files, proxy (from the environment)."""

    def __init__(self, url: str, headers: dict[str, str], compression: str, timeout: float, cafile: str,
                 client_cert: str, client_key: str, problems: list[str], proxy: str = "") -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"OTLP endpoint {_display(url)!r}: expected an http:// or https:// URL")
        self.display = _display(url)  # for messages: no user:password, no query
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.headers = headers
        if parts.username is not None and "authorization" not in headers:
            headers["authorization"] = _basic(parts.username, parts.password or "")
        self.compression = compression
        self.timeout = timeout
        self.cafile = cafile
        self.client_cert = client_cert
        self.client_key = client_key
        self.problems = problems
        self.proxy_host = ""
        self.proxy_port = 0
        self.proxy_headers: dict[str, str] = {}
        if proxy:
            p = urlsplit(proxy if "://" in proxy else "http://" + proxy)
            if p.hostname:
                self.proxy_host, self.proxy_port = p.hostname, p.port or 80
                if p.username is not None:
                    self.proxy_headers["proxy-authorization"] = _basic(p.username, p.password or "")
            else:
                problems.append(f"{parts.scheme} proxy {_display(proxy)!r} ignored (expected host:port or a URL)")


def _display(url: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname:
        return url.split("?", 1)[0].rsplit("@", 1)[-1]
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


def _proxy_for(url: str, env: Mapping[str, str]) -> str:
    """The proxy ``HTTPS_PROXY``/``HTTP_PROXY`` (either case) name for ``url``, unless ``NO_PROXY`` exempts it."""
    from urllib.request import proxy_bypass_environment

    parts = urlsplit(url)
    if _loopback(parts.hostname or ""):  # no proxy can reach this machine's own collector
        return ""
    proxy = env.get(f"{parts.scheme}_proxy") or env.get(f"{parts.scheme.upper()}_PROXY") or ""
    no_proxy = env.get("no_proxy") or env.get("NO_PROXY") or ""
    if proxy and no_proxy and parts.hostname and proxy_bypass_environment(parts.hostname, {"no": no_proxy}):
        return ""
    return proxy.strip()


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def export_settings(url: str, env: Mapping[str, str]) -> Settings:
    """Read the exporter's environment variables (module docstring); problems are collected, not raised."""
    from rq_obs import __version__

    problems: list[str] = []
    headers = {"user-agent": f"rq-obs/{__version__}"}
    user = _pairs(_env(env, "HEADERS"), "OTEL_EXPORTER_OTLP_HEADERS", problems, _header_ok)
    headers.update((k.lower(), v) for k, v in user.items())  # names are case-insensitive: one of each
    headers["content-type"] = "application/x-protobuf"
    compression = _env(env, "COMPRESSION").lower() or "none"
    if compression not in ("none", "gzip", "deflate"):
        problems.append(f"OTEL_EXPORTER_OTLP_COMPRESSION={compression!r} ignored (expected gzip, deflate or none)")
        compression = "none"
    timeout = DEFAULT_TIMEOUT_S
    raw = _env(env, "TIMEOUT")
    if raw:
        try:
            timeout = float(raw)
            if not timeout > 0:
                raise ValueError
        except ValueError:
            problems.append(f"OTEL_EXPORTER_OTLP_TIMEOUT={raw!r} ignored (expected seconds > 0)")
            timeout = DEFAULT_TIMEOUT_S
    files = []
    for name in ("CERTIFICATE", "CLIENT_CERTIFICATE", "CLIENT_KEY"):
        path = _env(env, name)
        if path and not os.path.isfile(path):
            problems.append(f"OTEL_EXPORTER_OTLP_{name}={path!r} ignored (no such file)")
            path = ""
        files.append(path)
    if not files[0]:  # the CA bundle the SDK's exporter (requests) used: its variables, else certifi's
        files[0] = next((env[v] for v in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE") if env.get(v)), "")
    return Settings(url, headers, compression, timeout, *files, problems, proxy=_proxy_for(url, env))


class _Failed(Exception):
    """An export failed; the message is safe to show (never a header value)."""


def _retry_after(value: str | None) -> float:
    """Seconds from a Retry-After header (seconds or an HTTP date); 0 when absent or unreadable."""
    if not value:
        return 0.0
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return 0.0


class _Sender(threading.Thread):
    """Posts request bodies in order; after the first failure it drops the rest (module docstring).

    Only this thread touches ``failed``, ``exported`` and ``dropped``; pytest's thread counts what it could
    not even queue in ``overflowed``.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="rq-obs-otlp", daemon=True)
        self.settings = settings
        self.queue: queue.Queue = queue.Queue()
        self.failed: str | None = None
        self.exported = 0
        self.dropped = 0
        self.overflowed = 0
        self._conn: Any = None
        self._stop_at: float | None = None

    # -- the thread ------------------------------------------------------------------
    def run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                break
            body, spans = item
            if self.failed is not None or (self._stop_at is not None and time.monotonic() > self._stop_at):
                self.dropped += spans
                continue
            try:
                self._post(body)
                self.exported += spans
            except _Failed as exc:
                self.failed = str(exc)
                self.dropped += spans
            except Exception as exc:  # noqa: BLE001 - never leaves this thread; the type only (no values)
                self.failed = type(exc).__name__
                self.dropped += spans
        self._close()

    def _connection(self, timeout: float) -> Any:
        if self._conn is None:
            import http.client

            s = self.settings
            host, port = (s.proxy_host, s.proxy_port) if s.proxy_host else (s.host, s.port)
            if s.https:
                import ssl

                cafile = s.cafile
                if not cafile:
                    try:
                        import certifi

                        cafile = certifi.where()
                    except ImportError:  # the system's store
                        cafile = ""
                ctx = ssl.create_default_context(cafile=cafile or None)
                if s.client_cert:
                    ctx.load_cert_chain(s.client_cert, s.client_key or None)
                conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
                if s.proxy_host:
                    conn.set_tunnel(s.host, s.port, headers=s.proxy_headers)
            else:
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
            self._conn = conn
        elif self._conn.sock is not None:
            self._conn.sock.settimeout(timeout)
        self._conn.timeout = timeout
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
            self._conn = None

    def _post(self, body: bytes) -> None:
        s = self.settings
        headers = dict(s.headers)
        target = s.path
        if s.proxy_host and not s.https:  # a plain-HTTP proxy takes the absolute URL
            target = f"http://{s.host}:{s.port}{s.path}"
            headers.update(s.proxy_headers)
        if s.compression == "gzip":
            import gzip

            body = gzip.compress(body, compresslevel=6)
            headers["content-encoding"] = "gzip"
        elif s.compression == "deflate":
            import zlib

            body = zlib.compress(body)
            headers["content-encoding"] = "deflate"
        deadline = time.monotonic() + s.timeout
        delay, tries = 0.25, 0
        while True:
            tries += 1
            reused = self._conn is not None
            remaining = max(deadline - time.monotonic(), 0.05)
            try:
                conn = self._connection(remaining)
                conn.request("POST", target, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                status, retry_after = resp.status, resp.getheader("Retry-After")
                if resp.will_close:
                    self._close()
            except OSError as exc:  # refused, reset, timed out, TLS: the OS's words name no header
                self._close()
                reason = f"{type(exc).__name__}: {exc.strerror or exc}"
                if reused and not isinstance(exc, TimeoutError):  # a kept-alive connection the server dropped
                    tries -= 1
                    continue
                wait = delay
                if isinstance(exc, TimeoutError) or tries >= MAX_TRIES or time.monotonic() + wait > deadline:
                    raise _Failed(reason) from None
                time.sleep(wait)  # e.g. a collector still starting: back-off within the timeout
                delay = min(delay * 2, 2.0)
                continue
            except Exception as exc:  # noqa: BLE001 - http.client's own errors can quote what was sent
                self._close()
                raise _Failed(type(exc).__name__) from None
            if 200 <= status < 300:
                return
            if 300 <= status < 400:
                raise _Failed(f"the collector answered HTTP {status}; redirects are not followed: "
                              "set the endpoint to the final URL")
            wait = max(delay, _retry_after(retry_after))
            if status not in RETRY_STATUSES or tries >= MAX_TRIES or time.monotonic() + wait > deadline:
                raise _Failed(f"the collector answered HTTP {status}")
            time.sleep(wait)  # back-off between retries of one batch (this thread only)
            delay = min(delay * 2, 2.0)

    # -- pytest's thread -------------------------------------------------------------
    def submit(self, body: bytes, spans: int) -> None:
        if self.queue.qsize() >= MAX_PENDING_BATCHES:  # a slow collector: drop the overflow, keep sending the rest
            self.overflowed += spans
        else:
            self.queue.put((body, spans))

    def close(self, timeout_s: float) -> bool:
        """Send what is queued, within ``timeout_s``; True when the thread finished."""
        self._stop_at = time.monotonic() + timeout_s
        self.queue.put(None)
        self.join(timeout_s)
        return not self.is_alive()


class WireSink:
    """The session span and attempt spans, encoded here and posted by a :class:`_Sender` (module docstring).

    Same interface as :class:`rq_obs.telemetry.otlp.SpanSink`, except that :meth:`attempt` takes only
    the attempt's own attributes: the run-wide ones given to :meth:`start_session` are added to every
    attempt span (encoded once).
    """

    def __init__(self, settings: Settings, resource: Mapping[str, Any], scope_name: str,
                 clock: Any = time.monotonic) -> None:
        from rq_obs import __version__

        self.endpoint = settings.display
        self.problems = settings.problems
        self._ids = random.Random()  # its own generator: a test's random.seed() must not repeat span ids
        self._clock = clock
        self._envelope_head = _field(_RS_RESOURCE, _attributes(_RESOURCE_ATTRIBUTES, resource))
        self._scope = _field(_SS_SCOPE, _field(_SCOPE_NAME, _text(scope_name)) + _field(_SCOPE_VERSION, _text(__version__)))
        self._pending: list[bytes] = []
        self._last = clock()
        self._sender = _Sender(settings)
        self._sender.start()
        self.trace_id = b""
        self.session_id = b""
        self._session_start = 0
        self._session_attrs: dict[str, Any] = {}
        self._common = b""  # trace id + parent + kind + run-wide attributes, shared by every attempt span

    def _new_id(self, bits: int) -> bytes:
        n = 0
        while not n:
            n = self._ids.getrandbits(bits)
        return n.to_bytes(bits // 8, "big")

    def start_session(self, start_ns: int, attributes: Mapping[str, Any]) -> str:
        self.trace_id = self._new_id(128)
        self.session_id = self._new_id(64)
        self._session_start = start_ns
        self._session_attrs = {}
        self.set_session_attributes(attributes)
        return self.trace_id.hex()

    def set_session_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Add run-wide attributes (to the session span and to every later attempt span); a key given again
        replaces its value, as on an SDK span."""
        self._session_attrs.update(redact_attributes(attributes))
        self._common = (_SPAN_TRACE_ID + b"\x10" + self.trace_id + _SPAN_PARENT + b"\x08" + self.session_id
                        + _SPAN_KIND_INTERNAL + _attributes(_SPAN_ATTRIBUTE, self._session_attrs))

    def attempt(self, name: str, start_ns: int, end_ns: int, attributes: Mapping[str, Any], error: bool) -> tuple[str, str]:
        span_id = self._new_id(64)
        span = (self._common + _SPAN_SPAN_ID + b"\x08" + span_id + _field(_SPAN_NAME, _text(name))
                + _SPAN_START + _U64(start_ns) + _SPAN_END + _U64(end_ns) + _attributes(_SPAN_ATTRIBUTE, attributes)
                + (_SPAN_STATUS_ERROR if error else _SPAN_STATUS_UNSET) + _SPAN_FLAGS)
        pending = self._pending
        pending.append(_field(_SS_SPANS, span))
        if len(pending) >= BATCH_SPANS or self._clock() - self._last >= BATCH_SECONDS:
            self._submit()
        return self.trace_id.hex(), span_id.hex()

    def _submit(self) -> None:
        self._last = self._clock()
        if not self._pending:
            return
        spans, self._pending = self._pending, []
        scope_spans = _field(_RS_SCOPE_SPANS, self._scope + b"".join(spans))
        self._sender.submit(_field(_REQUEST_RESOURCE_SPANS, self._envelope_head + scope_spans), len(spans))

    def finish(self, end_ns: int, attributes: Mapping[str, Any], flush_timeout_s: float = 30.0) -> str | None:
        """End the session span, send everything (within ``flush_timeout_s``); a warning or None."""
        if self.trace_id:
            attrs = {**self._session_attrs, **attributes}
            session = (_SPAN_TRACE_ID + b"\x10" + self.trace_id + _SPAN_SPAN_ID + b"\x08" + self.session_id
                       + _field(_SPAN_NAME, _text(SESSION_SPAN_NAME)) + _SPAN_KIND_INTERNAL
                       + _SPAN_START + _U64(self._session_start) + _SPAN_END + _U64(max(end_ns, self._session_start))
                       + _attributes(_SPAN_ATTRIBUTE, attrs) + _SPAN_STATUS_UNSET + _SPAN_FLAGS)
            self._pending.append(_field(_SS_SPANS, session))
        self._submit()
        done = self._sender.close(flush_timeout_s)
        s = self._sender
        if s.failed is not None:
            return (f"could not export spans to {self.endpoint} ({s.failed}); {s.dropped + s.overflowed} span(s) "
                    "not sent; the run is in the store, nothing was lost")
        if s.overflowed:
            return (f"the collector at {self.endpoint} was too slow: {s.overflowed} span(s) dropped while "
                    f"{MAX_PENDING_BATCHES * BATCH_SPANS} waited; the run is in the store, nothing was lost")
        if not done:
            return (f"could not export spans to {self.endpoint} within {flush_timeout_s:g} s; "
                    "the run is in the store, nothing was lost")
        return None
