"""Text templates of the generated CI files (``rq_obs/cigen/templates/*.j2``), rendered with jinja2.

``StrictUndefined``: a template that names a value the renderer did not pass fails loudly instead of
writing an empty string into a pipeline. No autoescaping (the output is shell, Groovy and YAML, not HTML);
values that reach a shell are quoted by the renderers (``shlex.quote``) before they get here.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["render"]


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("rq_obs.cigen", "templates"),
                              undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True)


def render(name: str, **values) -> str:
    """The template ``name`` rendered with ``values``."""
    return _environment().get_template(name).render(**values)
