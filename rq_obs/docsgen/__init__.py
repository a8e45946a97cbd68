"""Reference pages generated from the code: commands (click), settings (the config object),
metrics (the catalogue, with the dashboards and rules that use each one) and alerts.

:func:`reference_pages` returns ``{path: markdown}`` (paths relative to the site's ``docs/``).
The MkDocs hooks (:mod:`rq_obs.docsgen.mkdocs_hooks`) add them to the site at build time, so a
command, setting or metric added to the code appears in the site without anyone editing a page;
``python -m rq_obs.docsgen DIR`` writes them without MkDocs. Output is deterministic.
"""

from __future__ import annotations

from rq_obs.config import Config

__all__ = ["reference_pages", "reference_paths", "REFERENCE_DIR"]

#: Where the generated pages live in the site.
REFERENCE_DIR = "reference"


#: The generated pages, in the order the site lists them.
_PAGES = ("index.md", "cli.md", "settings.md", "metrics.md", "alerts.md", "json-schemas.md")


def reference_paths() -> tuple[str, ...]:
    """The paths :func:`reference_pages` returns, known without generating them."""
    return tuple(f"{REFERENCE_DIR}/{name}" for name in _PAGES)


def reference_pages(config: Config | None = None) -> dict[str, str]:
    """{"reference/<page>.md": markdown} for every generated reference page."""
    from rq_obs.docsgen import cli_ref, metrics_ref, schemas_ref, settings_ref

    config = config or Config()
    pages = {
        "cli.md": cli_ref.render(),
        "settings.md": settings_ref.render(),
        "metrics.md": metrics_ref.render_metrics(config),
        "alerts.md": metrics_ref.render_alerts(config),
        "json-schemas.md": schemas_ref.render(),
    }
    index = ["# Reference\n", "Generated from the code each time the site is built; nothing here is edited by hand.\n"]
    for name, text in pages.items():
        title = text.splitlines()[0].lstrip("# ").strip()
        index.append(f"- [{title}]({name})")
    pages["index.md"] = "\n".join(index) + "\n"
    assert sorted(pages) == sorted(_PAGES), "keep _PAGES in step with the pages generated here"
    return {f"{REFERENCE_DIR}/{name}": pages[name] for name in _PAGES}
