"""The failure message of a test attempt, as the store keeps it (attribute ``failure_message``).

pytest's crash line (``report.longrepr.reprcrash.message``: ``AssertionError: assert 2 == 3``, the exception
and its message) or, when a report has none (a string ``longrepr``), its last non-empty line; for a quarantined
failure the message the quarantine plugin kept before it turned the report into a skip. Cut to the attribute
limit (:data:`rq_obs.telemetry.api.MAX_VALUE_LENGTH`) and redacted like every attribute (:mod:`rq_obs.redact`):
a credential in an assertion message is stored as ``<redacted: KIND>``.
"""

from __future__ import annotations

from typing import Any

from rq_obs.telemetry.api import MAX_VALUE_LENGTH

__all__ = ["ATTRIBUTE", "crash_line", "failure_message"]

#: The attempt attribute holding the message (read back by ``rq-obs serve``'s API: last failure of a test).
ATTRIBUTE = "failure_message"


def crash_line(report: Any) -> str:
    """pytest's crash message of a failed phase report, else the last non-empty line of its text ('' if none);
    not redacted (the quarantine plugin keeps it on the report; :func:`failure_message` stores it)."""
    longrepr = getattr(report, "longrepr", None)
    text = getattr(getattr(longrepr, "reprcrash", None), "message", None) or ""
    if not text:
        full = getattr(report, "longreprtext", "") or (str(longrepr) if longrepr else "")
        text = next((line for line in reversed(full.strip().splitlines()) if line.strip()), "")
    return text.strip()


def failure_message(report: Any) -> str:
    """The message of a failed phase report ('' when there is none), cut and redacted."""
    from rq_obs.redact import redact

    kept = report.__dict__.get("rq_obs_quarantine") if hasattr(report, "__dict__") else None
    text = str(kept.get("message") or "").strip() if kept else crash_line(report)
    return redact(text[:MAX_VALUE_LENGTH]) if text else ""
