"""A Prometheus of our own, on 127.0.0.1 and a free port, over TSDB blocks: to evaluate PromQL over history.

:func:`link_blocks` gives a scratch storage directory the blocks of a data directory as hard
links (copies across file systems), so the Prometheus started by :func:`start` never writes
into the user's directory: Prometheus only ever replaces block files by renaming, so its
compactions and deletions touch the links, not the originals. The process is a
:class:`rq_obs.demo.processes.Service`: it stops when its :class:`~rq_obs.demo.processes.Services`
block ends, also on an error. :func:`api` calls its HTTP API.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterable

from rq_obs.demo.processes import Service, Services
from rq_obs.errors import UsageError

__all__ = ["PrometheusError", "link_blocks", "start", "api", "RETENTION", "QUERY_TIMEOUT"]

#: Retention counts back from the newest block, not from now; nothing we load may be dropped.
RETENTION = "100y"
#: One range query over months of raw samples may take minutes on a slow machine.
QUERY_TIMEOUT = "30m"


class PrometheusError(UsageError):
    """Prometheus answered a request with an error (``status``: the HTTP status, 0 when unreachable)."""

    def __init__(self, message: str, status: int, error_type: str = "", error: str = ""):
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.error = error


def link_blocks(src: Path, ulids: Iterable[str], dst: Path) -> None:
    """Make ``dst/<ulid>/...`` hard links of ``src/<ulid>/...`` (a copy where linking fails)."""
    for ulid in ulids:
        top = Path(src) / ulid
        for dirpath, _dirs, files in os.walk(top):
            out = Path(dst) / ulid / Path(dirpath).relative_to(top)
            out.mkdir(parents=True, exist_ok=True)
            for name in files:
                try:
                    os.link(Path(dirpath) / name, out / name)
                except OSError:  # another file system, or links not allowed
                    shutil.copy2(Path(dirpath) / name, out / name)


def start(services: Services, exe: str, storage: Path, workdir: Path, *, timeout: float = 300.0) -> Service:
    """Start ``exe`` (the prometheus binary) on ``storage``, scraping nothing; return it once ready.

    Its config and log live in ``workdir``; it listens on 127.0.0.1 on a free port.
    """
    workdir = Path(workdir)
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\n  evaluation_interval: 1h\n", encoding="utf-8")

    def make(port: int) -> Service:
        return Service("prometheus", f"http://127.0.0.1:{port}",
                       [exe, f"--config.file={config}", f"--storage.tsdb.path={storage}",
                        f"--web.listen-address=127.0.0.1:{port}", f"--storage.tsdb.retention.time={RETENTION}",
                        f"--query.timeout={QUERY_TIMEOUT}"],
                       workdir / "prometheus.log", ready_path="/-/ready")

    return services.start_on_free_port(make, timeout)


def api(url: str, path: str, params: dict, *, get: bool = False, timeout: float = 3600.0) -> object:
    """POST (or GET) ``params`` to ``url/api/v1/path``; the answer's ``data``, or :class:`PrometheusError`."""
    query = urllib.parse.urlencode(params)
    where = f"{url}/api/v1/{path}"
    try:
        with urllib.request.urlopen(where + (f"?{query}" if get else ""), data=None if get else query.encode(),
                                    timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise PrometheusError(f"{where}: {exc}", 0) from None
    try:
        doc = json.loads(raw)
    except ValueError:
        raise PrometheusError(f"{where} answered {status} with no JSON: {raw[:200]!r}", status) from None
    if status != 200 or doc.get("status") != "success":
        kind, error = str(doc.get("errorType", "")), str(doc.get("error", ""))
        raise PrometheusError(f"{where} answered {status}: {kind}: {error}", status, kind, error)
    return doc.get("data")
