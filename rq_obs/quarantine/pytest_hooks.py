"""pytest entry point (``rq_obs_quarantine``): the quarantine list and early flake detection.

A second plugin beside :mod:`rq_obs.pytest_plugin` (which records attempts): it only changes how
pytest *reports* a quarantined failure, and how often it runs a new test; recording stays the
main plugin's. Inert unless the quarantine file exists (``quarantine_file`` in the config,
``--rq-obs-quarantine PATH``) or ``--rq-obs-new-test-retries N`` is given.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from rq_obs.quarantine import DEFAULT_FILE, MARKER


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rq-obs", "rq-obs test-run telemetry")
    group.addoption("--rq-obs-quarantine", dest="rq_obs_quarantine", metavar="PATH", default=None,
                    help="Quarantine list: a file, or `rq-obs serve`'s http(s)://HOST/api/v1/quarantine (default: "
                         "quarantine_file from the rq-obs config, rq-obs-quarantine.yaml).")
    group.addoption("--no-rq-obs-quarantine", dest="rq_obs_quarantine", action="store_const", const="",
                    help="Ignore the quarantine list: every failure fails the run.")
    group.addoption("--rq-obs-new-test-retries", dest="rq_obs_new_test_retries", metavar="N", type=int, default=0,
                    help="Early flake detection: run tests the store has never seen for this suite (or in files "
                         "changed by this commit) N extra times; a test that flips is reported flaky. Off (0) by default.")


def _settings(config: pytest.Config):
    """The rq-obs config (defaults when no setting can exist); a warning string when it is invalid."""
    from rq_obs.config import Config, load
    from rq_obs.configfiles import may_enable
    from rq_obs.errors import RqObsError

    if not may_enable(config.rootpath, os.environ):
        return Config(), None
    try:
        return load(config.rootpath).config, None
    except RqObsError as exc:
        return Config(), f"rq-obs config: {exc}; using defaults for the quarantine"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: set by rq-obs on a test under an active quarantine entry.")
    option = config.getoption("rq_obs_quarantine", None)
    retries = config.getoption("rq_obs_new_test_retries", 0) or 0
    if option == "" and not retries:
        return
    if option is None and not retries:  # the common case: no config import unless a setting or the file exists
        from rq_obs.configfiles import may_enable

        if not may_enable(config.rootpath, os.environ) and not (config.rootpath / DEFAULT_FILE).is_file():
            return
    if retries < 0:
        raise pytest.UsageError(f"--rq-obs-new-test-retries: {retries}; expected 0 (off) or a positive number")
    cfg, problem = _settings(config)
    warnings = [problem] if problem else []
    if option != "":
        source = option or cfg.quarantine_file
        path = Path(source)
        if not path.is_absolute():
            path = (Path(config.invocation_params.dir) if option else config.rootpath) / path
        if source.startswith(("http://", "https://")) or path.is_file():
            from rq_obs.quarantine.plugin import QuarantinePlugin

            where = source if source.startswith(("http://", "https://")) else path
            config.pluginmanager.register(QuarantinePlugin.from_source(config, where, time.time(), warnings),
                                          "rq_obs_quarantine_plugin")
            warnings = []
        elif option:
            warnings.append(f"quarantine file {path} not found: no quarantine applied")
    if retries:
        from rq_obs.quarantine.early import EarlyFlakePlugin

        config.pluginmanager.register(EarlyFlakePlugin(config, cfg, retries, warnings), "rq_obs_early_flake")
    elif warnings:
        for msg in warnings:
            sys.stderr.write(f"rq-obs: warning: {msg}\n")
