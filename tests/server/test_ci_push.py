"""The push step of every generated CI pipeline, run by a real shell against a real server.

A pull/merge request's pipeline pushes its test runs only; a base-branch (or tag) pipeline pushes the
release snapshot too, so a deployed `rq-obs serve` publishes the releases CI snapshotted.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from rq_obs.cigen import Options, generate
from rq_obs.config import Config
from rq_obs.snapshot.store import MIGRATIONS
from rq_obs.store import Store, save_run
from tests.helpers.procs import python_env
from tests.server.conftest import TOKEN
from tests.server.runs import make_run
from tests.server.snapshots import local_store

GIT_URL = "rq-obs @ git+https://github.com/acme/rq-obs@v0.1.0"

#: provider -> (the variable its CI sets only for a pull/merge request, the shell that runs the step)
PROVIDERS = {"github": ("GITHUB_HEAD_REF", ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]),
             "gitlab": ("CI_MERGE_REQUEST_IID", ["/bin/sh", "-c"]),
             "jenkins": ("CHANGE_ID", ["/bin/sh", "-xe", "-c"])}


def push_script(provider: str, text: str) -> str:
    if provider == "github":
        steps = yaml.safe_load(text)["jobs"]["quality"]["steps"]
        step = next(s for s in steps if s["name"].startswith("Push"))
        assert step["if"] == "always()" and step["env"] == {"RQ_OBS_TOKEN": "${{ secrets.RQ_OBS_TOKEN }}"}
        return step["run"]
    if provider == "gitlab":
        return yaml.safe_load(text)["rq-obs-quality"]["after_script"][-1]
    m = re.search(r"withCredentials\(\[string\(credentialsId: 'rq-obs-token', variable: 'RQ_OBS_TOKEN'\)\]\) \{\n"
                  r"\s*sh '''\n(.*?)\n\s*'''", text, re.S)
    assert m and text.index("withCredentials") < text.index("archiveArtifacts")  # the archived store knows
    return "\n".join(line.strip() for line in m.group(1).splitlines())


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_the_generated_push_step_sends_the_snapshot_from_the_base_branch_only(serve, tmp_path, provider):
    pr_var, shell = PROVIDERS[provider]
    root = tmp_path / "project"
    root.mkdir()
    (root / "requirements.txt").write_text("pytest\n")
    srv = serve(Store(tmp_path / "server.db"))
    _, files = generate(root, provider, Config(), Options(rq_obs_spec=GIT_URL, push_url=srv.url))
    text = next(t for path, t in files.items() if path != ".quality-gates.yaml")
    script = push_script(provider, text)
    assert f"rq-obs push --url {srv.url} ${{{pr_var}:+--no-snapshots}}" in script
    assert "Push: every run's test runs go to" in text and "main and tags only" in text

    local = local_store(root / ".rq-obs" / "store.db")
    save_run(local, make_run("ci-1", started=1_795_086_000.0))
    local.close()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "rq-obs").write_text(f'#!/bin/sh\nexec {sys.executable} -m rq_obs "$@"\n')
    (bin_dir / "rq-obs").chmod(0o755)
    venv = root / ".ci-venv" / "bin"  # what the Jenkinsfile's Install stage creates and each sh step activates
    venv.mkdir(parents=True)
    (venv / "activate").write_text(f'PATH="{bin_dir}:$PATH"; export PATH\n')
    env = python_env({"PATH": f"{bin_dir}:/usr/bin:/bin", "RQ_OBS_TOKEN": TOKEN})
    for name in PROVIDERS.values():
        env.pop(name[0], None)

    def run(**extra: str) -> list[str]:
        res = subprocess.run([*shell, script], cwd=root, env={**env, **extra}, capture_output=True, text=True,
                             timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr
        assert TOKEN not in res.stdout + res.stderr
        return res.stdout.splitlines()

    # the pull/merge request's pipeline: runs only
    assert run(**{pr_var: "42"}) == [f"pushed 1 run(s) to {srv.url}: 1 stored, 0 already there",
                                     "pushed no snapshots (--no-snapshots); 2 snapshot(s) not pushed yet"]
    srv.store.ensure("release", MIGRATIONS)
    assert srv.store.query("SELECT COUNT(*) FROM release_snapshots")[0][0] == 0
    # the base branch's pipeline: the snapshot too
    assert run() == [f"pushed 0 run(s) to {srv.url}: 0 stored, 0 already there",
                     f"pushed 2 snapshot(s) to {srv.url}: 2 stored, 0 replaced, 0 already there (1.4.0, 1.5.0)"]
    assert [r[0] for r in srv.store.query("SELECT release FROM release_snapshots ORDER BY release")] == [
        "1.4.0", "1.5.0"]
