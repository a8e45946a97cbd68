"""The ``rq-obs`` command: a thin click group.

Subcommands live one per module in :mod:`rq_obs.commands` (module ``build_dashboards``
is command ``build-dashboards``; a trailing ``_`` is dropped, so ``import_`` is
``import``). They are found without importing them, so ``rq-obs --help`` and every
command start fast; a module is imported only when its command runs. Each module
exposes ``command`` (a click command or group); its one-line help is the first
line of the module docstring.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import click

from rq_obs import __version__
from rq_obs.errors import RqObsError

__all__ = ["main", "cli"]

_COMMANDS_DIR = Path(__file__).with_name("commands")


def _discover() -> dict[str, str]:
    """command name -> module name, from the files in rq_obs/commands/."""
    found = {}
    for p in sorted(_COMMANDS_DIR.glob("*.py")):
        if p.name.startswith("_"):
            continue
        found[p.stem.rstrip("_").replace("_", "-")] = p.stem
    return found


def _short_help(module: str) -> str:
    src = (_COMMANDS_DIR / f"{module}.py").read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(src)) or ""
    return doc.strip().splitlines()[0].rstrip(".") if doc.strip() else ""


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_discover())

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module = _discover().get(name)
        if module is None:
            return None
        mod = importlib.import_module(f"rq_obs.commands.{module}")
        return mod.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _short_help(module)) for name, module in sorted(_discover().items())]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="rq-obs")
@click.option("--project", "project_dir", type=click.Path(file_okay=False), default=None,
              help="Project directory (config is read from here). Default: current directory.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="Read settings from this file (pyproject.toml or rq-obs.yaml) instead of searching.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, project_dir: str | None, config_file: str | None, debug: bool) -> None:
    """Release-quality observability on Grafana and Prometheus."""
    ctx.ensure_object(dict)
    ctx.obj.update(project_dir=project_dir, config_file=config_file, debug=debug)


def main(argv: list[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        rv = cli.main(args=argv, prog_name="rq-obs", standalone_mode=False)
    except RqObsError as exc:
        if debug:
            raise
        click.echo(f"rq-obs: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("rq-obs: aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:  # one line, then where to read more (click's own is three or more)
        if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:  # `rq-obs`, `rq-obs config`: help
            click.echo(exc.ctx.get_help())
            sys.exit(0)
        path = exc.ctx.command_path if exc.ctx is not None else "rq-obs"
        click.echo(f"rq-obs: error: {exc.format_message()}", err=True)
        click.echo(f"See '{path} --help'.", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)
