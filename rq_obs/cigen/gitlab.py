"""GitLab CI pipeline (``.gitlab-ci.yml``): one job; the report is published from ``after_script``."""

from __future__ import annotations

from rq_obs.cigen.detect import ProjectInfo
from rq_obs.cigen.pipeline import (BASE_RELEASE_FILE, BASELINE_ZIP, NOTE, RELEASE_FILE, SUMMARY, STORE_DIR, Options, gate_steps, header,
                                   install_step, push_command, report_lines)
from rq_obs.yamltext import comment_block, dump

__all__ = ["PATH", "JOB", "render"]

PATH = ".gitlab-ci.yml"
JOB = "rq-obs-quality"
_FAILED = f"{STORE_DIR}/ci-failed"
_CACHE_VARS = {"pip": ("PIP_CACHE_DIR", ".cache/pip"), "uv": ("UV_CACHE_DIR", ".cache/uv"),
               "poetry": ("POETRY_CACHE_DIR", ".cache/pypoetry"), "pipenv": ("PIPENV_CACHE_DIR", ".cache/pipenv")}


def render(info: ProjectInfo, opts: Options) -> str:
    var, cache_dir = _CACHE_VARS[info.package_manager]
    script = [
        'export RQ_OBS_RELEASE="${CI_COMMIT_TAG:-$CI_COMMIT_SHA}"',
        'export BASE_BRANCH="${CI_MERGE_REQUEST_TARGET_BRANCH_NAME:-${CI_COMMIT_BRANCH:-$CI_DEFAULT_BRANCH}}"',
        *install_step(info, opts).lines,
        "\n".join((
            f"mkdir -p {STORE_DIR}",
            f'if curl --fail --silent --location --header "JOB-TOKEN: $CI_JOB_TOKEN" --output {BASELINE_ZIP} '
            '"$CI_API_V4_URL/projects/$CI_PROJECT_ID/jobs/artifacts/$BASE_BRANCH/download?job=$CI_JOB_NAME"; then',
            # the artifact also holds the earlier run's summary: drop it, this run writes its own
            f"  python -m zipfile -e {BASELINE_ZIP} . && rm -f {SUMMARY} && cp {RELEASE_FILE} {BASE_RELEASE_FILE}",
            "else",
            '  echo "No baseline store from a successful pipeline on $BASE_BRANCH yet"',
            "fi",
        )),
    ]
    gates = gate_steps(info, opts)
    for s in gates:
        body = "\n".join(s.lines)
        # a gate step may fail without stopping the job: record it, enforce at the end
        script.append(f"( set -e\n{body}\n) || echo {s.key} >> {_FAILED}" if s.gate else body)
    script.append(f'if [ -s {_FAILED} ]; then echo "rq-obs: failed: $(tr \'\\n\' \' \' < {_FAILED})"; exit 1; fi')
    after = [
        *report_lines(SUMMARY),
        "\n".join((
            'if [ -n "$CI_MERGE_REQUEST_IID" ] && [ -n "$RQ_OBS_GITLAB_TOKEN" ]; then',
            f"  python -c 'import json; print(json.dumps({{\"body\": open(\"{SUMMARY}\").read()}}))' > {NOTE}",
            '  curl --fail --silent --request POST --header "PRIVATE-TOKEN: $RQ_OBS_GITLAB_TOKEN" '
            f'--header "Content-Type: application/json" --data @{NOTE} '
            '"$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes" > /dev/null '
            '|| echo "Could not post the merge request note"',
            "fi",
        )),
    ]
    if opts.push_url:
        # CI_MERGE_REQUEST_IID is set only in a merge request's pipeline: its snapshot is not a release
        after.append(push_command(info, opts, "CI_MERGE_REQUEST_IID") + " || echo 'rq-obs push failed'")
    job = {
        "stage": "test",
        "image": f"python:{info.python_version}",
        "variables": {var: f"$CI_PROJECT_DIR/{cache_dir}"},
        "cache": {"key": f"{info.package_manager}-$CI_COMMIT_REF_SLUG", "paths": [f"{cache_dir}/"]},
        "script": script,
        "after_script": after,
        "artifacts": {
            "when": "always",
            "expire_in": "30 days",
            "expose_as": "rq-obs report",
            "paths": [f"{STORE_DIR}/", SUMMARY],
        },
    }
    doc = {
        "workflow": {"rules": [
            {"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'},
            {"if": f'$CI_COMMIT_BRANCH == "{opts.base_branch}"'},
            {"if": "$CI_COMMIT_TAG"},
        ]},
        "stages": ["test"],
        JOB: job,
    }
    note = ("\nMerge request note: set a masked CI/CD variable RQ_OBS_GITLAB_TOKEN (a project access token with\n"
            "api scope); without it the report is the job artifact 'rq-obs report'."
            + ("\nPush token: a masked CI/CD variable RQ_OBS_TOKEN." if opts.push_url else ""))
    return comment_block((header(opts) + note).splitlines()) + dump(doc, sort_keys=False)
