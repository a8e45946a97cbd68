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
