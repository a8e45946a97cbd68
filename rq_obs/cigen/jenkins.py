"""Jenkins declarative pipeline (``Jenkinsfile``).

Assumes a Docker-capable agent (Docker Pipeline plugin) and the Copy Artifact plugin for the baseline.
Everything runs in a virtual environment inside the workspace, so the container user needs no root.
"""

from __future__ import annotations

from rq_obs.cigen.detect import ProjectInfo
from rq_obs.cigen.pipeline import (BASE_RELEASE_FILE, GATE_OUTPUT, RELEASE_FILE, REPORT, STORE_DIR, Options,
                                   gate_steps, header, install_step, push_command, report_lines)
from rq_obs.errors import UsageError

__all__ = ["PATH", "render"]

PATH = "Jenkinsfile"
_VENV = ".ci-venv"
_SUMMARY = "rq-obs-summary.md"


def _sh(lines, indent: int, activate: bool = True) -> str:
    body = "\n".join(lines)
    if "'''" in body:
        raise UsageError(f"cannot put ''' inside a Jenkins sh step: {body!r}")
    body = body.replace("\\", "\\\\")
    pad = " " * indent
    inner = "\n".join(pad + "    " + line for line in ((f". {_VENV}/bin/activate",) if activate else ()) + tuple(body.splitlines()))
    return f"{pad}sh '''\n{inner}\n{pad}'''"


def _stage(name: str, inner: str) -> str:
    return f"        stage('{name}') {{\n            steps {{\n{inner}\n            }}\n        }}"


def render(info: ProjectInfo, opts: Options) -> str:
    install = install_step(info, opts)
    stages = [_stage("Install", "\n".join((
        "                script { env.RQ_OBS_RELEASE = env.TAG_NAME ?: env.GIT_COMMIT }",
        f"                sh 'rm -rf {STORE_DIR} {REPORT} {GATE_OUTPUT} {_SUMMARY} && python -m venv {_VENV}'",
        _sh(install.lines, 16),
    )))]
    stages.append(_stage("Baseline", "\n".join((
        "                script {",
        "                    // the latest successful build of the base branch (same multibranch folder)",
        "                    def folder = env.JOB_NAME.contains('/') ? env.JOB_NAME.substring(0, env.JOB_NAME.lastIndexOf('/') + 1) : ''",
        f"                    copyArtifacts(projectName: folder + env.BASE_BRANCH, selector: lastSuccessful(), filter: '{STORE_DIR}/**', optional: true)",
        "                }",
        f"                sh 'if [ -f {RELEASE_FILE} ]; then cp {RELEASE_FILE} {BASE_RELEASE_FILE}; else echo \"No baseline store yet\"; fi'",
    ))))
    for s in gate_steps(info, opts):
        if s.gate:
            inner = ("                catchError(buildResult: 'FAILURE', stageResult: 'FAILURE') {\n"
                     + _sh(s.lines, 20) + "\n                }")
        else:
            inner = _sh(s.lines, 16)
        stages.append(_stage(s.name, inner))
    post = [_sh(report_lines(_SUMMARY), 12, activate=False)]
    if opts.push_url:  # before the store is archived, so the next build's baseline knows what was pushed
        # CHANGE_ID is set only in a pull request's build: its snapshot is not a release
        post.append("            withCredentials([string(credentialsId: 'rq-obs-token', variable: 'RQ_OBS_TOKEN')]) {\n"
                    + _sh((push_command(info, opts, "CHANGE_ID") + " || echo 'rq-obs push failed'",), 16)
                    + "\n            }")
    post.append(f"            archiveArtifacts artifacts: '{STORE_DIR}/**, {_SUMMARY}', allowEmptyArchive: true")
    top = "".join(f"// {line}".rstrip() + "\n" for line in (
        header(opts) + "\nNeeds the Docker Pipeline and Copy Artifact plugins. The report is archived as "
        f"{_SUMMARY}." + ("\nPush token: a Secret text credential with id rq-obs-token." if opts.push_url else "")
    ).splitlines())
    env = [f"        BASE_BRANCH = \"${{env.CHANGE_TARGET ?: '{opts.base_branch}'}}\"",
           "        PIP_CACHE_DIR = \"${env.WORKSPACE}/.cache/pip\""]
    if info.package_manager == "poetry":
        env.append("        POETRY_VIRTUALENVS_IN_PROJECT = 'true'")
    if info.package_manager == "pipenv":
        env.append("        PIPENV_VENV_IN_PROJECT = '1'")
    return (top
            + "pipeline {\n"
            + f"    agent {{ docker {{ image 'python:{info.python_version}' }} }}\n"
            + "    environment {\n" + "\n".join(env) + "\n    }\n"
            + "    stages {\n" + "\n".join(stages) + "\n    }\n"
            + "    post {\n        always {\n" + "\n".join(post) + "\n        }\n    }\n"
            + "}\n")
