"""MkDocs hooks (``hooks:`` in mkdocs.yml) that put the generated pages into the site.

- ``on_config``: every page under docs/ (and every generated one) that the nav does not list is appended
  under "More topics", so a page another change adds to docs/ is in the site without editing mkdocs.yml.
- ``on_files``: adds the home page (README.md, its ``docs/`` links made relative to the site) and the
  reference pages generated from the code (:func:`rq_obs.docsgen.reference_pages`).
- ``on_page_markdown``: a link that leaves docs/ for a file of the repository (``../rq_obs/...``) points at
  that file in the repository (``repo_url``); one to a file that does not exist is a warning, which
  ``mkdocs build --strict`` turns into a failure, like any other broken link.
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File

from rq_obs.docsgen import reference_pages, reference_paths

log = logging.getLogger("mkdocs.hooks.rq_obs")

_LINK = re.compile(r"(\]\()([^)\s#]+)(#[^)\s]*)?(\))")
_MORE = "More topics"


def _nav_paths(nav) -> set[str]:
    found: set[str] = set()
    if isinstance(nav, str):
        found.add(nav)
    elif isinstance(nav, list):
        for item in nav:
            found |= _nav_paths(item)
    elif isinstance(nav, dict):
        for v in nav.values():
            found |= _nav_paths(v)
    return found


def on_config(config, **kwargs):
    docs = Path(config["docs_dir"])
    listed = _nav_paths(config["nav"] or [])
    extra = [p.relative_to(docs).as_posix() for p in sorted(docs.rglob("*.md"))] + list(reference_paths())
    extra = [p for p in extra if p not in listed]
    if extra and config["nav"] is not None:
        config["nav"].append({_MORE: extra})
    return config


def _repo_root(config) -> Path:
    return Path(config["config_file_path"]).parent


def _blob(config, rel: str) -> str:
    return f"{config['repo_url'].rstrip('/')}/blob/main/{rel}"


def _rewrite(markdown: str, src_dir: str, config, where: str) -> str:
    """Links leaving docs/ (src_dir: the page's directory relative to the repository) point into the repository."""
    root = _repo_root(config)
    docs_rel = Path(config["docs_dir"]).resolve().relative_to(root.resolve()).as_posix()
    in_docs = src_dir == docs_rel or src_dir.startswith(docs_rel + "/")

    def repl(m: re.Match) -> str:
        target = m.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("/"):
            return m.group(0)
        rel = posixpath.normpath(posixpath.join(src_dir, target))
        if rel == docs_rel or rel.startswith(docs_rel + "/"):
            if in_docs:  # a page's own link inside the site: MkDocs checks it
                return m.group(0)
            # README.md becomes the site's index.md at the top of docs/: its docs/ links lose the prefix
            return f"{m.group(1)}{posixpath.relpath(rel, docs_rel)}{m.group(3) or ''}{m.group(4)}"
        if not (root / rel).exists():
            log.warning("%s links to %s, which is not in the repository", where, target)
            return m.group(0)
        return f"{m.group(1)}{_blob(config, rel)}{m.group(3) or ''}{m.group(4)}"

    return _LINK.sub(repl, markdown)


def on_files(files, config, **kwargs):
    root = _repo_root(config)
    readme = (root / "README.md").read_text(encoding="utf-8")
    files.append(File.generated(config, "index.md", content=_rewrite(readme, ".", config, "README.md")))
    for rel, text in reference_pages().items():
        files.append(File.generated(config, rel, content=text))
    return files


_CODE_SPAN = re.compile(r"`[^`\n]*`")


def _table_code_pipes(markdown: str) -> str:
    """GitHub needs ``\\|`` for a pipe inside a code span in a table row; Python-Markdown shows the backslash."""
    def row(line: str) -> str:
        if not line.lstrip().startswith("|"):
            return line
        return _CODE_SPAN.sub(lambda m: m.group(0).replace("\\|", "|"), line)

    return "\n".join(row(line) for line in markdown.split("\n"))


def on_page_markdown(markdown, page, config, files, **kwargs):
    if page.file.generated_by or page.file.src_uri == "index.md":
        return markdown
    markdown = _table_code_pipes(markdown)
    docs_rel = Path(config["docs_dir"]).resolve().relative_to(_repo_root(config).resolve()).as_posix()
    src_dir = posixpath.dirname(posixpath.join(docs_rel, page.file.src_uri))
    return _rewrite(markdown, src_dir, config, page.file.src_uri)
