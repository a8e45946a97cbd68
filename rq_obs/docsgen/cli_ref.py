"""The CLI reference: every command and subcommand with its usage, help, arguments and options, from click."""

from __future__ import annotations

import inspect
from typing import Iterator

import click

from rq_obs.docsgen import _md

__all__ = ["render", "walk", "option_names"]


def walk(group: click.Command | None = None, parent: click.Context | None = None,
         name: str = "rq-obs") -> Iterator[tuple[click.Context, click.Command]]:
    """(context, command) for the root and every command below it, depth first, sorted by name."""
    if group is None:
        from rq_obs.cli import cli as group
    ctx = click.Context(group, info_name=name, parent=parent)
    yield ctx, group
    if isinstance(group, click.Group):
        for name in group.list_commands(ctx):
            sub = group.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                sub_ctx = click.Context(sub, info_name=name, parent=ctx)
                if isinstance(sub, click.Group):
                    yield from walk(sub, ctx, name)
                else:
                    yield sub_ctx, sub


def option_names(cmd: click.Command) -> list[str]:
    """Every visible option's flags (``--store``, ``--no-rules`` ...), and every argument's name."""
    out = []
    for p in cmd.params:
        if isinstance(p, click.Option) and not p.hidden:
            out += p.opts + p.secondary_opts
        elif isinstance(p, click.Argument):
            out.append(p.human_readable_name)
    return out


def _default(p: click.Parameter, ctx: click.Context) -> str:
    if isinstance(p, click.Option) and p.is_flag and not p.secondary_opts:
        return ""
    d = p.default
    if callable(d) or d is None or repr(d) == "Sentinel.UNSET" or d == () or (isinstance(p, click.Option) and p.show_default is False and d is False):
        return ""
    if isinstance(p, click.Option) and p.is_flag and p.secondary_opts:
        return _md.code(p.opts[0] if d else p.secondary_opts[0])
    if isinstance(d, (list, tuple)):
        d = " ".join(map(str, d))
    return _md.code(d)


def _type(p: click.Parameter, ctx: click.Context) -> str:
    if isinstance(p, click.Option) and p.is_flag:
        return "flag"
    t = p.type
    if isinstance(t, click.Choice):
        return " \\| ".join(_md.code(c) for c in t.choices)
    name = getattr(t, "name", "text")
    if p.multiple or (isinstance(p, click.Argument) and p.nargs == -1):
        name += ", repeatable"
    return _md.cell(name)


def _usage(ctx: click.Context, cmd: click.Command) -> str:
    pieces = " ".join(cmd.collect_usage_pieces(ctx))
    return f"{ctx.command_path} {pieces}".strip()


def _help(cmd: click.Command) -> str:
    raw = inspect.cleandoc(cmd.help or "")
    paras = [" ".join(p.replace("\b\n", "").split()) for p in raw.split("\n\n") if p.strip()]
    return "\n\n".join(_md.text(p) for p in paras)


def render() -> str:
    out = ["# Commands and options\n",
           "Every `rq-obs` command and subcommand, generated from the click definitions. Every command also "
           "takes `-h`/`--help`. Exit codes: 0 ok, 1 a check or gate failed, 2 a usage or config error "
           "(one line on stderr, then a line naming `--help`; `--debug` shows a traceback).\n"]
    for ctx, cmd in walk():
        depth = ctx.command_path.count(" ")
        if isinstance(cmd, click.Group) and depth > 0 and not cmd.params:
            out.append(f"{'#' * min(depth + 1, 3)} {ctx.command_path}\n")
            out.append(_help(cmd) + "\n")
            continue
        out.append(f"{'#' * min(max(depth, 1) + 1, 4)} {ctx.command_path}\n")
        out.append(f"```\n{_usage(ctx, cmd)}\n```\n")
        if cmd.help:
            out.append(_help(cmd) + "\n")
        rows = []
        for p in cmd.params:
            if isinstance(p, click.Option) and p.hidden:
                continue
            if isinstance(p, click.Argument):
                names = _md.code(p.human_readable_name)
                req = "required" if p.required else "optional"
                rows.append([names, _type(p, ctx), "", f"argument, {req}"])
                continue
            names = ", ".join(_md.code(o) for o in p.opts + p.secondary_opts)
            helptext = _md.cell(p.help or "")
            if p.required:
                helptext = "**required.** " + helptext
            if p.envvar:
                helptext += f" (env {_md.code(p.envvar)})"
            rows.append([names, _type(p, ctx), _default(p, ctx), helptext])
        if rows:
            out.append(_md.table(["option", "type", "default", "what it does"], rows))
    return "\n".join(out)
