"""Run the real `rq-obs` entry point in-process and capture what a user would see."""

from __future__ import annotations

from dataclasses import dataclass

from click.testing import CliRunner

from rq_obs.cli import main


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(*args: str, env: dict | None = None, input: str | None = None) -> CliResult:
    runner = CliRunner()
    with runner.isolation(input=input, env=env) as (out, err, _):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return CliResult(code, out.getvalue().decode(), err.getvalue().decode())
