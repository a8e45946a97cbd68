"""Deterministic YAML text for every generated file (stack, rules, CI pipelines).

Block style, multi-line strings as literal blocks, never anchors/aliases, unicode kept.
``sort_keys`` is the caller's choice: sorted where key order carries no meaning (so two
builds are byte-identical whatever order the builders used), as given where it reads
better (rules, pipelines). Lists always keep their order.
"""

from __future__ import annotations

from typing import Any, Iterable

__all__ = ["dump", "comment_block"]


def _dumper():
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:  # noqa: D401 - PyYAML hook
            return True

    def represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Dumper.add_representer(str, represent_str)
    return Dumper


def dump(data: Any, *, sort_keys: bool, width: int = 4096) -> str:
    import yaml

    return yaml.dump(data, Dumper=_dumper(), sort_keys=sort_keys, default_flow_style=False, allow_unicode=True,
                     width=width, indent=2)


def comment_block(lines: Iterable[str]) -> str:
    """``lines`` as ``# `` comment lines (an empty line becomes ``#``)."""
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)
