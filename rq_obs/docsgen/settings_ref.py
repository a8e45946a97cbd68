"""The settings reference: every field of the config object with its default, type, environment variable and reason."""

from __future__ import annotations

import dataclasses
import json

from rq_obs.config import ENV_ALIASES, Config
from rq_obs.configfiles import ENV_PREFIX
from rq_obs.docsgen import _md

__all__ = ["render"]


def _type(default) -> str:
    for t, n in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "list"), (dict, "table")):
        if isinstance(default, t):
            return n
    return "value"


def render() -> str:
    defaults = Config()
    out = ["# Settings\n",
           "Every setting of the one config object (`rq_obs/config.py`), generated from it. Values are read, "
           "each overriding the one before: the default below, `rq-obs.yaml` (or `rq-obs.yml`) in the project "
           "directory, else `[tool.rq-obs]` in `pyproject.toml`; then the environment variable "
           "(JSON for lists and tables); then a command's flag. Keys may be written with `-` or `_`. "
           "`rq-obs config show` prints the values in force and where each came from; `rq-obs config check` "
           "lists every problem in them at once.\n"]
    rows = []
    for f in dataclasses.fields(Config):
        d = getattr(defaults, f.name)
        shown = d if isinstance(d, str) else json.dumps(d, sort_keys=True)
        env = ENV_PREFIX + f.name.upper()
        envs = _md.code(env) + (f" or {_md.code(ENV_ALIASES[f.name])}" if f.name in ENV_ALIASES else "")
        why = _md.cell(f.metadata["why"])
        if f.metadata["secret"]:
            why += " **Secret**: never printed or written to a generated file."
        rows.append([_md.code(f.name), _type(d), _md.code(shown) if shown != "" else "(empty)", envs, why])
    out.append(_md.table(["setting", "type", "default", "environment", "why"], rows))
    return "\n".join(out)
