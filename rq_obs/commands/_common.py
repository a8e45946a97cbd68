"""Options and helpers every command shares: config, --store, --format, output."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import click

from rq_obs.config import Config, Loaded, load

__all__ = ["loaded_config", "config_from", "store_option", "format_option", "open_store", "emit_json",
           "project_root"]


def project_root(ctx: click.Context) -> Path:
    obj = ctx.find_root().obj or {}
    return Path(obj.get("project_dir") or os.getcwd())


def stack_dir(ctx: click.Context, given: str | None) -> Path:
    """The stack directory a command works on: ``given``, else the project's one stack (init's
    ``observability/``, saying so on stderr), else the project root."""
    if given:
        return Path(given)
    from rq_obs.cigen.stackdir import default_stack_dir

    where, why = default_stack_dir(project_root(ctx))
    if why:
        click.echo(why, err=True)
    return where


def loaded_config(ctx: click.Context, problems: list[str] | None = None, **overrides: Any) -> Loaded:
    """Effective config for this invocation (file < env < the given flag values); ``problems``: see config.load."""
    obj = ctx.find_root().obj or {}
    return load(project_root(ctx), overrides=overrides, config_file=obj.get("config_file"), problems=problems)


def config_from(ctx: click.Context, **overrides: Any) -> Config:
    return loaded_config(ctx, **overrides).config


def store_option(f: Callable) -> Callable:
    return click.option("--store", "store_path", type=click.Path(dir_okay=False), default=None,
                        help="Store file. Default: store_path from config (.rq-obs/store.db).")(f)


def format_option(*choices: str) -> Callable:
    choices = choices or ("text", "json")

    def deco(f: Callable) -> Callable:
        return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True,
                            help="Output format.")(f)

    return deco


def open_store(ctx: click.Context, store_path: str | None, *, create: bool = False, readonly: bool = False):
    """Open the store named by --store or the config (relative to the project root).

    ``readonly`` (commands that only read): opened for writing when possible, else read-only (a
    read-only file system or directory), with a note on stderr saying so.
    """
    from rq_obs.store import Store

    path = store_path or config_from(ctx).store_path
    p = Path(path)
    if not p.is_absolute() and store_path is None:
        p = project_root(ctx) / p
    if readonly:
        from rq_obs.store.db import writable

        if p.exists() and not writable(p):
            click.echo(f"rq-obs: note: {p} is read-only here; opened read-only", err=True)
            return Store(p, readonly=True)
    return Store(p, create=create)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
