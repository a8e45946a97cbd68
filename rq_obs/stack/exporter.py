"""The rq-obs exporter as a container: Dockerfile, its ignore file and the exporter's config file.

The image is built from the source tree that holds docker-compose.yml (build context ``.``,
this repository's layout: the generated stack is committed at the project root). It runs
``rq-obs serve`` on 0.0.0.0:9464 with its store on the ``/data`` volume. The ingest token
is never in a file: the container reads ``RQ_OBS_TOKEN`` from its environment.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from rq_obs.config import Config

__all__ = ["DOCKERFILE", "DOCKERIGNORE", "CONFIG_PATH", "CONFIG_IN_CONTAINER", "PORT", "STORE",
           "HEALTHCHECK", "config_document", "render_dockerfile", "render_dockerignore", "render_config"]

DOCKERFILE = "exporters/Dockerfile"
DOCKERIGNORE = "exporters/Dockerfile.dockerignore"  # BuildKit's per-Dockerfile ignore file
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


def render_dockerfile(config: Config) -> str:
    from rq_obs.stack.images import EXPORTER_BASE
    from rq_obs.stack.render import render_text

    probe = json.dumps(HEALTHCHECK)
    body = f"""\
FROM {EXPORTER_BASE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# rq-obs from the build context (the project root holding pyproject.toml).
WORKDIR /src
COPY pyproject.toml README.md ./
COPY rq_obs ./rq_obs
RUN pip install . \\
 && rm -rf /src \\
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin rqobs \\
 && mkdir -p /data \\
 && chown rqobs /data
COPY exporters/rq-obs.yaml {CONFIG_IN_CONTAINER}

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
        "Build context: the directory of docker-compose.yml, which must hold rq-obs' pyproject.toml.",
        "The ingest token comes from the RQ_OBS_TOKEN environment variable, never from a file.",
    ))


def render_dockerignore(config: Config) -> str:
    from rq_obs.stack.render import render_text

    body = "**\n!pyproject.toml\n!README.md\n!rq_obs/**\n!exporters/rq-obs.yaml\n**/__pycache__\n"
    return render_text(body, comments=("Only what exporters/Dockerfile copies is sent to the builder.",))
