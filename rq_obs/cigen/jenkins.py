"""Jenkins declarative pipeline (``Jenkinsfile``).

Assumes a Docker-capable agent (Docker Pipeline plugin) and the Copy Artifact plugin for the baseline.
Everything runs in a virtual environment inside the workspace, so the container user needs no root.
"""

from __future__ import annotations

from rq_obs.cigen.detect import ProjectInfo
from rq_obs.cigen.pipeline import (BASE_RELEASE_FILE, CI_VENV, GATE_OUTPUT, RELEASE_FILE, REPORT, STORE_DIR, SUMMARY, Options,
                                   gate_steps, header, install_step, push_command, report_lines)
from rq_obs.errors import UsageError

__all__ = ["PATH", "render"]

PATH = "Jenkinsfile"


def render(info: ProjectInfo, opts: Options) -> str:
    from rq_obs.textrender import render as render_template

    lines = [*install_step(info, opts).lines]
    steps = gate_steps(info, opts)
    push = None
    if opts.push_url:  # before the store is archived, so the next build's baseline knows what was pushed
        # CHANGE_ID is set only in a pull request's build: its snapshot is not a release
        push = push_command(info, opts, "CHANGE_ID") + " || echo 'rq-obs push failed'"
    for line in (*lines, *(x for s in steps for x in s.lines), *report_lines(SUMMARY), push or ""):
        if "\'\'\'" in line:
            raise UsageError(f"cannot put \'\'\' inside a Jenkins sh step: {line!r}")
    header_text = (header(opts) + "\nNeeds the Docker Pipeline and Copy Artifact plugins. The report is archived as "
                   f"{SUMMARY}." + ("\nPush token: a Secret text credential with id rq-obs-token." if opts.push_url else ""))
    env = [f"BASE_BRANCH = \"${{env.CHANGE_TARGET ?: '{opts.base_branch}'}}\"",
           "PIP_CACHE_DIR = \"${env.WORKSPACE}/.cache/pip\""]
    if info.package_manager == "poetry":
        env.append("POETRY_VIRTUALENVS_IN_PROJECT = 'true'")
    if info.package_manager == "pipenv":
        env.append("PIPENV_VENV_IN_PROJECT = '1'")
    return render_template(
        "cigen/templates/Jenkinsfile.j2", trim=True, header=header_text.splitlines(), python=info.python_version,
        env=env, venv=CI_VENV,
        clean=(STORE_DIR, REPORT, GATE_OUTPUT, SUMMARY), install=lines, store_dir=STORE_DIR,
        release_file=RELEASE_FILE, base_release_file=BASE_RELEASE_FILE,
        stages=[{"name": s.name, "lines": s.lines, "gate": s.gate} for s in steps],
        report=report_lines(SUMMARY), push=push, archive=(f"{STORE_DIR}/**", SUMMARY))
