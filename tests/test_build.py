from pathlib import Path

from rq_obs import build
from rq_obs.config import load
from tests.helpers.cli import run_cli

ROOT = Path(__file__).resolve().parent.parent


def test_two_builds_are_byte_identical(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli("build", "--out", a).code == 0
    assert run_cli("build", "--out", b).code == 0
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files_a, "rq-obs build wrote nothing"
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_check_names_every_missing_or_edited_file(tmp_path):
    assert run_cli("build", "--out", tmp_path).code == 0
    ok = run_cli("build", "--check", "--out", tmp_path)
    assert ok.code == 0, ok.err
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert files, "rq-obs build wrote nothing"
    files[0].write_text(files[0].read_text() + "# edited\n")
    files[-1].unlink()
    bad = run_cli("build", "--check", "--out", tmp_path)
    assert bad.code == 1
    assert f"differs: {files[0]}" in bad.err and f"missing: {files[-1]}" in bad.err


def test_committed_generated_files_are_current():
    """CI's `rq-obs build --target all --check` on this repository's own generated files (compose and the chart)."""
    config = load(ROOT, env={}).config
    problems = build.check(ROOT, build.collect(config, targets=build.TARGETS))
    assert problems == [], f"run `rq-obs build --target all` and commit: {problems}"
