"""The JSON output reference: one JSON Schema per command's ``--format json`` output (rq_obs/schemas/)."""

from __future__ import annotations

import json

from rq_obs.docsgen import _md

__all__ = ["render"]


def render() -> str:
    from rq_obs.schemas import SCHEMAS, load

    out = ["# JSON output schemas\n",
           "Commands with `--format json` print one JSON document on stdout (messages go to stderr). Its JSON "
           "Schema (draft 2020-12) ships in the package as `rq_obs/schemas/<command>.schema.json`; the tests "
           "validate each command's real output against it.\n"]
    for command in sorted(SCHEMAS):
        schema = load(command)
        out.append(f"## {schema.get('title', command)}\n")
        out.append(_md.text(schema.get("description", "")) + "\n")
        out.append("```json\n" + json.dumps(schema, indent=2, sort_keys=True) + "\n```\n")
    return "\n".join(out)
