"""Text files rq-obs generates from jinja2 templates shipped in the package.

``render("instrument/templates/x.j2", **values)``: the template is read from the package
(``rq_obs/<path>``) and rendered with StrictUndefined, so a value the template names but the caller
did not give is an error, never an empty string. ``trim=True`` drops the newline after a block tag and
the indentation before it (jinja2's trim_blocks/lstrip_blocks), as the CI templates are written. No autoescaping: these are code and config files,
and every value that reaches them is rendered through ``json.dumps`` (or a like quoting) by the caller.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["render"]


@lru_cache(maxsize=None)
def _environment(trim: bool):
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("rq_obs", ""), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, autoescape=False, trim_blocks=trim, lstrip_blocks=trim)


def render(template: str, *, trim: bool = False, **values) -> str:
    return _environment(trim).get_template(template).render(**values)
