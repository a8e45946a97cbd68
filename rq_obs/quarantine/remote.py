"""The quarantine list served by `rq-obs serve` (``GET /api/v1/quarantine``) for an organisation.

The server answers with its list file as is (YAML); the pytest plugin reads a list given as an
``http(s)://`` URL through :func:`fetch`, then parses it like a file (errors name the URL and line).
"""

from __future__ import annotations

from rq_obs.quarantine.listfile import QuarantineFileError, QuarantineList, parse

__all__ = ["PATH", "is_url", "fetch", "reply"]

PATH = "/api/v1/quarantine"
CONTENT_TYPE = "application/yaml; charset=utf-8"


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def fetch(url: str, timeout: float = 10.0) -> QuarantineList:
    """The list at ``url``; a QuarantineFileError naming the URL when it cannot be fetched or parsed."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - an http(s) URL the user configured
            text = resp.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        raise QuarantineFileError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, UnicodeDecodeError) as exc:
        raise QuarantineFileError(f"{url}: cannot fetch ({getattr(exc, 'reason', exc)})") from None
    return parse(text, url)


def reply(path: str) -> tuple[int, bytes, str]:
    """(status, body, content type) for ``GET /api/v1/quarantine``: the file as is, 404 when there is none."""
    import json

    try:
        with open(path, encoding="utf-8") as f:
            return 200, f.read().encode("utf-8"), CONTENT_TYPE
    except FileNotFoundError:
        body = json.dumps({"error": f"no quarantine list on this server ({path})"}) + "\n"
        return 404, body.encode("utf-8"), "application/json; charset=utf-8"
