import dataclasses
from pathlib import Path

import pytest
import yaml

from rq_obs import build, stack
from rq_obs.config import Config


def make_config(**changes) -> Config:
    return dataclasses.replace(Config(), **changes)


@pytest.fixture
def write_stack(tmp_path):
    """Write this area's files for a config into a fresh directory; returns the directory."""
    counter = iter(range(1000))

    def write(config: Config | None = None, full: bool = False) -> Path:
        out = tmp_path / f"stack{next(counter)}"
        files = build.collect(config or Config()) if full else stack.artifacts(config or Config())
        build.write(out, files)
        return out

    return write


def load(path: Path):
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="session")
def wheel_stack(tmp_path_factory):
    """A stack built with `rq-obs build` plus `rq-obs stack wheel` (once per test process: pip wheel takes ~5 s).

    Returns (stack directory, the `stack wheel` CliResult, the `build` CliResult before the wheel existed).
    """
    from tests.helpers.cli import run_cli

    out = tmp_path_factory.mktemp("wheel-stack")
    built = run_cli("build", "--out", out)
    assert built.code == 0, built.err
    made = run_cli("stack", "wheel", "--out", out)
    assert made.code == 0, made.err
    return out, made, built


@pytest.fixture
def with_wheel(wheel_stack):
    """Copy the session's rq-obs wheel into a stack directory (same place `rq-obs stack wheel` writes it)."""
    import shutil

    from rq_obs.stack.wheel import wheel_path

    def copy(stack_dir: Path) -> Path:
        target = stack_dir / wheel_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(wheel_stack[0] / wheel_path(), target)
        return target

    return copy
