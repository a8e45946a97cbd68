"""The terminal-summary section both plugins write (and warnings to stderr when there is no terminal)."""

from __future__ import annotations

import sys

import pytest

__all__ = ["SummarySection"]


class SummarySection:
    """Mixin: ``lines()`` -> [(text, is_warning)], written under ``title`` at the end of the session."""

    title = "rq-obs"

    def lines(self) -> list[tuple[str, bool]]:
        raise NotImplementedError

    def pytest_terminal_summary(self, terminalreporter) -> None:
        lines = self.lines()
        if lines:
            terminalreporter.section(self.title, sep="-", yellow=True)
        for text, warn in lines:
            terminalreporter.write_line(("rq-obs: warning: " if warn else "") + text, yellow=True)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if not hasattr(config, "workerinput") and config.pluginmanager.get_plugin("terminalreporter") is None:
            for text, warn in self.lines():
                if warn:
                    sys.stderr.write(f"rq-obs: warning: {text}\n")
