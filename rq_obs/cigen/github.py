"""GitHub Actions workflow (``.github/workflows/rq-obs.yml``)."""

from __future__ import annotations

from rq_obs.cigen.detect import ProjectInfo
from rq_obs.cigen.pipeline import (ARTIFACT, BASE_RELEASE_FILE, COMMENT, RELEASE_FILE, STORE_DIR, Options, gate_steps,
                                   header, install_step, push_command, report_lines)
from rq_obs.yamltext import comment_block, dump

__all__ = ["PATH", "render"]

PATH = ".github/workflows/rq-obs.yml"

_CACHES = {  # package manager -> (cache directory, lock file) for actions/cache
    "uv": ("~/.cache/uv", "uv.lock"),
    "poetry": ("~/.cache/pypoetry", "poetry.lock"),
    "pipenv": ("~/.cache/pipenv", "Pipfile.lock"),
}


def _script(lines) -> str:
    return "\n".join(lines) + "\n"


def render(info: ProjectInfo, opts: Options) -> str:
    setup = {"python-version": info.python_version}
    if info.package_manager == "pip":
        # setup-python keys its pip cache on requirements.txt or pyproject.toml unless told, and fails when
        # neither exists (a setup.py or tox.ini project): name the files that declare what is installed
        setup["cache"] = "pip"
        setup["cache-dependency-path"] = "\n".join(info.dependency_files) + "\n"
    steps: list[dict] = [
        {"name": "Check out", "uses": "actions/checkout@v4"},
        {"name": "Set up Python", "uses": "actions/setup-python@v5", "with": setup},
    ]
    if info.package_manager in _CACHES:
        path, lock = _CACHES[info.package_manager]
        steps.append({"name": f"Cache {info.package_manager}", "uses": "actions/cache@v4",
                      "with": {"path": path,
                               "key": f"{info.package_manager}-${{{{ runner.os }}}}-${{{{ hashFiles('{lock}') }}}}"}})
    install = install_step(info, opts)
    steps.append({"name": install.name, "run": _script(install.lines)})
    steps.append({
        "name": "Fetch the base branch's store (baseline)",
        "env": {"GH_TOKEN": "${{ github.token }}"},
        "run": _script((
            f"mkdir -p {STORE_DIR}",
            'run_id=$(gh run list --workflow rq-obs.yml --branch "$BASE_BRANCH" --status success --limit 1 '
            "--json databaseId --jq '.[0].databaseId // empty' || true)",
            f'if [ -n "$run_id" ] && gh run download "$run_id" --name {ARTIFACT} --dir {STORE_DIR}; then',
            f"  cp {RELEASE_FILE} {BASE_RELEASE_FILE}",
            "else",
            '  echo "No baseline store from a successful run on $BASE_BRANCH yet"',
            "fi",
        )),
    })
    gates = gate_steps(info, opts)
    for s in gates:
        step = {"name": s.name, "id": s.key, "run": _script(s.lines)}
        if s.gate:
            step["continue-on-error"] = True
        steps.append(step)
    steps.append({"name": "Publish the report (job summary)", "if": "always()",
                  "run": _script((*report_lines("$GITHUB_STEP_SUMMARY"), *report_lines(COMMENT)))})
    steps.append({"name": "Comment the report on the pull request",
                  "if": "always() && github.event_name == 'pull_request'",
                  "continue-on-error": True,  # a fork's token cannot comment; the job summary still has it
                  "env": {"GH_TOKEN": "${{ github.token }}"},
                  "run": _script((f'gh pr comment "${{{{ github.event.pull_request.number }}}}" --body-file {COMMENT}',))})
    if opts.push_url:
        # GITHUB_HEAD_REF is set only in a pull request's run: its snapshot is not a release
        steps.append({"name": "Push the run and the release snapshot to the rq-obs server", "if": "always()",
                      "env": {"RQ_OBS_TOKEN": "${{ secrets.RQ_OBS_TOKEN }}"},
                      "run": _script((push_command(info, opts, "GITHUB_HEAD_REF"),))})
    steps.append({"name": "Keep the store for the next run's baseline", "if": "always()",
                  "uses": "actions/upload-artifact@v4",
                  "with": {"name": ARTIFACT, "path": f"{STORE_DIR}/", "include-hidden-files": True,
                           "retention-days": 30}})
    checks = [f'[ "${{{{ steps.{s.key}.outcome }}}}" = success ] || failed="$failed {s.key}"' for s in gates if s.gate]
    steps.append({"name": "Fail when a gate failed", "if": "always()",
                  "run": _script(('failed=""', *checks,
                                  'if [ -n "$failed" ]; then echo "rq-obs: failed:$failed"; exit 1; fi'))})
    doc = {
        "name": "rq-obs release quality",
        "on": {
            "push": {"branches": [opts.base_branch], "tags": ["*"]},
            "pull_request": {"branches": [opts.base_branch]},
            "release": {"types": ["published"]},
        },
        "permissions": {"contents": "read", "actions": "read", "pull-requests": "write"},
        "jobs": {
            "quality": {
                "runs-on": "ubuntu-latest",
                "env": {
                    "RQ_OBS_RELEASE": "${{ github.ref_type == 'tag' && github.ref_name || github.sha }}",
                    "BASE_BRANCH": "${{ github.base_ref || (github.ref_type == 'tag' && "
                                   "github.event.repository.default_branch) || github.ref_name }}",
                },
                "steps": steps,
            }
        },
    }
    return comment_block(header(opts).splitlines()) + dump(doc, sort_keys=False)
