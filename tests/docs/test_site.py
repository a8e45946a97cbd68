"""The documentation site builds in strict mode, and its generated references cover the code."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from rq_obs.catalog import METRICS
from rq_obs.config import Config
from rq_obs.docsgen import reference_pages
from rq_obs.docsgen.cli_ref import option_names, walk
from rq_obs.rules.definitions import alerts

ROOT = Path(__file__).resolve().parents[2]
MKDOCS = [sys.executable, "-m", "mkdocs", "build", "--strict"]


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return reference_pages()


def _sections(md: str, level: str) -> dict[str, str]:
    """{heading: text until the next heading of that level or above}."""
    out, current = {}, None
    for line in md.splitlines():
        m = re.match(r"^(#{1,%d}) (.+)$" % len(level), line)
        if m:
            current = m.group(2).strip()
            out[current] = ""
        elif current is not None:
            out[current] += line + "\n"
    return out


def test_site_builds_strict_with_generated_reference_and_readme_home(tmp_path):
    site = tmp_path / "site"
    cp = subprocess.run(MKDOCS + ["-f", str(ROOT / "mkdocs.yml"), "-d", str(site)], capture_output=True, text=True,
                        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"}, cwd=ROOT)
    assert cp.returncode == 0, cp.stderr[-3000:]
    assert "WARNING" not in cp.stderr
    for page in ("reference/cli", "reference/settings", "reference/metrics", "reference/alerts",
                 "reference/json-schemas", "guides/qa", "guides/sre", "deploy/docker", "ANALYTICS", "RUNBOOKS"):
        assert (site / page / "index.html").is_file(), page
    home = (site / "index.html").read_text()
    assert "Your first hour" in home and 'class="mermaid"' in home
    # README's docs/ links work inside the site; links out of docs/ point at the repository
    assert 'href="guides/qa/"' in home
    ingest = (site / "INGEST" / "index.html").read_text()
    assert "https://github.com/rq-obs/rq-obs/blob/main/rq_obs/server/run.schema.json" in ingest
    # a pipe escaped for GitHub inside a table's code span is shown without its backslash
    assert "text\\|json" not in (site / "manual" / "commands" / "index.html").read_text()


def _mini_site(tmp_path: Path, page: str) -> Path:
    """A copy of the site's config with one docs page, to see what the hooks and strict mode do with it."""
    (tmp_path / "docs").mkdir(parents=True)
    (tmp_path / "README.md").write_text("# home\n\nSee [the page](docs/extra.md).\n")
    (tmp_path / "docs" / "extra.md").write_text(page)
    shutil.copyfile(ROOT / "docs" / "RUNBOOKS.md", tmp_path / "docs" / "RUNBOOKS.md")  # the alerts reference links it
    (tmp_path / "src.py").write_text("")
    cfg = (ROOT / "mkdocs.yml").read_text()
    cfg = cfg.replace("rq_obs/docsgen/mkdocs_hooks.py", str(ROOT / "rq_obs/docsgen/mkdocs_hooks.py"))
    cfg = cfg[: cfg.index("\nnav:")] + "\nnav:\n  - Home: index.md\n"
    (tmp_path / "mkdocs.yml").write_text(cfg)
    return tmp_path


def test_a_page_outside_the_nav_is_added_and_a_broken_link_fails_the_build(tmp_path):
    ok = _mini_site(tmp_path / "ok", "# Extra page\n\n[source](../src.py), [settings](reference/settings.md)\n")
    cp = subprocess.run(MKDOCS + ["-d", "site"], cwd=ok, capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr[-2000:]
    home = (ok / "site" / "index.html").read_text()
    assert "More topics" in home and "Extra page" in home  # the nav lists it without a line in mkdocs.yml
    assert "https://github.com/rq-obs/rq-obs/blob/main/src.py" in (ok / "site" / "extra" / "index.html").read_text()

    bad = _mini_site(tmp_path / "bad", "# Extra\n\n[gone](../missing.py) [nope](NOPE.md#x)\n")
    cp = subprocess.run(MKDOCS + ["-d", "site"], cwd=bad, capture_output=True, text=True)
    assert cp.returncode == 1
    assert "extra.md links to ../missing.py, which is not in the repository" in cp.stderr
    assert "link 'NOPE.md#x', but the target 'NOPE.md' is not found" in cp.stderr


def test_cli_reference_has_every_command_and_option(pages):
    sections = _sections(pages["reference/cli.md"], "####")
    commands = [(ctx.command_path, cmd) for ctx, cmd in walk()]
    assert len(commands) > 25
    for path, cmd in commands:
        assert path in sections, f"{path} missing from the CLI reference"
        if isinstance(cmd, click.Group) and path != "rq-obs":
            continue
        for opt in option_names(cmd):
            assert f"`{opt}`" in sections[path], f"{path} {opt} missing from the CLI reference"
    # a value a user relies on: snapshot, compare and gate take --store (the old README table left it out)
    for path in ("rq-obs snapshot", "rq-obs compare", "rq-obs gate"):
        assert "`--store`" in sections[path]
    assert "| `--step` | text | `5m` |" in sections["rq-obs backfill"]


def test_settings_reference_has_every_setting_with_default_and_reason(pages):
    md = pages["reference/settings.md"]
    for f in dataclasses.fields(Config):
        row = next((l for l in md.splitlines() if l.startswith(f"| `{f.name}` |")), None)
        assert row is not None, f"setting {f.name} missing from the settings reference"
        assert f"`RQ_OBS_{f.name.upper()}`" in row
    assert "| `slo_pass_rate` | number | `0.85` | `RQ_OBS_SLO_PASS_RATE` | pass-rate SLO" in md
    assert "| `store_path` | string | `.rq-obs/store.db` | `RQ_OBS_STORE_PATH` or `RQ_OBS_STORE` |" in md


def test_metrics_reference_has_every_metric_with_labels_caps_and_users(pages):
    sections = _sections(pages["reference/metrics.md"], "###")
    for m in METRICS:
        assert m.name in sections, f"metric {m.name} missing from the metrics reference"
        for label in m.labels:
            assert f"| `{label}` |" in sections[m.name]
    attempts = sections["rqobs_test_attempts"]
    assert "QA test engineer: Failures by test" in attempts
    # the suite pass rates read every attempt by suite and outcome from the duration histogram's count
    by_suite = sections["rqobs_test_attempt_duration_seconds"]
    assert "`suite:rqobs_test_attempts:pass_ratio_rate1d`" in by_suite
    assert "[RqObsPassRateBelowSLO](alerts.md#rqobspassratebelowslo)" in by_suite
    assert "max\\_tests\\_per\\_suite per suite" in attempts
    # through a recording rule that reads another rule: uncertain_band_count reads uncertain_band reads the pass rate
    assert "`suite:rqobs_test_pass_rate_ratio:uncertain_band_count`" in sections["rqobs_test_pass_rate_ratio"]
    assert "[RqObsFlakyTestsRising](alerts.md#rqobsflakytestsrising)" in sections["rqobs_flaky_tests"]


def test_alerts_reference_has_every_alert_with_its_runbook(pages):
    md = pages["reference/alerts.md"]
    runbooks = (ROOT / "docs" / "RUNBOOKS.md").read_text()
    for a in alerts(Config()):
        assert f"## {a.name}\n" in md
        assert f"](../RUNBOOKS.md#{a.anchor})" in md
        assert a.prometheus_expr in md
    assert "**critical**, for 15m: Pass rate of {{ $labels.suite }} below the SLO" in md
    assert len(re.findall(r"^## ", runbooks, re.M)) >= len(alerts(Config()))


def test_reference_is_deterministic_and_writable_without_mkdocs(tmp_path, pages):
    cp = subprocess.run([sys.executable, "-m", "rq_obs.docsgen", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert cp.returncode == 0, cp.stderr
    written = {p.relative_to(tmp_path).as_posix(): p.read_text() for p in tmp_path.rglob("*.md")}
    assert written == pages


def test_readme_is_short_keeps_the_ci_command_and_names_only_real_commands_and_options():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= 12 * 1024
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci == ("python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .ci/tools/install && "
                  ".venv/bin/python -m pytest -n 2 -q")
    assert f"\n{ci}\n" in readme  # .ci/run runs the README's second command verbatim
    commands = {ctx.command_path: cmd for ctx, cmd in walk()}
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    used = []
    for block in blocks:
        for m in re.finditer(r"(?:^|[\s;&|(/])rq-obs ((?:[a-z][\w-]*)(?: [a-z][\w-]*)?)((?: +[^\s;&|#]+)*)", block, re.M):
            words = m.group(1).split()
            path = "rq-obs " + " ".join(words) if "rq-obs " + " ".join(words) in commands else "rq-obs " + words[0]
            assert path in commands, f"README names {path!r}, which is no command"
            opts = [o.split("=")[0] for o in m.group(2).split() if o.startswith("--")]
            if len(words) == 2 and path == "rq-obs " + words[0]:
                opts = []  # a positional argument, not a subcommand
            for o in opts:
                assert o in option_names(commands[path]), f"README gives {path} the option {o}, which it does not take"
            used.append(path)
    for step in ("rq-obs runs", "rq-obs flaky", "rq-obs snapshot", "rq-obs compare", "rq-obs gate", "rq-obs serve",
                 "rq-obs demo", "rq-obs build", "rq-obs stack wheel"):
        assert step in used


def test_commands_at_a_glance_names_every_command():
    # the hand-written overview (docs/manual/commands.md) must not silently miss a command the CLI has
    lines = [ln for ln in (ROOT / "docs/manual/commands.md").read_text().splitlines() if ln.startswith("| `rq-obs ")]
    missing = []
    for ctx, cmd in walk():
        words = ctx.command_path.split()
        if isinstance(cmd, click.Group) or len(words) < 2:
            continue
        head = f"| `{' '.join(words[:2])}"
        rows = [ln.split("|")[1] if len(words) == 2 else ln.replace("\\|", "/").split("|")[1] for ln in lines
                if ln.startswith(head + " ") or ln.startswith(head + "`")]
        if not any(len(words) == 2 or re.search(rf"[ /]{re.escape(words[2])}\b", row) for row in rows):
            missing.append(ctx.command_path)
    assert missing == [], f"docs/manual/commands.md does not list: {', '.join(missing)}"
