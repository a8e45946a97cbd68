"""The provider-neutral pipeline: the steps every generated CI file runs, in order.

Baseline approach (the same on every provider): the store (``.rq-obs/``) is kept as a CI artifact of
every run together with ``.rq-obs/ci-release``, the release name that run snapshotted. A run first
fetches the artifact of the latest successful run on the base branch (the merge target, or the
branch itself on a push) into ``.rq-obs/`` and copies its release name to ``.rq-obs/ci-base-release``;
the tests and the snapshot then add the head release to that store, so ``rq-obs compare BASE HEAD``
sees both. With no baseline (first run, expired artifact) the report says so and nothing is compared.

Steps marked ``gate`` may fail without stopping the pipeline: the report is still published and the
store still saved, and a last step fails the pipeline naming every gate step that failed.

With a push URL, every pipeline pushes its test runs to ``rq-obs serve``, and the pipelines of the base
branch and of tags also push the release snapshot (:func:`push_command`): a pull or merge request's
snapshot is of a merge result that is never released, and would crowd the release dashboard and fire
the release alerts.
"""

from __future__ import annotations

from dataclasses import dataclass

from rq_obs.cigen.detect import BENCHMARK_FILE, COVERAGE_FILE, ProjectInfo

__all__ = ["Step", "Options", "STORE_DIR", "REPORT", "GATE_OUTPUT", "RELEASE_FILE", "BASE_RELEASE_FILE",
           "ARTIFACT", "VULNS_FILE", "AUDIT_REQUIREMENTS", "install_step", "audit_step", "dashboards_check", "gate_steps", "report_lines", "GATES_FILE", "header",
           "push_command"]

STORE_DIR = ".rq-obs"
RELEASE_FILE = f"{STORE_DIR}/ci-release"
BASE_RELEASE_FILE = f"{STORE_DIR}/ci-base-release"
REPORT = "rq-obs-report.md"
GATE_OUTPUT = "rq-obs-gate.txt"
ARTIFACT = "rq-obs-store"
GATES_FILE = ".quality-gates.yaml"
VULNS_FILE = "vulns.json"
AUDIT_REQUIREMENTS = "rq-obs-audit-requirements.txt"
SUMMARY = "rq-obs-summary.md"  # GitLab's merge request note, Jenkins' build summary
COMMENT = "rq-obs-comment.md"  # GitHub's pull request comment
NOTE = "rq-obs-note.json"  # GitLab: the note's API body
BASELINE_ZIP = "rq-obs-baseline.zip"  # GitLab: the base branch's artifact
CI_VENV = ".ci-venv"  # Jenkins: the venv the tests run in

def header(opts: "Options") -> str:
    """The comment at the top of every generated pipeline file (without the comment markers)."""
    from rq_obs.textrender import render

    return render("cigen/templates/header.txt.j2", trim=True, stack_dir=opts.stack_dir, spec=opts.rq_obs_spec,
                  push_url=opts.push_url,
                  base_branch=opts.base_branch).rstrip("\n")


@dataclass(frozen=True)
class Options:
    rq_obs_spec: str  # what pip/uv install rq-obs from (a wheel path in the project or a requirement)
    base_branch: str = "main"
    stack_dir: str | None = None  # the generated stack, relative to the project root; None: no dashboards check
    push_url: str | None = None  # rq-obs push --url (token from the RQ_OBS_TOKEN secret)


@dataclass(frozen=True)
class Step:
    key: str  # identifier (GitHub step id, failure name)
    name: str
    lines: tuple[str, ...]  # one shell script, one command per line
    gate: bool = False  # may fail; recorded and enforced at the end


def install_step(info: ProjectInfo, opts: Options) -> Step:
    return Step("install", "Install the project and rq-obs", (*info.install, info.install_rq_obs(opts.rq_obs_spec)))


def audit_step(info: ProjectInfo) -> Step:
    """pip-audit over the environment's pins, its JSON kept for the snapshot. Never fails the pipeline: pip-audit
    needs its vulnerability service (PyPI's JSON API / OSV), and a run that cannot reach it has no vulnerability
    data (the snapshot then leaves the dimension out, and the gate says it was not measured). pip-audit runs
    from its own virtual environment so it is not recorded among the project's dependencies."""
    audit_venv = '"${TMPDIR:-/tmp}/rq-obs-audit"'
    return Step("audit", "Audit the dependencies for known vulnerabilities (pip-audit)", (
        f"rm -f {VULNS_FILE}",
        f"{info.freeze()} | grep -v -e ' @ ' -e '^-e ' > {AUDIT_REQUIREMENTS} || true",
        'audit="$(command -v pip-audit || true)"',
        f'if [ -z "$audit" ] && python3 -m venv {audit_venv} && {audit_venv}/bin/pip install --quiet pip-audit; then '
        f'audit={audit_venv}/bin/pip-audit; fi',
        f'"${{audit:-pip-audit}}" --requirement {AUDIT_REQUIREMENTS} --no-deps --disable-pip --format json '
        f"--output {VULNS_FILE} || [ -s {VULNS_FILE} ] || echo 'pip-audit could not audit (its vulnerability "
        "service is unreachable?): this release has no vulnerability data'",
    ))


def dashboards_check(info: ProjectInfo, stack_dir: str) -> str:
    import shlex

    return info.run(f"rq-obs build-dashboards --check --out {shlex.quote(stack_dir)}")


def gate_steps(info: ProjectInfo, opts: Options) -> tuple[Step, ...]:
    """Tests, snapshot, compare, dashboards check (when the project has a stack) and gates: the part every
    provider shares."""
    # each report only when it was written (a test session that crashed writes no coverage or benchmark JSON,
    # pip-audit offline writes no vulnerabilities): the snapshot records what there is
    inputs = [("--benchmarks", BENCHMARK_FILE)] if info.benchmarks else []
    inputs += [("--coverage", COVERAGE_FILE)] if info.coverage else []
    inputs.append(("--vulns", VULNS_FILE))
    snapshot = 'rq-obs snapshot --release "$RQ_OBS_RELEASE"' + "".join(
        f' $([ -s {path} ] && echo "{flag} {path}")' for flag, path in inputs)
    compare = (
        f"if [ -f {BASE_RELEASE_FILE} ]; then",
        f'  {info.run("rq-obs compare")} "$(cat {BASE_RELEASE_FILE})" "$RQ_OBS_RELEASE" --format markdown > {REPORT}',
        "else",
        f"  echo 'No snapshot from the base branch yet: nothing to compare against.' > {REPORT}",
        "fi",
    )
    steps = [
        Step("tests", "Run the tests with the rq-obs plugin", (info.run(info.test_command),), gate=True),
        audit_step(info),
        Step("snapshot", "Snapshot the release", (info.run(snapshot), f'echo "$RQ_OBS_RELEASE" > {RELEASE_FILE}')),
        Step("compare", "Compare with the base branch", compare, gate=True),
    ]
    if opts.stack_dir is not None:
        steps.append(Step("dashboards", "Check the generated dashboards", (dashboards_check(info, opts.stack_dir),),
                          gate=True))
    steps.append(Step("gate", "Enforce the quality gates",
                      (f"rc=0; {info.run('rq-obs gate')} > {GATE_OUTPUT} || rc=$?; cat {GATE_OUTPUT}; exit $rc",),
                      gate=True))
    return tuple(steps)


def push_command(info: ProjectInfo, opts: Options, pr_var: str) -> str:
    """``rq-obs push`` (token from ``RQ_OBS_TOKEN``): the runs, and the release snapshot unless ``pr_var``, the
    provider's variable that is set only in a pull or merge request's pipeline, is set (``--no-snapshots``)."""
    import shlex

    assert opts.push_url is not None
    return info.run(f"rq-obs push --url {shlex.quote(opts.push_url)} ${{{pr_var}:+--no-snapshots}}")


def report_lines(target: str) -> tuple[str, ...]:
    """Shell lines appending the comparison and the gate output to ``target`` (a markdown file)."""
    return (
        f"{{ cat {REPORT} 2>/dev/null || echo 'No comparison report was produced.'; echo; "
        f"echo '### rq-obs gate'; echo; echo '```'; cat {GATE_OUTPUT} 2>/dev/null || echo 'not run'; "
        f"echo '```'; }} >> {target}",
    )
