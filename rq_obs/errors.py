"""One exception base; the CLI turns it into one clean line on stderr and an exit code.

Exit codes (every command): 0 ok, 1 a check or gate failed, 2 usage or config error.
"""

from __future__ import annotations

__all__ = ["RqObsError", "UsageError", "ConfigError", "CheckFailed", "StoreError", "InputError"]


class RqObsError(Exception):
    """Base of every error rq-obs reports to a user."""

    exit_code = 2


class UsageError(RqObsError):
    """The command was called wrongly (bad flag value, missing file)."""

    exit_code = 2


class ConfigError(RqObsError):
    """The configuration is invalid: names the file, the key and what was expected."""

    exit_code = 2


class InputError(RqObsError):
    """An input file or request is malformed: names the file/field and what was expected."""

    exit_code = 2


class StoreError(RqObsError):
    """The store cannot be opened or is of an unknown (newer) schema."""

    exit_code = 2


class CheckFailed(RqObsError):
    """A check, gate or comparison failed (exit 1)."""

    exit_code = 1
