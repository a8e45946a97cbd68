"""``GET /api/v1/impact/diff/<tracked path>``: a tracked file's diff at each change beside the pass-rate change.

The same answer as ``rq-obs impact <path> --diff`` (:mod:`rq_obs.analytics.filediff`), from the
store only (serve may run away from the project's checkout; pushed runs carry the contents): JSON as ``--format json`` prints it,
or the text the command prints when the client asks for ``text/plain`` or ``text/html`` and not for
JSON (a browser following the skills dashboard's link). The path is URL-encoded after the prefix
(``/api/v1/impact/diff/skills/router/SKILL.md``). 404 names an untracked file or one with a single
version; the window is the config's ``flaky_window``. Read-only.
"""

from __future__ import annotations

import urllib.parse

from rq_obs.analytics import filediff
from rq_obs.config import Config
from rq_obs.errors import UsageError
from rq_obs.server.http import Headers, Response, json_response
from rq_obs.store.db import Store

__all__ = ["PREFIX", "matches", "reply"]

PREFIX = "/api/v1/impact/diff/"


def matches(path: str) -> bool:
    return path.startswith(PREFIX) or path == PREFIX.rstrip("/")


def _wants_text(headers: Headers) -> bool:
    accept = (headers.get("Accept") or "").lower()
    return "application/json" not in accept and ("text/plain" in accept or "text/html" in accept)


def reply(config: Config, store: Store, path: str, headers: Headers) -> Response:
    tracked = urllib.parse.unquote(path[len(PREFIX):]) if path.startswith(PREFIX) else ""
    if not tracked:
        return json_response(400, {"error": f"name the tracked file after {PREFIX}, e.g. {PREFIX}SKILL.md"})
    try:
        diffs = filediff.diff_report(store, config, tracked)
    except UsageError as exc:
        return json_response(404, {"error": str(exc)})
    if _wants_text(headers):
        return Response(200, filediff.render_text(diffs).encode("utf-8"), "text/plain; charset=utf-8")
    return json_response(200, filediff.to_json(diffs, config, tracked))
