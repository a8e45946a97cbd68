"""The failure message of a test attempt, as the store keeps it (attribute ``failure_message``).

pytest's crash line (``report.longrepr.reprcrash.message``: ``AssertionError: assert 2 == 3``, the exception
and its message) or, when a report has none (a string ``longrepr``), its last non-empty line; for a quarantined
failure the message the quarantine plugin kept before it turned the report into a skip. Cut to the attribute
limit (:data:`rq_obs.telemetry.api.MAX_VALUE_LENGTH`) and redacted like every attribute (:mod:`rq_obs.redact`):
a credential in an assertion message is stored as ``<redacted: KIND>``.
"""

from __future__ import annotations

from typing import Any

from rq_obs.redact import redact

__all__ = ["ATTRIBUTE", "failure_message"]

#: The attempt attribute holding the message (read back by ``rq-obs serve``'s API: last failure of a test).
ATTRIBUTE = "failure_message"
_MAX = 1024


def failure_message(report: Any) -> str:
    """The message of a failed phase report ('' when there is none)."""
    kept = report.__dict__.get("rq_obs_quarantine") if hasattr(report, "__dict__") else None
    if kept:
        text = str(kept.get("message") or "")
    else:
        longrepr = getattr(report, "longrepr", None)
        text = getattr(getattr(longrepr, "reprcrash", None), "message", None) or ""
        if not text:
            full = getattr(report, "longreprtext", "") or (str(longrepr) if longrepr else "")
            text = next((line for line in reversed(full.strip().splitlines()) if line.strip()), "")
    text = text.strip()
    return redact(text[:_MAX]) if text else ""
