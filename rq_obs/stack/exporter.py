"""The rq-obs exporter as a container: Dockerfile, its ignore files and the exporter's config file.

The image is built from exporters/ (build context ``./exporters`` in docker-compose.yml). rq-obs
is not on PyPI, so the Dockerfile installs the wheel ``rq-obs stack wheel`` writes into
``exporters/dist/`` (:mod:`rq_obs.stack.wheel`), pinned by file name to this rq-obs' version;
its dependencies come from the builder's package index. That works the same in any project,
this repository included. The image runs ``rq-obs serve`` on 0.0.0.0:9464 with its store on the
``/data`` volume. The ingest token is never in a file: the container reads ``RQ_OBS_TOKEN`` from
its environment.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from rq_obs.config import Config

__all__ = ["CONTEXT", "DOCKERFILE", "DOCKERIGNORE", "GITIGNORE", "CONFIG_PATH", "CONFIG_IN_CONTAINER", "PORT",
           "STORE", "HEALTHCHECK", "config_document", "render_dockerfile", "render_dockerignore",
           "render_gitignore", "render_config"]

CONTEXT = "exporters"  # the image's build context, relative to docker-compose.yml
DOCKERFILE = f"{CONTEXT}/Dockerfile"
DOCKERIGNORE = f"{CONTEXT}/Dockerfile.dockerignore"  # BuildKit's per-Dockerfile ignore file
GITIGNORE = f"{CONTEXT}/.gitignore"  # keeps the wheel (not a generated file) out of the project's commits
CONFIG_PATH = "exporters/rq-obs.yaml"
CONFIG_IN_CONTAINER = "/etc/rq-obs/rq-obs.yaml"
PORT = 9464
STORE = "/data/store.db"

#: Health probe: python:3.11-slim has neither curl nor wget, so Python fetches /metrics.
HEALTHCHECK = ["python", "-c",
               f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{PORT}/metrics', timeout=4)"]

#: Settings the container overrides whatever the project says.
_CONTAINER = {"exporter_host": "0.0.0.0", "exporter_port": PORT, "store_path": STORE}


def config_document(config: Config) -> dict[str, Any]:
    """Every non-secret setting of ``config`` (so the container judges runs like the project does)."""
    doc: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        if f.metadata.get("secret"):
            continue
        doc[f.name] = _CONTAINER.get(f.name, getattr(config, f.name))
    return doc


def render_config(config: Config) -> str:
    from rq_obs.stack.render import render_yaml

    return render_yaml(config_document(config), comments=(
        f"rq-obs settings inside the exporter container (mounted at {CONFIG_IN_CONTAINER}).",
        "Secrets are not here: the ingest token comes from the RQ_OBS_TOKEN environment variable.",
    ))


def _in_context(rel: str) -> str:
    """A stack path (``exporters/...``) as the Dockerfile names it, relative to the build context."""
    prefix = CONTEXT + "/"
    if not rel.startswith(prefix):  # pragma: no cover - a programming error
        raise AssertionError(f"{rel} is outside the build context {CONTEXT}/")
    return rel[len(prefix):]


def render_dockerfile(config: Config) -> str:
    from rq_obs import __version__
    from rq_obs.stack.images import EXPORTER_BASE
    from rq_obs.stack.render import render_text
    from rq_obs.stack.wheel import wheel_filename, wheel_path

    probe = json.dumps(HEALTHCHECK)
    whl = wheel_filename()
    body = f"""\
FROM {EXPORTER_BASE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# rq-obs {__version__} from its wheel (installed by file name, so never from an index); its
# dependencies from the package index. `rq-obs stack wheel` writes the wheel.
COPY {_in_context(wheel_path())} /tmp/{whl}
RUN pip install /tmp/{whl} \\
 && rm /tmp/{whl} \\
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin rqobs \\
 && mkdir -p /data \\
 && chown rqobs /data
COPY {_in_context(CONFIG_PATH)} {CONFIG_IN_CONTAINER}

WORKDIR /data
USER 10001
EXPOSE {PORT}
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \\
  CMD {probe}
ENTRYPOINT ["rq-obs", "--config", "{CONFIG_IN_CONTAINER}"]
CMD ["serve", "--host", "0.0.0.0", "--port", "{PORT}", "--store", "{STORE}"]
"""
    return render_text(body, comments=(
        "The rq-obs exporter: `rq-obs serve` on :9464, store on the /data volume.",
        f"Build context: {CONTEXT}/, which must hold {_in_context(wheel_path())}:",
        "`rq-obs stack wheel --out <the directory of docker-compose.yml>` writes it.",
        "The ingest token comes from the RQ_OBS_TOKEN environment variable, never from a file.",
    ))


def render_dockerignore(config: Config) -> str:
    from rq_obs.stack.render import render_text
    from rq_obs.stack.wheel import wheel_path

    body = f"**\n!{_in_context(wheel_path())}\n!{_in_context(CONFIG_PATH)}\n"
    return render_text(body, comments=(f"Only what {DOCKERFILE} copies is sent to the builder "
                                       "(older wheels in dist/ are not).",))


def render_gitignore(config: Config) -> str:
    from rq_obs.stack.render import render_text
    from rq_obs.stack.wheel import WHEEL_DIR

    return render_text(f"/{_in_context(WHEEL_DIR)}/\n", comments=(
        f"{WHEEL_DIR}/ holds the wheel `rq-obs stack wheel` writes for the image build: made, not committed.",))
