"""Flaky-test quarantine (a committed list with reason, owner and expiry) and early flake detection.

Nothing is imported here: the pytest entry point reads :data:`DEFAULT_FILE` before deciding whether to
load anything else (a project without a quarantine file pays for one ``stat``).
"""

#: The quarantine list's default path (relative to the project directory); config field ``quarantine_file``.
DEFAULT_FILE = "rq-obs-quarantine.yaml"

#: The marker the plugin puts on a test under an active entry; stored with each attempt (the quarantined flag).
MARKER = "rq_obs_quarantined"


def real_outcome(report) -> str:
    """What really happened in a test phase: a quarantined failure is reported to pytest as skipped, and the
    plugin keeps the real outcome on the report (``rq_obs_outcome``)."""
    return report.__dict__.get("rq_obs_outcome") or report.outcome
