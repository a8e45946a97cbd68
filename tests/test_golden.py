"""Golden files: the committed dashboards/, rules/ and grafana/provisioning/alerting/ are what the code generates.

Regenerate them only on purpose: ``pytest tests/test_golden.py --update-golden`` (or ``rq-obs build``),
then review the diff and commit it.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from rq_obs import dashboards, rules
from rq_obs.config import Config, load

ROOT = Path(__file__).resolve().parent.parent


def generated(config: Config) -> dict[str, str]:
    return {**dashboards.artifacts(config), **rules.artifacts(config)}


def differences(root: Path, files: dict[str, str]) -> list[str]:
    """A unified diff per file that is missing or differs under ``root``."""
    out = []
    for rel, text in sorted(files.items()):
        path = root / rel
        old = path.read_text(encoding="utf-8") if path.is_file() else ""
        if old != text:
            diff = difflib.unified_diff(old.splitlines(True), text.splitlines(True), f"committed/{rel}", f"generated/{rel}", n=1)
            out.append("".join(list(diff)[:40]))
    return out


def test_golden_files_match_the_code(request):
    files = generated(load(ROOT, env={}).config)
    if request.config.getoption("--update-golden"):
        for rel, text in files.items():
            (ROOT / rel).parent.mkdir(parents=True, exist_ok=True)
            (ROOT / rel).write_text(text, encoding="utf-8")
    problems = differences(ROOT, files)
    assert problems == [], "generated output changed; run `pytest tests/test_golden.py --update-golden`, review, commit:\n" + "\n".join(problems)


def test_a_changed_dashboard_fails_the_golden_comparison():
    changed = generated(Config(slo_pass_rate=0.9))
    problems = differences(ROOT, changed)
    names = [p.split("\n", 1)[0] for p in problems]
    assert "--- committed/dashboards/executive.json" in names
    assert "--- committed/rules/rq-obs.alerts.yml" in names
    executive = next(p for p in problems if p.startswith("--- committed/dashboards/executive.json"))
    assert re.search(r'^-\s+"value": 0\.85$', executive, re.M) and re.search(r'^\+\s+"value": 0\.9$', executive, re.M)
